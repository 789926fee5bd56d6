"""Comments and profiles: the three platforms' parsers on saved payloads of the real shape, refusals handed to
``refused()``, which posts get follow-ups, and detection citing bios and comments as sources of their own."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest
from itemadapter import ItemAdapter
from scrapy.exceptions import CloseSpider
from scrapy.http import Request, TextResponse
from scrapy.utils.test import get_crawler

from crawler.followups import CommentPage, Profile, wanted
from crawler.items import AdPost, Author
from crawler.platforms.bilibili import BilibiliSpider
from crawler.platforms.browser import XhrAnswer
from crawler.platforms.weibo import WeiboSpider, wan_count
from pipelines.detect import detection_sources, shared_detector

FIXTURES = Path(__file__).with_name("fixtures")


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def spider(cls: type, origin: str, hosts: dict[str, str] | None = None) -> Any:
    crawler = get_crawler(cls, {"PLATFORM_ORIGINS": {cls.name: origin}, "PLATFORM_REAL_ORIGINS": {cls.name: origin},
                                "PLATFORM_HOSTS": {cls.name: hosts or {}},
                                "ADWATCH_REFUSAL_STOP_AFTER": 1})  # recognition here; the policy: test_refusals
    crawler.spider = crawler._create_spider(keywords="征信修复")
    return crawler.spider


def respond(request: Request, body: Any, status: int = 200) -> TextResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return TextResponse(request.url, body=raw, status=status, request=request, encoding="utf-8")


def post(platform: str, post_id: str, author_id: str = "42", raw: Any = None) -> AdPost:
    return AdPost(platform=platform, post_id=post_id, url=f"https://x/{post_id}", author=Author(id=author_id), raw=raw)


def test_weibo_comments_and_profile_parse_the_real_shapes() -> None:
    s = spider(WeiboSpider, "https://m.weibo.cn")
    request = s.comments_request(post("weibo", "5012345678901234"))
    assert request.url == "https://m.weibo.cn/comments/hotflow?id=5012345678901234&mid=5012345678901234&max_id_type=0"
    page = request.callback(respond(request, fixture("weibo_hotflow")), **request.cb_kwargs)
    assert isinstance(page, CommentPage) and page.next is None
    assert page.comments[0]["text"].startswith("停息挂账") and page.comments[0]["author"]["name"]
    assert request.callback(respond(request, {"ok": 0, "msg": "快来发表你的评论吧"}), **request.cb_kwargs).comments == []
    profile_request = s.profile_request(post("weibo", "1", author_id="2842301143"))
    assert "containerid=1005052842301143" in profile_request.url
    profile = profile_request.callback(respond(profile_request, fixture("weibo_profile")))
    assert isinstance(profile, Profile) and profile.bio and profile.verified is False and profile.followers
    assert wan_count("1.2万") == 12_000 and wan_count(37) == 37 and wan_count("?") is None


def test_weibo_refusal_goes_to_the_refusal_policy() -> None:
    s = spider(WeiboSpider, "https://m.weibo.cn")
    request = s.comments_request(post("weibo", "5012345678901234"))
    with pytest.raises(CloseSpider):
        request.callback(respond(request, b"", status=418), **request.cb_kwargs)
    assert s.crawler.stats.get_value("adwatch/weibo/blocked/http-418") == 1


def test_bilibili_comments_profile_and_relation() -> None:
    s = spider(BilibiliSpider, "https://www.bilibili.com", {"api": "https://api.bilibili.com",
                                                            "space": "https://space.bilibili.com"})
    request = s.comments_request(post("bilibili", "BV1xx411c7mD", raw={"view": {"aid": 170001}}))
    assert request.url.startswith("https://api.bilibili.com/x/v2/reply?type=1&oid=170001")
    page = request.callback(respond(request, fixture("bilibili_reply")))
    assert page.comments[0]["pinned"] and "anxin_2088" in page.comments[0]["text"]
    assert len(page.comments) == 2
    assert s.comments_request(post("bilibili", "BV1xx411c7mD", raw={})) is None  # no aid: nothing to ask
    acc = s.profile_request(post("bilibili", "BV1", author_id="12345"))
    assert acc.meta["wbi"] and "/x/space/wbi/acc/info?mid=12345" in acc.url
    info = {"code": 0, "message": "0", "ttl": 1, "data": {"mid": 12345, "name": "顾问", "sign": "加V：shangan_2024",
                                                          "official": {"role": 0, "title": "", "desc": "", "type": -1}}}
    relation = acc.callback(respond(acc, info))
    assert isinstance(relation, Request) and "/x/relation/stat?vmid=12345" in relation.url
    profile = relation.callback(respond(relation, {"code": 0, "data": {"mid": 12345, "follower": 321}}),
                                **relation.cb_kwargs)
    assert profile == Profile(bio="加V：shangan_2024", verified=False, followers=321, name="顾问")
    with pytest.raises(CloseSpider):  # -412: the refusal policy
        acc.callback(respond(acc, {"code": -412, "message": "请求被拦截"}, status=412))


def test_douyin_payloads_parse() -> None:
    from crawler.platforms.douyin import DouyinSpider

    s = spider(DouyinSpider, "https://www.douyin.com")
    page = MagicMock()
    page.close = MagicMock(side_effect=lambda: asyncio.sleep(0))
    for name, method in (("douyin_comment_list", s.parse_comments), ("douyin_profile_other", s.parse_profile)):
        request = Request("https://www.douyin.com/video/1", meta={"playwright_page": page})
        s.xhr_log(page).answers.put_nowait(XhrAnswer("https://www.douyin.com/aweme/v1/web/x", 200, {},
                                                  json.dumps(fixture(name), ensure_ascii=False)))
        result = asyncio.run(method(TextResponse(request.url, body=b"<html></html>", request=request,
                                                 encoding="utf-8")))
        if name == "douyin_comment_list":
            assert isinstance(result, CommentPage) and result.comments and result.comments[0]["id"]
        else:
            assert isinstance(result, Profile) and "anxin_2088" in (result.bio or "") and result.followers


def test_which_posts_get_followups() -> None:
    assert wanted(ItemAdapter(AdPost("weibo", "1", "u", flagged=True))) == {"comments", "profile"}
    assert wanted(ItemAdapter(AdPost("weibo", "1", "u", text="联系方式见主页"))) == {"profile"}
    assert wanted(ItemAdapter(AdPost("weibo", "1", "u", text="想知道的看评论区"))) == {"comments"}
    assert wanted(ItemAdapter(AdPost("weibo", "1", "u", text="今天天气不错"))) == set()


def test_bio_and_comments_are_sources_of_their_own() -> None:
    item = AdPost("douyin", "1", "u", text="负债三十万，终于熬过来了，想知道的看评论区",
                  author=Author(id="9", bio="合作请加威 anxin_2088"),
                  comments=[{"text": "说得对"}, {"text": "停息挂账、协商还款找我们，加v anxin_2088"}])
    sources = dict(detection_sources(ItemAdapter(item)))
    assert sources["bio"] == "合作请加威 anxin_2088" and sources["comment:1"].startswith("停息挂账")
    result = shared_detector(0.5, None).detect(detection_sources(ItemAdapter(item)))
    assert result.flagged
    assert {c["source"] for c in result.contacts if c["value"] == "anxin_2088"} == {"bio"}  # first place found
    assert "[comment 2" in result.explanation and "author bio" in result.explanation
