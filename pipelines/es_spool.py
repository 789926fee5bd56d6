"""The index spool: bulk actions that could not be sent, one JSON line each (``<data dir>/es-spool.jsonl``).

Appends and the replay's claim hold one flock (``<spool>.lock``) across the crawlers of a sweep (threads) and
across processes (a sweep and ``scrapy reindex``). A replaying run renames the spool to
``<spool>.replay-<pid>-<ns>`` first; claims left by runs that died are taken over by the next one.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pipelines.es_client import EsConfig

logger = logging.getLogger("adwatch.index")

ACTION_KEYS = ("_index", "_id", "version", "_source")


def append(path: Path, actions: Iterable[dict[str, Any]]) -> int:
    """Append actions to the spool, one JSON line each; return how many."""
    lines = [json.dumps({k: a[k] for k in ACTION_KEYS}, ensure_ascii=False, default=str) for a in actions]
    if not lines:
        return 0
    with _spool_lock(path), path.open("ab") as fh:
        if fh.tell() and _last_byte(path) != b"\n":
            fh.write(b"\n")  # a run killed mid-line: keep its fragment on a line of its own
        fh.write(("\n".join(lines) + "\n").encode("utf-8"))
    return len(lines)


def claim(path: Path) -> list[Path]:
    """Atomically take the spool (and claims left by runs that died while replaying) for this process."""
    if not path.parent.exists():
        return []
    claimed: list[Path] = []
    with _spool_lock(path):  # no append is half-written when the file changes name
        for old in path.parent.glob(path.name + ".replay-*"):
            pid = old.name.split(".replay-", 1)[1].split("-", 1)[0]
            if pid.isdigit() and not _alive(int(pid)):
                claimed.append(old)
        if path.exists():
            mine = path.with_name(f"{path.name}.replay-{os.getpid()}-{time.monotonic_ns()}")
            path.rename(mine)
            claimed.append(mine)
    return claimed


def read_spool(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                action = json.loads(line)
            except json.JSONDecodeError:  # a line cut short by a crash: the store still has the post
                logger.warning("index: skipping an unreadable spool line in %s", path)
                continue
            if isinstance(action, dict) and action.get("_id") and action.get("_source"):
                yield action


def _last_byte(path: Path) -> bytes:
    with path.open("rb") as fh:
        fh.seek(-1, os.SEEK_END)
        return fh.read(1)


@contextmanager
def _spool_lock(spool: Path) -> Iterator[None]:
    """An exclusive lock on ``<spool>.lock`` (flock): held by every append and by the replay's claim, across
    the crawlers of one sweep (threads) and across processes (a sweep and ``scrapy reindex``)."""
    spool.parent.mkdir(parents=True, exist_ok=True)
    with open(spool.with_name(spool.name + ".lock"), "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def spooled_count(config: EsConfig) -> int:
    """How many actions wait in the spool (claims of dead runs included)."""
    paths = [config.spool, *config.spool.parent.glob(config.spool.name + ".replay-*")]
    return sum(sum(1 for _ in read_spool(p)) for p in paths if p.exists())
