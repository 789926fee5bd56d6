"""Incremental sweeps: read result pages only while they hold posts not stored before this run, and send a
known post down the pipeline again only when it is due for a refresh.

A keyword is swept in full (every page, every post) the first time, after a run that did not finish, every
``ADWATCH_FULL_SWEEP_DAYS``, and whenever ``ADWATCH_FULL_SWEEP`` is set; otherwise paging stops at the first page
whose posts were all stored by earlier runs (search results newest first: what follows is older still).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from scrapy.settings import BaseSettings

from pipelines.seen import SeenMemory, seen_path

logger = logging.getLogger("adwatch.incremental")


@dataclass(frozen=True)
class IncrementalConfig:
    full_sweep: bool  # forced: read everything, re-send everything
    full_every_days: float  # a keyword is read in full at least this often (0: only when forced or first time)
    refresh_hours: float  # a known post seen on a page is sent again when last stored longer ago than this

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> Self:
        return cls(full_sweep=settings.getbool("ADWATCH_FULL_SWEEP", False),
                   full_every_days=settings.getfloat("ADWATCH_FULL_SWEEP_DAYS", 7.0),
                   refresh_hours=settings.getfloat("ADWATCH_REFRESH_HOURS", 24.0))


class Incremental:
    """One platform's incremental state for this run (the spider's ``is_due`` / ``keep_paging`` hooks)."""

    def __init__(self, platform: str, memory: SeenMemory | Path, config: IncrementalConfig,
                 count: Callable[[str], None] = lambda event: None, clock: Callable[[], float] = time.time) -> None:
        self.platform = platform
        # A path is opened once the file exists (the pipeline creates it): until then nothing is known, and a
        # spider built only to parse saved pages never creates a memory file.
        self._memory = memory if isinstance(memory, SeenMemory) else None
        self._path = memory.path if isinstance(memory, SeenMemory) else memory
        self.config = config
        self._count = count
        self._clock = clock
        self.started = clock()
        self._full: dict[str, bool] = {}
        self.stopped_early: set[str] = set()

    @classmethod
    def from_settings(cls, platform: str, settings: BaseSettings, count: Callable[[str], None]) -> Self:
        return cls(platform, seen_path(settings), IncrementalConfig.from_settings(settings), count)

    def memory(self, create: bool = False) -> SeenMemory | None:
        if self._memory is None and (create or self._path.exists()):
            self._memory = SeenMemory(self._path, self._clock)
        return self._memory

    def full(self, keyword: str) -> bool:
        """Whether ``keyword`` is swept in full this run."""
        if keyword not in self._full:
            memory = self.memory()
            last = memory.last_full(self.platform, keyword) if memory else None
            every = self.config.full_every_days * 86400
            self._full[keyword] = (self.config.full_sweep or last is None
                                   or bool(every) and self.started - last >= every)
            if self._full[keyword]:
                self._count("incremental/full_keywords")
        return self._full[keyword]

    def is_due(self, post_id: str, keyword: str) -> bool:
        """Send this post down the pipeline? Yes if unknown, if the keyword is swept in full, or if it is due
        for a refresh; a known fresh post is skipped (no detail request, no media, no store)."""
        memory = self.memory()
        if self.full(keyword) or memory is None:
            return True
        seen = memory.post(self.platform, str(post_id))
        if seen is None:
            return True
        if self._clock() - seen[1] >= self.config.refresh_hours * 3600:
            self._count("incremental/refreshed")
            return True
        self._count("incremental/skipped")
        return False

    def keep_paging(self, keyword: str, post_ids: Iterable[str]) -> bool:
        """After a result page with ``post_ids``: read the next one? Not once every post on it was stored by an
        earlier run (and the keyword is not swept in full)."""
        ids = [str(i) for i in post_ids]
        memory = self.memory()
        if self.full(keyword) or not ids or memory is None:
            return True
        for post_id in ids:
            seen = memory.post(self.platform, post_id)
            if seen is None or seen[0] >= self.started:
                return True
        self._count("incremental/stopped_paging")
        self.stopped_early.add(keyword)
        return False

    def finish(self, keywords: Iterable[str], reason: str) -> None:
        """At the end of a run that finished: keywords read to the end count as swept in full now."""
        try:
            if reason == "finished":
                read_to_end = [k for k in keywords if k not in self.stopped_early]
                memory = self.memory(create=True)
                assert memory is not None
                memory.swept_in_full(self.platform, read_to_end, self.started)
        finally:
            if self._memory is not None:
                self._memory.close()
