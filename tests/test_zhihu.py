"""Zhihu parsers on saved payloads of the real shapes; refusal states; single-post pages."""

from __future__ import annotations

import json

import pytest
from scrapy.exceptions import CloseSpider
from scrapy.http import Request

from crawler.items import AdPost, PostGone
from crawler.platforms.zhihu import ZhihuSpider, content_images, split_id
from tests.platform_helpers import fixture, make_spider, response, stat

ORIGIN = "https://www.zhihu.com"


@pytest.fixture
def spider() -> ZhihuSpider:
    return make_spider(ZhihuSpider, ORIGIN)


def test_search_results_become_answers_articles_and_zvideo_requests(spider: ZhihuSpider) -> None:
    data = json.loads(fixture("zhihu_search_v3.json"))
    out = list(spider.results(data, "征信修复"))
    posts = [o for o in out if isinstance(o, AdPost)]
    requests = [o for o in out if isinstance(o, Request)]
    assert [p.post_id for p in posts] == ["answer_3012345678", "article_671234567"]  # ads, boxes, nulls skipped
    answer, article = posts
    assert answer.url == f"{ORIGIN}/question/591234567/answer/3012345678"
    assert article.url == "https://zhuanlan.zhihu.com/p/671234567"
    assert answer.title == "<em>征信修复</em>靠谱吗？"  # HTML: the normalise stage strips it (html_text)
    assert "征信修复来帮忙" in answer.text
    # The lazy image's real address, once (the <noscript> copy is the same picture); formula images are not evidence.
    assert answer.image_urls == ["https://picx.zhimg.com/v2-4b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e_r.jpg"]
    assert answer.author.id == "0d7f3e7a1b2c3d4e5f60718293a4b5c6"
    assert answer.author.url == f"{ORIGIN}/people/xiufu-laoshi"
    assert answer.published_at is not None and answer.published_at.timestamp() == 1700000000
    assert answer.engagement == {"likes": 12, "comments": 3}
    assert article.author.name == "匿名用户" and article.author.url is None
    assert [r.url for r in requests] == [f"{ORIGIN}/api/v4/zvideos/1712345678901234567"]
    assert data["paging"]["is_end"] is False


def test_zvideo_detail_gives_the_playable_file_and_cover(spider: ZhihuSpider) -> None:
    request = spider.zvideo_request("1712345678901234567", "征信修复")
    (post,) = list(spider.parse_zvideo(response(request, fixture("zhihu_zvideo.json"), html=False),
                                       **request.cb_kwargs))
    assert post.post_id == "zvideo_1712345678901234567" and post.url == f"{ORIGIN}/zvideo/1712345678901234567"
    assert post.video_url.startswith("https://vdn6.vzuu.com/LD/")  # the smallest rendition is enough for frames
    assert post.cover_url.startswith("https://picx.zhimg.com/")
    assert post.author.url == f"{ORIGIN}/people/fuzhai" and post.engagement["views"] == 1200


def test_answer_page_initial_data_camel_case(spider: ZhihuSpider) -> None:
    request = spider.post_request("answer/3012345678")
    assert request.url == f"{ORIGIN}/answer/3012345678"  # redirects to the answer under its question
    page = response(request, fixture("zhihu_answer_page.html"),
                    url=f"{ORIGIN}/question/591234567/answer/3012345678")
    (post,) = list(spider.parse_page(page, **request.cb_kwargs))
    assert post.post_id == "answer_3012345678" and post.title == "征信修复靠谱吗？"
    assert post.engagement == {"likes": 12, "comments": 3} and post.published_at.timestamp() == 1700000000
    assert post.author.url == f"{ORIGIN}/people/xiufu-laoshi"
    assert post.image_urls == ["https://picx.zhimg.com/v2-4b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e_r.jpg"]


def test_deleted_answer_is_gone(spider: ZhihuSpider) -> None:
    request = spider.post_request("answer_3012345678")
    (gone,) = list(spider.parse_page(response(request, "<html><h1>你似乎来到了没有知识存在的荒原</h1></html>", status=404),
                                     **request.cb_kwargs))
    assert isinstance(gone, PostGone) and gone.post_id == "answer_3012345678" and gone.reason == "deleted"


@pytest.mark.parametrize(("status", "body", "reason"), [
    (403, fixture("zhihu_risk_403.json"), "risk"),
    (401, '{"error": {"code": 100, "message": "请求参数异常，请升级客户端后重试。"}}', "login-wall"),
    (200, '{"data": [], "paging": {"is_end": true}}', None),
])
def test_refusal_answers_are_recognised(status: int, body: str, reason: str | None) -> None:
    assert ZhihuSpider.refusal_reason(status, json.loads(body)) == reason


def test_risk_answer_of_the_zvideo_api_goes_to_refused(spider: ZhihuSpider) -> None:
    request = spider.zvideo_request("1", None)
    with pytest.raises(CloseSpider):
        list(spider.parse_zvideo(response(request, fixture("zhihu_risk_403.json"), status=403, html=False),
                                 **request.cb_kwargs))
    assert stat(spider, "blocked/risk") == 1


def test_captcha_interstitial_on_a_page_goes_to_refused(spider: ZhihuSpider) -> None:
    request = spider.post_request("p/671234567")
    page = response(request, "<html><title>安全验证 - 知乎</title></html>",
                    url=f"{ORIGIN}/account/unhuman?type=unhuman&need_login=false")
    with pytest.raises(CloseSpider):
        list(spider.parse_page(page, **request.cb_kwargs))
    assert stat(spider, "blocked/captcha") == 1


def test_ids_and_odd_content() -> None:
    assert split_id("answer/1") == ("answer", "1") and split_id("p/2") == ("article", "2")
    assert split_id("zvideo_3") == ("zvideo", "3") and split_id("4") == ("answer", "4")
    assert content_images("") == [] and content_images("<img>") == []
    assert content_images('<img src="//pic1.zhimg.com/a.jpg">') == ["//pic1.zhimg.com/a.jpg"]
