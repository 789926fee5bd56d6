"""The sweep's Spidermon suite, run over in-memory stats the way Spidermon runs it after a crawl."""

from __future__ import annotations

from typing import Any

import pytest
from scrapy.utils.test import get_crawler
from spidermon.contrib.scrapy.runners import SpiderMonitorRunner

from crawler.monitors import SweepCloseSuite
from crawler.platforms.weibo import WeiboSpider
from crawler.settings import ADWATCH_MAX_MALFORMED_RATIO


def run_suite(stats: dict[str, Any]) -> dict[str, str]:
    crawler = get_crawler(WeiboSpider, {
        "SPIDERMON_ENABLED": True, "SPIDERMON_EXPECTED_FINISH_REASONS": ["finished"], "SPIDERMON_MAX_ERRORS": 0,
        "SPIDERMON_MIN_ITEMS": 1, "ADWATCH_MAX_MALFORMED_RATIO": ADWATCH_MAX_MALFORMED_RATIO,
        "PLATFORM_ORIGINS": {"weibo": "https://m.weibo.cn"},
    })
    spider = crawler._create_spider()
    crawler.spider = spider
    data = {"stats": stats, "stats_history": [], "crawler": crawler, "spider": spider, "job": None}
    result = SpiderMonitorRunner(spider=spider).run(SweepCloseSuite(crawler=crawler), **data)
    outcome = {m.item.full_name: "ok" for m in result.monitors_passed_results}
    outcome.update({m.item.full_name: "fail" for m in result.monitors_failed_results})
    return outcome


HEALTHY = {"finish_reason": "finished", "item_scraped_count": 40, "log_count/ERROR": 0,
           "adwatch/weibo/pages": 10, "adwatch/weibo/malformed": 1}


def test_a_healthy_crawl_passes() -> None:
    outcome = run_suite(dict(HEALTHY))
    assert outcome and set(outcome.values()) == {"ok"}


@pytest.mark.parametrize(("change", "failing"), [
    ({"adwatch/weibo/blocked/captcha": 1, "finish_reason": "blocked:captcha", "log_count/ERROR": 1},
     {"not blocked", "finished reason", "Error Count"}),
    ({"adwatch/weibo/malformed": 8}, {"malformed"}),
    ({"item_scraped_count": 0}, {"Extracted Items"}),
])
def test_unhealthy_crawls_fail_the_right_monitor(change: dict[str, Any], failing: set[str]) -> None:
    outcome = run_suite({**HEALTHY, **change})
    failed = [name for name, state in outcome.items() if state == "fail"]
    assert failed
    for fragment in failing:
        assert any(fragment in name for name in failed), (fragment, failed)
