"""The platform simulator: one local HTTP server serving the platforms' real paths and response shapes.

Weibo (mobile web JSON API) and Douyin (a search page whose script fetches signed XHRs) from the seeded corpus in
:mod:`tests.simulator.corpus`, plus the awkward states real platforms produce: the last page, empty results,
HTTP 429, a ban (Weibo 418 / login wall, Douyin ``verify_check`` captcha), deleted posts, slow and truncated
responses. Media are served on the simulator's own origin at CDN-like paths.
"""

from __future__ import annotations

import hashlib
import html
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from tests.simulator import media
from tests.simulator.corpus import KEYWORDS, SimPost, build_corpus, search

SIGN_SECRET = "adwatch-simulator"


def fnv1a(s: str) -> str:
    """The page script's request signature (Douyin's a_bogus stand-in): FNV-1a over UTF-8, 8 hex digits."""
    h = 0x811C9DC5
    for byte in s.encode("utf-8"):
        h ^= byte
        h = (h * 0x01000193) & 0xFFFFFFFF
    return f"{h:08x}"


def page_nonce(keyword: str) -> str:
    return hashlib.sha256(f"{SIGN_SECRET}|{keyword}".encode()).hexdigest()[:16]


@dataclass
class SimConfig:
    """What the simulator should do beyond serving the corpus."""

    seed: int = 7
    page_size: int = 10
    # platform -> "418" | "login" (Weibo), "captcha" (Douyin XHR verify_check) or "verify" (Douyin's verification
    # interstitial instead of the search page): every search request is refused that way.
    ban: dict[str, str] = field(default_factory=dict)
    # The corpus's fixed awkward states (first-hit 429, truncated page, slow page); off for benchmarks.
    faults: bool = True
    slow_seconds: float = 1.5
    latency: float = 0.0  # added to every search API response (tests that must catch a sweep mid-way)
    # Keywords starting with "bench" return this many synthetic pages (benchmarks).
    bench_pages: int = 0


class Simulator:
    """Run with ``with Simulator() as sim: sim.origin`` (binds 127.0.0.1, port 0 unless given)."""

    def __init__(self, config: SimConfig | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.config = config or SimConfig()
        self.corpus = build_corpus(self.config.seed)
        self.by_id = {p.post_id: p for posts in self.corpus.values() for p in posts}
        self._hits: dict[str, int] = {}
        self._lock = threading.Lock()
        self.requests: dict[str, int] = {}  # path -> count, for tests that check nobody hammered a banned site
        handler = type("Handler", (_Handler,), {"sim": self})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def origin(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "Simulator":
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="simulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> "Simulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def first_hit(self, key: str) -> bool:
        """True the first time ``key`` is asked for (transient faults hit once, a retry then succeeds)."""
        with self._lock:
            n = self._hits.get(key, 0)
            self._hits[key] = n + 1
            return n == 0

    def count_request(self, path: str) -> None:
        with self._lock:
            self.requests[path] = self.requests.get(path, 0) + 1
        if self.config.latency and path in ROUTES:
            time.sleep(self.config.latency)

    # --- media URLs (CDN-like paths on our own origin) ---------------------------------------------------
    def image_url(self, post: SimPost, k: int) -> str:
        if post.platform == "weibo":
            return f"{self.origin}/large/{post.post_id}_{k}.jpg"
        return f"{self.origin}/tos-cn-i-0813/{post.post_id}_{k}~tplv-dy-aweme-images.jpeg"

    def video_url(self, post: SimPost) -> str:
        if post.platform == "weibo":
            return f"{self.origin}/o0/{post.post_id}.mp4?label=mp4_hd"
        return f"{self.origin}/aweme/v1/play/?video_id={post.post_id}&ratio=720p"

    def cover_url(self, post: SimPost) -> str:
        if post.platform == "weibo":
            return f"{self.origin}/orj480/{post.post_id}_cover.jpg"
        return f"{self.origin}/tos-cn-p-0015/{post.post_id}_cover~tplv-dy-cropcenter.jpeg"

    def page(self, posts: list[SimPost], index: int) -> list[SimPost]:
        size = self.config.page_size
        return posts[index * size : (index + 1) * size]

    def bench_posts(self, platform: str, keyword: str, page: int) -> list[SimPost]:
        """Synthetic result pages for benchmarks: cheap, deterministic, never ads, unique per keyword and page."""
        base = next(p for p in self.corpus[platform] if p.kind == "negative" and not p.long_text)
        kw = int(hashlib.md5(keyword.encode()).hexdigest()[:6], 16) % 1000
        return [
            SimPost(**{**base.__dict__, "post_id": f"{9 if platform == 'weibo' else 8}{kw:03d}{page:05d}{i:07d}",
                       "keyword": keyword})
            for i in range(self.config.page_size)
        ]


# --- Weibo -------------------------------------------------------------------------------------------------


def weibo_mblog(sim: Simulator, post: SimPost) -> dict[str, Any]:
    text = html.escape(post.text, quote=False)
    if post.long_text:
        text = text[:40] + f'...<a href="/status/{post.post_id}">全文</a>'
    tag = f'<a href="https://m.weibo.cn/search?containerid=231522type%3D1%26q%3D%23{quote(post.keyword)}%23">' \
          f'<span class="surl-text">#{post.keyword}#</span></a>'
    mblog: dict[str, Any] = {
        "created_at": post.created.strftime("%a %b %d %H:%M:%S %z %Y"),
        "id": post.post_id,
        "idstr": post.post_id,
        "mid": post.post_id,
        "bid": hashlib.md5(post.post_id.encode()).hexdigest()[:9],
        "text": f"{tag} {text}<br />" if not post.deleted else post.text,
        "textLength": len(post.text.encode("utf-8")),
        "isLongText": post.long_text,
        "source": "iPhone客户端",
        "user": {
            "id": int(post.author_id),
            "screen_name": post.author_name,
            "profile_url": f"https://m.weibo.cn/u/{post.author_id}?uid={post.author_id}&luicode=10000011",
            "profile_image_url": f"{sim.origin}/crop.0.0.180.180.180/{post.author_id}.jpg",
            "verified": False,
            "followers_count": post.likes // 3,
        },
        "reposts_count": post.shares,
        "comments_count": post.comments,
        "attitudes_count": post.likes,
        "pic_num": len(post.image_texts),
    }
    if post.deleted:
        mblog["deleted"] = "1"
    if post.image_texts:
        mblog["pics"] = [
            {"pid": f"{post.post_id}_{k}", "url": sim.image_url(post, k).replace("/large/", "/orj360/"),
             "large": {"url": sim.image_url(post, k), "geo": {"width": 480, "height": 640}}}
            for k in range(len(post.image_texts))
        ]
    if post.frame_texts:
        mblog["page_info"] = {
            "type": "video",
            "object_type": 11,
            "page_pic": {"url": sim.cover_url(post)},
            "page_url": f"https://video.weibo.com/show?fid=1034:{post.post_id}",
            "media_info": {
                "stream_url": sim.video_url(post).replace("mp4_hd", "mp4_ld"),
                "mp4_hd_url": sim.video_url(post),
                "duration": 2 * len(post.frame_texts),
            },
        }
    return mblog


def weibo_get_index(sim: Simulator, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    containerid = query.get("containerid", "")
    params = parse_qs(containerid)
    keyword = (params.get("q") or [""])[0]
    page = max(1, int(query.get("page") or 1))
    ban = sim.config.ban.get("weibo")
    if ban == "418":
        return 418, {"Content-Type": "text/html"}, b""
    if ban == "login":
        return 302, {"Location": "/signin/login?entry=mweibo&r=https%3A%2F%2Fm.weibo.cn%2F"}, b""
    faults = sim.config.faults
    if faults and keyword == KEYWORDS[1] and page == 1 and sim.first_hit(f"weibo-429:{keyword}"):
        return 429, {"Content-Type": "application/json", "Retry-After": "1"}, '{"ok":0,"msg":"请求过于频繁"}'.encode()
    if sim.config.bench_pages and keyword.startswith("bench"):
        posts = sim.bench_posts("weibo", keyword, page) if page <= sim.config.bench_pages else []
        has_next = page < sim.config.bench_pages
    else:
        found = search(sim.corpus["weibo"], keyword)
        posts = sim.page(found, page - 1)
        has_next = page * sim.config.page_size < len(found)
    if not posts:
        body = {"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}}
        return 200, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(body, ensure_ascii=False).encode()
    cards: list[dict[str, Any]] = []
    for i, post in enumerate(posts):
        card = {"card_type": 9, "itemid": f"seqid:{post.post_id}", "scheme": f"https://m.weibo.cn/status/{post.post_id}",
                "mblog": weibo_mblog(sim, post)}
        # Real result pages nest some posts in card_group blocks (card_type 11) beside user cards.
        cards.append({"card_type": 11, "card_group": [{"card_type": 10, "user": {"id": 1}}, card]} if i % 4 == 3 else card)
    body = {
        "ok": 1,
        "data": {
            "cardlistInfo": {"containerid": containerid, "v_p": 42, "show_style": 1, "total": 1000,
                             "page": page + 1 if has_next else None, "page_size": sim.config.page_size},
            "cards": cards,
            "scheme": f"sinaweibo://cardlist?containerid={quote(containerid)}",
        },
    }
    raw = json.dumps(body, ensure_ascii=False).encode()
    if faults and keyword == KEYWORDS[0] and page == 2 and sim.first_hit(f"weibo-trunc:{keyword}:{page}"):
        raw = raw[: len(raw) // 2]  # a connection cut mid-body: the status says 200, the JSON ends abruptly
    return 200, {"Content-Type": "application/json; charset=utf-8"}, raw


def weibo_extend(sim: Simulator, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    post = sim.by_id.get(query.get("id", ""))
    if post is None or post.platform != "weibo":
        body: dict[str, Any] = {"ok": 0, "msg": "微博不存在或暂无查看权限"}
    else:
        body = {"ok": 1, "data": {"ok": 1, "longTextContent": html.escape(post.text, quote=False),
                                  "reposts_count": post.shares, "comments_count": post.comments,
                                  "attitudes_count": post.likes}}
    return 200, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(body, ensure_ascii=False).encode()


def weibo_detail(sim: Simulator, post_id: str) -> tuple[int, dict[str, str], bytes]:
    post = sim.by_id.get(post_id)
    if post is None or post.deleted:
        return 404, {"Content-Type": "text/html; charset=utf-8"}, "<html><body>微博不存在</body></html>".encode()
    data = json.dumps([{"status": weibo_mblog(sim, post)}], ensure_ascii=False).replace("</", "<\\/")
    page = f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>微博</title></head><body>" \
           f"<script>var $render_data = {data}[0] || {{}};</script></body></html>"
    return 200, {"Content-Type": "text/html; charset=utf-8"}, page.encode()


# --- Douyin ------------------------------------------------------------------------------------------------


def douyin_aweme(sim: Simulator, post: SimPost) -> dict[str, Any]:
    aweme: dict[str, Any] = {
        "aweme_id": post.post_id,
        "desc": f"{post.text} #{post.keyword}",
        "create_time": int(post.created.timestamp()),
        "author": {"uid": post.author_id, "sec_uid": "MS4wLjABAAAA" + hashlib.sha1(post.author_id.encode()).hexdigest(),
                   "nickname": post.author_name, "unique_id": f"dy{post.author_id[-6:]}"},
        "text_extra": [{"hashtag_name": post.keyword, "type": 1}],
        "statistics": {"digg_count": post.likes, "comment_count": post.comments, "share_count": post.shares,
                       "collect_count": post.likes // 10},
        "status": {"is_delete": post.deleted, "private_status": 0, "allow_share": True},
        "share_url": f"https://www.iesdouyin.com/share/video/{post.post_id}/",
        "aweme_type": 68 if post.image_texts else 0,
        "video": {"play_addr": {"uri": post.post_id, "url_list": [sim.video_url(post)] if post.frame_texts else []},
                  "cover": {"url_list": [sim.cover_url(post)]}, "duration": 2000 * len(post.frame_texts)},
        "images": [{"url_list": [sim.image_url(post, k)], "width": 480, "height": 640}
                   for k in range(len(post.image_texts))] or None,
    }
    return aweme


def douyin_search(sim: Simulator, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    keyword = query.get("keyword", "")
    offset = max(0, int(query.get("offset") or 0))
    json_type = {"Content-Type": "application/json; charset=utf-8"}
    if query.get("a_bogus") != fnv1a(f"{page_nonce(keyword)}|{keyword}|{offset}"):
        return 200, json_type, b""  # what Douyin answers to an unsigned request: 200 and nothing
    logid = hashlib.md5(f"{keyword}|{offset}".encode()).hexdigest()[:20].upper()
    if sim.config.ban.get("douyin") == "captcha":
        body: dict[str, Any] = {"status_code": 0, "data": [], "has_more": 0, "cursor": offset,
                                "extra": {"logid": logid, "now": int(time.time() * 1000)},
                                "search_nil_info": {"search_nil_type": "verify_check", "search_nil_item": "verify_check",
                                                    "is_load_more": "is_load_more"}}
        return 200, json_type, json.dumps(body, ensure_ascii=False).encode()
    faults = sim.config.faults
    if faults and keyword == KEYWORDS[2] and offset == 0:
        time.sleep(sim.config.slow_seconds)
    if sim.config.bench_pages and keyword.startswith("bench"):
        page_no = offset // sim.config.page_size + 1
        posts = sim.bench_posts("douyin", keyword, page_no) if page_no <= sim.config.bench_pages else []
        has_more = page_no < sim.config.bench_pages
    else:
        found = search(sim.corpus["douyin"], keyword)
        posts = found[offset : offset + sim.config.page_size]
        has_more = offset + sim.config.page_size < len(found)
    data: list[dict[str, Any]] = []
    for i, post in enumerate(posts):
        if i % 5 == 4:  # a collection card: the post sits inside aweme_mix_info
            data.append({"type": 1, "aweme_mix_info": {"mix_items": [douyin_aweme(sim, post)]}})
        else:
            data.append({"type": 1, "aweme_info": douyin_aweme(sim, post)})
    body = {"status_code": 0, "data": data, "has_more": int(has_more), "cursor": offset + len(posts),
            "extra": {"logid": logid, "now": int(time.time() * 1000)}, "log_pb": {"impr_id": logid}}
    raw = json.dumps(body, ensure_ascii=False).encode()
    if faults and keyword == KEYWORDS[0] and offset == sim.config.page_size and sim.first_hit(f"dy-trunc:{keyword}"):
        raw = raw[: len(raw) // 2]
    return 200, json_type, raw


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


def _js(value: str) -> str:
    """A string as a JS literal that cannot close the surrounding <script>."""
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


def douyin_search_page(sim: Simulator, keyword: str) -> tuple[int, dict[str, str], bytes]:
    page = DOUYIN_PAGE % {"title": html.escape(keyword), "nonce": _js(page_nonce(keyword)), "keyword": _js(keyword)}
    return 200, {"Content-Type": "text/html; charset=utf-8"}, page.encode()


def douyin_video_page(sim: Simulator, aweme_id: str) -> tuple[int, dict[str, str], bytes]:
    post = sim.by_id.get(aweme_id)
    if post is None or post.deleted:
        return 404, {"Content-Type": "text/html; charset=utf-8"}, "<html><body>作品已删除</body></html>".encode()
    # Douyin's video page carries its state URL-encoded in a RENDER_DATA script tag.
    data = quote(json.dumps({"aweme": {"detail": douyin_aweme(sim, post)}}, ensure_ascii=False))
    page = f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(post.author_name)}的作品</title></head>" \
           f"<body><script id='RENDER_DATA' type='application/json'>{data}</script></body></html>"
    return 200, {"Content-Type": "text/html; charset=utf-8"}, page.encode()


# --- media -------------------------------------------------------------------------------------------------


def media_response(sim: Simulator, path: str, query: dict[str, str]) -> tuple[int, dict[str, str], bytes] | None:
    """Images, covers and videos at CDN-like paths; None when the path is no media path."""
    name = path.rsplit("/", 1)[-1]
    if path.startswith("/aweme/v1/play/") or path.startswith("/o0/"):
        post = sim.by_id.get(query.get("video_id") or name.split(".")[0])
        if post is None or not post.frame_texts:
            return 404, {}, b""
        return 200, {"Content-Type": "video/mp4"}, media.video_bytes(post.frame_texts, sim.config.seed)
    if any(path.startswith(p) for p in ("/large/", "/orj360/", "/orj480/", "/tos-cn-i-0813/", "/tos-cn-p-0015/")):
        stem = name.split("~")[0].split(".")[0]
        post_id, _, k = stem.partition("_")
        post = sim.by_id.get(post_id)
        if post is None:
            return 404, {}, b""
        if k == "cover":
            text = post.frame_texts[0] if post.frame_texts else ""
        else:
            idx = int(k) if k.isdigit() else 0
            if idx >= len(post.image_texts):
                return 404, {}, b""
            text = post.image_texts[idx]
        return 200, {"Content-Type": "image/jpeg"}, media.image_bytes(text, sim.config.seed)
    return None


# --- routing -----------------------------------------------------------------------------------------------

Route = Callable[[Simulator, dict[str, str]], tuple[int, dict[str, str], bytes]]
ROUTES: dict[str, Route] = {
    "/api/container/getIndex": weibo_get_index,
    "/statuses/extend": weibo_extend,
    "/aweme/v1/web/general/search/single/": douyin_search,
}


class _Handler(BaseHTTPRequestHandler):
    sim: Simulator
    protocol_version = "HTTP/1.1"  # keep-alive, as the real CDNs and APIs do
    # Headers and body go out in two writes; with Nagle on, the client's delayed ACK stalls each response ~40 ms.
    disable_nagle_algorithm = True
    server_version = "Tengine"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # quiet: tests and the demo print their own summaries

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        parts = urlsplit(self.path)
        path = parts.path
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        self.sim.count_request(path)
        try:
            result = self._route(path, query)
        except Exception as exc:  # a simulator bug must show up as a 500, not a hung client
            result = 500, {"Content-Type": "text/plain"}, f"simulator error: {exc!r}".encode()
        status, headers, body = result
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _route(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if path in ROUTES:
            return ROUTES[path](self.sim, query)
        if path.startswith("/search/"):
            if self.sim.config.ban.get("douyin") == "verify":
                page = "<!DOCTYPE html><html><head><meta charset='utf-8'><title>验证码中间页</title></head>" \
                       "<body><div id='captcha-verify-image'></div></body></html>"
                return 200, {"Content-Type": "text/html; charset=utf-8"}, page.encode()
            return douyin_search_page(self.sim, unquote(path[len("/search/") :]))
        if path.startswith("/detail/"):
            return weibo_detail(self.sim, path.rsplit("/", 1)[-1])
        if path.startswith("/video/"):
            return douyin_video_page(self.sim, path.rsplit("/", 1)[-1])
        if path.startswith("/signin/login"):
            return 200, {"Content-Type": "text/html; charset=utf-8"}, "<html><body>登录 - 新浪微博</body></html>".encode()
        found = media_response(self.sim, path, query)
        if found is not None:
            return found
        return 404, {"Content-Type": "text/plain"}, b"not found"
