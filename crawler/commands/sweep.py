"""``scrapy sweep``: search every platform of the watchlist, store what is found, render the takedown reports."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from crawler.command_base import ProjectCommand
from scrapy.crawler import Crawler
from scrapy.exceptions import UsageError
from scrapy.utils.conf import arglist_to_dict

from crawler.extensions import PlatformSummary
from crawler.platforms.base import load_keywords
from crawler.items import to_plain
from crawler.console import SweepConsole
from crawler.utils import CN_TZ
from pipelines.media import media_store
from pipelines.store import SqliteStore, data_dir, store_path
from reports.evidence import EvidenceConfig
from reports.evidence.capture import capture_posts, load_index
from reports.evidence.package import seal_batch
from reports.sweep_index import write_sweep_index


def parse_origins(value: str, platforms: list[str]) -> dict[str, str]:
    """``URL`` (every platform) or ``name=URL,name=URL`` (each its own) → {platform: origin}."""
    if "=" not in value.split("://", 1)[0]:
        return {name: value.rstrip("/") for name in platforms}
    origins: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in value.split(","))):
        name, sep, url = part.partition("=")
        if not sep or not url:
            raise UsageError(f"--origin: {part!r} is not NAME=URL")
        origins[name.strip()] = url.strip().rstrip("/")
    return origins


class Command(ProjectCommand):
    requires_crawler_process = True
    summary = "Search all platforms of the watchlist, store the posts and write takedown reports"
    default_settings = {"LOG_LEVEL": "INFO"}

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("-a", dest="spargs", action="append", default=[], metavar="NAME=VALUE",
                            help="spider argument for every platform (keywords=a,b  watchlist=FILE  max_pages=N)")
        parser.add_argument("--platforms", default="", help="comma-separated platforms (default: the watchlist's)")
        parser.add_argument("--simulate", action="store_true",
                            help="start the bundled platform simulator and sweep it instead of the real sites")
        parser.add_argument("--origin", default="", metavar="URL | NAME=URL,…",
                            help="send every platform's requests to this origin, or each named one to its own")
        parser.add_argument("--no-report", action="store_true", help="store only; do not render reports")
        parser.add_argument("--distributed", action="store_true",
                            help="seed the shared Redis queue, wait for `scrapy worker` processes to crawl it, report")
        parser.add_argument("--redis", default="", metavar="URL", help="Redis of --distributed (default ADWATCH_REDIS_URL)")
        parser.add_argument("--timeout", type=float, default=24 * 3600.0,
                            help="--distributed: give up waiting for the workers after this many seconds")
        parser.add_argument("-v", "--verbose", action="store_true",
                            help="Scrapy's log on the console too (by default it goes to <data dir>/logs/<batch>.log)")

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        try:
            opts.spargs = arglist_to_dict(opts.spargs)
        except ValueError as exc:
            raise UsageError("Invalid -a value, use -a NAME=VALUE", print_help=False) from exc
        assert self.settings is not None
        self.batch_id = datetime.now(CN_TZ).strftime("AW-%Y%m%d-%H%M%S")
        self.log_path: Path | None = None
        if not opts.verbose and not opts.logfile and not opts.nolog:
            # People read the progress lines and the summary; the detail goes to a file they open when needed.
            self.log_path = data_dir(self.settings) / "logs" / f"{self.batch_id}.log"
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self.settings.set("LOG_FILE", str(self.log_path), priority="cmdline")
            self.settings.set("LOG_LEVEL", self.settings.get("ADWATCH_LOG_LEVEL") or "INFO", priority="cmdline")
        self.settings.set("ADWATCH_RUN_ID", self.batch_id, priority="cmdline")  # the run history's key

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.crawler_process is not None and self.settings is not None
        simulator = tsa = None
        origin = opts.origin
        if opts.simulate:
            from tests.simulator import Simulator  # the demo's stand-in for the real platforms
            from tests.tsa import LocalTsa  # and for a national time-stamping authority

            simulator = Simulator().start()
            origin = simulator.origin_arg
            if not self.settings.get("ADWATCH_TSA_URL"):
                tsa = LocalTsa().start()
                self.settings.set("ADWATCH_TSA_URL", tsa.url, priority="cmdline")
                self.settings.set("ADWATCH_TSA_CA_FILE", str(tsa.ca_file), priority="cmdline")
        if origin:
            self._point_at(parse_origins(origin, list(self.settings.getdict("PLATFORM_ORIGINS"))))
        names = self._platforms(opts)
        crawlers: list[Crawler] = []
        if opts.distributed:  # the queue is filled here and crawled by `scrapy worker` processes
            from crawler.coordinator import Coordinator

            coordinator = Coordinator(self.settings, self.crawler_process, opts.redis, self.batch_id)
        for name in names:
            crawler = self.crawler_process.create_crawler(name)
            self.crawler_process.crawl(crawler, **opts.spargs)
            crawlers.append(crawler)
        print(f"adwatch: sweeping {', '.join(names)}" + (" on the bundled simulator" if simulator else "")
              + (" with the workers on the shared queue" if opts.distributed else ""), flush=True)
        console = SweepConsole(crawlers, interval=self.settings.getfloat("ADWATCH_PROGRESS_INTERVAL", 15.0))
        console.start()
        try:
            try:
                self.crawler_process.start()
            finally:
                console.stop()
            if opts.distributed:
                record = self._summarise_stats(coordinator.finish(names, opts.timeout))
            else:
                record = self._summarise(crawlers)
            if not opts.no_report:
                self._report(record)  # captures pages too: the platforms (or the simulator) must still answer
        finally:
            if simulator is not None:
                simulator.stop()
            if tsa is not None:
                tsa.stop()
        if self.log_path:
            print(f"  log: {self.log_path}", flush=True)

    def _point_at(self, origins: dict[str, str]) -> None:
        """Platforms (and the media host rule) go to ``origins``: how the demo and tests reach the simulator."""
        assert self.settings is not None
        merged = {**self.settings.getdict("PLATFORM_ORIGINS"), **origins}
        self.settings.set("PLATFORM_ORIGINS", merged, priority="cmdline")
        self.settings.set("ADWATCH_SIMULATOR_ORIGINS", sorted(set(origins.values())), priority="cmdline")
        # The simulator is ours: no need to be polite to it.
        self.settings.set("AUTOTHROTTLE_ENABLED", False, priority="cmdline")

    def _platforms(self, opts: argparse.Namespace) -> list[str]:
        assert self.crawler_process is not None and self.settings is not None
        known = set(self.crawler_process.spider_loader.list())
        if opts.platforms:
            names = [n.strip() for n in opts.platforms.split(",") if n.strip()]
        else:
            watchlist = opts.spargs.get("watchlist") or self.settings.get("ADWATCH_WATCHLIST")
            names = [n for n in sorted(known)
                     if opts.spargs.get("keywords") or load_keywords(n, watchlist, None)]
        unknown = [n for n in names if n not in known]
        if unknown:
            raise UsageError(f"unknown platform(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        if not names:
            raise UsageError("no platform has keywords: check the watchlist or pass -a keywords=…")
        return names

    def _summarise(self, crawlers: list[Crawler]) -> dict[str, Any]:
        return self._summarise_stats({crawler.spidercls.name: dict(crawler.stats.get_stats()) if crawler.stats else {}
                                      for crawler in crawlers})

    def _summarise_stats(self, by_platform: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """Print one line per platform and keep every platform's stats in ``<data dir>/last-sweep.json``."""
        assert self.settings is not None
        print("\nadwatch sweep summary", flush=True)
        record: dict[str, Any] = {}
        for name, stats in by_platform.items():
            summary = PlatformSummary.from_stats(name, stats)
            print("  " + summary.line(), flush=True)
            record[name] = {"summary": asdict(summary), "stats": to_plain(stats)}
        print(f"  store: {store_path(self.settings)}", flush=True)
        out = data_dir(self.settings) / "last-sweep.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(record, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
        return record

    def _report(self, record: dict[str, Any]) -> None:
        from crawler.commands.report import reports_dir, write_reports

        assert self.settings is not None
        store = SqliteStore(store_path(self.settings))
        try:
            flagged = [p for name in record for p in store.iter_posts(platform=name, flagged=True)]
            evidence = EvidenceConfig.from_settings(self.settings)
            if evidence.capture:
                done = load_index(evidence)
                captured = capture_posts(evidence, [p for p in flagged if f"{p['platform']}:{p['post_id']}" not in done])
                if captured:
                    print(f"  captured {sum(not c.error for c in captured)} of {len(captured)} flagged pages "
                          f"in the browser", flush=True)
            written = write_reports(self.settings, batch_id=self.batch_id)
            page = write_sweep_index(reports_dir(self.settings), self.batch_id, record, written, flagged,
                                     media_store(self.settings), self.log_path)
            if written and self.settings.getbool("ADWATCH_EVIDENCE_SEAL", True):
                sealed = seal_batch(evidence, self.batch_id, flagged, reports_dir(self.settings) / self.batch_id,
                                    media_store(self.settings), store.raw)
                stamped = "timestamped" if sealed.stamped_at else "not timestamped (no ADWATCH_TSA_URL)"
                print(f"  evidence: {sealed.archive} ({sealed.files} files, {stamped})", flush=True)
        finally:
            store.close()
        print(f"  open first: {page}", flush=True)

