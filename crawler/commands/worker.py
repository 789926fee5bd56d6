"""``scrapy worker``: join a distributed sweep, crawling requests from the shared Redis queue until it is done."""

from __future__ import annotations

import argparse

from scrapy.crawler import Crawler

from crawler.commands.sweep import Command as SweepCommand
from crawler.commands.sweep import parse_origins
from crawler.console import SweepConsole
from crawler.extensions import PlatformSummary
from crawler.distributed import WORKER_ID, apply


class Command(SweepCommand):
    summary = "Join the distributed sweep: crawl requests from the shared Redis queue (see docs/scale.md)"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        for action in list(parser._actions):  # a worker neither starts a simulator nor writes reports
            if action.dest in ("simulate", "no_report", "distributed", "timeout"):
                action.help = argparse.SUPPRESS

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        assert self.settings is not None
        if self.log_path:  # one log per worker process, not per second
            self.log_path = self.log_path.with_name(f"worker-{WORKER_ID}.log")
            self.settings.set("LOG_FILE", str(self.log_path), priority="cmdline")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.crawler_process is not None and self.settings is not None
        if opts.origin:
            self._point_at(parse_origins(opts.origin, list(self.settings.getdict("PLATFORM_ORIGINS"))))
        apply(self.settings, "worker", opts.redis or self.settings.get("ADWATCH_REDIS_URL"))
        names = self._platforms(opts)
        crawlers: list[Crawler] = []
        for name in names:
            crawler = self.crawler_process.create_crawler(name)
            self.crawler_process.crawl(crawler, **opts.spargs)
            crawlers.append(crawler)
        print(f"adwatch: worker {WORKER_ID} on the shared queue of {', '.join(names)}", flush=True)
        console = SweepConsole(crawlers, interval=self.settings.getfloat("ADWATCH_PROGRESS_INTERVAL", 15.0))
        console.start()
        try:
            self.crawler_process.start()
        finally:
            console.stop()
        print(f"\nadwatch worker {WORKER_ID} summary", flush=True)
        for crawler in crawlers:  # the sweep's summary and last-sweep.json are the coordinator's
            stats = dict(crawler.stats.get_stats()) if crawler.stats else {}
            print("  " + PlatformSummary.from_stats(crawler.spidercls.name, stats).line(), flush=True)
        if self.log_path:
            print(f"  log: {self.log_path}", flush=True)
