"""End to end: real Scrapy crawls (plain HTTP and Playwright) of the simulator, checked in the store."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crawler.settings import ADWATCH_REFUSAL_STOP_AFTER
from tests.conftest import SweepRun
from tests.simulator.corpus import KEYWORDS, build_corpus, expected_ads, negatives

PLATFORMS = ("weibo", "douyin")


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_text_ad_is_found_and_flagged(sweep_once: SweepRun, platform: str) -> None:
    store = sweep_once.store()
    missed = []
    for ad in expected_ads(platform):
        doc = store.get(ad.uid)
        if doc is None or not doc["flagged"]:
            missed.append((ad.family, ad.text[:40], doc and doc["detection"]))
    assert not missed, missed


@pytest.mark.parametrize("platform", PLATFORMS)
def test_no_hard_negative_is_flagged(sweep_once: SweepRun, platform: str) -> None:
    store = sweep_once.store()
    flagged = [n.text[:40] for n in negatives(platform) if (doc := store.get(n.uid)) and doc["flagged"]]
    assert not flagged
    # …and they were all seen, so "not flagged" is not "not found".
    assert all(store.get(n.uid) for n in negatives(platform))


@pytest.mark.parametrize("platform", PLATFORMS)
def test_pagination_is_followed_to_the_end(sweep_once: SweepRun, platform: str) -> None:
    corpus = [p for p in build_corpus()[platform] if not p.deleted]
    # The broad keyword returns the whole corpus over several pages: all of it must be stored.
    assert len(corpus) > 30
    assert sweep_once.store().count(platform=platform) == len(corpus)
    assert sweep_once.stat(platform, f"adwatch/{platform}/end_of_results") == len(KEYWORDS) + 1  # + empty keyword
    assert sweep_once.stat(platform, f"adwatch/{platform}/pages") >= 4 + len(KEYWORDS) - 1


@pytest.mark.parametrize("platform", PLATFORMS)
def test_deleted_post_and_truncated_json_are_counted_not_fatal(sweep_once: SweepRun, platform: str) -> None:
    deleted = next(p for p in build_corpus()[platform] if p.deleted)
    assert sweep_once.store().get(deleted.uid) is None
    assert sweep_once.stat(platform, f"adwatch/{platform}/deleted") >= 1
    assert sweep_once.stat(platform, f"adwatch/{platform}/malformed") == 1
    assert sweep_once.stats[platform]["summary"]["finish_reason"] == "finished"
    assert "Traceback" not in sweep_once.output


def test_rate_limit_is_retried(sweep_once: SweepRun) -> None:
    assert sweep_once.stat("weibo", "retry/reason_count/429 Unknown Status") == 1


def test_summary_and_reports_are_printed(sweep_once: SweepRun) -> None:
    out = sweep_once.proc.stdout
    assert "adwatch sweep summary" in out
    for platform in PLATFORMS:
        assert re.search(rf"{platform}\s+seen\s+\d+\s+flagged\s+\d+", out)
        assert re.search(rf"{platform} takedown request \(\d+ targets\): .*takedown-{platform}\.html", out)
    # Every flagged page of every platform (the shared sweep's eight) was captured as evidence, none failed.
    captured = re.search(r"captured (\d+) of (\d+) flagged pages", out)
    assert captured and captured[1] == captured[2] == str(sweep_once.store().count(flagged=True))


def test_hostile_text_is_escaped_in_reports(sweep_once: SweepRun) -> None:
    reports = list((sweep_once.data_dir / "reports").glob("*/takedown-*.html"))
    assert {f"takedown-{p}.html" for p in PLATFORMS} <= {p.name for p in reports}  # other platforms' too
    for report in reports:
        html = report.read_text(encoding="utf-8")
        assert "evil_01" in html  # the hostile post is in the report …
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html  # … inert
        assert "<script>alert" not in html and "<script" not in html
        assert 'href="javascript:' not in html


def test_a_second_sweep_stores_no_duplicates(simulator, sweep, tmp_path: Path) -> None:
    first = sweep(simulator.origin_arg, tmp_path, "--no-report", "--platforms", "weibo")
    assert first.proc.returncode == 0, first.output[-3000:]
    count = first.store().count()
    second = sweep(simulator.origin_arg, tmp_path, "--no-report", "--platforms", "weibo", "-s", "ADWATCH_FULL_SWEEP=1")
    assert second.proc.returncode == 0, second.output[-3000:]
    assert second.store().count() == count > 0
    assert second.stat("weibo", "adwatch/store/new") == 0
    assert second.stat("weibo", "adwatch/store/updated") == count


@pytest.mark.parametrize(("platform", "ban", "reason"), [
    ("weibo", "418", "http-418"),
    ("weibo", "login", "login-wall"),
    ("douyin", "captcha", "captcha"),
    ("douyin", "verify", "captcha"),
])
def test_captcha_or_ban_stops_that_platform_cleanly(make_simulator, sweep, tmp_path: Path,
                                                   platform: str, ban: str, reason: str) -> None:
    sim = make_simulator(ban={platform: ban})
    keyword = KEYWORDS[3]  # a narrow keyword and the two platforms under test keep the run short
    run = sweep(sim.origin_arg, tmp_path, "--no-report", "--platforms", ",".join(PLATFORMS),
                "-a", f"keywords={keyword}", "-s", "ADWATCH_REFUSAL_BACKOFF=0.1")
    assert run.proc.returncode == 0, run.output[-3000:]
    assert run.stats[platform]["summary"]["finish_reason"] == f"blocked:{reason}"
    assert run.stat(platform, f"adwatch/{platform}/blocked/{reason}") == 1
    assert re.search(rf"{platform}: {reason} at .* stopping this platform", run.output)
    api = "/api/container/getIndex" if platform == "weibo" else "/aweme/v1/web/general/search/single/"
    # No hammering: N tries on the platform's sessions (ADWATCH_REFUSAL_STOP_AFTER), never a retry loop.
    assert sim.requests.get(api, 0) <= ADWATCH_REFUSAL_STOP_AFTER
    # The other platform carried on and finished.
    other = next(p for p in PLATFORMS if p != platform)
    assert run.stats[other]["summary"]["finish_reason"] == "finished"
    expected = [p for p in build_corpus()[other] if p.keyword == keyword and not p.deleted]
    assert run.store().count(platform=other) == len(expected) > 0
