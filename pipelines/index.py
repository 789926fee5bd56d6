"""Index stage: every stored post goes to Elasticsearch when ``ADWATCH_ES_URL`` is set — and is never lost.

Posts are buffered and sent with ``elasticsearch.helpers.streaming_bulk`` in batches; the client retries whole
requests with backoff on connection errors and 429/502/503/504, the helper retries single documents rejected with
429/5xx. What still fails is appended to the spool (``<data dir>/es-spool.jsonl``: one bulk action per line) and
replayed when the next run opens, or by ``scrapy reindex``. Each document carries an external version (its
capture time in µs, ``version_type=external_gte``), so a replayed older copy can never overwrite a newer one: the
node answers 409, counted as ``stale``.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch, helpers
from itemadapter import ItemAdapter
from scrapy.settings import BaseSettings

from crawler.items import to_plain
from crawler.utils import parse_iso
from pipelines import es_schema, es_spool
from pipelines.base import Stage
from pipelines.clues.book import ClueBook
from pipelines.clues.fields import add_match_fields
from pipelines.es_client import RETRY_STATUS, EsConfig, make_client
from pipelines.es_spool import spooled_count
from pipelines.store import SqliteStore

__all__ = ["RETRY_STATUS", "BulkResult", "EsConfig", "EsIndexer", "IndexStage", "make_client", "spooled_count",
           "version_of"]

logger = logging.getLogger("adwatch.index")


def version_of(doc: dict[str, Any]) -> int:
    """External version: capture time in µs, so the newest capture of a post always wins."""
    for key in ("captured_at", "last_seen"):
        when = parse_iso(doc.get(key))
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=timezone.utc)
            return int(when.timestamp() * 1_000_000)
    return 1


@dataclass
class BulkResult:
    indexed: int = 0
    stale: int = 0  # a newer copy is already indexed (409): nothing to do
    spooled: int = 0
    rejected: int = 0  # refused by the node for the document itself (4xx): spooled too, and logged
    clues_failed: int = 0  # documents sent without their clue matches: the clue tables could not be read

    def __iadd__(self, other: BulkResult) -> BulkResult:
        self.indexed += other.indexed
        self.stale += other.stale
        self.spooled += other.spooled
        self.rejected += other.rejected
        self.clues_failed += other.clues_failed
        return self


class EsIndexer:
    """Bulk-indexes prepared actions into the monthly indices; spools what the cluster does not take.

    Shared by the pipeline stage, ``scrapy reindex`` and ``bench/es.py``. With the store's ``clues`` book, every
    document it builds or replays carries the clue matches as they are when it is sent (pipelines/clues/fields.py).
    """

    def __init__(self, client: Elasticsearch, config: EsConfig, clues: ClueBook | None = None) -> None:
        self.client = client
        self.config = config
        self.clues = clues
        self._ready_indices: set[str] = set()
        self._template_ready = False
        self._down_until = 0.0
        self._lock = threading.Lock()  # the stage sends from more than one thread

    # --- actions -----------------------------------------------------------------------------------------

    def action(self, doc: dict[str, Any]) -> dict[str, Any]:
        """One bulk ``index`` action for a prepared document (see :func:`es_schema.to_es_doc`)."""
        return {
            "_op_type": "index",
            "_index": es_schema.index_for(self.config.index, doc),
            "_id": doc["uid"],
            "version": version_of(doc),
            "version_type": "external_gte",
            "_source": doc,
        }

    def add_matches(self, posts: list[dict[str, Any]]) -> int:
        """Set the current clue matches on plain posts (or spooled sources) in place; returns how many could not
        get them (the clue tables unreadable): those are still sent, and a later reindex or match fills them in."""
        if self.clues is None or not posts:
            return 0
        try:
            add_match_fields(self.clues, posts)
        except sqlite3.Error as exc:
            logger.warning("index: clue matches unreadable (%r); %d posts indexed without them", exc, len(posts))
            return len(posts)
        return 0

    # --- sending -----------------------------------------------------------------------------------------

    @property
    def available(self) -> bool:
        """False while cooling down after the cluster was unreachable: spool without waiting for timeouts."""
        return time.monotonic() >= self._down_until

    def _prepare(self, actions: list[dict[str, Any]]) -> None:
        new = {a["_index"] for a in actions} - self._ready_indices
        if self._template_ready and not new:
            return
        with self._lock:
            if not self._template_ready:
                es_schema.ensure_template(self.client, self.config.index, self.config.analyzer)
                self._template_ready = True
            for index in sorted(new - self._ready_indices):
                es_schema.ensure_index(self.client, self.config.index, index)
                self._ready_indices.add(index)

    def send(self, actions: list[dict[str, Any]]) -> BulkResult:
        """Index ``actions``; whatever is not indexed is spooled. Never raises for cluster trouble."""
        result = BulkResult()
        if not actions:
            return result
        if not self.available:
            result.spooled += self.spool(actions)
            return result
        failed: list[str] = []
        try:
            self._prepare(actions)
            for ok, info in helpers.streaming_bulk(
                self.client,
                actions,
                chunk_size=self.config.batch_size,
                max_retries=self.config.max_retries,
                initial_backoff=self.config.backoff,
                max_backoff=self.config.max_backoff,
                retry_on_status=RETRY_STATUS,
                raise_on_error=False,
                raise_on_exception=False,
                yield_ok=False,
            ):
                _, detail = next(iter(info.items()))
                status = detail.get("status")
                if status == 409:
                    result.stale += 1
                    continue
                if isinstance(status, int) and 400 <= status < 500 and status != 429:
                    result.rejected += 1
                    logger.warning("index: %s rejected %s (%s): %s", self.config.safe_url, detail.get("_id"),
                                   status, str(detail.get("error"))[:300])
                failed.append(detail.get("_id"))
        except (TransportError, ApiError) as exc:
            # Unreachable, or still 429/5xx after the retries: everything in this call goes to the spool
            # (re-sending what did get in is harmless: same id, same version).
            self._down_until = time.monotonic() + self.config.cooldown
            logger.warning("index: Elasticsearch at %s unavailable (%s); spooling to %s for the next %.0fs",
                           self.config.safe_url, type(exc).__name__, self.config.spool, self.config.cooldown)
            result.spooled += self.spool(actions)
            return result
        if failed:
            by_id = {a["_id"]: a for a in actions}
            result.spooled += self.spool([by_id[i] for i in failed if i in by_id])
        result.indexed += len(actions) - len(failed) - result.stale
        return result

    # --- spool -------------------------------------------------------------------------------------------

    def spool(self, actions: Iterable[dict[str, Any]]) -> int:
        """Append actions to the spool, one JSON line each; return how many."""
        return es_spool.append(self.config.spool, actions)

    def replay_spool(self) -> BulkResult:
        """Send everything spooled (latest copy per id); what fails again goes back to the spool."""
        result = BulkResult()
        if not self.available:
            return result
        claimed = es_spool.claim(self.config.spool)
        if not claimed:
            return result
        latest: dict[str, dict[str, Any]] = {}
        for path in claimed:
            for action in es_spool.read_spool(path):
                prev = latest.get(action["_id"])
                if prev is None or action.get("version", 1) >= prev.get("version", 1):
                    latest[action["_id"]] = action
        actions = [
            {"_op_type": "index", "version_type": "external_gte", **a} for a in latest.values()
        ]
        # Matches found while these waited in the spool: the replayed copy must not carry the old ones.
        result.clues_failed += self.add_matches([a["_source"] for a in actions])
        for start in range(0, len(actions), self.config.batch_size):
            result += self.send(actions[start : start + self.config.batch_size])
        for path in claimed:
            path.unlink(missing_ok=True)
        return result

    def refresh(self) -> None:
        self.client.indices.refresh(index=f"{self.config.index}-*")


def _plain_fields(adapter: ItemAdapter) -> dict[str, Any]:
    """The item's fields, JSON-ready, without the raw payload (it stays in the store).

    Only dataclasses (author, media) and datetimes need converting: the dicts and lists the pipelines set are
    plain already (a full recursive ``to_plain`` of the detection evidence was the stage's largest cost). A
    dataclass item's fields are read from its ``__dict__`` at once: ItemAdapter's per-field access costs more
    than all the rest of the stage's work on a post.
    """
    item = adapter.item
    fields_ = vars(item) if hasattr(type(item), "__dataclass_fields__") else dict(adapter.items())
    plain: dict[str, Any] = {}
    for key, value in fields_.items():
        kind = type(value)
        if kind in _PLAIN or key == "raw":
            if key != "raw":
                plain[key] = value
            continue
        if kind is datetime:
            value = value.isoformat()
        elif kind is list:
            if value and hasattr(type(value[0]), "__dataclass_fields__"):
                value = to_plain(value)
        else:
            value = to_plain(value)  # a dataclass (author), or a subclass of a plain type
        plain[key] = value
    return plain


_PLAIN = {str, int, float, bool, dict, type(None)}


class IndexStage(Stage):
    """Send every post (after the store) to Elasticsearch, in batches; spool what cannot be sent.

    Batches are built and sent by ``ADWATCH_ES_CONCURRENCY`` (2) background threads, so the crawl (the reactor)
    does not wait for the cluster and the cluster indexes one batch while the next is built; at most that many
    batches plus the one filling are held in memory. Stats are recorded on the crawl's thread when a batch's
    result is collected.
    """

    name = "index"

    @classmethod
    def config_from_settings(cls, settings: BaseSettings) -> EsConfig:
        return EsConfig.from_settings(settings)

    def open_spider(self) -> None:
        self.store = SqliteStore(self.config.store) if self.config.store else None
        self.clues: ClueBook | None = None
        if self.config.store:
            try:
                self.clues = ClueBook(self.config.store)
            except sqlite3.Error as exc:  # posts are indexed all the same; `scrapy reindex` adds the matches
                self.count("clues_failed")
                self.logger.warning("index: cannot open the clue tables (%r): posts go without their matches", exc)
        self.indexer = EsIndexer(make_client(self.config), self.config, self.clues)
        self._buffer: list[dict[str, Any]] = []
        self._oldest = 0.0
        self._authors: dict[tuple[str, str], str] = {}
        self._sender = ThreadPoolExecutor(max_workers=self.config.concurrency, thread_name_prefix="adwatch-index")
        self._in_flight: deque[Future[BulkResult]] = deque()
        self.logger.info("index: posts go to %s (index %s-*)", self.config.safe_url, self.config.index)
        self._record(self.indexer.replay_spool(), replay=True)

    def close_spider(self) -> None:
        self.flush()
        self._collect(0)
        self._sender.shutdown()
        # The cluster may be back since a failure earlier in this run: try the spool once more.
        self._record(self.indexer.replay_spool(), replay=True)
        self.indexer.client.close()
        if self.store is not None:
            self.store.close()
        if self.clues is not None:
            self.clues.close()

    def process_item(self, item: Any) -> Any:
        if not self._buffer:
            self._oldest = time.monotonic()
        self._buffer.append(_plain_fields(ItemAdapter(item)))
        if len(self._buffer) >= self.config.batch_size or time.monotonic() - self._oldest >= self.config.flush_seconds:
            self.flush()
        return item

    def flush(self) -> None:
        batch, self._buffer = self._buffer, []
        if batch:
            self._collect(self.config.concurrency - 1)
            self._in_flight.append(self._sender.submit(self._send, batch))

    def _collect(self, keep: int) -> None:
        """Wait until at most ``keep`` batches are in flight, counting what became of the others."""
        while len(self._in_flight) > keep:
            self._record(self._in_flight.popleft().result())

    def _send(self, batch: list[dict[str, Any]]) -> BulkResult:
        """On the sender thread: add the store's dates and the clue matches, build the documents, bulk them."""
        self._add_store_dates(batch)
        failed = self.indexer.add_matches(batch)
        result = self.indexer.send([self.indexer.action(es_schema.to_es_doc(plain)) for plain in batch])
        result.clues_failed += failed
        return result

    def _add_store_dates(self, batch: list[dict[str, Any]]) -> None:
        """``first_seen``/``last_seen`` from the store (they pick the monthly index), and the author's first post."""
        if self.store is None:
            return
        seen = self.store.seen([f"{p['platform']}:{p['post_id']}" for p in batch])
        keys = {(p["platform"], str(a)) for p in batch if (a := (p.get("author") or {}).get("id"))}
        missing = [k for k in keys if k not in self._authors]
        if missing:
            self._authors.update(self.store.authors_first_seen(missing))
        for plain in batch:
            dates = seen.get(f"{plain['platform']}:{plain['post_id']}")
            if dates:
                plain["first_seen"], plain["last_seen"] = dates
            author_id = (plain.get("author") or {}).get("id")
            if author_id and (first := self._authors.get((plain["platform"], str(author_id)))):
                plain["author_first_seen"] = first

    def _record(self, result: BulkResult, replay: bool = False) -> None:
        prefix = "replay/" if replay else ""
        for event in ("indexed", "stale", "spooled", "rejected", "clues_failed"):
            n = getattr(result, event)
            if n:
                self.count(prefix + event, n)
