"""Weibo (mobile web): keyword search through ``/api/container/getIndex``, plain HTTP JSON."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from scrapy.http import Request, Response

from crawler.items import AdPost
from crawler.platforms.base import PlatformSpider
from crawler.utils import CN_TZ, as_int, counts, traverse

# Search tabs: 1 = 综合 (all), 61 = 实时 (realtime), 60 = 热门 (hot), 64 = 视频 (video).
SEARCH_TYPES = {"all": 1, "realtime": 61, "hot": 60, "video": 64}


_ABSOLUTE = re.compile(r"[A-Z][a-z]{2} ([A-Z][a-z]{2}) (\d{1,2}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2}) (\d{4})")
_MONTHS = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}


def parse_created_at(value: Any, now: datetime | None = None) -> datetime | None:
    """Weibo's ``created_at``: ``Tue Feb 23 12:28:47 +0800 2021``, or the relative forms search pages use."""
    if not isinstance(value, str) or not value.strip():
        return None
    s = value.strip()
    if (m := _ABSOLUTE.fullmatch(s)) and m[1] in _MONTHS:
        # Ten per result page: a regex is ~10x cheaper than strptime here.
        offset = timedelta(hours=int(m[7]), minutes=int(m[8])) * (1 if m[6] == "+" else -1)
        tz = CN_TZ if offset == timedelta(hours=8) else timezone(offset)
        try:
            return datetime(int(m[9]), _MONTHS[m[1]], int(m[2]), int(m[3]), int(m[4]), int(m[5]), tzinfo=tz)
        except ValueError:
            return None
    now = now or datetime.now(CN_TZ)
    if s == "刚刚":
        return now
    if m := re.fullmatch(r"(\d+)\s*(秒|分钟|小时)前", s):
        unit = {"秒": "seconds", "分钟": "minutes", "小时": "hours"}[m[2]]
        return now - timedelta(**{unit: int(m[1])})
    if m := re.fullmatch(r"(今天|昨天)\s*(\d{1,2}):(\d{2})", s):
        day = now - timedelta(days=1 if m[1] == "昨天" else 0)
        return day.replace(hour=int(m[2]), minute=int(m[3]), second=0, microsecond=0)
    for fmt in ("%Y-%m-%d", "%m-%d"):
        try:
            t = datetime.strptime(s, fmt)
        except ValueError:
            continue
        return t.replace(year=t.year if fmt.startswith("%Y") else now.year, tzinfo=CN_TZ)
    return None


class WeiboSpider(PlatformSpider):
    """Searches m.weibo.cn; follows ``cardlistInfo.page`` to the last page; fetches long texts."""

    name = "weibo"
    html_text = True
    custom_settings = {"HTTPERROR_ALLOWED_CODES": [418, 403, 432]}
    search_type = "all"  # -a search_type=realtime for the newest posts first (see SEARCH_TYPES)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.search_type not in SEARCH_TYPES:
            raise ValueError(f"search_type must be one of {', '.join(SEARCH_TYPES)}, not {self.search_type!r}")

    def search_request(self, keyword: str, page: int = 1) -> Request:
        containerid = f"100103type={SEARCH_TYPES[self.search_type]}&q={keyword}"
        query = urlencode({"containerid": containerid, "page_type": "searchall", "page": page})
        return Request(
            f"{self.cfg.origin}/api/container/getIndex?{query}",
            callback=self.parse_search,
            cb_kwargs={"keyword": keyword, "page": page},
            headers={"Accept": "application/json, text/plain, */*", "X-Requested-With": "XMLHttpRequest",
                     "MWeibo-Pwa": "1", "Referer": f"{self.cfg.origin}/search?containerid={containerid}"},
        )

    def parse_search(self, response: Response, keyword: str, page: int) -> Iterator[Any]:
        if response.status in (418, 403, 432):
            yield self.refused(f"http-{response.status}", response)
            return
        if "/signin/login" in response.url or "passport.weibo" in response.url:
            yield self.refused("login-wall", response)
            return
        data = self.load_json(response)
        if data is None:
            if retry := self.retry(response.request, "malformed_json"):
                yield retry
            return
        self.count("pages")
        if data.get("ok") != 1:
            self.count("end_of_results")  # "这里还没有内容": past the last page, or nothing found
            return
        listed: list[str] = []
        for mblog in self.mblogs(traverse(data, "data", "cards", expected=list) or []):
            if mblog.get("deleted") == "1" or traverse(mblog, "visible", "type") == 10:
                self.count("deleted")
                continue
            listed.append(post_id := str(mblog.get("id") or mblog.get("mid") or ""))
            if not self.is_due(post_id, keyword):
                continue
            if mblog.get("isLongText"):
                yield Request(
                    f"{self.cfg.origin}/statuses/extend?id={mblog.get('id')}",
                    callback=self.parse_long_text,
                    cb_kwargs={"mblog": mblog, "keyword": keyword},
                    headers={"Accept": "application/json"},
                )
            else:
                yield self.post(mblog, keyword)
        next_page = as_int(traverse(data, "data", "cardlistInfo", "page"))
        if next_page and next_page > page and next_page <= self.cfg.max_pages:
            if self.keep_paging(keyword, listed):
                yield self.search_request(keyword, next_page)
        elif next_page:
            self.count("max_pages_reached")
        else:
            self.count("end_of_results")

    @staticmethod
    def mblogs(cards: list[Any]) -> Iterator[dict[str, Any]]:
        """Posts are ``card_type == 9`` cards, at the top level or inside ``card_group`` blocks."""
        for card in cards:
            if not isinstance(card, dict):
                continue
            if card.get("card_type") in (9, "9") and isinstance(card.get("mblog"), dict):
                yield card["mblog"]
            yield from WeiboSpider.mblogs(traverse(card, "card_group", expected=list) or [])

    def parse_long_text(self, response: Response, mblog: dict[str, Any], keyword: str) -> Iterator[Any]:
        data = self.load_json(response)
        full = traverse(data, "data", "longTextContent", expected=str)
        if full:
            mblog = {**mblog, "text": full, "isLongText": False}
        else:
            self.count("long_text_missing")  # keep the truncated text rather than lose the post
        yield self.post(mblog, keyword)

    def post(self, mblog: dict[str, Any], keyword: str) -> AdPost:
        post_id = mblog.get("id") or mblog.get("mid") or mblog.get("idstr")
        user_id = traverse(mblog, "user", "id")
        page_info = traverse(mblog, "page_info", expected=dict) or {}
        video = traverse(page_info, "media_info", "mp4_hd_url") or traverse(page_info, "media_info", "stream_url")
        return self.make_post(
            post_id,
            f"{self.cfg.origin}/detail/{post_id}",
            author=self.make_author(user_id, traverse(mblog, "user", "screen_name"),
                                    f"{self.cfg.origin}/u/{user_id}" if user_id else None),
            text=mblog.get("text") or "",
            image_urls=[u for p in traverse(mblog, "pics", expected=list) or []
                        if (u := traverse(p, "large", "url") or traverse(p, "url"))],
            video_url=video if page_info.get("type") == "video" else None,
            cover_url=traverse(page_info, "page_pic", "url") if page_info.get("type") == "video" else None,
            published_at=parse_created_at(mblog.get("created_at")),
            engagement=counts(likes=mblog.get("attitudes_count"), comments=mblog.get("comments_count"),
                              shares=mblog.get("reposts_count")),
            keyword=keyword,
            raw=mblog,
        )
