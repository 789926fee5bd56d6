"""Clue matches in the index, against the real node: two synthetic institutions match, and then exactly the planted
overlap's posts and accounts say "seen by 1 member" in Elasticsearch — those indexed before the match (updated in
place by ``scrapy clues match``) and those indexed after it alike; nothing of the partner's file and no key is there."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from scrapy.utils.test import get_crawler

from pipelines.accounts import AccountStage
from pipelines.clues import ClueBook, ClueConfig, ClueExchange
from pipelines.clues.normalise import account_key
from pipelines.index import EsConfig, EsIndexer, IndexStage, make_client
from pipelines.store import SqliteStore
from pipelines import es_schema
from tests.clues_synth import make_institution, planted_clues, run_clues

pytestmark = pytest.mark.es

HELD_BACK = "weibo:0-7"  # holds a planted contact; indexed only after the match, with its author's account


def _author(post: dict[str, Any]) -> str:
    return account_key("weibo", post["author"]["id"]) or ""


def _seen(client: Elasticsearch, index: str, field: str) -> dict[str, dict[str, Any]]:
    """``{field value: _source}`` of every document with seen_by_members >= 1."""
    hits = client.search(index=index, query={"range": {"seen_by_members": {"gte": 1}}}, size=1000)["hits"]["hits"]
    return {h["_source"][field]: h["_source"] for h in hits}


def _all_sources(client: Elasticsearch, *indices: str) -> str:
    client.indices.refresh(index=list(indices))
    hits = client.search(index=list(indices), query={"match_all": {}}, size=5000)["hits"]["hits"]
    return json.dumps([h["_source"] for h in hits], ensure_ascii=False)


@pytest.fixture
def accounts_index(es_client: Elasticsearch, es_index: str) -> Any:
    name = f"{es_index}.accounts"  # outside the posts' <prefix>-* pattern, as adwatch-accounts is
    yield name
    es_client.options(ignore_status=404).indices.delete(index=name)


def _stage(cls: type, settings: dict[str, Any], posts: list[dict[str, Any]]) -> None:
    """Run a pipeline stage over stored posts as a crawl would."""
    stage = cls.from_crawler(get_crawler(settings_dict=settings))
    stage.open_spider()
    for post in posts:
        stage.process_item(post)
    stage.close_spider()


def test_matches_reach_the_index_and_nothing_else_does(tmp_path: Path, es_url: str, es_client: Elasticsearch,
                                                       es_index: str, accounts_index: str) -> None:
    planted = planted_clues(2)
    a = make_institution(tmp_path / "a" / "adwatch.sqlite3", 0, 120, planted)
    make_institution(tmp_path / "b" / "adwatch.sqlite3", 1, 120, planted)
    settings = {"ADWATCH_ES_URL": es_url, "ADWATCH_ES_INDEX": es_index, "ADWATCH_ES_ACCOUNTS_INDEX": accounts_index,
                "ADWATCH_DATA_DIR": str(tmp_path / "a"), "ADWATCH_ES_MAX_RETRIES": 1}
    store = SqliteStore(a.store)
    posts = {p["uid"]: p for p in store.iter_posts()}
    store.close()
    held_account = _author(posts[HELD_BACK])
    expected_posts = set().union(*a.posts_of.values())
    expected_accounts = {_author(posts[uid]) for uid in expected_posts}
    assert HELD_BACK in expected_posts and len(expected_posts) > 10 and len(expected_accounts) > 5

    # Before the match: A's posts and accounts are indexed (all but the held-back ones), nobody is "seen by" anyone.
    config = EsConfig.from_settings(get_crawler(settings_dict=settings).settings)
    with ClueBook(a.store) as book:  # as `scrapy reindex` sends them: with the current (no) matches
        indexer = EsIndexer(make_client(config), config, book)
        first = [dict(p) for uid, p in posts.items() if uid != HELD_BACK]
        assert indexer.add_matches(first) == 0
        assert indexer.send([indexer.action(es_schema.to_es_doc(p)) for p in first]).indexed == len(posts) - 1
        indexer.client.close()
    _stage(AccountStage, settings, [p for p in posts.values() if _author(p) != held_account])
    es_client.indices.refresh(index=[f"{es_index}-*", accounts_index])
    assert _seen(es_client, es_index, "uid") == {} and _seen(es_client, accounts_index, "key") == {}

    # The exchange: A exports, B responds, A matches with `scrapy clues match`, which updates A's index.
    keys = tmp_path / "a" / "clue-keys"
    ours = ClueExchange(ClueConfig(a.store, keys, "bank-a", None))
    exported, _ = ours.export(tmp_path / "a.clues")
    theirs = ClueExchange(ClueConfig(tmp_path / "b" / "adwatch.sqlite3", tmp_path / "b" / "keys", "bank-b", None))
    theirs.respond(tmp_path / "a.clues", tmp_path / "b.clues")
    es_env = {"ADWATCH_ES_URL": es_url, "ADWATCH_ES_INDEX": es_index, "ADWATCH_ES_ACCOUNTS_INDEX": accounts_index}
    out = run_clues(tmp_path / "a", "bank-a", "match", "--in", str(tmp_path / "b.clues"), env=es_env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"bank-b also holds {len(planted)} of our clues" in out.stdout
    n_accounts = len(expected_accounts - {held_account})
    assert f"index updated: {len(expected_posts) - 1} posts, {n_accounts} accounts (2 not indexed yet, 0 failed)" \
        in out.stdout

    seen_posts = _seen(es_client, es_index, "uid")
    assert set(seen_posts) == expected_posts - {HELD_BACK}
    assert {d["seen_by_members"] for d in seen_posts.values()} == {1}
    assert set(_seen(es_client, accounts_index, "key")) == expected_accounts - {held_account}
    # What each document says: the kinds of its matched clues, and the batch they were found through.
    for clue, uids in a.posts_of.items():
        for uid in uids - {HELD_BACK}:
            assert {"kind": clue.kind, "batch": exported.batch} in seen_posts[uid]["clue_matches"], (clue, uid)
    hits = es_client.search(index=es_index, query={"term": {"clue_matches.kind": "telegram"}}, size=100)["hits"]
    assert {h["_id"] for h in hits["hits"]} == set().union(*(u for c, u in a.posts_of.items() if c.kind == "telegram"))
    # The rest of an updated document is as it was indexed.
    some = next(iter(seen_posts.values()))
    assert some["text"] == posts[some["uid"]]["text"] and some["contact_values"]

    # Indexed after the match, by the crawl's stages: the held-back post and its account carry the match at once.
    _stage(IndexStage, settings, [posts[HELD_BACK]])
    _stage(AccountStage, settings, [p for p in posts.values() if _author(p) == held_account])
    es_client.indices.refresh(index=[f"{es_index}-*", accounts_index])
    seen_posts = _seen(es_client, es_index, "uid")
    assert set(seen_posts) == expected_posts and seen_posts[HELD_BACK]["seen_by_members"] == 1
    assert set(_seen(es_client, accounts_index, "key")) == expected_accounts
    assert es_client.count(index=es_index, query={"term": {"seen_by_members": 0}})["count"] == len(posts) - len(expected_posts)

    # A copy spooled before the match (cluster away) and replayed after it: it goes in with today's matches.
    spooled = next(iter(sorted(expected_posts - {HELD_BACK})))
    old = es_schema.to_es_doc({**posts[spooled], "captured_at": "2026-12-01T00:00:00+00:00", "seen_by_members": 0,
                               "clue_matches": []})
    with ClueBook(a.store) as book:
        indexer = EsIndexer(make_client(config), config, book)
        assert indexer.spool([indexer.action(old)]) == 1
        assert indexer.replay_spool().indexed == 1
        indexer.client.close()
    es_client.indices.refresh(index=f"{es_index}-*")
    replayed = es_client.search(index=es_index, query={"ids": {"values": [spooled]}})["hits"]["hits"][0]["_source"]
    assert replayed["captured_at"] == "2026-12-01T00:00:00+00:00" and replayed["seen_by_members"] == 1

    # `scrapy clues index` sends every match again (after the cluster was away): nothing changes.
    out = run_clues(tmp_path / "a", "bank-a", "index", env=es_env)
    assert out.returncode == 0 and f"{len(expected_posts)} posts, {len(expected_accounts)} accounts" in out.stdout

    # Nothing from the partner's file, no member name and no key in either index.
    indexed = _all_sources(es_client, f"{es_index}-*", accounts_index)
    response = json.loads((tmp_path / "b.clues").read_text())
    secrets: list[str] = []
    for section in ("clues", "reblinded"):  # every element B sent, as base64 and as hex
        for blob in response[section].values():
            raw = base64.b64decode(blob)
            for start in range(0, len(raw), 32):
                element = raw[start : start + 32]
                secrets += [base64.b64encode(element).decode()[:40], element.hex()]
    for key_file in keys.glob("*.key"):  # A's batch key (a raw scalar), in every spelling it could take
        raw = key_file.read_bytes()
        secrets += [raw.hex(), base64.b64encode(raw).decode()[:40]]
    assert len(secrets) > 20
    for secret in filter(None, secrets):
        assert secret not in indexed, secret[:16]
    # Clue values stay out of the match fields: only the posts' own contacts carry them, as before.
    for source in json.loads(indexed):
        for match in source.get("clue_matches") or []:
            assert set(match) == {"kind", "batch"}
