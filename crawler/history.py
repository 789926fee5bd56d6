"""Run history for sweeps (pipelines/history.py keeps it): the crawl extension, the distributed sweep's record, and
the copy of a distributed sweep's posts from the shared index into the coordinator's store (for its reports).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Self

from itemadapter import ItemAdapter
from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.settings import BaseSettings

from pipelines.history import KEYWORD_STAT, RunHistory, RunRecord, index_runs
from pipelines.es_client import EsConfig, make_client
from pipelines.store import SqliteStore, store_path

logger = logging.getLogger("adwatch.history")


def run_id_of(settings: BaseSettings, stats: dict[str, Any]) -> str:
    """The sweep's batch id (``ADWATCH_RUN_ID``), or for a lone ``scrapy crawl`` one made from its start time."""
    if run_id := settings.get("ADWATCH_RUN_ID"):
        return str(run_id)
    start = stats.get("start_time")
    return "crawl-" + (start.strftime("%Y%m%d-%H%M%S") if isinstance(start, datetime) else "unknown")


def record_sweep(settings: BaseSettings, run_id: str, by_platform: dict[str, dict[str, Any]],
                 mode: str = "single") -> list[RunRecord]:
    """One history row per platform, into the store and (when configured) the index. Never raises for the index."""
    records = [RunRecord.from_stats(run_id, name, stats, mode) for name, stats in by_platform.items()]
    history = RunHistory(store_path(settings))
    try:
        for rec in records:
            history.record(rec)
    finally:
        history.close()
    try:
        config = EsConfig.from_settings(settings)
    except NotConfigured:
        return records
    client = make_client(config)
    try:
        index_runs(client, config.index, records)
    except Exception as exc:  # the store has the history; the index is a copy
        logger.warning("history: could not index the run history at %s (%s)", config.safe_url, type(exc).__name__)
    finally:
        client.close()
    return records


class RunHistoryExtension:
    """Counts each keyword's results (``adwatch/history/keyword/<kw>``, 0 for a keyword that found nothing) and,
    in a single-machine sweep, records the platform's history row when its crawl closes. A distributed sweep's
    workers only count: the coordinator records the sweep once, from every worker's stats."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.role = crawler.settings.get("ADWATCH_DISTRIBUTED_ROLE") or ""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.item_seen, signal=signals.item_scraped)
        crawler.signals.connect(ext.item_seen, signal=signals.item_dropped)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Spider) -> None:
        if self.role == "worker":
            return  # the sweep knows its keywords; a worker sees only some of them
        for keyword in getattr(getattr(spider, "cfg", None), "keywords", ()):
            self.crawler.stats.set_value(KEYWORD_STAT + keyword, 0)

    def item_seen(self, item: Any, **_: Any) -> None:
        keyword = ItemAdapter(item).get("keyword") if ItemAdapter.is_item(item) else None
        if keyword:
            self.crawler.stats.inc_value(KEYWORD_STAT + str(keyword))

    def spider_closed(self, spider: Spider, reason: str) -> None:
        if self.role:
            return
        stats = dict(self.crawler.stats.get_stats())
        stats.setdefault("finish_reason", reason)
        if "finish_time" not in stats:
            stats["finish_time"] = datetime.now().astimezone().isoformat()
        try:
            record_sweep(self.crawler.settings, run_id_of(self.crawler.settings, stats), {spider.name: stats})
        except Exception as exc:  # the history must never cost a sweep its results
            logger.warning("history: could not record %s's run (%s)", spider.name, exc)


def pull_from_index(settings: BaseSettings, since: datetime) -> int:
    """Copy the posts captured since ``since`` from the shared index into the local store; how many.

    A distributed sweep's workers may run on other machines with stores of their own: the index is the record
    they share, and the coordinator renders its reports from its local store. Nothing to do without an index.
    """
    try:
        config = EsConfig.from_settings(settings)
    except NotConfigured:
        return 0
    from elasticsearch import helpers

    client = make_client(config)
    store = SqliteStore(store_path(settings))
    n = 0
    try:
        client.indices.refresh(index=f"{config.index}-*")
        query = {"query": {"range": {"captured_at": {"gte": since.isoformat()}}}}
        for hit in helpers.scan(client, index=f"{config.index}-*", query=query, size=500):
            doc = hit["_source"]
            if doc.get("platform") and doc.get("post_id") and doc.get("url"):
                store.upsert({k: v for k, v in doc.items() if k not in ("uid", "first_seen", "last_seen")})
                n += 1
    except Exception as exc:
        logger.warning("history: could not read this sweep's posts from %s (%s)", config.safe_url, exc)
    finally:
        store.close()
        client.close()
    return n
