"""Browser searches on a slow machine: every search API answer takes longer than the idle time, and each must still be
read (real ``scrapy sweep`` runs, Chromium driving the simulator's search pages).

Douyin once waited a fixed ``4 × ADWATCH_PLAYWRIGHT_IDLE_SECONDS`` for each answer: a slower answer ended the search
and its last pages were lost. Now an answer the page is waiting for (its request in flight) is awaited up to
``DOWNLOAD_TIMEOUT`` (crawler/platforms/browser.py). The latency here is also beyond what a stalled search's retries
(twice the patience each time, ``RETRY_TIMES``) would wait: only in-flight tracking reads these searches to the end.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.simulator.core import stored_uid
from tests.simulator.corpus import KEYWORDS, build_corpus, search

IDLE_SECONDS = 0.5
LATENCY = 3.0  # > 4 × IDLE_SECONDS (Douyin's old wait) and > IDLE_SECONDS × 2 ** RETRY_TIMES (the last retry's)


@pytest.mark.parametrize("platform", ["douyin", "zhihu"])
def test_answers_slower_than_the_idle_time_are_read_to_the_last_page(make_simulator, sweep, tmp_path: Path,
                                                                      platform: str) -> None:
    sim = make_simulator(latency=LATENCY, faults=False, platforms=(platform,))
    keyword = KEYWORDS[0]  # several result pages
    run = sweep(sim.origin_arg, tmp_path, "--no-report", "--platforms", platform, "-a", f"keywords={keyword}",
                "-s", f"ADWATCH_PLAYWRIGHT_IDLE_SECONDS={IDLE_SECONDS}")
    assert run.proc.returncode == 0, run.output[-3000:]
    found = [p for p in search(build_corpus()[platform], keyword) if not p.deleted]
    assert len(found) > 3 * sim.config.page_size  # pages enough that a cut-short search shows
    stored = {doc["uid"] for doc in run.store().iter_posts(platform=platform)}
    assert stored == {stored_uid(p) for p in found}  # the last page's posts too
    assert run.stat(platform, f"adwatch/{platform}/end_of_results") == 1
    assert run.stat(platform, f"adwatch/{platform}/gave_up") == 0
    assert run.stats[platform]["summary"]["finish_reason"] == "finished"
