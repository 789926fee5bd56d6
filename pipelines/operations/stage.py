"""The operations stage: every flagged post joins the linking graph as it is stored; ``operation_id`` set on it.

A sweep runs several spiders in one process, each with its own pipeline instances: they share one
:class:`OperationBook` per store file, so a Weibo post links to a Douyin post found a second earlier. When a post
merges or grows an operation, earlier members' ``operation_id`` in the index is brought up to date at the end of
the run (when Elasticsearch is configured).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from itemadapter import ItemAdapter
from scrapy.exceptions import NotConfigured
from scrapy.settings import BaseSettings

from crawler.items import to_plain
from pipelines.base import Stage
from pipelines.es_client import EsConfig
from pipelines.operations.book import OperationBook
from pipelines.store import store_path

_books: dict[Path, tuple[OperationBook, int]] = {}
_books_lock = threading.Lock()


def open_book(path: Path, min_accounts: int) -> OperationBook:
    """The process's book for ``path`` (opened by the first stage that asks; closed when the last one closes)."""
    with _books_lock:
        book, users = _books.get(path, (None, 0))
        if book is None:
            book = OperationBook(path, min_accounts=min_accounts)
        _books[path] = (book, users + 1)
        return book


def close_book(path: Path) -> None:
    with _books_lock:
        book, users = _books[path]
        if users <= 1:
            del _books[path]
            book.close()
        else:
            _books[path] = (book, users - 1)


@dataclass(frozen=True)
class OperationsConfig:
    store: Path
    min_accounts: int
    es: EsConfig | None


class OperationStage(Stage):
    """Link each flagged post into operations (contacts, scripts, pictures, landing links) and tag it."""

    name = "operations"

    @classmethod
    def config_from_settings(cls, settings: BaseSettings) -> OperationsConfig:
        if not settings.getbool("ADWATCH_OPERATIONS", True):
            raise NotConfigured("ADWATCH_OPERATIONS is off")
        try:
            es = EsConfig.from_settings(settings)
        except NotConfigured:
            es = None
        return OperationsConfig(store_path(settings), settings.getint("ADWATCH_OPERATIONS_MIN_ACCOUNTS", 2), es)

    def open_spider(self) -> None:
        self.book = open_book(self.config.store, self.config.min_accounts)
        self.changed: dict[str, str] = {}

    def close_spider(self) -> None:
        close_book(self.config.store)
        if self.changed and self.config.es is not None:
            from pipelines.operations.es import tag_operations  # only with a cluster configured

            try:
                tag_operations(self.config.es, self.changed)
                self.count("index_updated", len(self.changed))
            except Exception as exc:  # the cluster is down: the store has it, `scrapy reindex` catches up
                self.count("index_failed")
                self.logger.warning("operations: could not update operation_id in the index (%r)", exc)

    def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        if not adapter.get("flagged"):
            return item
        post = to_plain(adapter.asdict())
        post.pop("raw", None)
        post["uid"] = f"{post['platform']}:{post['post_id']}"
        post["first_seen"] = post.get("captured_at") or datetime.now(timezone.utc).isoformat()
        try:
            changed = self.book.add_posts([post])
        except Exception as exc:  # never lose the post over the graph: it is stored already, `scrapy operations
            self.count("failed")  # --rebuild` links it later
            self.warn_once("failed", "operations: could not link %s (%r)", post["uid"], exc)
            return item
        self.changed.update(changed)
        op_id = self.book.operation_of(post["uid"])
        if op_id:
            adapter["operation_id"] = op_id
            self.count("linked", platform=post["platform"])
        if any(node != post["uid"] for node in changed):
            self.count("grown_or_merged")
        return item
