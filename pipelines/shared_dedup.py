"""Dedup across the workers of a distributed sweep: a post is processed once by the whole fleet, not once per worker.

:class:`SharedDedupStage` (in place of :class:`~pipelines.dedup.DedupStage`) drops a post that this process or any
other worker already *stored* in this sweep; :class:`CommitStage` (after the store) records it as stored in the
platform's Redis set ``adwatch:<platform>:items``. A post is marked only once it is stored, so a worker killed
between the two loses nothing: the post is still unmarked and the worker that takes over its request stores it.
Two workers meeting the same post at the same moment may both process it; the store and the index upsert by
``platform:post_id``, so it is stored once either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis
from itemadapter import ItemAdapter
from scrapy.exceptions import DropItem, NotConfigured
from scrapy.settings import BaseSettings

from crawler.items import post_uid
from pipelines.base import Stage


@dataclass(frozen=True)
class SharedDedupConfig:
    redis_url: str
    namespace: str = "adwatch"


def _config(settings: BaseSettings) -> SharedDedupConfig:
    url = settings.get("ADWATCH_REDIS_URL") or settings.get("REDIS_URL")
    if not url:
        raise NotConfigured("no ADWATCH_REDIS_URL: not a distributed crawl")
    return SharedDedupConfig(redis_url=url)


class SharedDedupStage(Stage):
    """Drop a post already stored by some worker of this sweep (or seen by this process)."""

    name = "dedup"

    @classmethod
    def config_from_settings(cls, settings: BaseSettings) -> SharedDedupConfig:
        return _config(settings)

    def open_spider(self) -> None:
        self.server = redis.Redis.from_url(self.config.redis_url)
        self.seen: set[str] = set()

    def close_spider(self) -> None:
        self.server.close()

    def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        platform = adapter["platform"]
        uid = post_uid(platform, adapter["post_id"])
        if uid in self.seen or self.server.sismember(f"{self.config.namespace}:{platform}:items", uid):
            self.count("duplicate", platform=platform)
            raise DropItem(f"duplicate of {uid} already collected in this sweep", log_level="DEBUG")
        self.seen.add(uid)
        self.count("unique", platform=platform)
        return item


class CommitStage(Stage):
    """After the store: mark the post as stored for every worker of the sweep."""

    name = "commit"

    @classmethod
    def config_from_settings(cls, settings: BaseSettings) -> SharedDedupConfig:
        return _config(settings)

    def open_spider(self) -> None:
        self.server = redis.Redis.from_url(self.config.redis_url)

    def close_spider(self) -> None:
        self.server.close()

    def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        if adapter.get("post_id") is not None:
            key = f"{self.config.namespace}:{adapter['platform']}:items"
            self.server.sadd(key, post_uid(adapter["platform"], adapter["post_id"]))
        return item
