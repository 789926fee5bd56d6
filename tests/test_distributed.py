"""Distributed sweeps: `scrapy sweep --distributed` seeds one Redis, two `scrapy worker` processes crawl it."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from crawler.distributed import Keys
from crawler.platforms.base import load_keywords
from pipelines.store import SqliteStore
from tests.conftest import PROJECT
from tests.simulator.corpus import build_corpus, search

CORPUS = [p for p in build_corpus()["weibo"] if not p.deleted]


def _env(data_dir: Path, redis_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower() and not k.startswith("ADWATCH_ES")}
    env.update({"ADWATCH_DATA_DIR": str(data_dir), "ADWATCH_REDIS_URL": redis_url, "PYTHONPATH": str(PROJECT)})
    env.update(extra)
    return env


def _start(command: str, origin: str, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "scrapy", command, "--platforms", "weibo", "--origin", origin,
           "-s", "ADWATCH_WORKER_TTL=3", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2",
           # Follow-ups (comments, profiles) share getIndex's path; the search pages are what is counted here.
           "-s", "ADWATCH_FOLLOWUPS=0", *args]
    return subprocess.Popen(cmd, cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finish(proc: subprocess.Popen[str], timeout: float = 300) -> str:
    out, _ = proc.communicate(timeout=timeout)
    return out


def _pages_once() -> int:
    keywords = load_keywords("weibo", PROJECT / "crawler" / "watchlist.yaml", None)
    posts = build_corpus()["weibo"]
    return sum(max(1, math.ceil(len(search(posts, kw)) / 10)) for kw in keywords)


def _worker_stats(redis_url: str) -> dict[str, dict]:
    client = redis.Redis.from_url(redis_url)
    try:
        return {w.decode(): json.loads(v) for w, v in client.hgetall(Keys("weibo").worker_stats).items()}
    finally:
        client.close()


def test_two_workers_share_one_sweep(make_simulator, redis_url: str, tmp_path: Path) -> None:
    sim = make_simulator(latency=0.2, faults=False, platforms=("weibo",))
    origin = sim.origin_arg
    workers = [_start("worker", origin, _env(tmp_path, redis_url), "-s", f"ADWATCH_WORKER_ID=w{i}") for i in (1, 2)]
    try:
        coordinator = subprocess.run(
            [sys.executable, "-m", "scrapy", "sweep", "--distributed", "--platforms", "weibo", "--origin", origin,
             "--no-report", "--timeout", "240"],
            cwd=PROJECT, env=_env(tmp_path, redis_url), capture_output=True, text=True, timeout=300)
        outputs = [_finish(w) for w in workers]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
    assert coordinator.returncode == 0, coordinator.stdout[-3000:] + coordinator.stderr[-3000:]
    assert all(w.returncode == 0 for w in workers), outputs
    store = SqliteStore(tmp_path / "adwatch.sqlite3")
    assert {p["uid"] for p in store.iter_posts()} == {p.uid for p in CORPUS}
    stats = _worker_stats(redis_url)
    assert set(stats) == {"w1", "w2"}
    # Stored exactly once: the fleet created each post once, whichever worker it was.
    assert sum(s.get("adwatch/store/new", 0) for s in stats.values()) == len(CORPUS)
    # Both worked: each crawled some result pages.
    pages = {w: s.get("adwatch/weibo/pages", 0) for w, s in stats.items()}
    assert all(pages.values()), pages
    # One dupefilter for the fleet: each result page was asked for once, not once per worker.
    assert sim.requests["/api/container/getIndex"] == _pages_once()
    summary = json.loads((tmp_path / "last-sweep.json").read_text())["weibo"]["stats"]
    assert summary["adwatch/store/new"] == len(CORPUS) and summary["workers"] == 2


def test_a_killed_worker_loses_nothing(make_simulator, redis_url: str, tmp_path: Path) -> None:
    sim = make_simulator(latency=0.5, faults=False, platforms=("weibo",))
    origin = sim.origin_arg
    survivor = _start("worker", origin, _env(tmp_path, redis_url), "-s", "ADWATCH_WORKER_ID=survivor")
    victim = _start("worker", origin, _env(tmp_path, redis_url), "-s", "ADWATCH_WORKER_ID=victim")
    coordinator = subprocess.Popen(
        [sys.executable, "-m", "scrapy", "sweep", "--distributed", "--platforms", "weibo", "--origin", origin,
         "--no-report", "--timeout", "240"],
        cwd=PROJECT, env=_env(tmp_path, redis_url), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    client = redis.Redis.from_url(redis_url)
    leased = 0
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and victim.poll() is None:
            leased = client.hlen(Keys("weibo").inflight("victim"))
            if leased and client.exists(Keys("weibo").seeded):
                break
            time.sleep(0.05)
        victim.send_signal(signal.SIGKILL)  # no clean shutdown: its leases stay behind in Redis
        victim.wait()
        assert leased, "the victim never held a request"
        out = _finish(coordinator)
        survivor_out = _finish(survivor)
    finally:
        client.close()
        for proc in (survivor, victim, coordinator):
            if proc.poll() is None:
                proc.kill()
    assert coordinator.returncode == 0, out[-3000:]
    assert survivor.returncode == 0, survivor_out[-3000:]
    store = SqliteStore(tmp_path / "adwatch.sqlite3")
    assert {p["uid"] for p in store.iter_posts()} == {p.uid for p in CORPUS}  # nothing lost, nothing twice
    stats = _worker_stats(redis_url)
    assert "victim" not in stats  # it never reported: it was killed
    assert stats["survivor"].get("adwatch/distributed/requeued", 0) >= 1  # the survivor took its requests over


@pytest.mark.es
def test_workers_on_separate_machines_share_the_index(make_simulator, redis_url: str, es_url: str, es_index: str,
                                                      tmp_path: Path) -> None:
    """Each worker with a store of its own (another machine): the index is the record; the sweep's store and
    reports are filled from it."""
    sim = make_simulator(latency=0.1, faults=False, platforms=("weibo",))
    es = {"ADWATCH_ES_URL": es_url, "ADWATCH_ES_INDEX": es_index}
    workers = [_start("worker", sim.origin_arg, _env(tmp_path / f"m{i}", redis_url, **es),
                      "-s", f"ADWATCH_WORKER_ID=m{i}", "-s", "ADWATCH_OCR_ENGINE=") for i in (1, 2)]
    try:
        coordinator = subprocess.run(
            [sys.executable, "-m", "scrapy", "sweep", "--distributed", "--platforms", "weibo", "--origin",
             sim.origin_arg, "--timeout", "240", "-s", "ADWATCH_CAPTURE=0", "-s", "ADWATCH_EVIDENCE_SEAL=0"],
            cwd=PROJECT, env=_env(tmp_path / "coordinator", redis_url, **es), capture_output=True, text=True,
            timeout=300)
        for w in workers:
            _finish(w)
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
    assert coordinator.returncode == 0, coordinator.stdout[-3000:] + coordinator.stderr[-3000:]
    from elasticsearch import Elasticsearch

    client = Elasticsearch(es_url)
    client.indices.refresh(index=f"{es_index}-*")
    assert client.count(index=f"{es_index}-*")["count"] == len(CORPUS)
    runs = client.search(index=f"{es_index}.runs", query={"match_all": {}})["hits"]["hits"]
    client.options(ignore_status=404).indices.delete(index=f"{es_index}.runs")
    client.close()
    assert [r["_source"]["mode"] for r in runs] == ["distributed"] and runs[0]["_source"]["new"] == len(CORPUS)
    store = SqliteStore(tmp_path / "coordinator" / "adwatch.sqlite3")
    assert store.count() == len(CORPUS)  # copied from the index: the reports are written from it
    assert store.count(flagged=True) > 0
    assert list((tmp_path / "coordinator" / "reports").rglob("*.html"))
