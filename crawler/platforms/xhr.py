"""The API answers a browser page receives: one log per page, and how many of its API requests are still in flight.

Searches (:mod:`crawler.platforms.browser`) and follow-up pages (:mod:`crawler.platforms.followup_pages`) both read
what the platform's own page script fetched, so both wait by one rule: an answer the page is still waiting for (its
API request sent, not answered) is awaited up to ``DOWNLOAD_TIMEOUT``, however slow a loaded machine makes it; only a
page with nothing in flight for its patience (a few ``ADWATCH_PLAYWRIGHT_IDLE_SECONDS``) has nothing more to give.
A wall-clock limit alone took a slow answer for a missing one: lost search pages, posts stored without comments.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Self

from playwright.async_api import Page
from playwright.async_api import Request as PageRequest
from playwright.async_api import Response as PageResponse
from scrapy.crawler import Crawler

# How often a wait looks at the page again: to count idle time, and to nudge it (a search scrolls to its end again:
# a scroll that came while the page script was still busy with the last answer loads nothing, as for a reader).
WAIT_STEP_SECONDS = 0.5


@dataclass(frozen=True)
class XhrAnswer:
    """One API answer the page received."""

    url: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names, as Playwright gives them
    body: str = ""


class XhrLog:
    """The API answers one browser page received, in order, with a wake-up for the next one, and how many of its
    API requests are still waiting for their answer."""

    def __init__(self) -> None:
        self.answers: asyncio.Queue[XhrAnswer] = asyncio.Queue()
        self.in_flight = 0

    async def next(self, timeout: float) -> XhrAnswer | None:
        try:
            return await asyncio.wait_for(self.answers.get(), timeout)
        except TimeoutError:
            return None

    async def wait(self, patience: float, timeout: float,
                   nudge: Callable[[], Awaitable[Any]] | None = None) -> XhrAnswer | None:
        """The next answer, or None once the page had nothing in flight for ``patience`` seconds or an answer it
        waits for took longer than ``timeout``; ``nudge`` (a scroll) is called while nothing is in flight."""
        idle = waited = 0.0
        while idle < patience and waited < timeout:
            if nudge is not None and not self.in_flight:
                await nudge()
            step = min(WAIT_STEP_SECONDS, patience - idle)
            if (answer := await self.next(step)) is not None:
                return answer
            waited += step
            if not self.in_flight:  # time spent waiting for an answer on its way is not idleness
                idle += step
        # An answer that landed as the last wait timed out (its request no longer in flight) is not lost to a stall.
        return None if self.answers.empty() else self.answers.get_nowait()


class XhrPages:
    """Mixin for a spider reading its browser pages' API answers: one :class:`XhrLog` per page, fed by the page's
    ``request`` / ``requestfailed`` / ``response`` events (the subclass's handlers, named in the request's meta so it
    stays serialisable, call :meth:`xhr_sent`, :meth:`xhr_failed` and :meth:`xhr_answered` with the API paths they
    record)."""

    answer_timeout: float = 180.0  # DOWNLOAD_TIMEOUT: the longest wait for an answer the page is waiting for

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)  # type: ignore[misc]
        spider.answer_timeout = crawler.settings.getfloat("DOWNLOAD_TIMEOUT", cls.answer_timeout)
        return spider

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._xhr: dict[Page, XhrLog] = {}

    def xhr_log(self, page: Page) -> XhrLog:
        return self._xhr.setdefault(page, XhrLog())

    def xhr_sent(self, request: PageRequest, paths: tuple[str, ...]) -> None:
        # Synchronous, so the count is up before the answer can arrive.
        if any(path in request.url for path in paths):
            self.xhr_log(request.frame.page).in_flight += 1

    def xhr_failed(self, request: PageRequest, paths: tuple[str, ...]) -> None:
        # No answer will come (a page script retries by itself, as a new request).
        if any(path in request.url for path in paths):
            log = self.xhr_log(request.frame.page)
            log.in_flight = max(0, log.in_flight - 1)

    async def xhr_answered(self, response: PageResponse, paths: tuple[str, ...]) -> None:
        if not any(path in response.url for path in paths):
            return
        log = self.xhr_log(response.frame.page)  # before the await: a page released meanwhile gets no new log
        if not 300 <= response.status < 400:  # a redirect's answer is the one it leads to (e.g. a captcha page)
            try:
                body = await response.text()
            except Exception:  # the page navigated away or the body was cut: an empty body is counted by the caller
                body = ""
            log.answers.put_nowait(XhrAnswer(response.url, response.status, dict(response.headers), body))
        # Only now: an answer whose body is still being read is still on its way.
        log.in_flight = max(0, log.in_flight - 1)

    async def release(self, page: Page) -> None:
        """Close the page and forget its log."""
        await page.close()
        self._xhr.pop(page, None)  # after the close: a late event would otherwise make a new log for the page
