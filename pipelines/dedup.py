"""Dedup stage: one post, one item per run, whatever number of keywords found it (``platform:post_id``)."""

from __future__ import annotations

from typing import Any

from itemadapter import ItemAdapter
from scrapy.exceptions import DropItem

from crawler.items import post_uid
from pipelines.base import Stage


class DedupStage(Stage):
    """Drops a post already seen in this run; across runs the store's upsert keeps one row per post."""

    name = "dedup"

    def open_spider(self) -> None:
        self.seen: set[str] = set()

    def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        uid = post_uid(adapter["platform"], adapter["post_id"])
        if uid in self.seen:
            self.count("duplicate", platform=adapter["platform"])
            raise DropItem(f"duplicate of {uid} already collected in this run", log_level="DEBUG")
        self.seen.add(uid)
        self.count("unique", platform=adapter["platform"])
        return item
