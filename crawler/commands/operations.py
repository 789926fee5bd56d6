"""``scrapy operations [ID] [--pdf] [--link]``: the operations (团伙) found so far, or one operation's report.

    scrapy operations               # list: id, posts, accounts, platforms, first / last seen, contacts
    scrapy operations op-1a2b3c4d   # write <reports dir>/operations/<id>.html (and .pdf with --pdf)
    scrapy operations --link        # link stored flagged posts not linked yet (a store from before operations)
"""

from __future__ import annotations

import argparse
from pathlib import Path

from scrapy.exceptions import UsageError

from crawler.command_base import ProjectCommand
from pipelines.accounts import AccountBook
from pipelines.clues.book import ClueBook
from pipelines.operations import OperationBook
from pipelines.store import SqliteStore, data_dir, store_path
from reports.operations import render_operation


class Command(ProjectCommand):
    summary = "List operations (linked accounts and posts), or write one operation's report"

    def syntax(self) -> str:
        return "[ID] [--pdf] [--out DIR] [--link]"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--pdf", action="store_true", help="also print the report to PDF (Chromium)")
        parser.add_argument("--out", default=None, help="report folder (default <reports dir>/operations)")
        parser.add_argument("--link", action="store_true", help="link stored flagged posts not linked yet")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        if len(args) > 1:
            raise UsageError("at most one operation id")
        s = self.settings
        path = store_path(s)
        book = OperationBook(path, min_accounts=s.getint("ADWATCH_OPERATIONS_MIN_ACCOUNTS", 2))
        try:
            if opts.link:
                with _store(path) as store:
                    changed = book.add_posts(store.iter_posts(flagged=True))
                print(f"linked: {len(changed)} posts and accounts changed operation", flush=True)
            if args:
                self._report(book, args[0], path, opts)
            elif not opts.link:
                self._list(book)
        finally:
            book.close()

    def _list(self, book: OperationBook) -> None:
        ops = book.operations()
        if not ops:
            print("no operations yet (a sweep links flagged posts; `scrapy operations --link` links a store)")
            return
        print(f"{'operation':<17} {'posts':>5} {'accts':>5}  {'platforms':<26} {'first seen':<20} {'last seen':<20} contacts")
        for op in ops:
            print(f"{op.id:<17} {op.size:>5} {len(op.accounts):>5}  {','.join(op.platforms):<26} "
                  f"{op.first_seen[:19]:<20} {op.last_seen[:19]:<20} {', '.join(op.contacts[:3])}", flush=True)

    def _report(self, book: OperationBook, op_id: str, path: Path, opts: argparse.Namespace) -> None:
        op = book.operation(op_id)
        if op is None:
            print(f"adwatch: no operation {op_id!r} (`scrapy operations` lists them)", flush=True)
            self.exitcode = 1
            return
        s = self.settings
        out = Path(opts.out) if opts.out else Path(s.get("ADWATCH_REPORTS_DIR") or data_dir(s) / "reports") / "operations"
        chromium = (s.getdict("PLAYWRIGHT_LAUNCH_OPTIONS").get("executable_path") or "/usr/bin/chromium") if opts.pdf else None
        with _store(path) as store:
            accounts, clues = AccountBook(path), ClueBook(path)
            try:
                done = render_operation(op, store, accounts, clues, out, pdf_chromium=chromium)
            finally:
                accounts.close()
                clues.close()
        print(f"operation {op.id}: {op.size} posts, {len(op.accounts)} accounts -> {done.html}"
              + (f" and {done.pdf}" if done.pdf else ""), flush=True)


class _store:
    """``with _store(path) as store``: the store, closed afterwards."""

    def __init__(self, path: Path) -> None:
        self.store = SqliteStore(path)

    def __enter__(self) -> SqliteStore:
        return self.store

    def __exit__(self, *exc: object) -> None:
        self.store.close()
