"""``scrapy report``: render one takedown request per platform from the flagged posts in the store."""

from __future__ import annotations

import argparse
from pathlib import Path

from crawler.command_base import ProjectCommand
from scrapy.settings import BaseSettings

from pipelines.accounts import AccountBook
from pipelines.store import SqliteStore, data_dir, store_path
from reports.formats import write_formats
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
    filer = load_complainant(complainant or settings.get("ADWATCH_COMPLAINANT"))
    accounts = AccountBook(store_path(settings))  # the records of the accounts each request asks for
    try:
        written = render_reports(posts, filer, out or reports_dir(settings), batch_id=batch_id, accounts=accounts)
        if not written:
            print("adwatch: no flagged posts in the store; no report written", flush=True)
        formats = settings.getlist("ADWATCH_REPORT_FORMATS")
        chromium = (settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS") or {}).get("executable_path") or "/usr/bin/chromium"
        for report in written:
            if formats:  # PDF (Chromium), CSV, XLSX and the 12377 version beside the HTML request
                write_formats(report.path, [p for p in posts if p["platform"] == report.platform], filer,
                              report.path.parent.name, chromium, formats=formats, accounts=accounts)
            print(f"adwatch: {report.platform} takedown request ({report.targets} targets): {report.path}"
                  + (f" (+ {', '.join(formats)})" if formats else "")
                  + (f"; {report.accounts} account(s) to be dealt with" if report.accounts else ""), flush=True)
    finally:
        accounts.close()
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
