"""A sweep killed mid-way (SIGKILL: no clean shutdown) loses nothing it had collected; a rerun completes it."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from crawler.jobdir import MARKER, discard_if_killed
from crawler.platforms.base import load_keywords
from pipelines.store import SqliteStore
from tests.conftest import PROJECT, run_sweep
from tests.simulator.corpus import build_corpus, search


def test_killed_sweep_keeps_what_it_stored(make_simulator, tmp_path: Path) -> None:
    sim = make_simulator(latency=0.3, faults=False)
    env = {**{k: v for k, v in os.environ.items() if "proxy" not in k.lower()}, "ADWATCH_DATA_DIR": str(tmp_path)}
    cmd = [sys.executable, "-m", "scrapy", "sweep", "--origin", sim.origin_arg, "--platforms", "weibo", "--no-report",
           "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1"]
    proc = subprocess.Popen(cmd, cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = tmp_path / "adwatch.sqlite3"
    stored_before_kill = 0
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if db.exists():
                store = SqliteStore(db)
                stored_before_kill = store.count()
                store.close()
                if stored_before_kill >= 5:
                    break
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert stored_before_kill >= 5, "the sweep stored nothing before the deadline"
    corpus = [p for p in build_corpus()["weibo"] if not p.deleted]

    store = SqliteStore(db)
    after_kill = store.count()
    store.close()
    assert stored_before_kill <= after_kill < len(corpus)  # killed mid-way, and nothing committed was lost

    rerun = run_sweep(sim.origin_arg, tmp_path, "--no-report", "--platforms", "weibo")
    assert rerun.proc.returncode == 0, rerun.output[-3000:]
    store = rerun.store()
    assert store.count() == len(corpus)  # completed, one row per post
    assert rerun.stat("weibo", "adwatch/store/updated") >= after_kill


def test_jobdir_crawl_pauses_and_resumes(make_simulator, tmp_path: Path) -> None:
    """Ctrl-C a JOBDIR crawl, start it again: it carries on from its saved queue and completes."""
    sim = make_simulator(latency=0.3, faults=False)
    env = {**{k: v for k, v in os.environ.items() if "proxy" not in k.lower()}, "ADWATCH_DATA_DIR": str(tmp_path)}
    cmd = [sys.executable, "-m", "scrapy", "crawl", "weibo", "-s", f"JOBDIR={tmp_path / 'job'}",
           "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1"]
    env.update(sim.env())
    proc = subprocess.Popen(cmd, cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = tmp_path / "adwatch.sqlite3"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if db.exists() and SqliteStore(db).count() >= 15:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)  # what Ctrl-C does: finish in-flight requests, save the queue
    assert proc.wait(timeout=120) == 0
    paused_requests = sim.requests.get("/api/container/getIndex", 0)
    assert paused_requests >= 2  # so that starting over would show below as extra pages
    corpus = [p for p in build_corpus()["weibo"] if not p.deleted]
    assert 0 < SqliteStore(db).count() < len(corpus)

    resumed = subprocess.run(cmd, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert SqliteStore(db).count() == len(corpus)
    # Together the two runs asked for each result page once (give or take the one in flight at the pause):
    # the resumed run did not start over.
    posts = build_corpus()["weibo"]
    keywords = load_keywords("weibo", PROJECT / "crawler" / "watchlist.yaml", None)
    pages_once = sum(max(1, math.ceil(len(search(posts, kw)) / 10)) for kw in keywords)
    assert pages_once <= sim.requests["/api/container/getIndex"] <= pages_once + 1


def test_a_killed_jobdir_loses_its_queue_seen_file_and_state_together(tmp_path: Path) -> None:
    """The state (keywords a browser spider finished) describes the queue (their note requests): one goes, all go."""
    job = tmp_path / "job"
    (job / "requests.queue").mkdir(parents=True)
    (job / "requests.queue" / "active.json").write_text("[0]")
    (job / "requests.seen").write_text("0123abcd\n")
    (job / "spider.state").write_bytes(b"state of an older pause")
    assert not discard_if_killed(job)  # paused cleanly (no mark): everything is kept for the resume
    assert {p.name for p in job.iterdir()} == {"requests.queue", "requests.seen", "spider.state"}
    (job / MARKER).write_text("a crawl is using this JOBDIR\n")
    assert discard_if_killed(job)
    assert list(job.iterdir()) == []
