"""Kuaishou (www.kuaishou.com): the search page ``/search/video?searchKey=…``, whose own script signs
(``__NS_hxfalcon``, ``caver=2``) and POSTs ``/rest/v/search/feed`` — the web search since 2026, which replaced GraphQL
``visionSearchPhoto``; the video detail, still GraphQL (``POST /graphql``, ``visionVideoDetail``); and the refusal
states — ``result: 2`` (rate limiting), the risk-control answer (``result: 2`` with ``Intercept-Result: risk-control``,
the page shows a captcha), an empty result (``pcursor: "no_more"``) and a deleted video (``photo: null``).

The signature is bound to the request body and a five-minute time window, as the real one is: an unsigned, altered
or stale request gets ``result: 50`` (签名验证失败). Only the page's own script gets results.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import string
import time
from typing import Any

from tests.simulator.core import Reply, Site, html_reply, js_literal, json_reply
from tests.simulator.corpus import KEYWORDS, SimPost, search
from tests.simulator.platforms.douyin import fnv1a
from tests.simulator.platforms.xiaohongshu import SIGN_JS, XiaohongshuSite

SEARCH_API = "/rest/v/search/feed"
GRAPHQL = "/graphql"
WINDOW_SECONDS = 300
UNSIGNED = {"result": 50, "error_msg": "签名验证失败"}
RATE_LIMITED = {"result": 2}
_ID_CHARS = string.ascii_lowercase + string.digits


def page_nonce(keyword: str) -> str:
    return hashlib.sha256(f"ks|{keyword}".encode()).hexdigest()[:16]


def signature(keyword: str, window: int, body: str) -> str:
    return "HUDR_" + fnv1a(f"{page_nonce(keyword)}|{window}|{SEARCH_API}|{body}")


KS_PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>%(title)s-快手搜索</title>
<style>div.video-card{min-height:240px;border-bottom:1px solid #eee}#captcha{position:fixed;top:0}</style></head>
<body><div class="search-container"><div class="search-result" id="result"></div><div id="loading">加载中</div></div>
<script>
window.__KS_SEED__ = %(nonce)s;
(function () {
  const keyword = %(keyword)s;
  let pcursor = "", searchSessionId = "", done = false, busy = false;
%(sign_js)s
  function stop(text, id) {
    const d = document.createElement("div"); if (id) d.id = id; d.textContent = text;
    document.body.appendChild(d); done = true;
  }
  async function load(attempt) {
    if (busy || done) return;
    busy = true;
    const req = {keyword: keyword, pcursor: pcursor, page: "search"};
    if (searchSessionId) req.searchSessionId = searchSessionId;
    const body = JSON.stringify(req);
    const win = Math.floor(Date.now() / 1000 / %(window)d);
    const url = "%(api)s?__NS_hxfalcon=HUDR_" + sign(window.__KS_SEED__ + "|" + win + "|%(api)s|" + body) + "&caver=2";
    let r, data;
    try {
      r = await fetch(url, {method: "POST", credentials: "include", body: body,
                            headers: {"content-type": "application/json", "kpf": "PC_WEB", "kpn": "KUAISHOU_VISION"}});
      data = JSON.parse(await r.text());
    } catch (e) {
      busy = false;
      if ((attempt || 0) < 2) return load((attempt || 0) + 1);
      return;
    }
    busy = false;
    if ((r.headers.get("intercept-result") || "").indexOf("risk-control") >= 0) return stop("请完成安全验证", "captcha");
    if (data.result !== 1) return stop(data.result === 2 ? "操作太快了，请稍后再试" : (data.error_msg || "出错了"));
    for (const f of data.feeds || []) {
      const c = document.createElement("div"); c.className = "video-card";
      c.textContent = f.author.name + ": " + f.photo.caption;
      document.getElementById("result").appendChild(c);
    }
    pcursor = data.pcursor; searchSessionId = data.searchSessionId || searchSessionId;
    if (!pcursor || pcursor === "no_more") { done = true; document.getElementById("loading").textContent = "没有更多了"; }
  }
  window.addEventListener("scroll", function () {
    if (window.innerHeight + window.scrollY >= document.body.offsetHeight - 300) load(0);
  });
  load(0);
})();
</script></body></html>
"""


def _count_text(n: int) -> str:
    """Kuaishou shows big counts as "1.2万"."""
    return f"{n / 10000:.1f}万" if n >= 10000 else str(n)


class KuaishouSite(Site):
    name = "kuaishou"
    api_paths = frozenset({SEARCH_API, GRAPHQL})

    @classmethod
    def new_post_id(cls, rng: Any) -> str:
        return "3x" + "".join(rng.choice(_ID_CHARS) for _ in range(13))

    @classmethod
    def new_author_id(cls, rng: Any) -> str:
        return "3x" + "".join(rng.choice(_ID_CHARS) for _ in range(13))

    @classmethod
    def bench_post_id(cls, number: str) -> str:
        n, chars = int(number), []
        for _ in range(13):  # "3x" and thirteen of [a-z0-9]: the number in base 36
            n, digit = divmod(n, len(_ID_CHARS))
            chars.append(_ID_CHARS[digit])
        return "3x" + "".join(reversed(chars))

    def refusal(self, path: str, query: dict[str, str]) -> Reply:
        """Rate limiting: HTTP 200, ``result: 2`` and nothing else."""
        return json_reply(RATE_LIMITED)

    def route(self, method: str, path: str, query: dict[str, str], body: bytes) -> Reply | None:
        if (reply := self.followup_route(method, path, body)) is not None:
            return reply
        if path == SEARCH_API and method == "POST":
            return self.search_feed(query, body)
        if path == GRAPHQL and method == "POST":
            return self.graphql(body)
        if path == "/search/video":
            keyword = query.get("searchKey", "")
            return html_reply(KS_PAGE % {"title": html.escape(keyword), "nonce": js_literal(page_nonce(keyword)),
                                         "keyword": js_literal(keyword), "window": WINDOW_SECONDS, "api": SEARCH_API,
                                         "sign_js": SIGN_JS})
        return self.media(path, query)

    # --- media URLs (p*.a.yximgs.com / v*.kwaicdn.com paths on our own origin) ------------------------------
    def cover_url(self, post: SimPost) -> str:
        # An atlas (picture post) shows its first picture as the cover; a video its own cover frame.
        stem = f"{post.post_id}_0" if post.image_texts else f"{post.post_id}_cover"
        return f"{self.origin}/upic/2026/11/01/09/{stem}_Bccc.jpg?clientCacheKey={post.post_id}.jpg&bp=10004"

    def video_url(self, post: SimPost) -> str:
        return f"{self.origin}/ksc2/{post.post_id}.mp4?pkey=AAV{post.post_id}&clientCacheKey={post.post_id}_b.mp4" \
               "&tt=b&bp=10004"

    def media(self, path: str, query: dict[str, str]) -> Reply | None:
        name = path.rsplit("/", 1)[-1]
        if path.startswith("/ksc2/"):
            return self.video_reply(self.post(name.split(".")[0]))
        if path.startswith("/upic/"):
            return self.image_reply(name.removesuffix("_Bccc.jpg"))
        return None

    # --- payloads ------------------------------------------------------------------------------------------
    def author(self, post: SimPost) -> dict[str, Any]:
        return {"id": post.author_id, "name": post.author_name, "following": False,
                "headerUrl": f"https://p2.a.yximgs.com/uhead/AB/2026/11/01/09/{post.author_id}_s.jpg",
                "__typename": "Author"}

    def photo(self, post: SimPost) -> dict[str, Any]:
        views = post.likes * 7 + 13
        return {
            "id": post.post_id,
            "duration": 2000 * len(post.frame_texts) if post.frame_texts else 0,
            "caption": post.text,
            "originCaption": post.text,
            "likeCount": _count_text(post.likes),
            "realLikeCount": post.likes,
            "viewCount": _count_text(views),
            "commentCount": post.comments,
            "coverUrl": self.cover_url(post),
            "coverUrls": [{"cdn": "p2.a.yximgs.com", "url": self.cover_url(post)}],
            "photoUrl": self.video_url(post) if post.frame_texts else "",
            "timestamp": int(post.created.timestamp() * 1000),
            "expTag": f"1_i/{post.post_id}_xpcwebsearchxxnull0",
            "videoRatio": 0.5625,
            "liked": False,
            "stereoType": 0,
            "__typename": "PhotoEntity",
        }

    def feed(self, post: SimPost) -> dict[str, Any]:
        return {"type": 1, "author": self.author(post), "photo": self.photo(post), "canAddComment": 1,
                "llsid": self.llsid(post.keyword), "status": 1, "currentPcursor": "",
                "tags": [{"type": 1, "name": XiaohongshuSite.topic(post)}]}

    @staticmethod
    def llsid(keyword: str) -> str:
        return str(int(hashlib.md5(keyword.encode()).hexdigest()[:15], 16))

    # --- the search API ---------------------------------------------------------------------------------------
    def search_feed(self, query: dict[str, str], body: bytes) -> Reply:
        text = body.decode("utf-8", "replace")
        try:
            req = json.loads(text or "{}")
        except ValueError:
            return json_reply(UNSIGNED)
        keyword = str(req.get("keyword") or "")
        now = int(time.time()) // WINDOW_SECONDS
        if query.get("caver") != "2" or query.get("__NS_hxfalcon") not in {
                signature(keyword, w, text) for w in (now, now - 1)}:
            return json_reply(UNSIGNED)
        ban = self.config.ban.get(self.name)
        if ban == "rate":
            return json_reply(RATE_LIMITED)
        if ban == "risk":
            return json_reply(RATE_LIMITED, headers={"Intercept-Result": "risk-control;captcha"})
        cursor = str(req.get("pcursor") or "")
        index = int(cursor) if cursor.isdigit() else 0
        faults = self.config.faults
        if faults and keyword == KEYWORDS[2] and index == 0:
            time.sleep(self.config.slow_seconds)
        if self.config.bench_pages and keyword.startswith("bench"):
            posts = self.bench_posts(keyword, index + 1) if index < self.config.bench_pages else []
            more = index + 1 < self.config.bench_pages
        else:
            # Deleted videos leave the search index: they are met only by their id (see graphql()).
            found = [p for p in search(self.posts, keyword) if not p.deleted]
            posts = self.page(found, index)
            more = (index + 1) * self.config.page_size < len(found)
        session = base64.b64encode(f"{self.llsid(keyword)}_{keyword}".encode()).decode()
        status, headers, raw = json_reply({
            "result": 1, "llsid": self.llsid(keyword), "webPageArea": "searchxxnull",
            "feeds": [self.feed(p) for p in posts], "searchSessionId": session,
            "pcursor": str(index + 1) if more else "no_more"})
        if faults and keyword == KEYWORDS[0] and index == 1 and self.first_hit(f"trunc:{keyword}"):
            raw = raw[: len(raw) // 2]
        return status, headers, raw

    # --- the video detail (GraphQL) -------------------------------------------------------------------------
    def graphql(self, body: bytes) -> Reply:
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            return json_reply({"errors": [{"message": "bad request"}]}, status=400)
        if req.get("operationName") != "visionVideoDetail":
            return json_reply({"data": None, "errors": [{"message": "unknown operation"}]})
        photo_id = str((req.get("variables") or {}).get("photoId") or "")
        post = self.post(photo_id)
        if post is None or post.deleted:
            detail: dict[str, Any] = {"status": 1, "type": None, "author": None, "photo": None, "tags": [],
                                      "commentLimit": None, "llsid": None, "__typename": "VisionVideoDetail"}
        else:
            detail = {"status": 1, "type": 1, "author": self.author(post), "photo": self.photo(post),
                      "tags": [{"type": 1, "name": XiaohongshuSite.topic(post), "__typename": "Tag"}],
                      "commentLimit": {"canAddComment": 1, "__typename": "CommentLimit"},
                      "llsid": self.llsid(post.keyword), "__typename": "VisionVideoDetail"}
        return json_reply({"data": {"visionVideoDetail": detail}})

    # --- follow-ups: GraphQL commentListQuery and visionProfile (answered by graphql's path, so refusals apply) -----
    def followup_route(self, method: str, path: str, body: bytes) -> Reply | None:
        if path != GRAPHQL or method != "POST":
            return None
        try:
            req = json.loads(body or b"{}")
        except ValueError:
            return None
        variables = req.get("variables") or {}
        if req.get("operationName") == "commentListQuery":
            return self.comment_list(str(variables.get("photoId") or ""), str(variables.get("pcursor") or ""))
        if req.get("operationName") == "visionProfile":
            return self.vision_profile(str(variables.get("userId") or ""))
        return None

    def comment_list(self, photo_id: str, pcursor: str) -> Reply:
        post = self.post(photo_id)
        comments = [] if post is None or post.deleted or pcursor else post.comment_list()
        roots = []
        for k, c in enumerate(comments):
            by = bool(c.get("by_author"))
            roots.append({"commentId": str(int(post.created.timestamp()) * 1000 + k + 1),
                          "authorId": post.author_id if by else f"3xu{k:012d}",
                          "authorName": post.author_name if by else f"快手用户{k + 1}", "content": c["text"],
                          "headurl": "https://p2.a.yximgs.com/uhead/AB/2026/11/01/09/default.jpg",
                          "timestamp": int(post.created.timestamp() * 1000) + 60_000 * (k + 1),
                          "likedCount": _count_text(100 - k), "realLikedCount": 100 - k, "liked": False, "status": 0,
                          "authorLiked": by, "subCommentCount": 0, "subCommentsPcursor": "no_more", "subComments": [],
                          "__typename": "RootCommentEntity"})
        return json_reply({"data": {"visionCommentList": {"commentCount": len(roots), "pcursor": "no_more",
                                                          "rootComments": roots, "__typename": "VisionCommentList"}}})

    def vision_profile(self, user_id: str) -> Reply:
        post = self.author_post(user_id)
        if post is None:
            return json_reply({"data": {"visionProfile": {"result": 2, "hostName": "", "userProfile": None,
                                                          "__typename": "VisionProfile"}}})
        return json_reply({"data": {"visionProfile": {"result": 1, "hostName": "webservice-a1", "userProfile": {
            "ownerCount": {"fan": _count_text(post.likes * 3), "photo": 12, "follow": 37, "photo_public": 12,
                           "__typename": "OwnerCount"},
            "profile": {"gender": "M", "user_name": post.author_name, "user_id": post.author_id,
                        "headurl": self.author(post)["headerUrl"], "user_text": post.author_bio(),
                        "user_profile_bg_url": "", "__typename": "Profile"},
            "isFollowing": False, "__typename": "UserProfile"}, "__typename": "VisionProfile"}}})
