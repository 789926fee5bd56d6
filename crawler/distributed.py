"""Distributed sweeps on scrapy-redis: one request queue and one dupefilter per platform, shared by N workers.

``scrapy sweep --distributed`` *seeds* (each platform's search requests go into Redis through the same scheduler
and dupefilter the workers use) and waits; ``scrapy worker`` processes on any number of machines *join*: they
pop requests, crawl, and push what the callbacks yield back into the queue. Keys, per platform ``<p>``::

    adwatch:<p>:requests          sorted set  scrapy-redis PriorityQueue (pickled request dicts)
    adwatch:<p>:dupefilter        set         scrapy-redis RFPDupeFilter fingerprints
    adwatch:<p>:inflight:<w>      hash        lease id -> request popped by worker <w>, until it is done
    adwatch:<p>:workers           set         workers that joined; adwatch:<p>:alive:<w> expires when <w> dies
    adwatch:<p>:seeded / stopped  strings     the sweep id once seeding finished / why the platform was stopped
    adwatch:<p>:stats             hash        every worker's stats, summed when it closes
    adwatch:<p>:worker-stats      hash        worker -> its own stats (JSON): how the work was split
    adwatch:<p>:items / claims    set / hash  uids stored by some worker / uid -> worker processing it
                                              (pipelines/shared_dedup.py)

scrapy-redis alone pops a request and forgets it: a worker killed with requests in flight loses them, and their
fingerprints keep anyone else from asking again. Here a pop *moves* the request into the worker's ``inflight``
hash (one Lua script, atomic), and it leaves that hash only when it is done: its callback's output consumed and
every item from it through the pipelines (:class:`LeaseMiddleware`), its retry or redirect queued in its place,
or its download failed for good. A worker's heartbeat key expires ``ADWATCH_WORKER_TTL`` seconds after it dies;
any other worker then moves the dead one's in-flight requests back into the queue (at-least-once: a post may be
crawled twice, and is stored once, as the store and the index upsert by ``platform:post_id``).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Self

import redis
from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.settings import BaseSettings, Settings
from scrapy_redis.scheduler import Scheduler
from twisted.internet.task import LoopingCall

logger = logging.getLogger("adwatch.distributed")

LEASE = "adwatch_lease"  # request.meta key: the lease id of a request popped from the shared queue
NS = "adwatch"
# One id per process: every platform crawler of a worker process shares it.
WORKER_ID = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:4]}"

# Pop the best request and lease it to the worker in one step: a crash can never fall between the two.
_POP = """
local r = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #r == 0 then return false end
redis.call('ZREM', KEYS[1], r[1])
local id = tostring(redis.call('INCR', KEYS[3]))
redis.call('HSET', KEYS[2], id, r[1], 's' .. id, r[2])
return {id, r[1]}
"""
# Put every request leased to a (dead or departing) worker back into the queue, with its priority.
_REQUEUE = """
local all = redis.call('HGETALL', KEYS[1])
local n = 0
for i = 1, #all, 2 do
  local f = all[i]
  if string.sub(f, 1, 1) ~= 's' then
    local score = redis.call('HGET', KEYS[1], 's' .. f) or '0'
    redis.call('ZADD', KEYS[2], score, all[i + 1])
    n = n + 1
  end
end
redis.call('DEL', KEYS[1])
return n
"""


@dataclass(frozen=True)
class Keys:
    """The Redis keys of one platform (see the module docstring)."""

    platform: str

    def __getattr__(self, name: str) -> str:  # requests, dupefilter, workers, seeded, stopped, stats, items …
        if name.startswith("_"):
            raise AttributeError(name)
        return f"{NS}:{self.platform}:{name.replace('_', '-')}"

    def inflight(self, worker: str) -> str:
        return f"{NS}:{self.platform}:inflight:{worker}"

    def alive(self, worker: str) -> str:
        return f"{NS}:{self.platform}:alive:{worker}"

    @property
    def lease_counter(self) -> str:
        return f"{NS}:{self.platform}:lease-counter"


@dataclass(frozen=True)
class DistributedConfig:
    """Distributed mode's settings, read once. ``role``: "seed" (the sweep) or "worker"."""

    redis_url: str
    role: str
    worker_id: str
    ttl: float  # a worker silent this long is dead; its leases go back to the queue
    reap_every: float
    poll: float  # how often an idle worker looks at the shared queue
    prefetch: int  # requests a worker holds at once: it leaves the rest of the queue to the others

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> Self:
        role = settings.get("ADWATCH_DISTRIBUTED_ROLE") or ""
        if role not in ("seed", "worker"):
            raise NotConfigured("not a distributed crawl")
        return cls(
            redis_url=settings.get("ADWATCH_REDIS_URL") or settings.get("REDIS_URL") or "redis://127.0.0.1:6379/0",
            role=role,
            worker_id=settings.get("ADWATCH_WORKER_ID") or WORKER_ID,
            ttl=settings.getfloat("ADWATCH_WORKER_TTL", 15.0),
            reap_every=settings.getfloat("ADWATCH_REAP_SECONDS", 1.0),
            poll=settings.getfloat("ADWATCH_WORKER_POLL_SECONDS", 0.5),
            prefetch=settings.getint("ADWATCH_WORKER_PREFETCH") or settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN", 4),
        )


def distributed_settings(role: str, redis_url: str) -> dict[str, Any]:
    """What ``scrapy sweep --distributed`` (role "seed") and ``scrapy worker`` (role "worker") set on top of the
    project's settings: the shared scheduler and dupefilter, the lease middlewares, the shared dedup stages."""
    return {
        "ADWATCH_DISTRIBUTED_ROLE": role,
        "ADWATCH_WORKER_ID": WORKER_ID,
        "ADWATCH_REDIS_URL": redis_url,
        "REDIS_URL": redis_url,
        "SCHEDULER": "crawler.distributed.LeasedScheduler",
        "SCHEDULER_PERSIST": True,  # a worker closing must never clear the queue the others share
        "SCHEDULER_QUEUE_KEY": f"{NS}:%(spider)s:requests",
        "SCHEDULER_QUEUE_CLASS": "scrapy_redis.queue.PriorityQueue",
        "SCHEDULER_DUPEFILTER_KEY": f"{NS}:%(spider)s:dupefilter",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        # Outermost: sees every response's output last, every download failure last.
        "SPIDER_MIDDLEWARES": {"crawler.distributed.LeaseMiddleware": 10},
        "DOWNLOADER_MIDDLEWARES": {"crawler.distributed.LeaseMiddleware": 10},
    }


def apply(settings: Settings, role: str, redis_url: str) -> None:
    """Switch ``settings`` to distributed mode (command-line priority, merged into the component dicts)."""
    for key, value in distributed_settings(role, redis_url).items():
        if key == "ADWATCH_WORKER_ID" and settings.get(key):
            continue  # an operator's (or a test's) own name for the worker
        if isinstance(value, dict):
            settings.set(key, {**settings.getdict(key), **value}, priority="cmdline")
        else:
            settings.set(key, value, priority="cmdline")
    pipelines = dict(settings.getdict("ITEM_PIPELINES"))
    if pipelines.pop("pipelines.dedup.DedupStage", None) is not None:
        pipelines["pipelines.shared_dedup.SharedDedupStage"] = 200
        pipelines["pipelines.shared_dedup.CommitStage"] = 850
    if settings.getbool("ADWATCH_OCR_QUEUE") and pipelines.pop("pipelines.ocr.OcrStage", None) is not None:
        pipelines["pipelines.ocr_queue.QueuedOcrStage"] = 400  # OCR in `scrapy ocr-worker` processes
    settings.set("ITEM_PIPELINES", pipelines, priority="cmdline")


def connect(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=30, retry_on_timeout=True)


def requeue(server: redis.Redis, keys: Keys, worker: str) -> int:
    """Move ``worker``'s in-flight requests back into the queue; how many."""
    return int(server.eval(_REQUEUE, 2, keys.inflight(worker), keys.requests) or 0)


def ack(server: redis.Redis, keys: Keys, worker: str, lease: str) -> None:
    server.hdel(keys.inflight(worker), lease, f"s{lease}")


class LeasedScheduler(Scheduler):
    """scrapy-redis's scheduler with leases, heartbeats and a sweep that ends when every worker is done."""

    cfg: DistributedConfig
    keys: Keys

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        scheduler = super().from_crawler(crawler)
        scheduler.cfg = DistributedConfig.from_settings(crawler.settings)
        scheduler.crawler = crawler
        crawler.signals.connect(scheduler._spider_closed, signal=signals.spider_closed)
        return scheduler

    def open(self, spider: Spider) -> None:
        super().open(spider)
        self.keys = Keys(spider.name)
        self.worker = self.cfg.worker_id
        self._last_reap = 0.0
        self._stop_beat = threading.Event()
        self._pop = self.server.register_script(_POP)
        if self.cfg.role == "seed":
            return
        self.server.sadd(self.keys.workers, self.worker)
        self._beat()
        threading.Thread(target=self._beat_loop, name=f"adwatch-heartbeat-{spider.name}", daemon=True).start()
        self._nudge = LoopingCall(self._wake_engine)
        self._nudge.start(self.cfg.poll, now=False)
        logger.info("%s: worker %s joined the shared queue", spider.name, self.worker)

    # --- heartbeat (a thread: a busy reactor must not look like a dead worker) -----------------------------
    def _beat(self) -> None:
        self.server.set(self.keys.alive(self.worker), "1", px=int(self.cfg.ttl * 1000))

    def _beat_loop(self) -> None:
        while not self._stop_beat.wait(self.cfg.ttl / 3):
            try:
                self._beat()
            except redis.RedisError as exc:  # Redis away for a moment: the next beat tries again
                logger.warning("heartbeat to Redis failed: %s", exc)

    def _wake_engine(self) -> None:
        """Scrapy asks an empty scheduler again only every 5 s; on a shared queue others fill it meanwhile."""
        slot = getattr(self.crawler.engine, "_slot", None)
        if slot is not None and self.server.zcard(self.keys.requests):
            slot.nextcall.schedule()

    def reap(self) -> int:
        """Give the in-flight requests of workers whose heartbeat expired back to the queue."""
        self._last_reap = time.monotonic()
        moved = 0
        for raw in self.server.smembers(self.keys.workers):
            worker = raw.decode()
            if worker == self.worker or self.server.exists(self.keys.alive(worker)):
                continue
            n = requeue(self.server, self.keys, worker)
            self.server.srem(self.keys.workers, worker)
            moved += n
            logger.warning("%s: worker %s is gone; %d of its requests are back in the queue", self.keys.platform,
                           worker, n)
            if self.stats:
                self.stats.inc_value("adwatch/distributed/reaped_workers")
                self.stats.inc_value("adwatch/distributed/requeued", n)
        return moved

    # --- the queue ------------------------------------------------------------------------------------------
    def enqueue_request(self, request: Request) -> bool:
        lease = request.meta.pop(LEASE, None)  # a retry or redirect carries its original's lease: it replaces it
        if not request.dont_filter and self.df.request_seen(request):
            self.df.log(request, self.spider)
            if lease:
                ack(self.server, self.keys, self.worker, lease)
            return False
        pipe = self.server.pipeline()
        pipe.execute_command("ZADD", self.keys.requests, -request.priority, self.queue._encode_request(request))
        if lease:
            pipe.hdel(self.keys.inflight(self.worker), lease, f"s{lease}")
        pipe.execute()
        if self.stats:
            self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def next_request(self) -> Request | None:
        if self.cfg.role == "seed":
            return None
        if time.monotonic() - self._last_reap >= self.cfg.reap_every:
            self.reap()
        # Scrapy would take as many requests as its downloader has room for (CONCURRENT_REQUESTS), all queued
        # behind one domain's slot: hold no more than that slot can work on, the other workers take the rest.
        if self.server.hlen(self.keys.inflight(self.worker)) // 2 >= self.cfg.prefetch:
            return None
        popped = self._pop(keys=[self.keys.requests, self.keys.inflight(self.worker), self.keys.lease_counter])
        if not popped:
            return None
        lease, data = popped
        request = self.queue._decode_request(data)
        request.meta[LEASE] = lease.decode()
        if self.stats:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        return self.cfg.role == "worker" and not self.sweep_done()

    def sweep_done(self) -> bool:
        """Seeded, and nothing queued nor in flight anywhere (or the platform was stopped)."""
        if self.server.exists(self.keys.stopped):
            return True
        if not self.server.exists(self.keys.seeded) or self.server.zcard(self.keys.requests):
            return False
        if time.monotonic() - self._last_reap >= self.cfg.reap_every:
            self.reap()
        others = [w.decode() for w in self.server.smembers(self.keys.workers) if w.decode() != self.worker]
        return not any(self.server.hlen(self.keys.inflight(w)) for w in others)

    def close(self, reason: str) -> None:
        if self.cfg.role == "seed":
            return
        self._stop_beat.set()
        if self._nudge.running:
            self._nudge.stop()
        if reason.startswith("blocked:"):
            self.server.set(self.keys.stopped, reason.removeprefix("blocked:"))
        if reason == "finished":
            # Finished means the engine was idle: whatever is still leased was handled by a path without an ack.
            self.server.delete(self.keys.inflight(self.worker))
        else:  # shut down (Ctrl-C, SIGTERM) or stopped: unfinished requests go to the other workers
            requeue(self.server, self.keys, self.worker)

    def _spider_closed(self, spider: Spider, reason: str) -> None:
        """After the pipelines closed: add this worker's stats to the sweep's, then leave the worker set."""
        if self.cfg.role == "seed":
            return
        stats = dict(self.crawler.stats.get_stats()) if self.crawler.stats else {}
        pipe = self.server.pipeline()
        for key, value in stats.items():
            if isinstance(value, bool):
                continue
            if isinstance(value, int):
                pipe.hincrby(self.keys.stats, key, value)
            elif isinstance(value, float):
                pipe.hincrbyfloat(self.keys.stats, key, value)
        pipe.hset(self.keys.worker_stats, self.worker, json.dumps({**stats, "finish_reason": reason}, default=str,
                                                                   ensure_ascii=False))
        pipe.srem(self.keys.workers, self.worker)
        pipe.delete(self.keys.alive(self.worker))
        pipe.execute()


class LeaseMiddleware:
    """Acknowledges a leased request once everything it led to is safe (spider and downloader middleware).

    * a response: when the callback's output has been consumed (requests queued in Redis) and each item from it
      has left the pipelines (``item_scraped`` / ``item_dropped`` / ``item_error``);
    * a callback that raised: at once (its error is logged; asking again would raise again);
    * a download that failed for good (after the retries): at once;
    * a retry or redirect: when it is queued in its place (:meth:`LeasedScheduler.enqueue_request`).

    In the worker role it also swallows the spiders' own start requests: the sweep seeded them already.
    """

    def __init__(self, cfg: DistributedConfig, crawler: Crawler) -> None:
        self.cfg = cfg
        self.crawler = crawler
        self.server = connect(cfg.redis_url)
        self._open: dict[str, list[int]] = {}  # lease -> [items pending, output consumed (0/1)]
        self._items: dict[int, str] = {}  # id(item) -> lease

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        mw = cls(DistributedConfig.from_settings(crawler.settings), crawler)
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(mw._item_done, signal=signal)
        return mw

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        if self.cfg.role == "seed":
            async for request in start:
                yield request

    async def process_spider_output(self, response: Response, result: AsyncIterator[Any]) -> AsyncIterator[Any]:
        lease = response.request.meta.get(LEASE) if response.request is not None else None
        if not lease:
            async for out in result:
                yield out
            return
        state = self._open.setdefault(lease, [0, 0])
        try:
            async for out in result:
                if not isinstance(out, Request) and out is not None:
                    state[0] += 1
                    self._items[id(out)] = lease
                yield out
        finally:
            state[1] = 1
            self._settle(lease)

    def process_spider_exception(self, response: Response, exception: BaseException) -> None:
        if response.request is not None and (lease := response.request.meta.get(LEASE)):
            self._open.setdefault(lease, [0, 1])[1] = 1
            self._settle(lease)

    def process_exception(self, request: Request, exception: BaseException) -> None:
        if lease := request.meta.get(LEASE):
            self._ack(lease)

    def _item_done(self, item: Any, **_: Any) -> None:
        lease = self._items.pop(id(item), None)
        if lease and (state := self._open.get(lease)):
            state[0] -= 1
            self._settle(lease)

    def _settle(self, lease: str) -> None:
        state = self._open.get(lease)
        if state and state[1] and state[0] <= 0:
            del self._open[lease]
            self._ack(lease)

    def _ack(self, lease: str) -> None:
        spider = self.crawler.spider
        if spider is not None:
            ack(self.server, Keys(spider.name), self.cfg.worker_id, lease)
            self.crawler.stats.inc_value("adwatch/distributed/acked")
