"""Zhihu (www.zhihu.com): the search page, whose own script fetches ``/api/v4/search_v3`` with its signature
headers (``x-zse-93``/``x-zse-96``) and scrolls for more; answer pages (``/question/{qid}/answer/{aid}``, and
``/answer/{aid}`` redirecting there), article pages (``zhuanlan.zhihu.com/p/{id}``, same port), the zvideo API
(``/api/v4/zvideos/{id}``); and the refusal states — the API's risk answer (403, error 40362) and the "unhuman"
captcha interstitial instead of the search page.

Corpus posts become answers, articles (every third) and zvideos (the video ads); the deleted post's pages answer 404.
The core hands routes no headers, so the signature headers are sent by the page but not checked here.
"""

from __future__ import annotations

import hashlib
import html
import json
from typing import Any
from urllib.parse import urlencode

from tests.simulator.core import Reply, Site, html_reply, js_literal, json_reply, request_headers
from tests.simulator.corpus import KEYWORDS, SimPost, search
from tests.simulator.platforms.douyin import fnv1a

SEARCH_API = "/api/v4/search_v3"
COMMENT_API = "/api/v4/comment_v5/"  # + {answers|articles}/{id}/root_comment
UNHUMAN = "/account/unhuman?type=unhuman&message=%E7%B3%BB%E7%BB%9F%E7%9B%91%E6%B5%8B%E5%88%B0%E6%82%A8%E7%9A%84%E7%BD%91%E7%BB%9C%E7%8E%AF%E5%A2%83%E5%AD%98%E5%9C%A8%E5%BC%82%E5%B8%B8&need_login=false"
RISK = {"error": {"code": 40362, "message": "您当前请求存在异常，暂时限制本次访问。如有疑问，您可以通过手机摇一摇或登录后私信知乎小管家反馈。",
                  "redirect": "https://www.zhihu.com/account/unhuman?type=Q8J2L3&need_login=false"}}
NOT_FOUND = "<!doctype html><html><head><meta charset='utf-8'><title>404 - 知乎</title></head><body>" \
            "<div class='ErrorPage'><h1>你似乎来到了没有知识存在的荒原</h1></div></body></html>"

SEARCH_PAGE = """<!doctype html>
<html lang="zh"><head><meta charset="utf-8"><title>%(title)s - 搜索结果 - 知乎</title>
<style>.List-item{min-height:260px;border-bottom:1px solid #eee}</style></head>
<body><div id="root"><div class="SearchMain"><div class="List" id="results"></div><div id="more">加载中</div></div></div>
<script>
(function () {
  const nonce = %(nonce)s, q = %(keyword)s;
  let next = "/api/v4/search_v3?gk_version=gz-gaokao&t=general&q=" + encodeURIComponent(q) +
             "&correction=1&offset=0&limit=20&filter_fields=&lc_idx=0&show_all_topics=0&search_source=Normal";
  let end = false, busy = false;
  function sign(s) {
    let h = 0x811c9dc5;
    for (const b of new TextEncoder().encode(s)) { h ^= b; h = Math.imul(h, 0x01000193) >>> 0; }
    return "2.0_" + h.toString(16).padStart(8, "0");
  }
  function render(entry) {
    const o = entry.object;
    if (!o) return;
    const div = document.createElement("div");
    div.className = "List-item";
    div.textContent = (o.question ? o.question.name : o.title || "") + " " + (o.excerpt || o.description || "");
    document.getElementById("results").appendChild(div);
  }
  async function load(attempt) {
    if (busy || end) return;
    busy = true;
    const url = next;
    let body;
    try {
      const r = await fetch(url, {credentials: "include", headers: {
        "x-api-version": "3.0.91", "x-zse-93": "101_3_3.0", "x-zse-96": sign(nonce + "+" + url)}});
      body = JSON.parse(await r.text());
    } catch (e) {
      busy = false;
      if ((attempt || 0) < 2) return load((attempt || 0) + 1);
      return;
    }
    if (body.error) { document.getElementById("more").textContent = body.error.message; end = true; busy = false; return; }
    (body.data || []).forEach(render);
    end = !body.paging || body.paging.is_end;
    if (!end) { const u = new URL(body.paging.next); next = u.pathname + u.search; }
    if (end) document.getElementById("more").textContent = "没有更多了";
    busy = false;
  }
  window.addEventListener("scroll", function () {
    if (window.innerHeight + window.scrollY >= document.body.offsetHeight - 300) load(0);
  });
  load(0);
})();
</script></body></html>
"""


class ApiPaths(frozenset):
    """Zhihu's API paths: the search, and every item's comment path (``/api/v4/comment_v5/…``), by prefix."""

    def __contains__(self, path: object) -> bool:
        return frozenset.__contains__(self, path) or str(path).startswith(COMMENT_API)


class ZhihuSite(Site):
    name = "zhihu"
    api_paths = frozenset({SEARCH_API})

    @classmethod
    def stored_id(cls, post: SimPost) -> str:
        return stored_id(post)

    @classmethod
    def new_post_id(cls, rng: Any) -> str:
        return str(rng.randint(10**18, 2 * 10**18 - 1))  # 19-digit ids, as recent answers/articles/zvideos have

    @classmethod
    def new_author_id(cls, rng: Any) -> str:
        return f"{rng.getrandbits(128):032x}"  # member ids are 32 hex digits

    @classmethod
    def bench_post_id(cls, number: str) -> str:
        return f"1{number}00"  # 19 digits

    def refusal(self, path: str, query: dict[str, str]) -> Reply:
        return json_reply(RISK, status=403)

    @staticmethod
    def kind(post: SimPost) -> str:
        if post.frame_texts:
            return "zvideo"
        return "article" if int(post.post_id) % 3 == 0 else "answer"

    @staticmethod
    def question_id(post: SimPost) -> str:
        return str(500_000_000 + int(post.post_id) % 100_000_000)

    def route(self, method: str, path: str, query: dict[str, str], body: bytes) -> Reply | None:
        if (reply := self.followup_route(path, query)) is not None:
            return reply
        if path == SEARCH_API:
            return self.search(query)
        if path == "/search":
            if self.config.ban.get("zhihu") == "captcha":
                return 302, {"Location": self.origin + UNHUMAN}, b""
            keyword = query.get("q", "")
            nonce = hashlib.sha256(f"zhihu|{keyword}".encode()).hexdigest()[:16]
            return html_reply(SEARCH_PAGE % {"title": html.escape(keyword), "nonce": js_literal(nonce),
                                             "keyword": js_literal(keyword)})
        if path.startswith("/account/unhuman"):
            return html_reply("<!doctype html><html><head><title>安全验证 - 知乎</title></head><body>"
                              "<div class='Unhuman'>系统监测到您的网络环境存在异常，请点击下方验证按钮进行验证。</div></body></html>")
        parts = path.strip("/").split("/")
        if parts[:1] == ["answer"] and len(parts) == 2:
            post = self.live(parts[1], "answer")
            if post is None:
                return html_reply(NOT_FOUND, status=404)
            return 302, {"Location": f"{self.origin}/question/{self.question_id(post)}/answer/{post.post_id}"}, b""
        if len(parts) == 4 and parts[0] == "question" and parts[2] == "answer":
            return self.page(parts[3], "answer")
        if len(parts) == 2 and parts[0] == "p":
            return self.page(parts[1], "article")
        if path.startswith("/api/v4/zvideos/"):
            post = self.live(parts[-1], "zvideo")
            if post is None:
                return json_reply({"error": {"code": 404, "message": "内容不存在"}}, status=404)
            return json_reply(self.zvideo_detail(post))
        return self.media(path)

    def live(self, post_id: str, kind: str) -> SimPost | None:
        post = self.post(post_id)
        return post if post is not None and not post.deleted and self.kind(post) == kind else None

    # --- media URLs (zhimg / vzuu-like paths on our own origin) -----------------------------------------------
    def image_url(self, post: SimPost, k: int, size: str = "r") -> str:
        return f"{self.origin}/v2-{post.post_id}_{k}_{size}.jpg"

    def media(self, path: str) -> Reply | None:
        name = path.rsplit("/", 1)[-1]
        if path.startswith("/LD/") and name.endswith(".mp4"):
            return self.video_reply(self.post(name[: -len(".mp4")]))
        if path.startswith("/v2-") and name.endswith(".jpg"):
            stem = name[len("v2-") : -len(".jpg")]  # {post_id}_{k}_{size} or {post_id}_cover
            return self.image_reply(stem if stem.endswith("_cover") else stem.rsplit("_", 1)[0])
        return None

    # --- payloads ------------------------------------------------------------------------------------------
    def author(self, post: SimPost) -> dict[str, Any]:
        return {"id": post.author_id, "url_token": f"zh-{post.author_id[:10]}", "name": post.author_name,
                "type": "people", "user_type": "people", "headline": "", "gender": 1,
                "avatar_url": f"https://pic1.zhimg.com/v2-{post.author_id[:12]}_l.jpg",
                "url": f"https://api.zhihu.com/people/{post.author_id}"}

    def content(self, post: SimPost) -> str:
        parts = [f"<p>{html.escape(post.text, quote=False)}</p>"]
        for k in range(len(post.image_texts)):
            parts.append(
                '<figure data-size="normal"><img src="data:image/svg+xml;utf8,&lt;svg xmlns=&#39;http://www.w3.org/2000/svg&#39;'
                f' width=&#39;480&#39; height=&#39;640&#39;&gt;&lt;/svg&gt;" data-rawwidth="480" data-rawheight="640"'
                f' class="origin_image zh-lightbox-thumb lazy" data-original="{self.image_url(post, k)}"'
                f' data-actualsrc="{self.image_url(post, k, "b")}"/></figure>')
        return "".join(parts)

    def obj(self, post: SimPost) -> dict[str, Any]:
        """The search API's ``object`` of a result (snake_case)."""
        kind, created = self.kind(post), int(post.created.timestamp())
        if kind == "zvideo":
            return {"type": "zvideo", "id": post.post_id, "zvideo_id": post.post_id, "title": post.text[:20],
                    "description": post.text, "created_at": created,
                    "video_url": f"https://www.zhihu.com/zvideo/{post.post_id}",
                    "author": self.author(post), "voteup_count": post.likes, "comment_count": post.comments}
        obj: dict[str, Any] = {
            "type": kind, "id": post.post_id, "excerpt": html.escape(post.text[:60], quote=False),
            "content": self.content(post), "created_time": created, "updated_time": created + 600,
            "voteup_count": post.likes, "comment_count": post.comments, "author": self.author(post),
            "url": f"https://api.zhihu.com/{kind}s/{post.post_id}",
        }
        if kind == "answer":
            obj["question"] = {"id": self.question_id(post), "type": "question",
                               "name": f"如何看待<em>{html.escape(post.keyword)}</em>？",
                               "url": f"https://api.zhihu.com/questions/{self.question_id(post)}"}
        else:
            obj["title"] = f"关于<em>{html.escape(post.keyword)}</em>，你需要知道的"
        return obj

    def zvideo_detail(self, post: SimPost) -> dict[str, Any]:
        return {"id": post.post_id, "title": post.text[:20], "description": post.text,
                "published_at": int(post.created.timestamp()), "image_url": f"{self.origin}/v2-{post.post_id}_cover.jpg",
                "video": {"video_id": hashlib.md5(post.post_id.encode()).hexdigest()[:19],
                          "playlist": {"ld": {"play_url": f"{self.origin}/LD/{post.post_id}.mp4", "format": "mp4",
                                              "width": 480, "height": 640, "duration": 2 * len(post.frame_texts)}}},
                "author": self.author(post), "voteup_count": post.likes, "comment_count": post.comments,
                "play_count": post.likes * 10}

    def search(self, query: dict[str, str]) -> Reply:
        keyword = query.get("q", "")
        offset = max(0, int(query.get("offset") or 0))
        limit = max(1, min(20, int(query.get("limit") or 20)))
        if self.config.ban.get("zhihu") == "risk":
            return self.refusal(SEARCH_API, query)
        if self.config.bench_pages and keyword.startswith("bench"):
            number = offset // limit + 1  # a bench page per request, however many it asks for
            posts = self.bench_posts(keyword, number) if number <= self.config.bench_pages else []
            is_end = number >= self.config.bench_pages
        else:
            found = [p for p in search(self.posts, keyword) if not p.deleted]  # deleted answers leave the index
            posts = found[offset : offset + limit]
            is_end = offset + limit >= len(found)
        data: list[dict[str, Any]] = []
        if offset == 0 and posts:  # the "related searches" box real result pages carry
            data.append({"type": "relevant_query", "query_list": [{"query": f"{keyword}靠谱吗"}]})
        for i, post in enumerate(posts):
            entry_type = "zvideo" if self.kind(post) == "zvideo" else "search_result"
            data.append({"type": entry_type, "index": offset + i, "object": self.obj(post),
                         "highlight": {"title": html.escape(keyword), "description": ""}})
        params = {**query, "offset": offset + limit, "limit": limit}
        body = {"paging": {"is_end": is_end, "next": f"https://www.zhihu.com{SEARCH_API}?{urlencode(params)}"},
                "data": data, "search_action_info": {"search_hash_id": hashlib.md5(keyword.encode()).hexdigest()}}
        status, headers, raw = json_reply(body)
        if self.config.faults and keyword == KEYWORDS[0] and offset == limit and self.first_hit(f"trunc:{keyword}"):
            raw = raw[: len(raw) // 2]  # cut mid-body: the page script retries
        return status, headers, raw

    def page(self, post_id: str, kind: str) -> Reply:
        """An answer or article page with its state in ``js-initialData`` (camelCase entities)."""
        post = self.live(post_id, kind)
        if post is None:
            return html_reply(NOT_FOUND, status=404)
        author = self.author(post)
        entity = {"id": post.post_id, "type": kind, "content": self.content(post), "excerpt": post.text[:60],
                  "createdTime": int(post.created.timestamp()), "voteupCount": post.likes,
                  "commentCount": post.comments,
                  "author": {"id": author["id"], "urlToken": author["url_token"], "name": author["name"]}}
        if kind == "answer":
            entity["question"] = {"id": self.question_id(post), "title": f"如何看待{post.keyword}？"}
        else:
            entity["title"] = f"关于{post.keyword}，你需要知道的"
        state = {"initialState": {"entities": {f"{kind}s": {post.post_id: entity}}}}
        data = json.dumps(state, ensure_ascii=False).replace("</", "<\\/")
        return html_reply(f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(post.author_name)} - 知乎"
                          f"</title></head><body><div id='root'></div><script id='js-initialData' type='text/json'>{data}"
                          f"</script></body></html>")

    # --- follow-ups: the comment button's signed call, the comment API, the people page -------------------------
    api_paths = ApiPaths(api_paths)

    def followup_route(self, path: str, query: dict[str, str]) -> Reply | None:
        parts = path.strip("/").split("/")
        if path.startswith(COMMENT_API) and len(parts) == 6 and parts[5] == "root_comment":
            return self.root_comment(parts[3].rstrip("s"), parts[4], path, query)
        if len(parts) == 4 and parts[0] == "question" and parts[2] == "answer":
            return self.with_comment_button(self.page(parts[3], "answer"), "answer", parts[3])
        if len(parts) == 2 and parts[0] == "p":
            return self.with_comment_button(self.page(parts[1], "article"), "article", parts[1])
        if len(parts) == 2 and parts[0] == "people":
            return self.people(parts[1])
        return None

    @staticmethod
    def token(author_id: str) -> str:
        return f"zh-{author_id[:10]}"

    @staticmethod
    def comment_nonce(kind: str, item_id: str) -> str:
        return hashlib.sha256(f"zhihu|comments|{kind}|{item_id}".encode()).hexdigest()[:16]

    def with_comment_button(self, reply: Reply, kind: str, item_id: str) -> Reply:
        """The page as served, plus its "N 条评论" button, whose script fetches (and signs) the first comments."""
        status, headers, page = reply
        if status != 200:
            return reply
        post = self.post(item_id)
        script = COMMENT_BUTTON_JS % {"nonce": js_literal(self.comment_nonce(kind, item_id)),
                                      "path": js_literal(f"{COMMENT_API}{kind}s/{item_id}/root_comment")}
        button = (f"<div class='ContentItem-actions'><button type='button' class='Button ContentItem-action "
                  f"Button--plain Button--withIcon Button--withLabel'>{post.comments if post else 0} 条评论</button>"
                  f"<div class='Comments-container'></div></div><script>{script}</script>")
        return status, headers, page.replace(b"</body>", f"{button}</body>".encode())

    def member(self, post: SimPost, by: bool, k: int) -> dict[str, Any]:
        if by:
            author = self.author(post)
            return {**author, "url_token": self.token(post.author_id), "badge": [], "badge_v2": {"title": ""}}
        uid = f"{int(post.author_id[:8], 16) + k + 1:08x}{post.author_id[8:]}"
        return {"id": uid, "url_token": self.token(uid), "name": f"知友{k + 1}", "type": "people",
                "user_type": "people", "headline": "", "gender": 0, "badge": [], "badge_v2": {"title": ""},
                "avatar_url": f"https://pic1.zhimg.com/v2-{uid[:12]}_l.jpg", "url": f"https://www.zhihu.com/people/{uid}"}

    def root_comment(self, kind: str, item_id: str, path: str, query: dict[str, str]) -> Reply:
        signed = request_headers().get("x-zse-96", "")
        if signed != "2.0_" + fnv1a(f"{self.comment_nonce(kind, item_id)}+{path}"):
            return json_reply({"error": {"code": 10003, "message": "请求参数异常，请升级客户端后重试。"}}, status=403)
        post = self.live(item_id, kind)
        if post is None:
            return json_reply({"error": {"code": 404, "message": "内容不存在"}}, status=404)
        data = []
        for k, c in enumerate(post.comment_list()):
            by = bool(c.get("by_author"))
            cid = str(10**18 + int(post.post_id) % 10**17 + k + 1)
            data.append({"id": cid, "type": "comment", "resource_type": kind, "member_id": k + 1,
                         "url": f"https://www.zhihu.com/api/v4/comment_v5/comment/{cid}", "hot": False,
                         "top": bool(c.get("pinned")), "content": html.escape(c["text"], quote=False),
                         "score": 100 - k, "created_time": int(post.created.timestamp()) + 60 * (k + 1),
                         "is_delete": False, "collapsed": False, "reviewing": False, "reply_comment_id": "0",
                         "reply_root_comment_id": "0", "liked": False, "like_count": 100 - k, "disliked": False,
                         "dislike_count": 0, "is_author": by, "can_like": True, "can_dislike": True,
                         "is_author_top": bool(c.get("pinned")), "author": self.member(post, by, k),
                         "author_tag": [{"type": "content_author", "text": "作者"}] if by else [],
                         "comment_tag": [{"type": "ip_info", "text": "IP 属地北京", "has_border": False}],
                         "child_comment_count": 0, "child_comment_next_offset": None, "child_comments": []})
        return json_reply({"data": data, "counts": {"total_counts": len(data), "collapsed_counts": 0,
                                                    "reviewing_counts": 0, "segment_comment_counts": 0},
                           "paging": {"is_end": True, "is_start": True, "totals": len(data),
                                      "next": f"https://www.zhihu.com{path}?{urlencode({**query, 'offset': ''})}",
                                      "previous": f"https://www.zhihu.com{path}?{urlencode(query)}"},
                           "sorter": [{"type": "default", "text": "默认", "order_by": "score"},
                                      {"type": "default", "text": "最新", "order_by": "ts"}],
                           "comment_status": {"type": 0, "text": ""}})

    def people(self, token: str) -> Reply:
        """``/people/{url_token}``: the member in ``js-initialData`` (``entities.users``), camelCase."""
        post = next((p for p in self.posts if self.token(p.author_id) == token), None)
        if post is None:
            return html_reply(NOT_FOUND, status=404)
        user = {"id": post.author_id, "urlToken": token, "name": post.author_name, "headline": post.author_bio(),
                "description": "", "gender": 1, "type": "people", "userType": "people", "isOrg": False,
                "followerCount": post.likes * 2, "followingCount": 37, "answerCount": 12, "articlesCount": 3,
                "badge": [], "badgeV2": {"title": "", "mergedBadges": [], "detailBadges": []},
                "avatarUrl": f"https://pic1.zhimg.com/v2-{post.author_id[:12]}_l.jpg"}
        state = {"initialState": {"entities": {"users": {token: user}}, "people": {"profileStatus": {}}}}
        data = json.dumps(state, ensure_ascii=False).replace("</", "<\\/")
        return html_reply(f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(post.author_name)} - 知乎"
                          f"</title></head><body><div id='root'></div><script id='js-initialData' type='text/json'>{data}"
                          f"</script></body></html>")


# The "N 条评论" button's script: open the panel, fetch (and sign, x-zse-96) the first page of root comments.
COMMENT_BUTTON_JS = """
(function () {
  const nonce = %(nonce)s, path = %(path)s;
  function sign(s) {
    let h = 0x811c9dc5;
    for (const b of new TextEncoder().encode(s)) { h ^= b; h = Math.imul(h, 0x01000193) >>> 0; }
    return "2.0_" + h.toString(16).padStart(8, "0");
  }
  document.querySelector("button.ContentItem-action").addEventListener("click", async function () {
    const r = await fetch(path + "?order_by=score&limit=20&offset=", {credentials: "include", headers: {
      "x-api-version": "3.0.91", "x-zse-93": "101_3_3.0", "x-zse-96": sign(nonce + "+" + path)}});
    const box = document.querySelector(".Comments-container");
    try { (JSON.parse(await r.text()).data || []).forEach(function (c) {
      const d = document.createElement("div"); d.className = "CommentContent"; d.textContent = c.content; box.appendChild(d);
    }); } catch (e) { box.textContent = "评论加载失败"; }
  });
})();
"""


def stored_id(post: SimPost) -> str:
    """The ``post_id`` the Zhihu spider stores for a corpus post (``answer_…``, ``article_…``, ``zvideo_…``)."""
    return f"{ZhihuSite.kind(post)}_{post.post_id}"

