"""``scrapy ocr-worker``: read pictures for the crawlers of a distributed sweep (``ADWATCH_OCR_QUEUE=1``)."""

from __future__ import annotations

import argparse

from crawler.command_base import ProjectCommand
from pipelines.ocr_queue import serve


class Command(ProjectCommand):
    summary = "Answer OCR jobs from the shared Redis queue (OCR cores apart from crawlers; docs/scale.md)"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--redis", default="", metavar="URL", help="Redis URL (default ADWATCH_REDIS_URL)")
        parser.add_argument("--max-jobs", type=int, default=0, help="stop after this many jobs (default: never)")
        parser.add_argument("--idle-exit", type=float, default=0.0,
                            help="stop after this many seconds without a job (default: never)")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        done = serve(self.settings, opts.redis or self.settings.get("ADWATCH_REDIS_URL"), opts.max_jobs,
                     opts.idle_exit)
        print(f"adwatch ocr-worker: {done} jobs answered", flush=True)
