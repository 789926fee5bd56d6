"""End to end: real sweeps of Zhihu (browser), Tieba and WeChat against the simulator, checked in the store."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import SweepRun, run_sweep
from tests.simulator.core import stored_uid
from tests.simulator.corpus import KEYWORDS, build_corpus

PLATFORMS = ("zhihu", "tieba", "wechat")
uid = stored_uid


@pytest.fixture
def text_sweep(sweep_once: SweepRun) -> SweepRun:
    """The shared sweep of every platform (the three among the crawlers of one process), with the corpus's
    one-time faults."""
    return sweep_once


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_post_is_stored_once(text_sweep: SweepRun, platform: str) -> None:
    live = [p for p in build_corpus()[platform] if not p.deleted]
    store = text_sweep.store()
    assert {d["uid"] for d in store.iter_posts(platform=platform)} == {uid(p) for p in live}
    assert store.count(platform=platform) == len(live)
    # Several pages per keyword, each keyword to its end (the empty keyword too).
    assert text_sweep.stat(platform, f"adwatch/{platform}/end_of_results") == len(KEYWORDS) + 1
    assert text_sweep.stat(platform, f"adwatch/{platform}/pages") >= len(KEYWORDS) + 3
    assert text_sweep.stats[platform]["summary"]["finish_reason"] == "finished"


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_ad_is_flagged_and_no_negative(text_sweep: SweepRun, platform: str) -> None:
    store = text_sweep.store()
    wrong = [(p.kind, p.text[:30]) for p in build_corpus()[platform]
             if not p.deleted and bool(store.get(uid(p))["flagged"]) != p.is_ad]
    assert not wrong
    kinds = {p.kind for p in build_corpus()[platform] if p.is_ad}
    assert {"image", "video"} <= kinds  # pitches only in pictures (answer / thread / article) or in a video


@pytest.mark.parametrize("platform", PLATFORMS)
def test_pitch_only_in_a_picture_is_found_in_its_picture(text_sweep: SweepRun, platform: str) -> None:
    store = text_sweep.store()
    for post in (p for p in build_corpus()[platform] if p.kind == "image"):
        doc = store.get(uid(post))
        # The titles name the keyword (a question "如何看待停息挂账？"); the service claim (a service word or an outcome
        # such as 不良记录合法处理) is cited from the picture.
        sources = {m["source"] for m in doc["detection"]["matches"] if m["kind"] in ("category", "outcome")}
        assert any(s.startswith("image:") for s in sources), sources
        assert all(m.get("sha256") for m in doc["media"] if m["kind"] == "image")


@pytest.mark.parametrize("platform", ["tieba", "wechat"])
def test_deleted_post_is_counted_not_stored(text_sweep: SweepRun, platform: str) -> None:
    deleted = next(p for p in build_corpus()[platform] if p.deleted)
    assert text_sweep.store().get(uid(deleted)) is None
    assert text_sweep.stat(platform, f"adwatch/{platform}/deleted") == 1
    assert text_sweep.stat(platform, "adwatch/gone/deleted") == 1


def test_faults_are_retried(text_sweep: SweepRun) -> None:
    assert text_sweep.stat("zhihu", "adwatch/zhihu/malformed") == 1  # a cut XHR body; the page asked again
    assert text_sweep.stat("tieba", "retry/reason_count/429 Unknown Status") == 1
    assert text_sweep.stat("tieba", "retry/reason_count/503 Service Unavailable") == 1
    assert text_sweep.stat("wechat", "retry/reason_count/502 Bad Gateway") == 1
    assert "Traceback" not in text_sweep.output


def test_takedown_requests_are_written_and_inert(text_sweep: SweepRun) -> None:
    reports = {p.name: p for p in (text_sweep.data_dir / "reports").glob("*/takedown-*.html")}
    assert set(PLATFORMS) <= set(text_sweep.stats)  # one request per swept platform, these three among them
    assert set(reports) == {f"takedown-{p}.html" for p in text_sweep.stats}
    for name, label in (("zhihu", "知乎"), ("tieba", "百度贴吧"), ("wechat", "微信公众号")):
        html = reports[f"takedown-{name}.html"].read_text(encoding="utf-8")
        assert label in html and "evil_01" in html and "关键词巡查发现" in html
        assert "<script" not in html and 'href="javascript:' not in html


@pytest.mark.parametrize(("ban", "blocked"), [
    ({"zhihu": "risk", "tieba": "captcha", "wechat": "antispider"},
     {"zhihu": "risk", "tieba": "captcha", "wechat": "antispider"}),
    ({"zhihu": "captcha"}, {"zhihu": "captcha"}),
])
def test_refusals_stop_the_platform(make_simulator, tmp_path: Path, ban: dict[str, str],
                                    blocked: dict[str, str]) -> None:
    sim = make_simulator(ban=ban, faults=False)
    run = run_sweep(sim.origin_arg, tmp_path, "--no-report", "--platforms", ",".join(blocked),
                    "-a", "keywords=征信修复", "-s", "ADWATCH_REFUSAL_BACKOFF=0.1")  # the policy, not its patience
    for platform, reason in blocked.items():
        assert run.stat(platform, f"adwatch/{platform}/blocked/{reason}") == 1, run.output[-3000:]
        assert run.store().count(platform=platform) == 0
