"""Where sessions meet requests: the downloader middleware that puts each request on a session, and the spider
middleware that tells the pool which responses were handled without a refusal."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from typing import Any, Self

from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.http.cookies import CookieJar
from scrapy.http.request import NO_CALLBACK

from crawler.sessions.policy import RETRIED_META, SECRET_HEADERS, SENT_META, clean_copy, request_kind
from crawler.sessions.pool import Session, SessionPool
from crawler.sessions.specs import playwright_proxy, to_cookie

logger = logging.getLogger("adwatch.sessions")
WAIT_SLICE = 0.5  # seconds: a waiting request notices a stopped platform this quickly


def pool_of(crawler: Crawler) -> SessionPool | None:
    """The running platform spider's session pool (None for spiders without the refusal policy)."""
    policy = getattr(crawler.spider, "refusals", None)
    return getattr(policy, "pool", None)


class SessionMiddleware:
    """Puts every request of a platform spider on one of its sessions.

    Plain HTTP: the session's own cookie jar (seeded from its storage state) and its proxy (``meta["proxy"]``,
    whose credentials Scrapy's HttpProxyMiddleware turns into a header). Browser requests
    (``meta["playwright"]``): the session's own browser context (``playwright_context``), created with its
    storage state and proxy (``playwright_context_kwargs``). Before either, the spider's ``prepare_session`` hook
    gives the session what it must have first (a platform's home page cookie). A request whose session is backing
    off waits for the session (or goes to another one); once the platform is stopped it goes back to the queue.
    Cookies and proxy credentials live on a request only while it is sent: they are removed as soon as the
    answer (or the error) comes back, so no retry, redirect, queue (JOBDIR) or log line ever holds them.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self._jars: dict[str, CookieJar] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    async def process_request(self, request: Request) -> Request | None:
        pool = pool_of(self.crawler)
        if pool is None:
            return None
        from_pipeline = request.callback is NO_CALLBACK  # media downloads: on a session, never held back
        if not from_pipeline:
            session = await self._wait_for_session(pool, request)
            if session is None:  # the platform stopped while it waited: keep it for the next (JOBDIR) run
                if request.meta.get("adwatch_requeued"):
                    raise IgnoreRequest("platform stopped")
                return clean_copy(request, adwatch_requeued=True)
        else:
            session = pool.pick()[0]
        # The platform's own set-up of the session (a cookie its home page sets) before its cookies are written.
        prepare = getattr(self.crawler.spider, "prepare_session", None)
        if prepare is not None:
            await prepare(session.name, request)
        self._apply(session, request)
        request.meta[SENT_META] = pool.sent()  # which refusals it may have been in flight for (SessionPool.refused)
        return None

    async def _wait_for_session(self, pool: SessionPool, request: Request) -> Session | None:
        # A redirect stays on the session that was redirected; a session's own set-up request (a platform's home
        # page for its cookies) is pinned to it.
        keep = request.meta.get("adwatch_pin_session") or (
            request.meta.get("adwatch_session") if request.meta.get("redirect_urls") else None)
        while not pool.stopped:
            if keep and keep in pool.sessions:
                return pool.sessions[keep]
            session, wait = pool.pick(avoid=request.meta.get("adwatch_avoid"))
            if wait <= 0:
                return session
            self.crawler.stats.inc_value(f"adwatch/{pool.platform}/sessions/waits")
            while wait > 0 and not pool.stopped:
                await asyncio.sleep(min(wait, WAIT_SLICE))
                wait -= WAIT_SLICE
        return None

    def _apply(self, session: Session, request: Request) -> None:
        spec = session.spec
        request.meta["adwatch_session"] = session.name
        if request.meta.get("playwright"):
            kwargs: dict[str, Any] = {}
            if spec.state_path is not None:
                kwargs["storage_state"] = str(spec.state_path)
            if spec.proxy:
                kwargs["proxy"] = playwright_proxy(spec.proxy)
            request.meta["playwright_context"] = f"adwatch-{session.name}"
            request.meta["playwright_context_kwargs"] = kwargs
            return
        request.meta["dont_merge_cookies"] = True  # the session's jar, not Scrapy's shared one
        request.headers.pop(b"Cookie", None)
        self._jar(session).add_cookie_header(request)
        if spec.proxy:
            request.meta["proxy"] = spec.proxy

    def _jar(self, session: Session) -> CookieJar:
        jar = self._jars.get(session.name)
        if jar is None:
            jar = self._jars[session.name] = CookieJar()
            for cookie in session.spec.cookies():
                jar.set_cookie(to_cookie(cookie))
        return jar

    def process_response(self, request: Request, response: Response) -> Response:
        name = request.meta.get("adwatch_session")
        if name in self._jars and not request.meta.get("playwright"):
            self._jars[name].extract_cookies(response, request)
        strip_secrets(request)
        return response

    def process_exception(self, request: Request, exception: BaseException) -> None:
        strip_secrets(request)


def strip_secrets(request: Request) -> None:
    """Remove what only the wire may carry (cookies, proxy credentials) from a sent request."""
    for name in SECRET_HEADERS:
        request.headers.pop(name, None)
    kwargs = request.meta.get("playwright_context_kwargs")
    if kwargs:  # the context exists by now; its kwargs (proxy password) are not needed again
        request.meta["playwright_context_kwargs"] = {}


class RefusalOutcomeMiddleware:
    """Tells the session pool that a response was handled without ``refused()``: its session is fine again."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_spider_output(self, response: Response, result: Iterable[Any]) -> Iterable[Any]:
        yield from result
        self._handled(response)

    async def process_spider_output_async(self, response: Response, result: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for item in result:
            yield item
        self._handled(response)

    def _handled(self, response: Response) -> None:
        handled(self.crawler, response)


def handled(crawler: Crawler, response: Response) -> None:
    """``response`` was handled by its callback: unless that called ``refused()`` or asked for the request again
    (``retry()``), its session is fine again and the platform's count of refusals in a row of its kind of request
    starts over. Called for every callback's response, including those of requests sent outside the scheduler
    (follow-ups), which no spider middleware sees."""
    pool = pool_of(crawler)
    meta = response.meta
    # A response the spider retried (a truncated body, Bilibili's rejected signature) is no evidence either way:
    # counted a success, the first try of each refused search would wipe out the refusals of the searches before.
    if pool is not None and "adwatch_session" in meta and not ({"adwatch_refused", RETRIED_META} & meta.keys()):
        pool.succeeded(response.meta["adwatch_session"], request_kind(response.request))
