"""Soft access to untrusted nested payloads: a missing or odd-shaped field never raises."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

# Beijing time: what every platform here means by a local time, and what reports and schedules show.
CN_TZ = timezone(timedelta(hours=8))

_MISSING = object()


def traverse(data: Any, *path: Any, default: Any = None, expected: type | tuple[type, ...] | None = None) -> Any:
    """Follow ``path`` (dict keys, list indexes) into ``data``; return ``default`` on any miss.

    ``expected`` rejects a found value of the wrong type (e.g. a string where a list belongs).
    """
    cur = data
    for key in path:
        if isinstance(cur, dict):
            cur = cur.get(key, _MISSING)
        elif isinstance(cur, (list, tuple)) and isinstance(key, int):
            cur = cur[key] if -len(cur) <= key < len(cur) else _MISSING
        else:
            return default
        if cur is _MISSING or cur is None:
            return default
    if expected is not None and not isinstance(cur, expected):
        return default
    return cur


def as_int(value: Any, default: int | None = None) -> int | None:
    """Counts arrive as ints, numeric strings or "1.2万"; anything else gives ``default``."""
    if isinstance(value, bool):
        return default
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str):
        s = value.strip().replace(",", "")
        mult = 1
        if s.endswith("万"):
            s, mult = s[:-1], 10_000
        elif s.endswith("亿"):
            s, mult = s[:-1], 100_000_000
        try:
            return int(float(s) * mult)
        except ValueError:
            return default
    return default


def counts(**values: Any) -> dict[str, int]:
    """Engagement counts that parse (see :func:`as_int`), keyed by our names; the rest are left out."""
    return {k: n for k, v in values.items() if (n := as_int(v)) is not None}


def parse_iso(value: Any) -> datetime | None:
    """An ISO-8601 string as a datetime (naive if it has no offset); None for anything else or unparsable."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
