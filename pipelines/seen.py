"""What incremental sweeps remember: each stored post per platform and keyword, first and last stored, and when
each keyword was last swept in full. Written after the store (a post counts as seen once it is kept)."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from itemadapter import ItemAdapter
from scrapy.settings import BaseSettings

from crawler.items import AdPost
from pipelines.base import Stage
from pipelines.store import data_dir

_SCHEMA = """
CREATE TABLE IF NOT EXISTS seen (
    platform TEXT NOT NULL,
    post_id TEXT NOT NULL,
    keyword TEXT NOT NULL,          -- '' when the post came without one (add-url, re-check)
    first_seen REAL NOT NULL,       -- epoch seconds, first stored
    last_seen REAL NOT NULL,        -- epoch seconds, last stored (engagement refreshed)
    PRIMARY KEY (platform, post_id, keyword)
);
CREATE TABLE IF NOT EXISTS keywords (
    platform TEXT NOT NULL,
    keyword TEXT NOT NULL,
    last_full REAL NOT NULL,        -- the last run that read every result page of this keyword
    PRIMARY KEY (platform, keyword)
);
"""


def seen_path(settings: BaseSettings) -> Path:
    return Path(settings.get("ADWATCH_SEEN_PATH") or data_dir(settings) / "seen.sqlite3")


class SeenMemory:
    """The incremental-sweep memory (SQLite, WAL: the spider reads while the pipeline writes)."""

    def __init__(self, path: str | Path, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.clock = clock
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def record(self, platform: str, post_id: str, keyword: str | None) -> None:
        now = self.clock()
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO seen(platform, post_id, keyword, first_seen, last_seen) VALUES (?,?,?,?,?)"
                " ON CONFLICT(platform, post_id, keyword) DO UPDATE SET last_seen = excluded.last_seen",
                (platform, post_id, keyword or "", now, now),
            )

    def post(self, platform: str, post_id: str) -> tuple[float, float] | None:
        """``(first_seen, last_seen)`` of a stored post over all keywords, or None if never stored."""
        with self._lock:
            row = self._db.execute("SELECT MIN(first_seen), MAX(last_seen) FROM seen WHERE platform = ? AND post_id = ?",
                                   (platform, post_id)).fetchone()
        return None if row is None or row[0] is None else (row[0], row[1])

    def last_full(self, platform: str, keyword: str) -> float | None:
        with self._lock:
            row = self._db.execute("SELECT last_full FROM keywords WHERE platform = ? AND keyword = ?",
                                   (platform, keyword)).fetchone()
        return None if row is None else row[0]

    def swept_in_full(self, platform: str, keywords: list[str], when: float) -> None:
        with self._lock, self._db:
            self._db.executemany(
                "INSERT INTO keywords(platform, keyword, last_full) VALUES (?,?,?)"
                " ON CONFLICT(platform, keyword) DO UPDATE SET last_full = excluded.last_full",
                [(platform, k, when) for k in keywords],
            )


@dataclass(frozen=True)
class SeenConfig:
    path: Path


class SeenStage(Stage):
    """Remembers every stored post (platform, keyword, when) for the next incremental sweep."""

    name = "seen"

    @classmethod
    def config_from_settings(cls, settings: BaseSettings) -> SeenConfig:
        return SeenConfig(path=seen_path(settings))

    def open_spider(self) -> None:
        self.memory = SeenMemory(self.config.path)

    def close_spider(self) -> None:
        self.memory.close()

    def process_item(self, item: Any) -> Any:
        if isinstance(item, AdPost):
            adapter = ItemAdapter(item)
            try:
                self.memory.record(adapter["platform"], str(adapter["post_id"]), adapter.get("keyword"))
                if listing_id := adapter.get("listing_id"):  # what the result list calls it (WeChat)
                    self.memory.record(adapter["platform"], str(listing_id), adapter.get("keyword"))
            except sqlite3.Error as exc:  # the post is stored; only the next sweep's shortcut is lost
                self.count("failed", platform=adapter["platform"])
                self.warn_once("failed", "seen: could not remember a post (%s); the next sweep reads it again", exc)
                return item
            self.count("recorded", platform=adapter["platform"])
        return item
