"""``log_count/<LEVEL>`` per platform when one process runs several crawls (``scrapy sweep``, ``scrapy worker``).

Scrapy's LogCount puts one handler per crawler on the root logger, and each counts every record: a sweep of eight
platforms would charge one platform's ERROR (its block) to all eight, and every platform's Spidermon error monitor
(``SPIDERMON_MAX_ERRORS = 0``) would then fail, logging more ERRORs that the others count in turn. Here a record
that names its spider (Scrapy's and the spiders' own log lines carry ``extra={"spider": …}``) is counted by that
spider's crawl only; a record that names none (a library's warning) is still counted by every crawl.
"""

from __future__ import annotations

import logging

from scrapy import Spider
from scrapy.extensions.logcount import LogCount


class PerSpiderLogCount(LogCount):
    """Scrapy's LogCount, counting only the records of this crawl's spider (and those of no spider)."""

    def spider_opened(self, spider: Spider) -> None:
        super().spider_opened(spider)
        if self.handler is not None:
            self.handler.addFilter(OwnRecords(spider))


class OwnRecords(logging.Filter):
    """Passes the records that name ``spider`` or no spider at all."""

    def __init__(self, spider: Spider) -> None:
        super().__init__()
        self.spider = spider

    def filter(self, record: logging.LogRecord) -> bool:
        owner = getattr(record, "spider", None)
        return owner is None or owner is self.spider
