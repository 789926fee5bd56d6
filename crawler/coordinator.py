"""The coordinator's side of a distributed sweep (``scrapy sweep --distributed``): prepare, wait, collect.

The queue itself is filled by a normal crawl in the "seed" role (crawler/distributed.py); this module clears what a
previous sweep left in Redis, marks each platform as seeded, waits until every worker is done, and reads the
stats the workers added up when they closed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import redis
from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from crawler.alerts import run_alert_suite
from crawler.distributed import Keys, apply, connect, requeue
from crawler.history import pull_from_index, record_sweep


@dataclass
class PlatformState:
    """Where one platform of a distributed sweep stands."""

    platform: str
    queued: int = 0
    in_flight: int = 0
    workers: list[str] = field(default_factory=list)
    stopped: str | None = None

    @property
    def done(self) -> bool:
        return (self.stopped is not None or (self.queued == 0 and self.in_flight == 0)) and not self.workers


class Fleet:
    """A distributed sweep of ``platforms`` seen from the coordinator."""

    def __init__(self, server: redis.Redis, platforms: list[str]) -> None:
        self.server = server
        self.platforms = platforms

    def prepare(self) -> None:
        """Start clean: the previous sweep's queue, fingerprints, stats and marks go; a dead worker's leases too.

        Workers still attached (a live heartbeat) are left alone: they simply join this sweep.
        """
        for platform in self.platforms:
            keys = Keys(platform)
            self.server.delete(keys.requests, keys.dupefilter, keys.seeded, keys.stopped, keys.stats,
                               keys.worker_stats, keys.items, keys.claims)
            for raw in self.server.smembers(keys.workers):
                worker = raw.decode()
                if not self.server.exists(keys.alive(worker)):
                    self.server.delete(keys.inflight(worker))
                    self.server.srem(keys.workers, worker)

    def mark_seeded(self, sweep_id: str) -> None:
        for platform in self.platforms:
            self.server.set(Keys(platform).seeded, sweep_id)

    def state(self, platform: str) -> PlatformState:
        keys = Keys(platform)
        workers = [w.decode() for w in self.server.smembers(keys.workers)]
        live = [w for w in workers if self.server.exists(keys.alive(w))]
        if not live:  # the live workers reap the dead; when none is left, their leases wait in the queue
            for worker in workers:
                requeue(self.server, keys, worker)
                self.server.srem(keys.workers, worker)
        stopped = self.server.get(keys.stopped)
        return PlatformState(
            platform=platform,
            queued=int(self.server.zcard(keys.requests)),
            in_flight=sum(int(self.server.hlen(keys.inflight(w))) for w in live),
            workers=live,
            stopped=stopped.decode() if stopped else None,
        )

    def wait(self, timeout: float, poll: float = 1.0,
             progress: Callable[[list[PlatformState]], None] | None = None,
             progress_every: float = 15.0) -> list[PlatformState]:
        """Block until every platform is done and its workers have reported (or ``timeout`` seconds passed)."""
        deadline = time.monotonic() + timeout
        last_progress = time.monotonic()
        while True:
            states = [self.state(p) for p in self.platforms]
            if all(s.done for s in states) or time.monotonic() >= deadline:
                return states
            if progress and time.monotonic() - last_progress >= progress_every:
                progress(states)
                last_progress = time.monotonic()
            time.sleep(poll)

    def stats(self, platform: str) -> dict[str, Any]:
        """The platform's stats summed over every worker that closed (numbers only), plus ``workers``."""
        keys = Keys(platform)
        merged: dict[str, Any] = {}
        for raw_key, raw_value in self.server.hgetall(keys.stats).items():
            text = raw_value.decode()
            merged[raw_key.decode()] = float(text) if "." in text or "e" in text else int(text)
        per_worker = self.worker_stats(platform)
        merged["workers"] = len(per_worker)
        reasons = {s.get("finish_reason") for s in per_worker.values()}
        stopped = self.server.get(keys.stopped)
        if stopped:
            merged["finish_reason"] = f"blocked:{stopped.decode()}"
        else:
            merged["finish_reason"] = "finished" if reasons <= {"finished"} else ",".join(sorted(map(str, reasons)))
        return merged

    def worker_stats(self, platform: str) -> dict[str, dict[str, Any]]:
        """Each worker's own stats, as it reported them when it closed."""
        return {w.decode(): json.loads(v) for w, v in self.server.hgetall(Keys(platform).worker_stats).items()}


class Coordinator:
    """``scrapy sweep --distributed``: seed the queue (a crawl in the "seed" role), wait for the workers, collect.

    Built before the platform crawlers are created, so they pick up the seed role's settings.
    """

    def __init__(self, settings: Settings, process: CrawlerProcess, redis_url: str, run_id: str) -> None:
        self.settings = settings
        self.url = redis_url or settings.get("ADWATCH_REDIS_URL") or "redis://127.0.0.1:6379/0"
        self.run_id = run_id
        apply(settings, "seed", self.url)
        # The seed crawl stores nothing and finds nothing: no monitors, no alerts on its empty stats.
        settings.set("SPIDERMON_ENABLED", False, priority="cmdline")
        self.server = connect(self.url)
        self.started = datetime.now(timezone.utc)
        self.platforms: list[str] = []

    def finish(self, platforms: list[str], timeout: float) -> dict[str, dict[str, Any]]:
        """After seeding: mark it done, wait for the workers, return each platform's summed stats."""
        fleet = Fleet(self.server, platforms)
        fleet.mark_seeded(self.run_id)
        print(f"adwatch: queue seeded in {self.url.split('@')[-1]}; waiting for `scrapy worker` processes",
              flush=True)

        def progress(states: list[PlatformState]) -> None:
            print("  " + "  ".join(f"{s.platform}: {s.queued} queued, {s.in_flight} in flight, "
                                   f"{len(s.workers)} workers" for s in states), flush=True)

        states = fleet.wait(timeout, progress=progress,
                            progress_every=self.settings.getfloat("ADWATCH_PROGRESS_INTERVAL", 15.0))
        finished = datetime.now(timezone.utc)
        out: dict[str, dict[str, Any]] = {}
        for state in states:
            stats = fleet.stats(state.platform)
            if not state.done:
                stats["finish_reason"] = "timeout"
            stats.setdefault("start_time", self.started.isoformat())
            stats["finish_time"] = finished.isoformat()
            stats["elapsed_time_seconds"] = (finished - self.started).total_seconds()
            out[state.platform] = stats
        record_sweep(self.settings, self.run_id, out, mode="distributed")
        for platform, stats in out.items():
            run_alert_suite(self.settings, platform, stats)
        pulled = pull_from_index(self.settings, self.started)
        if pulled:
            print(f"  {pulled} posts of this sweep copied from the shared index into the local store", flush=True)
        self.server.close()
        return out
