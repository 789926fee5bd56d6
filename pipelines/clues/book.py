"""The clue tables of the store (their own tables beside ``posts``, on their own connection):

* ``clue_batches`` / ``clue_batch_entries``: what each of our exports held, position by position, so a partner's
  response (same kinds, same order) points back at our clues, posts and accounts;
* ``clue_matches``: one row per (member, clue) that a partner institution holds too, with our posts and
  accounts holding it. "Seen by N members" is the number of distinct members of a clue.

Values here are our own normalised clues: they stay in this store and never reach an exchange file.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from pipelines.clues.normalise import Clue, normalise_clue
from pipelines.sidetables import open_tables

_SCHEMA = """
CREATE TABLE IF NOT EXISTS clue_batches (
    batch TEXT PRIMARY KEY,
    mode TEXT NOT NULL,
    member TEXT NOT NULL,        -- us, as the file names us
    created TEXT NOT NULL,
    clues INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS clue_batch_entries (
    batch TEXT NOT NULL,
    kind TEXT NOT NULL,
    pos INTEGER NOT NULL,        -- position among the batch's clues of this kind, as in the file
    value TEXT NOT NULL,
    posts TEXT NOT NULL,         -- JSON list of post uids
    accounts TEXT NOT NULL,      -- JSON list of account keys (platform:account_id)
    PRIMARY KEY (batch, kind, pos)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS clue_matches (
    member TEXT NOT NULL,        -- the partner institution that holds this clue too
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    posts TEXT NOT NULL,
    accounts TEXT NOT NULL,
    batch TEXT NOT NULL,         -- our export (ECDH) or our partner's (HMAC) it was found through
    matched_at TEXT NOT NULL,
    PRIMARY KEY (member, kind, value)
);
CREATE INDEX IF NOT EXISTS clue_matches_clue ON clue_matches(kind, value);
"""


@dataclass(frozen=True)
class Held:
    """One of our clues with our posts and accounts holding it."""

    clue: Clue
    posts: tuple[str, ...]
    accounts: tuple[str, ...]


@dataclass(frozen=True)
class ClueMatch:
    """A clue of ours that other members hold too: where we hold it, and how many members hold it."""

    kind: str
    value: str
    posts: tuple[str, ...]
    accounts: tuple[str, ...]
    members: int
    member_names: tuple[str, ...]


@dataclass(frozen=True)
class RefMatches:
    """What the matches say about one post or account: the members holding its clues, and through which clue kinds
    and batches."""

    members: set[str]
    kinds_batches: set[tuple[str, str]]


class ClueBook:
    """The clue tables of one store file (thread-safe: one connection behind a lock, like the store)."""

    def __init__(self, path: str | Path) -> None:
        self._lock = threading.Lock()
        # The index stage opens the book in every crawler of a sweep at once: wait for the schema lock.
        self._db = open_tables(path, _SCHEMA, timeout=30.0)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> ClueBook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Batches ----------------------------------------------------------------------------------------------

    def save_batch(self, batch: str, mode: str, member: str, entries: dict[str, list[Held]]) -> None:
        rows = [
            (batch, kind, pos, h.clue.value, json.dumps(h.posts), json.dumps(h.accounts))
            for kind, held in entries.items() for pos, h in enumerate(held)
        ]
        with self._lock, self._db:
            self._db.execute("INSERT INTO clue_batches VALUES (?,?,?,?,?)", (batch, mode, member, _now(), len(rows)))
            self._db.executemany("INSERT INTO clue_batch_entries VALUES (?,?,?,?,?,?)", rows)

    def load_batch(self, batch: str) -> tuple[str, dict[str, list[Held]]] | None:
        """The mode and the clues (per kind, in file order) of one of our batches; None if unknown."""
        with self._lock:
            head = self._db.execute("SELECT mode FROM clue_batches WHERE batch = ?", (batch,)).fetchone()
            if head is None:
                return None
            rows = self._db.execute(
                "SELECT kind, value, posts, accounts FROM clue_batch_entries WHERE batch = ? ORDER BY kind, pos", (batch,)
            ).fetchall()
        entries: dict[str, list[Held]] = {}
        for kind, value, posts, accounts in rows:
            entries.setdefault(kind, []).append(Held(Clue(kind, value), tuple(json.loads(posts)), tuple(json.loads(accounts))))
        return head[0], entries

    def batches(self) -> list[tuple[str, str, str, int]]:
        """(batch, mode, created, clues) of every batch we exported, oldest first."""
        with self._lock:
            return [tuple(r) for r in self._db.execute("SELECT batch, mode, created, clues FROM clue_batches ORDER BY created, batch")]

    def forget_batch(self, batch: str) -> bool:
        """Drop what a batch held (its matches stay); True if there was such a batch."""
        with self._lock, self._db:
            gone = self._db.execute("DELETE FROM clue_batches WHERE batch = ?", (batch,)).rowcount
            self._db.execute("DELETE FROM clue_batch_entries WHERE batch = ?", (batch,))
        return bool(gone)

    # Matches ----------------------------------------------------------------------------------------------

    def record_matches(self, member: str, batch: str, kinds: Iterable[str], matched: list[Held]) -> None:
        """What ``member`` holds of our clues of ``kinds`` now: replaces that member's earlier matches of those
        kinds (a clue they no longer hold stops counting)."""
        kinds = sorted(set(kinds))
        now = _now()
        with self._lock, self._db:
            marks = ",".join("?" * len(kinds))
            if kinds:
                self._db.execute(f"DELETE FROM clue_matches WHERE member = ? AND kind IN ({marks})", [member, *kinds])
            self._db.executemany(
                "INSERT OR REPLACE INTO clue_matches VALUES (?,?,?,?,?,?,?)",
                [(member, h.clue.kind, h.clue.value, json.dumps(h.posts), json.dumps(h.accounts), batch, now) for h in matched],
            )

    def matches(self) -> list[ClueMatch]:
        """Every matched clue of ours: where we hold it and how many members hold it too, most shared first."""
        with self._lock:
            rows = self._db.execute("SELECT kind, value, member, posts, accounts FROM clue_matches ORDER BY kind, value, member").fetchall()
        grouped: dict[tuple[str, str], tuple[list[str], set[str], set[str]]] = {}
        for kind, value, member, posts, accounts in rows:
            members, post_set, account_set = grouped.setdefault((kind, value), ([], set(), set()))
            members.append(member)
            post_set.update(json.loads(posts))
            account_set.update(json.loads(accounts))
        out = [
            ClueMatch(kind, value, tuple(sorted(p)), tuple(sorted(a)), len(m), tuple(m))
            for (kind, value), (m, p, a) in grouped.items()
        ]
        return sorted(out, key=lambda m: (-m.members, m.kind, m.value))

    def seen_by(self, kind: str, value: str) -> int:
        """How many other members hold this contact (``kind`` phone, wechat …) or account (``kind`` "account",
        ``value`` "platform:account_id"); the value is normalised first, so any spelling of it answers."""
        return self.seen_by_many([(kind, value)]).get((kind, value), 0)

    def seen_by_many(self, clues: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """:meth:`seen_by` of many (kind, value) pairs at once; pairs no member holds are left out."""
        wanted: dict[Clue, list[tuple[str, str]]] = {}
        for kind, value in clues:
            clue = normalise_clue(kind, value)
            if clue is not None:
                wanted.setdefault(clue, []).append((kind, value))
        out: dict[tuple[str, str], int] = {}
        items = list(wanted)
        for chunk in _chunks(items):
            marks = ",".join("(?,?)" for _ in chunk)
            args = [x for c in chunk for x in (c.kind, c.value)]
            with self._lock:
                rows = self._db.execute(
                    f"SELECT kind, value, COUNT(DISTINCT member) FROM clue_matches WHERE (kind, value) IN (VALUES {marks})"
                    " GROUP BY kind, value", args
                ).fetchall()
            for kind, value, n in rows:
                for asked in wanted[Clue(kind, value)]:
                    out[asked] = n
        return out

    def seen_by_posts(self, uids: Iterable[str]) -> dict[str, int]:
        """Per post uid, how many members hold any of its clues (posts no member shares a clue with are left out)."""
        return self._seen_by_refs("posts", uids)

    def seen_by_accounts(self, keys: Iterable[str]) -> dict[str, int]:
        """Per account key (``platform:account_id``), how many members hold it or any clue of its posts."""
        return self._seen_by_refs("accounts", keys)

    def matched_refs(self) -> tuple[set[str], set[str]]:
        """Every post uid and account key some member's match points at now."""
        posts: set[str] = set()
        accounts: set[str] = set()
        with self._lock:
            rows = self._db.execute("SELECT posts, accounts FROM clue_matches").fetchall()
        for p, a in rows:
            posts.update(json.loads(p))
            accounts.update(json.loads(a))
        return posts, accounts

    def has_matches(self) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM clue_matches LIMIT 1").fetchone() is not None

    def match_refs(self, column: str, refs: Iterable[str]) -> dict[str, RefMatches]:
        """Per post uid (``column`` "posts") or account key ("accounts"): the members holding any of its clues and
        the (kind, batch) of each match; refs no member shares a clue with are left out."""
        if column not in ("posts", "accounts"):
            raise ValueError(column)
        out: dict[str, RefMatches] = {}
        for chunk in _chunks(list(dict.fromkeys(refs))):
            marks = ",".join("?" * len(chunk))
            with self._lock:
                rows = self._db.execute(
                    f"SELECT j.value, m.member, m.kind, m.batch FROM clue_matches m, json_each(m.{column}) j"
                    f" WHERE j.value IN ({marks})", chunk
                ).fetchall()
            for ref, member, kind, batch in rows:
                found = out.setdefault(ref, RefMatches(set(), set()))
                found.members.add(member)
                found.kinds_batches.add((kind, batch))
        return out

    def _seen_by_refs(self, column: str, refs: Iterable[str]) -> dict[str, int]:
        return {ref: len(found.members) for ref, found in self.match_refs(column, refs).items()}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _chunks(values: list, size: int = 400) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
