"""Accounts as records of their own: one per platform account, kept up to date as its posts are stored.

An account record (``platform:account_id``) holds its name, bio, verification and followers (from its profile, see
crawler/followups.py), when we first and last saw it, its posts and flagged posts, the contacts of its flagged posts
and bio, and a score (how sure we are it is a traffic account: its flagged posts' scores combined as independent
evidence). Tables of their own in the store's SQLite file; documents in an accounts index when Elasticsearch is
configured. Takedown reports and operation reports read accounts from here.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from itemadapter import ItemAdapter
from scrapy.exceptions import NotConfigured
from scrapy.settings import BaseSettings

from crawler.items import to_plain
from pipelines import es_schema
from pipelines.base import Stage
from pipelines.sidetables import open_tables
from pipelines.clues.book import ClueBook
from pipelines.clues.fields import account_fields
from pipelines.clues.normalise import account_key
from pipelines.es_client import EsConfig, make_client
from pipelines.store import store_path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    key TEXT PRIMARY KEY,            -- platform:account_id (pipelines.clues.normalise.account_key)
    platform TEXT NOT NULL, account_id TEXT NOT NULL, name TEXT, url TEXT, bio TEXT, verified INTEGER,
    followers INTEGER, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS account_posts (
    key TEXT NOT NULL, uid TEXT NOT NULL, flagged INTEGER NOT NULL, score REAL, contacts TEXT NOT NULL,
    PRIMARY KEY (key, uid)
) WITHOUT ROWID;
"""
_UPSERT = """INSERT INTO accounts VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT(key) DO UPDATE SET
    name=COALESCE(excluded.name, name), url=COALESCE(excluded.url, url), bio=COALESCE(excluded.bio, bio),
    verified=COALESCE(excluded.verified, verified), followers=COALESCE(excluded.followers, followers),
    last_seen=excluded.last_seen"""


@dataclass
class Account:
    """One platform account and what its posts say about it."""

    key: str
    platform: str
    account_id: str
    name: str | None
    url: str | None
    bio: str | None
    verified: bool | None
    followers: int | None
    first_seen: str
    last_seen: str
    posts: list[str]
    flagged_posts: list[str]
    contacts: list[str]  # "kind:value", most used first
    score: float

    def to_doc(self) -> dict[str, Any]:
        return {**self.__dict__, "post_count": len(self.posts), "flagged_count": len(self.flagged_posts)}


class AccountBook:
    """The account tables of one store file (thread-safe: one connection behind a lock)."""

    def __init__(self, path: str | Path) -> None:
        self._lock = threading.Lock()
        self._db = open_tables(path, _SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def record(self, post: dict[str, Any], now: str | None = None) -> str | None:
        """Count one stored post (a plain dict) for its author's account; returns the account key."""
        author = post.get("author") or {}
        key = account_key(post.get("platform") or "", author.get("id")) if author.get("id") else None
        if key is None:
            return None
        now = now or datetime.now(timezone.utc).isoformat()
        verified = author.get("verified")
        contacts = sorted({f"{c['kind']}:{c['value']}" for c in post.get("contacts") or []
                           if isinstance(c, dict) and c.get("kind") and c.get("value")})
        uid = post.get("uid") or f"{post['platform']}:{post['post_id']}"
        score = (post.get("detection") or {}).get("score")
        with self._lock, self._db:
            self._db.execute(_UPSERT, (key, post["platform"], key.partition(":")[2], author.get("name"),
                                       author.get("url"), author.get("bio"),
                                       None if verified is None else int(bool(verified)), author.get("followers"),
                                       now, now))
            self._db.execute("INSERT OR REPLACE INTO account_posts VALUES (?,?,?,?,?)",
                             (key, uid, int(bool(post.get("flagged"))), score, json.dumps(contacts)))
        return key

    def get(self, key: str) -> Account | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM accounts WHERE key = ?", (key,)).fetchone()
            posts = self._db.execute("SELECT uid, flagged, score, contacts FROM account_posts WHERE key = ?"
                                     " ORDER BY uid", (key,)).fetchall()
        return None if row is None else _account(row, posts)

    def __iter__(self) -> Iterator[Account]:
        with self._lock:
            keys = [r[0] for r in self._db.execute("SELECT key FROM accounts ORDER BY key")]
        for key in keys:
            if (account := self.get(key)) is not None:
                yield account

    def count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM accounts").fetchone()[0]


def _account(row: tuple[Any, ...], posts: list[tuple[Any, ...]]) -> Account:
    key, platform, account_id, name, url, bio, verified, followers, first_seen, last_seen = row
    flagged = [p for p in posts if p[1]]
    counts: dict[str, int] = {}
    for p in flagged:
        for c in json.loads(p[3]):
            counts[c] = counts.get(c, 0) + 1
    missed = 1.0
    for p in flagged:
        missed *= 1.0 - min(0.999, float(p[2] or 0.0))
    return Account(key, platform, account_id, name, url, bio, None if verified is None else bool(verified),
                   followers, first_seen, last_seen, [p[0] for p in posts], [p[0] for p in flagged],
                   sorted(counts, key=lambda c: (-counts[c], c)), round(1.0 - missed, 3))


@dataclass(frozen=True)
class AccountsConfig:
    store: Path
    es: EsConfig | None
    es_index: str


class AccountStage(Stage):
    """Keep every stored post's account record current; send the accounts a run touched to the accounts index."""

    name = "accounts"

    @classmethod
    def config_from_settings(cls, settings: BaseSettings) -> AccountsConfig:
        try:
            es = EsConfig.from_settings(settings)
        except NotConfigured:
            es = None
        return AccountsConfig(store_path(settings), es, settings.get("ADWATCH_ES_ACCOUNTS_INDEX") or "adwatch-accounts")

    def open_spider(self) -> None:
        self.book = AccountBook(self.config.store)
        self.touched: set[str] = set()

    def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        post = to_plain({k: v for k, v in adapter.items() if k != "raw"})
        try:
            key = self.book.record(post)
        except sqlite3.Error as exc:  # the post is stored already; its account waits for the next run
            self.count("failed")
            self.warn_once("failed", "accounts: could not record %s (%r)", adapter.get("post_id"), exc)
            return item
        if key:
            self.touched.add(key)
            self.count("recorded", platform=adapter["platform"])
        return item

    def close_spider(self) -> None:
        try:
            if self.config.es is not None and self.touched:
                self._index([a for k in sorted(self.touched) if (a := self.book.get(k)) is not None])
        finally:
            self.book.close()

    def _index(self, accounts: list[Account]) -> None:
        matches = self._matches(accounts)
        client = make_client(self.config.es)  # type: ignore[arg-type]
        try:
            es_schema.ensure_accounts_index(client, self.config.es_index)
            body: list[dict[str, Any]] = []
            for a in accounts:
                body += [{"update": {"_index": self.config.es_index, "_id": a.key}},
                         {"doc": {**a.to_doc(), **matches.get(a.key, {})}, "doc_as_upsert": True}]
            if body:
                client.bulk(operations=body, refresh=True)
                self.count("indexed", len(accounts))
        except Exception as exc:  # the store has them; the next run sends them again
            self.count("index_failed")
            self.logger.warning("accounts: could not index %d accounts (%r)", len(accounts), exc)
        finally:
            client.close()

    def _matches(self, accounts: list[Account]) -> dict[str, dict[str, Any]]:
        """Each account's current clue matches (pipelines/clues/fields.py); none if the clue tables cannot be read
        (a partial update then leaves the indexed ones as they were)."""
        try:
            with ClueBook(self.config.store) as clues:
                return account_fields(clues, [a.key for a in accounts])
        except sqlite3.Error as exc:
            self.count("clues_failed")
            self.warn_once("clues_failed", "accounts: clue matches unreadable (%r); accounts indexed without them", exc)
            return {}
