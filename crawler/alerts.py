"""Alerts: Spidermon checks that call a person (a webhook and/or an e-mail) when a platform needs one.

:class:`AlertMonitor` fails when
* a keyword that found posts in one of the last ``ADWATCH_ALERT_LOOKBACK`` runs found none now (a broken
  signature, a changed page, a silent ban) — read from the run history (pipelines/history.py);
* the platform was stopped (``adwatch/<platform>/blocked/<reason>`` or ``adwatch/<platform>/stopped``);
* OCR failures (``adwatch/ocr/failed`` and ``adwatch/ocr/bad/*``) reach ``ADWATCH_ALERT_MAX_OCR_FAILURES``;
* posts spooled for Elasticsearch (``adwatch/index/spooled``) reach ``ADWATCH_ALERT_MAX_ES_SPOOLED``.

The actions run when any of these failed (other health monitors only log): :class:`WebhookAlert` POSTs a JSON
body to ``ADWATCH_ALERT_WEBHOOK``; :class:`EmailAlert` sends plain-text mail through ``ADWATCH_ALERT_SMTP_*`` to
``ADWATCH_ALERT_EMAIL_TO``. Neither URL nor password ever reaches a log line. A distributed sweep's workers
leave alerting to the coordinator, which checks the whole sweep's summed stats (:func:`run_alert_suite`).
"""

from __future__ import annotations

import json
import logging
import smtplib
import urllib.request
from email.message import EmailMessage
from typing import Any

from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings, Settings
from scrapy.spiderloader import SpiderLoader
from spidermon import MonitorSuite, monitors
from spidermon.contrib.scrapy.monitors.base import BaseScrapyMonitor
from spidermon.contrib.scrapy.runners import SpiderMonitorRunner
from spidermon.core.actions import Action
from spidermon.exceptions import SkipAction

from crawler.history import run_id_of
from pipelines.history import KEYWORD_STAT, RunHistory
from pipelines.store import store_path

logger = logging.getLogger("adwatch.alerts")


@monitors.name("adwatch alerts")
class AlertMonitor(BaseScrapyMonitor):
    """What must reach a person, not only the log."""

    @property
    def platform(self) -> str:
        return self.data.spider.name

    def _setting(self, name: str, default: float) -> float:
        return self.crawler.settings.getfloat(name, default)

    @monitors.name("no keyword gone silent")
    def test_no_keyword_gone_silent(self) -> None:
        if self.crawler.settings.get("ADWATCH_DISTRIBUTED_ROLE") == "worker":
            return  # one worker sees only part of the sweep: the coordinator checks the whole
        empty = [k.removeprefix(KEYWORD_STAT) for k, v in self.data.stats.items()
                 if k.startswith(KEYWORD_STAT) and not v]
        path = store_path(self.crawler.settings)
        if not empty or not path.exists():
            return
        history = RunHistory(path)
        try:
            past = history.runs(self.platform, exclude_run=run_id_of(self.crawler.settings, dict(self.data.stats)),
                                limit=int(self._setting("ADWATCH_ALERT_LOOKBACK", 5)))
        finally:
            history.close()
        silent = [k for k in empty if any(run.keywords.get(k) for run in past)]
        self.assertFalse(silent, msg=f"{self.platform}: no results any more for {', '.join(silent)} "
                                     f"(found posts in the last {len(past)} runs)")

    @monitors.name("platform not stopped")
    def test_not_stopped(self) -> None:
        prefix = f"adwatch/{self.platform}/"
        reasons = [k.removeprefix(prefix + "blocked/") for k in self.data.stats if k.startswith(prefix + "blocked/")]
        if self.data.stats.get(prefix + "stopped"):
            reasons.append(str(self.data.stats[prefix + "stopped"]))
        self.assertFalse(reasons, msg=f"{self.platform} was stopped: {', '.join(sorted(set(reasons)))}")

    @monitors.name("OCR failures under the limit")
    def test_ocr_failures(self) -> None:
        failed = sum(int(v) for k, v in self.data.stats.items() if isinstance(v, (int, float)) and (
            k == "adwatch/ocr/failed" or k.startswith("adwatch/ocr/bad/") and k.count("/") == 3))
        limit = self._setting("ADWATCH_ALERT_MAX_OCR_FAILURES", 20)
        self.assertLess(failed, limit, msg=f"{self.platform}: {failed} pictures could not be read (limit {limit:g})")

    @monitors.name("Elasticsearch spool under the limit")
    def test_es_spool(self) -> None:
        spooled = int(self.data.stats.get("adwatch/index/spooled", 0) or 0)
        limit = self._setting("ADWATCH_ALERT_MAX_ES_SPOOLED", 1000)
        self.assertLess(spooled, limit, msg=f"{self.platform}: {spooled} posts waiting in the Elasticsearch spool "
                                            f"(limit {limit:g})")


class _AlertAction(Action):
    """Runs only for failures of :class:`AlertMonitor`, and not in a distributed sweep's workers."""

    def __init__(self, settings: BaseSettings | None = None) -> None:
        super().__init__()
        self.settings = settings

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> _AlertAction:
        return cls(crawler.settings)

    def alerts(self) -> list[dict[str, str]]:
        if self.settings is not None and self.settings.get("ADWATCH_DISTRIBUTED_ROLE") == "worker":
            raise SkipAction("a worker: the sweep's coordinator alerts")
        found = [{"check": r.item.method_name if hasattr(r.item, "method_name") else str(r.item),
                  "name": getattr(r.item, "full_name", ""), "reason": str(r.reason or "")}
                 for r in self.result.monitors_failed_results if isinstance(r.item, AlertMonitor)]
        if not found:
            raise SkipAction("no alert condition")
        return found

    def payload(self) -> dict[str, Any]:
        stats = self.data.stats
        spider = self.data.spider
        keep = ("finish_reason", "item_scraped_count", "adwatch/dedup/unique", "adwatch/store/new",
                "adwatch/detect/flagged", f"adwatch/{spider.name}/pages")
        return {
            "platform": spider.name,
            "run_id": run_id_of(self.settings, dict(stats)) if self.settings is not None else None,
            "alerts": self.alerts(),
            "stats": {k: stats.get(k) for k in keep if k in stats},
        }


class WebhookAlert(_AlertAction):
    """POST the alerts as JSON to ``ADWATCH_ALERT_WEBHOOK`` (Slack/Feishu/DingTalk bridges, an on-call tool …)."""

    def run_action(self) -> None:
        url = self.settings.get("ADWATCH_ALERT_WEBHOOK") if self.settings is not None else ""
        if not url:
            raise SkipAction("ADWATCH_ALERT_WEBHOOK is not set")
        body = json.dumps(self.payload(), ensure_ascii=False, default=str).encode("utf-8")
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": "application/json; charset=utf-8"})
        timeout = self.settings.getfloat("ADWATCH_ALERT_TIMEOUT", 10.0)
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - an operator's URL
            if response.status >= 300:
                raise RuntimeError(f"the alert webhook answered HTTP {response.status}")
        logger.warning("alert sent to the webhook for %s: %s", self.data.spider.name,
                       "; ".join(a["reason"] for a in self.payload()["alerts"]))


class EmailAlert(_AlertAction):
    """Send the alerts as a plain-text e-mail over SMTP (STARTTLS when ``ADWATCH_ALERT_SMTP_TLS``)."""

    def run_action(self) -> None:
        s = self.settings
        to = s.getlist("ADWATCH_ALERT_EMAIL_TO") if s is not None else []
        if not to or not s.get("ADWATCH_ALERT_SMTP_HOST"):
            raise SkipAction("ADWATCH_ALERT_EMAIL_TO / ADWATCH_ALERT_SMTP_HOST are not set")
        payload = self.payload()
        msg = EmailMessage()
        msg["Subject"] = f"[adwatch] {payload['platform']}: " + "; ".join(a["check"] for a in payload["alerts"])
        msg["From"] = s.get("ADWATCH_ALERT_EMAIL_FROM") or "adwatch@localhost"
        msg["To"] = ", ".join(to)
        msg.set_content("\n".join([f"- {a['reason']}" for a in payload["alerts"]] + ["", "Run: "
                                   + str(payload["run_id"]), json.dumps(payload["stats"], ensure_ascii=False)]))
        with smtplib.SMTP(s.get("ADWATCH_ALERT_SMTP_HOST"), s.getint("ADWATCH_ALERT_SMTP_PORT", 25),
                          timeout=s.getfloat("ADWATCH_ALERT_TIMEOUT", 10.0)) as smtp:
            if s.getbool("ADWATCH_ALERT_SMTP_TLS"):
                smtp.starttls()
            if s.get("ADWATCH_ALERT_SMTP_USER"):
                smtp.login(s.get("ADWATCH_ALERT_SMTP_USER"), s.get("ADWATCH_ALERT_SMTP_PASSWORD") or "")
            smtp.send_message(msg)


ALERT_ACTIONS = [WebhookAlert, EmailAlert]


class AlertSuite(MonitorSuite):
    """The alert checks alone, with their actions (the coordinator of a distributed sweep runs it)."""

    monitors = [AlertMonitor]
    monitors_failed_actions = ALERT_ACTIONS


def run_alert_suite(settings: Settings, platform: str, stats: dict[str, Any]) -> list[str]:
    """Run :class:`AlertSuite` over a platform's stats outside a crawl; the names of the failed checks."""
    crawler = Crawler(SpiderLoader.from_settings(settings).load(platform), settings)
    spider = crawler.spidercls.from_crawler(crawler)
    crawler.spider = spider
    data = {"stats": stats, "stats_history": [], "crawler": crawler, "spider": spider, "job": None}
    result = SpiderMonitorRunner(spider=spider).run(AlertSuite(crawler=crawler), **data)
    return [r.item.full_name for r in result.monitors_failed_results]
