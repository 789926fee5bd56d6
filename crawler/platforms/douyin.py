"""Douyin (web): the search page runs in a browser, whose script fetches signed ``general/search/single`` XHRs.

Requests to the search API need a signature (``a_bogus``) computed by the page's own script, so the spider does
not call the API itself: it loads ``/search/{keyword}`` in Chromium (scrapy-playwright), records the XHR
responses the page receives, and scrolls to make the page load more until ``has_more`` is 0.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote

from playwright.async_api import Page
from playwright.async_api import Response as PageResponse
from scrapy.http import Request, Response

from crawler.followups import CommentPage, Profile
from crawler.items import AdPost
from crawler.settings import PLAYWRIGHT_DOWNLOAD_HANDLERS
from crawler.platforms.base import PlatformSpider
from crawler.utils import CN_TZ, as_int, counts, traverse

SEARCH_API = "/aweme/v1/web/general/search/single"
COMMENT_API = "/aweme/v1/web/comment/list/"
PROFILE_API = "/aweme/v1/web/user/profile/other/"
# Douyin's interstitial verification page (served instead of the search page when it suspects a bot).
# Idle periods (ADWATCH_PLAYWRIGHT_IDLE_SECONDS each) to sit out before a page that still has more counts as stalled.
STALL_WAITS = 4
VERIFY_PAGE_MARKERS = ("验证码中间页", 'id="captcha_container"', "verify.snssdk.com")


class XhrLog:
    """The search API bodies one browser page received, in order, with a wake-up for the next one."""

    def __init__(self) -> None:
        self.bodies: asyncio.Queue[str] = asyncio.Queue()

    async def next(self, timeout: float) -> str | None:
        try:
            return await asyncio.wait_for(self.bodies.get(), timeout)
        except TimeoutError:
            return None


class DouyinSpider(PlatformSpider):
    """Searches www.douyin.com in a real browser page and reads the results from its XHRs."""

    name = "douyin"
    custom_settings = {"DOWNLOAD_HANDLERS": PLAYWRIGHT_DOWNLOAD_HANDLERS}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._xhr: dict[Page, XhrLog] = {}

    def search_request(self, keyword: str, page: int = 1) -> Request:
        return Request(
            f"{self.cfg.origin}/search/{quote(keyword)}?type=general",
            callback=self.parse_search,
            errback=self.close_page,
            cb_kwargs={"keyword": keyword},
            meta={
                "playwright": True,
                "playwright_include_page": True,
                # By name (not a bound method) so the request stays serialisable for JOBDIR.
                "playwright_page_event_handlers": {"response": "on_page_response"},
            },
        )

    async def on_page_response(self, response: PageResponse) -> None:
        if SEARCH_API not in response.url:
            return
        try:
            body = await response.text()
        except Exception:  # the page navigated away or the body was cut: an empty body is counted below
            body = ""
        self._xhr.setdefault(response.frame.page, XhrLog()).bodies.put_nowait(body)

    async def parse_search(self, response: Response, keyword: str) -> AsyncIterator[Any]:
        page: Page = response.meta["playwright_page"]
        log = self._xhr.setdefault(page, XhrLog())
        pages = 0
        waits = 0
        try:
            if any(marker in response.text for marker in VERIFY_PAGE_MARKERS):
                yield self.refused("captcha", response)
                return
            while True:
                body = await log.next(self.cfg.idle_seconds)
                if body is None and waits < STALL_WAITS:
                    # A slow machine or a slow page, not the end: the page said has_more, so nudge it again.
                    waits += 1
                    self.count("slow_page")
                    await page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
                    continue
                if body is None:
                    self.count("stalled")  # no more results arrived; what we have is kept
                    break
                waits = 0
                if not body.strip():
                    self.count("empty_response")  # an unsigned or refused request: 200 with no body
                    continue
                try:
                    data = json.loads(body)
                except ValueError:
                    # The page script retries by itself; its retry is the next body.
                    self.warn_once("malformed", "douyin: malformed search JSON for %r (the page retries)", keyword)
                    continue
                if traverse(data, "search_nil_info", "search_nil_type") == "verify_check":
                    yield self.refused("captcha", response)
                    return
                pages += 1
                self.count("pages")
                listed: list[str] = []
                for card in traverse(data, "data", expected=list) or []:
                    aweme = traverse(card, "aweme_info") or traverse(card, "aweme_mix_info", "mix_items", 0)
                    if not isinstance(aweme, dict):
                        continue
                    if traverse(aweme, "status", "is_delete"):
                        self.count("deleted")
                        continue
                    if traverse(aweme, "status", "private_status") in (1, 2):
                        self.count("private")
                        continue
                    listed.append(aweme_id := str(aweme.get("aweme_id") or ""))
                    if self.is_due(aweme_id, keyword):
                        yield self.post(aweme, keyword)
                if not as_int(data.get("has_more")):
                    self.count("end_of_results")
                    break
                if not self.keep_paging(keyword, listed):
                    break
                if pages >= self.cfg.max_pages:
                    self.count("max_pages_reached")
                    break
                await page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        finally:
            self._xhr.pop(page, None)
            await page.close()

    async def close_page(self, failure: Any) -> None:
        page = failure.request.meta.get("playwright_page")
        if page is not None:
            self._xhr.pop(page, None)
            await page.close()

    def post(self, aweme: dict[str, Any], keyword: str) -> AdPost:
        aweme_id = aweme.get("aweme_id")
        author = traverse(aweme, "author", expected=dict) or {}
        sec_uid = author.get("sec_uid")
        created = as_int(aweme.get("create_time"))
        stats = traverse(aweme, "statistics", expected=dict) or {}
        images = [u for img in traverse(aweme, "images", expected=list) or []
                  if (u := traverse(img, "url_list", 0))]
        return self.make_post(
            aweme_id,
            f"{self.cfg.origin}/video/{aweme_id}",
            author=self.make_author(author.get("uid"), author.get("nickname"),
                                    f"{self.cfg.origin}/user/{sec_uid}" if sec_uid else None),
            text=aweme.get("desc") or "",
            hashtags=[t["hashtag_name"] for t in traverse(aweme, "text_extra", expected=list) or []
                      if isinstance(t, dict) and t.get("hashtag_name")],
            image_urls=images,
            video_url=None if images else traverse(aweme, "video", "play_addr", "url_list", 0),
            cover_url=traverse(aweme, "video", "cover", "url_list", 0),
            published_at=datetime.fromtimestamp(created, CN_TZ) if created else None,
            engagement=counts(likes=stats.get("digg_count"), comments=stats.get("comment_count"),
                              shares=stats.get("share_count"), collects=stats.get("collect_count")),
            keyword=keyword,
            raw=aweme,
        )

    # --- single posts (scrapy add-url) ----------------------------------------------------------------------
    url_patterns = (
        r"https?://(?:www\.)?douyin\.com/(?:video|note)/(?P<id>\d{19})/?(?:[?#].*)?",
        r"https?://www\.iesdouyin\.com/share/(?:video|note)/(?P<id>\d{19})/?(?:[?#].*)?",
        r"https?://(?:www\.)?douyin\.com/(?:discover|jingxuan|search/[^?#]*)\?(?:[^#]*&)?modal_id=(?P<id>\d{19})(?:[&#].*)?",
    )
    # v.douyin.com: the app's share links (followed through their redirects to iesdouyin.com/share/video/{id}).
    link_hosts = ("www.douyin.com", "douyin.com", "v.douyin.com", "www.iesdouyin.com")
    url_examples = (
        ("https://www.douyin.com/video/7312345678901234567", "7312345678901234567"),
        ("https://www.iesdouyin.com/share/video/7312345678901234567/?region=CN&mid=7312345678901234568",
         "7312345678901234567"),
        ("https://www.douyin.com/discover?modal_id=7312345678901234567", "7312345678901234567"),
        ("https://www.douyin.com/note/7312345678901234567", "7312345678901234567"),
    )

    def post_request(self, post_id: str) -> Request:
        """The video page, whose URL-encoded ``RENDER_DATA`` script holds the aweme (plain HTTP, no browser)."""
        return Request(f"{self.cfg.origin}/video/{post_id}", callback=self.parse_video_page,
                       cb_kwargs={"post_id": post_id}, meta={"handle_httpstatus_list": [404]})

    def parse_video_page(self, response: Response, post_id: str) -> Iterator[Any]:
        if any(marker in response.text for marker in VERIFY_PAGE_MARKERS):
            yield self.refused("captcha", response)
            return
        raw = response.css("script#RENDER_DATA::text").get()
        try:
            data = json.loads(unquote(raw)) if raw else None
        except ValueError:
            data = None
        aweme = next(find_key(data, "aweme_id"), None) if data is not None else None
        if aweme is None or traverse(aweme, "status", "is_delete"):
            if response.status == 404 or aweme is not None or "删除" in response.text:
                yield self.gone(post_id, response.url, "deleted")
            elif retry := self.retry(response.request, "malformed_page"):
                yield retry
            return
        yield self.post(aweme, None)


    # --- follow-ups: the video page's comment list, the user page's profile (both read from the browser) ------
    def _page_request(self, url: str, callback: Any) -> Request:
        return Request(url, callback=callback, errback=self.close_page, dont_filter=True, meta={
            "playwright": True, "playwright_include_page": True,
            "playwright_page_event_handlers": {"response": "on_followup_response"}})

    def comments_request(self, post: AdPost) -> Request | None:
        """The video page: its script fetches (and signs) ``/aweme/v1/web/comment/list/?aweme_id=…``."""
        return self._page_request(f"{self.cfg.origin}/video/{post.post_id}", self.parse_comments)

    def profile_request(self, post: AdPost) -> Request | None:
        """The user page (``author.url`` = ``/user/{sec_uid}``): its script fetches ``user/profile/other``."""
        url = post.author.url
        return self._page_request(url, self.parse_profile) if url and "/user/" in url else None

    async def on_followup_response(self, response: PageResponse) -> None:
        if COMMENT_API not in response.url and PROFILE_API not in response.url:
            return
        try:
            body = await response.text()
        except Exception:  # the page closed or the body was cut: counted as empty by the parser
            body = ""
        self._xhr.setdefault(response.frame.page, XhrLog()).bodies.put_nowait(body)

    async def _followup_json(self, response: Response) -> Any:
        """The JSON the page's own XHR received; ``refused()``'s answer on a verification page; None if none came."""
        page: Page = response.meta["playwright_page"]
        try:
            if any(marker in response.text for marker in VERIFY_PAGE_MARKERS):
                return self.refused("captcha", response)
            body = await self._xhr.setdefault(page, XhrLog()).next(self.cfg.idle_seconds * STALL_WAITS)
            if not body:
                self.count("followup_empty")
                return None
            try:
                return json.loads(body)
            except ValueError:
                self.warn_once("malformed", "douyin: malformed follow-up JSON on %s", response.url)
                return None
        finally:
            self._xhr.pop(page, None)
            await page.close()

    async def parse_comments(self, response: Response) -> Any:
        data = await self._followup_json(response)
        if not isinstance(data, dict):
            return data  # a Request from refused(), or None
        comments = [
            {"id": str(c.get("cid") or ""), "text": c.get("text") or "",
             "author": {"id": str(traverse(c, "user", "uid") or ""), "name": traverse(c, "user", "nickname")},
             "likes": as_int(c.get("digg_count"), 0), "pinned": bool(c.get("stick_position")),
             "published_at": as_int(c.get("create_time"))}
            for c in traverse(data, "comments", expected=list) or [] if isinstance(c, dict)
        ]
        return CommentPage(comments)  # further pages need scrolling the comment panel: the first is kept

    async def parse_profile(self, response: Response) -> Any:
        data = await self._followup_json(response)
        if not isinstance(data, dict):
            return data
        user = traverse(data, "user", expected=dict)
        if user is None:
            return None
        return Profile(bio=user.get("signature") or None,
                       verified=bool(user.get("custom_verify") or user.get("enterprise_verify_reason")),
                       followers=as_int(user.get("follower_count")), name=user.get("nickname"))


def find_key(data: Any, key: str) -> Iterator[dict[str, Any]]:
    """Every dict inside ``data`` (depth first) that has ``key``: RENDER_DATA nests the aweme under varying keys."""
    if isinstance(data, dict):
        if key in data:
            yield data
        for value in data.values():
            yield from find_key(value, key)
    elif isinstance(data, list):
        for value in data:
            yield from find_key(value, key)
