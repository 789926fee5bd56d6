"""A JOBDIR that survives SIGKILL: a crawl killed without a clean shutdown is started over, never half-trusted.

Scrapy saves a JOBDIR's queue position (``requests.queue/*/info.json``) only when the crawl closes cleanly, while
the fingerprints of requests already scheduled (``requests.seen``) reach the disk whenever their write buffer
fills. After a SIGKILL (OOM killer, power loss, ``kill -9``) the next run therefore finds an empty or stale queue
and fingerprints of requests it will never see again: the dupefilter drops those requests as "already seen" and
their posts are lost without a word. :class:`CrashSafeDupeFilter` marks the JOBDIR while a crawl runs; a run
that finds the mark left behind discards both files and starts over (the store's upsert keeps one row per post).
A clean pause (Ctrl-C) removes the mark, so its resume continues from the saved queue as usual.

The spider's state (``spider.state``, e.g. the keywords a browser spider finished searching) goes with them: Scrapy
saves it only at a clean close, so after a pause, a resume and a kill it is the older pause's state, describing a
queue that no longer exists. A keyword marked searched there had its note requests in that queue: kept, the next
run would skip the keyword and never fetch those notes.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Self

from scrapy.crawler import Crawler
from scrapy.dupefilters import RFPDupeFilter
from scrapy.utils.job import job_dir

logger = logging.getLogger(__name__)

MARKER = "crawl.running"


def discard_if_killed(jobdir: Path) -> bool:
    """Remove the queue and seen-fingerprints a killed crawl left in ``jobdir``; True if there were any."""
    if not (jobdir / MARKER).exists():
        return False
    logger.warning("JOBDIR %s: the previous crawl was killed before it could save its queue; starting over "
                   "(posts it stored are kept and updated, none is lost)", jobdir)
    shutil.rmtree(jobdir / "requests.queue", ignore_errors=True)
    (jobdir / "requests.seen").unlink(missing_ok=True)
    (jobdir / "spider.state").unlink(missing_ok=True)
    (jobdir / MARKER).unlink()
    return True


class CrashSafeDupeFilter(RFPDupeFilter):
    """Scrapy's dupefilter, plus the running mark that tells a resumed crawl whether its JOBDIR can be trusted."""

    killed_before = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        path = job_dir(crawler.settings)
        # Before the scheduler loads the queue and the seen-file, and before SpiderState loads the state.
        killed = discard_if_killed(Path(path)) if path else False
        dupefilter = super().from_crawler(crawler)
        dupefilter.killed_before = killed
        dupefilter.jobdir = Path(path) if path else None
        if killed and crawler.stats:
            crawler.stats.set_value("adwatch/jobdir/restarted_after_kill", 1)
        return dupefilter

    jobdir: Path | None = None

    def open(self) -> None:
        super().open()
        if self.jobdir:
            (self.jobdir / MARKER).write_text("a crawl is using this JOBDIR\n", encoding="utf-8")

    def close(self, reason: str) -> None:
        super().close(reason)
        if self.jobdir:
            (self.jobdir / MARKER).unlink(missing_ok=True)
