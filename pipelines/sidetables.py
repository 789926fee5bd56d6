"""Tables of their own beside ``posts`` in the store's SQLite file, on their own connection (accounts, operations;
the clue tables could share it too)."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def open_tables(path: str | Path, schema: str, timeout: float = 5.0) -> sqlite3.Connection:
    """A connection to the store file (made if missing) with ``schema`` applied; WAL, as the store itself uses, so
    readers never wait for the crawl's writes. Callers guard it with a lock of their own."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path), check_same_thread=False, timeout=timeout)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(schema)
    return db
