"""Evidence settings, read once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Self

from scrapy.settings import BaseSettings

from pipelines.store import data_dir


@dataclass(frozen=True)
class EvidenceConfig:
    """Where evidence lives, which TSA stamps it, and what a capture records."""

    root: Path  # <data dir>/evidence: captures/ and one folder + archive per sealed batch
    tsa_url: str  # RFC 3161 time-stamping authority ("" = no timestamps: the package says so)
    tsa_roots: Path | None  # PEM file with the TSA's CA certificate(s), to verify its tokens
    tsa_each_file: bool  # a token for every evidence file too, not only the manifest
    capture: bool  # screenshot flagged posts in the browser after a sweep
    capture_video: bool  # and record the capture as video
    capture_concurrency: int
    capture_timeout_ms: int
    chromium: str
    operator: str  # who runs the capture (shown in the capture record)

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> Self:
        roots = settings.get("ADWATCH_TSA_CA_FILE") or ""
        launch = settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS") or {}
        return cls(
            root=Path(settings.get("ADWATCH_EVIDENCE_DIR") or data_dir(settings) / "evidence"),
            tsa_url=settings.get("ADWATCH_TSA_URL") or "",
            tsa_roots=Path(roots) if roots else None,
            tsa_each_file=settings.getbool("ADWATCH_TSA_EACH_FILE", False),
            capture=settings.getbool("ADWATCH_CAPTURE", True),
            capture_video=settings.getbool("ADWATCH_CAPTURE_VIDEO", False),
            capture_concurrency=settings.getint("ADWATCH_CAPTURE_CONCURRENCY", 3),
            capture_timeout_ms=settings.getint("ADWATCH_CAPTURE_TIMEOUT_MS", 30_000),
            chromium=launch.get("executable_path") or "/usr/bin/chromium",
            operator=settings.get("ADWATCH_OPERATOR") or "",
        )

    @property
    def captures(self) -> Path:
        return self.root / "captures"
