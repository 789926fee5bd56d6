"""Spiders' parsers on saved platform payloads (wrapped in TextResponse), including odd and missing fields."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from scrapy.http import Request, TextResponse
from scrapy.utils.test import get_crawler

from crawler.items import AdPost
from crawler.platforms.douyin import DouyinSpider
from crawler.platforms.weibo import WeiboSpider, parse_created_at

FIXTURES = Path(__file__).with_name("fixtures")
CN = timezone(timedelta(hours=8))
ORIGIN = "https://m.weibo.cn"


def spider(cls: type, **kwargs: Any) -> Any:
    crawler = get_crawler(cls, {"PLATFORM_ORIGINS": {"weibo": ORIGIN, "douyin": "https://www.douyin.com"}})
    crawler.spider = crawler._create_spider(keywords="征信修复", **kwargs)
    return crawler.spider


def weibo_response(body: str | bytes, page: int = 1, status: int = 200, url: str | None = None) -> TextResponse:
    sp = spider(WeiboSpider)
    request = sp.search_request("征信修复", page)
    return TextResponse(url or request.url, body=body if isinstance(body, bytes) else body.encode(), status=status,
                        request=request, encoding="utf-8")


def test_weibo_search_page_yields_posts_and_the_next_page() -> None:
    body = (FIXTURES / "weibo_getindex_page1.json").read_text(encoding="utf-8")
    sp = spider(WeiboSpider)
    out = list(sp.parse_search(weibo_response(body), keyword="征信修复", page=1))
    posts = [o for o in out if isinstance(o, AdPost)]
    requests = [o for o in out if isinstance(o, Request)]
    cards = json.loads(body)["data"]["cards"]
    nested = sum(1 for c in cards if c.get("card_type") == 11)
    assert nested >= 1  # posts inside card_group blocks are found too
    long_texts = [r for r in requests if "/statuses/extend" in r.url]
    assert len(posts) + len(long_texts) == 10
    assert [r.cb_kwargs["page"] for r in requests if "getIndex" in r.url] == [2]
    post = posts[0]
    assert post.platform == "weibo" and post.url == f"{ORIGIN}/detail/{post.post_id}"
    assert post.author.id and post.author.url == f"{ORIGIN}/u/{post.author.id}"
    assert post.published_at is not None and post.published_at.utcoffset() == timedelta(hours=8)
    assert set(post.engagement) == {"likes", "comments", "shares"}
    assert post.raw["id"] == post.post_id
    with_pics = [p for p in posts if p.image_urls]
    assert all(u.startswith("https://wx1.sinaimg.cn/large/") for p in with_pics for u in p.image_urls)


def test_weibo_odd_shapes_never_raise() -> None:
    sp = spider(WeiboSpider)
    body = {"ok": 1, "data": {"cards": [
        {"card_type": 9, "mblog": {"id": "1"}},  # nearly empty post: kept, every other field soft
        {"card_type": 9, "mblog": "not a dict"},
        {"card_type": 11, "card_group": "nope"},
        "garbage",
        {"card_type": 9, "mblog": {"id": "2", "deleted": "1", "text": "此微博已被作者删除"}},
    ], "cardlistInfo": {"page": "x"}}}
    out = list(sp.parse_search(weibo_response(json.dumps(body)), keyword="k", page=1))
    assert [p.post_id for p in out if isinstance(p, AdPost)] == ["1"]
    assert sp.crawler.stats.get_value("adwatch/weibo/deleted") == 1


def test_weibo_truncated_json_is_counted_and_retried_once() -> None:
    sp = spider(WeiboSpider)
    resp = weibo_response(b'{"ok":1,"data":{"cards":[{"card_')
    out = list(sp.parse_search(resp, keyword="征信修复", page=1))
    assert len(out) == 1 and isinstance(out[0], Request) and out[0].meta["retry_times"] == 1
    assert sp.crawler.stats.get_value("adwatch/weibo/malformed") == 1


def test_weibo_end_of_results() -> None:
    sp = spider(WeiboSpider)
    out = list(sp.parse_search(weibo_response('{"ok":0,"msg":"这里还没有内容","data":{"cards":[]}}'), keyword="k", page=3))
    assert out == [] and sp.crawler.stats.get_value("adwatch/weibo/end_of_results") == 1


@pytest.mark.parametrize(("value", "expected"), [
    ("Tue Feb 23 12:28:47 +0800 2021", datetime(2021, 2, 23, 12, 28, 47, tzinfo=CN)),
    ("Sun Feb 29 23:59:59 -0530 2024", datetime(2024, 3, 1, 5, 29, 59, tzinfo=timezone.utc)),
    ("Tue Feb 30 12:28:47 +0800 2021", None),
    ("刚刚", datetime(2026, 11, 21, 10, 0, tzinfo=CN)),
    ("5分钟前", datetime(2026, 11, 21, 9, 55, tzinfo=CN)),
    ("2小时前", datetime(2026, 11, 21, 8, 0, tzinfo=CN)),
    ("昨天 23:10", datetime(2026, 11, 20, 23, 10, tzinfo=CN)),
    ("11-05", datetime(2026, 11, 5, tzinfo=CN)),
    ("2024-03-01", datetime(2024, 3, 1, tzinfo=CN)),
    ("", None), (None, None), ("next tuesday", None),
])
def test_weibo_created_at_forms(value: Any, expected: datetime | None) -> None:
    assert parse_created_at(value, now=datetime(2026, 11, 21, 10, 0, tzinfo=CN)) == expected


def test_douyin_aweme_to_post() -> None:
    data = json.loads((FIXTURES / "douyin_search_single.json").read_text(encoding="utf-8"))
    sp = spider(DouyinSpider)
    awemes = [c.get("aweme_info") or c["aweme_mix_info"]["mix_items"][0] for c in data["data"]]
    posts = [sp.post(a, "征信修复") for a in awemes]
    assert len({p.post_id for p in posts}) == 10
    p = posts[0]
    assert p.url == f"https://www.douyin.com/video/{p.post_id}"
    assert p.author.url and p.author.url.startswith("https://www.douyin.com/user/MS4wLjABAAAA")
    assert p.hashtags == ["征信修复"]
    assert p.published_at is not None and p.published_at.tzinfo is not None
    assert {"likes", "comments", "shares", "collects"} <= set(p.engagement)


def test_douyin_minimal_aweme_is_soft() -> None:
    p = spider(DouyinSpider).post({"aweme_id": "7000", "author": None, "statistics": "x", "images": [{}]}, "k")
    assert (p.post_id, p.text, p.author.url, p.image_urls, p.published_at) == ("7000", "", None, [], None)


def test_keywords_from_argument_and_watchlist(tmp_path: Path) -> None:
    from crawler.platforms.base import load_keywords

    wl = tmp_path / "w.yaml"
    wl.write_text("keywords: [a, b]\nplatforms:\n  weibo: {keywords: [c]}\n  douyin: {}\n", encoding="utf-8")
    assert load_keywords("weibo", wl, None) == ["c"]
    assert load_keywords("douyin", wl, None) == ["a", "b"]
    assert load_keywords("kuaishou", wl, None) == []
    assert load_keywords("douyin", wl, " x, y ,") == ["x", "y"]


def test_weibo_search_tabs() -> None:
    assert "type%3D61%26q" in spider(WeiboSpider, search_type="realtime").search_request("k").url
    assert "type%3D1%26q" in spider(WeiboSpider).search_request("k").url
    with pytest.raises(ValueError, match="search_type must be one of"):
        spider(WeiboSpider, search_type="newest")
