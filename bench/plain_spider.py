"""A minimal Scrapy spider over the same simulator pages (reference for bench/http_spider.py): JSON in, dicts out."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

import scrapy


class PlainSpider(scrapy.Spider):
    name = "plain"
    custom_settings = {"LOG_LEVEL": "WARNING", "TELNETCONSOLE_ENABLED": False}

    def __init__(self, origin: str, keywords: str, pages: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.origin, self.keywords, self.pages = origin, keywords.split(","), int(pages)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for keyword in self.keywords:
            yield self.page(keyword, 1)

    def page(self, keyword: str, n: int) -> scrapy.Request:
        containerid = quote(f"100103type=1&q={keyword}")
        return scrapy.Request(f"{self.origin}/api/container/getIndex?containerid={containerid}&page_type=searchall"
                              f"&page={n}", cb_kwargs={"keyword": keyword, "n": n})

    def parse(self, response: scrapy.http.TextResponse, keyword: str, n: int) -> Iterator[Any]:
        for card in json.loads(response.text)["data"]["cards"]:
            yield {"card": card.get("card_type")}
        if n < self.pages:
            yield self.page(keyword, n + 1)

    def closed(self, reason: str) -> None:
        stats = self.crawler.stats.get_stats()
        elapsed = (datetime.now(timezone.utc) - stats["start_time"]).total_seconds()
        print(f"RATE {stats['response_received_count'] / elapsed:.3f}", flush=True)
