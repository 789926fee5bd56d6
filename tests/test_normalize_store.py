"""The normalise and dedup stages and the embedded SQLite store."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from crawler.items import AdPost, Author, to_plain
from pipelines.dedup import DedupStage
from pipelines.normalize import NormalizeStage, absolute_url, hashtags, html_to_text, to_cn_time
from pipelines.store import SqliteStore, StoreStage

CN = timezone(timedelta(hours=8))


def test_weibo_html_to_text() -> None:
    html = ('<a href="https://m.weibo.cn/search?x"><span class="surl-text">#征信修复#</span></a> 逾期不用怕'
            '<span class="url-icon"><img alt=[doge] src="//h5.sinaimg.cn/d.png" /></span><br />加V &amp; 咨询')
    assert html_to_text(html) == "#征信修复# 逾期不用怕[doge]\n加V & 咨询"
    assert html_to_text("  plain text  ") == "plain text"


def test_hashtags_both_styles() -> None:
    assert hashtags("#征信修复# 看这里 #停息挂账 #上岸,") == ["征信修复", "停息挂账", "上岸"]
    assert hashtags("no tags here, 100# item") == []


@pytest.mark.parametrize(("value", "expected"), [
    (1700000000, datetime(2023, 11, 15, 6, 13, 20, tzinfo=CN)),
    (1700000000123, datetime(2023, 11, 15, 6, 13, 20, 123000, tzinfo=CN)),
    (datetime(2024, 1, 1, 12, 0), datetime(2024, 1, 1, 12, 0, tzinfo=CN)),  # naive = Beijing time
    (datetime(2024, 1, 1, 4, 0, tzinfo=timezone.utc), datetime(2024, 1, 1, 12, 0, tzinfo=CN)),
    ("2024-01-01T04:00:00+00:00", datetime(2024, 1, 1, 12, 0, tzinfo=CN)),
    ("yesterday", None), (None, None), (True, None),
])
def test_times_become_aware_utc8(value: object, expected: datetime | None) -> None:
    got = to_cn_time(value)
    assert got == expected
    if got is not None:
        assert got.utcoffset() == timedelta(hours=8)


def test_absolute_urls() -> None:
    assert absolute_url("//wx1.sinaimg.cn/large/a.jpg", "https://m.weibo.cn") == "https://wx1.sinaimg.cn/large/a.jpg"
    assert absolute_url("/detail/1", "https://m.weibo.cn") == "https://m.weibo.cn/detail/1"
    assert absolute_url("javascript:alert(1)", "https://m.weibo.cn") is None
    assert absolute_url("", "https://m.weibo.cn") is None


def _stage(cls: type, **settings: object):  # type: ignore[no-untyped-def]
    crawler = get_crawler(settings_dict={"PLATFORM_ORIGINS": {"weibo": "https://m.weibo.cn"}, **settings})
    stage = cls.from_crawler(crawler)
    stage.open_spider()
    return stage, crawler.stats


def test_normalize_stage_plain_text_stays_as_written() -> None:
    stage, stats = _stage(NormalizeStage)
    post = AdPost("douyin", "1", "/video/1", text="征信修复 <script>x</script> #上岸", published_at=1700000000,
                  image_urls=["//p3.douyinpic.com/a.jpeg", "javascript:1"])
    stage.process_item(post)
    assert post.text == "征信修复 <script>x</script> #上岸"  # no spider says Douyin text is HTML
    assert post.hashtags == ["上岸"]
    assert post.published_at == datetime(2023, 11, 15, 6, 13, 20, tzinfo=CN)
    assert post.image_urls == ["https://p3.douyinpic.com/a.jpeg"]
    assert stats.get_value("adwatch/normalize/normalized/douyin") == 1


def test_dedup_stage_drops_the_second_copy() -> None:
    stage, stats = _stage(DedupStage)
    stage.process_item(AdPost("weibo", "1", "u"))
    stage.process_item(AdPost("douyin", "1", "u"))  # same id, other platform: another post
    with pytest.raises(DropItem):
        stage.process_item(AdPost("weibo", "1", "u"))
    assert stats.get_value("adwatch/dedup/duplicate") == 1


def _doc(post_id: str = "42", text: str = "专业征信修复加微信", **kw: object) -> dict:
    post = AdPost("weibo", post_id, f"https://m.weibo.cn/detail/{post_id}", author=Author("7", "小王", None), text=text,
                  published_at=datetime(2026, 11, 1, 9, 0, tzinfo=CN), **kw)  # type: ignore[arg-type]
    return to_plain(post)


def test_store_upsert_is_idempotent_and_searchable(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    assert store.upsert(_doc()) is True
    assert store.upsert(_doc(text="专业征信修复加微信 更新")) is False
    assert store.count() == 1
    doc = store.get("weibo:42")
    assert doc and doc["text"].endswith("更新") and doc["published_at"] == "2026-11-01T09:00:00+08:00"
    assert store.search("征信修") == ["weibo:42"]  # trigram: any three characters
    assert store.search("停息挂") == []
    store.upsert(_doc("43", ocr_text="停息挂账 加V zx8899", flagged=True))
    assert store.search("zx8899") == ["weibo:43"]
    assert store.count(flagged=True) == 1 and [d["uid"] for d in store.iter_posts(flagged=False)] == ["weibo:42"]


def test_raw_payloads_are_content_addressed(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    a = store.archive_raw({"id": 1, "text": "x"})
    assert a == store.archive_raw({"text": "x", "id": 1}) and a.startswith("sha256:")
    assert store.raw(a) == {"id": 1, "text": "x"}


def test_store_stage_spools_when_sqlite_fails(tmp_path: Path) -> None:
    stage, stats = _stage(StoreStage, ADWATCH_DATA_DIR=str(tmp_path))
    stage.store.close()  # a dead database: every write raises sqlite3.ProgrammingError (an sqlite3.Error)
    stage.process_item(AdPost("weibo", "1", "https://m.weibo.cn/detail/1", raw={"id": "1"}))
    spool = (tmp_path / "store-spool.jsonl").read_text(encoding="utf-8")
    assert '"post_id": "1"' in spool
    assert stats.get_value("adwatch/store/failed") == 1
