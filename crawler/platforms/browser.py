"""What the spiders of script-signed platforms share: a real browser page per search, and the answers it receives.

Xiaohongshu (x-s / x-t), Kuaishou (``__NS_hxfalcon``), Douyin (``a_bogus``) and Zhihu (``x-zse-96``) sign their API
requests in the page's own script, so these spiders never call the search API themselves: they load the platform's
search page in Chromium (scrapy-playwright), record the API answers the page receives (status, headers, body), and
scroll for more. No signing code is shipped.

Resuming (``-s JOBDIR=…``): a search is one browser page whose progress cannot be queued, so search requests are never
dropped by the duplicate filter (``dont_filter``) and a keyword counts as searched only once its last page was read
(``spider.state``, saved by Scrapy at a clean pause). A crawl killed outright searches its keywords again; the store
keeps one row per post, so nothing is lost and nothing doubles (crawler/jobdir.py drops the queue and the state of a
killed crawl together: a keyword counts as searched only while the note requests it queued are kept). A search met
twice in one run (restored from the queue and asked again by ``start``) is read once: see :meth:`once`.

Incremental sweeps: a page whose listed posts were all stored by earlier runs ends the search (``keep_paging``), as
a last page does, but the keyword is not marked searched: it was not read to its end. A resumed crawl searches it
again (a page or two: what the paused run stored counts as known there) and stops again, so the keyword is not
counted as swept in full when that crawl finishes.

Waiting for answers (:mod:`crawler.platforms.xhr`, shared with follow-up pages): an answer the page is still waiting
for (its API request sent, not answered) is awaited up to ``DOWNLOAD_TIMEOUT``, however slow a loaded machine makes
it; only a page with nothing in flight for ``ADWATCH_PLAYWRIGHT_IDLE_SECONDS`` counts as stalled (its search is asked
again, each time with more patience). A wall-clock idle limit alone cut searches short under load: their last pages,
and the posts on them, were lost.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from playwright.async_api import Page
from playwright.async_api import Request as PageRequest
from playwright.async_api import Response as PageResponse
from scrapy.http import Request, Response

from crawler.platforms.base import PlatformSpider
from crawler.platforms.xhr import XhrAnswer, XhrPages
from crawler.settings import PLAYWRIGHT_DOWNLOAD_HANDLERS

__all__ = ["BrowserSearchSpider", "ResultPage", "XhrAnswer"]  # XhrAnswer: what a subclass reads


@dataclass(frozen=True)
class ResultPage:
    """What one search result page gave: what to yield (posts or requests), whether it was the last page, and the ids
    of every post it listed (due or not, deleted ones left out) for :meth:`~PlatformSpider.keep_paging`."""

    results: list[Any]
    last: bool
    listed: list[str] = field(default_factory=list)


class BrowserSearchSpider(XhrPages, PlatformSpider):
    """Base of the spiders that read a platform's search results from the answers its own page receives.

    A subclass sets ``xhr_paths`` (the API paths whose answers to record), builds its search request with
    :meth:`browser_request` (callback :meth:`parse_search`) and says what an answer means: :meth:`refusal` (the
    platform refused us: handed to ``refused()``) and :meth:`read_page` (what one result page yields, and whether it
    was the last).
    """

    custom_settings: ClassVar[dict[str, Any]] = {"DOWNLOAD_HANDLERS": PLAYWRIGHT_DOWNLOAD_HANDLERS}
    xhr_paths: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._requested: set[str] = set()  # detail pages asked for in this run (posts found under several keywords)

    async def start(self):  # type: ignore[override]
        searched = set(self.searched_keywords())
        if searched:
            self.logger.info("%s: resuming; %d keyword(s) already searched", self.name, len(searched))
        async for request in super().start():
            if request.cb_kwargs.get("keyword") in searched:
                self.count("resume/skipped_keyword")
                continue
            yield request

    def browser_request(self, url: str, callback: Callable[..., Any], **cb_kwargs: Any) -> Request:
        return Request(
            url,
            callback=callback,
            errback=self.close_page,
            cb_kwargs=cb_kwargs,
            dont_filter=True,  # see the module docstring: a search is re-run unless it was finished
            meta={
                "playwright": True,
                "playwright_include_page": True,
                # By name (not a bound method) so the request stays serialisable for JOBDIR.
                "playwright_page_event_handlers": {"request": "on_page_request", "requestfailed": "on_page_failed",
                                                   "response": "on_page_response"},
            },
        )

    def once(self, key: str) -> bool:
        """True the first time ``key`` (a post id, a keyword's search) is met in this run: each is read once."""
        if key in self._requested:
            self.count("already_requested")
            return False
        self._requested.add(key)
        return True

    # --- what a subclass says about its platform's answers ------------------------------------------------
    def page_refusal(self, response: Response) -> str | None:
        """The reason the search page itself was refused (sent to a captcha or a login), or None."""
        return None

    def refusal(self, answer: XhrAnswer, data: Any) -> str | None:
        """The reason this API answer is a refusal (``data``: its JSON, None if it has none), or None."""
        return None

    def read_page(self, data: Any, keyword: str) -> ResultPage | None:
        """What one result page yields (posts or requests, only for posts that are due: ``is_due``), whether it was
        the last, and what it listed; None for an answer that ends the search without results (counted and logged by
        the subclass)."""
        raise NotImplementedError

    # --- the search loop -------------------------------------------------------------------------------
    async def parse_search(self, response: Response, keyword: str) -> AsyncIterator[Any]:
        page: Page = response.meta["playwright_page"]
        pages, more = 0, False
        try:
            if not self.once(f"search:{keyword}"):
                return
            if reason := self.page_refusal(response):
                yield self.refused_search(reason, response, keyword)
                return
            # A search asked again after a stall waits longer for its page: the machine may just be slow.
            patience = self.cfg.idle_seconds * 2 ** response.request.meta.get("retry_times", 0)
            while True:
                answer = await self.next_answer(page, scroll=more, patience=patience)
                if answer is None:
                    # Nothing came (an overloaded machine, a page script that hung): what we have is kept and the
                    # search is asked again (its posts already produced are skipped by once()).
                    self.count("stalled")
                    if retry := self.retry_search(response.request, keyword):
                        yield retry
                    break
                try:
                    data = json.loads(answer.body)
                except ValueError:
                    data = None
                if reason := self.refusal(answer, data):
                    yield self.refused_search(reason, response, keyword)
                    return
                if data is None:
                    # The page script retries by itself; its retry is the next answer. An empty body is what an
                    # unsigned (or silently refused) request gets: counted apart, it says the page's signing failed.
                    kind = "malformed" if answer.body.strip() else "empty_response"
                    self.warn_once(kind, "%s: %s search answer for %r (the page retries)", self.name,
                                   kind.replace("_response", ""), keyword)
                    more = False
                    continue
                outcome = self.read_page(data, keyword)
                if outcome is None:
                    break
                pages += 1
                self.count("pages")
                for result in outcome.results:
                    yield result
                if outcome.last or pages >= self.cfg.max_pages:
                    self.count("end_of_results" if outcome.last else "max_pages_reached")
                    self.mark_searched(keyword)
                    break
                if not self.keep_paging(keyword, outcome.listed):
                    break  # not marked searched: see the module docstring
                more = True
        finally:
            await self.release(page)

    def refused_search(self, reason: str, response: Response, keyword: str) -> Request | None:
        """The refusal policy's answer for a refused search; its retry must be read (once() forgets the search)."""
        self._requested.discard(f"search:{keyword}")
        return self.refused(reason, response)

    def retry_search(self, request: Request, keyword: str) -> Request | None:
        self._requested.discard(f"search:{keyword}")
        retry = self.retry(request, "stalled")
        if retry is not None:
            retry.meta.pop("playwright_page", None)  # a new page: this one is closed when the callback ends
        return retry

    # --- the page's API answers (crawler/platforms/xhr.py) ----------------------------------------------
    def on_page_request(self, request: PageRequest) -> None:
        self.xhr_sent(request, self.xhr_paths)

    def on_page_failed(self, request: PageRequest) -> None:
        self.xhr_failed(request, self.xhr_paths)

    async def on_page_response(self, response: PageResponse) -> None:
        await self.xhr_answered(response, self.xhr_paths)

    async def next_answer(self, page: Page, scroll: bool, patience: float | None = None) -> XhrAnswer | None:
        """The next API answer the page receives, or None once the page had nothing in flight for ``patience``
        seconds (``idle_seconds`` by default) or an answer it waits for took longer than ``DOWNLOAD_TIMEOUT``.

        With ``scroll``, the page is scrolled to its end (and again while nothing is in flight) to make it load the
        next result page; without, the answer is one the page is already fetching (its first page, its own retry).
        """
        async def to_the_end() -> None:
            await page.evaluate("window.scrollTo(0, document.body.scrollHeight)")

        return await self.xhr_log(page).wait(self.cfg.idle_seconds if patience is None else patience,
                                             self.answer_timeout, nudge=to_the_end if scroll else None)

    async def close_page(self, failure: Any) -> None:
        page = failure.request.meta.get("playwright_page")
        if page is not None:
            await self.release(page)

    # --- resuming --------------------------------------------------------------------------------------
    def searched_keywords(self) -> list[str]:
        state = getattr(self, "state", None)  # Scrapy's SpiderState: saved in JOBDIR at a clean close only
        return list(state.get("searched", [])) if isinstance(state, dict) else []

    def mark_searched(self, keyword: str) -> None:
        state = getattr(self, "state", None)
        if isinstance(state, dict):
            state.setdefault("searched", []).append(keyword)
