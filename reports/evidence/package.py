"""``scrapy evidence-package BATCH``: one sealed folder and archive per batch.

Layout of ``<evidence>/<batch>/`` (and ``<batch>.zip`` with the same tree)::

    index.html              in Chinese: what this is, every file with its SHA-256, how to verify with openssl
    reports/…               the batch's takedown requests (and their other formats)
    posts/<platform>/<id>/  raw.json (the platform's payload), media files, screenshot.png, page.html, capture.webm
    capture-records/*.json  one per capture session (clock offset, versions, network, DNS, fresh profile)
    tsa-ca.pem              the TSA's CA certificate(s) the tokens verify against
    manifest.sha256         every file above, `sha256sum` format
    manifest.tsr            RFC 3161 token over manifest.sha256 (tokens/<path>.tsr per file when asked)
"""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from crawler.utils import CN_TZ
from reports.evidence import manifest
from reports.evidence.capture import load_index
from reports.evidence.config import EvidenceConfig
from reports.evidence.timestamp import request_stamp
from reports.render import environment

TOKEN = "manifest.tsr"
CA_FILE = "tsa-ca.pem"
SEALED = frozenset({manifest.MANIFEST, TOKEN})


@dataclass(frozen=True)
class Sealed:
    folder: Path
    archive: Path
    files: int
    stamped_at: datetime | None


_INVISIBLE = re.compile(r"[\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]")


def json_record(value: Any) -> str:
    """JSON that decodes to exactly ``value`` but whose file holds no control or invisible format character:
    those are written as ``\\uXXXX`` escapes (json.dumps escapes C0 itself), so the record reads as posted."""
    text = json.dumps(value, ensure_ascii=False, indent=1, default=str)
    return _INVISIBLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _copy(src: Path, dest: Path) -> bool:
    if not src.is_file():
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dest)
    return True


def _gather(folder: Path, posts: Iterable[dict[str, Any]], reports_folder: Path | None, media_root: Path,
            raw: Callable[[str], Any], config: EvidenceConfig) -> list[str]:
    """Copy every evidence file of the batch into ``folder``; returns what could not be found."""
    missing: list[str] = []
    if reports_folder and reports_folder.is_dir():
        for path in sorted(reports_folder.iterdir()):
            if path.is_file():
                _copy(path, folder / "reports" / path.name)
    captures = load_index(config)
    sessions: set[str] = set()
    for post in posts:
        base = folder / "posts" / str(post["platform"]) / str(post["post_id"])
        base.mkdir(parents=True, exist_ok=True)
        payload = raw(post["raw_ref"]) if post.get("raw_ref") else None
        doc = {k: v for k, v in post.items() if k != "raw"}
        (base / "post.json").write_text(json_record(doc), encoding="utf-8")
        if payload is not None:
            (base / "raw.json").write_text(json_record(payload), encoding="utf-8")
        for m in post.get("media") or []:
            if not isinstance(m, dict) or not m.get("path") or m.get("error"):
                continue
            name = f"{m.get('kind')}-{m.get('index', 0)}{PurePosixPath(m['path']).suffix}"
            if not _copy(media_root / m["path"], base / name):
                missing.append(f"{post['platform']}:{post['post_id']} {m.get('kind')} {m['path']}")
        capture = captures.get(f"{post['platform']}:{post['post_id']}")
        if capture is not None:
            sessions.add(capture.session)
            for kind, rel in capture.files.items():
                if not _copy(config.captures / rel, base / PurePosixPath(rel).name):
                    missing.append(f"{capture.uid} {kind} {rel}")
    for session in sorted(sessions):
        _copy(config.captures / session / "capture-record.json", folder / "capture-records" / f"{session}.json")
    return missing


def seal_batch(config: EvidenceConfig, batch_id: str, posts: Iterable[dict[str, Any]], reports_folder: Path | None,
               media_root: Path, raw: Callable[[str], Any], now: datetime | None = None) -> Sealed:
    """Gather, hash, timestamp and archive one batch. Sealing the same batch again replaces its package."""
    folder = config.root / batch_id
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    posts = list(posts)
    missing = _gather(folder, posts, reports_folder, media_root, raw, config)
    if config.tsa_roots:
        _copy(config.tsa_roots, folder / CA_FILE)
    now = (now or datetime.now(CN_TZ)).astimezone(CN_TZ)
    # The index lists every other file with its hash, so it is written before the manifest that covers it.
    entries = manifest.build(folder)
    _write_index(folder, batch_id, entries, posts, missing, config, now)
    entries = manifest.build(folder, skip=SEALED)
    data = manifest.render(entries)
    (folder / manifest.MANIFEST).write_bytes(data)
    stamped_at = None
    if config.tsa_url:
        stamp = request_stamp(data, config.tsa_url)
        (folder / TOKEN).write_bytes(stamp.token)
        stamped_at = stamp.gen_time
        if config.tsa_each_file:
            for e in entries:
                token = folder / "tokens" / f"{e.path}.tsr"
                token.parent.mkdir(parents=True, exist_ok=True)
                token.write_bytes(request_stamp((folder / e.path).read_bytes(), config.tsa_url).token)
    archive = config.root / f"{batch_id}.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            zf.write(path, f"{batch_id}/{path.relative_to(folder).as_posix()}")
    return Sealed(folder, archive, len(entries), stamped_at)


def _write_index(folder: Path, batch_id: str, entries: list[manifest.Entry], posts: list[dict[str, Any]],
                 missing: list[str], config: EvidenceConfig, now: datetime) -> None:
    html = environment().get_template("evidence-index.html.j2").render(
        batch_id=batch_id, generated_at=now.isoformat(timespec="seconds"),
        files=[{"path": e.path, "sha256": e.sha256, "bytes": e.bytes} for e in entries],
        posts=[{"platform": p["platform"], "post_id": str(p["post_id"]), "url": p.get("url") or ""} for p in posts],
        missing=missing, stamped=bool(config.tsa_url), tsa_url=config.tsa_url, each_file=config.tsa_each_file,
        manifest=manifest.MANIFEST, token=TOKEN, ca_file=CA_FILE if config.tsa_roots else "")
    (folder / "index.html").write_text(html, encoding="utf-8")
