"""Crawl-level extensions: the per-platform summary a sweep prints at the end."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Self

from scrapy import signals
from scrapy.crawler import Crawler

logger = logging.getLogger("adwatch.summary")


@dataclass
class PlatformSummary:
    """What one platform's crawl did, read from its stats."""

    platform: str
    seen: int
    flagged: int
    stored: int
    new: int
    duplicates: int
    malformed: int
    errors: int
    blocked: str | None
    finish_reason: str | None

    @classmethod
    def from_stats(cls, platform: str, stats: dict[str, Any]) -> Self:
        def get(key: str) -> int:
            return int(stats.get(key, 0) or 0)

        errors = sum(int(v) for k, v in stats.items() if isinstance(v, int) and (
            k.startswith("log_count/ERROR") or k.endswith("/failed")
            or k.startswith("spider_exceptions/") and k.count("/") == 1
        ))
        blocked = next((k.rsplit("/", 1)[-1] for k in stats if k.startswith(f"adwatch/{platform}/blocked/")), None)
        return cls(
            platform=platform,
            # Posts the spider produced: what dedup saw, or (with pipelines switched off) what Scrapy counted.
            seen=get("adwatch/dedup/unique") + get("adwatch/dedup/duplicate") or get("item_scraped_count"),
            flagged=get("adwatch/detect/flagged"),
            stored=get("adwatch/store/stored"),
            new=get("adwatch/store/new"),
            duplicates=get("adwatch/dedup/duplicate"),
            malformed=get(f"adwatch/{platform}/malformed"),
            errors=errors,
            blocked=blocked,
            finish_reason=stats.get("finish_reason"),
        )

    def line(self) -> str:
        state = f"BLOCKED ({self.blocked})" if self.blocked else (self.finish_reason or "?")
        return (f"{self.platform:<11} seen {self.seen:>5}  flagged {self.flagged:>4}  stored {self.stored:>5} "
                f"(new {self.new})  duplicates {self.duplicates:>4}  malformed {self.malformed:>3}  errors {self.errors:>3}  "
                f"{state}")


class SweepSummary:
    """Logs one summary line per platform when its crawl ends, and keeps it for the ``sweep`` command."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.summary: PlatformSummary | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_closed(self, spider: Any, reason: str) -> None:
        stats = dict(self.crawler.stats.get_stats())
        stats.setdefault("finish_reason", reason)
        self.summary = PlatformSummary.from_stats(spider.name, stats)
        logger.info("summary: %s", self.summary.line())
