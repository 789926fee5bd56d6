"""What browser-driven spiders share: load the real search page in Chromium and read the XHRs it receives.

A platform whose API requests are signed by its page's own script (Zhihu's ``x-zse-96``) is searched by loading
that page with scrapy-playwright and recording the answers of its API calls; the spider scrolls for more. No
signing code is ever written here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, ClassVar

from playwright.async_api import Page
from playwright.async_api import Response as PageResponse


class XhrLog:
    """The API answers one browser page received, in order, as ``(status, body)``, with a wake-up for the next."""

    def __init__(self) -> None:
        self.bodies: asyncio.Queue[tuple[int, str]] = asyncio.Queue()

    async def next(self, timeout: float) -> tuple[int, str] | None:
        try:
            return await asyncio.wait_for(self.bodies.get(), timeout)
        except TimeoutError:
            return None


class BrowserSearch:
    """Mixin for a :class:`~crawler.platforms.base.PlatformSpider` that reads a search page's XHRs.

    The subclass sets ``xhr_path`` (the API path whose answers it wants), builds its search request with
    :meth:`browser_meta` and, in its callback, reads answers with ``await self.xhr(page).next(...)``.
    """

    xhr_path: ClassVar[str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._xhr: dict[Page, XhrLog] = {}

    @staticmethod
    def browser_meta() -> dict[str, Any]:
        return {
            "playwright": True,
            "playwright_include_page": True,
            # By name (not a bound method) so the request stays serialisable for JOBDIR.
            "playwright_page_event_handlers": {"response": "on_page_response"},
        }

    def xhr(self, page: Page) -> XhrLog:
        return self._xhr.setdefault(page, XhrLog())

    async def answers(self, page: Page, idle_seconds: float) -> AsyncIterator[tuple[int, str]]:
        """The page's API answers as they come, until none arrives for ``idle_seconds`` (counted ``stalled``)."""
        log = self.xhr(page)
        while (got := await log.next(idle_seconds)) is not None:
            yield got
        self.count("stalled")  # type: ignore[attr-defined]  # no more results arrived; what we have is kept

    async def on_page_response(self, response: PageResponse) -> None:
        if self.xhr_path not in response.url:
            return
        try:
            body = await response.text()
        except Exception:  # the page navigated away or the body was cut: an empty body is counted by the caller
            body = ""
        self.xhr(response.frame.page).bodies.put_nowait((response.status, body))

    async def release(self, page: Page) -> None:
        self._xhr.pop(page, None)
        await page.close()

    async def close_page(self, failure: Any) -> None:
        """Errback of browser requests: the page must be closed whatever happened."""
        page = failure.request.meta.get("playwright_page")
        if page is not None:
            await self.release(page)
