"""The desk's settings, read once."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Self

from scrapy.settings import BaseSettings

from pipelines.store import data_dir, store_path
from reports.evidence import EvidenceConfig

_DURATION = re.compile(r"(\d+)\s*(m|h|d)")


def parse_after(values: list[str]) -> list[tuple[str, timedelta]]:
    """``["30m", "6h", "24h", "7d"]`` → labelled offsets after filing (the re-check schedule)."""
    out = []
    for value in values:
        m = _DURATION.fullmatch(str(value).strip())
        if not m:
            raise ValueError(f"ADWATCH_RECHECK_AFTER: {value!r} is not a duration like 30m, 6h or 7d")
        n, unit = int(m[1]), m[2]
        out.append((f"{n}{unit}", timedelta(minutes=n) if unit == "m" else timedelta(hours=n) if unit == "h"
                    else timedelta(days=n)))
    return sorted(out, key=lambda pair: pair[1])


@dataclass(frozen=True)
class DeskConfig:
    """Where the desk reads and writes, who it listens to, and when filed targets are re-checked."""

    store: Path
    labels: Path  # <data dir>/labels/desk.jsonl: the detector's training reads it
    reports_root: Path  # a batch's files go to <reports>/<batch>/ (where `scrapy evidence-package` looks)
    secret_file: Path  # the session-signing key, made on first start (0600)
    complainant: Path
    chromium: str
    evidence: EvidenceConfig
    media_root: Path
    host: str
    port: int
    recheck_after: tuple[tuple[str, timedelta], ...]
    still_online_after: timedelta  # "share still online after 7 days" reads the checks made this long after filing

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> Self:
        base = data_dir(settings)
        evidence = EvidenceConfig.from_settings(settings)
        return cls(
            store=store_path(settings),
            labels=base / "labels" / "desk.jsonl",
            reports_root=Path(settings.get("ADWATCH_REPORTS_DIR") or base / "reports"),
            secret_file=base / "desk" / "secret.key",
            complainant=Path(settings.get("ADWATCH_COMPLAINANT")),
            chromium=evidence.chromium,
            evidence=evidence,
            media_root=Path(settings.get("FILES_STORE") or base / "media"),
            host=settings.get("ADWATCH_DESK_HOST") or "127.0.0.1",
            port=settings.getint("ADWATCH_DESK_PORT", 8766),
            recheck_after=tuple(parse_after(settings.getlist("ADWATCH_RECHECK_AFTER") or ["30m", "6h", "24h", "7d"])),
            still_online_after=timedelta(days=settings.getfloat("ADWATCH_STILL_ONLINE_DAYS", 7.0)),
        )
