"""``scrapy schedule``: run ``scrapy sweep`` on a cron schedule until interrupted."""

from __future__ import annotations

import argparse
from datetime import datetime
from zoneinfo import ZoneInfo

from scrapy.exceptions import UsageError

from crawler.command_base import ProjectCommand
from crawler.schedule import Schedule, run_schedule, sweep_process


class Command(ProjectCommand):
    summary = "Run sweeps on a cron schedule (ADWATCH_SCHEDULE, Beijing time by default)"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--cron", default=None, help='cron expression, e.g. "0 */6 * * *" (default: ADWATCH_SCHEDULE)')
        parser.add_argument("--tz", default=None, help="time zone of the expression (default: ADWATCH_SCHEDULE_TZ)")
        parser.add_argument("--max-runs", type=int, default=None, help="stop after this many sweeps")
        parser.add_argument("sweep_args", nargs=argparse.REMAINDER,
                            help="after --: arguments for each `scrapy sweep` (e.g. -- --platforms weibo)")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        cron = opts.cron or self.settings.get("ADWATCH_SCHEDULE")
        if not cron:
            raise UsageError("no schedule: pass --cron or set ADWATCH_SCHEDULE", print_help=False)
        try:
            schedule = Schedule(cron, ZoneInfo(opts.tz or self.settings.get("ADWATCH_SCHEDULE_TZ")))
        except (ValueError, KeyError) as exc:
            raise UsageError(str(exc), print_help=False) from exc
        sweep_args = [a for a in opts.sweep_args if a != "--"]
        first = schedule.next_after(datetime.now(schedule.tz)).isoformat(timespec="seconds")
        print(f"adwatch: sweeping on {cron!r} ({schedule.tz.key}); first sweep at {first}", flush=True)
        failures = run_schedule(schedule, sweep_process(sweep_args), max_runs=opts.max_runs)
        self.exitcode = 1 if failures else 0
