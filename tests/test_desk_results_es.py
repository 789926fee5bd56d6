"""Takedown results go into Elasticsearch as documents of their own (one per filed target, one per batch)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from elasticsearch import Elasticsearch

from reports.desk.db import DeskDb
from reports.desk.results import index_results, results
from tests.test_recheck import T0, db  # noqa: F401 - the fixture

pytestmark = pytest.mark.es


def test_results_are_indexed_by_id(db: DeskDb, es_client: Elasticsearch, es_index: str) -> None:  # noqa: F811
    db.record_checks([("weibo:1", "30m", "removed", "deleted"), ("weibo:2", "30m", "online", "")],
                     T0 + timedelta(minutes=31))
    index = f"{es_index}-takedowns"
    res = results(db, timedelta(days=7))
    assert index_results(es_client, index, res, T0) == 3 + 2
    assert index_results(es_client, index, res, T0) == 5  # again: replaced by id, not added
    hits = es_client.search(index=index, query={"match_all": {}}, size=20)["hits"]["hits"]
    docs = {h["_id"]: h["_source"] for h in hits}
    assert len(docs) == 5
    assert docs["target:weibo:1"]["removed_at"] and docs["target:weibo:1"]["platform"] == "weibo"
    assert docs["target:weibo:2"]["last_state"] == "online"
    assert docs["batch:B1"]["takedown_rate"] == 0.5 and docs["batch:B1"]["platform"] == "weibo"
