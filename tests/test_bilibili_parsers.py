"""Bilibili: the WBI signature against the documented example, and the parsers on saved payloads of the real shape."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from scrapy.exceptions import CloseSpider
from scrapy.http import Request, TextResponse
from scrapy.utils.test import get_crawler

from crawler.items import AdPost, PostGone
from crawler.jobdir import MARKER, discard_if_killed
from crawler.platforms.bilibili import BilibiliSpider, clean_title, key_of, mixin_key, sign_url, wbi_sign
from tests.simulator.platforms.bilibili import expected_w_rid

FIXTURES = Path(__file__).with_name("fixtures")
ORIGIN = "https://www.bilibili.com"
# The worked example of bilibili-API-collect docs/misc/sign/wbi.md.
IMG, SUB = "7cd084941338484aae1ad9425b84077c", "4932caff0ff746eab6f01bf08b70ac45"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"bilibili_{name}.json").read_text(encoding="utf-8"))


def spider() -> BilibiliSpider:
    settings = {
        "PLATFORM_ORIGINS": {"bilibili": ORIGIN},
        "ADWATCH_REFUSAL_STOP_AFTER": 1,  # recognition here; the policy is tested in test_refusals
        "PLATFORM_REAL_ORIGINS": {"bilibili": ORIGIN},
        "PLATFORM_HOSTS": {"bilibili": {"api": "https://api.bilibili.com", "search": "https://search.bilibili.com",
                                        "space": "https://space.bilibili.com"}},
    }
    crawler = get_crawler(BilibiliSpider, settings)
    crawler.spider = crawler._create_spider(keywords="征信修复")
    return crawler.spider


def response(request: Request, body: Any, status: int = 200) -> TextResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return TextResponse(request.url, body=raw, status=status, request=request, encoding="utf-8")


def test_wbi_signature_matches_the_documented_example() -> None:
    mixin = mixin_key(IMG, SUB)
    assert mixin == "ea1db124af3c7062474693fa704f4ff8"
    signed = dict(wbi_sign([("foo", "114"), ("bar", "514"), ("zab", "1919810")], mixin, 1702204169))
    assert signed["w_rid"] == "8f6f2b5b3d485fe1886cec6a0be8c5d4" and signed["wts"] == "1702204169"
    # The simulator's own check (written separately) agrees, including UTF-8, spaces as %20 and the !'()* filter.
    url = sign_url("https://api.bilibili.com/x?keyword=征信 修复(加V)!&page=2", mixin, 1702204169)
    query = dict(parse_qsl(urlsplit(url).query))
    assert "%20" in url and "+" not in url and query["keyword"] == "征信 修复(加V)!"
    assert query["w_rid"] == expected_w_rid(query, IMG, SUB)


def test_nav_keys_and_titles() -> None:
    wbi = fixture("nav")["data"]["wbi_img"]
    assert (key_of(wbi["img_url"]), key_of(wbi["sub_url"])) == (IMG, SUB)
    assert clean_title('<em class="keyword">征信修复</em>真的能做吗 &amp; <b>') == "征信修复真的能做吗 & <b>"


def test_search_page_asks_for_each_video_and_the_next_page() -> None:
    sp = spider()
    request = sp.search_request("征信修复", 1)
    assert request.meta["wbi"] and "w_rid" not in request.url  # signed when sent, not when queued
    out = list(sp.parse_search(response(request, fixture("search_type")), keyword="征信修复", page=1))
    views = [r for r in out if "/x/web-interface/view" in r.url]
    pages = [r for r in out if "/search/type" in r.url]
    assert [r.cb_kwargs["bvid"] for r in views] == ["BV1Rb421J7aB", "BV1uZ421m7Qx"]  # the ketang card is skipped
    assert [r.cb_kwargs["page"] for r in pages] == [2]
    last = list(sp.parse_search(response(sp.search_request("征信修复", 3), fixture("search_type")),
                                keyword="征信修复", page=3))
    assert not [r for r in last if "/search/type" in r.url]  # numPages reached
    empty = {"code": 0, "message": "0", "ttl": 1, "data": {"numResults": 0, "numPages": 0, "result": []}}
    assert list(sp.parse_search(response(sp.search_request("债务重组"), empty), keyword="债务重组", page=1)) == []
    assert sp.crawler.stats.get_value("adwatch/bilibili/end_of_results") == 2


def test_view_and_playurl_make_the_post() -> None:
    sp = spider()
    card = fixture("search_type")["data"]["result"][0]
    view_req = sp.view_request("BV1Rb421J7aB", "征信修复", card)
    [play_req] = list(sp.parse_view(response(view_req, fixture("view")), **view_req.cb_kwargs))
    query = dict(parse_qsl(urlsplit(play_req.url).query))
    assert play_req.meta["wbi"] and query["cid"] == "1583921044" and query["platform"] == "html5"
    [post] = list(sp.parse_playurl(response(play_req, fixture("playurl_html5")), **play_req.cb_kwargs))
    assert isinstance(post, AdPost)
    assert post.url == f"{ORIGIN}/video/BV1Rb421J7aB" and post.post_id == "BV1Rb421J7aB"
    assert post.title == "征信修复真的能做吗？逾期记录处理 & 协商还款"
    assert "zx_fix2026" in post.text and "<详情>" in post.text  # the full desc, as written
    assert post.cover_url == "http://i0.hdslb.com/bfs/archive/6a1f0c7d8e9b2a3c4d5e6f708192a3b4c5d6e7f8.jpg"
    # The PCDN mirror on port 4483 is passed over for the CDN host on the default port.
    assert post.video_url and post.video_url.startswith("https://upos-sz-mirrorcos.bilivideo.com/")
    assert post.author.id == "3493091201236847" and post.author.url == "https://space.bilibili.com/3493091201236847"
    assert post.hashtags == ["征信修复", "信用卡", "逾期", "协商还款"]
    assert post.engagement == {"views": 13021, "likes": 402, "comments": 88, "shares": 17, "collects": 133}
    assert post.published_at is not None and post.published_at.utcoffset().total_seconds() == 8 * 3600


def test_card_only_fallback_unescapes_search_text() -> None:
    sp = spider()
    card = fixture("search_type")["data"]["result"][0]
    post = sp.post("BV1Rb421J7aB", card, {}, "k", None)
    assert post.title.startswith("征信修复真的能做吗") and post.text == "专业征信修复，不成功不收费，私信了解 <详情>"
    assert post.cover_url == "https://i0.hdslb.com/bfs/archive/6a1f0c7d8e9b2a3c4d5e6f708192a3b4c5d6e7f8.jpg"


@pytest.mark.parametrize(("status", "body", "reason"), [
    (412, {"code": -412, "message": "请求被拦截", "ttl": 1, "data": None}, "http-412"),
    (200, {"code": -412, "message": "请求被拦截", "ttl": 1, "data": None}, "risk-412"),
])
def test_interception_is_handed_to_refused(status: int, body: Any, reason: str) -> None:
    sp = spider()
    seen: list[str] = []

    def refused(why: str, resp: Any) -> Request:
        seen.append(why)
        raise CloseSpider(why)

    sp.refused = refused  # type: ignore[method-assign]
    for request, callback in [(sp.search_request("k"), sp.parse_search),
                              (sp.view_request("BV1Rb421J7aB", "k", {}), sp.parse_view)]:
        with pytest.raises(CloseSpider):
            list(callback(response(request, body, status), **request.cb_kwargs))
    assert seen == [reason, reason]


@pytest.mark.parametrize("body", [
    {"code": -403, "message": "访问权限不足", "ttl": 1},
    {"code": 0, "message": "0", "ttl": 1, "data": {"v_voucher": "voucher_3d2f1a0b-88c1-4e1f-9f53-2d4b0e7c1a55"}},
])
def test_rejected_signature_reloads_keys_then_refuses(body: Any) -> None:
    sp = spider()
    sp._mixin = "stale"
    request = sp.search_request("k").replace(url=sign_url(sp.search_request("k").url, "stale" * 7, 1))
    [retry] = list(sp.parse_search(response(request, body), keyword="k", page=1))
    assert sp._mixin is None and "w_rid" not in retry.url and retry.meta["wbi"]  # re-signed with fresh keys
    retry = retry.replace(meta={**retry.meta, "retry_times": 2})
    with pytest.raises(CloseSpider) as stopped:
        list(sp.parse_search(response(retry, body), keyword="k", page=1))
    assert stopped.value.reason == "blocked:wbi-rejected"


def test_deleted_and_missing_videos() -> None:
    sp = spider()
    gone = {"code": 62002, "message": "稿件不可见", "ttl": 1}
    assert list(sp.parse_view(response(sp.view_request("BV1xx411c7mD", "k", {}), gone),
                              bvid="BV1xx411c7mD", keyword="k", card={})) == []
    assert sp.crawler.stats.get_value("adwatch/bilibili/deleted") == 1
    request = sp.post_request("BV1xx411c7mD")
    [item] = list(sp.parse_view(response(request, {"code": -404, "message": "啥都木有", "ttl": 1}), **request.cb_kwargs))
    assert isinstance(item, PostGone) and item.reason == "not_found"


def test_truncated_json_is_retried_and_playurl_failure_keeps_the_post() -> None:
    sp = spider()
    request = sp.search_request("k")
    [retry] = list(sp.parse_search(response(request, b'{"code":0,"data":{"result":[{"ty'), keyword="k", page=1))
    assert retry.meta["retry_times"] == 1
    view = fixture("view")["data"]
    play = sp.api_request("/x/player/wbi/playurl", {"bvid": "BV1Rb421J7aB"}, sp.parse_playurl, wbi=True,
                          referer=ORIGIN, bvid="BV1Rb421J7aB", keyword="k", card={}, view=view)
    [post] = list(sp.parse_playurl(response(play, {"code": -404, "message": "啥都木有", "ttl": 1, "data": None}),
                                   **play.cb_kwargs))
    assert isinstance(post, AdPost) and post.video_url is None and "zx_fix2026" in post.text


def test_url_patterns() -> None:
    for url in ("https://www.bilibili.com/video/BV1Rb421J7aB", "https://m.bilibili.com/video/BV1Rb421J7aB/?p=1",
                "https://b23.tv/BV1Rb421J7aB"):
        assert any((m := re.fullmatch(p, url)) and m["id"] == "BV1Rb421J7aB" for p in BilibiliSpider.url_patterns)
    assert not any(re.fullmatch(p, "https://www.bilibili.com/read/cv123") for p in BilibiliSpider.url_patterns)


def test_a_killed_crawls_jobdir_is_discarded_a_paused_one_kept(tmp_path: Path) -> None:
    (tmp_path / "requests.queue").mkdir()
    (tmp_path / "requests.seen").write_bytes(b"\x14" + b"x" * 20)
    assert not discard_if_killed(tmp_path)  # paused cleanly (no mark): resumed as saved
    assert (tmp_path / "requests.seen").exists()
    (tmp_path / MARKER).write_text("running")
    assert discard_if_killed(tmp_path)  # killed: fingerprints of lost requests would drop them for good
    assert not (tmp_path / "requests.seen").exists() and not (tmp_path / "requests.queue").exists()
