"""``scrapy report``: render one takedown request per platform from the flagged posts in the store."""

from __future__ import annotations

import argparse
from pathlib import Path

from crawler.command_base import ProjectCommand
from scrapy.settings import BaseSettings

from pipelines.store import SqliteStore, data_dir, store_path
from reports.render import RenderedReport, load_complainant, render_reports


def reports_dir(settings: BaseSettings) -> Path:
    return Path(settings.get("ADWATCH_REPORTS_DIR") or data_dir(settings) / "reports")


def write_reports(settings: BaseSettings, out: str | None = None, platform: str | None = None,
                  complainant: str | None = None, batch_id: str | None = None) -> list[RenderedReport]:
    store = SqliteStore(store_path(settings))
    try:
        posts = list(store.iter_posts(platform=platform, flagged=True))
    finally:
        store.close()
    written = render_reports(posts, load_complainant(complainant or settings.get("ADWATCH_COMPLAINANT")),
                             out or reports_dir(settings), batch_id=batch_id)
    if not written:
        print("adwatch: no flagged posts in the store; no report written", flush=True)
    for report in written:
        print(f"adwatch: {report.platform} takedown request ({report.targets} targets): {report.path}", flush=True)
    return written


class Command(ProjectCommand):
    summary = "Render takedown requests (one per platform) from the flagged posts in the store"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--out", default=None, help="output folder (default: <data dir>/reports)")
        parser.add_argument("--platform", default=None, help="only this platform")
        parser.add_argument("--complainant", default=None, help="complainant YAML (default: ADWATCH_COMPLAINANT)")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        write_reports(self.settings, opts.out, opts.platform, opts.complainant)
