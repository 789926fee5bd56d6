"""Baidu Tieba: keyword search over threads (``/f/search/res``, HTML), then each thread page (``/p/{tid}``) for its
first floor — the poster's text and its pictures (``img.BDE_Image``), where the contact usually is.

Baidu answers a suspected bot with its 安全验证 page (a redirect to ``wappass.baidu.com/static/captcha/…``); a deleted
thread's page says 该贴已被删除.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from parsel import Selector
from scrapy.http import Request, Response

from crawler.followups import CommentPage, Profile
from crawler.items import AdPost
from crawler.platforms.base import PlatformSpider
from crawler.platforms.followup_pages import FollowupPages
from crawler.settings import PLAYWRIGHT_DOWNLOAD_HANDLERS
from crawler.utils import CN_TZ, as_int, counts, traverse

USER_CARD_API = "/c/u/pc/userCard"
CAPTCHA_MARKERS = ("百度安全验证", "wappass.baidu.com/static/captcha")
DELETED_MARKERS = ("该贴已被删除", "贴子已被删除", "该贴子已被删除")
_TID = re.compile(r"/p/(\d+)")
_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2})")


def parse_time(value: str | None) -> datetime | None:
    """``2026-11-01 09:37`` (Beijing time, as Tieba shows it) → an aware datetime."""
    if not value or not (m := _TIME.search(value)):
        return None
    try:
        return datetime(*(int(g) for g in m.groups()), tzinfo=CN_TZ)
    except ValueError:
        return None


class TiebaSpider(FollowupPages, PlatformSpider):
    """Searches tieba.baidu.com for threads and reads each thread's first floor."""

    name = "tieba"
    html_text = True
    custom_settings = {"HTTPERROR_ALLOWED_CODES": [403, 404]}
    url_patterns = (
        r"https?://(?:tieba|c\.tieba)\.baidu\.com/p/(?P<id>\d+)/?(?:[?#].*)?",
        r"https?://tieba\.baidu\.com/mo/q/m\?(?:[^#]*&)?kz=(?P<id>\d+)(?:[&#].*)?",
    )
    link_hosts = ("tieba.baidu.com", "c.tieba.baidu.com")
    url_examples = (
        ("https://tieba.baidu.com/p/8912345678", "8912345678"),
        ("https://tieba.baidu.com/p/8912345678?share=9105&fr=sharewise&see_lz=0", "8912345678"),
        ("http://c.tieba.baidu.com/p/8912345678?pid=148123456789&cid=0#148123456789", "8912345678"),
        ("https://tieba.baidu.com/mo/q/m?kz=8912345678&is_bakan=0", "8912345678"),
    )

    def search_request(self, keyword: str, page: int = 1) -> Request:
        query = urlencode({"ie": "utf-8", "qw": keyword, "rn": 10, "un": "", "only_thread": 1, "sm": 1, "sd": "",
                           "ed": "", "pn": page})
        return Request(f"{self.cfg.origin}/f/search/res?{query}", callback=self.parse_search,
                       cb_kwargs={"keyword": keyword, "page": page})

    def blocked(self, response: Response) -> bool:
        """Baidu's 安全验证 (captcha) page, reached by a redirect from any page."""
        return "/static/captcha/" in response.url or any(m in response.text[:4000] for m in CAPTCHA_MARKERS)

    def parse_search(self, response: Response, keyword: str, page: int) -> Iterator[Any]:
        if self.blocked(response):
            yield self.refused("captcha", response)
            return
        if response.status == 403:
            yield self.refused("http-403", response)
            return
        self.count("pages")
        # Every listed thread (search does not know a thread was deleted: only its page says so).
        listed: list[str] = []
        for result in response.css("div.s_post"):
            link = result.css("span.p_title a")
            tid = link.attrib.get("data-tid") or (m[1] if (m := _TID.search(link.attrib.get("href", ""))) else None)
            if tid:
                listed.append(tid)
                if self.is_due(tid, keyword):
                    yield self.thread_request(tid, keyword)
        if not response.css("div.pager a.next"):
            self.count("end_of_results")  # the last page (or nothing found) has no 下一页
        elif page >= self.cfg.max_pages:
            self.count("max_pages_reached")
        elif self.keep_paging(keyword, listed):
            yield self.search_request(keyword, page + 1)

    def thread_request(self, tid: str, keyword: str | None) -> Request:
        return Request(f"{self.cfg.origin}/p/{tid}", callback=self.parse_thread,
                       cb_kwargs={"tid": tid, "keyword": keyword})

    def post_request(self, post_id: str) -> Request:
        return self.thread_request(post_id, None)

    def parse_thread(self, response: Response, tid: str, keyword: str | None) -> Iterator[Any]:
        if self.blocked(response):
            yield self.refused("captcha", response)
            return
        if response.status == 404 or any(m in response.text for m in DELETED_MARKERS):
            self.count("deleted")
            yield self.gone(tid, f"{self.cfg.origin}/p/{tid}", "deleted")
            return
        floor = response.css("div.j_l_post")[:1]
        if not floor:
            if retry := self.retry(response.request, "malformed_page"):  # a page cut short
                yield retry
            else:
                self.warn_once("malformed", "tieba: thread %s has no first floor", tid)
            return
        yield self.post(response, floor[0], tid, keyword)

    def post(self, response: Response, floor: Selector, tid: str, keyword: str | None) -> AdPost:
        """The thread's first floor (the poster's own post) as an AdPost."""
        field = floor.attrib.get("data-field") or "{}"
        try:
            data = json.loads(field)
        except ValueError:
            data = {}
        author = traverse(data, "author", expected=dict) or {}
        portrait = str(author.get("portrait") or "").split("?")[0]  # "tb.1.…?t=…": the query is a cache stamp
        content = floor.css("div.d_post_content")
        html = content.get() or ""
        title = (response.css("h3.core_title_txt::attr(title), h1.core_title_txt::attr(title)").get()
                 or (response.css("title::text").get() or "").split("【")[0].removesuffix("_百度贴吧"))
        times = floor.css("span.tail-info::text").getall()
        return self.make_post(
            tid, f"{self.cfg.origin}/p/{tid}",
            author=self.make_author(author.get("user_id"),
                                    author.get("user_name") or floor.css("a.p_author_name::text").get(),
                                    f"{self.cfg.origin}/home/main?id={portrait}" if portrait else None),
            title=title.strip(),
            text=html,
            image_urls=[u for u in content.css("img.BDE_Image::attr(src)").getall() if u],
            published_at=next((t for t in map(parse_time, reversed(times)) if t), None),
            engagement=counts(comments=as_int(response.css("li.l_reply_num span.red::text").get())),
            keyword=keyword,
            raw={"data_field": data, "title": title, "forum": response.css("a.card_title_fname::text").get(),
                 "content_html": html},
        )

    # --- follow-ups: 楼中楼 (``/p/totalComment``, JSON) and the author's user card (read in the browser) -----------
    # totalComment answers the replies inside every floor of one thread page (``comment_list`` keyed by the floor's
    # post_id), the poster's own "私我" under the first floor included; it needs the forum id (``fid``), which the
    # first floor's data-field carries. The bio (个性签名, ``intro``) is not in ``/home/get/panel`` (name, fans, 吧龄
    # only): it is in the PC user card ``/c/u/pc/userCard?portrait=…&sign=…``, signed by the page's own script, so
    # the author's home page ``/home/main?id={portrait}`` is loaded in Chromium and that answer recorded.
    custom_settings = {**custom_settings, "DOWNLOAD_HANDLERS": PLAYWRIGHT_DOWNLOAD_HANDLERS}
    followup_xhr_paths = (USER_CARD_API, "/static/captcha/")

    def comments_request(self, post: AdPost) -> Request | None:
        fid = traverse(post.raw, "data_field", "content", "forum_id")
        if not fid:
            return None
        query = urlencode({"t": int(time.time() * 1000), "tid": post.post_id, "fid": fid, "pn": 1, "see_lz": 0})
        return Request(f"{self.cfg.origin}/p/totalComment?{query}", callback=self.parse_comments, dont_filter=True,
                       headers={"Accept": "application/json, text/javascript, */*; q=0.01",
                                "X-Requested-With": "XMLHttpRequest", "Referer": post.url})

    def parse_comments(self, response: Response) -> Any:
        if self.blocked(response):
            return self.refused("captcha", response)
        data = self.load_json(response)
        if data is None:
            return self.retry(response.request, "malformed_json")
        floors = traverse(data, "data", "comment_list")
        comments = []
        # An empty comment_list is PHP's empty array ([]); a full one an object keyed by the floor's post_id.
        for pid, floor in (floors.items() if isinstance(floors, dict) else ()):
            for c in traverse(floor, "comment_info", expected=list) or []:
                if isinstance(c, dict):
                    comments.append({"id": str(c.get("comment_id") or ""), "text": c.get("content") or "",
                                     "author": {"id": str(c.get("user_id") or ""),
                                                "name": c.get("show_nickname") or c.get("username")},
                                     "reply_to": str(pid), "published_at": as_int(c.get("now_time"))})
        return CommentPage(comments)

    def profile_request(self, post: AdPost) -> Request | None:
        url = post.author.url
        if not url or "/home/main" not in url:
            return None
        return self.followup_page(url, self.parse_profile)

    async def parse_profile(self, response: Response) -> Any:
        blocked = self.blocked(response)
        answer = await self.followup_answer(response, wait=not blocked)
        if blocked or (answer is not None and "/static/captcha/" in answer.url):
            return self.refused("captcha", response)
        if answer is None:
            return None
        try:
            data = json.loads(answer.body)
        except ValueError:
            self.warn_once("followup_malformed", "tieba: malformed user card for %s", response.url)
            return None
        info = traverse(data, "data", "user_info", expected=dict)
        if as_int(traverse(data, "error_code")) or info is None:
            return None  # the account is gone or blocked (用户不存在)
        return Profile(bio=info.get("intro") or None, name=info.get("name_show"),
                       followers=as_int(info.get("fans_num")))

