"""Recurring sweeps on a cron schedule (croniter), each sweep its own process (a Twisted reactor runs once)."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from croniter import croniter

logger = logging.getLogger("adwatch.schedule")


@dataclass(frozen=True)
class Schedule:
    """A cron expression (5 fields, or 6 with seconds) read in a time zone (Beijing time by default)."""

    cron: str
    tz: ZoneInfo

    def __post_init__(self) -> None:
        if not croniter.is_valid(self.cron):
            raise ValueError(f"not a cron expression: {self.cron!r}")

    def next_after(self, moment: datetime) -> datetime:
        return croniter(self.cron, moment.astimezone(self.tz)).get_next(datetime)


def run_schedule(schedule: Schedule, sweep: Callable[[], int], *, max_runs: int | None = None,
                 now: Callable[[], datetime] | None = None, sleep: Callable[[float], None] = time.sleep) -> int:
    """Run ``sweep`` at each scheduled time; return how many sweeps failed.

    The next time is computed after a sweep ends, so a sweep longer than the interval skips the slots it overran
    instead of starting a queue of late sweeps. A failed sweep is logged and the schedule goes on.
    """
    clock = now or (lambda: datetime.now(schedule.tz))
    runs = failures = 0
    while max_runs is None or runs < max_runs:
        due = schedule.next_after(clock())
        logger.info("next sweep at %s", due.isoformat(timespec="seconds"))
        while (wait := (due - clock()).total_seconds()) > 0:
            sleep(min(wait, 60.0))
        code = sweep()
        runs += 1
        if code != 0:
            failures += 1
            logger.error("sweep %d exited with %d; the schedule goes on", runs, code)
    return failures


def sweep_process(args: Sequence[str]) -> Callable[[], int]:
    """A ``sweep`` for :func:`run_schedule`: ``scrapy sweep ARGS`` in a child process, its exit code."""
    def sweep() -> int:
        return subprocess.run([sys.executable, "-m", "scrapy", "sweep", *args], check=False).returncode
    return sweep
