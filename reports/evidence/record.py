"""The capture record: what a reader needs to believe a capture — the clock and its offset against the TSA, the
browser and adwatch versions, the network path, the DNS answers for the hosts visited, and that the browser
profile was fresh. It is one JSON file per capture session, sealed with the batch's manifest and timestamp."""

from __future__ import annotations

import platform
import socket
import subprocess
import sys
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawler.utils import CN_TZ
from reports.evidence.config import EvidenceConfig
from reports.evidence.timestamp import TimestampError, request_stamp

PROJECT = Path(__file__).resolve().parents[2]


def git_describe(project: Path) -> str:
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=project, capture_output=True, text=True,
                             timeout=10)
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def _versions() -> dict[str, str]:
    out = {"adwatch": git_describe(PROJECT), "python": sys.version.split()[0], "os": platform.platform()}
    for dist in ("scrapy", "playwright", "scrapy-playwright"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def dns_answers(urls: list[str]) -> dict[str, list[str]]:
    """host -> the addresses this machine's resolver gave at capture time (or the error)."""
    answers: dict[str, list[str]] = {}
    for host in sorted({h for u in urls if (h := urlsplit(u).hostname)}):
        try:
            answers[host] = sorted({info[4][0] for info in socket.getaddrinfo(host, None)})
        except OSError as exc:
            answers[host] = [f"error: {exc}"]
    return answers


def clock_offset(config: EvidenceConfig, session: str) -> dict[str, Any]:
    """The machine's clock against the TSA's: local time before and after a stamp, and the stamp's time."""
    if not config.tsa_url:
        return {"source": "system clock", "checked_against": None,
                "note": "no TSA configured (ADWATCH_TSA_URL): the offset was not measured"}
    before = datetime.now(CN_TZ)
    try:
        stamp = request_stamp(session.encode(), config.tsa_url)
    except TimestampError as exc:
        return {"source": "system clock", "checked_against": config.tsa_url, "error": str(exc)}
    after = datetime.now(CN_TZ)
    middle = before + (after - before) / 2
    return {"source": "system clock", "checked_against": config.tsa_url,
            "tsa_time": stamp.gen_time.astimezone(CN_TZ).isoformat(), "local_time": middle.isoformat(),
            "offset_seconds": round((stamp.gen_time - middle).total_seconds(), 3),
            "round_trip_seconds": round((after - before).total_seconds(), 3)}


def _public_proxy(proxy: str) -> str:
    """A proxy URL without its credentials."""
    if not proxy:
        return "none (direct connection)"
    parts = urlsplit(proxy)
    return f"{parts.scheme}://{parts.hostname}:{parts.port}" if parts.hostname else "configured"


def capture_record(session: str, started: datetime, finished: datetime, browser_version: str,
                   config: EvidenceConfig, urls: list[str], proxy: str = "") -> dict[str, Any]:
    return {
        "session": session,
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": finished.isoformat(timespec="seconds"),
        "operator": config.operator or "(ADWATCH_OPERATOR not set)",
        "time": clock_offset(config, session),
        "software": {**_versions(), "browser": f"Chromium {browser_version}", "browser_path": config.chromium,
                     "headless": True},
        "network": {"proxy": _public_proxy(proxy), "hostname": socket.gethostname()},
        "dns": dns_answers(urls),
        "browser_profile": "fresh: a new browser context per post (no cookies, storage, cache or login), "
                           "locale zh-CN, time zone Asia/Shanghai",
        "recording": "video of each visit" if config.capture_video else "off (ADWATCH_CAPTURE_VIDEO)",
        "pages": len(urls),
        "statement": "adwatch opened each link in that fresh context, waited for the page to load, saved the HTML "
                     "it received and a full-page screenshot with the link and time drawn on it; nothing was "
                     "altered afterwards (see the batch's SHA-256 manifest and its RFC 3161 timestamp).",
    }
