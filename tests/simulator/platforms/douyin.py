"""Douyin (www.douyin.com): the search page, whose own script signs (``a_bogus``) and fetches
``/aweme/v1/web/general/search/single/`` XHRs; the video page (``/video/{id}``); and its refusal states — the
``verify_check`` captcha answer of the API and the verification interstitial instead of the search page.

Unsigned API requests get 200 with an empty body, as on the real site: only a browser gets results.
"""

from __future__ import annotations

import hashlib
import html
import json
import time
from typing import Any
from urllib.parse import quote, unquote

from tests.simulator.core import RENDER_POST_JS, Reply, Site, html_reply, js_literal, json_reply
from tests.simulator.corpus import KEYWORDS, SimPost, search

SIGN_SECRET = "adwatch-simulator"
SEARCH_API = "/aweme/v1/web/general/search/single/"
COMMENT_API = "/aweme/v1/web/comment/list/"
PROFILE_API = "/aweme/v1/web/user/profile/other/"
# What the video and user pages' own scripts do: fetch their API, signed like the search page's (a_bogus).
FETCH_SIGNED_JS = """
(function () {
  function sign(s) {
    let h = 0x811c9dc5;
    for (const b of new TextEncoder().encode(s)) { h ^= b; h = Math.imul(h, 0x01000193) >>> 0; }
    return h.toString(16).padStart(8, "0");
  }
  const call = %(call)s;
  fetch(call.path + "?" + call.query + "&a_bogus=" + sign(call.nonce + "|" + call.query), {credentials: "include"});
})();
"""
VERIFY_PAGE = "<!DOCTYPE html><html><head><meta charset='utf-8'><title>验证码中间页</title></head>" \
              "<body><div id='captcha-verify-image'></div></body></html>"


def fnv1a(s: str) -> str:
    """The page script's request signature (Douyin's a_bogus stand-in): FNV-1a over UTF-8, 8 hex digits."""
    h = 0x811C9DC5
    for byte in s.encode("utf-8"):
        h ^= byte
        h = (h * 0x01000193) & 0xFFFFFFFF
    return f"{h:08x}"


def page_nonce(keyword: str) -> str:
    return hashlib.sha256(f"{SIGN_SECRET}|{keyword}".encode()).hexdigest()[:16]


DOUYIN_PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>%(title)s - 抖音搜索</title>
<style>li.card{min-height:220px;border-bottom:1px solid #ddd}#captcha_container{position:fixed;top:0}</style></head>
<body><div id="root"><ul id="search-result-list"></ul><div id="loading">加载中…</div></div>
<script>
window.__ac_nonce = %(nonce)s;
(function () {
  const keyword = %(keyword)s;
  let offset = 0, searchId = "", hasMore = 1, busy = false;
  function sign(s) {
    let h = 0x811c9dc5;
    for (const b of new TextEncoder().encode(s)) { h ^= b; h = Math.imul(h, 0x01000193) >>> 0; }
    return h.toString(16).padStart(8, "0");
  }
  function render(card) {
    const a = card.aweme_info || (card.aweme_mix_info && card.aweme_mix_info.mix_items[0]);
    if (!a) return;
    const li = document.createElement("li");
    li.className = "card";
    li.textContent = (a.author ? a.author.nickname + ": " : "") + a.desc;
    document.getElementById("search-result-list").appendChild(li);
  }
  async function load(attempt) {
    if (busy || !hasMore) return;
    busy = true;
    const qs = "keyword=" + encodeURIComponent(keyword) + "&offset=" + offset + "&count=10&search_id=" + searchId;
    const url = "/aweme/v1/web/general/search/single/?" + qs + "&a_bogus=" + sign(window.__ac_nonce + "|" + keyword + "|" + offset);
    let body;
    try {
      body = JSON.parse(await (await fetch(url, {credentials: "include"})).text());
    } catch (e) {
      busy = false;
      if ((attempt || 0) < 2) return load((attempt || 0) + 1);
      return;
    }
    const nil = body.search_nil_info;
    if (nil && nil.search_nil_type === "verify_check") {
      const c = document.createElement("div"); c.id = "captcha_container"; c.textContent = "请完成下列验证后继续";
      document.body.appendChild(c); hasMore = 0; busy = false; return;
    }
    (body.data || []).forEach(render);
    hasMore = body.has_more; offset = body.cursor; searchId = (body.extra || {}).logid || "";
    busy = false;
    if (!hasMore) document.getElementById("loading").textContent = "暂时没有更多了";
  }
  window.addEventListener("scroll", function () {
    if (window.innerHeight + window.scrollY >= document.body.offsetHeight - 300) load(0);
  });
  load(0);
})();
</script></body></html>
"""



class DouyinSite(Site):
    name = "douyin"
    api_paths = frozenset({SEARCH_API})

    @classmethod
    def new_post_id(cls, rng: Any) -> str:
        return "7" + str(rng.randint(10**17, 10**18 - 1))

    @classmethod
    def new_author_id(cls, rng: Any) -> str:
        return str(rng.randint(10**10, 10**11 - 1))

    def refusal(self, path: str, query: dict[str, str]) -> Reply:
        """The API's captcha answer: 200, no results, ``search_nil_type: verify_check``."""
        offset = max(0, int(query.get("offset") or 0))
        return json_reply({"status_code": 0, "data": [], "has_more": 0, "cursor": offset,
                           "extra": {"logid": self.logid(query.get("keyword", ""), offset),
                                     "now": int(time.time() * 1000)},
                           "search_nil_info": {"search_nil_type": "verify_check", "search_nil_item": "verify_check",
                                               "is_load_more": "is_load_more"}})

    def route(self, method: str, path: str, query: dict[str, str], body: bytes) -> Reply | None:
        if path == SEARCH_API:
            return self.search(query)
        if path.startswith("/search/"):
            if self.config.ban.get("douyin") == "verify":
                return html_reply(VERIFY_PAGE)
            keyword = unquote(path[len("/search/") :])
            return html_reply(DOUYIN_PAGE % {"title": html.escape(keyword), "nonce": js_literal(page_nonce(keyword)),
                                             "keyword": js_literal(keyword)})
        if path.startswith("/video/"):
            return self.video_page(path.rsplit("/", 1)[-1])
        if path == COMMENT_API:
            return self.comment_list(query)
        if path == PROFILE_API:
            return self.profile_other(query)
        if path.startswith("/user/"):
            return self.user_page(path.rsplit("/", 1)[-1])
        return self.media(path, query)

    # --- media URLs (douyinpic / douyinvod-like paths on our own origin) ----------------------------------
    def image_url(self, post: SimPost, k: int) -> str:
        return f"{self.origin}/tos-cn-i-0813/{post.post_id}_{k}~tplv-dy-aweme-images.jpeg"

    def video_url(self, post: SimPost) -> str:
        return f"{self.origin}/aweme/v1/play/?video_id={post.post_id}&ratio=720p"

    def cover_url(self, post: SimPost) -> str:
        return f"{self.origin}/tos-cn-p-0015/{post.post_id}_cover~tplv-dy-cropcenter.jpeg"

    def media(self, path: str, query: dict[str, str]) -> Reply | None:
        if path.startswith("/aweme/v1/play/"):
            return self.video_reply(self.post(query.get("video_id", "")))
        if path.startswith("/tos-cn-i-0813/") or path.startswith("/tos-cn-p-0015/"):
            return self.image_reply(path.rsplit("/", 1)[-1].split("~")[0].split(".")[0])
        return None

    # --- payloads ------------------------------------------------------------------------------------------
    @staticmethod
    def logid(keyword: str, offset: int) -> str:
        return hashlib.md5(f"{keyword}|{offset}".encode()).hexdigest()[:20].upper()

    def aweme(self, post: SimPost) -> dict[str, Any]:
        return {
            "aweme_id": post.post_id,
            "desc": f"{post.text} #{post.keyword}",
            "create_time": int(post.created.timestamp()),
            "author": {"uid": post.author_id,
                       "sec_uid": "MS4wLjABAAAA" + hashlib.sha1(post.author_id.encode()).hexdigest(),
                       "nickname": post.author_name, "unique_id": f"dy{post.author_id[-6:]}"},
            "text_extra": [{"hashtag_name": post.keyword, "type": 1}],
            "statistics": {"digg_count": post.likes, "comment_count": post.comments, "share_count": post.shares,
                           "collect_count": post.likes // 10},
            "status": {"is_delete": post.deleted, "private_status": 0, "allow_share": True},
            "share_url": f"https://www.iesdouyin.com/share/video/{post.post_id}/",
            "aweme_type": 68 if post.image_texts else 0,
            "video": {"play_addr": {"uri": post.post_id, "url_list": [self.video_url(post)] if post.frame_texts else []},
                      "cover": {"url_list": [self.cover_url(post)]}, "duration": 2000 * len(post.frame_texts)},
            "images": [{"url_list": [self.image_url(post, k)], "width": 480, "height": 640}
                       for k in range(len(post.image_texts))] or None,
        }

    def search(self, query: dict[str, str]) -> Reply:
        keyword = query.get("keyword", "")
        offset = max(0, int(query.get("offset") or 0))
        if query.get("a_bogus") != fnv1a(f"{page_nonce(keyword)}|{keyword}|{offset}"):
            return 200, {"Content-Type": "application/json; charset=utf-8"}, b""  # unsigned: 200 and nothing
        if self.config.ban.get("douyin") == "captcha":
            return self.refusal(SEARCH_API, query)
        faults = self.config.faults
        if faults and keyword == KEYWORDS[2] and offset == 0:
            time.sleep(self.config.slow_seconds)
        if self.config.bench_pages and keyword.startswith("bench"):
            page_no = offset // self.config.page_size + 1
            posts = self.bench_posts(keyword, page_no) if page_no <= self.config.bench_pages else []
            has_more = page_no < self.config.bench_pages
        else:
            found = search(self.posts, keyword)
            posts = found[offset : offset + self.config.page_size]
            has_more = offset + self.config.page_size < len(found)
        data: list[dict[str, Any]] = []
        for i, post in enumerate(posts):
            if i % 5 == 4:  # a collection card: the post sits inside aweme_mix_info
                data.append({"type": 1, "aweme_mix_info": {"mix_items": [self.aweme(post)]}})
            else:
                data.append({"type": 1, "aweme_info": self.aweme(post)})
        logid = self.logid(keyword, offset)
        status, headers, raw = json_reply({
            "status_code": 0, "data": data, "has_more": int(has_more), "cursor": offset + len(posts),
            "extra": {"logid": logid, "now": int(time.time() * 1000)}, "log_pb": {"impr_id": logid}})
        if faults and keyword == KEYWORDS[0] and offset == self.config.page_size and self.first_hit(f"trunc:{keyword}"):
            raw = raw[: len(raw) // 2]
        return status, headers, raw

    def video_page(self, aweme_id: str) -> Reply:
        post = self.post(aweme_id)
        if post is None or post.deleted:
            return html_reply("<html><body>作品已删除</body></html>", status=404)
        # Douyin's video page carries its state URL-encoded in a RENDER_DATA script tag.
        data = quote(json.dumps({"aweme": {"detail": self.aweme(post)}}, ensure_ascii=False))
        shown = js_literal({"author": post.author_name, "text": f"{post.text} #{post.keyword}",
                            "images": [self.image_url(post, k) for k in range(len(post.image_texts))]
                            or [self.cover_url(post)]})
        comments = self.signed_call(COMMENT_API, f"aweme_id={post.post_id}&cursor=0&count=20&item_type=0")
        return html_reply(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(post.author_name)}"
                          f"的作品</title></head><body><script id='RENDER_DATA' type='application/json'>{data}"
                          f"</script><script>{RENDER_POST_JS}renderPost({shown});</script>"
                          f"<script>{comments}</script></body></html>")

    # --- follow-ups: the video page's comment list, the user page's profile ---------------------------------
    @staticmethod
    def sec_uid(author_id: str) -> str:
        return "MS4wLjABAAAA" + hashlib.sha1(author_id.encode()).hexdigest()

    def signed_call(self, path: str, query: str) -> str:
        nonce = page_nonce(path)
        return FETCH_SIGNED_JS % {"call": js_literal({"path": path, "query": query, "nonce": nonce})}

    def signed(self, path: str, query: dict[str, str]) -> bool:
        unsigned = "&".join(f"{k}={v}" for k, v in query.items() if k != "a_bogus")
        return query.get("a_bogus") == fnv1a(f"{page_nonce(path)}|{unsigned}")

    def author_by_sec_uid(self, sec_uid: str) -> SimPost | None:
        return next((p for p in self.posts if self.sec_uid(p.author_id) == sec_uid), None)

    def user_page(self, sec_uid: str) -> Reply:
        post = self.author_by_sec_uid(sec_uid)
        if post is None:
            return html_reply("<html><body>用户不存在</body></html>", status=404)
        call = self.signed_call(PROFILE_API, f"sec_user_id={sec_uid}&publish_video_strategy_type=2")
        return html_reply(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(post.author_name)}"
                          f"的抖音 - 抖音</title></head><body><div id='root'></div><script>{call}</script></body></html>")

    def comment_list(self, query: dict[str, str]) -> Reply:
        if not self.signed(COMMENT_API, query):
            return 200, {"Content-Type": "application/json; charset=utf-8"}, b""  # unsigned: 200 and nothing
        post = self.post(query.get("aweme_id", ""))
        if post is None or post.deleted:
            return json_reply({"status_code": 0, "comments": None, "cursor": 0, "has_more": 0, "total": 0})
        comments = []
        for k, c in enumerate(post.comment_list()):
            by = c.get("by_author")
            uid = post.author_id if by else str(90_000_000_000 + k)
            comments.append({
                "cid": str(int(post.post_id) + k + 1), "text": c["text"], "aweme_id": post.post_id,
                "create_time": int(post.created.timestamp()) + 60 * (k + 1), "digg_count": 100 - k, "status": 1,
                "user": {"uid": uid, "sec_uid": self.sec_uid(uid), "nickname": post.author_name if by else f"用户{k + 1}"},
                "reply_id": "0", "reply_comment_total": 0, "is_author_digged": bool(by),
                "stick_position": 1 if c.get("pinned") else 0, "label_text": "作者" if by else "",
                "ip_label": "北京"})
        return json_reply({"status_code": 0, "comments": comments, "cursor": len(comments), "has_more": 0,
                           "total": len(comments), "extra": {"now": int(time.time() * 1000)}})

    def profile_other(self, query: dict[str, str]) -> Reply:
        if not self.signed(PROFILE_API, query):
            return 200, {"Content-Type": "application/json; charset=utf-8"}, b""
        post = self.author_by_sec_uid(query.get("sec_user_id", ""))
        if post is None:
            return json_reply({"status_code": 2053, "status_msg": "用户不存在", "user": None})
        return json_reply({"status_code": 0, "user": {
            "uid": post.author_id, "sec_uid": self.sec_uid(post.author_id), "nickname": post.author_name,
            "signature": post.author_bio(), "follower_count": post.likes * 3, "following_count": 12,
            "aweme_count": 8, "total_favorited": post.likes * 9, "custom_verify": "", "enterprise_verify_reason": "",
            "unique_id": f"dy{post.author_id[-6:]}", "ip_location": "IP属地：北京"}})
