"""Scheduled sweeps: cron times in Beijing time, overruns skip slots, failures don't stop the schedule."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from pipelines.store import SqliteStore
from tests.conftest import PROJECT
from tests.simulator.corpus import KEYWORDS, build_corpus
from crawler.schedule import Schedule, run_schedule

CN = ZoneInfo("Asia/Shanghai")


class FakeClock:
    """Time that moves only when slept through or when a sweep takes its time."""

    def __init__(self, start: datetime) -> None:
        self.t = start

    def now(self) -> datetime:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += timedelta(seconds=seconds)


def test_cron_is_read_in_beijing_time() -> None:
    schedule = Schedule("0 9 * * *", CN)
    utc_evening = datetime(2026, 11, 21, 20, 0, tzinfo=ZoneInfo("UTC"))  # 04:00 on the 22nd in Beijing
    assert schedule.next_after(utc_evening) == datetime(2026, 11, 22, 9, 0, tzinfo=CN)
    with pytest.raises(ValueError, match="not a cron expression"):
        Schedule("every day at nine", CN)


def test_sweeps_run_on_time_overruns_skip_slots_and_failures_go_on() -> None:
    clock = FakeClock(datetime(2026, 11, 21, 8, 50, tzinfo=CN))
    started: list[datetime] = []
    durations = iter([timedelta(minutes=5), timedelta(minutes=150), timedelta(minutes=5)])
    codes = iter([0, 1, 0])

    def sweep() -> int:
        started.append(clock.now())
        clock.t += next(durations)
        return next(codes)

    failures = run_schedule(Schedule("0 * * * *", CN), sweep, max_runs=3, now=clock.now, sleep=clock.sleep)
    assert failures == 1
    assert [t.strftime("%H:%M") for t in started] == ["09:00", "10:00", "13:00"]  # 11:00 and 12:00 were overrun


def test_schedule_command_runs_real_sweeps(make_simulator, tmp_path: Path) -> None:
    sim = make_simulator(faults=False)
    keyword = KEYWORDS[3]
    env = {**{k: v for k, v in os.environ.items() if "proxy" not in k.lower()}, "ADWATCH_DATA_DIR": str(tmp_path)}
    cmd = [sys.executable, "-m", "scrapy", "schedule", "--cron", "*/2 * * * * *", "--max-runs", "2", "--",
           "--origin", sim.origin_arg, "--platforms", "weibo", "--no-report", "-a", f"keywords={keyword}"]
    proc = subprocess.run(cmd, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert proc.stdout.count("adwatch sweep summary") == 2
    expected = [p for p in build_corpus()["weibo"] if p.keyword == keyword and not p.deleted]
    assert SqliteStore(tmp_path / "adwatch.sqlite3").count() == len(expected)
