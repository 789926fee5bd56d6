"""Batches: confirmed posts of one platform grouped into one request, written in every filing format, sealed with
their evidence, and filed."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from crawler.utils import CN_TZ
from pipelines.accounts import AccountBook
from pipelines.store import SqliteStore
from reports.desk.config import DeskConfig
from reports.desk.db import DeskDb, DeskError
from reports.evidence.package import seal_batch
from reports.formats import write_formats
from reports.render import load_complainant, render_reports

# What a batch offers for download: name -> file name pattern in <reports>/<batch>/.
DOWNLOADS = {
    "html": "takedown-{platform}.html", "pdf": "takedown-{platform}.pdf", "csv": "takedown-{platform}.csv",
    "xlsx": "takedown-{platform}.xlsx", "12377-html": "12377-{platform}.html", "12377-pdf": "12377-{platform}.pdf",
}
MIME = {".html": "text/html; charset=utf-8", ".pdf": "application/pdf", ".csv": "text/csv; charset=utf-8",
        ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def new_batch_id(db: DeskDb, platform: str) -> str:
    stamp = db.clock().astimezone(CN_TZ).strftime("%Y%m%d-%H%M%S")
    batch_id, n = f"DK-{platform}-{stamp}", 1
    while db.batch(batch_id) is not None:  # two batches in one second
        n += 1
        batch_id = f"DK-{platform}-{stamp}-{n}"
    return batch_id


def batch_posts(store: SqliteStore, db: DeskDb, batch_id: str) -> list[dict[str, Any]]:
    return [p for t in db.targets(batch_id) if (p := store.get(t["uid"])) is not None]


def build_batch(cfg: DeskConfig, db: DeskDb, store: SqliteStore, platform: str, user: str) -> str:
    """Group every confirmed, not yet batched post of ``platform``; write the request in every format first, so a
    batch the desk lists always has its files."""
    uids = db.unbatched_confirmed(platform)
    posts = [p for uid in uids if (p := store.get(uid)) is not None]
    if not posts:
        raise DeskError(f"no confirmed {platform} post waits for a batch")
    batch_id = new_batch_id(db, platform)
    now = db.clock().astimezone(CN_TZ)
    complainant = load_complainant(cfg.complainant)
    # The request lists what staff confirmed, whatever the detector's flag says today; so do its accounts' evidence.
    accounts = AccountBook(store.path)
    try:
        [report] = render_reports([{**p, "flagged": True} for p in posts], complainant, cfg.reports_root, now=now,
                                  batch_id=batch_id, accounts=accounts)
        write_formats(report.path, posts, complainant, batch_id, cfg.chromium, now=now, accounts=accounts)
    finally:
        accounts.close()
    db.create_batch(batch_id, platform, [(p["uid"], str(p["post_id"]), p["first_seen"]) for p in posts], user)
    return batch_id


def download_path(cfg: DeskConfig, batch: dict[str, Any], kind: str) -> Path:
    if kind not in DOWNLOADS:
        raise DeskError(f"no format {kind!r}")
    return cfg.reports_root / batch["batch_id"] / DOWNLOADS[kind].format(platform=batch["platform"])


def seal(cfg: DeskConfig, db: DeskDb, store: SqliteStore, batch_id: str, user: str,
         now: datetime | None = None) -> int:
    """Seal the batch's evidence (manifest, RFC 3161 token when a TSA is set, archive); returns the file count."""
    sealed = seal_batch(cfg.evidence, batch_id, batch_posts(store, db, batch_id), cfg.reports_root / batch_id,
                        cfg.media_root, store.raw, now=now or db.clock())
    db.sealed(batch_id, sealed.files, user)
    return sealed.files
