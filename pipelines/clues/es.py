"""The clue matches of posts and accounts already in Elasticsearch, updated in place after ``scrapy clues match``.

Bulk partial updates (``elasticsearch.helpers.streaming_bulk``, ``update`` actions with a ``doc``): only
``seen_by_members`` and ``clue_matches`` change (pipelines/clues/fields.py), the rest of each document stays as it
was indexed. Posts live in monthly indices (``<prefix>-YYYY.MM``), so each post's index is looked up first; a post
or account that is not indexed yet is left alone and counted: it gets its matches when it is indexed.

An update raises a document's internal version by one (an update that changes nothing is a no-op and does not):
a later copy of the same capture re-sent by ``scrapy reindex`` is then refused as stale, which loses nothing, as
the indexed copy already carries the matches.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from elasticsearch import Elasticsearch, helpers
from scrapy.settings import BaseSettings

from pipelines import es_schema
from pipelines.clues.book import ClueBook
from pipelines.clues.fields import account_fields, post_fields
from pipelines.es_client import RETRY_STATUS, EsConfig, make_client
from pipelines.store import store_path

LOOKUP_CHUNK = 1000


@dataclass(frozen=True)
class MatchIndexConfig:
    """Where the matched posts and accounts are indexed; ``from_settings`` raises NotConfigured without ES."""

    es: EsConfig
    accounts_index: str
    store: Path

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> Self:
        return cls(EsConfig.from_settings(settings), settings.get("ADWATCH_ES_ACCOUNTS_INDEX") or "adwatch-accounts",
                   store_path(settings))


@dataclass
class IndexUpdate:
    """What became of the updates."""

    posts: int = 0  # post documents updated (or already up to date)
    accounts: int = 0
    missing: int = 0  # not indexed (yet): they get their matches when they are
    failed: int = 0


def update_indexed_matches(config: MatchIndexConfig, posts: Iterable[str], accounts: Iterable[str],
                           client: Elasticsearch | None = None) -> IndexUpdate:
    """Set the current match fields on the indexed documents of these post uids and account keys.

    Raises the client's errors when the cluster cannot be reached: the caller says so (the store keeps the
    matches; ``scrapy clues index`` sends them again)."""
    with ClueBook(config.store) as book:
        post_docs = post_fields(book, sorted(posts))
        account_docs = account_fields(book, sorted(accounts))
    own_client = client is None
    client = client or make_client(config.es)
    result = IndexUpdate()
    try:
        pattern = f"{config.es.index}-*"
        es_schema.ensure_match_mapping(client, pattern)
        actions = list(_post_actions(client, pattern, post_docs))
        result.missing += len(post_docs) - len(actions)
        if account_docs and client.indices.exists(index=config.accounts_index):
            es_schema.ensure_match_mapping(client, config.accounts_index)
            actions += [{"_op_type": "update", "_index": config.accounts_index, "_id": key, "doc": doc}
                        for key, doc in account_docs.items()]
        else:
            result.missing += len(account_docs)
        for ok, info in helpers.streaming_bulk(
            client, actions, chunk_size=config.es.batch_size, max_retries=config.es.max_retries,
            initial_backoff=config.es.backoff, max_backoff=config.es.max_backoff, retry_on_status=RETRY_STATUS,
            raise_on_error=False,
        ):
            detail = info["update"]
            if ok:
                if detail["_index"] == config.accounts_index:
                    result.accounts += 1
                else:
                    result.posts += 1
            elif detail.get("status") == 404:  # deleted since it was looked up, or an account never indexed
                result.missing += 1
            else:
                result.failed += 1
        if actions:
            client.indices.refresh(index=[pattern, config.accounts_index], ignore_unavailable=True)
    finally:
        if own_client:
            client.close()
    return result


def _post_actions(client: Elasticsearch, pattern: str, docs: dict[str, dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """An update action per indexed post (its monthly index looked up by id); posts not indexed get none."""
    uids = list(docs)
    for start in range(0, len(uids), LOOKUP_CHUNK):
        chunk = uids[start : start + LOOKUP_CHUNK]
        found = client.search(index=pattern, query={"ids": {"values": chunk}}, source=False, size=len(chunk),
                              ignore_unavailable=True, allow_no_indices=True)
        for hit in found["hits"]["hits"]:
            yield {"_op_type": "update", "_index": hit["_index"], "_id": hit["_id"], "doc": docs[hit["_id"]]}
