"""Bilibili (web): video search through the WBI-signed ``/x/web-interface/wbi/search/type`` API, plain HTTP JSON.

Per result the spider reads the video detail (``/x/web-interface/view``: the full ``desc``, the cover, the first
part's ``cid``) and the MP4 stream of that part (``/x/player/wbi/playurl`` with ``platform=html5``: the one stream
form Bilibili serves without a Referer check, so the media stage can fetch it like any CDN file). Covers come
from ``*.hdslb.com``, videos from ``*.bilivideo.com``. Only the first part (``pages[0]``) of a multi-part video is
fetched; 360p (``qn=16``) is enough to read captions.

The API answers only a client that has the ``buvid3`` cookie the home page sets (else ``-412 请求被拦截``), and
search / playurl requests must carry a WBI signature (``w_rid``, ``wts``) made from two keys ``/x/web-interface/nav``
publishes and Bilibili rotates daily. The algorithm is publicly documented (bilibili-API-collect,
docs/misc/sign/wbi.md). Requests are queued unsigned and signed by :class:`BilibiliSessionMiddleware` when they
are sent, so a JOBDIR queue never holds a stale signature and a resumed crawl recognises its own requests.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import re
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Self
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

from scrapy.crawler import Crawler
from scrapy.http import Request, Response
from scrapy.settings import BaseSettings

from crawler.followups import CommentPage, Profile
from crawler.items import AdPost
from crawler.components import add_components
from crawler.platforms.base import PlatformSpider
from crawler.sessions.middleware import strip_secrets
from crawler.utils import CN_TZ, as_int, counts, traverse

SEARCH_API = "/x/web-interface/wbi/search/type"
VIEW_API = "/x/web-interface/view"
PLAYURL_API = "/x/player/wbi/playurl"
NAV_API = "/x/web-interface/nav"
REPLY_API = "/x/v2/reply"
ACC_INFO_API = "/x/space/wbi/acc/info"
RELATION_API = "/x/relation/stat"
# view: the video is gone or hidden (稿件不可见 / 审核中 / 仅UP主自己可见 / 啥都木有).
GONE_CODES = {62002: "deleted", 62004: "under_review", 62012: "private", -404: "not_found"}

# The documented permutation of img_key + sub_key whose first 32 characters are the mixin key.
MIXIN_KEY_ENC_TAB = (
    46, 47, 18, 2, 53, 8, 23, 32, 15, 50, 10, 31, 58, 3, 45, 35, 27, 43, 5, 49, 33, 9, 42, 19, 29, 28, 14, 39,
    12, 38, 41, 13, 37, 48, 7, 16, 24, 55, 40, 61, 26, 17, 0, 1, 60, 51, 30, 4, 22, 25, 54, 21, 56, 59, 6, 63,
    57, 62, 11, 36, 20, 34, 44, 52,
)
_EM = re.compile(r"</?em\b[^>]*>", re.I)


def mixin_key(img_key: str, sub_key: str) -> str:
    raw = img_key + sub_key
    return "".join(raw[i] for i in MIXIN_KEY_ENC_TAB if i < len(raw))[:32]


def wbi_sign(params: list[tuple[str, str]], mixin: str, wts: int) -> list[tuple[str, str]]:
    """``params`` plus ``w_rid`` and ``wts``: md5 of the key-sorted query (values without ``!'()*``, UTF-8
    percent-encoded with upper-case hex, spaces as %20) followed by the mixin key."""
    signed = sorted([*((k, v) for k, v in params if k not in ("w_rid", "wts")), ("wts", str(wts))])
    query = urlencode([(k, re.sub(r"[!'()*]", "", v)) for k, v in signed], safe="", quote_via=quote)
    w_rid = hashlib.md5((query + mixin).encode()).hexdigest()
    return [*((k, v) for k, v in params if k not in ("w_rid", "wts")), ("w_rid", w_rid), ("wts", str(wts))]


def sign_url(url: str, mixin: str, wts: int) -> str:
    parts = urlsplit(url)
    query = urlencode(wbi_sign(parse_qsl(parts.query, keep_blank_values=True), mixin, wts), quote_via=quote)
    return urlunsplit(parts._replace(query=query))


def unsigned_url(url: str) -> str:
    parts = urlsplit(url)
    params = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ("w_rid", "wts")]
    return urlunsplit(parts._replace(query=urlencode(params, quote_via=quote)))


def key_of(url: Any) -> str:
    """``https://i0.hdslb.com/bfs/wbi/7cd08494….png`` → ``7cd08494…``: nav's keys are disguised as image URLs."""
    return str(url or "").rsplit("/", 1)[-1].split(".", 1)[0]


def clean_title(value: Any) -> str:
    """Search titles carry ``<em class="keyword">`` around the hit and HTML entities; view titles are plain."""
    return html.unescape(_EM.sub("", str(value or ""))).strip()


class BilibiliSessionMiddleware:
    """Signs Bilibili's WBI requests (``meta["wbi"]``) when they are sent, with the keys ``nav`` publishes.

    It runs after the session middleware: the request is on a session by then, whose ``buvid3`` the session
    middleware had loaded first (:meth:`BilibiliSpider.prepare_session`). It loads ``nav`` (the keys) once for
    the spider; a request it signs is sent again through the scheduler (URLs are immutable). When the API rejects
    a signature the spider calls :meth:`BilibiliSpider.forget_keys`; the next signed request reloads them.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    async def process_request(self, request: Request) -> Request | None:
        spider = self.crawler.spider
        if not isinstance(spider, BilibiliSpider) or not request.meta.get("bilibili_api"):
            return None
        if request.meta.get("wbi") and "w_rid" not in dict(parse_qsl(urlsplit(request.url).query)):
            mixin = await spider.wbi_mixin(request.meta.get("adwatch_session"))
            if not mixin:
                return None  # no keys to be had: the API's answer to the unsigned request decides
            # Back through the scheduler, its retry count kept, without the session's cookie header (put back by
            # the session middleware when it is sent).
            signed = request.replace(url=sign_url(request.url, mixin, int(time.time())), dont_filter=True)
            strip_secrets(signed)
            return signed
        return None


class BilibiliSpider(PlatformSpider):
    """Searches videos on Bilibili, reads each video's detail and its MP4 stream address."""

    name = "bilibili"
    url_patterns = (
        r"https?://(?:www\.|m\.)?bilibili\.com/video/(?P<id>BV1[0-9A-Za-z]{9})/?(?:\?.*)?",
        r"https?://b23\.tv/(?P<id>BV1[0-9A-Za-z]{9})/?(?:\?.*)?",
    )
    # b23.tv: the app's short links (followed through their redirects to the video page).
    link_hosts = ("www.bilibili.com", "bilibili.com", "m.bilibili.com", "b23.tv")
    url_examples = (
        ("https://www.bilibili.com/video/BV1xx411c7mD", "BV1xx411c7mD"),
        ("https://m.bilibili.com/video/BV1xx411c7mD?share_source=copy_web", "BV1xx411c7mD"),
        ("https://b23.tv/BV1xx411c7mD", "BV1xx411c7mD"),
    )
    custom_settings = {"HTTPERROR_ALLOWED_CODES": [412]}

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        # After the session middleware (650: the request is on a session), before cookies (700).
        add_components(settings, "DOWNLOADER_MIDDLEWARES", {f"{__name__}.BilibiliSessionMiddleware": 660})

    _mixin: str | None = None
    _session_lock: asyncio.Lock | None = None
    _home_loaded: frozenset[str] = frozenset()  # sessions that loaded the home page (have buvid3)

    # --- session: cookies and WBI keys --------------------------------------------------------------------
    async def prepare_session(self, session: str, request: Request) -> None:
        """Before a session's first API request: the home page on that session (its own ``buvid3`` in its own
        cookie jar; a session without one is refused), so its cookies are complete when they go on the request."""
        if not request.meta.get("bilibili_api") or session in self._home_loaded:
            return
        async with self._lock():
            if session not in self._home_loaded:
                assert self.crawler.engine is not None
                await self.crawler.engine.download_async(Request(
                    f"{self.cfg.origin}/", dont_filter=True, meta=self._setup_meta(session)))
                self._home_loaded = self._home_loaded | {session}

    async def wbi_mixin(self, session: str | None) -> str | None:
        """The mixin key, after loading nav (the keys) on ``session`` if not done yet; None when nav gives none."""
        if self._mixin:
            return self._mixin
        async with self._lock():
            if self._mixin:
                return self._mixin
            assert self.crawler.engine is not None
            nav = await self.crawler.engine.download_async(Request(
                f"{self.host('api')}{NAV_API}", dont_filter=True, meta=self._setup_meta(session),
                headers={"Referer": f"{self.cfg.origin}/", "Accept": "application/json"}))
            data = self.load_json(nav)
            # Logged out, nav says code -101 (账号未登录) and still hands out the keys.
            img = key_of(traverse(data, "data", "wbi_img", "img_url"))
            sub = key_of(traverse(data, "data", "wbi_img", "sub_url"))
            if len(img + sub) < 64:
                self.warn_once("wbi_keys_missing", "bilibili: nav gave no WBI keys (%s)", nav.url)
                return None
            self.count("wbi_keys")
            self._mixin = mixin_key(img, sub)
            return self._mixin

    def _lock(self) -> asyncio.Lock:
        # One set-up request at a time: concurrent requests on a new session load its home page once.
        self._session_lock = self._session_lock or asyncio.Lock()
        return self._session_lock

    @staticmethod
    def _setup_meta(session: str | None) -> dict[str, Any]:
        """A session's own set-up request: pinned to it by the session middleware."""
        meta: dict[str, Any] = {"bilibili_session": True}
        if session is not None:
            meta["adwatch_pin_session"] = session
        return meta

    def forget_keys(self) -> None:
        """The API rejected a signature (keys rotated): the next signed request loads them again."""
        self._mixin = None

    def api_request(self, path: str, params: dict[str, Any], callback: Any, *, wbi: bool, referer: str,
                    **cb_kwargs: Any) -> Request:
        return Request(
            f"{self.host('api')}{path}?{urlencode(params, quote_via=quote)}", callback=callback, cb_kwargs=cb_kwargs,
            meta={"bilibili_api": True, "wbi": wbi},
            headers={"Accept": "application/json, text/plain, */*", "Referer": referer, "Origin": self.cfg.origin},
        )

    # --- requests -----------------------------------------------------------------------------------------
    def search_request(self, keyword: str, page: int = 1) -> Request:
        return self.api_request(
            SEARCH_API, {"search_type": "video", "keyword": keyword, "page": page}, self.parse_search, wbi=True,
            referer=f"{self.host('search')}/video?keyword={quote(keyword)}", keyword=keyword, page=page,
        )

    def view_request(self, bvid: str, keyword: str | None, card: dict[str, Any] | None = None) -> Request:
        return self.api_request(VIEW_API, {"bvid": bvid}, self.parse_view, wbi=False,
                                referer=f"{self.cfg.origin}/video/{bvid}/", bvid=bvid, keyword=keyword, card=card)

    def post_request(self, post_id: str) -> Request:
        return self.view_request(post_id, None)

    # --- answers ------------------------------------------------------------------------------------------
    def check(self, response: Response) -> tuple[str, Any]:
        """(verdict, JSON): ``ok``, ``refused`` (HTTP 412 / -412), ``signature`` (-403, ``v_voucher``),
        ``malformed`` or ``error``."""
        data = self.load_json(response)
        code = traverse(data, "code")
        if response.status == 412 or code == -412:
            return "refused", data
        if data is None or not isinstance(data, dict):
            return "malformed", data
        # A missing or wrong signature: -403 (访问权限不足), or code 0 with nothing but a v_voucher.
        if code == -403 or traverse(data, "data", "v_voucher"):
            return "signature", data
        return ("ok" if code == 0 else "error"), data

    def _retry_or_refuse(self, verdict: str, response: Response) -> Iterator[Any]:
        """A retry for a truncated body or a rejected signature (re-signed with fresh keys); else refuse."""
        if verdict == "refused":
            yield self.refused("http-412" if response.status == 412 else "risk-412", response)
            return
        if verdict == "signature":
            self.count("wbi_rejected")
            self.forget_keys()
        retry = self.retry(response.request, f"bilibili_{verdict}")
        if retry is not None:
            yield retry.replace(url=unsigned_url(retry.url))
        elif verdict == "signature":
            yield self.refused("wbi-rejected", response)

    def parse_search(self, response: Response, keyword: str, page: int) -> Iterator[Any]:
        verdict, data = self.check(response)
        if verdict in ("refused", "signature", "malformed"):
            yield from self._retry_or_refuse(verdict, response)
            return
        if verdict == "error":
            self.warn_once("api_error", "bilibili: search answered code %s (%s)", data.get("code"), data.get("message"))
            return
        self.count("pages")
        # Every listed video (a card does not say whether it was deleted: only its view does).
        listed: list[str] = []
        for card in traverse(data, "data", "result", expected=list) or []:
            if isinstance(card, dict) and card.get("type") == "video" and card.get("bvid"):
                listed.append(bvid := str(card["bvid"]))
                if self.is_due(bvid, keyword):
                    yield self.view_request(bvid, keyword, card)
        pages = as_int(traverse(data, "data", "numPages"), 0) or 0
        if page >= pages:
            self.count("end_of_results")  # numPages reached, or nothing found (numPages 0)
        elif page >= self.cfg.max_pages:
            self.count("max_pages_reached")
        elif self.keep_paging(keyword, listed):
            yield self.search_request(keyword, page + 1)

    def parse_view(self, response: Response, bvid: str, keyword: str | None,
                   card: dict[str, Any] | None) -> Iterator[Any]:
        verdict, data = self.check(response)
        if verdict in ("refused", "malformed"):
            yield from self._retry_or_refuse(verdict, response)
            return
        code = traverse(data, "code")
        if code in GONE_CODES:
            if card is None:  # asked for this one video (add-url, re-check)
                yield self.gone(bvid, f"{self.cfg.origin}/video/{bvid}", GONE_CODES[code])
            else:
                self.count("deleted")  # still listed by search, gone on its page
            return
        view = traverse(data, "data", expected=dict)
        if verdict != "ok" or not view:
            self.warn_once("view_error", "bilibili: view of %s answered code %s; keeping the search card", bvid, code)
            if card:
                yield self.post(bvid, card, {}, keyword, None)
            return
        cid = view.get("cid") or traverse(view, "pages", 0, "cid")
        if not cid:
            yield self.post(bvid, card or {}, view, keyword, None)
            return
        yield self.api_request(
            PLAYURL_API, {"bvid": bvid, "cid": cid, "qn": 16, "fnval": 1, "fnver": 0, "platform": "html5"},
            self.parse_playurl, wbi=True, referer=f"{self.cfg.origin}/video/{bvid}/",
            bvid=bvid, keyword=keyword, card=card or {}, view=view,
        )

    def parse_playurl(self, response: Response, bvid: str, keyword: str | None, card: dict[str, Any],
                      view: dict[str, Any]) -> Iterator[Any]:
        verdict, data = self.check(response)
        if verdict == "refused":
            yield self.refused("http-412" if response.status == 412 else "risk-412", response)
            return
        if verdict in ("signature", "malformed"):
            retry = self.retry(response.request, f"bilibili_{verdict}")
            if verdict == "signature":
                self.count("wbi_rejected")
                self.forget_keys()
            if retry is not None:
                yield retry.replace(url=unsigned_url(retry.url))
                return
        video = self.video_url(traverse(data, "data", "durl", 0, expected=dict) or {}) if verdict == "ok" else None
        if video is None:
            self.count("video_unavailable")  # the post is kept with its cover and text
        yield self.post(bvid, card, view, keyword, video)

    def video_url(self, durl: dict[str, Any]) -> str | None:
        """The first stream URL on a default port (or on our own configured hosts): PCDN mirrors
        (``*.mcdn.bilivideo.cn:4483``) use odd ports, which the media stage's host rule refuses."""
        own = {urlsplit(self.cfg.origin).netloc, urlsplit(self.host("api")).netloc}
        for url in [durl.get("url"), *(durl.get("backup_url") or [])]:
            if isinstance(url, str) and url.startswith(("http://", "https://")):
                parts = urlsplit(url)
                try:
                    port = parts.port
                except ValueError:  # a garbled port: try the next mirror
                    continue
                if port is None or parts.netloc in own:
                    return url
        return None

    def post(self, bvid: str, card: dict[str, Any], view: dict[str, Any], keyword: str | None,
             video_url: str | None) -> AdPost:
        owner = traverse(view, "owner", expected=dict) or {}
        mid = owner.get("mid") or card.get("mid")
        stat = traverse(view, "stat", expected=dict) or {}
        pic = view.get("pic") or card.get("pic")
        pubdate = as_int(view.get("pubdate") or card.get("pubdate"))
        # Search texts are HTML-escaped (with <em> around hits); view texts are plain.
        desc = view.get("desc") if "desc" in view else clean_title(card.get("description"))
        return self.make_post(
            bvid,
            f"{self.cfg.origin}/video/{bvid}",
            author=self.make_author(mid, owner.get("name") or card.get("author"),
                                    f"{self.host('space')}/{mid}" if mid else None),
            title=clean_title(view.get("title") or card.get("title")),
            text=str(desc or ""),
            hashtags=[t.strip() for t in str(card.get("tag") or "").split(",") if t.strip()],
            # Protocol-relative (//i0.hdslb.com/…) resolves against our own scheme, as a browser does.
            cover_url=urljoin(self.cfg.origin + "/", pic) if isinstance(pic, str) and pic else None,
            video_url=video_url,
            published_at=datetime.fromtimestamp(pubdate, CN_TZ) if pubdate else None,
            engagement=counts(views=stat.get("view", card.get("play")), likes=stat.get("like", card.get("like")),
                              comments=stat.get("reply", card.get("review")), shares=stat.get("share"),
                              collects=stat.get("favorite", card.get("favorites"))),
            keyword=keyword,
            raw={"search": card or None, "view": view or None},
        )

    # --- follow-ups: the comment area (``/x/v2/reply``) and the uploader's space (``acc/info`` + ``relation/stat``) --
    def comments_request(self, post: AdPost) -> Request | None:
        """The video's comment area (type 1 = video, ``oid`` = its aid), hottest first; the uploader's pinned
        comment comes in ``data.upper.top``."""
        raw = post.raw if isinstance(post.raw, dict) else {}
        aid = traverse(raw, "view", "aid") or traverse(raw, "search", "aid") or traverse(raw, "search", "id")
        if not aid:
            return None
        return self.api_request(REPLY_API, {"type": 1, "oid": aid, "pn": 1, "ps": 20, "sort": 1},
                                self.parse_comments, wbi=False, referer=f"{self.cfg.origin}/video/{post.post_id}/")

    def profile_request(self, post: AdPost) -> Request | None:
        mid = post.author.id
        if not mid:
            return None
        return self.api_request(ACC_INFO_API, {"mid": mid}, self.parse_profile, wbi=True,
                                referer=f"{self.host('space')}/{mid}")

    def _followup_data(self, response: Response) -> Any:
        """``data`` of a follow-up answer; a Request (retry, re-signed, or what ``refused()`` answers); or None."""
        verdict, data = self.check(response)
        if verdict in ("refused", "signature", "malformed"):
            return next(iter(self._retry_or_refuse(verdict, response)), None)
        if verdict != "ok":
            return None  # -404 user gone, 12002 comments closed, …
        return traverse(data, "data", expected=dict) or {}

    def parse_comments(self, response: Response) -> Any:
        data = self._followup_data(response)
        if not isinstance(data, dict):
            return data if data is not None else CommentPage()
        top = traverse(data, "upper", "top", expected=dict)
        replies = [*([top] if top else []), *(traverse(data, "replies", expected=list) or [])]
        comments = [
            {"id": str(r.get("rpid_str") or r.get("rpid") or ""), "text": traverse(r, "content", "message") or "",
             "author": {"id": str(traverse(r, "member", "mid") or r.get("mid") or ""),
                        "name": traverse(r, "member", "uname")},
             "likes": as_int(r.get("like"), 0), "pinned": r is top, "published_at": as_int(r.get("ctime"))}
            for r in replies if isinstance(r, dict)
        ]
        return CommentPage(comments)

    def parse_profile(self, response: Response) -> Any:
        data = self._followup_data(response)
        if not isinstance(data, dict) or not data:
            return data
        official = traverse(data, "official", expected=dict) or {}
        profile = Profile(bio=data.get("sign") or None, verified=as_int(official.get("type"), -1) >= 0,
                          name=data.get("name"))
        # acc/info has no follower count: the space page reads it from relation/stat.
        return self.api_request(RELATION_API, {"vmid": data.get("mid")}, self.parse_relation, wbi=False,
                                referer=f"{self.host('space')}/{data.get('mid')}", profile=profile)

    def parse_relation(self, response: Response, profile: Any) -> Any:
        data = self._followup_data(response)
        if isinstance(data, Request):
            return data
        if isinstance(data, dict):
            profile.followers = as_int(data.get("follower"))
        return profile
