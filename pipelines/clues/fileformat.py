"""The exchange file: one JSON document, versioned, holding only blinded elements.

    {"format": "adwatch-clues", "version": 1,
     "type": "export" | "response",
     "mode": "ecdh-ristretto255" | "hmac-sha256",
     "batch": "<the export's batch id>",      # a response carries the batch it answers
     "member": "<who wrote the file>",
     "created": "<ISO 8601 UTC>",
     "key_id": "<alliance key id>",           # hmac mode only
     "clues": {"<kind>": "<base64 of n × 32 bytes>", …},      # the writer's own blinded clues
     "reblinded": {"<kind>": "<base64 of n × 32 bytes>", …}}  # response only: the export's clues, blinded
                                                                 # again, same kinds, same order
Elements of a kind are concatenated 32-byte strings (one base64 string per kind keeps 100k clues at ~4 MB and
reads in milliseconds); 32 zero bytes mark an entry that could not be used.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pipelines.clues.normalise import KINDS
from pipelines.clues.psi import ELEMENT_BYTES, MODES

FORMAT = "adwatch-clues"
VERSION = 1
EXPORT = "export"
RESPONSE = "response"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")  # batch ids and member names

Elements = dict[str, list[bytes]]


class ClueFileError(ValueError):
    """A clue file that is not one (or not one this version reads); the message says what is wrong."""


@dataclass
class ClueFile:
    type: str
    mode: str
    batch: str
    member: str
    clues: Elements
    reblinded: Elements | None = None
    key_id: str | None = None
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    def counts(self) -> dict[str, int]:
        return {kind: len(v) for kind, v in sorted(self.clues.items())}

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "format": FORMAT, "version": VERSION, "type": self.type, "mode": self.mode, "batch": self.batch,
            "member": self.member, "created": self.created,
        }
        if self.key_id:
            doc["key_id"] = self.key_id
        doc["clues"] = _pack(self.clues)
        if self.reblinded is not None:
            doc["reblinded"] = _pack(self.reblinded)
        return doc

    def write(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        tmp.write_text(json.dumps(self.to_json(), ensure_ascii=True, indent=1), encoding="utf-8")
        tmp.replace(path)  # a reader never sees half a file
        return path

    @classmethod
    def from_json(cls, doc: Any) -> ClueFile:
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ClueFileError(f"not an {FORMAT} file")
        if doc.get("version") != VERSION:
            raise ClueFileError(f"{FORMAT} version {doc.get('version')!r}; this adwatch reads version {VERSION}")
        kind = doc.get("type")
        if kind not in (EXPORT, RESPONSE):
            raise ClueFileError(f"unknown file type {kind!r} (expected {EXPORT!r} or {RESPONSE!r})")
        if doc.get("mode") not in MODES:
            raise ClueFileError(f"unknown mode {doc.get('mode')!r} (expected one of {', '.join(MODES)})")
        for name in ("batch", "member"):
            if not isinstance(doc.get(name), str) or not _NAME.match(doc[name]):
                raise ClueFileError(f"{name!r} missing or not a plain name")
        reblinded = doc.get("reblinded")
        if (kind == RESPONSE) != (reblinded is not None):
            raise ClueFileError("a response (and only a response) has a 'reblinded' section")
        key_id = doc.get("key_id")
        if key_id is not None and not isinstance(key_id, str):
            raise ClueFileError("'key_id' is not a string")
        created = doc.get("created")
        return cls(
            type=kind, mode=doc["mode"], batch=doc["batch"], member=doc["member"], clues=_unpack(doc.get("clues"), "clues"),
            reblinded=None if reblinded is None else _unpack(reblinded, "reblinded"), key_id=key_id,
            created=created if isinstance(created, str) else "",
        )

    @classmethod
    def read(cls, path: str | Path) -> ClueFile:
        try:
            doc = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ClueFileError(f"{path}: cannot read ({exc})") from exc
        try:
            return cls.from_json(doc)
        except ClueFileError as exc:
            raise ClueFileError(f"{path}: {exc}") from None


def valid_name(name: str) -> bool:
    return bool(_NAME.match(name))


def _pack(elements: Elements) -> dict[str, str]:
    return {kind: base64.b64encode(b"".join(v)).decode("ascii") for kind, v in sorted(elements.items())}


def _unpack(packed: Any, section: str) -> Elements:
    if not isinstance(packed, dict):
        raise ClueFileError(f"{section!r} missing or not an object")
    out: Elements = {}
    for kind, blob in packed.items():
        if kind not in KINDS:
            raise ClueFileError(f"{section}: unknown clue kind {kind!r} (known: {', '.join(KINDS)})")
        try:
            raw = base64.b64decode(blob, validate=True) if isinstance(blob, str) else None
        except (binascii.Error, ValueError):
            raw = None
        if raw is None or len(raw) % ELEMENT_BYTES:
            raise ClueFileError(f"{section}.{kind}: not base64 of {ELEMENT_BYTES}-byte elements")
        out[kind] = [raw[i : i + ELEMENT_BYTES] for i in range(0, len(raw), ELEMENT_BYTES)]
    return out
