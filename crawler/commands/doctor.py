"""``scrapy doctor``: check what a sweep needs; one line per check, non-zero exit when any fails."""

from __future__ import annotations

import argparse

from crawler.command_base import ProjectCommand
from crawler.doctor import run_checks


class Command(ProjectCommand):
    summary = "Check the browser, fonts, OCR models, store, Elasticsearch and complainant file a sweep needs"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--demo", action="store_true",
                            help="check what `make demo` needs (the example complainant is accepted)")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        findings = run_checks(self.settings, demo=opts.demo)
        for f in findings:
            print(f"{'ok  ' if f.ok else 'FAIL'} {f.name:<14} {f.line}", flush=True)
        failed = [f for f in findings if not f.ok]
        print(f"adwatch doctor: {len(failed)} problem(s)" if failed else "adwatch doctor: all checks passed", flush=True)
        self.exitcode = 1 if failed else 0
