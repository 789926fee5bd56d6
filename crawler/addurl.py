"""Posts added by their link (``scrapy add-url``): each owning spider fetches its posts by id through the normal
pipelines (media, OCR, detection, store, index), marked ``source="manual"``; every link ends in one outcome.

A link's index rides along in ``request.meta`` (copied onto follow-up requests by :class:`LinkIndexMiddleware`),
so each stored post, gone post or stopped platform is reported against the link that asked for it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from itemadapter import ItemAdapter
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import Request, Response
from scrapy.settings import BaseSettings

from crawler.components import add_components
from crawler.items import AdPost, PostGone
from crawler.links import Route

LINK_KEY = "adwatch_link"


class SinglePosts:
    """Mixin over a platform spider: start with ``post_request`` of the given links, not with a search."""

    links: list[tuple[int, str]]  # (link index, post id), from the ``links`` spider argument

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)  # type: ignore[misc]
        add_components(settings, "SPIDER_MIDDLEWARES", {f"{__name__}.LinkIndexMiddleware": 50})

    async def start(self) -> AsyncIterator[Request]:
        for index, post_id in self.links:
            request = self.post_request(post_id)  # type: ignore[attr-defined]
            request.meta[LINK_KEY] = index
            yield request

    def make_post(self, *args: Any, **fields: Any) -> AdPost:
        post = super().make_post(*args, **fields)  # type: ignore[misc]
        post.source = "manual"
        return post


def single_post_spider(spidercls: type) -> type:
    """``spidercls`` fetching given posts by id; same name (settings, stats, origins), no Spidermon suite (a run of
    one gone post has no items, which is the answer, not a failure)."""
    settings = {**(getattr(spidercls, "custom_settings", None) or {}), "SPIDERMON_ENABLED": False}
    return type(spidercls.__name__, (SinglePosts, spidercls), {"custom_settings": settings, "__module__": __name__})


class LinkIndexMiddleware:
    """Copies the link index of a response onto the requests its callback yields (article after jump page …)."""

    def process_spider_output(self, response: Response, result: Iterable[Any]) -> Iterator[Any]:
        for out in result:
            yield self._mark(response, out)

    async def process_spider_output_async(self, response: Response, result: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for out in result:
            yield self._mark(response, out)

    @staticmethod
    def _mark(response: Response, out: Any) -> Any:
        index = response.meta.get(LINK_KEY)
        if index is not None and isinstance(out, Request) and LINK_KEY not in out.meta:
            out.meta[LINK_KEY] = index
        return out


@dataclass
class Outcome:
    """What became of one link: ``stored``, ``gone``, ``unknown``, ``failed``."""

    link: str
    state: str
    detail: str

    def line(self) -> str:
        return f"adwatch: {self.state}: {self.link} — {self.detail}"


class LinkRun:
    """Collects one outcome per link from the crawlers' signals."""

    def __init__(self, links: list[str]) -> None:
        self.links = links
        self.outcomes: dict[int, Outcome] = {}

    def unknown(self, index: int, why: str) -> None:
        self.outcomes[index] = Outcome(self.links[index], "unknown", f"{why}; nothing stored")

    def watch(self, crawler: Crawler, routes: dict[int, Route]) -> None:
        """Record what ``crawler`` (one platform) does with ``routes`` (link index → route)."""
        def scraped(item: Any, response: Response) -> None:
            if (index := self._index(response, routes)) is not None:
                adapter = ItemAdapter(item)
                detection = adapter.get("detection") or {}
                verdict = (f"flagged ({detection.get('category')}, {float(detection.get('score') or 0):.2f})"
                           if adapter.get("flagged") else "not flagged")
                media = sum(1 for m in adapter.get("media") or [] if not getattr(m, "error", None))
                self.outcomes.setdefault(index, Outcome(self.links[index], "stored", (
                    f"{adapter['platform']}:{adapter['post_id']} {verdict}, {media} evidence file(s), marked manual")))

        def dropped(item: Any, response: Response, exception: BaseException) -> None:
            index = self._index(response, routes)
            if index is None:
                return
            if isinstance(item, PostGone):
                self.outcomes.setdefault(index, Outcome(self.links[index], "gone", (
                    f"{item.platform}:{item.post_id} is {item.reason} on the platform; nothing stored")))
            else:  # the same post as another link of this run
                self.outcomes.setdefault(index, Outcome(self.links[index], "stored", f"same post as another link ({exception})"))

        def closed(spider: Any, reason: str) -> None:
            for index, route in routes.items():
                self.outcomes.setdefault(index, Outcome(self.links[index], "failed", (
                    f"{route.platform} gave no post for {route.post_id} ({reason}); nothing stored")))

        crawler.signals.connect(scraped, signal=signals.item_scraped, weak=False)
        crawler.signals.connect(dropped, signal=signals.item_dropped, weak=False)
        crawler.signals.connect(closed, signal=signals.spider_closed, weak=False)

    @staticmethod
    def _index(response: Response | None, routes: dict[int, Route]) -> int | None:
        index = response.meta.get(LINK_KEY) if response is not None else None
        if index is None and len(routes) == 1:
            index = next(iter(routes))
        return index if index in routes else None

    def lines(self) -> list[str]:
        return [self.outcomes[i].line() for i in sorted(self.outcomes)]

    @property
    def ok(self) -> bool:
        return bool(self.outcomes) and all(o.state == "stored" for o in self.outcomes.values())
