"""The desk's own tables, in the store's SQLite file beside ``posts`` (never an edit of the posts table): users,
reviews, batches and their targets, re-checks, re-emergence and the audit log.

Every change that a person makes goes through one method here, which writes the change and its audit line in one
transaction. Times are stored as UTC ISO 8601 (comparable as strings); pages show them in Beijing time.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from werkzeug.security import check_password_hash, generate_password_hash

from pipelines.sidetables import open_tables

ROLES = ("reviewer", "filer", "viewer")
DECISIONS = ("confirmed", "rejected")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS desk_users (
    name TEXT PRIMARY KEY, password_hash TEXT NOT NULL, role TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS desk_reviews (
    uid TEXT PRIMARY KEY, platform TEXT NOT NULL, decision TEXT NOT NULL, reason TEXT NOT NULL,
    reviewer TEXT NOT NULL, at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS desk_batches (
    batch_id TEXT PRIMARY KEY, platform TEXT NOT NULL, created_by TEXT NOT NULL, created_at TEXT NOT NULL,
    sealed_at TEXT, sealed_files INTEGER, filed_at TEXT, filed_by TEXT, ticket TEXT
);
CREATE TABLE IF NOT EXISTS desk_targets (         -- a confirmed post is filed in one batch at most
    uid TEXT PRIMARY KEY, batch_id TEXT NOT NULL, platform TEXT NOT NULL, post_id TEXT NOT NULL,
    first_seen TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS desk_targets_batch ON desk_targets(batch_id);
CREATE TABLE IF NOT EXISTS desk_checks (          -- scheduled re-visits of filed targets, and their results
    uid TEXT NOT NULL, label TEXT NOT NULL, offset_s INTEGER NOT NULL, due_at TEXT NOT NULL,
    checked_at TEXT, state TEXT, detail TEXT,     -- state: removed | online | error
    PRIMARY KEY (uid, label)
);
CREATE INDEX IF NOT EXISTS desk_checks_due ON desk_checks(checked_at, due_at);
CREATE TABLE IF NOT EXISTS desk_reemergence (     -- a filed target's contact or text seen again after filing
    uid TEXT NOT NULL, new_uid TEXT NOT NULL, via TEXT NOT NULL, value TEXT NOT NULL, found_at TEXT NOT NULL,
    PRIMARY KEY (uid, new_uid)
);
CREATE TABLE IF NOT EXISTS desk_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, user TEXT NOT NULL, action TEXT NOT NULL,
    object TEXT NOT NULL, detail TEXT NOT NULL
);
"""


class DeskError(ValueError):
    """A request the desk refuses (unknown post, post already filed, empty batch …): shown to the user as is."""


def utc_iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).isoformat(timespec="seconds")


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class DeskDb:
    """The desk's tables. ``clock`` gives the current (aware) time: tests pass their own."""

    def __init__(self, path: str | Path, clock: Callable[[], datetime] = _utcnow) -> None:
        self.path = Path(path)
        self.clock = clock
        self._lock = threading.Lock()
        self._db = open_tables(self.path, _SCHEMA, timeout=30)
        self._db.row_factory = sqlite3.Row

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def now(self) -> str:
        return utc_iso(self.clock())

    def _rows(self, sql: str, args: Iterable[Any] = ()) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._db.execute(sql, tuple(args)).fetchall()]

    def _audit(self, user: str, action: str, obj: str, detail: dict[str, Any] | str = "") -> None:
        """Called inside a transaction: the change and its audit line land together or not at all."""
        text = detail if isinstance(detail, str) else json.dumps(detail, ensure_ascii=False, sort_keys=True)
        self._db.execute("INSERT INTO desk_audit(at, user, action, object, detail) VALUES (?,?,?,?,?)",
                         (self.now(), user, action, obj, text))

    # --- users --------------------------------------------------------------------------------------------
    def add_user(self, name: str, role: str, password: str, by: str = "cli") -> None:
        """Add or replace a user; only a hash of the password is kept (werkzeug's scrypt)."""
        if role not in ROLES:
            raise DeskError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        if not name or len(name) > 64 or not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise DeskError("a user name is 1–64 letters, digits, '-', '_' or '.'")
        if len(password) < 8:
            raise DeskError("a password has at least 8 characters")
        with self._lock, self._db:
            self._db.execute("INSERT OR REPLACE INTO desk_users(name, password_hash, role, created_at) VALUES (?,?,?,?)",
                             (name, generate_password_hash(password), role, self.now()))
            self._audit(by, "add-user", name, {"role": role})

    def user(self, name: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT name, role FROM desk_users WHERE name = ?", (name,))
        return rows[0] if rows else None

    def authenticate(self, name: str, password: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT name, role, password_hash FROM desk_users WHERE name = ?", (name,))
        ok = bool(rows) and check_password_hash(rows[0]["password_hash"], password)
        with self._lock, self._db:
            self._audit(name if rows else "-", "login" if ok else "login-failed", name[:64])
        return {"name": rows[0]["name"], "role": rows[0]["role"]} if ok else None

    def log(self, user: str, action: str, obj: str, detail: dict[str, Any] | str = "") -> None:
        """An audit line for something that changes nothing in these tables (a download, a logout)."""
        with self._lock, self._db:
            self._audit(user, action, obj, detail)

    # --- reviews ------------------------------------------------------------------------------------------
    def review(self, uid: str, platform: str, decision: str, reason: str, user: str) -> str:
        """Confirm or reject one flagged post; returns the time. A post in a batch can no longer change."""
        if decision not in DECISIONS:
            raise DeskError(f"decision must be one of {', '.join(DECISIONS)}")
        reason = reason.strip()
        if decision == "rejected" and not reason:
            raise DeskError("a rejection needs a reason")
        at = self.now()
        with self._lock, self._db:
            if self._db.execute("SELECT 1 FROM desk_targets WHERE uid = ?", (uid,)).fetchone():
                raise DeskError(f"{uid} is already in a batch")
            self._db.execute("INSERT OR REPLACE INTO desk_reviews(uid, platform, decision, reason, reviewer, at) "
                             "VALUES (?,?,?,?,?,?)", (uid, platform, decision, reason[:2000], user, at))
            self._audit(user, decision, uid, {"reason": reason[:2000]})
        return at

    def reviews(self) -> dict[str, dict[str, Any]]:
        return {r["uid"]: r for r in self._rows("SELECT * FROM desk_reviews")}

    # --- batches ------------------------------------------------------------------------------------------
    def unbatched_confirmed(self, platform: str) -> list[str]:
        return [r["uid"] for r in self._rows(
            "SELECT r.uid FROM desk_reviews r LEFT JOIN desk_targets t ON t.uid = r.uid "
            "WHERE r.platform = ? AND r.decision = 'confirmed' AND t.uid IS NULL ORDER BY r.at, r.uid", (platform,))]

    def create_batch(self, batch_id: str, platform: str, targets: list[tuple[str, str, str]], user: str) -> None:
        """``targets``: (uid, post_id, first_seen) of the confirmed posts going into the batch."""
        if not targets:
            raise DeskError(f"no confirmed {platform} post waits for a batch")
        with self._lock, self._db:
            self._db.execute("INSERT INTO desk_batches(batch_id, platform, created_by, created_at) VALUES (?,?,?,?)",
                             (batch_id, platform, user, self.now()))
            self._db.executemany("INSERT INTO desk_targets(uid, batch_id, platform, post_id, first_seen) "
                                 "VALUES (?,?,?,?,?)", [(u, batch_id, platform, p, f) for u, p, f in targets])
            self._audit(user, "create-batch", batch_id, {"platform": platform, "targets": len(targets)})

    def batches(self) -> list[dict[str, Any]]:
        return self._rows("SELECT b.*, (SELECT COUNT(*) FROM desk_targets t WHERE t.batch_id = b.batch_id) AS targets "
                          "FROM desk_batches b ORDER BY b.created_at DESC, b.batch_id DESC")

    def batch(self, batch_id: str) -> dict[str, Any] | None:
        rows = [b for b in self.batches() if b["batch_id"] == batch_id]
        return rows[0] if rows else None

    def targets(self, batch_id: str | None = None) -> list[dict[str, Any]]:
        """Targets with their batch's filing (``filed_at`` is None until the batch is filed)."""
        where, args = ("WHERE t.batch_id = ?", (batch_id,)) if batch_id else ("", ())
        return self._rows("SELECT t.*, b.filed_at, b.ticket FROM desk_targets t JOIN desk_batches b "
                          f"ON b.batch_id = t.batch_id {where} ORDER BY t.batch_id, t.uid", args)

    def sealed(self, batch_id: str, files: int, user: str) -> None:
        with self._lock, self._db:
            self._db.execute("UPDATE desk_batches SET sealed_at = ?, sealed_files = ? WHERE batch_id = ?",
                             (self.now(), files, batch_id))
            self._audit(user, "seal", batch_id, {"files": files})

    def file(self, batch_id: str, ticket: str, user: str, after: Iterable[tuple[str, timedelta]]) -> None:
        """Mark a batch filed under the channel's ``ticket`` and schedule its re-checks ``after`` filing."""
        ticket = ticket.strip()
        if not ticket or len(ticket) > 200:
            raise DeskError("give the ticket id the complaint channel returned (up to 200 characters)")
        filed = self.clock()
        with self._lock, self._db:
            row = self._db.execute("SELECT filed_at FROM desk_batches WHERE batch_id = ?", (batch_id,)).fetchone()
            if row is None:
                raise DeskError(f"no batch {batch_id}")
            if row["filed_at"]:
                raise DeskError(f"{batch_id} was filed already")
            self._db.execute("UPDATE desk_batches SET filed_at = ?, filed_by = ?, ticket = ? WHERE batch_id = ?",
                             (utc_iso(filed), user, ticket, batch_id))
            uids = [r[0] for r in self._db.execute("SELECT uid FROM desk_targets WHERE batch_id = ?", (batch_id,))]
            self._db.executemany(
                "INSERT OR IGNORE INTO desk_checks(uid, label, offset_s, due_at) VALUES (?,?,?,?)",
                [(uid, label, int(delta.total_seconds()), utc_iso(filed + delta)) for uid in uids for label, delta in after])
            self._audit(user, "file", batch_id, {"ticket": ticket})

    # --- re-checks ----------------------------------------------------------------------------------------
    def due_checks(self, now: datetime, every_target: bool = False) -> list[dict[str, Any]]:
        """Checks due by ``now`` and not done; ``every_target``: one ad-hoc check of every filed target too."""
        due = self._rows("SELECT c.uid, c.label, t.platform, t.post_id FROM desk_checks c JOIN desk_targets t "
                         "ON t.uid = c.uid WHERE c.checked_at IS NULL AND c.due_at <= ? ORDER BY c.due_at, c.uid",
                         (utc_iso(now),))
        if every_target:
            label = "manual-" + utc_iso(now)
            seen = {d["uid"] for d in due}
            due += [{"uid": t["uid"], "label": label, "platform": t["platform"], "post_id": t["post_id"]}
                    for t in self.targets() if t["filed_at"] and t["uid"] not in seen]
        return due

    def next_due(self) -> str | None:
        rows = self._rows("SELECT MIN(due_at) AS due FROM desk_checks WHERE checked_at IS NULL")
        return rows[0]["due"] if rows else None

    def record_checks(self, results: list[tuple[str, str, str, str]], now: datetime, by: str = "recheck") -> None:
        """``results``: (uid, label, state, detail); an ad-hoc label is added as a check of its own."""
        at = utc_iso(now)
        with self._lock, self._db:
            for uid, label, state, detail in results:
                self._db.execute("INSERT OR IGNORE INTO desk_checks(uid, label, offset_s, due_at) "
                                 "SELECT ?, ?, CAST((julianday(?) - julianday(b.filed_at)) * 86400 AS INTEGER), ? "
                                 "FROM desk_targets t JOIN desk_batches b ON b.batch_id = t.batch_id WHERE t.uid = ?",
                                 (uid, label, at, at, uid))
                self._db.execute("UPDATE desk_checks SET checked_at = ?, state = ?, detail = ? WHERE uid = ? AND label = ?",
                                 (at, state, detail[:500], uid, label))
            counts: dict[str, int] = {}
            for _, _, state, _ in results:
                counts[state] = counts.get(state, 0) + 1
            self._audit(by, "recheck", f"{len(results)} checks", counts)

    def checks(self) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM desk_checks WHERE checked_at IS NOT NULL ORDER BY checked_at, uid")

    def add_reemergence(self, found: list[tuple[str, str, str, str]], now: datetime) -> int:
        """``found``: (filed uid, new uid, via, value); returns how many were new."""
        before = self._rows("SELECT COUNT(*) AS n FROM desk_reemergence")[0]["n"]
        with self._lock, self._db:
            self._db.executemany("INSERT OR IGNORE INTO desk_reemergence(uid, new_uid, via, value, found_at) "
                                 "VALUES (?,?,?,?,?)", [(*f, utc_iso(now)) for f in found])
        return self._rows("SELECT COUNT(*) AS n FROM desk_reemergence")[0]["n"] - before

    def reemergence(self) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM desk_reemergence ORDER BY uid, new_uid")

    def audit(self, limit: int = 500) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM desk_audit ORDER BY id DESC LIMIT ?", (limit,))
