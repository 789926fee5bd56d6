"""Weibo (mobile web): keyword search through ``/api/container/getIndex``, plain HTTP JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from scrapy.http import Request, Response

from crawler.followups import CommentPage, Profile
from crawler.items import AdPost
from crawler.platforms.base import PlatformSpider
from crawler.utils import CN_TZ, as_int, counts, traverse

# Search tabs: 1 = 综合 (all), 61 = 实时 (realtime), 60 = 热门 (hot), 64 = 视频 (video).
SEARCH_TYPES = {"all": 1, "realtime": 61, "hot": 60, "video": 64}
# The post page embeds the post as ``var $render_data = [{"status": {…}, …}][0] || {};`` (``</`` is escaped in it).


_ABSOLUTE = re.compile(r"[A-Z][a-z]{2} ([A-Z][a-z]{2}) (\d{1,2}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2}) (\d{4})")
# Texts m.weibo.cn shows in place of a reposted original that is gone.
GONE_STUBS = ("抱歉，此微博已被作者删除", "此微博已不可见", "该账号因被投诉违反法律法规", "微博不存在")
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

    @staticmethod
    def page_refusal(response: Response) -> str | None:
        """Weibo's refusals: 418 ("I'm a teapot": too many requests), 403/432, or a redirect to the login wall."""
        if response.status in (418, 403, 432):
            return f"http-{response.status}"
        if "/signin/login" in response.url or "passport.weibo" in response.url:
            return "login-wall"
        return None

    def parse_search(self, response: Response, keyword: str, page: int) -> Iterator[Any]:
        if refusal := self.page_refusal(response):
            yield self.refused(refusal, response)
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
            yield from self.reposted_original(mblog, keyword)
            if mblog.get("deleted") == "1" or traverse(mblog, "visible", "type") == 10:
                self.count("deleted")
                continue
            listed.append(post_id := str(mblog.get("id") or mblog.get("mid") or ""))
            if not self.is_due(post_id, keyword):
                continue
            if mblog.get("isLongText"):
                yield self.long_text_request(mblog, keyword)
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

    def long_text_request(self, mblog: dict[str, Any], keyword: str) -> Request:
        return Request(
            f"{self.cfg.origin}/statuses/extend?id={mblog.get('id')}",
            callback=self.parse_long_text,
            cb_kwargs={"mblog": mblog, "keyword": keyword},
            headers={"Accept": "application/json"},
        )

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
            # A gone original is never stored: the link to it stays in the archived raw payload only.
            reposted_from=None if self.original_gone(traverse(mblog, "retweeted_status", expected=dict) or {})
            else self.reposted_uid(mblog),
        )

    # --- reposts: the content sits in ``retweeted_status``, the repost says "捞" ----------------------------
    _originals: frozenset[str] = frozenset()

    @staticmethod
    def reposted_uid(mblog: dict[str, Any]) -> str | None:
        original_id = traverse(mblog, "retweeted_status", "id") or traverse(mblog, "retweeted_status", "idstr")
        return f"weibo:{original_id}" if original_id not in (None, "") else None

    @staticmethod
    def original_gone(original: dict[str, Any]) -> bool:
        """A deleted or hidden original: ``user`` null and a stub text instead of the post."""
        text = str(original.get("text") or "")
        return (original.get("user") is None or original.get("deleted") == "1"
                or any(stub in text for stub in GONE_STUBS))

    def reposted_original(self, mblog: dict[str, Any], keyword: str) -> Iterator[Any]:
        """The original a repost points at, once per run, as a post of its own (its long text fetched)."""
        original = traverse(mblog, "retweeted_status", expected=dict)
        uid = self.reposted_uid(mblog)
        if original is None or uid is None or uid in self._originals:
            return
        self._originals = self._originals | {uid}
        if self.original_gone(original):
            self.warn_once("repost_original_gone", "weibo: reposted original %s is deleted or hidden; the repost "
                           "is kept, the original is not stored", uid)  # counts it too
            return
        if not self.is_due(uid.partition(":")[2], keyword):  # stored by an earlier run, like any listed post
            return
        self.count("repost_originals")
        if original.get("isLongText"):
            yield self.long_text_request(original, keyword)
        else:
            yield self.post(original, keyword)


    # --- single posts (scrapy add-url) ----------------------------------------------------------------------
    url_patterns = (
        r"https?://m\.weibo\.cn/(?:detail|status|\d+)/(?P<id>\d{16}|[A-Za-z0-9]{9})/?(?:[?#].*)?",
        r"https?://(?:www\.)?weibo\.com/(?:detail|\d+)/(?P<id>\d{16}|[A-Za-z0-9]{9})/?(?:[?#].*)?",
    )
    # t.cn: Weibo's short links (followed through their redirects).
    link_hosts = ("m.weibo.cn", "weibo.com", "www.weibo.com", "t.cn")
    url_examples = (
        ("https://m.weibo.cn/detail/4890123456789012", "4890123456789012"),
        ("https://m.weibo.cn/status/O9xYzAbCd?sourceType=weixin&from=10E1195010", "O9xYzAbCd"),
        ("https://weibo.com/1234567890/O9xYzAbCd", "O9xYzAbCd"),
        ("https://m.weibo.cn/1234567890/4890123456789012", "4890123456789012"),
    )

    def post_request(self, post_id: str) -> Request:
        """The post's page, whose ``$render_data`` script holds the mblog (bid or numeric id both work)."""
        return Request(f"{self.cfg.origin}/detail/{post_id}", callback=self.parse_detail,
                       cb_kwargs={"post_id": post_id}, meta={"handle_httpstatus_list": [404]},
                       dont_filter=True)  # a re-check asks for the same page again, by design


    def parse_detail(self, response: Response, post_id: str) -> Iterator[Any]:
        if reason := self.page_refusal(response):
            yield self.refused(reason, response)
            return
        m = re.search(r"\$render_data\s*=\s*(\[.*?\])\[0\]", response.text, re.S)
        try:
            mblog = traverse(json.loads(m[1]), 0, "status", expected=dict) if m else None
        except ValueError:
            mblog = None
        if mblog is None or mblog.get("deleted") == "1" or traverse(mblog, "visible", "type") == 10:
            if response.status == 404 or "不存在" in response.text or mblog is not None:
                yield self.gone(post_id, response.url, "deleted")
            elif retry := self.retry(response.request, "malformed_page"):
                yield retry
            return
        yield self.post(mblog, None)

    # --- follow-ups: comments (``/comments/hotflow``) and the author's profile (containerid ``100505{uid}``) ----
    def comments_request(self, post: AdPost, max_id: int | None = None) -> Request | None:
        """The hot-comment flow m.weibo.cn's post page loads: ``max_id`` / ``max_id_type`` page it."""
        params = {"id": post.post_id, "mid": post.post_id, "max_id_type": 0}
        if max_id:
            params["max_id"] = max_id
        return Request(f"{self.cfg.origin}/comments/hotflow?{urlencode(params)}", callback=self.parse_comments,
                       cb_kwargs={"post": post}, dont_filter=True,
                       headers={"Accept": "application/json, text/plain, */*", "X-Requested-With": "XMLHttpRequest",
                                "MWeibo-Pwa": "1", "Referer": f"{self.cfg.origin}/detail/{post.post_id}"})

    def parse_comments(self, response: Response, post: AdPost) -> Any:
        if refusal := self.page_refusal(response):
            return self.refused(refusal, response)
        data = self.load_json(response)
        if data is None:
            return self.retry(response.request, "malformed_json")
        if data.get("ok") != 1:  # {"ok": 0, "msg": "快来发表你的评论吧"}: no comments
            return CommentPage()
        comments = [
            {"id": str(c.get("id") or c.get("mid") or ""), "text": c.get("text") or "",
             "author": {"id": str(traverse(c, "user", "id") or ""), "name": traverse(c, "user", "screen_name")},
             "likes": as_int(c.get("like_count"), 0), "published_at": c.get("created_at")}
            for c in traverse(data, "data", "data", expected=list) or [] if isinstance(c, dict)
        ]
        max_id = as_int(traverse(data, "data", "max_id"), 0)
        return CommentPage(comments, self.comments_request(post, max_id) if max_id else None)

    def profile_request(self, post: AdPost) -> Request | None:
        uid = post.author.id
        if not uid:
            return None
        query = urlencode({"type": "uid", "value": uid, "containerid": f"100505{uid}"})
        return Request(f"{self.cfg.origin}/api/container/getIndex?{query}", callback=self.parse_profile,
                       dont_filter=True, headers={"Accept": "application/json, text/plain, */*",
                                                  "X-Requested-With": "XMLHttpRequest", "MWeibo-Pwa": "1",
                                                  "Referer": f"{self.cfg.origin}/u/{uid}"})

    def parse_profile(self, response: Response) -> Any:
        if refusal := self.page_refusal(response):
            return self.refused(refusal, response)
        data = self.load_json(response)
        if data is None:
            return self.retry(response.request, "malformed_json")
        info = traverse(data, "data", "userInfo", expected=dict)
        if data.get("ok") != 1 or info is None:
            return None  # "用户不存在"
        return Profile(bio=info.get("description") or None, verified=bool(info.get("verified")),
                       followers=wan_count(info.get("followers_count")), name=info.get("screen_name"))


def wan_count(value: Any) -> int | None:
    """Weibo's follower counts: an int, or a string such as ``"1.2万"`` / ``"3亿"`` for big accounts."""
    if isinstance(value, int):
        return value
    m = re.fullmatch(r"\s*([\d.]+)\s*(万|亿)?\s*", str(value or ""))
    if not m:
        return None
    return int(float(m[1]) * {"万": 10_000, "亿": 100_000_000}.get(m[2] or "", 1))
