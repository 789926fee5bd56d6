"""The embedded default store: SQLite (stdlib) with an FTS5 trigram index, so a newcomer needs no server."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Self

from itemadapter import ItemAdapter
from scrapy.settings import BaseSettings

from crawler.items import post_uid, to_plain
from pipelines.base import Stage

_SCHEMA = """
CREATE TABLE IF NOT EXISTS posts (
    uid TEXT PRIMARY KEY,            -- platform:post_id, the id everywhere
    platform TEXT NOT NULL,
    post_id TEXT NOT NULL,
    url TEXT NOT NULL,
    author_id TEXT,
    author_name TEXT,
    published_at TEXT,
    captured_at TEXT,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    flagged INTEGER NOT NULL DEFAULT 0,
    category TEXT,
    score REAL,
    doc TEXT NOT NULL                -- the whole post as JSON (without the raw payload)
);
CREATE INDEX IF NOT EXISTS posts_platform ON posts(platform, flagged);
CREATE INDEX IF NOT EXISTS posts_author ON posts(platform, author_id, first_seen);
CREATE TABLE IF NOT EXISTS raw_payloads (
    sha256 TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
CREATE VIRTUAL TABLE IF NOT EXISTS posts_fts USING fts5(
    uid UNINDEXED, title, text, ocr_text, tokenize = 'trigram'
);
"""


def _utcnow() -> str:
    return datetime.now(timezone.utc).isoformat()


class SqliteStore:
    """Posts keyed by ``platform:post_id``; upserts are idempotent; raw payloads are content-addressed.

    Safe to share between threads (one connection guarded by a lock): Scrapy calls it from the reactor
    thread, the simulator-driven tests and the report command from their own.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> Self:
        return cls(store_path(settings))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def archive_raw(self, payload: Any) -> str:
        """Keep the platform's raw payload once, by SHA-256 of its canonical JSON; return ``sha256:<hex>``."""
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str)
        digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
        with self._lock, self._db:
            self._db.execute("INSERT OR IGNORE INTO raw_payloads(sha256, body) VALUES (?, ?)", (digest, body))
        return f"sha256:{digest}"

    def raw(self, ref: str) -> Any:
        digest = ref.removeprefix("sha256:")
        with self._lock:
            row = self._db.execute("SELECT body FROM raw_payloads WHERE sha256 = ?", (digest,)).fetchone()
        return json.loads(row["body"]) if row else None

    def upsert(self, doc: dict[str, Any]) -> bool:
        """Insert or update one post (a plain dict as :func:`crawler.items.to_plain` makes); True if new."""
        uid = post_uid(doc["platform"], doc["post_id"])
        doc = {k: v for k, v in doc.items() if k != "raw"}
        detection = doc.get("detection") or {}
        author = doc.get("author") or {}
        now = _utcnow()
        row = (
            uid, doc["platform"], str(doc["post_id"]), doc["url"], author.get("id"), author.get("name"),
            doc.get("published_at"), doc.get("captured_at"), now, now, int(bool(doc.get("flagged"))),
            detection.get("category"), detection.get("score"), json.dumps(doc, ensure_ascii=False),
        )
        with self._lock, self._db:
            new = self._db.execute("SELECT 1 FROM posts WHERE uid = ?", (uid,)).fetchone() is None
            self._db.execute(
                """INSERT INTO posts(uid, platform, post_id, url, author_id, author_name, published_at,
                       captured_at, first_seen, last_seen, flagged, category, score, doc)
                   VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)
                   ON CONFLICT(uid) DO UPDATE SET url=excluded.url, author_id=excluded.author_id,
                       author_name=excluded.author_name, published_at=excluded.published_at,
                       captured_at=excluded.captured_at, last_seen=excluded.last_seen,
                       flagged=excluded.flagged, category=excluded.category, score=excluded.score,
                       doc=excluded.doc""",
                row,
            )
            self._db.execute("DELETE FROM posts_fts WHERE uid = ?", (uid,))
            self._db.execute(
                "INSERT INTO posts_fts(uid, title, text, ocr_text) VALUES (?,?,?,?)",
                (uid, doc.get("title") or "", doc.get("text") or "", doc.get("ocr_text") or ""),
            )
        return new

    def _where(self, platform: str | None, flagged: bool | None) -> tuple[str, list[Any]]:
        clauses, args = [], []
        if platform is not None:
            clauses.append("platform = ?")
            args.append(platform)
        if flagged is not None:
            clauses.append("flagged = ?")
            args.append(int(flagged))
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", args

    def count(self, platform: str | None = None, flagged: bool | None = None) -> int:
        where, args = self._where(platform, flagged)
        with self._lock:
            return self._db.execute(f"SELECT COUNT(*) FROM posts{where}", args).fetchone()[0]

    def iter_posts(self, platform: str | None = None, flagged: bool | None = None) -> Iterator[dict[str, Any]]:
        """Every stored post as a plain dict (plus ``uid``, ``first_seen``, ``last_seen``), oldest first."""
        where, args = self._where(platform, flagged)
        with self._lock:
            rows = self._db.execute(
                f"SELECT uid, first_seen, last_seen, doc FROM posts{where} ORDER BY first_seen, uid", args
            ).fetchall()
        for row in rows:
            yield _row_doc(row)

    def get(self, uid: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT uid, first_seen, last_seen, doc FROM posts WHERE uid = ?", (uid,)).fetchone()
        return None if row is None else _row_doc(row)

    def seen(self, uids: list[str]) -> dict[str, tuple[str, str]]:
        """``{uid: (first_seen, last_seen)}`` of the stored ones among ``uids``, without loading the posts."""
        out: dict[str, tuple[str, str]] = {}
        for chunk in _chunks(uids):
            marks = ",".join("?" * len(chunk))
            with self._lock:
                rows = self._db.execute(
                    f"SELECT uid, first_seen, last_seen FROM posts WHERE uid IN ({marks})", chunk
                ).fetchall()
            out.update((r[0], (r[1], r[2])) for r in rows)
        return out

    def authors_first_seen(self, authors: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """``{(platform, author_id): first_seen of the account's first stored post}`` (for "new accounts")."""
        by_platform: dict[str, list[str]] = {}
        for platform, author_id in authors:
            by_platform.setdefault(platform, []).append(author_id)
        out: dict[tuple[str, str], str] = {}
        for platform, ids in by_platform.items():
            for chunk in _chunks(ids):
                marks = ",".join("?" * len(chunk))
                with self._lock:
                    rows = self._db.execute(  # posts_author index: one seek per account
                        f"SELECT author_id, MIN(first_seen) FROM posts WHERE platform = ? AND author_id IN ({marks})"
                        " GROUP BY author_id", [platform, *chunk]
                    ).fetchall()
                out.update(((platform, r[0]), r[1]) for r in rows)
        return out

    def search(self, query: str, limit: int = 100) -> list[str]:
        """Full-text search (trigram: any substring of three or more characters); returns uids."""
        phrase = '"' + query.replace('"', '""') + '"'
        with self._lock:
            rows = self._db.execute(
                "SELECT uid FROM posts_fts WHERE posts_fts MATCH ? LIMIT ?", (phrase, limit)
            ).fetchall()
        return [r["uid"] for r in rows]


def _row_doc(row: sqlite3.Row) -> dict[str, Any]:
    """A stored post as a plain dict, with the store's own ``uid``, ``first_seen`` and ``last_seen``."""
    doc = json.loads(row["doc"])
    doc.update(uid=row["uid"], first_seen=row["first_seen"], last_seen=row["last_seen"])
    return doc


def _chunks(values: list[Any], size: int = 400) -> Iterator[list[Any]]:
    """Keep every statement under SQLite's bound-parameter limit."""
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


def data_dir(settings: BaseSettings) -> Path:
    return Path(settings.get("ADWATCH_DATA_DIR") or "var")


def store_path(settings: BaseSettings) -> Path:
    return Path(settings.get("ADWATCH_STORE_PATH") or data_dir(settings) / "adwatch.sqlite3")


@dataclass(frozen=True)
class StoreConfig:
    path: Path
    spool: Path  # where posts go if the database itself fails, so nothing collected is lost


class StoreStage(Stage):
    """Upsert every post into the embedded store; archive its raw payload by SHA-256."""

    name = "store"

    @classmethod
    def config_from_settings(cls, settings: BaseSettings) -> StoreConfig:
        return StoreConfig(path=store_path(settings), spool=data_dir(settings) / "store-spool.jsonl")

    def open_spider(self) -> None:
        self.store = SqliteStore(self.config.path)

    def close_spider(self) -> None:
        self.store.close()

    def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        platform = adapter["platform"]
        try:
            if adapter.get("raw") is not None and not adapter.get("raw_ref"):
                adapter["raw_ref"] = self.store.archive_raw(adapter["raw"])
            new = self.store.upsert(to_plain(adapter.asdict()))
        except sqlite3.Error as exc:
            self.count("failed", platform=platform)
            self.warn_once("failed", "store: SQLite failed (%s); spooling posts to %s", exc, self.config.spool)
            self.config.spool.parent.mkdir(parents=True, exist_ok=True)
            with self.config.spool.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(to_plain(adapter.asdict()), ensure_ascii=False) + "\n")
            return item
        self.count("stored", platform=platform)
        self.count("new" if new else "updated", platform=platform)
        return item
