"""Index stage: every stored post goes to Elasticsearch when ``ADWATCH_ES_URL`` is set — and is never lost.

Posts are buffered and sent with ``elasticsearch.helpers.streaming_bulk`` in batches; the client retries whole
requests with backoff on connection errors and 429/502/503/504, the helper retries single documents rejected with
429/5xx. What still fails is appended to the spool (``<data dir>/es-spool.jsonl``: one bulk action per line) and
replayed when the next run opens, or by ``scrapy reindex``. Each document carries an external version (its
capture time in µs, ``version_type=external_gte``), so a replayed older copy can never overwrite a newer one: the
node answers 409, counted as ``stale``.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import sqlite3
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch, helpers
from itemadapter import ItemAdapter
from scrapy.exceptions import NotConfigured
from scrapy.settings import BaseSettings

from crawler.items import to_plain
from crawler.utils import parse_iso
from pipelines import es_schema
from pipelines.base import Stage
from pipelines.clues.book import ClueBook
from pipelines.clues.fields import add_match_fields
from pipelines.store import SqliteStore, data_dir, store_path

logger = logging.getLogger("adwatch.index")

RETRY_STATUS = (429, 500, 502, 503, 504)


@dataclass(frozen=True)
class EsConfig:
    """Everything needed to talk to the cluster; secrets are kept out of ``repr`` (and so out of logs)."""

    url: str = field(repr=False)  # may carry user:password@
    index: str = "adwatch-posts"
    analyzer: str = "standard"
    api_key: str = field(default="", repr=False)
    username: str = ""
    password: str = field(default="", repr=False)
    ca_certs: str = ""
    batch_size: int = 500
    concurrency: int = 2  # bulk requests in flight: the cluster indexes one batch while the next is built
    flush_seconds: float = 5.0
    max_retries: int = 3
    backoff: float = 0.5
    max_backoff: float = 8.0
    timeout: float = 30.0
    cooldown: float = 30.0
    spool: Path = Path("var/es-spool.jsonl")
    store: Path | None = None

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> EsConfig:
        url = settings.get("ADWATCH_ES_URL") or ""
        if not url:
            raise NotConfigured("ADWATCH_ES_URL is empty: Elasticsearch indexing is off")
        return cls(
            url=url,
            index=settings.get("ADWATCH_ES_INDEX") or "adwatch-posts",
            analyzer=settings.get("ADWATCH_ES_ANALYZER") or "standard",
            api_key=settings.get("ADWATCH_ES_API_KEY") or "",
            username=settings.get("ADWATCH_ES_USERNAME") or "",
            password=settings.get("ADWATCH_ES_PASSWORD") or "",
            ca_certs=settings.get("ADWATCH_ES_CA_CERTS") or "",
            batch_size=settings.getint("ADWATCH_ES_BATCH_SIZE", 500),
            concurrency=max(1, settings.getint("ADWATCH_ES_CONCURRENCY", 2)),
            flush_seconds=settings.getfloat("ADWATCH_ES_FLUSH_SECONDS", 5.0),
            max_retries=settings.getint("ADWATCH_ES_MAX_RETRIES", 3),
            backoff=settings.getfloat("ADWATCH_ES_BACKOFF", 0.5),
            max_backoff=settings.getfloat("ADWATCH_ES_MAX_BACKOFF", 8.0),
            timeout=settings.getfloat("ADWATCH_ES_TIMEOUT", 30.0),
            cooldown=settings.getfloat("ADWATCH_ES_COOLDOWN", 30.0),
            spool=Path(settings.get("ADWATCH_ES_SPOOL") or data_dir(settings) / "es-spool.jsonl"),
            store=store_path(settings),
        )

    @property
    def safe_url(self) -> str:
        """The URL without any ``user:password@`` part, for log lines."""
        parts = urlsplit(self.url)
        return urlunsplit(parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else "")))


def make_client(config: EsConfig) -> Elasticsearch:
    auth: dict[str, Any] = {}
    if config.api_key:
        auth["api_key"] = config.api_key
    elif config.username:
        auth["basic_auth"] = (config.username, config.password)
    if config.ca_certs:
        auth["ca_certs"] = config.ca_certs
    return Elasticsearch(
        config.url,
        request_timeout=config.timeout,
        max_retries=config.max_retries,
        retry_on_status=(429, 502, 503, 504),
        retry_on_timeout=True,
        retry_backoff_base=config.backoff,
        retry_backoff_cap=config.max_backoff,
        **auth,
    )


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
        path = self.config.spool
        lines = [
            json.dumps({k: a[k] for k in ("_index", "_id", "version", "_source")}, ensure_ascii=False, default=str)
            for a in actions
        ]
        if not lines:
            return 0
        with _spool_lock(path), path.open("ab") as fh:
            if fh.tell() and _last_byte(path) != b"\n":
                fh.write(b"\n")  # a run killed mid-line: keep its fragment on a line of its own
            fh.write(("\n".join(lines) + "\n").encode("utf-8"))
        return len(lines)

    def _claim_spool(self) -> list[Path]:
        """Atomically take the spool (and claims left by runs that died while replaying) for this process."""
        path = self.config.spool
        if not path.parent.exists():
            return []
        claimed: list[Path] = []
        with _spool_lock(path):  # no append is half-written when the file changes name
            for old in path.parent.glob(path.name + ".replay-*"):
                pid = old.name.split(".replay-", 1)[1].split("-", 1)[0]
                if pid.isdigit() and not _alive(int(pid)):
                    claimed.append(old)
            if path.exists():
                mine = path.with_name(f"{path.name}.replay-{os.getpid()}-{time.monotonic_ns()}")
                path.rename(mine)
                claimed.append(mine)
        return claimed

    def replay_spool(self) -> BulkResult:
        """Send everything spooled (latest copy per id); what fails again goes back to the spool."""
        result = BulkResult()
        if not self.available:
            return result
        claimed = self._claim_spool()
        if not claimed:
            return result
        latest: dict[str, dict[str, Any]] = {}
        for path in claimed:
            for action in _read_spool(path):
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


def _read_spool(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                action = json.loads(line)
            except json.JSONDecodeError:  # a line cut short by a crash: the store still has the post
                logger.warning("index: skipping an unreadable spool line in %s", path)
                continue
            if isinstance(action, dict) and action.get("_id") and action.get("_source"):
                yield action


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


def _last_byte(path: Path) -> bytes:
    with path.open("rb") as fh:
        fh.seek(-1, os.SEEK_END)
        return fh.read(1)


@contextmanager
def _spool_lock(spool: Path) -> Iterator[None]:
    """An exclusive lock on ``<spool>.lock`` (flock): held by every append and by the replay's claim, across
    the crawlers of one sweep (threads) and across processes (a sweep and ``scrapy reindex``)."""
    spool.parent.mkdir(parents=True, exist_ok=True)
    with open(spool.with_name(spool.name + ".lock"), "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def spooled_count(config: EsConfig) -> int:
    """How many actions wait in the spool (claims of dead runs included)."""
    paths = [config.spool, *config.spool.parent.glob(config.spool.name + ".replay-*")]
    return sum(sum(1 for _ in _read_spool(p)) for p in paths if p.exists())


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
