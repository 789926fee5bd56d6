"""Bilibili end to end: real ``scrapy sweep`` / ``scrapy crawl`` runs against the simulator, checked in the store."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

from crawler.settings import RETRY_TIMES
from pipelines.store import SqliteStore
from tests.conftest import PROJECT, SharedSweep, run_sweep
from tests.es_fixtures import assert_index_counts_equal_store
from tests.simulator.corpus import EMPTY_KEYWORD, KEYWORDS, build_corpus, search
from tests.simulator.platforms.bilibili import BilibiliSite, expected_w_rid

ALIVE = [p for p in build_corpus()["bilibili"] if not p.deleted]


@pytest.fixture
def bili_sweep(sweep_once: SharedSweep) -> tuple[SharedSweep, BilibiliSite]:
    """The shared sweep of every platform, Bilibili's with the corpus's faults on (truncated page, key rotation),
    indexed into Elasticsearch; and the Bilibili site it swept."""
    assert sweep_once.sim is not None
    return sweep_once, sweep_once.sim.sites["bilibili"]  # type: ignore[return-value]


def test_every_post_stored_once_every_ad_flagged_no_negative(bili_sweep: tuple[SharedSweep, BilibiliSite]) -> None:
    run, _ = bili_sweep
    store = run.store()
    assert store.count(platform="bilibili") == len(ALIVE)  # one row per video, though the broad keyword finds all
    missed = [(p.kind, p.text[:30]) for p in ALIVE if p.is_ad and not (store.get(p.uid) or {}).get("flagged")]
    wrong = [p.text[:30] for p in ALIVE if not p.is_ad and (store.get(p.uid) or {}).get("flagged")]
    assert not missed and not wrong
    assert run.stat("bilibili", "adwatch/dedup/duplicate") == 0  # each video was fetched once


def test_ads_hidden_in_the_desc_the_cover_or_the_frames(bili_sweep: tuple[SharedSweep, BilibiliSite]) -> None:
    run, site = bili_sweep
    store = run.store()

    def sources(uid: str) -> set[str]:
        doc = store.get(uid) or {}
        # The evidence: service terms, or for a pitch that names no service, the outcome it promises.
        return {m["source"].split(":")[0] for m in (doc.get("detection") or {}).get("matches") or []
                if m.get("kind") in ("category", "outcome")}

    desc_only = [p for p in ALIVE if p.post_id in site.desc_only and p.is_ad]
    # (The search keyword is one of the video's tags, so "hashtags" may match too.)
    assert desc_only and all("text" in sources(p.uid) and "title" not in sources(p.uid) for p in desc_only)
    assert all(store.get(p.uid)["title"] == "分享一下最近的经历" for p in desc_only)  # nothing in the title
    images = [p for p in ALIVE if p.kind == "image"]
    assert images and all("cover" in sources(p.uid) for p in images)
    videos = [p for p in ALIVE if p.kind == "video"]
    assert videos and all("frame" in sources(p.uid) for p in videos)
    doc = store.get(videos[0].uid)
    assert {m["kind"] for m in doc["media"]} >= {"cover", "video", "frame"}


def test_pages_states_and_report(bili_sweep: tuple[SharedSweep, BilibiliSite]) -> None:
    run, _ = bili_sweep
    stat = lambda key: run.stat("bilibili", f"adwatch/bilibili/{key}")  # noqa: E731
    pages = sum(max(1, math.ceil(len(search(ALIVE + [p for p in build_corpus()["bilibili"] if p.deleted], kw)) / 10))
                for kw in KEYWORDS) + 1  # + the empty keyword's one page
    assert stat("pages") == pages and math.ceil(len(ALIVE) / 10) >= 5  # several pages for the broad keyword
    assert stat("end_of_results") == len(KEYWORDS) + 1
    assert stat("deleted") == 1 and stat("malformed") == 1
    assert stat("wbi_rejected") >= 1 and stat("wbi_keys") >= 2  # the keys rotated mid-sweep and were reloaded
    assert run.stats["bilibili"]["summary"]["finish_reason"] == "finished"
    assert "Traceback" not in run.output
    [report] = list((run.data_dir / "reports").glob("*/takedown-bilibili.html"))
    html = report.read_text(encoding="utf-8")
    assert "哔哩哔哩" in html and "稿件举报" in html and "evil_01" in html
    assert "<script>alert" not in html and 'href="javascript:' not in html


@pytest.mark.es
def test_index_counts_equal_the_store(bili_sweep: tuple[SharedSweep, BilibiliSite]) -> None:
    run, _ = bili_sweep
    assert run.store().count("bilibili") == len(ALIVE)
    assert_index_counts_equal_store(run.es_url, run.es_prefix, run.store(), ["bilibili"])


@pytest.mark.parametrize(("ban", "reason"), [("412", "http-412"), ("voucher", "wbi-rejected")])
def test_refusals_stop_the_platform(make_simulator, tmp_path: Path, ban: str, reason: str) -> None:
    sim = make_simulator(ban={"bilibili": ban}, platforms=("bilibili",), faults=False)
    run = run_sweep(sim.origin_arg, tmp_path, "--platforms", "bilibili", "--no-report",
                    "-s", "ADWATCH_REFUSAL_STOP_AFTER=3", "-s", "ADWATCH_REFUSAL_BACKOFF=0.1")
    assert run.stat("bilibili", f"adwatch/bilibili/blocked/{reason}") == 1
    assert run.store().count() == 0
    # Bounded: at most N refusals (3 here) reach the policy per keyword — its own counted ones, and those that were
    # in flight when another keyword's counted refusal came (each needs a counted one of its own: N in all) — each
    # after the spider's own RETRY_TIMES tries with fresh keys.
    searches = sim.requests.get("/x/web-interface/wbi/search/type", 0)
    assert searches <= (1 + RETRY_TIMES) * 3 * len(KEYWORDS + [EMPTY_KEYWORD]), searches


def test_a_retry_on_a_fresh_session_carries_its_cookie(make_simulator, tmp_path: Path) -> None:
    # Every API request is refused once (served when asked again): the signed search is refused on the first
    # session, so its retry is the second session's first API request (no home page loaded on it yet).
    sim = make_simulator(refuse_every=1, platforms=("bilibili",), faults=False)
    keyword = KEYWORDS[1]
    run = run_sweep(sim.origin_arg, tmp_path, "--platforms", "bilibili", "--no-report", "-a", f"keywords={keyword}",
                    "-a", "max_pages=1", "-s", "CONCURRENT_REQUESTS=1", "-s", "ADWATCH_ANONYMOUS_SESSIONS=2",
                    "-s", "ADWATCH_REFUSAL_BACKOFF=0.1")
    assert run.proc.returncode == 0, run.output[-3000:]
    listed = min(10, len(search(ALIVE, keyword)))  # page 1
    # Each API request was refused once and served on its retry: none went out without its session's buvid3
    # (that would be a 412 of its own, and one more try).
    api = {path: sim.requests.get(f"/x/{path}", 0) for path in ("web-interface/wbi/search/type",
                                                               "web-interface/view", "player/wbi/playurl")}
    assert api == {"web-interface/wbi/search/type": 2, "web-interface/view": 2 * listed,
                   "player/wbi/playurl": 2 * listed}
    assert run.stat("bilibili", "adwatch/bilibili/refused/http-412") == 1 + 2 * listed
    assert run.store().count(platform="bilibili") == listed  # the search's results collected


def test_simulator_checks_cookie_and_signature(make_simulator) -> None:
    sim = make_simulator(platforms=("bilibili",), faults=False)
    site: BilibiliSite = sim.sites["bilibili"]
    base = sim.url("bilibili", f"/x/web-interface/wbi/search/type?search_type=video&keyword={quote(KEYWORDS[1])}&page=1")

    def get(url: str, cookie: str = "") -> tuple[int, dict]:
        request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
        try:
            with urllib.request.urlopen(request, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    assert get(base) == (412, {"code": -412, "message": "请求被拦截", "ttl": 1, "data": None})
    cookie = "buvid3=ABC123infoc"
    assert get(base, cookie)[1]["code"] == -403
    status, body = get(base + "&wts=1796000000&w_rid=" + "0" * 32, cookie)
    assert status == 200 and body["code"] == 0 and body["data"]["v_voucher"].startswith("voucher_")
    query = {"search_type": "video", "keyword": KEYWORDS[1], "page": "1", "wts": "1796000000"}
    w_rid = expected_w_rid(query, *site.keys())
    status, body = get(base + f"&wts=1796000000&w_rid={w_rid}", cookie)
    assert body["code"] == 0 and body["data"]["result"] and body["data"]["numPages"] >= 1


def test_sigkilled_jobdir_crawl_resumes_without_loss(make_simulator, tmp_path: Path) -> None:
    sim = make_simulator(latency=0.2, faults=False, platforms=("bilibili",))
    env = {**{k: v for k, v in os.environ.items() if "proxy" not in k.lower()}, "ADWATCH_DATA_DIR": str(tmp_path),
           **sim.env()}
    cmd = [sys.executable, "-m", "scrapy", "crawl", "bilibili", "-s", f"JOBDIR={tmp_path / 'job'}",
           "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1"]
    proc = subprocess.Popen(cmd, cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = tmp_path / "adwatch.sqlite3"
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if db.exists() and SqliteStore(db).count() >= 8:
                break
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    killed_at = SqliteStore(db).count()
    assert 8 <= killed_at < len(ALIVE), "not killed mid-way"
    assert (tmp_path / "job" / "crawl.running").exists()  # what a killed crawl leaves behind

    resumed = subprocess.run(cmd, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "previous crawl was killed" in resumed.stderr
    store = SqliteStore(db)
    assert store.count() == len(ALIVE)  # nothing lost, one row per video
    assert {d["post_id"] for d in store.iter_posts()} == {p.post_id for p in ALIVE}
    assert not (tmp_path / "job" / "crawl.running").exists()  # closed cleanly this time
