"""The refusal policy: back-off, retry on another session, retirement, the stop after N — on its own (a fake
clock) and in real sweeps of the simulator refusing every fifth API request, or every request."""

from __future__ import annotations

import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, Request

from crawler.platforms.base import load_keywords
from crawler.sessions.policy import clean_copy
from crawler.sessions.pool import SessionPool, State
from crawler.sessions.specs import SessionsConfig, SessionSpec
from crawler.settings import ADWATCH_REFUSAL_STOP_AFTER
from pipelines.store import SqliteStore
from tests.conftest import PROJECT
from tests.simulator.core import stored_uid
from tests.simulator.corpus import KEYWORDS, build_corpus, search

PLATFORMS = ("weibo", "douyin")
API = {"weibo": "/api/container/getIndex", "douyin": "/aweme/v1/web/general/search/single/"}
FAST = ("-s", "ADWATCH_REFUSAL_BACKOFF=0.1")  # the policy, not its patience, is under test


def config(**kw: object) -> SessionsConfig:
    base = dict(sessions_dir=Path("/nonexistent"), proxies=(), anonymous=2, backoff=1.0, max_backoff=8.0,
                retire_after=3, stop_after=6)
    return SessionsConfig(**{**base, **kw})  # type: ignore[arg-type]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def pool(n: int = 2, **kw: object) -> tuple[SessionPool, Clock, list[str]]:
    clock, events = Clock(), []
    specs = [SessionSpec(f"s{i}") for i in range(1, n + 1)]
    return SessionPool("weibo", specs, config(**kw), events.append, clock), clock, events


def test_a_refused_session_backs_off_exponentially_with_jitter() -> None:
    p, clock, events = pool(1, stop_after=99, retire_after=99)
    delays = []
    for _ in range(5):
        p.refused("s1", "http-418")
        delays.append(p.sessions["s1"].not_before - clock.now)
    for k, delay in enumerate(delays):
        assert 0.5 * min(8.0, 2**k) <= delay <= 1.5 * min(8.0, 2**k)
    assert delays[3] > delays[0] and max(delays) <= 12.0  # capped (8 s × 1.5)
    assert p.sessions["s1"].state is State.BACKING_OFF
    assert events.count("refused/http-418") == 5 and events.count("sessions/backoff") == 5


def test_the_retry_goes_to_another_session_and_waits_only_when_all_back_off() -> None:
    p, clock, _ = pool(2)
    p.refused("s1", "captcha")
    session, wait = p.pick(avoid="s1")
    assert session.name == "s2" and wait == 0
    p.refused("s2", "captcha")
    session, wait = p.pick(avoid="s2")
    assert session.name == "s1" and wait > 0  # both back off: the one free soonest, after its back-off
    clock.now += 10
    assert p.pick()[1] == 0 and p.sessions["s1"].state is State.HEALTHY


def test_repeated_refusals_retire_a_session_but_never_the_last() -> None:
    p, _, events = pool(2, retire_after=2, stop_after=99)
    p.refused("s1", "captcha")
    p.refused("s1", "captcha")
    assert p.sessions["s1"].state is State.RETIRED and "sessions/retired" in events
    for _ in range(5):
        p.refused("s2", "captcha")
    assert p.sessions["s2"].state is State.BACKING_OFF
    assert all(p.pick()[0].name == "s2" for _ in range(3))


def test_the_platform_stops_after_n_refusals_in_a_row_and_a_success_resets_the_count() -> None:
    p, _, _ = pool(3, stop_after=4, retire_after=99)
    for name in ("s1", "s2", "s3"):
        assert not p.refused(name, "http-418")
    p.succeeded("s2")
    assert not any(p.refused(name, "http-418") for name in ("s1", "s2", "s3"))
    assert p.refused("s1", "http-418") and p.stopped == "http-418"


def test_a_retry_is_the_original_request_without_session_secrets_or_page() -> None:
    request = Request("https://passport.weibo.cn/signin/login", headers={"Cookie": "SUB=x", "Accept": "a/b"},
                      meta={"redirect_urls": ["https://m.weibo.cn/api/container/getIndex?page=2"],
                            "adwatch_session": "s1", "proxy": "http://127.0.0.1:1", "playwright_page": object(),
                            "playwright_context_kwargs": {"proxy": {"password": "pw"}}, "keep": 1},
                      cb_kwargs={"keyword": "k"})
    request.headers[b"Proxy-Authorization"] = b"Basic eDp5"
    retry = clean_copy(request, adwatch_avoid="s1")
    assert retry.url == "https://m.weibo.cn/api/container/getIndex?page=2"
    assert retry.dont_filter and retry.cb_kwargs == {"keyword": "k"} and retry.headers[b"Accept"] == b"a/b"
    assert b"Cookie" not in retry.headers and b"Proxy-Authorization" not in retry.headers
    assert retry.meta == {"keep": 1, "adwatch_avoid": "s1"}


def test_weibo_login_wall_and_douyin_captcha_reach_the_policy() -> None:
    """Both spiders hand their refusals to ``refused()`` (the policy answers with the retry)."""
    from scrapy.utils.test import get_crawler

    from crawler.platforms.weibo import WeiboSpider

    crawler = get_crawler(WeiboSpider, {"PLATFORM_ORIGINS": {"weibo": "https://m.weibo.cn"},
                                        "ADWATCH_DATA_DIR": "/tmp/adwatch-test-refusals"})
    spider = crawler._create_spider(keywords="k")
    first = spider.search_request("k", 2)
    wall = HtmlResponse("https://passport.weibo.cn/signin/login", body=b"<html></html>",
                        request=first.replace(url="https://passport.weibo.cn/signin/login",
                                              meta={"redirect_urls": [first.url], "adwatch_session": "anon-1"}))
    out = list(spider.parse_search(wall, keyword="k", page=2))
    assert len(out) == 1 and out[0].url == first.url and out[0].meta["adwatch_avoid"] == "anon-1"
    assert crawler.stats.get_value("adwatch/weibo/refused/login-wall") == 1


def corpus(platform: str) -> list:
    return [p for p in build_corpus()[platform] if not p.deleted]


def test_refusals_on_every_fifth_api_request_lose_nothing(make_simulator, sweep, tmp_path: Path) -> None:
    sim = make_simulator(refuse_every=5)
    run = sweep(sim.origin_arg, tmp_path, "--no-report", *FAST)
    assert run.proc.returncode == 0, run.output[-3000:]
    store = run.store()
    assert set(run.stats) == set(sim.sites)  # every platform, follow-ups (comments, profiles) included
    for platform in run.stats:
        want = {stored_uid(p) for p in corpus(platform)}
        stored = {doc["uid"] for doc in store.iter_posts(platform=platform)}
        assert stored == want  # every post …
        assert run.stat(platform, f"adwatch/store/new/{platform}") == len(want)  # … exactly once
        assert run.stat(platform, f"adwatch/store/stored/{platform}") == len(want)
        refused = sum(v for k, v in run.stats[platform]["stats"].items() if k.startswith(f"adwatch/{platform}/refused/"))
        assert refused >= 1 and run.stat(platform, f"adwatch/{platform}/refusals/retried") == refused
        assert run.stats[platform]["summary"]["finish_reason"] == "finished"
    assert "Traceback" not in run.output
    assert len(re.findall(r"\[adwatch\.sessions\] \w+: (weibo|douyin): session \S+ backing off", run.output)) == sum(
        run.stat(p, f"adwatch/{p}/sessions/backoff") for p in PLATFORMS)  # one log line per state change


def test_a_ban_stops_each_platform_after_n_refusals(make_simulator, sweep, tmp_path: Path) -> None:
    sim = make_simulator(ban={"weibo": "418", "douyin": "captcha"})
    run = sweep(sim.origin_arg, tmp_path, "--no-report", "--platforms", ",".join(PLATFORMS), "-a",
                f"keywords={KEYWORDS[3]}", *FAST)
    assert run.proc.returncode == 0, run.output[-3000:]
    for platform, reason in (("weibo", "http-418"), ("douyin", "captcha")):
        assert run.stats[platform]["summary"]["finish_reason"] == f"blocked:{reason}"
        assert sim.requests[API[platform]] == ADWATCH_REFUSAL_STOP_AFTER  # N tries, then no more
        assert run.stat(platform, f"adwatch/{platform}/refused/{reason}") == ADWATCH_REFUSAL_STOP_AFTER
        assert run.stat(platform, f"adwatch/{platform}/sessions/retired") == 1  # one of two; never the last
        assert len(re.findall(rf"{platform}: {reason} at .* stopping this platform", run.output)) == 1


def test_a_platform_stopped_mid_way_resumes_from_its_job_without_duplicates(make_simulator, tmp_path: Path) -> None:
    """Banned mid-crawl: stopped after N; the next JOBDIR run (no ban) fetches only what is missing."""
    sim = make_simulator(latency=0.3, faults=False)
    env = {**{k: v for k, v in os.environ.items() if "proxy" not in k.lower()}, "ADWATCH_DATA_DIR": str(tmp_path),
           **sim.env()}
    cmd = [sys.executable, "-m", "scrapy", "crawl", "weibo", "-s", f"JOBDIR={tmp_path / 'job'}", *FAST,
           "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1"]
    proc = subprocess.Popen(cmd, cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    db = tmp_path / "adwatch.sqlite3"
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if db.exists() and SqliteStore(db).count() >= 10:
                sim.config.ban["weibo"] = "418"
                break
            time.sleep(0.1)
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
    assert proc.returncode == 0, out[-3000:]
    assert "stopping this platform" in out and "'finish_reason': 'blocked:http-418'" in out
    before = SqliteStore(db).count()
    want = len(corpus("weibo"))
    assert 10 <= before < want
    refused = int(re.search(r"'adwatch/weibo/refused/http-418': (\d+)", out)[1])

    sim.config.ban.clear()
    resumed = subprocess.run(cmd, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert SqliteStore(db).count() == want
    new = int(re.search(r"'adwatch/store/new': (\d+)", resumed.stderr)[1])
    assert new == want - before  # what was missing, and one row per post
    # The resumed run carried on from the queue: together the runs read each result page once (besides the
    # refused tries: the N that stopped it and those already on their way).
    keywords = load_keywords("weibo", PROJECT / "crawler" / "watchlist.yaml", None)
    pages_once = sum(max(1, math.ceil(len(search(build_corpus()["weibo"], kw)) / 10)) for kw in keywords)
    assert refused >= ADWATCH_REFUSAL_STOP_AFTER
    assert pages_once <= sim.requests["/api/container/getIndex"] - refused <= pages_once + 1


@pytest.mark.parametrize(("change", "ok"), [
    ({"adwatch/weibo/refused/http-418": 7, "adwatch/weibo/refusals/retried": 7}, True),
    ({"adwatch/weibo/refusals/gave_up": 1}, False),
    ({"adwatch/weibo/blocked/http-418": 1, "finish_reason": "blocked:http-418"}, False),
])
def test_the_suite_fails_a_stopped_platform_not_a_retried_refusal(change: dict, ok: bool) -> None:
    from tests.test_monitors import HEALTHY, run_suite

    outcome = run_suite({**HEALTHY, **change})
    assert ("fail" not in outcome.values()) is ok, outcome
