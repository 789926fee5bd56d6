"""The index stage against a real Elasticsearch node: mapping, searches analysts run, spool, replay, versions."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from itemadapter import ItemAdapter
from scrapy.exceptions import NotConfigured
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from crawler.items import AdPost, Author, to_plain
from pipelines import es_schema
from pipelines.detect import detection_sources
from pipelines.detection import Detector
from pipelines.index import EsConfig, EsIndexer, IndexStage, make_client, spooled_count
from pipelines.store import SqliteStore
from tests.esnode import free_port

pytestmark = pytest.mark.es

CN = timezone(timedelta(hours=8))
CAPTURED = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)


def make_post(post_id: str, text: str, *, platform: str = "weibo", published: datetime | None = None,
              ocr: str = "", author: str = "u1", captured: datetime = CAPTURED) -> AdPost:
    """An AdPost as the pipelines leave it before the store: detection by the real detector."""
    post = AdPost(
        platform=platform, post_id=post_id, url=f"https://m.weibo.cn/detail/{post_id}",
        author=Author(id=author, name=f"账号{author}", url=f"https://m.weibo.cn/u/{author}"),
        text=text, hashtags=["征信"] if "征信" in text else [],
        image_urls=[f"https://wx1.sinaimg.cn/large/{post_id}.jpg"] if ocr else [],
        published_at=published or datetime(2026, 11, 20, 10, 0, tzinfo=CN),
        engagement={"likes": 3, "comments": 1}, keyword="征信修复", captured_at=captured,
        raw={"mblog": {"id": post_id}},
        ocr=[{"source": "image:0", "text": ocr, "lines": [{"text": ocr, "box": [0, 0, 10, 10]}]}] if ocr else [],
        ocr_text=ocr,
    )
    adapter = ItemAdapter(post)
    detection = Detector().detect(detection_sources(adapter))
    post.detection = detection.to_dict()
    post.contacts = post.detection["contacts"]
    post.flagged = detection.flagged
    return post


POSTS = [
    make_post("1001", "专业征信修复，逾期记录可以洗白，加微信 zxxf_8888 咨询", published=datetime(2026, 11, 20, 23, 30, tzinfo=CN)),
    make_post("1002", "停息挂账、协商还款，成功率高，私信我", author="u2", published=datetime(2026, 11, 21, 1, 0, tzinfo=CN)),
    make_post("1003", "今天天气很好，去公园散步了", author="u3", published=datetime(2026, 10, 2, 12, 0, tzinfo=CN)),
    make_post("1004", "看图👇", author="u2", ocr="反催收 代理维权 投诉退费 薇 zxxf_8888",
              published=datetime(2026, 11, 19, 8, 0, tzinfo=CN)),
    make_post("7001", "债务优化，停息挂账找我们，vx: tingxi_2026", platform="douyin", author="d1",
              published=datetime(2026, 11, 20, 15, 0, tzinfo=CN)),
]


def settings_for(url: str, prefix: str, data: Path, **extra: Any) -> dict[str, Any]:
    return {"ADWATCH_ES_URL": url, "ADWATCH_ES_INDEX": prefix, "ADWATCH_DATA_DIR": str(data),
            "ADWATCH_ES_MAX_RETRIES": 1, "ADWATCH_ES_BACKOFF": 0.05, **extra}


def run_stage(settings: dict[str, Any], posts: list[AdPost]) -> IndexStage:
    """Store then index ``posts`` as a crawl would (the store stage runs before the index stage)."""
    store = SqliteStore(Path(settings["ADWATCH_DATA_DIR"]) / "adwatch.sqlite3")
    for post in posts:
        store.upsert(to_plain(ItemAdapter(post).asdict()))
    store.close()
    crawler = get_crawler(settings_dict=settings)
    stage = IndexStage.from_crawler(crawler)
    stage.open_spider()
    for post in posts:
        stage.process_item(post)
    stage.close_spider()
    return stage


def stat(stage: IndexStage, event: str) -> int:
    return stage.stats.get_value(f"adwatch/index/{event}", 0)


def search(client: Elasticsearch, prefix: str, **body: Any) -> dict[str, Any]:
    client.indices.refresh(index=f"{prefix}-*")
    return client.search(index=prefix, **body).body


def uids(result: dict[str, Any]) -> set[str]:
    return {hit["_id"] for hit in result["hits"]["hits"]}


@pytest.fixture
def indexed(es_url: str, es_index: str, tmp_path: Path) -> tuple[str, IndexStage]:
    stage = run_stage(settings_for(es_url, es_index, tmp_path), POSTS)
    return es_index, stage


def test_posts_are_searchable_like_an_analyst_would(indexed: tuple[str, IndexStage], es_client: Elasticsearch) -> None:
    prefix, stage = indexed
    assert stat(stage, "indexed") == len(POSTS)
    assert search(es_client, prefix, size=0)["hits"]["total"]["value"] == len(POSTS)

    # Chinese full text, post text and OCR text alike (standard analyzer: one token per character, so phrases).
    hit = search(es_client, prefix, query={"match_phrase": {"text": "征信修复"}})
    assert uids(hit) == {"weibo:1001"}
    hit = search(es_client, prefix, query={"multi_match": {"query": "代理维权", "type": "phrase",
                                                            "fields": ["text", "ocr_text"]}})
    assert uids(hit) == {"weibo:1004"}
    hit = search(es_client, prefix, query={"match": {"text": {"query": "停息挂账", "operator": "and"}}})
    assert uids(hit) == {"weibo:1002", "douyin:7001"}

    # The same WeChat id in a post's text and in another post's image.
    hit = search(es_client, prefix, query={"term": {"contact_values": "zxxf_8888"}})
    assert uids(hit) == {"weibo:1001", "weibo:1004"}
    hit = search(es_client, prefix, query={"bool": {"filter": [{"term": {"image_only": True}}]}})
    assert uids(hit) == {"weibo:1004"}

    # Date range in China time: 2026-11-20 Shanghai is 2026-11-19T16:00Z .. 2026-11-20T16:00Z.
    hit = search(es_client, prefix, query={"range": {"published_at": {
        "gte": "2026-11-20", "lt": "2026-11-21", "time_zone": "Asia/Shanghai"}}})
    assert uids(hit) == {"weibo:1001", "douyin:7001"}

    aggs = search(es_client, prefix, size=0, aggs={
        "platforms": {"terms": {"field": "platform"}, "aggs": {"per_day": {"date_histogram": {
            "field": "published_at", "calendar_interval": "day", "time_zone": "Asia/Shanghai",
            "min_doc_count": 1}}}},
        "categories": {"terms": {"field": "detection.category"}},
    })["aggregations"]
    per_platform = {b["key"]: b["doc_count"] for b in aggs["platforms"]["buckets"]}
    assert per_platform == {"weibo": 4, "douyin": 1}
    weibo = next(b for b in aggs["platforms"]["buckets"] if b["key"] == "weibo")
    days = {b["key_as_string"][:10]: b["doc_count"] for b in weibo["per_day"]["buckets"]}
    # 1001 (23:30 CST on the 20th) and 1002 (01:00 CST on the 21st) are both the 20th in UTC, not in China.
    assert days == {"2026-10-02": 1, "2026-11-19": 1, "2026-11-20": 1, "2026-11-21": 1}
    categories = {b["key"]: b["doc_count"] for b in aggs["categories"]["buckets"]}
    expected: dict[str, int] = {}
    for post in POSTS:
        if post.detection["category"]:
            expected[post.detection["category"]] = expected.get(post.detection["category"], 0) + 1
    assert categories == expected


def test_template_monthly_indices_and_aliases(indexed: tuple[str, IndexStage], es_client: Elasticsearch) -> None:
    prefix, _ = indexed
    template = es_client.indices.get_index_template(name=f"{prefix}-template")["index_templates"][0]
    assert template["index_template"]["index_patterns"] == [f"{prefix}-*"]
    month = es_schema.month_of(datetime.now(timezone.utc))  # first_seen: stored just now
    aliases = es_client.indices.get_alias(name=prefix).body
    assert list(aliases) == [f"{prefix}-{month}"]
    assert aliases[f"{prefix}-{month}"]["aliases"][prefix]["is_write_index"] is True
    mapping = es_client.indices.get_mapping(index=prefix).body[f"{prefix}-{month}"]["mappings"]
    assert mapping["properties"]["contact_values"] == {"type": "keyword"}
    assert mapping["properties"]["text"]["fields"]["keyword"]["type"] == "keyword"
    # Unknown fields are kept but not indexed: the mapping cannot explode, nothing is rejected for it.
    assert "raw" not in mapping["properties"] and "lines" not in mapping["properties"]["ocr"]["properties"]
    doc = es_client.get(index=prefix, id="weibo:1004")["_source"]
    assert doc["ocr"][0]["lines"][0]["text"] and "raw" not in doc
    assert doc["first_seen"] and doc["author_first_seen"]


def test_newest_month_becomes_the_write_index(es_client: Elasticsearch, es_index: str) -> None:
    es_schema.ensure_template(es_client, es_index, "standard")
    for month in ("2026.10", "2026.12", "2026.11"):
        es_schema.ensure_index(es_client, es_index, f"{es_index}-{month}")
    aliases = es_client.indices.get_alias(name=es_index).body
    writes = {name for name, a in aliases.items() if a["aliases"][es_index].get("is_write_index")}
    assert writes == {f"{es_index}-2026.12"} and len(aliases) == 3


def test_reindexing_is_idempotent_and_older_copies_never_win(
    es_url: str, es_index: str, tmp_path: Path, es_client: Elasticsearch
) -> None:
    settings = settings_for(es_url, es_index, tmp_path)
    run_stage(settings, POSTS)
    newer = make_post("1001", "征信修复 新版本 加微信 zxxf_8888", captured=CAPTURED + timedelta(hours=1),
                      published=POSTS[0].published_at)
    run_stage(settings, [newer])
    stage = run_stage(settings, POSTS)  # an old capture replayed late, e.g. from a spool
    assert stat(stage, "stale") == 1 and stat(stage, "indexed") == len(POSTS) - 1
    es_client.indices.refresh(index=f"{es_index}-*")
    assert es_client.count(index=es_index)["count"] == len(POSTS)
    assert "新版本" in es_client.get(index=es_index, id="weibo:1001")["_source"]["text"]


def test_unreachable_cluster_spools_and_next_open_replays(
    es_url: str, es_index: str, tmp_path: Path, es_client: Elasticsearch, caplog: pytest.LogCaptureFixture
) -> None:
    dead = f"http://elastic:s3cret-pw@127.0.0.1:{free_port()}"
    with caplog.at_level(logging.DEBUG):
        stage = run_stage(settings_for(dead, es_index, tmp_path, ADWATCH_ES_BATCH_SIZE=2), POSTS)
    assert stat(stage, "spooled") == len(POSTS) and not stat(stage, "indexed")
    assert "s3cret-pw" not in caplog.text and "127.0.0.1" in caplog.text
    config = EsConfig.from_settings(Settings(settings_for(es_url, es_index, tmp_path)))
    assert spooled_count(config) == len(POSTS)

    stage = run_stage(settings_for(es_url, es_index, tmp_path), [])  # the next run: replay on open
    assert stat(stage, "replay/indexed") == len(POSTS)
    assert spooled_count(config) == 0 and not config.spool.exists()
    es_client.indices.refresh(index=f"{es_index}-*")
    assert es_client.count(index=es_index)["count"] == len(POSTS)


def test_rejected_documents_stay_in_the_spool(es_url: str, es_index: str, tmp_path: Path,
                                              es_client: Elasticsearch) -> None:
    bad = make_post("6666", "征信修复 加微信 zxxf_8888")
    bad.engagement = {"likes": "很多"}  # not a number: the mapping refuses the document
    stage = run_stage(settings_for(es_url, es_index, tmp_path), [POSTS[0], bad])
    assert stat(stage, "indexed") == 1 and stat(stage, "rejected") == 1
    config = EsConfig.from_settings(Settings(settings_for(es_url, es_index, tmp_path)))
    lines = [json.loads(line) for line in config.spool.read_text(encoding="utf-8").splitlines()]
    assert [a["_id"] for a in lines] == ["weibo:6666"]


def test_indexer_spools_when_the_node_goes_away_mid_run(es_node: Any, es_index: str, tmp_path: Path) -> None:
    """SIGKILL the node between two batches: the second batch is spooled, not lost; restart + replay fixes it."""
    config = EsConfig.from_settings(Settings(settings_for(es_node.url, es_index, tmp_path, ADWATCH_ES_COOLDOWN=0)))
    indexer = EsIndexer(make_client(config), config)
    docs = [es_schema.to_es_doc({**to_plain(ItemAdapter(p).asdict()), "first_seen": "2026-11-21T09:00:00+00:00"})
            for p in POSTS]
    assert indexer.send([indexer.action(d) for d in docs[:2]]).indexed == 2
    es_node.kill()
    assert indexer.send([indexer.action(d) for d in docs[2:]]).spooled == 3
    es_node.start()
    result = indexer.replay_spool()
    assert result.indexed == 3 and spooled_count(config) == 0
    indexer.refresh()
    assert indexer.client.count(index=es_index)["count"] == len(POSTS)
    indexer.client.close()


def test_not_configured_without_url_and_secrets_stay_out_of_repr() -> None:
    with pytest.raises(NotConfigured):
        EsConfig.from_settings(Settings({"ADWATCH_ES_URL": ""}))
    config = EsConfig.from_settings(Settings({
        "ADWATCH_ES_URL": "https://ops:pw-123@es.example:9243", "ADWATCH_ES_API_KEY": "key-abc",
        "ADWATCH_ES_PASSWORD": "pw-456", "ADWATCH_ES_USERNAME": "ops"}))
    assert not {"key-abc", "pw-456", "pw-123"} & set(repr(config).replace("'", " ").split())
    assert "pw-" not in repr(config) and "key-abc" not in repr(config)
    assert config.safe_url == "https://es.example:9243"


def test_a_line_cut_short_by_a_crash_costs_only_itself(es_url: str, es_index: str, tmp_path: Path,
                                                        es_client: Elasticsearch) -> None:
    config = EsConfig.from_settings(Settings(settings_for(es_url, es_index, tmp_path)))
    indexer = EsIndexer(make_client(config), config)
    docs = [es_schema.to_es_doc({**to_plain(ItemAdapter(p).asdict()), "first_seen": "2026-11-21T09:00:00+00:00"})
            for p in POSTS[:3]]
    indexer.spool([indexer.action(docs[0])])
    with config.spool.open("ab") as fh:
        fh.write(b'{"_index": "x", "_id": "weibo:cut", "_sou')  # the process died here
    indexer.spool([indexer.action(d) for d in docs[1:]])
    assert spooled_count(config) == 3
    assert indexer.replay_spool().indexed == 3 and spooled_count(config) == 0
    indexer.refresh()
    assert es_client.count(index=es_index)["count"] == 3
    indexer.client.close()


def test_invisible_characters_do_not_hide_words_from_search(es_url: str, es_index: str, tmp_path: Path,
                                                            es_client: Elasticsearch) -> None:
    """A zero-width or bidi character inside or beside a word (an evasion) does not stop a phrase search."""
    post = make_post("1101", "征\u200c信修\ufeff复，\u202e逾期记录\u202c处理\u200b，加V zw_2026")
    run_stage(settings_for(es_url, es_index, tmp_path), [post])
    for phrase in ("征信修复", "逾期记录处理"):
        assert uids(search(es_client, es_index, query={"match_phrase": {"text": phrase}})) == {"weibo:1101"}, phrase
