"""SHA-256 manifests in ``sha256sum`` format, so ``sha256sum -c manifest.sha256`` checks them with stock tools."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

MANIFEST = "manifest.sha256"
CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class Entry:
    path: str  # relative, POSIX separators
    sha256: str
    bytes: int


def build(folder: Path, skip: frozenset[str] = frozenset()) -> list[Entry]:
    """Every file under ``folder`` (but those named in ``skip``, relative), sorted by path."""
    entries = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel in skip:
            continue
        entries.append(Entry(rel, sha256_file(path), path.stat().st_size))
    return entries


def render(entries: list[Entry]) -> bytes:
    """``<sha256>  <path>`` lines, as ``sha256sum`` writes them (binary-safe: paths never hold newlines here)."""
    return "".join(f"{e.sha256}  {e.path}\n" for e in entries).encode("utf-8")


def parse(data: bytes) -> dict[str, str]:
    """path -> sha256 from a manifest's bytes; a malformed line raises ValueError naming it."""
    out: dict[str, str] = {}
    for n, line in enumerate(data.decode("utf-8").splitlines(), 1):
        digest, sep, path = line.partition("  ")
        if not sep or len(digest) != 64 or not path:
            raise ValueError(f"{MANIFEST} line {n} is malformed")
        out[path] = digest
    return out
