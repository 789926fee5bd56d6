"""What a person sees while a sweep runs: one live line per platform, then the summary.

On a terminal the lines are a live table (``rich``); elsewhere (cron, CI, a pipe) a plain line per platform every
``ADWATCH_PROGRESS_INTERVAL`` seconds, so a log collector still sees progress. Scrapy's own log goes to a file
(see ``crawler/commands/sweep.py``); this module only reads the crawlers' stats.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, TextIO

from scrapy.crawler import Crawler
from twisted.internet import task


@dataclass(frozen=True)
class Progress:
    """One platform's progress, read from its crawler's stats."""

    platform: str
    pages: int
    posts: int
    flagged: int
    refusals: int
    ocr_queue: int
    state: str

    @classmethod
    def of(cls, crawler: Crawler) -> Progress:
        name = crawler.spidercls.name
        stats: dict[str, Any] = dict(crawler.stats.get_stats()) if crawler.stats else {}

        def total(prefix: str, word: str) -> int:
            return sum(int(v) for k, v in stats.items()
                       if isinstance(v, int) and k.startswith(prefix) and word in k[len(prefix):])

        engine = getattr(crawler, "engine", None)
        scraper_slot = getattr(getattr(engine, "scraper", None), "slot", None)
        if stats.get("finish_reason"):
            state = str(stats["finish_reason"])
        elif engine is not None and getattr(engine, "running", False):
            state = "running"
        else:
            state = "waiting"
        return cls(
            platform=name,
            pages=int(stats.get(f"adwatch/{name}/pages", 0) or 0),
            posts=int(stats.get("item_scraped_count", 0) or 0) + int(stats.get("item_dropped_count", 0) or 0),
            flagged=int(stats.get("adwatch/detect/flagged", 0) or 0),
            refusals=total(f"adwatch/{name}/", "refus") + total(f"adwatch/{name}/", "blocked/"),
            # Items still in the pipelines (media download, OCR): the queue a person waits on.
            ocr_queue=int(getattr(scraper_slot, "itemproc_size", 0) or 0),
            state=state,
        )

    def line(self) -> str:
        return (f"{self.platform:<12} pages {self.pages:>4}  posts {self.posts:>5}  flagged {self.flagged:>4}  "
                f"refusals {self.refusals:>3}  in pipelines {self.ocr_queue:>3}  {self.state}")


class SweepConsole:
    """Shows the crawlers' progress until :meth:`stop`; a live table on a terminal, plain lines otherwise."""

    def __init__(self, crawlers: list[Crawler], stream: TextIO | None = None, interval: float = 15.0,
                 live: bool | None = None) -> None:
        self.crawlers = crawlers
        self.stream = stream or sys.stdout
        self.interval = interval
        self.live_mode = self.stream.isatty() if live is None else live
        self._loop: task.LoopingCall | None = None
        self._live: Any = None

    def rows(self) -> list[Progress]:
        return [Progress.of(c) for c in self.crawlers]

    def start(self) -> None:
        if self.live_mode:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(self._table(), console=Console(file=self.stream), refresh_per_second=2, transient=True)
            self._live.start()
            self._loop = task.LoopingCall(lambda: self._live.update(self._table()))
            self._loop.start(0.5, now=False)
        else:
            self._loop = task.LoopingCall(self._print)
            self._loop.start(self.interval, now=False)

    def stop(self) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        if self._live is not None:
            self._live.stop()
            self._live = None

    def _print(self) -> None:
        running = [p for p in self.rows() if p.state == "running"]
        if running:
            print("progress: " + " | ".join(
                f"{p.platform} {p.pages}p {p.posts} posts {p.flagged} flagged {p.refusals} refused" for p in running),
                file=self.stream, flush=True)

    def _table(self) -> Any:
        from rich.table import Table

        table = Table(title="adwatch sweep", expand=False)
        for col in ("platform", "pages", "posts", "flagged", "refusals", "in pipelines", "state"):
            table.add_column(col, justify="left" if col in ("platform", "state") else "right")
        for p in self.rows():
            table.add_row(p.platform, str(p.pages), str(p.posts), str(p.flagged), str(p.refusals), str(p.ocr_queue),
                          p.state)
        return table
