"""What every platform spider shares: origin from settings, keywords from a watchlist, the refusal policy and
the incremental-sweep hooks."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Self

import scrapy
import yaml
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.http import Request, Response

from crawler.incremental import Incremental
from crawler.items import AdPost, Author, PostGone
from crawler.sessions.policy import RETRIED_META, RefusalPolicy
from crawler.sessions.pool import SessionPool
from crawler.sessions.specs import SessionsConfig
from crawler.utils import CN_TZ

def load_keywords(platform: str, watchlist: str | Path | None, keywords: str | list[str] | None) -> list[str]:
    """Keywords for ``platform``: ``-a keywords=a,b`` wins; else the watchlist's platform list, else its global one."""
    if keywords:
        items = keywords.split(",") if isinstance(keywords, str) else list(keywords)
        return [k.strip() for k in items if k.strip()]
    if not watchlist:
        return []
    with Path(watchlist).open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    platforms = data.get("platforms") or {}
    if platforms and platform not in platforms:
        return []
    own = (platforms.get(platform) or {}).get("keywords")
    return [str(k) for k in (own or data.get("keywords") or [])]


@dataclass(frozen=True)
class SpiderConfig:
    """Everything a platform spider reads from settings and arguments, read once."""

    origin: str
    hosts: dict[str, str]  # role -> origin of the platform's other hosts (PLATFORM_HOSTS)
    keywords: tuple[str, ...]
    max_pages: int
    idle_seconds: float


class PlatformSpider(scrapy.Spider):
    """Base of the platform spiders.

    A subclass sets ``name`` (the platform), implements :meth:`search_request` and its callbacks, and builds
    items with :meth:`make_post`. The origin comes from ``PLATFORM_ORIGINS[name]``, so the same spider runs
    against the real site or the simulator. When the platform shows a captcha, a login wall or a ban, the
    callback hands the response to :meth:`refused`, the one entry point of the refusal policy: it answers with
    the request to send again (on another session, after a back-off), or stops this platform only after N
    refusals in a row (one clear log line); other platforms carry on.

    Incremental sweeps: a callback asks :meth:`is_due` before it spends anything on a listed post (a detail
    request, the item itself) and :meth:`keep_paging` before it asks for the next result page.
    """

    name: ClassVar[str]
    # Links to single posts this platform owns (``scrapy add-url`` routes a link by them): regexes matched with
    # ``re.fullmatch`` against the whole URL, with a named group ``id``; no two spiders may claim the same URL.
    url_patterns: ClassVar[tuple[str, ...]] = ()
    # The hosts its post and share links live on (a link there that no pattern claims is followed through its
    # redirects), and example links with the id each must give (one generic test walks them all).
    link_hosts: ClassVar[tuple[str, ...]] = ()
    url_examples: ClassVar[tuple[tuple[str, str], ...]] = ()
    # Whether the platform's post text is HTML (Weibo) rather than plain text (Douyin): plain text is evidence
    # as written, so a literal "<script>" in it must survive normalisation (and be escaped in reports).
    html_text: ClassVar[bool] = False
    cfg: SpiderConfig
    refusals: RefusalPolicy
    incremental: Incremental
    _blocked: str | None = None
    _warned: frozenset[str] = frozenset()

    def __init__(self, *args: Any, keywords: str | None = None, watchlist: str | None = None,
                 max_pages: str | int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._keywords_arg = keywords
        self._watchlist_arg = watchlist
        self._max_pages_arg = max_pages

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        s = crawler.settings
        origin = s.getdict("PLATFORM_ORIGINS").get(cls.name)
        if not origin:
            raise ValueError(f"PLATFORM_ORIGINS has no origin for {cls.name!r}: add one to crawler/settings.py")
        real = s.getdict("PLATFORM_REAL_ORIGINS").get(cls.name)
        hosts = dict(s.getdict("PLATFORM_HOSTS").get(cls.name) or {})
        if real and origin.rstrip("/") != real:  # pointed elsewhere (the simulator): so are its other hosts
            hosts = {role: origin.rstrip("/") for role in hosts}
        spider.cfg = SpiderConfig(
            origin=origin.rstrip("/"),
            hosts=hosts,
            keywords=tuple(load_keywords(cls.name, spider._watchlist_arg or s.get("ADWATCH_WATCHLIST"), spider._keywords_arg)),
            max_pages=int(spider._max_pages_arg or s.getint("ADWATCH_MAX_PAGES", 50)),
            idle_seconds=s.getfloat("ADWATCH_PLAYWRIGHT_IDLE_SECONDS", 3.0),
        )
        sessions = SessionsConfig.from_settings(s)
        spider.refusals = RefusalPolicy(spider, SessionPool(cls.name, sessions.specs(cls.name), sessions, spider.count))
        spider.incremental = Incremental.from_settings(cls.name, s, spider.count)
        crawler.signals.connect(spider._finish_incremental, signal=signals.spider_closed)
        return spider

    def _finish_incremental(self, spider: scrapy.Spider, reason: str) -> None:
        if spider is self:
            self.incremental.finish(self.cfg.keywords, reason)

    async def start(self):  # type: ignore[override]
        if not self.cfg.keywords:
            self.logger.warning("%s: no keywords (watchlist or -a keywords=…); nothing to search", self.name)
        for keyword in self.cfg.keywords:
            yield self.search_request(keyword)

    def search_request(self, keyword: str, page: int = 1) -> Request:
        raise NotImplementedError

    def post_request(self, post_id: str) -> Request:
        """A request for one post by its id (add-url, re-check of a filed post).

        Its callback yields the post as an :class:`~crawler.items.AdPost`, or a :class:`~crawler.items.PostGone`
        when the platform says the post is deleted, private or never existed.
        """
        raise NotImplementedError(f"{self.name}: fetching a single post is not supported yet")

    # --- follow-ups: comments and the author's profile (crawler/followups.py) ----------------------------
    def comments_request(self, post: AdPost) -> Request | None:
        """The first page of ``post``'s comments, or None when this platform has none to offer (yet).

        Its callback returns a :class:`~crawler.followups.CommentPage`, a Request to send instead (a retry, or
        what ``refused()`` answers) or None; the follow-up stage sends it, not the scheduler.
        """
        return None

    def profile_request(self, post: AdPost) -> Request | None:
        """The profile of ``post``'s author (bio, verification, followers), or None when not supported (yet).

        Its callback returns a :class:`~crawler.followups.Profile`, a Request to send next, or None.
        """
        return None

    def gone(self, post_id: Any, url: str, reason: str) -> PostGone:
        """The platform answered that this post is no longer there (deleted, private, not found)."""
        self.count(f"gone/{reason}")
        return PostGone(platform=self.name, post_id=str(post_id), url=url, reason=reason,
                        checked_at=datetime.now(CN_TZ))

    def log(self, message: Any, level: int = logging.DEBUG, **kw: Any) -> None:
        """``Spider.log`` without Scrapy's deprecation warning: Spidermon's runner still calls it on every spider."""
        self.logger.log(level, message, **kw)

    # --- helpers for subclasses -----------------------------------------------------------------------
    def host(self, role: str) -> str:
        """The origin of one of the platform's other hosts (``api``, ``article`` …), per ``PLATFORM_HOSTS``."""
        return self.cfg.hosts.get(role) or self.cfg.origin

    def count(self, event: str, n: int = 1) -> None:
        self.crawler.stats.inc_value(f"adwatch/{self.name}/{event}", n)

    def make_post(self, post_id: Any, url: str, **fields: Any) -> AdPost:
        return AdPost(platform=self.name, post_id=str(post_id), url=url,
                      captured_at=datetime.now(CN_TZ), **fields)

    def make_author(self, id: Any, name: Any, url: str | None) -> Author:  # noqa: A002 - the platform's word
        return Author(id=str(id) if id not in (None, "") else None, name=str(name) if name else None, url=url)

    def refused(self, reason: str, response: Response) -> Request | None:
        """The platform refused ``response``'s request (captcha, 418, risk answer, login wall): the one entry point
        of the refusal policy for every spider (:mod:`crawler.sessions`).

        Returns the request to send again (the caller yields it and stops handling the response): the same
        request, on another session once this one's back-off is over (for a browser request: a new page load in
        that session's browser context). Returns None when this one request was refused too often (counted).
        Raises ``CloseSpider`` once the platform is stopped (N refusals in a row on every session); the request
        stays queued for a JOBDIR run. ``reason`` is a short stable word (``http-418``, ``captcha``,
        ``login-wall``) used in stats (``adwatch/<platform>/refused/<reason>``) and the log.
        """
        return self.refusals.refused(reason, response)

    async def prepare_session(self, session: str, request: Request) -> None:
        """Called by the session middleware once ``request`` is on ``session``, before the session's cookies go on
        it: what the session must have first (Bilibili loads its home page for the cookie its API checks).
        Nothing by default."""

    # --- incremental sweeps (crawler/incremental.py) ---------------------------------------------------------
    def is_due(self, post_id: Any, keyword: str) -> bool:
        """Whether a listed post is worth anything this run: False for a post stored recently (skip it)."""
        return self.incremental.is_due(str(post_id), keyword)

    def keep_paging(self, keyword: str, post_ids: list[Any]) -> bool:
        """Whether to read the page after one listing ``post_ids`` (every listed post, due or not, deleted ones
        left out): False once a whole page was stored by earlier runs."""
        return self.incremental.keep_paging(keyword, [str(i) for i in post_ids])

    def warn_once(self, kind: str, msg: str, *args: Any) -> None:
        """Count ``kind`` and log ``msg`` the first time only: one broken endpoint must not flood the log."""
        self.count(kind)
        if kind not in self._warned:
            self._warned = self._warned | {kind}
            self.logger.warning(msg + " (further ones are only counted in adwatch/%s/%s)", *args, self.name, kind)

    def load_json(self, response: Response) -> Any:
        """The response's JSON, or None after counting it (truncated or garbled bodies); the caller retries."""
        try:
            return json.loads(response.text)
        except (ValueError, AttributeError) as exc:
            self.warn_once("malformed", "%s: malformed JSON from %s (%s)", self.name, response.url, exc)
            return None

    def retry(self, request: Request, reason: str) -> Request | None:
        retry = get_retry_request(request, spider=self, reason=reason)
        request.meta[RETRIED_META] = True  # after the copy: its answer is no success for the refusal policy
        if retry is None:
            self.count("gave_up")
        return retry

