"""Run history: one row per platform per sweep (pages, posts, new, flagged, refusals, duration, per-keyword results).

Kept in the store's SQLite file (table ``sweep_runs``) and, when Elasticsearch is configured, in the index
``<ADWATCH_ES_INDEX>.runs`` (document id ``<run_id>:<platform>``), so the history sits beside the posts in Kibana.
The alert "a keyword that used to have results returned none" reads it (crawler/alerts.py).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Self

from elasticsearch import Elasticsearch

from pipelines.sidetables import open_tables

KEYWORD_STAT = "adwatch/history/keyword/"  # + keyword: posts the search for it returned in this run

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sweep_runs (
    run_id TEXT NOT NULL,
    platform TEXT NOT NULL,
    mode TEXT NOT NULL,              -- "single" | "distributed"
    started_at TEXT,
    finished_at TEXT,
    duration REAL,
    pages INTEGER NOT NULL DEFAULT 0,
    posts INTEGER NOT NULL DEFAULT 0,
    new INTEGER NOT NULL DEFAULT 0,
    flagged INTEGER NOT NULL DEFAULT 0,
    refusals INTEGER NOT NULL DEFAULT 0,
    stopped TEXT,                    -- why the platform was stopped, if it was
    workers INTEGER NOT NULL DEFAULT 1,
    keywords TEXT NOT NULL,          -- {"keyword": posts found}
    PRIMARY KEY (run_id, platform)
);
CREATE INDEX IF NOT EXISTS sweep_runs_platform ON sweep_runs(platform, finished_at);
"""


def _int(stats: dict[str, Any], key: str) -> int:
    value = stats.get(key, 0)
    return int(value) if isinstance(value, (int, float)) else 0


@dataclass
class RunRecord:
    """What one platform's crawl did in one sweep."""

    run_id: str
    platform: str
    mode: str = "single"
    started_at: str | None = None
    finished_at: str | None = None
    duration: float | None = None
    pages: int = 0
    posts: int = 0
    new: int = 0
    flagged: int = 0
    refusals: int = 0
    stopped: str | None = None
    workers: int = 1
    keywords: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_stats(cls, run_id: str, platform: str, stats: dict[str, Any], mode: str = "single") -> Self:
        prefix = f"adwatch/{platform}/"
        stopped = next((k.removeprefix(prefix + "blocked/") for k in stats if k.startswith(prefix + "blocked/")),
                       None) or (str(stats.get(prefix + "stopped")) if stats.get(prefix + "stopped") else None)
        refusals = sum(_int(stats, k) for k in stats
                       if k.startswith((prefix + "blocked/", prefix + "refused")))
        return cls(
            run_id=run_id,
            platform=platform,
            mode=mode,
            started_at=str(stats["start_time"]) if stats.get("start_time") else None,
            finished_at=str(stats["finish_time"]) if stats.get("finish_time") else None,
            duration=float(stats["elapsed_time_seconds"]) if stats.get("elapsed_time_seconds") else None,
            pages=_int(stats, prefix + "pages"),
            posts=_int(stats, "adwatch/dedup/unique") or _int(stats, "item_scraped_count"),
            new=_int(stats, "adwatch/store/new"),
            flagged=_int(stats, "adwatch/detect/flagged"),
            refusals=refusals,
            stopped=stopped,
            workers=_int(stats, "workers") or 1,
            keywords={k.removeprefix(KEYWORD_STAT): _int(stats, k) for k in stats if k.startswith(KEYWORD_STAT)},
        )


class RunHistory:
    """The ``sweep_runs`` table; opened on the store's SQLite file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = open_tables(self.path, _SCHEMA, timeout=30)
        self._db.row_factory = sqlite3.Row

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def record(self, rec: RunRecord) -> None:
        row = asdict(rec)
        row["keywords"] = json.dumps(rec.keywords, ensure_ascii=False, sort_keys=True)
        cols = ", ".join(row)
        marks = ", ".join("?" * len(row))
        with self._lock, self._db:
            self._db.execute(f"INSERT OR REPLACE INTO sweep_runs({cols}) VALUES ({marks})", list(row.values()))

    def runs(self, platform: str | None = None, exclude_run: str | None = None, limit: int = 100) -> list[RunRecord]:
        """The newest runs first."""
        clauses, args = [], []
        if platform:
            clauses.append("platform = ?")
            args.append(platform)
        if exclude_run:
            clauses.append("run_id != ?")
            args.append(exclude_run)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        with self._lock:
            rows = self._db.execute(
                f"SELECT * FROM sweep_runs{where} ORDER BY finished_at DESC, run_id DESC LIMIT ?", [*args, limit]
            ).fetchall()
        return [RunRecord(**{**dict(r), "keywords": json.loads(r["keywords"] or "{}")}) for r in rows]


def index_runs(client: Elasticsearch, prefix: str, records: list[RunRecord]) -> None:
    """Put the records into ``<prefix>.runs`` (one document per run and platform, replaced if run again)."""
    index = runs_index(prefix)
    if not client.indices.exists(index=index):
        client.options(ignore_status=400).indices.create(index=index, mappings={"properties": {
            "run_id": {"type": "keyword"}, "platform": {"type": "keyword"}, "mode": {"type": "keyword"},
            "started_at": {"type": "date"}, "finished_at": {"type": "date"}, "duration": {"type": "float"},
            "stopped": {"type": "keyword"}, "keywords": {"type": "flattened"},
        }})
    for rec in records:
        client.index(index=index, id=f"{rec.run_id}:{rec.platform}", document=asdict(rec))
    client.indices.refresh(index=index)


def runs_index(prefix: str) -> str:
    """``adwatch-posts.runs``: beside the posts' monthly indices, yet outside their ``<prefix>-*`` pattern."""
    return f"{prefix}.runs"
