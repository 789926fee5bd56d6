"""Baidu Tieba: keyword search over threads (``/f/search/res``, HTML), then each thread page (``/p/{tid}``) for its
first floor — the poster's text and its pictures (``img.BDE_Image``), where the contact usually is.

Baidu answers a suspected bot with its 安全验证 page (a redirect to ``wappass.baidu.com/static/captcha/…``); a deleted
thread's page says 该贴已被删除.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from parsel import Selector
from scrapy.http import Request, Response

from crawler.items import AdPost
from crawler.platforms.base import PlatformSpider
from crawler.utils import CN_TZ, as_int, counts, traverse

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


class TiebaSpider(PlatformSpider):
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
