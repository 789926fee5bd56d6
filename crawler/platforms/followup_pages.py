"""Follow-ups read from a browser page: load the platform's own page and keep the API answer its script receives.

Where a platform signs its comment or profile API in the page's own script (Xiaohongshu's x-s, Zhihu's x-zse-96,
Tieba's userCard ``sign``), the spider does not call that API: it loads the page that calls it (the note page, the
answer page after a click on its comment button, the user's home page) in Chromium and records the first answer of
the API path it waits for, as :mod:`crawler.platforms.browser` does for searches. No signing code is shipped.

Waiting: the page's log (:mod:`crawler.platforms.xhr`, the one searches use) counts its API requests in flight. An
answer on its way is awaited up to ``DOWNLOAD_TIMEOUT``; a page with nothing in flight for ``ANSWER_WAITS`` idle
periods gives nothing (``followup_empty``). A fixed wait took slow answers on a loaded machine for none: the post was
stored without its comments or bio.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from playwright.async_api import Page
from playwright.async_api import Request as PageRequest
from playwright.async_api import Response as PageResponse
from scrapy.http import Request, Response

from crawler.platforms.xhr import XhrAnswer, XhrPages

# Idle periods (ADWATCH_PLAYWRIGHT_IDLE_SECONDS each) with nothing in flight before the page's own API call counts as
# never coming (and the time a click on the comment button may take).
ANSWER_WAITS = 4


class FollowupPages(XhrPages):
    """Mixin for a :class:`~crawler.platforms.base.PlatformSpider` whose follow-ups come from a page's API calls.

    The subclass sets ``followup_xhr_paths`` (URL parts of the answers to record: the API path, and where the platform
    sends a refused call, e.g. its captcha page), builds the request with :meth:`followup_page` and, in the callback,
    takes the answer with ``await self.followup_answer(response)`` (which always closes the page).
    """

    followup_xhr_paths: ClassVar[tuple[str, ...]] = ()

    def followup_page(self, url: str, callback: Callable[..., Any], click: str | None = None,
                      **cb_kwargs: Any) -> Request:
        """A browser load of ``url``; ``click``: a selector to click once it is loaded (a "N 条评论" button)."""
        meta: dict[str, Any] = {
            "playwright": True,
            "playwright_include_page": True,
            # By name (not a bound method) so the request stays serialisable.
            "playwright_page_event_handlers": {"request": "on_followup_request", "requestfailed": "on_followup_failed",
                                               "response": "on_followup_response"},
        }
        if click:
            meta["adwatch_click"] = click  # clicked in followup_answer(): a missing button must not leak the page
        return Request(url, callback=callback, errback=self.close_followup_page, cb_kwargs=cb_kwargs,
                       dont_filter=True, meta=meta)

    def on_followup_request(self, request: PageRequest) -> None:
        self.xhr_sent(request, self.followup_xhr_paths)

    def on_followup_failed(self, request: PageRequest) -> None:
        self.xhr_failed(request, self.followup_xhr_paths)

    async def on_followup_response(self, response: PageResponse) -> None:
        await self.xhr_answered(response, self.followup_xhr_paths)

    async def followup_answer(self, response: Response, wait: bool = True) -> XhrAnswer | None:
        """The first recorded answer of the page ``response`` holds (None after waiting in vain, counted); the page
        is closed either way. ``wait=False`` only closes it (a page the platform refused)."""
        page: Page = response.meta["playwright_page"]
        patience = self.cfg.idle_seconds * ANSWER_WAITS  # type: ignore[attr-defined]
        try:
            if not wait:
                return None
            if click := response.meta.get("adwatch_click"):
                try:
                    await page.click(click, timeout=patience * 1000)
                except Exception:  # no such button (comments closed, a changed page): nothing will come
                    self.count("followup_no_button")  # type: ignore[attr-defined]
                    return None
            if (answer := await self.xhr_log(page).wait(patience, self.answer_timeout)) is None:
                self.count("followup_empty")  # type: ignore[attr-defined]
            return answer
        finally:
            await self.release(page)

    async def close_followup_page(self, failure: Any) -> None:
        """Errback: the page is closed whatever happened (a navigation that timed out)."""
        page = failure.request.meta.get("playwright_page")
        if page is not None:
            await self.release(page)
