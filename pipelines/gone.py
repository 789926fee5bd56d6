"""Gone stage: a :class:`~crawler.items.PostGone` (a post fetched by its id is deleted, private or missing) is
counted and dropped quietly, before any stage that expects a post, so nothing stored is touched.

Whoever asked for the post (``scrapy add-url``) learns of it from Scrapy's ``item_dropped`` signal.
"""

from __future__ import annotations

from typing import Any

from scrapy.exceptions import DropItem

from crawler.items import PostGone
from pipelines.base import Stage


class GoneStage(Stage):
    """Drop PostGone items with a count (``adwatch/gone/<reason>``); pass every post through untouched."""

    name = "gone"

    def process_item(self, item: Any) -> Any:
        if isinstance(item, PostGone):
            self.count(item.reason, platform=item.platform)
            raise DropItem(f"{item.platform}:{item.post_id} is gone ({item.reason})", log_level="DEBUG")
        return item
