"""Spidermon monitors: declarative health checks over each platform's crawl stats, thresholds in settings."""

from __future__ import annotations

from spidermon import MonitorSuite, monitors
from spidermon.contrib.scrapy.monitors import ErrorCountMonitor, FinishReasonMonitor, ItemCountMonitor
from spidermon.contrib.scrapy.monitors.base import BaseScrapyMonitor

from crawler.alerts import ALERT_ACTIONS, AlertMonitor


@monitors.name("adwatch platform health")
class PlatformHealthMonitor(BaseScrapyMonitor):
    """The platform neither blocked us nor answered mostly garbage."""

    def _stat(self, event: str) -> int:
        return int(self.data.stats.get(f"adwatch/{self.data.spider.name}/{event}", 0) or 0)

    @monitors.name("not blocked by captcha, login wall or ban")
    def test_not_blocked(self) -> None:
        # Set when the refusal policy stopped the platform (N refusals in a row on every session): a failure.
        prefix = f"adwatch/{self.data.spider.name}/blocked/"
        blocked = [k.removeprefix(prefix) for k in self.data.stats if k.startswith(prefix)]
        self.assertFalse(blocked, msg=f"{self.data.spider.name} was stopped after refusals: {', '.join(blocked)}")

    @monitors.name("no request given up after refusals")
    def test_no_request_given_up(self) -> None:
        # Retried refusals are normal; a request refused on every try was lost for this run.
        lost = self._stat("refusals/gave_up")
        self.assertEqual(lost, 0, msg=f"{lost} request(s) given up after repeated refusals")

    @monitors.name("malformed responses under the limit")
    def test_malformed_ratio(self) -> None:
        limit = self.crawler.settings.getfloat("ADWATCH_MAX_MALFORMED_RATIO", 0.2)
        pages = self._stat("pages") + self._stat("malformed")
        ratio = self._stat("malformed") / pages if pages else 0.0
        self.assertLessEqual(ratio, limit, msg=f"{ratio:.0%} of responses were malformed (limit {limit:.0%})")


class SweepCloseSuite(MonitorSuite):
    """Run when each platform's crawl closes; results are logged beside the sweep summary."""

    monitors = [PlatformHealthMonitor, FinishReasonMonitor, ErrorCountMonitor, ItemCountMonitor]
    monitors += [AlertMonitor]  # crawler/alerts.py: the checks that call a person
    monitors_failed_actions = ALERT_ACTIONS  # they act on AlertMonitor's failures only
