"""Re-check filed takedown targets: each platform's own single-post fetch (``PlatformSpider.post_request``) tells
whether a filed post is removed or still online, and the store tells whether its contact or text came back under
another post or account (re-emergence).

The checks are scheduled when a batch is filed (``ADWATCH_RECHECK_AFTER``, by default 30 min, 6 h, 24 h and 7 days
after filing); ``scrapy recheck`` runs the ones that are due. One crawl per platform, through a subclass of the
platform's spider that starts from the due posts, with one pipeline that only notes what came back.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Self

from itemadapter import ItemAdapter
from scrapy.crawler import Crawler

from crawler.items import PostGone
from crawler.platforms.base import PlatformSpider
from crawler.utils import parse_iso
from pipelines.clues.normalise import ACCOUNT, post_clues
from reports.desk.db import DeskDb

logger = logging.getLogger("adwatch.recheck")
NEAR_DUPLICATE = 0.7  # Jaccard similarity of character trigrams above which two texts are one ad reposted
MIN_SHINGLES = 12  # shorter texts say too little to call a repost


class RecheckCollector:
    """The only pipeline of a re-check crawl: notes each post's answer (``AdPost`` = online, ``PostGone`` =
    removed) on the spider; nothing is stored, downloaded or detected again."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        spider = self.crawler.spider
        state = "removed" if isinstance(item, PostGone) else "online"
        detail = adapter.get("reason") if state == "removed" else (adapter.get("url") or "")
        spider.recheck_found[str(adapter["post_id"])] = (state, str(detail or ""))
        spider.crawler.stats.inc_value(f"adwatch/recheck/{state}")
        return item


def supports_post_request(spider_cls: type[PlatformSpider]) -> bool:
    return spider_cls.post_request is not PlatformSpider.post_request


def recheck_spider(spider_cls: type[PlatformSpider], post_ids: Iterable[str]) -> type[PlatformSpider]:
    """The platform's spider, starting from ``post_ids`` instead of searches (same name: same origin and hosts)."""
    ids = tuple(dict.fromkeys(str(p) for p in post_ids))
    settings = {
        **(getattr(spider_cls, "custom_settings", None) or {}),
        "ITEM_PIPELINES": {"crawler.recheck.RecheckCollector": 100},
        "SPIDERMON_ENABLED": False,  # its thresholds are about sweeps
        "EXTENSIONS": {"crawler.extensions.SweepSummary": None},
    }

    async def start(self: Any) -> Any:
        self.recheck_found = {}
        for post_id in ids:
            yield self.post_request(post_id)

    return type(f"{spider_cls.__name__}Recheck", (spider_cls,), {"start": start, "custom_settings": settings,
                                                                 "recheck_found": None})


@dataclass
class Plan:
    """The checks due now, by platform, and the platforms that cannot fetch a single post yet."""

    due: list[dict[str, Any]]
    by_platform: dict[str, list[str]] = field(default_factory=dict)
    unsupported: dict[str, int] = field(default_factory=dict)


def plan(db: DeskDb, now: datetime, spider_classes: dict[str, type[PlatformSpider]], every_target: bool = False) -> Plan:
    due = db.due_checks(now, every_target)
    out = Plan(due=[])
    for check in due:
        cls = spider_classes.get(check["platform"])
        if cls is None or not supports_post_request(cls):
            out.unsupported[check["platform"]] = out.unsupported.get(check["platform"], 0) + 1
            continue  # stays due: checked once the platform can fetch single posts
        out.due.append(check)
        out.by_platform.setdefault(check["platform"], []).append(check["post_id"])
    return out


def record(db: DeskDb, todo: Plan, found: dict[str, dict[str, tuple[str, str]]], now: datetime) -> dict[str, int]:
    """Write each due check's result; a post the platform answered nothing about is an ``error`` (tried again at
    the next scheduled check, never counted as removed)."""
    results, counts = [], {"removed": 0, "online": 0, "error": 0}
    for check in todo.due:
        state, detail = found.get(check["platform"], {}).get(check["post_id"], ("error", "no answer"))
        results.append((check["uid"], check["label"], state, detail))
        counts[state] = counts.get(state, 0) + 1
    if results:
        db.record_checks(results, now)
    return counts


def _shingles(text: str) -> set[str]:
    plain = re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text or "")).lower()
    return {plain[i : i + 3] for i in range(max(0, len(plain) - 2))}


def find_reemergence(db: DeskDb, posts: Iterable[dict[str, Any]], now: datetime) -> int:
    """Filed targets whose contact, account or near-duplicate text shows up in a post first seen after the filing
    (``posts``: the store's posts); returns how many new pairings were found."""
    filed = [t for t in db.targets() if t["filed_at"]]
    if not filed:
        return 0
    posts = list(posts)
    by_uid = {p["uid"]: p for p in posts}
    filed_uids = {t["uid"] for t in filed}
    found = []
    for t in filed:
        original = by_uid.get(t["uid"])
        if original is None:
            continue
        filed_at = parse_iso(t["filed_at"])
        clues = {(c.kind, c.value) for c in post_clues(original)[0]}
        shingles = _shingles(original.get("text") or "")
        for p in posts:
            seen = parse_iso(p.get("first_seen"))
            if p["uid"] in filed_uids or not seen or not filed_at or seen <= filed_at:
                continue
            shared = sorted(c for c in ((c.kind, c.value) for c in post_clues(p)[0]) if c in clues)
            if shared:
                kind, value = shared[0]
                found.append((t["uid"], p["uid"], "account" if kind == ACCOUNT else f"contact:{kind}", value))
                continue
            other = _shingles(p.get("text") or "")
            if len(shingles) >= MIN_SHINGLES and len(other) >= MIN_SHINGLES:
                similarity = len(shingles & other) / len(shingles | other)
                if similarity >= NEAR_DUPLICATE:
                    found.append((t["uid"], p["uid"], "text", f"{similarity:.2f}"))
    return db.add_reemergence(found, now)


def watch(db: DeskDb, run_once: Any, interval: float, now: Any, sleep: Any, max_runs: int | None = None) -> int:
    """Run ``run_once()`` (a ``scrapy recheck`` process: a Twisted reactor runs once) whenever a check is due,
    looking every ``interval`` seconds; returns how many runs failed."""
    runs = failures = 0
    while max_runs is None or runs < max_runs:
        due = db.next_due()
        if due is not None and due <= now():
            runs += 1
            failures += run_once() != 0
        else:
            sleep(interval)
    return failures
