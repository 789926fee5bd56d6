"""The refusal policy behind ``PlatformSpider.refused()``: back the session off, retry the request on another
session, and stop the platform after N refusals in a row of one kind of request across all its sessions (the
request stays queued).

Nothing here knows a platform: spiders only say *that* a response was a refusal and why (``http-418``,
``captcha``, ``login-wall`` …); plain-HTTP and browser requests are retried alike (a browser retry is a new
page load, in the browser context of the session it lands on).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, NoReturn

from scrapy.exceptions import CloseSpider
from scrapy.http import Request, Response

from crawler.sessions.pool import SessionPool

if TYPE_CHECKING:
    from crawler.platforms.base import PlatformSpider

logger = logging.getLogger("adwatch.sessions")

KIND_META = "adwatch_kind"  # a spider's own name for a kind of request (else its callback's name)
SENT_META = "adwatch_sent"  # the pool's event number when the request was put on a session (SessionPool.sent)
RETRIED_META = "adwatch_retried"  # the spider asked for this request again (PlatformSpider.retry): no success
# Meta keys that belong to one attempt (its session, browser page, redirects, proxy): a retry starts clean.
ATTEMPT_META = frozenset({
    "adwatch_session", SENT_META, RETRIED_META, "adwatch_refused", "cookiejar", "dont_merge_cookies", "proxy",
    "_auth_proxy", "_scheme_proxy", "playwright_page", "playwright_context", "playwright_context_kwargs", "redirect_urls",
    "redirect_reasons", "redirect_times", "redirect_ttl", "download_slot", "download_latency", "retry_times",
})
# Headers that carry a session's secrets: set on the wire by the session middleware, never kept on a request.
SECRET_HEADERS = (b"Cookie", b"Proxy-Authorization")


def request_kind(request: Request | None) -> str:
    """The kind of ``request`` the refusal policy counts refusals in a row by: ``meta["adwatch_kind"]`` when the
    spider set one, else its callback's name (``parse_search``, ``parse_profile``; ``parse`` without one)."""
    if request is None:
        return "parse"
    kind = request.meta.get(KIND_META)
    if kind:
        return str(kind)
    return str(getattr(request.callback, "__name__", None) or "parse")


def clean_copy(request: Request, **meta: object) -> Request:
    """``request`` as it was before it was sent (first URL of a redirect chain, no session, no secrets),
    exempt from the duplicate filter (its fingerprint is already recorded), with ``meta`` added."""
    url = (request.meta.get("redirect_urls") or [request.url])[0]
    headers = request.headers.copy()
    for name in SECRET_HEADERS:
        headers.pop(name, None)
    kept = {k: v for k, v in request.meta.items() if k not in ATTEMPT_META}
    return request.replace(url=url, headers=headers, meta={**kept, **meta}, dont_filter=True, cookies={})


class RefusalPolicy:
    """One platform's policy for this run: owns its :class:`SessionPool`."""

    def __init__(self, spider: PlatformSpider, pool: SessionPool) -> None:
        self.spider = spider
        self.pool = pool
        self._gave_up_warned = False

    def refused(self, reason: str, response: Response) -> Request | None:
        """The request to send again (on another session, after its back-off), or None when this request was
        refused too often to try again; raises ``CloseSpider`` once the platform is stopped."""
        response.meta["adwatch_refused"] = reason  # the outcome middleware must not count it a success
        request = response.request
        assert request is not None
        kind, sent = request_kind(request), response.meta.get(SENT_META)
        # A request refused while it was in flight (sent before the last refusal of its kind was counted) is
        # retried but uses up no try: its refusal is the platform's answer to that moment, not to this request.
        # Still bounded: each such refusal needs a newer counted refusal of its kind, and those use up tries.
        tries = int(request.meta.get("adwatch_refusals", 0)) + (not self.pool.in_flight(kind, sent))
        session = response.meta.get("adwatch_session")
        retry = clean_copy(request, adwatch_refusals=tries, adwatch_avoid=session)
        if self.pool.refused(session, reason, kind, sent):
            self.stop(reason, response, retry)
        if tries >= self.pool.config.stop_after:
            # Refused on every try while other requests get through: this one request is given up (counted).
            self.spider.count("refusals/gave_up")
            if not self._gave_up_warned:
                self._gave_up_warned = True
                logger.warning("%s: %s refused %d times (%s); giving this request up (further ones are counted "
                               "in adwatch/%s/refusals/gave_up)", self.spider.name, request.url, tries, reason,
                               self.spider.name)
            return None
        self.spider.count("refusals/retried")
        return retry

    def stop(self, reason: str, response: Response, retry: Request) -> NoReturn:
        """Stop the platform for this run; the refused request goes back to the queue (kept by JOBDIR)."""
        spider = self.spider
        try:
            engine = spider.crawler.engine
        except RuntimeError:  # no crawl running (a parser called on its own): nothing to queue it in
            engine = None
        if engine is not None:
            engine.crawl(retry)
        if spider._blocked:
            spider.count("refused_after_block")
            raise CloseSpider(f"blocked:{spider._blocked}")
        spider._blocked = reason
        spider.count(f"blocked/{reason}")
        spider.logger.error(
            "%s: %s at %s — stopping this platform for this run after %d refusals in a row of its %s requests "
            "across its sessions (%s); what was not fetched stays queued for a JOBDIR run", spider.name, reason,
            response.url, self.pool.in_a_row.get(self.pool.stopped_kind or "", 0), self.pool.stopped_kind,
            self.pool.describe(),
        )
        raise CloseSpider(f"blocked:{reason}")
