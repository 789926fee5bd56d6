"""``scrapy recheck``: re-visit filed takedown targets whose check is due (removed, still online, re-emerged)."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from datetime import datetime, timezone

from scrapy.exceptions import NotConfigured, UsageError

from crawler.command_base import ProjectCommand
from crawler.recheck import find_reemergence, plan, record, recheck_spider, watch
from crawler.utils import parse_iso
from pipelines.es_client import EsConfig, make_client
from pipelines.store import SqliteStore
from reports.desk.config import DeskConfig
from reports.desk.db import DeskDb, utc_iso
from reports.desk.results import index_results, results


class Command(ProjectCommand):
    requires_crawler_process = True
    summary = "Re-check filed takedown targets that are due (ADWATCH_RECHECK_AFTER): removed, online, re-emerged"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--all", action="store_true", help="also check every filed target now, due or not")
        parser.add_argument("--as-of", default=None, metavar="ISO",
                            help="the time the checks are made at (default: now; for back-filled runs and tests)")
        parser.add_argument("--watch", action="store_true",
                            help="keep running: start a re-check whenever one is due (every --interval seconds)")
        parser.add_argument("--interval", type=float, default=300.0, help="--watch: seconds between looks")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None and self.crawler_process is not None
        cfg = DeskConfig.from_settings(self.settings)
        now = parse_iso(opts.as_of) if opts.as_of else datetime.now(timezone.utc)
        if now is None or now.tzinfo is None:
            raise UsageError("--as-of takes an ISO 8601 time with its offset, e.g. 2026-11-30T12:00:00+08:00")
        db = DeskDb(cfg.store)
        try:
            if opts.watch:
                argv = [sys.executable, "-m", "scrapy", "recheck"]
                self.exitcode = int(bool(watch(db, lambda: subprocess.call(argv), opts.interval,
                                               lambda: utc_iso(datetime.now(timezone.utc)), time.sleep)))
                return
            self._run_once(cfg, db, now, opts.all)
        finally:
            db.close()

    def _run_once(self, cfg: DeskConfig, db: DeskDb, now: datetime, every: bool) -> None:
        assert self.settings is not None and self.crawler_process is not None
        loader = self.crawler_process.spider_loader
        todo = plan(db, now, {name: loader.load(name) for name in loader.list()}, every)
        for platform, n in sorted(todo.unsupported.items()):
            print(f"adwatch: {platform}: {n} checks wait (the spider cannot fetch a single post yet)", flush=True)
        crawlers = {}
        for platform, ids in sorted(todo.by_platform.items()):
            crawler = self.crawler_process.create_crawler(recheck_spider(loader.load(platform), ids))
            self.crawler_process.crawl(crawler)
            crawlers[platform] = crawler
        if crawlers:
            self.crawler_process.start()
        found = {p: dict(getattr(c.spider, "recheck_found", None) or {}) for p, c in crawlers.items()}
        counts = record(db, todo, found, now)
        store = SqliteStore(cfg.store)
        try:
            again = find_reemergence(db, store.iter_posts(), now)
        finally:
            store.close()
        print(f"adwatch: re-checked {len(todo.due)} targets: {counts['removed']} removed, {counts['online']} online, "
              f"{counts['error']} without answer; {again} new re-emergence(s)", flush=True)
        self._index(db, cfg, now)

    def _index(self, db: DeskDb, cfg: DeskConfig, now: datetime) -> None:
        assert self.settings is not None
        try:
            es = EsConfig.from_settings(self.settings)
        except NotConfigured:
            return
        client = make_client(es)
        try:
            n = index_results(client, f"{es.index}-takedowns", results(db, cfg.still_online_after), now)
            print(f"adwatch: {n} result documents indexed into {es.index}-takedowns", flush=True)
        except Exception as exc:  # the index is a view of the store: a failure loses nothing
            print(f"adwatch: results not indexed ({type(exc).__name__}): run `scrapy recheck` again later", flush=True)
        finally:
            client.close()
