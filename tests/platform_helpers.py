"""Helpers for the platform parser tests: a spider on a given origin, saved payloads wrapped as responses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scrapy.http import HtmlResponse, Request, TextResponse
from scrapy.utils.test import get_crawler

from crawler import settings

FIXTURES = Path(__file__).with_name("fixtures")


def make_spider(cls: type, origin: str, **kwargs: Any) -> Any:
    """A spider of ``cls`` whose platform is at ``origin`` (its other hosts too, as with the simulator)."""
    # The first refusal stops the platform: these tests check that a refusal is recognised and handed over, the
    # policy itself (retries on other sessions) is tested in tests/test_refusals.py.
    crawler = get_crawler(cls, {"PLATFORM_ORIGINS": {cls.name: origin}, "PLATFORM_HOSTS": settings.PLATFORM_HOSTS,
                                "PLATFORM_REAL_ORIGINS": settings.PLATFORM_REAL_ORIGINS,
                                "ADWATCH_REFUSAL_STOP_AFTER": 1})
    crawler.spider = crawler._create_spider(keywords="停息挂账", **kwargs)
    return crawler.spider


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def response(request: Request, body: str, status: int = 200, url: str | None = None,
             html: bool = True) -> TextResponse:
    """``body`` as the answer to ``request`` (at ``url`` when a redirect led elsewhere)."""
    cls = HtmlResponse if html else TextResponse
    return cls(url or request.url, body=body.encode("utf-8"), status=status, request=request, encoding="utf-8")


def stat(spider: Any, key: str) -> Any:
    return spider.crawler.stats.get_value(f"adwatch/{spider.name}/{key}")
