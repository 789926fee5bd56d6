"""Operations kept in the store's SQLite file (tables of their own, on their own connection).

* ``op_posts``: each linked post's features (contacts, MinHash signature, pHashes), so a later run rebuilds the
  indexes without re-reading or re-linking anything;
* ``op_links``: every link with its evidence;
* ``operations`` / ``op_members`` / ``op_aliases``: the groups that span at least ``min_accounts`` accounts, with a
  stable id, and the ids of operations merged into another.

An operation's id is ``op-`` + a hash of its founding post (the earliest member by first seen, then uid): the same
group gets the same id whether it grew post by post or was built in one go, and when two operations merge the
older one's id survives (the other is kept as an alias).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.operations.features import PostFeatures, gc_paused, minhash_from_bytes, posts_features
from pipelines.operations.linker import Link, Linker
from pipelines.sidetables import open_tables

_SCHEMA = """
CREATE TABLE IF NOT EXISTS op_posts (
    uid TEXT PRIMARY KEY, platform TEXT NOT NULL, account TEXT, first_seen TEXT NOT NULL,
    contacts TEXT NOT NULL, minhash BLOB, phashes TEXT NOT NULL, reposted_from TEXT
);
CREATE TABLE IF NOT EXISTS op_links (
    a TEXT NOT NULL, b TEXT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL, detail TEXT NOT NULL,
    PRIMARY KEY (a, b, kind, value)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS operations (
    op_id TEXT PRIMARY KEY, size INTEGER NOT NULL, accounts INTEGER NOT NULL, platforms TEXT NOT NULL,
    contacts TEXT NOT NULL, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS op_members (node TEXT PRIMARY KEY, op_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS op_members_op ON op_members(op_id);
CREATE TABLE IF NOT EXISTS op_aliases (old_id TEXT PRIMARY KEY, op_id TEXT NOT NULL);
"""


def operation_id(founder: str) -> str:
    return "op-" + hashlib.sha1(founder.encode("utf-8")).hexdigest()[:12]


@dataclass
class Operation:
    """A group of linked posts and accounts: who, where, since when, by which contacts, and every link."""

    id: str
    posts: list[str]
    accounts: list[str]
    platforms: list[str]
    contacts: list[str]  # "kind:value", contacts and landing links the members share or hold
    first_seen: str
    last_seen: str
    links: list[Link] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.posts)


class OperationBook:
    """The operation tables of one store file; :meth:`add_posts` links new posts incrementally.

    Thread-safe (one connection and one graph behind a lock): a sweep's spiders share one book per process.
    """

    def __init__(self, path: str | Path, min_accounts: int = 2) -> None:
        self.min_accounts = min_accounts
        self._lock = threading.RLock()
        self._db = open_tables(path, _SCHEMA)
        self.linker = Linker()
        self._load()
        self._op_of: dict[str, str] = dict(self._db.execute("SELECT node, op_id FROM op_members").fetchall())

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _load(self) -> None:
        links: dict[str, list[Link]] = {}
        for a, b, kind, value, detail in self._db.execute("SELECT a, b, kind, value, detail FROM op_links"):
            links.setdefault(a, []).append(Link(a, b, kind, value, json.loads(detail)))
        rows = self._db.execute("SELECT uid, platform, account, first_seen, contacts, minhash, phashes, reposted_from"
                                " FROM op_posts ORDER BY first_seen, uid").fetchall()
        with gc_paused():
            for uid, platform, account, first_seen, contacts, minhash, phashes, reposted in rows:
                f = PostFeatures(uid, platform, account, first_seen, [tuple(c) for c in json.loads(contacts)],
                                 minhash_from_bytes(minhash) if minhash else None, json.loads(phashes), reposted)
                self.linker.restore(f, links.get(uid, []))

    # --- adding ------------------------------------------------------------------------------------------
    def add_posts(self, posts: Iterable[dict[str, Any]]) -> dict[str, str]:
        """Link new posts (plain dicts, as stored); returns ``{node: operation id}`` of every node whose operation
        changed (joined, merged, or newly an operation), for the index to update. Only the groups the new posts
        touch are summed up again."""
        with self._lock:
            new = posts_features([p for p in posts if (p.get("uid") or "") not in self.linker.features])
            new.sort(key=lambda f: (f.first_seen, f.uid))
            made: list[Link] = []
            for f in new:
                made.extend(self.linker.add(f))
            with self._db:
                self._db.executemany("INSERT OR IGNORE INTO op_posts VALUES (?,?,?,?,?,?,?,?)", [
                    (f.uid, f.platform, f.account, f.first_seen, json.dumps(f.contacts, ensure_ascii=False),
                     f.minhash.tobytes() if f.minhash is not None else None, json.dumps(f.phashes),
                     f.reposted_from) for f in new])
                self._db.executemany("INSERT OR IGNORE INTO op_links VALUES (?,?,?,?,?)", [
                    (ln.a, ln.b, ln.kind, ln.value, json.dumps(ln.detail, ensure_ascii=False)) for ln in made])
                return self._save_groups([f.uid for f in new])

    def _save_groups(self, touched: list[str]) -> dict[str, str]:
        uf = self.linker.uf
        changed: dict[str, str] = {}
        for root in {uf.find(n) for n in touched}:
            members = uf.members[root]
            old_ids = {self._op_of[m] for m in members if m in self._op_of}
            for old in old_ids:
                self._db.execute("DELETE FROM operations WHERE op_id = ?", (old,))
                self._db.execute("DELETE FROM op_members WHERE op_id = ?", (old,))
            op = self._summary(members)
            if op is None:
                continue
            self._db.execute("INSERT INTO operations VALUES (?,?,?,?,?,?,?)", (
                op.id, op.size, len(op.accounts), json.dumps(op.platforms),
                json.dumps(op.contacts, ensure_ascii=False), op.first_seen, op.last_seen))
            self._db.executemany("INSERT INTO op_members VALUES (?,?)", [(m, op.id) for m in members])
            self._db.executemany("INSERT OR REPLACE INTO op_aliases VALUES (?,?)",
                                 [(old, op.id) for old in old_ids if old != op.id])
            for m in members:
                if self._op_of.get(m) != op.id:
                    changed[m] = self._op_of[m] = op.id
        return changed

    def _summary(self, members: list[str]) -> Operation | None:
        feats = [self.linker.features[m] for m in members if m in self.linker.features]
        accounts = sorted({m.removeprefix("account:") for m in members if m.startswith("account:")})
        if not feats or len(accounts) < self.min_accounts:
            return None
        feats.sort(key=lambda f: (f.first_seen, f.uid))
        counts: dict[str, int] = {}
        for f in feats:
            for kind, value, _ in f.contacts:
                counts[f"{kind}:{value}"] = counts.get(f"{kind}:{value}", 0) + 1
        return Operation(
            id=operation_id(feats[0].uid), posts=[f.uid for f in feats], accounts=accounts,
            platforms=sorted({f.platform for f in feats}),
            contacts=sorted(counts, key=lambda c: (-counts[c], c)),
            first_seen=feats[0].first_seen, last_seen=max(f.first_seen for f in feats),
        )

    # --- reading -----------------------------------------------------------------------------------------
    def resolve(self, op_id: str) -> str:
        """The current id of an operation (one merged into another answers with the other's)."""
        with self._lock:
            for _ in range(32):
                row = self._db.execute("SELECT op_id FROM op_aliases WHERE old_id = ?", (op_id,)).fetchone()
                if row is None or row[0] == op_id:
                    return op_id
                op_id = row[0]
        return op_id

    def operations(self) -> list[Operation]:
        """Every operation, biggest first (links not loaded: see :meth:`operation`)."""
        with self._lock:
            rows = self._db.execute("SELECT op_id FROM operations").fetchall()
            ops = [self._read(r[0], with_links=False) for r in rows]
        return sorted([op for op in ops if op], key=lambda op: (-op.size, op.first_seen, op.id))

    def operation(self, op_id: str) -> Operation | None:
        with self._lock:
            return self._read(self.resolve(op_id), with_links=True)

    def operation_of(self, node: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT op_id FROM op_members WHERE node = ?", (node,)).fetchone()
        return row[0] if row else None

    def _read(self, op_id: str, with_links: bool) -> Operation | None:
        row = self._db.execute("SELECT platforms, contacts, first_seen, last_seen FROM operations WHERE op_id = ?",
                               (op_id,)).fetchone()
        if row is None:
            return None
        nodes = [r[0] for r in self._db.execute("SELECT node FROM op_members WHERE op_id = ?", (op_id,))]
        posts = sorted((n for n in nodes if not n.startswith("account:")),
                       key=lambda n: (self.linker.features[n].first_seen if n in self.linker.features else "", n))
        op = Operation(op_id, posts, sorted(n.removeprefix("account:") for n in nodes if n.startswith("account:")),
                       json.loads(row[0]), json.loads(row[1]), row[2], row[3])
        if with_links:
            members = set(nodes)
            op.links = [ln for ln in self.linker.links if ln.a in members]
        return op
