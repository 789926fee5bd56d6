"""Douyin (web): the search page runs in a browser, whose script fetches signed ``general/search/single`` XHRs.

Requests to the search API need a signature (``a_bogus``) computed by the page's own script, so the spider does
not call the API itself: it loads ``/search/{keyword}`` in Chromium and reads the answers the page receives,
scrolling for more until ``has_more`` is 0 (the search loop, its waiting and resuming: :mod:`crawler.platforms.browser`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote

from scrapy.http import Request, Response

from crawler.followups import CommentPage, Profile
from crawler.items import AdPost
from crawler.platforms.browser import BrowserSearchSpider, ResultPage, XhrAnswer
from crawler.platforms.followup_pages import FollowupPages
from crawler.utils import CN_TZ, as_int, counts, traverse

SEARCH_API = "/aweme/v1/web/general/search/single"
COMMENT_API = "/aweme/v1/web/comment/list/"
PROFILE_API = "/aweme/v1/web/user/profile/other/"
# Douyin's interstitial verification page (served instead of the search page when it suspects a bot).
VERIFY_PAGE_MARKERS = ("验证码中间页", 'id="captcha_container"', "verify.snssdk.com")


def verify_page(response: Response) -> bool:
    return any(marker in response.text for marker in VERIFY_PAGE_MARKERS)


class DouyinSpider(FollowupPages, BrowserSearchSpider):
    """Searches www.douyin.com in a real browser page and reads the results from its XHRs."""

    name = "douyin"
    xhr_paths = (SEARCH_API,)

    def search_request(self, keyword: str, page: int = 1) -> Request:
        return self.browser_request(f"{self.cfg.origin}/search/{quote(keyword)}?type=general", self.parse_search,
                                    keyword=keyword)

    def page_refusal(self, response: Response) -> str | None:
        return "captcha" if verify_page(response) else None

    def refusal(self, answer: XhrAnswer, data: Any) -> str | None:
        return "captcha" if traverse(data, "search_nil_info", "search_nil_type") == "verify_check" else None

    def read_page(self, data: Any, keyword: str) -> ResultPage | None:
        posts: list[AdPost] = []
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
                posts.append(self.post(aweme, keyword))
        return ResultPage(posts, not as_int(traverse(data, "has_more")), listed)

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
        if verify_page(response):
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
    followup_xhr_paths = (COMMENT_API, PROFILE_API)

    def comments_request(self, post: AdPost) -> Request | None:
        """The video page: its script fetches (and signs) ``/aweme/v1/web/comment/list/?aweme_id=…``."""
        return self.followup_page(f"{self.cfg.origin}/video/{post.post_id}", self.parse_comments)

    def profile_request(self, post: AdPost) -> Request | None:
        """The user page (``author.url`` = ``/user/{sec_uid}``): its script fetches ``user/profile/other``."""
        url = post.author.url
        return self.followup_page(url, self.parse_profile) if url and "/user/" in url else None

    async def _followup_json(self, response: Response) -> Any:
        """The JSON the page's own XHR received; ``refused()``'s answer on a verification page; None if none came."""
        verify = verify_page(response)
        answer = await self.followup_answer(response, wait=not verify)  # closes the page
        if verify:
            return self.refused("captcha", response)
        if answer is None:
            return None  # counted by followup_answer
        if not answer.body:
            self.count("followup_empty")
            return None
        try:
            return json.loads(answer.body)
        except ValueError:
            self.warn_once("malformed", "douyin: malformed follow-up JSON on %s", response.url)
            return None

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
