"""End to end for Xiaohongshu and Kuaishou: real ``scrapy sweep`` runs (Chromium driving the simulator's search pages),
checked in the store, the Elasticsearch index and the takedown requests; their refusal states; a SIGKILL'd JOBDIR crawl.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crawler.settings import ADWATCH_REFUSAL_STOP_AFTER
from pipelines.detection import Detector
from pipelines.store import SqliteStore
from tests.conftest import PROJECT, SharedSweep, SweepRun
from tests.es_fixtures import assert_index_counts_equal_store
from tests.simulator.corpus import EMPTY_KEYWORD, KEYWORDS, build_corpus
from tests.simulator.platforms.xiaohongshu import XiaohongshuSite

PLATFORMS = ("xiaohongshu", "kuaishou")
KINDS = {"text", "image", "video"}


@pytest.fixture
def xk_sweep(sweep_once: SharedSweep) -> SharedSweep:
    """The shared sweep of every platform (every watchlist keyword, every page, the corpus's one-time faults such
    as a truncated answer), indexed into Elasticsearch: these tests read both platforms' part of it."""
    return sweep_once


def live(platform: str) -> list:
    return [p for p in build_corpus()[platform] if not p.deleted]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_post_is_stored_exactly_once(xk_sweep: SweepRun, platform: str) -> None:
    store = xk_sweep.store()
    posts = live(platform)
    assert len(posts) > 3 * 10  # several result pages for the broad keyword
    assert store.count(platform=platform) == len(posts)
    assert all(store.get(p.uid) for p in posts)
    assert xk_sweep.stat(platform, "adwatch/dedup/duplicate") == 0  # each post produced once per run
    assert xk_sweep.stat(platform, f"adwatch/{platform}/end_of_results") == len(KEYWORDS) + 1  # + the empty one
    assert xk_sweep.stat(platform, f"adwatch/{platform}/pages") >= 4 + len(KEYWORDS) - 1
    assert xk_sweep.stats[platform]["summary"]["finish_reason"] == "finished"


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_ad_is_flagged_and_no_negative(xk_sweep: SweepRun, platform: str) -> None:
    store = xk_sweep.store()
    corpus = live(platform)
    assert {p.kind for p in corpus if p.is_ad} == KINDS
    missed = [(p.kind, p.text[:30]) for p in corpus if p.is_ad and not store.get(p.uid)["flagged"]]
    assert not missed
    flagged = [p.text[:30] for p in corpus if not p.is_ad and store.get(p.uid)["flagged"]]
    assert not flagged
    assert sum(not p.is_ad for p in corpus) > 10


@pytest.mark.parametrize("platform", PLATFORMS)
def test_pitch_found_where_it_hides(xk_sweep: SweepRun, platform: str) -> None:
    """Image-only ads from their pictures, video-only ads from their frames, with the source cited."""
    store = xk_sweep.store()
    picture = "image:" if platform == "xiaohongshu" else "cover"  # a Kuaishou picture post shows it as its cover
    for ad in (p for p in live(platform) if p.kind in ("image", "video")):
        doc = store.get(ad.uid)
        # The service claim (a service word, or an outcome such as 不良记录合法处理) is cited from the picture. (The
        # post text may flag on its own: a lure such as 有需要的朋友看图 is itself a pitch to the intent model.)
        sources = {m["source"] for m in doc["detection"]["matches"] if m["kind"] in ("category", "outcome")}
        want = picture if ad.kind == "image" else "frame:"
        assert any(s.startswith(want) for s in sources), (ad.kind, sources)


def test_xiaohongshu_pitch_only_in_the_note_text(xk_sweep: SweepRun) -> None:
    """The search card's title says nothing; the pitch is in the note page's ``desc``, which the spider read."""
    store = xk_sweep.store()
    for ad in (p for p in live("xiaohongshu") if p.kind == "text"):
        doc = store.get(ad.uid)
        title = XiaohongshuSite.title(ad)
        assert doc["title"] == title and not Detector().detect([("title", title)]).flagged
        assert "text" in {m["source"] for m in doc["detection"]["matches"]}


def test_deleted_and_malformed_are_counted_not_fatal(xk_sweep: SweepRun) -> None:
    for platform in PLATFORMS:
        deleted = next(p for p in build_corpus()[platform] if p.deleted)
        assert xk_sweep.store().get(deleted.uid) is None
        assert xk_sweep.stat(platform, f"adwatch/{platform}/malformed") == 1  # the truncated answer; the page retried
    # Xiaohongshu still lists the deleted note; its page redirects to /404.
    assert xk_sweep.stat("xiaohongshu", "adwatch/xiaohongshu/deleted") >= 1
    assert "Traceback" not in xk_sweep.output


@pytest.mark.es
def test_index_counts_equal_the_store(xk_sweep: SharedSweep) -> None:
    assert_index_counts_equal_store(xk_sweep.es_url, xk_sweep.es_prefix, xk_sweep.store(), PLATFORMS)


def test_takedown_requests_are_written(xk_sweep: SweepRun) -> None:
    out = xk_sweep.proc.stdout
    for platform, channel in (("xiaohongshu", "涉企不实信息侵权举报专区"), ("kuaishou", "快手举报中心")):
        assert re.search(rf"{platform}\s+seen\s+\d+\s+flagged\s+\d+", out)
        match = re.search(rf"{platform} takedown request \((\d+) targets\): (\S+takedown-{platform}\.html)", out)
        assert match and int(match[1]) == sum(p.is_ad for p in live(platform))
        html = Path(match[2]).read_text(encoding="utf-8")
        assert channel in html and "evil_01" in html
        assert "<script" not in html and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html


@pytest.mark.parametrize(("platform", "ban", "reason"), [
    ("xiaohongshu", "461", "http-461"),
    ("xiaohongshu", "login", "login-expired"),
    ("xiaohongshu", "captcha", "captcha"),
    ("kuaishou", "rate", "rate-limited"),
    ("kuaishou", "risk", "risk-control"),
])
def test_refusals_stop_that_platform_cleanly(make_simulator, sweep, tmp_path: Path,
                                             platform: str, ban: str, reason: str) -> None:
    sim = make_simulator(ban={platform: ban}, platforms=PLATFORMS)
    run = sweep(sim.origin_arg, tmp_path, "--no-report", "--platforms", ",".join(PLATFORMS),
                "-a", f"keywords={KEYWORDS[3]}", "-s", "ADWATCH_REFUSAL_BACKOFF=0.1")
    assert run.proc.returncode == 0, run.output[-3000:]
    assert run.stats[platform]["summary"]["finish_reason"] == f"blocked:{reason}"
    assert run.stat(platform, f"adwatch/{platform}/blocked/{reason}") == 1
    assert re.search(rf"{platform}: {reason} at .* stopping this platform", run.output)
    api = {"xiaohongshu": "/api/sns/web/v1/search/notes", "kuaishou": "/rest/v/search/feed"}[platform]
    # N tries on the platform's sessions (each a new page load), then no more: never a retry loop.
    # (A refused page load, Xiaohongshu's captcha redirect, never reaches the API.)
    assert sim.requests.get(api, 0) <= ADWATCH_REFUSAL_STOP_AFTER
    assert run.stat(platform, f"adwatch/{platform}/refused/{reason}") == ADWATCH_REFUSAL_STOP_AFTER
    other = next(p for p in PLATFORMS if p != platform)
    assert run.stats[other]["summary"]["finish_reason"] == "finished"
    expected = [p for p in live(other) if p.keyword == KEYWORDS[3]]
    assert run.store().count(platform=other) == len(expected) > 0


@pytest.mark.parametrize("platform", PLATFORMS)
def test_sigkilled_jobdir_crawl_resumes_with_nothing_lost_or_doubled(make_simulator, tmp_path: Path,
                                                                     platform: str) -> None:
    sim = make_simulator(latency=0.3, faults=False, platforms=PLATFORMS)
    env = {**{k: v for k, v in os.environ.items() if "proxy" not in k.lower()}, "ADWATCH_DATA_DIR": str(tmp_path),
           **sim.env()}
    cmd = [sys.executable, "-m", "scrapy", "crawl", platform, "-s", f"JOBDIR={tmp_path / 'job'}",
           "-s", "AUTOTHROTTLE_ENABLED=0", "-a", f"keywords={KEYWORDS[0]},{KEYWORDS[3]},{EMPTY_KEYWORD}"]
    # Its own session: SIGKILL takes the browser down with it, as a crash of the machine would.
    proc = subprocess.Popen(cmd, cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    db = tmp_path / "adwatch.sqlite3"
    before = 0
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if db.exists():
                store = SqliteStore(db)
                before = store.count()
                store.close()
                if before >= 5:
                    break
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    posts = live(platform)  # the broad keyword finds every post
    store = SqliteStore(db)
    after_kill = store.count()
    store.close()
    assert 5 <= before <= after_kill < len(posts), (before, after_kill)

    resumed = subprocess.run(cmd, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    store = SqliteStore(db)
    assert store.count() == len(posts)  # one row per post: nothing lost, nothing doubled
    assert {d["uid"] for d in store.iter_posts()} == {p.uid for p in posts}
    assert {d["uid"] for d in store.iter_posts(flagged=True)} == {p.uid for p in posts if p.is_ad}
    store.close()
    assert "Traceback" not in resumed.stderr
