"""``scrapy evidence-package BATCH``: seal one batch's evidence into a folder and a .zip (see reports/evidence)."""

from __future__ import annotations

import argparse

from scrapy.exceptions import UsageError

from crawler.command_base import ProjectCommand
from crawler.commands.report import reports_dir
from pipelines.media import media_store
from pipelines.store import SqliteStore, store_path
from reports.evidence import EvidenceConfig
from reports.evidence.package import seal_batch
from reports.evidence.timestamp import TimestampError


class Command(ProjectCommand):
    summary = "Seal a batch's evidence: files, SHA-256 manifest, RFC 3161 token, capture records, index (.zip)"

    def syntax(self) -> str:
        return "BATCH [options]"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--platform", default=None, help="only this platform's posts")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        if len(args) != 1:
            raise UsageError("give one batch id (a folder name under the reports folder, e.g. AW-20261130-101500)")
        batch = args[0]
        folder = reports_dir(self.settings) / batch
        if not folder.is_dir():
            raise UsageError(f"no batch {batch!r} under {reports_dir(self.settings)}")
        config = EvidenceConfig.from_settings(self.settings)
        store = SqliteStore(store_path(self.settings))
        try:
            posts = list(store.iter_posts(platform=opts.platform, flagged=True))
            sealed = seal_batch(config, batch, posts, folder, media_store(self.settings), store.raw)
        except TimestampError as exc:
            print(f"adwatch: cannot timestamp the manifest: {exc}", flush=True)
            self.exitcode = 1
            return
        finally:
            store.close()
        when = f", timestamped {sealed.stamped_at.isoformat()}" if sealed.stamped_at else ", NOT timestamped (no ADWATCH_TSA_URL)"
        print(f"adwatch: sealed {sealed.files} files{when}: {sealed.archive}", flush=True)
