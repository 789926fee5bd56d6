"""Xiaohongshu (www.xiaohongshu.com, API host edith.xiaohongshu.com): the search page, whose own script signs (x-s /
x-t) and POSTs ``/api/sns/web/v1/search/notes``; the note page ``/explore/{id}?xsec_token=…`` with its
``window.__INITIAL_STATE__``; and the refusal states — HTTP 461 with ``Verifytype`` / ``Verifyuuid`` headers,
``code: -100`` 登录已过期, the captcha redirect of the search page, a deleted note (redirect to ``/404``).

Shapes follow the real site: the search card (``note_card``) carries only ``display_title``, the cover and the like
count — ``desc``, the images and the video are on the note page, in camelCase (``imageList[].urlDefault``,
``video.media.stream.h264[].masterUrl``), with bare ``undefined`` values, so it is not JSON as served.
Unsigned API requests get ``code: 300015`` (浏览器异常), as on the real site: only a browser gets results.
"""

from __future__ import annotations

import hashlib
import html
import json
import time
from typing import Any
from urllib.parse import quote, urlencode

from tests.simulator.core import Reply, Site, html_reply, js_literal, json_reply, request_headers
from tests.simulator.corpus import KEYWORDS, SimPost, search
from tests.simulator.platforms.douyin import fnv1a

SEARCH_API = "/api/sns/web/v1/search/notes"
COMMENT_API = "/api/sns/web/v2/comment/page"
TITLES = ["记录一下", "今日分享", "随手记", "写在最后", "碎碎念", "周末小记"]
UNDEFINED = "\x00undefined\x00"  # stands for a bare JS ``undefined`` until the state is written out
SIGN_FAULT = {"code": 300015, "success": False, "msg": "浏览器异常，请尝试关闭/卸载风险插件或重启试试！", "data": {}}
LOGIN_EXPIRED = {"code": -100, "success": False, "msg": "登录已过期", "data": {}}


def page_nonce(keyword: str) -> str:
    return hashlib.sha256(f"xhs|{keyword}".encode()).hexdigest()[:16]


def xsec_token(post_id: str) -> str:
    return "AB" + hashlib.sha256(f"xsec|{post_id}".encode()).hexdigest()[:40] + "="


# The page script's signing function (a stand-in for the platforms' obfuscated ones): FNV-1a, as fnv1a() checks it.
SIGN_JS = """  function sign(s) {
    let h = 0x811c9dc5;
    for (const b of new TextEncoder().encode(s)) { h ^= b; h = Math.imul(h, 0x01000193) >>> 0; }
    return h.toString(16).padStart(8, "0");
  }"""

XHS_PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>%(title)s - 小红书搜索</title>
<style>section.note-item{min-height:260px;border-bottom:1px solid #eee}#captcha{position:fixed;top:0}</style></head>
<body><div id="app"><div class="feeds-container" id="feeds"></div><div id="loading">加载中…</div></div>
<script>
window.__SIGN_SEED__ = %(nonce)s;
(function () {
  const keyword = %(keyword)s;
  const searchId = %(search_id)s;
  let page = 1, hasMore = true, busy = false;
%(sign_js)s
  function card(item) {
    if (item.model_type !== "note") return;
    const s = document.createElement("section");
    s.className = "note-item";
    s.textContent = item.note_card.display_title + " · " + item.note_card.user.nickname;
    document.getElementById("feeds").appendChild(s);
  }
  function stop(text, id) {
    const d = document.createElement("div"); if (id) d.id = id; d.textContent = text;
    document.body.appendChild(d); hasMore = false;
  }
  async function load(attempt) {
    if (busy || !hasMore) return;
    busy = true;
    const body = JSON.stringify({keyword: keyword, page: page, page_size: 20, search_id: searchId, sort: "general",
                                 note_type: 0, ext_flags: [], image_formats: ["jpg", "webp", "avif"]});
    const t = String(Date.now());
    let r, data;
    try {
      r = await fetch("%(api)s", {method: "POST", credentials: "include", body: body,
        headers: {"content-type": "application/json;charset=UTF-8", "x-t": t,
                  "x-s": "XYW_" + sign(window.__SIGN_SEED__ + "|" + t + "|%(api)s" + body)}});
      if (r.status === 461) { busy = false; return stop("请完成验证", "captcha"); }
      data = JSON.parse(await r.text());
    } catch (e) {
      busy = false;
      if ((attempt || 0) < 2) return load((attempt || 0) + 1);
      return;
    }
    busy = false;
    if (!data.success) return stop(data.code === -100 ? "登录已过期，请重新登录" : data.msg);
    (data.data.items || []).forEach(card);
    hasMore = data.data.has_more; page += 1;
    if (!hasMore) document.getElementById("loading").textContent = "- THE END -";
  }
  window.addEventListener("scroll", function () {
    if (window.innerHeight + window.scrollY >= document.body.offsetHeight - 300) load(0);
  });
  load(0);
})();
</script></body></html>
"""


class XiaohongshuSite(Site):
    name = "xiaohongshu"
    api_paths = frozenset({SEARCH_API})
    bench_by_id = True  # every note is read again from its page

    @classmethod
    def new_post_id(cls, rng: Any) -> str:
        # 24 hex digits like a MongoDB ObjectId: creation time in the first eight.
        return f"{rng.randint(0x65000000, 0x69000000):08x}00000000{rng.randint(0, 0xFFFFFFFF):08x}"

    @classmethod
    def new_author_id(cls, rng: Any) -> str:
        return f"{rng.randint(0x5a000000, 0x66000000):08x}{rng.randint(0, 16**16 - 1):016x}"

    @classmethod
    def bench_post_id(cls, number: str) -> str:
        return f"66000000{number}"  # 24 hex digits, a 2024 creation time in the first eight

    def refusal(self, path: str, query: dict[str, str]) -> Reply:
        """The API's verification answer: HTTP 461 with the captcha's type and id in headers."""
        return json_reply({"code": 300013, "success": False, "msg": "访问频次异常，请勿频繁操作或重启试试", "data": {}},
                          status=461, headers={"Verifytype": "102", "Verifyuuid": "5bc0c0a1-7bd1-4a54-a0d5-0f1f0e0e1f6a"})

    def route(self, method: str, path: str, query: dict[str, str], body: bytes) -> Reply | None:
        if (reply := self.followup_route(path, query)) is not None:
            return reply
        if path == SEARCH_API and method == "POST":
            return self.search_notes(body, query)
        if path == "/search_result":
            return self.search_page(query)
        if path.startswith("/explore/") or path.startswith("/discovery/item/"):
            return self.note_page(path.rsplit("/", 1)[-1], query)
        if path == "/404":
            return html_reply("<html><body><div class='not-found'>你访问的页面不见了</div></body></html>")
        if path.startswith("/website-login/"):
            return html_reply(f"<html><body>{html.escape(query.get('error_msg') or '请完成验证')}</body></html>")
        return self.media(path)

    # --- media URLs (sns-webpic-qc.xhscdn.com / sns-video-bd.xhscdn.com paths on our own origin) -------------
    def image_url(self, stem: str, scene: str = "mw") -> str:
        stamp = "202611011000"
        digest = hashlib.md5(f"{stem}|{scene}".encode()).hexdigest()
        return f"{self.origin}/{stamp}/{digest}/{stem}!nc_n_webp_{scene}_1"

    def video_url(self, post: SimPost) -> str:
        return f"{self.origin}/stream/110/259/{post.post_id}_259.mp4"

    def media(self, path: str) -> Reply | None:
        if path.startswith("/stream/"):
            return self.video_reply(self.post(path.rsplit("/", 1)[-1].split("_")[0]))
        parts = path.strip("/").split("/")
        if len(parts) == 3 and parts[0].isdigit() and "!nc_n_webp_" in parts[2]:
            return self.image_reply(parts[2].split("!")[0])
        return None

    # --- payloads ------------------------------------------------------------------------------------------
    def stems(self, post: SimPost) -> list[str]:
        """The note's pictures: its images; a video note's (or a text note's) one picture is its cover."""
        if post.image_texts:
            return [f"{post.post_id}_{k}" for k in range(len(post.image_texts))]
        return [f"{post.post_id}_cover"]

    def picture(self, stem: str, camel: bool) -> dict[str, Any]:
        pre, dft = self.image_url(stem, "prv"), self.image_url(stem, "mw")
        k = {"url_pre": "urlPre", "url_default": "urlDefault", "info_list": "infoList", "image_scene": "imageScene"}
        key = (lambda s: k.get(s, s)) if camel else (lambda s: s)
        return {key("url_pre"): pre, key("url_default"): dft, "width": 1080, "height": 1440,
                key("info_list"): [{key("image_scene"): "WB_PRV", "url": pre}, {key("image_scene"): "WB_DFT", "url": dft}]}

    @staticmethod
    def topic(post: SimPost) -> str:
        """The note's topic tag: its keyword, but for ads whose pitch is only in a picture or the video."""
        return "日常记录" if post.kind in ("image", "video") else post.keyword

    @staticmethod
    def title(post: SimPost) -> str:
        return TITLES[int(post.post_id[-2:], 16) % len(TITLES)]

    def card(self, post: SimPost) -> dict[str, Any]:
        """A search result: title, cover, author and like count only — never the note's text."""
        cover = self.picture(self.stems(post)[0], camel=False)
        return {
            "id": post.post_id,
            "model_type": "note",
            "xsec_token": xsec_token(post.post_id),
            "note_card": {
                "type": "video" if post.frame_texts else "normal",
                "display_title": self.title(post),
                "user": {"user_id": post.author_id, "nickname": post.author_name, "nick_name": post.author_name,
                         "avatar": f"https://sns-avatar-qc.xhscdn.com/avatar/{post.author_id}.jpg",
                         "xsec_token": xsec_token(post.author_id)},
                "interact_info": {"liked": False, "liked_count": str(post.likes)},
                "cover": cover,
                "image_list": [{"height": 1440, "width": 1080, "info_list": cover["info_list"]}],
                "corner_tag_info": [{"type": "publish_time", "text": post.created.strftime("%m-%d")}],
            },
        }

    def note(self, post: SimPost) -> dict[str, Any]:
        """The note as the note page's state holds it (camelCase)."""
        video: Any = UNDEFINED
        if post.frame_texts:
            url = self.video_url(post)
            video = {"media": {"videoId": int(post.post_id[-8:], 16), "stream": {
                        "h264": [{"masterUrl": url, "backupUrls": [url], "qualityType": "HD", "format": "mp4",
                                  "width": 480, "height": 640, "duration": 2000 * len(post.frame_texts)}],
                        "h265": [], "av1": [], "h266": []}},
                     "capa": {"duration": 2 * len(post.frame_texts)},
                     "consumer": {"originVideoKey": f"pre_post/{post.post_id}"}}
        return {
            "noteId": post.post_id,
            "type": "video" if post.frame_texts else "normal",
            "title": self.title(post),
            "desc": f"{post.text} #{self.topic(post)}[话题]#",
            "user": {"userId": post.author_id, "nickname": post.author_name,
                     "avatar": f"https://sns-avatar-qc.xhscdn.com/avatar/{post.author_id}.jpg"},
            "imageList": [{**self.picture(s, camel=True), "livePhoto": False, "fileId": "", "traceId": ""}
                          for s in self.stems(post)],
            "tagList": [{"id": hashlib.md5(self.topic(post).encode()).hexdigest()[:24], "name": self.topic(post),
                         "type": "topic"}],
            "atUserList": [],
            "interactInfo": {"followed": False, "relation": "none", "liked": False, "likedCount": str(post.likes),
                             "collected": False, "collectedCount": str(post.likes // 10),
                             "commentCount": str(post.comments), "shareCount": str(post.shares)},
            "time": int(post.created.timestamp() * 1000),
            "lastUpdateTime": int(post.created.timestamp() * 1000),
            "ipLocation": "广东",
            "shareInfo": {"unShare": False},
            "video": video,
            "xsecToken": xsec_token(post.post_id),
        }

    # --- the search page and its API ------------------------------------------------------------------------
    def search_page(self, query: dict[str, str]) -> Reply:
        keyword = query.get("keyword", "")
        if self.config.ban.get(self.name) == "captcha":
            target = quote(f"/search_result?keyword={quote(keyword)}", safe="")
            return 302, {"Location": f"/website-login/captcha?redirectPath={target}&verifyUuid=shield-0&verifyType=102"
                                     "&verifyBiz=461"}, b""
        search_id = hashlib.md5(f"sid|{keyword}".encode()).hexdigest()[:21]
        return html_reply(XHS_PAGE % {"title": html.escape(keyword), "nonce": js_literal(page_nonce(keyword)),
                                      "keyword": js_literal(keyword), "search_id": js_literal(search_id),
                                      "api": SEARCH_API, "sign_js": SIGN_JS})

    def search_notes(self, body: bytes, query: dict[str, str]) -> Reply:
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            return json_reply({"code": -1, "success": False, "msg": "参数错误", "data": {}})
        keyword = str(req.get("keyword") or "")
        page = max(1, int(req.get("page") or 1))
        x_t, x_s = request_headers().get("x-t", ""), request_headers().get("x-s", "")
        if x_s != "XYW_" + fnv1a(f"{page_nonce(keyword)}|{x_t}|{SEARCH_API}{body.decode('utf-8', 'replace')}"):
            return json_reply(SIGN_FAULT)
        ban = self.config.ban.get(self.name)
        if ban == "461":
            return self.refusal(SEARCH_API, query)
        if ban == "login":
            return json_reply(LOGIN_EXPIRED)
        faults = self.config.faults
        if faults and keyword == KEYWORDS[2] and page == 1:
            time.sleep(self.config.slow_seconds)
        size = self.config.page_size
        if self.config.bench_pages and keyword.startswith("bench"):
            posts = self.bench_posts(keyword, page) if page <= self.config.bench_pages else []
            has_more = page < self.config.bench_pages
        else:
            found = search(self.posts, keyword)
            posts = self.page(found, page - 1)
            has_more = page * size < len(found)
        items: list[dict[str, Any]] = [self.card(p) for p in posts]
        if page == 1 and items:  # real first pages mix in query suggestions, which are not notes
            items.insert(min(4, len(items)), {"id": f"{keyword}#rec_query", "model_type": "rec_query",
                                              "rec_query": {"title": "相关搜索", "queries": [{"name": keyword + "怎么办"}]}})
        status, headers, raw = json_reply({"code": 0, "success": True, "msg": "成功",
                                           "data": {"has_more": has_more, "items": items}})
        if faults and keyword == KEYWORDS[0] and page == 2 and self.first_hit(f"trunc:{keyword}"):
            raw = raw[: len(raw) // 2]
        return status, headers, raw

    # --- the note page ---------------------------------------------------------------------------------------
    def note_page(self, note_id: str, query: dict[str, str]) -> Reply:
        post = self.post(note_id)
        if post is None or post.deleted:
            return 302, {"Location": "/404?" + urlencode({"source": "note", "error_code": "-510001",
                                                          "error_msg": "笔记状态异常，请稍后查看"})}, b""
        if query.get("xsec_token") != xsec_token(note_id):
            path = quote(f"/explore/{note_id}", safe="")
            return 302, {"Location": f"/website-login/error?redirectPath={path}&error_code=300031"
                                     f"&error_msg={quote('当前笔记暂时无法浏览')}"}, b""
        state = {
            "global": {"appSettings": {"notificationInterval": 30}, "serverTime": int(time.time() * 1000)},
            "user": {"loggedIn": False, "userInfo": UNDEFINED},
            "note": {"prevRouteData": {}, "prevRoute": "Empty", "commentTarget": {}, "isImgFullscreen": False,
                     "gotoPage": UNDEFINED, "firstNoteId": note_id, "autoOpenNote": False, "topCommentId": "",
                     "noteDetailMap": {note_id: {
                         "comments": {"list": [], "cursor": "", "hasMore": True, "loading": False},
                         "currentTime": int(time.time() * 1000), "note": self.note(post)}},
                     "serverRequestInfo": {"state": "success", "errorCode": 0, "errorMsg": ""},
                     "currentNoteId": note_id},
        }
        literal = json.dumps(state, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
        literal = literal.replace(json.dumps(UNDEFINED), "undefined")
        return html_reply(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(self.title(post))}"
                          f" - 小红书</title></head><body><div id='app'></div>"
                          f"<script>window.__INITIAL_STATE__={literal}</script></body></html>")

    # --- follow-ups: the note page's signed comment call, the comment API, the user page ------------------------
    api_paths = api_paths | {COMMENT_API}

    def followup_route(self, path: str, query: dict[str, str]) -> Reply | None:
        if path == COMMENT_API:
            return self.comment_page(query)
        if path.startswith("/explore/"):
            return self.with_comment_call(self.note_page(path.rsplit("/", 1)[-1], query), path.rsplit("/", 1)[-1])
        parts = path.strip("/").split("/")
        if len(parts) == 3 and parts[:2] == ["user", "profile"]:
            return self.user_page(parts[2])
        return None

    def with_comment_call(self, reply: Reply, note_id: str) -> Reply:
        """The note page as served, plus what its script does once the note is shown: fetch (and sign) the first
        comment page."""
        status, headers, page = reply
        if status != 200:
            return reply
        call = COMMENT_CALL_JS % {"note_id": js_literal(note_id), "token": js_literal(xsec_token(note_id)),
                                  "seed": js_literal(page_nonce(f"note|{note_id}")), "api": COMMENT_API,
                                  "sign_js": SIGN_JS}
        return status, headers, page.replace(b"</body>", f"<script>{call}</script></body>".encode())

    def comment_page(self, query: dict[str, str]) -> Reply:
        note_id = query.get("note_id", "")
        x_t, x_s = request_headers().get("x-t", ""), request_headers().get("x-s", "")
        if x_s != "XYW_" + fnv1a(f"{page_nonce(f'note|{note_id}')}|{x_t}|{note_id}"):
            return json_reply(SIGN_FAULT)
        post = self.post(note_id)
        if post is None or post.deleted or query.get("xsec_token") != xsec_token(note_id):
            return json_reply({"code": -510001, "success": False, "msg": "笔记不存在", "data": {}})
        comments = []
        for k, c in enumerate(post.comment_list()):
            by = bool(c.get("by_author"))
            uid = post.author_id if by else f"{int(post.author_id[:8], 16) + k + 1:08x}{post.author_id[8:]}"
            comments.append({
                "id": f"{post.post_id[:16]}{k + 1:08x}", "note_id": post.post_id, "content": c["text"],
                "create_time": int(post.created.timestamp() * 1000) + 60_000 * (k + 1), "ip_location": "广东",
                "like_count": str(100 - k), "liked": False, "status": 0, "at_users": [],
                "show_tags": ["is_author"] if by else [], "sub_comment_count": "0", "sub_comments": [],
                "sub_comment_cursor": "", "sub_comment_has_more": False,
                "user_info": {"user_id": uid, "nickname": post.author_name if by else f"小红薯{k + 1:04d}",
                              "image": f"https://sns-avatar-qc.xhscdn.com/avatar/{uid}.jpg",
                              "xsec_token": xsec_token(uid)}})
        return json_reply({"code": 0, "success": True, "msg": "成功", "data": {
            "comments": comments, "cursor": comments[-1]["id"] if comments else "", "has_more": False,
            "time": int(time.time() * 1000), "user_id": "", "xsec_token": xsec_token(note_id)}})

    def user_page(self, user_id: str) -> Reply:
        """``/user/profile/{user_id}``: ``user.userPageData`` in the page's state (``basicInfo.desc`` is the bio)."""
        post = self.author_post(user_id)
        data: dict[str, Any] = {"result": {"success": post is not None, "code": 0 if post else -1}}
        if post is not None:
            fans = f"{post.likes / 1000:.1f}万" if post.likes >= 1000 else str(post.likes * 10)
            data.update(basicInfo={"nickname": post.author_name, "desc": post.author_bio(), "gender": 1,
                                   "ipLocation": "广东", "redId": str(int(user_id[:8], 16)),
                                   "images": f"https://sns-avatar-qc.xhscdn.com/avatar/{user_id}.jpg"},
                        interactions=[{"type": "follows", "name": "关注", "count": "12"},
                                      {"type": "fans", "name": "粉丝", "count": fans},
                                      {"type": "interaction", "name": "获赞与收藏", "count": str(post.likes * 3)}],
                        tags=[{"tagType": "location", "name": "广东"}], extraInfo={"fstatus": "none"})
        state = {"user": {"loggedIn": False, "userInfo": UNDEFINED, "userPageData": data, "notes": [[], [], [], []]}}
        literal = json.dumps(state, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
        literal = literal.replace(json.dumps(UNDEFINED), "undefined")
        return html_reply(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>小红书</title></head><body>"
                          f"<div id='app'></div><script>window.__INITIAL_STATE__={literal}</script></body></html>")

# What the note page's script does once the note is shown: sign (x-s) and fetch the first comment page.
COMMENT_CALL_JS = """
(function () {
  const noteId = %(note_id)s, token = %(token)s, seed = %(seed)s;
%(sign_js)s
  const t = String(Date.now());
  const qs = "note_id=" + noteId + "&cursor=&top_comment_id=&image_formats=jpg,webp,avif&xsec_token=" +
             encodeURIComponent(token);
  const xs = "XYW_" + sign(seed + "|" + t + "|" + noteId);
  fetch("%(api)s?" + qs, {credentials: "include", headers: {"x-t": t, "x-s": xs}})
    .then(function (r) { return r.text(); })
    .then(function (body) {
      const list = document.createElement("div"); list.className = "comments-container";
      try { list.textContent = JSON.parse(body).data.comments.map(function (c) { return c.content; }).join("\\n"); }
      catch (e) { list.textContent = "评论加载失败"; }
      document.body.appendChild(list);
    });
})();
"""
