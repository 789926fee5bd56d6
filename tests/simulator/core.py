"""The simulator's shared core: one local HTTP server per platform, the corpus, media, and faults.

Each platform is a :class:`Site` in its own module under :mod:`tests.simulator.platforms` holding its routes and
refusal states; this module knows none of them by name. Every site gets its own port, so the platforms' real
paths never collide (Douyin's ``/video/{id}`` and Bilibili's ``/video/{bvid}``) and each browser page has its
own origin, as on the real sites.

Faults shared by every site, switched by :class:`SimConfig`:

* ``ban[platform]``: every API request is refused the platform's way (a permanent ban);
* ``refuse_every``: every N-th API request of a site is refused the platform's way; asked again, the same
  request (same path and query) succeeds (an intermittent refusal, as real platforms do all day), so a client
  that re-asks what it had (a browser page loaded again) also gets through;
* ``latency``: added to every API response (tests that must catch a sweep mid-way);
* ``faults``: the corpus's fixed awkward states (first-hit 429, truncated page, slow page), per site.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from tests.simulator import media
from tests.simulator.corpus import SimPost, build_corpus, search

# (status, headers, body): what a route answers.
Reply = tuple[int, dict[str, str], bytes]
JSON_TYPE = "application/json; charset=utf-8"
# The headers of the request each server thread is answering (Site.header): cookies, Referer.
_current = threading.local()
HTML_TYPE = "text/html; charset=utf-8"


def json_reply(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return status, {"Content-Type": JSON_TYPE, **(headers or {})}, json.dumps(body, ensure_ascii=False).encode()


def html_reply(page: str, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return status, {"Content-Type": HTML_TYPE, **(headers or {})}, page.encode()


# What a post page's own script does with its embedded state: render the author, text and pictures, as the real
# single-page apps do (so a screenshot of the page shows the post).
RENDER_POST_JS = """
function renderPost(p) {
  const root = document.createElement("article");
  root.style.cssText = "font:16px/1.6 'Noto Sans CJK SC',sans-serif;max-width:640px;margin:16px auto";
  const who = document.createElement("h2"); who.textContent = p.author || ""; root.appendChild(who);
  const text = document.createElement("div"); text.style.whiteSpace = "pre-wrap"; text.textContent = p.text || "";
  root.appendChild(text);
  for (const src of p.images || []) {
    const img = document.createElement("img"); img.src = src; img.style.cssText = "max-width:100%;display:block;margin:8px 0";
    root.appendChild(img);
  }
  document.body.appendChild(root);
}
"""

def request_headers() -> dict[str, str]:
    """The headers (lower-case names) of the request this thread is answering: signatures sent as headers."""
    return getattr(_current, "headers", None) or {}


def js_literal(value: Any) -> str:
    """A value as a JS literal that cannot close the surrounding ``<script>``."""
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


# A stand-in login page on every site (``scrapy login --url``): the "user" finishes the login a moment after the
# page opened, and the page gets the session cookie named by ``?cookie=`` (what a QR scan does on the real sites).
LOGIN_PATH = "/__login"


def login_page(query: dict[str, str]) -> Reply:
    name = "".join(c for c in query.get("cookie", "session") if c.isalnum() or c in "_.")
    value = hashlib.sha256(name.encode()).hexdigest()[:24]
    return html_reply(f"<html><body>扫码登录<script>setTimeout(function () {{ document.cookie = "
                      f"{js_literal(f'{name}={value}; path=/; max-age=2592000')}; }}, 800);</script></body></html>")


@dataclass
class SimConfig:
    """What the simulator should do beyond serving the corpus."""

    seed: int = 7
    page_size: int = 10
    # platform -> a ban kind the site knows (e.g. Weibo "418" | "login", Douyin "captcha" | "verify"): every search
    # request of that platform is refused that way.
    ban: dict[str, str] = field(default_factory=dict)
    # Every N-th API request of each site is refused the site's way (0: never); the retry of it succeeds.
    refuse_every: int = 0
    # The corpus's fixed awkward states (first-hit 429, truncated page, slow page); off for benchmarks.
    faults: bool = True
    slow_seconds: float = 1.5
    latency: float = 0.0  # added to every search API response (tests that must catch a sweep mid-way)
    # Keywords starting with "bench" return this many synthetic pages (benchmarks).
    bench_pages: int = 0
    # Shares of bench posts carrying the corpus's image / video ads (their posters, covers and videos): the rest
    # are plain text. 0 and 0: every bench post is a harmless text post.
    bench_image_share: float = 0.0
    bench_video_share: float = 0.0
    # Serve only these platforms (default: every site module).
    platforms: tuple[str, ...] = ()


class Site:
    """One simulated platform: its routes, media URLs and refusal states. Subclasses live in ``platforms/``.

    A subclass sets ``name`` and ``api_paths`` (the paths whose answers count as API requests: latency and
    refusal faults apply to them), implements :meth:`route` and :meth:`refusal`, and the corpus id formats.
    """

    name: ClassVar[str]
    api_paths: ClassVar[frozenset[str]] = frozenset()
    # Whether the spider reads bench posts again by their id (a detail page or API): then every one is registered.
    bench_by_id: ClassVar[bool] = False

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.origin = ""  # set once the server is bound

    # --- the corpus's ids (classmethods: the corpus builds posts before any server exists) -------------------
    @classmethod
    def new_post_id(cls, rng: Any) -> str:
        return str(rng.randint(10**15, 10**16 - 1))

    @classmethod
    def new_author_id(cls, rng: Any) -> str:
        return str(rng.randint(10**9, 10**10 - 1))

    @classmethod
    def stored_id(cls, post: SimPost) -> str:
        """The ``post_id`` the platform's spider stores for a corpus post (its id, unless the site says otherwise)."""
        return post.post_id

    @classmethod
    def bench_post_id(cls, number: str) -> str:
        """A bench post's id in the platform's format, made from a unique 16-digit ``number``."""
        return number

    # --- what subclasses implement ---------------------------------------------------------------------
    def route(self, method: str, path: str, query: dict[str, str], body: bytes) -> Reply | None:
        """The answer to one request, or None for "no such page" (404)."""
        return None

    def refusal(self, path: str, query: dict[str, str]) -> Reply:
        """How this platform refuses a request it suspects (captcha, 418, risk answer …)."""
        return json_reply({"error": "refused"}, status=403)

    # --- helpers -------------------------------------------------------------------------------------------
    @property
    def config(self) -> SimConfig:
        return self.sim.config

    @property
    def posts(self) -> list[SimPost]:
        return self.sim.corpus[self.name]

    def post(self, post_id: str) -> SimPost | None:
        post = self.sim.by_id.get(post_id)
        return post if post is not None and post.platform == self.name else None

    def page(self, posts: list[SimPost], index: int) -> list[SimPost]:
        size = self.config.page_size
        return posts[index * size : (index + 1) * size]

    def bench_posts(self, keyword: str, page: int) -> list[SimPost]:
        """Synthetic result pages for benchmarks: cheap, deterministic, unique per keyword and page.

        Harmless text posts, but for ``bench_image_share`` / ``bench_video_share`` of them, which copy one of the
        corpus's image or video ads (round robin), media included: they are registered, so their pictures and
        videos are served like any post's (every bench post is, on a site whose spider reads posts by id). Newest
        first, as real result pages are: each post is a minute older than the one before.
        """
        base = next(p for p in self.posts if p.kind == "negative" and not p.long_text)
        images = [p for p in self.posts if p.kind == "image" and p.image_texts and not p.long_text]
        videos = [p for p in self.posts if p.kind == "video" and p.frame_texts and not p.long_text]
        kw = int(hashlib.md5(keyword.encode()).hexdigest()[:6], 16) % 1000
        prefix = str(sorted(self.sim.sites).index(self.name) + 1)
        out = []
        for i in range(self.config.page_size):
            n = page * self.config.page_size + i
            slot = int(hashlib.md5(f"{keyword}:{n}".encode()).hexdigest()[:8], 16) % 1000 / 1000
            like = base
            if slot < self.config.bench_video_share and videos:
                like = videos[n % len(videos)]
            elif slot < self.config.bench_video_share + self.config.bench_image_share and images:
                like = images[n % len(images)]
            post = SimPost(**{**like.__dict__, "post_id": self.bench_post_id(f"{prefix}{kw:03d}{page:05d}{i:07d}"),
                              "keyword": keyword, "created": base.created - timedelta(minutes=n)})
            if like is not base or self.bench_by_id:
                with self.sim._lock:
                    self.sim.by_id.setdefault(post.post_id, post)
            out.append(post)
        return out

    def result_page(self, keyword: str, number: int, size: int = 0) -> tuple[list[SimPost], int]:
        """Result page ``number`` (from 1, ``size`` posts, default ``page_size``) of ``keyword`` and how many
        results there are in all: a deep keyword's synthetic pages (``bench_pages``), else the corpus's answer."""
        size = size or self.config.page_size
        if self.config.bench_pages and keyword.startswith("bench"):
            posts = self.bench_posts(keyword, number) if number <= self.config.bench_pages else []
            return posts, self.config.bench_pages * self.config.page_size
        found = search(self.posts, keyword)
        return found[(number - 1) * size : number * size], len(found)

    def first_hit(self, key: str) -> bool:
        return self.sim.first_hit(f"{self.name}:{key}")

    def author_post(self, author_id: str) -> SimPost | None:
        """A post of this account (its profile: name, bio), or None for an account the corpus does not know."""
        return next((p for p in self.posts if p.author_id == str(author_id)), None)

    @staticmethod
    def header(name: str) -> str:
        """A header of the request being answered ('' when absent), e.g. the cookies an API checks."""
        return request_headers().get(name.lower(), "")

    def request_name(self, path: str, query: dict[str, str]) -> str:
        """Under which name ``sim.requests`` counts a request: its path, unless one path serves several APIs."""
        return path

    def request_key(self, path: str, query: dict[str, str]) -> str:
        """What makes two API requests "the same request" for ``refuse_every`` (a site whose signature carries a
        timestamp leaves it out here)."""
        return path + "?" + "&".join(f"{k}={v}" for k, v in sorted(query.items()))

    # --- media: posters and videos drawn from the post's texts --------------------------------------------
    def video_reply(self, post: SimPost | None) -> Reply:
        if post is None or not post.frame_texts:
            return 404, {}, b""
        return 200, {"Content-Type": "video/mp4"}, media.video_bytes(post.frame_texts, self.config.seed)

    def image_reply(self, stem: str) -> Reply:
        """``<post_id>_<k>`` is the post's k-th image, ``<post_id>_cover`` its cover (the video's first text)."""
        post_id, _, k = stem.partition("_")
        post = self.post(post_id)
        if post is None:
            return 404, {}, b""
        if k == "cover":
            text = post.frame_texts[0] if post.frame_texts else ""
        else:
            idx = int(k) if k.isdigit() else 0
            if idx >= len(post.image_texts):
                return 404, {}, b""
            text = post.image_texts[idx]
        data = media.image_bytes(text, self.config.seed)
        if again := post.extra.get("recompress"):  # a re-post of the same poster: new bytes, same look
            data = media.recompressed(data, int(again.get("quality", 60)), float(again.get("scale", 1.0)))
        return 200, {"Content-Type": "image/jpeg"}, data


class Simulator:
    """Run with ``with Simulator() as sim: sim.origins`` (binds 127.0.0.1, one free port per platform).

    ``sim.origin_arg`` is the value for ``scrapy sweep --origin``; ``sim.url(platform, path)`` builds a URL.
    """

    def __init__(self, config: SimConfig | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        from tests.simulator.platforms import SITES

        self.config = config or SimConfig()
        chosen = self.config.platforms or tuple(sorted(SITES))
        unknown = set(chosen) - set(SITES)
        if unknown:
            raise ValueError(f"unknown simulator platform(s): {sorted(unknown)} (known: {sorted(SITES)})")
        self.corpus = build_corpus(self.config.seed, {name: SITES[name] for name in sorted(SITES)})
        self.by_id = {p.post_id: p for posts in self.corpus.values() for p in posts}
        self._hits: dict[str, int] = {}
        self._lock = threading.Lock()
        self.requests: dict[str, int] = {}  # path -> count, for tests that check nobody hammered a banned site
        self._api_calls: dict[str, int] = {}  # site -> API requests answered (refuse_every)
        self._refused: set[str] = set()  # request keys refused once (refuse_every): asked again, they are served
        self.sites: dict[str, Site] = {name: SITES[name](self) for name in chosen}
        self._servers: dict[str, ThreadingHTTPServer] = {}
        for i, (name, site) in enumerate(sorted(self.sites.items())):
            handler = type(f"{name}Handler", (_Handler,), {"sim": self, "site": site})
            httpd = ThreadingHTTPServer((host, port + i if port else 0), handler)
            httpd.daemon_threads = True
            self._servers[name] = httpd
            bound_host, bound_port = httpd.server_address[:2]
            site.origin = f"http://{bound_host}:{bound_port}"
        self._threads: list[threading.Thread] = []

    @property
    def origins(self) -> dict[str, str]:
        return {name: site.origin for name, site in self.sites.items()}

    @property
    def origin_arg(self) -> str:
        """``weibo=http://…,douyin=http://…``: what ``scrapy sweep --origin`` takes."""
        return ",".join(f"{name}={origin}" for name, origin in self.origins.items())

    def url(self, platform: str, path: str) -> str:
        return self.sites[platform].origin + path

    def env(self) -> dict[str, str]:
        """``ADWATCH_ORIGIN_<NAME>`` for every platform: a plain ``scrapy crawl`` reaches the simulator."""
        return {f"ADWATCH_ORIGIN_{name.upper()}": origin for name, origin in self.origins.items()}

    def start(self) -> Simulator:
        for name, httpd in self._servers.items():
            thread = threading.Thread(target=httpd.serve_forever, name=f"simulator-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for httpd in self._servers.values():
            httpd.shutdown()
            httpd.server_close()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def first_hit(self, key: str) -> bool:
        """True the first time ``key`` is asked for (transient faults hit once, a retry then succeeds)."""
        with self._lock:
            n = self._hits.get(key, 0)
            self._hits[key] = n + 1
            return n == 0

    def delete(self, post_ids: Iterable[str]) -> None:
        """Take posts down (a takedown that worked): their pages and detail APIs answer as deleted from now on."""
        for post_id in post_ids:
            if post_id in self.by_id:
                self.by_id[post_id].deleted = True

    def add_post(self, platform: str, keyword: str, text: str) -> SimPost:
        """A post published now: it heads the results of ``keyword`` (newest first), as it would on the realtime tab."""
        from tests.simulator.platforms import SITES

        rng = random.Random(f"new:{platform}:{len(self.corpus[platform])}")
        post = SimPost(platform=platform, post_id=SITES[platform].new_post_id(rng), keyword=keyword, text=text,
                       kind="negative", is_ad=False, category=None, family=None,
                       author_id=SITES[platform].new_author_id(rng), author_name="新用户",
                       created=max(p.created for p in self.corpus[platform]) + timedelta(minutes=1))
        with self._lock:
            self.corpus[platform].insert(0, post)
            self.by_id[post.post_id] = post
        return post

    # --- called by the handler -------------------------------------------------------------------------
    def answer(self, site: Site, method: str, path: str, query: dict[str, str], body: bytes) -> Reply:
        with self._lock:
            name = site.request_name(path, query)
            self.requests[name] = self.requests.get(name, 0) + 1
        if path in site.api_paths:
            if self.config.latency:
                time.sleep(self.config.latency)
            if self.config.refuse_every:
                key = f"{site.name}:{site.request_key(path, query)}"
                with self._lock:
                    n = self._api_calls[site.name] = self._api_calls.get(site.name, 0) + 1
                    refuse = n % self.config.refuse_every == 0 and key not in self._refused
                    if refuse:
                        self._refused.add(key)
                if refuse:
                    return site.refusal(path, query)
        if path == LOGIN_PATH:
            return login_page(query)
        return site.route(method, path, query, body) or (404, {"Content-Type": "text/plain"}, b"not found")


class _Handler(BaseHTTPRequestHandler):
    sim: Simulator
    site: Site
    protocol_version = "HTTP/1.1"  # keep-alive, as the real CDNs and APIs do
    # Headers and body go out in two writes; with Nagle on, the client's delayed ACK stalls each response ~40 ms.
    disable_nagle_algorithm = True
    server_version = "Tengine"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # quiet: tests and the demo print their own summaries

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self._serve("GET", b"")

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        length = int(self.headers.get("Content-Length") or 0)
        self._serve("POST", self.rfile.read(length) if length else b"")

    def _serve(self, method: str, body: bytes) -> None:
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        _current.headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            status, headers, payload = self.sim.answer(self.site, method, parts.path, query, body)
        except Exception as exc:  # a simulator bug must show up as a 500, not a hung client
            status, headers, payload = 500, {"Content-Type": "text/plain"}, f"simulator error: {exc!r}".encode()
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def stored_uid(post: SimPost) -> str:
    """The store's uid of a corpus post, on any platform (``platform:post_id`` as the spider stores it)."""
    from tests.simulator.platforms import SITES

    return f"{post.platform}:{SITES[post.platform].stored_id(post)}"
