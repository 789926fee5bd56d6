"""Repost stage: a repost ("捞", "转发微博") inherits the decision and evidence of the post it reposts.

Detection judges every post on its own content, the original included (the spider emits it as a post of its
own). A repost's own words are usually nothing; what it spreads is the original. This stage sits after detection
and before the store: it remembers each post's decision, and a repost whose original is flagged is flagged too,
with the original's category, score, matches and contacts, marked ``detection.inherited_from``. Items travel the
pipeline concurrently (an original with pictures is still being OCR'd when its text-only repost arrives), so a
repost waits for its original's decision, up to ``ADWATCH_REPOST_WAIT_SECONDS``; an original stored by an earlier
sweep is looked up in the store.
"""

from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from itemadapter import ItemAdapter
from scrapy.settings import BaseSettings

from crawler.items import post_uid
from pipelines.base import Stage
from pipelines.store import SqliteStore, store_path


@dataclass(frozen=True)
class RepostConfig:
    wait_seconds: float
    store: Path


@dataclass(frozen=True)
class Decision:
    flagged: bool
    detection: dict[str, Any] | None
    contacts: list[dict[str, Any]]


def inherit(adapter: ItemAdapter, original_uid: str, decision: Decision) -> bool:
    """Flag the repost in ``adapter`` with ``decision``'s evidence if the original is flagged; True if it was.

    A repost flagged on its own words keeps its own decision (and still points at the original).
    """
    if not decision.flagged or adapter.get("flagged"):
        return False
    detection = copy.deepcopy(decision.detection or {})
    detection["inherited_from"] = original_uid
    detection["explanation"] = f"转发自 {original_uid}：" + str(detection.get("explanation") or "")
    adapter["detection"] = detection
    adapter["contacts"] = copy.deepcopy(decision.contacts)
    adapter["flagged"] = True
    return True


class RepostStage(Stage):
    """Records every post's decision; hands a flagged original's decision to its reposts."""

    name = "reposts"

    @classmethod
    def config_from_settings(cls, settings: BaseSettings) -> RepostConfig:
        return RepostConfig(wait_seconds=settings.getfloat("ADWATCH_REPOST_WAIT_SECONDS", 20.0),
                            store=store_path(settings))

    def open_spider(self) -> None:
        self.decisions: dict[str, Decision] = {}
        self.arrived: dict[str, asyncio.Event] = {}
        self._store: SqliteStore | None = None

    def close_spider(self) -> None:
        for event in self.arrived.values():
            event.set()
        if self._store is not None:
            self._store.close()

    def _event(self, uid: str) -> asyncio.Event:
        return self.arrived.setdefault(uid, asyncio.Event())

    async def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        platform = adapter["platform"]
        uid = post_uid(platform, adapter["post_id"])
        self.decisions[uid] = Decision(bool(adapter.get("flagged")), adapter.get("detection"),
                                       list(adapter.get("contacts") or []))
        self._event(uid).set()
        original = adapter.get("reposted_from")
        if not original:
            return item
        self.count("reposts", platform=platform)
        decision = await self._decision(original)
        if decision is None:
            self.count("original_unknown", platform=platform)  # gone, or never reached this run
        elif inherit(adapter, original, decision):
            self.count("inherited", platform=platform)
            self.decisions[uid] = Decision(True, adapter.get("detection"), list(adapter.get("contacts") or []))
        return item

    async def _decision(self, original: str) -> Decision | None:
        if original not in self.decisions:
            try:
                await asyncio.wait_for(self._event(original).wait(), self.config.wait_seconds)
            except TimeoutError:
                pass
        if original in self.decisions:
            return self.decisions[original]
        return self._stored(original)

    def _stored(self, original: str) -> Decision | None:
        """The original as an earlier sweep stored it, if it did."""
        if not self.config.store.exists():
            return None
        if self._store is None:
            self._store = SqliteStore(self.config.store)
        doc = self._store.get(original)
        if doc is None:
            return None
        return Decision(bool(doc.get("flagged")), doc.get("detection"), list(doc.get("contacts") or []))
