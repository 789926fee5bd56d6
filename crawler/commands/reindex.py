"""``scrapy reindex``: replay the Elasticsearch spool, then (re)index every post of the embedded store.

Idempotent: document ids are ``platform:post_id`` and versions are capture times, so running it twice, or after a
sweep that already indexed some posts, changes nothing but what was missing or older.
"""

from __future__ import annotations

import argparse
from typing import Any

from crawler.command_base import ProjectCommand
from scrapy.exceptions import NotConfigured, UsageError
from scrapy.settings import BaseSettings

from pipelines import es_schema
from pipelines.clues.book import ClueBook
from pipelines.index import BulkResult, EsConfig, EsIndexer, make_client, spooled_count
from pipelines.store import SqliteStore, store_path


def reindex(settings: BaseSettings, platform: str | None = None, spool_only: bool = False,
            log: Any = print) -> BulkResult:
    """Replay the spool, then send every stored post (oldest first), each with its current clue matches; return
    what happened."""
    config = EsConfig.from_settings(settings)
    clues = ClueBook(store_path(settings))
    client = make_client(config)
    indexer = EsIndexer(client, config, clues)
    try:
        replayed = indexer.replay_spool()
        log(f"adwatch: spool replayed: {replayed.indexed} indexed, {replayed.stale} already newer, "
            f"{replayed.spooled} still spooled")
        total = BulkResult()
        total += replayed
        if not spool_only:
            total += _index_store(indexer, settings, platform, log)
        if indexer.available:
            indexer.refresh()
        return total
    finally:
        client.close()
        clues.close()


def _index_store(indexer: EsIndexer, settings: BaseSettings, platform: str | None, log: Any) -> BulkResult:
    store = SqliteStore(store_path(settings))
    result = BulkResult()
    authors: dict[tuple[str, str], str] = {}  # posts come oldest first: the first seen is the author's first
    batch: list[dict[str, Any]] = []

    def send() -> None:
        nonlocal result
        result.clues_failed += indexer.add_matches(batch)
        result += indexer.send([indexer.action(es_schema.to_es_doc(post)) for post in batch])
        batch.clear()

    try:
        for post in store.iter_posts(platform=platform):
            author_id = (post.get("author") or {}).get("id")
            if author_id:
                post["author_first_seen"] = authors.setdefault((post["platform"], str(author_id)), post["first_seen"])
            batch.append(post)
            if len(batch) >= indexer.config.batch_size:
                send()
        send()
        log(f"adwatch: store ({store.count(platform=platform)} posts): {result.indexed} indexed, "
            f"{result.stale} already newer, {result.spooled} spooled, {result.rejected} rejected")
    finally:
        store.close()
    return result


class Command(ProjectCommand):
    summary = "Index the embedded store (and replay the spool) into Elasticsearch (ADWATCH_ES_URL)"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--platform", default=None, help="only this platform's posts")
        parser.add_argument("--spool-only", action="store_true", help="only replay the spool")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        try:
            reindex(self.settings, opts.platform, opts.spool_only)
        except NotConfigured as exc:
            raise UsageError(f"{exc}; set ADWATCH_ES_URL", print_help=False) from exc
        left = spooled_count(EsConfig.from_settings(self.settings))
        if left:
            print(f"adwatch: {left} posts wait in the spool; run `scrapy reindex --spool-only` when the cluster is back")
            self.exitcode = 1
