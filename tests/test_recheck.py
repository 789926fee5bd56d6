"""Re-check bookkeeping without a crawl: the schedule after filing, what is due, how answers are recorded, and
re-emergence (the same contact, account or near-duplicate text in a post first seen after filing)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from crawler.platforms.douyin import DouyinSpider
from crawler.platforms.weibo import WeiboSpider
from crawler.recheck import find_reemergence, plan, record, supports_post_request
from reports.desk.config import parse_after
from reports.desk.db import DeskDb, DeskError
from reports.desk.results import results

T0 = datetime(2026, 11, 1, 4, 0, tzinfo=timezone.utc)
AD = "网贷逾期？我们可以帮你协商还款、息费减免，最快3天停息挂账。咨询请加V：shangan_2024"


def post(uid: str, first_seen: datetime, text: str = "", contacts: list | None = None, author: str = "") -> dict:
    platform, post_id = uid.split(":")
    return {"uid": uid, "platform": platform, "post_id": post_id, "first_seen": first_seen.isoformat(), "text": text,
            "contacts": contacts or [], "author": {"id": author} if author else {}}


@pytest.fixture
def db(tmp_path: Path) -> DeskDb:
    now = [T0]
    desk = DeskDb(tmp_path / "store.sqlite3", clock=lambda: now[0])
    desk.now_ref = now  # type: ignore[attr-defined]
    for uid in ("weibo:1", "weibo:2", "douyin:3"):
        desk.review(uid, uid.split(":")[0], "confirmed", "", "rita")
    desk.create_batch("B1", "weibo", [("weibo:1", "1", (T0 - timedelta(hours=4)).isoformat()),
                                      ("weibo:2", "2", (T0 - timedelta(hours=2)).isoformat())], "fred")
    desk.create_batch("B2", "douyin", [("douyin:3", "3", (T0 - timedelta(hours=1)).isoformat())], "fred")
    desk.file("B1", "T-1", "fred", parse_after(["30m", "6h", "24h", "7d"]))
    desk.file("B2", "T-2", "fred", parse_after(["30m", "7d"]))
    yield desk
    desk.close()


def test_schedule_and_due_checks(db: DeskDb) -> None:
    assert parse_after(["7d", "30m", "6h"])[0] == ("30m", timedelta(minutes=30))
    with pytest.raises(ValueError):
        parse_after(["soon"])
    assert db.due_checks(T0 + timedelta(minutes=29)) == []
    due = db.due_checks(T0 + timedelta(hours=7))
    assert sorted((d["uid"], d["label"]) for d in due) == [("douyin:3", "30m"), ("weibo:1", "30m"), ("weibo:1", "6h"),
                                                          ("weibo:2", "30m"), ("weibo:2", "6h")]
    with pytest.raises(DeskError):
        db.file("B1", "again", "fred", [])
    with pytest.raises(DeskError):
        db.review("weibo:1", "weibo", "rejected", "changed my mind", "rita")  # in a batch: fixed


def test_platforms_without_single_posts_wait_and_silence_is_no_removal(db: DeskDb) -> None:
    assert supports_post_request(WeiboSpider)
    spiders = {"weibo": WeiboSpider, "douyin": DouyinSpider}
    now = T0 + timedelta(minutes=31)
    todo = plan(db, now, spiders)
    if not supports_post_request(DouyinSpider):
        assert todo.unsupported == {"douyin": 1}
    assert todo.by_platform["weibo"] == ["1", "2"]
    counts = record(db, todo, {"weibo": {"1": ("removed", "deleted")}}, now)
    assert counts["removed"] == 1 and counts["error"] == 1 + (1 if "douyin" in todo.by_platform else 0)
    res = results(db, timedelta(days=7))
    weibo = res["platforms"]["weibo"]
    assert (weibo.filed, weibo.removed, weibo.takedown_rate) == (2, 1, 0.5)
    assert weibo.median_hours_to_removal == pytest.approx(31 / 60, abs=1e-4)
    assert weibo.median_hours_seen_to_filed == pytest.approx(3.0)
    assert weibo.checked_after_7d == 0 and weibo.share_online_after_7d is None


def test_reemergence_by_contact_account_and_near_duplicate_text(db: DeskDb) -> None:
    after, before = T0 + timedelta(hours=1), T0 - timedelta(hours=1)
    posts = [
        post("weibo:1", T0 - timedelta(hours=4), AD, [{"kind": "wechat", "value": "shangan_2024"}], author="42"),
        post("weibo:2", T0 - timedelta(hours=2), "征信修复，不成功不收费，详情咨询 vx: cx-help01",
             [{"kind": "wechat", "value": "cx-help01"}], author="43"),
        post("douyin:3", T0 - timedelta(hours=1), "停止催收，私信我", author="44"),
        post("weibo:10", after, "换个说法：加V：shangan_2024", [{"kind": "wechat", "value": "shangan_2024"}], "99"),
        post("weibo:11", after, "今天天气不错", author="43"),  # the same account posts again
        post("weibo:12", after, AD.replace("最快3天", "最快两天"), author="98"),  # a near-duplicate, new account
        post("weibo:13", before, AD, [{"kind": "wechat", "value": "shangan_2024"}], "97"),  # seen before filing
        post("weibo:14", after, "信用卡逾期三个月了，有没有人知道该怎么跟银行协商？", author="96"),
    ]
    assert find_reemergence(db, posts, T0 + timedelta(days=1)) == 3
    found = {(r["uid"], r["new_uid"]): r["via"] for r in db.reemergence()}
    assert found == {("weibo:1", "weibo:10"): "contact:wechat", ("weibo:2", "weibo:11"): "account",
                     ("weibo:1", "weibo:12"): "text"}
    assert find_reemergence(db, posts, T0 + timedelta(days=2)) == 0  # found once
    figs = results(db, timedelta(days=7))["platforms"]["weibo"]
    assert (figs.reemerged, figs.reemergence_rate) == (2, 1.0)


def test_weibo_post_page_online_deleted_and_refused() -> None:
    from scrapy.http import HtmlResponse, Request
    from scrapy.utils.test import get_crawler

    from crawler.items import AdPost, PostGone

    crawler = get_crawler(WeiboSpider, {"PLATFORM_ORIGINS": {"weibo": "https://m.weibo.cn"}})
    spider = WeiboSpider.from_crawler(crawler, keywords="x")
    page = (Path(__file__).parent / "fixtures" / "weibo_detail.html").read_bytes()
    url = "https://m.weibo.cn/detail/5100000000000001"

    def parse(status: int, body: bytes, at: str = url) -> list:
        response = HtmlResponse(at, status=status, body=body, request=Request(url))
        return list(spider.parse_detail(response, "5100000000000001"))

    [item] = parse(200, page)
    assert isinstance(item, AdPost) and item.post_id == "5100000000000001" and item.author.name == "上岸顾问"
    assert "zx8899" in item.text and item.engagement["likes"] == 12
    [gone] = parse(404, "<html><body>微博不存在</body></html>".encode())
    assert isinstance(gone, PostGone) and gone.reason == "deleted"
    [gone] = parse(200, page.replace(b'"pic_num": 0', b'"pic_num": 0, "deleted": "1"'))
    assert isinstance(gone, PostGone)
    # A refusal goes to the refusal policy, which asks for the same page again (on another session, after a pause).
    [retry] = parse(418, b"")
    assert isinstance(retry, Request) and retry.url == url
    assert crawler.stats.get_value("adwatch/weibo/refused/http-418") == 1
