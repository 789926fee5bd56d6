"""End to end: ``scrapy sweep`` of the simulator with Elasticsearch configured, checked against the embedded store.

The store is the reference: every stored post must be in the index exactly once, and what analysts ask the index
(full text, contacts, date ranges, per-platform-per-day counts in China time) must agree with the store.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from pipelines.textsafe import search_text
from tests.conftest import PROJECT, SharedSweep, SweepRun, run_sweep
from tests.esnode import EsNode
from tests.simulator import Simulator

pytestmark = [pytest.mark.es, pytest.mark.slow]

CN = timezone(timedelta(hours=8))


def es_env(url: str, prefix: str, **extra: str) -> dict[str, str]:
    return {"ADWATCH_ES_URL": url, "ADWATCH_ES_INDEX": prefix, **extra}


def all_docs(client: Elasticsearch, prefix: str) -> list[dict[str, Any]]:
    client.indices.refresh(index=f"{prefix}-*")
    return [h for h in client.search(index=prefix, size=10_000, query={"match_all": {}})["hits"]["hits"]]


def ids(client: Elasticsearch, prefix: str, query: dict[str, Any]) -> set[str]:
    return {h["_id"] for h in client.search(index=prefix, size=10_000, query=query)["hits"]["hits"]}


def assert_index_matches_store(client: Elasticsearch, prefix: str, run: SweepRun) -> list[dict[str, Any]]:
    """Every stored post is indexed exactly once (no duplicates across monthly indices), with its latest copy."""
    store = run.store()
    posts = {p["uid"]: p for p in store.iter_posts()}
    assert posts, "the sweep stored nothing"
    hits = all_docs(client, prefix)
    per_id = Counter(h["_id"] for h in hits)
    assert [i for i, n in per_id.items() if n > 1] == []
    assert set(per_id) == set(posts)
    assert client.count(index=prefix)["count"] == store.count()
    for platform in ("weibo", "douyin"):
        assert client.count(index=prefix, query={"term": {"platform": platform}})["count"] == store.count(platform)
    assert client.count(index=prefix, query={"term": {"flagged": True}})["count"] == store.count(flagged=True)
    for hit in hits:
        assert hit["_source"]["captured_at"] == posts[hit["_id"]]["captured_at"]
    return hits


def test_sweep_indexes_every_stored_post_searchably(sweep_once: SharedSweep, es_client: Elasticsearch) -> None:
    """The shared sweep of every platform, indexed under its own prefix (only read here)."""
    run, es_index = sweep_once, sweep_once.es_prefix
    assert "s3cret" not in run.output
    assert_index_matches_store(es_client, es_index, run)
    posts = list(run.store().iter_posts())

    # Full text: every flagged post is found by a phrase query on each of its service terms, as written in the
    # post text or in the OCR text of the image / frame it was found in.
    checked = 0
    # (A repost's matches quote the original it inherits them from, which is checked as a post of its own.)
    for post in (p for p in posts if p["flagged"] and not p["detection"].get("inherited_from")):
        ocr = {o.get("source"): o.get("text") or "" for o in post.get("ocr") or []}
        for match in (m for m in post["detection"]["matches"] if m["kind"] == "category"):
            field, text = (match["source"], post.get(match["source"])) if match["source"] in ("title", "text") \
                else ("ocr.text", ocr.get(match["source"]))
            if not text:
                continue  # hashtags: the joined string is not a field of its own
            # As an analyst types it: without the invisible characters an evasion put inside (the index drops them).
            phrase = search_text(text[match["start"]:match["end"]])
            if phrase.isascii():
                continue  # pinyin found inside a Latin word ("tingxi666"): one token for the analyzer, not a phrase
            assert post["uid"] in ids(es_client, es_index, {"match_phrase": {field: phrase}}), (post["uid"], phrase)
            checked += 1
    assert checked >= 10

    # Contacts: a term query finds exactly the posts the store has that contact for.
    by_contact: dict[str, set[str]] = {}
    for post in posts:
        for contact in post.get("contacts") or []:
            by_contact.setdefault(contact["value"], set()).add(post["uid"])
    assert by_contact, "the simulator corpus has contacts; none were found"
    for value, uids in by_contact.items():
        assert ids(es_client, es_index, {"term": {"contact_values": value}}) == uids

    # Date range and per-platform-per-day counts in China time equal the store's.
    days: Counter[tuple[str, str]] = Counter()
    for post in posts:
        if post.get("published_at"):
            day = datetime.fromisoformat(post["published_at"]).astimezone(CN).date().isoformat()
            days[(post["platform"], day)] += 1
    busiest = max(days.items(), key=lambda kv: kv[1])[0][1]
    in_range = {p["uid"] for p in posts if p.get("published_at")
                and datetime.fromisoformat(p["published_at"]).astimezone(CN).date().isoformat() == busiest}
    assert ids(es_client, es_index, {"range": {"published_at": {
        "gte": busiest, "lte": busiest, "format": "yyyy-MM-dd", "time_zone": "Asia/Shanghai"}}}) == in_range
    aggs = es_client.search(index=es_index, size=0, aggs={"p": {"terms": {"field": "platform"}, "aggs": {
        "d": {"date_histogram": {"field": "published_at", "calendar_interval": "day",
                                 "time_zone": "Asia/Shanghai", "min_doc_count": 1}}}}})["aggregations"]
    got = {(p["key"], d["key_as_string"][:10]): d["doc_count"]
           for p in aggs["p"]["buckets"] for d in p["d"]["buckets"]}
    assert got == dict(days)


def test_killing_the_node_mid_sweep_loses_nothing(
    simulator: Simulator, es_node: EsNode, es_url: str, es_index: str, es_client: Elasticsearch, tmp_path: Path
) -> None:
    """SIGKILL the node once the first batches are in; the rest is spooled; restart + replay: counts match."""
    env = es_env(es_url, es_index, ADWATCH_ES_BATCH_SIZE="3", ADWATCH_ES_FLUSH_SECONDS="0",
                 ADWATCH_ES_COOLDOWN="1", ADWATCH_ES_MAX_RETRIES="1")
    # Settings not read from the environment go on the command line. Two platforms (a plain HTTP one, a browser
    # one) give the node plenty of posts to be killed amid; the index of every platform is the test above.
    args = ["--no-report", "--platforms", "weibo,douyin"]
    args += [a for k, v in env.items() if k not in ("ADWATCH_ES_URL", "ADWATCH_ES_INDEX") for a in ("-s", f"{k}={v}")]
    result: dict[str, SweepRun] = {}
    sweep = threading.Thread(target=lambda: result.setdefault("run", run_sweep(
        simulator.origin_arg, tmp_path, *args, env=es_env(es_url, es_index))))
    sweep.start()
    indexed_before_kill = 0
    deadline = time.monotonic() + 300
    while sweep.is_alive() and time.monotonic() < deadline:
        try:
            es_client.indices.refresh(index=f"{es_index}-*")
            indexed_before_kill = es_client.count(index=f"{es_index}-*")["count"]
        except Exception:  # the index does not exist yet
            indexed_before_kill = 0
        if indexed_before_kill:
            break
        time.sleep(0.2)
    es_node.kill()
    sweep.join(600)
    run = result["run"]
    assert run.proc.returncode == 0, run.output[-3000:]
    stats = {k: sum(run.stat(p, k) for p in ("weibo", "douyin"))
             for k in ("adwatch/index/indexed", "adwatch/index/spooled")}
    stored = run.store().count()
    assert 0 < indexed_before_kill < stored and stats["adwatch/index/spooled"] > 0, (indexed_before_kill, stats)
    spool = tmp_path / "es-spool.jsonl"
    assert spool.exists()

    es_node.start()  # same data directory and port: what was acknowledged before the kill must still be there
    reindex = subprocess.run(
        [sys.executable, "-m", "scrapy", "reindex", "--spool-only"], cwd=PROJECT, capture_output=True, text=True,
        env={**{k: v for k, v in os.environ.items() if "proxy" not in k.lower()},
             "ADWATCH_DATA_DIR": str(tmp_path), "PYTHONPATH": str(PROJECT), **es_env(es_url, es_index)},
        timeout=300,
    )
    assert reindex.returncode == 0, reindex.stdout + reindex.stderr
    assert not spool.exists()
    assert_index_matches_store(es_client, es_index, run)

    # And a full reindex from the store afterwards changes nothing: same ids, same count.
    again = subprocess.run(
        [sys.executable, "-m", "scrapy", "reindex"], cwd=PROJECT, capture_output=True, text=True,
        env={**{k: v for k, v in os.environ.items() if "proxy" not in k.lower()},
             "ADWATCH_DATA_DIR": str(tmp_path), "PYTHONPATH": str(PROJECT), **es_env(es_url, es_index)},
        timeout=300,
    )
    assert again.returncode == 0, again.stdout + again.stderr
    assert_index_matches_store(es_client, es_index, run)
