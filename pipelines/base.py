"""The shape every pipeline stage shares: built by ``from_crawler``, counting into ``adwatch/<stage>/<event>``."""

from __future__ import annotations

import logging
from typing import Any, ClassVar, Self

from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings
from scrapy.statscollectors import StatsCollector


class Stage:
    """Base class of adwatch pipeline stages.

    Subclasses set ``name``, implement ``config_from_settings`` when they need settings (raising
    ``NotConfigured`` to switch themselves off) and ``process_item``. Stats go through :meth:`count`, so
    every stage's events read ``adwatch/<name>/<event>``; :meth:`warn_once` logs a kind of failure the
    first time only, because a broken CDN can otherwise fill a log with one line per image.
    """

    name: ClassVar[str] = "stage"

    def __init__(self, stats: StatsCollector, config: Any = None, crawler: Crawler | None = None) -> None:
        self.stats = stats
        self.config = config
        self.crawler = crawler
        self.logger = logging.getLogger(f"adwatch.{self.name}")
        self._warned: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler.stats, cls.config_from_settings(crawler.settings), crawler=crawler)

    @classmethod
    def config_from_settings(cls, settings: BaseSettings) -> Any:
        return None

    def count(self, event: str, n: int = 1, platform: str | None = None) -> None:
        """Increment ``adwatch/<stage>/<event>`` (and ``…/<event>/<platform>`` when given)."""
        self.stats.inc_value(f"adwatch/{self.name}/{event}", n)
        if platform:
            self.stats.inc_value(f"adwatch/{self.name}/{event}/{platform}", n)

    def warn_once(self, kind: str, msg: str, *args: Any) -> None:
        """Log ``msg`` at WARNING the first time ``kind`` happens in this run; later ones are only counted."""
        if kind in self._warned:
            return
        self._warned.add(kind)
        self.logger.warning(msg + " (further %s events are counted, not logged)", *args, kind)

    def open_spider(self) -> None:
        pass

    def close_spider(self) -> None:
        pass

    def process_item(self, item: Any) -> Any:
        return item
