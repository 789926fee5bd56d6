"""Reviewed posts as labelled examples for the detector's training: ``<data dir>/labels/desk.jsonl``.

One JSON object per line: ``{"uid", "label": "ad"|"neg", "category", "sources": [[name, text], ...], "reason",
"at"}``; ``sources`` are the texts the detector reads (title, text, hashtags, each OCR source). A post reviewed
twice has two lines: the last one is the desk's word.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from itemadapter import ItemAdapter

from pipelines.detect import detection_sources

_lock = threading.Lock()


def label_line(post: dict[str, Any], decision: str, reason: str, at: str) -> dict[str, Any]:
    return {
        "uid": post["uid"],
        "label": "ad" if decision == "confirmed" else "neg",
        "category": (post.get("detection") or {}).get("category") if decision == "confirmed" else None,
        "sources": [[name, text] for name, text in detection_sources(ItemAdapter(post))],
        "reason": reason,
        "at": at,
    }


def append_label(path: Path, post: dict[str, Any], decision: str, reason: str, at: str) -> None:
    line = json.dumps(label_line(post, decision, reason, at), ensure_ascii=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _lock, path.open("a", encoding="utf-8") as fh:  # one whole line per write: readers never see half
        fh.write(line + "\n")
