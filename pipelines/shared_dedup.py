"""Dedup across the workers of a distributed sweep: a post is processed once by the whole fleet, not once per worker.

:class:`SharedDedupStage` (in place of :class:`~pipelines.dedup.DedupStage`) *claims* each post for its worker
(``HSETNX adwatch:<platform>:claims uid worker``) and drops a post that is stored already (the set
``adwatch:<platform>:items``, written by :class:`CommitStage` after the store) or claimed by another worker that
is alive. A claim of a dead worker is taken over. Nothing is lost: a post dropped here is stored, or in the
hands of a live worker whose request lease covers it — if that worker dies, its request goes back to the queue
and the post is met again, its claim now void. Should two workers still process the same post (a takeover),
the store and the index upsert by ``platform:post_id``: it is stored once either way.
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
    worker: str
    namespace: str = "adwatch"


def _config(settings: BaseSettings) -> SharedDedupConfig:
    url = settings.get("ADWATCH_REDIS_URL") or settings.get("REDIS_URL")
    if not url or not settings.get("ADWATCH_DISTRIBUTED_ROLE"):
        raise NotConfigured("not a distributed crawl")
    return SharedDedupConfig(redis_url=url, worker=settings.get("ADWATCH_WORKER_ID") or "")


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
        if uid in self.seen or not self._claim(platform, uid):
            self.count("duplicate", platform=platform)
            raise DropItem(f"duplicate of {uid} already collected in this sweep", log_level="DEBUG")
        self.seen.add(uid)
        self.count("unique", platform=platform)
        return item

    def _claim(self, platform: str, uid: str) -> bool:
        """True when this worker may process the post: not stored yet, and unclaimed or claimed by the dead."""
        ns, me = f"{self.config.namespace}:{platform}", self.config.worker
        if self.server.sismember(f"{ns}:items", uid):
            return False
        if self.server.hsetnx(f"{ns}:claims", uid, me):
            return True
        owner = (self.server.hget(f"{ns}:claims", uid) or b"").decode()
        if owner == me or self.server.exists(f"{ns}:alive:{owner}"):
            return False
        self.server.hset(f"{ns}:claims", uid, me)  # its worker died: the post is ours now
        self.count("claim_taken_over", platform=platform)
        return True


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
