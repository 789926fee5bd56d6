"""Tieba parsers on saved pages of the real shapes: search results, the thread's first floor, the states."""

from __future__ import annotations

import pytest
from scrapy.exceptions import CloseSpider
from scrapy.http import Request

from crawler.items import AdPost, PostGone
from crawler.platforms.tieba import TiebaSpider, parse_time
from tests.platform_helpers import fixture, make_spider, response, stat

ORIGIN = "https://tieba.baidu.com"


@pytest.fixture
def spider() -> TiebaSpider:
    return make_spider(TiebaSpider, ORIGIN)


def test_search_page_yields_threads_and_the_next_page(spider: TiebaSpider) -> None:
    request = spider.search_request("停息挂账", 1)
    assert "only_thread=1" in request.url and "qw=" in request.url
    out = list(spider.parse_search(response(request, fixture("tieba_search_res.html")), **request.cb_kwargs))
    threads = [r for r in out if r.callback == spider.parse_thread]
    pages = [r for r in out if r.callback == spider.parse_search]
    # data-tid when present, else the /p/{tid} link; a result without a link is skipped.
    assert [r.url for r in threads] == [f"{ORIGIN}/p/8912345678", f"{ORIGIN}/p/8912345679"]
    assert [r.cb_kwargs["page"] for r in pages] == [2]


def test_last_page_ends_the_keyword(spider: TiebaSpider) -> None:
    request = spider.search_request("停息挂账", 5)
    out = list(spider.parse_search(response(request, fixture("tieba_search_last.html")), **request.cb_kwargs))
    assert [r.url for r in out] == [f"{ORIGIN}/p/8912345690"]
    assert stat(spider, "end_of_results") == 1


def test_thread_page_first_floor_with_its_pictures(spider: TiebaSpider) -> None:
    request = spider.thread_request("8912345678", "停息挂账")
    (post,) = list(spider.parse_thread(response(request, fixture("tieba_thread.html")), **request.cb_kwargs))
    assert isinstance(post, AdPost)
    assert post.post_id == "8912345678" and post.url == f"{ORIGIN}/p/8912345678"
    assert post.title == "信用卡逾期停息挂账经验"
    assert "停息挂账找我们" in post.text and "谢谢分享" not in post.text  # the first floor only
    # The poster's picture (BDE_Image), not emoticons (BDE_Smiley) nor pictures of replies.
    assert len(post.image_urls) == 1 and post.image_urls[0].startswith("https://tiebapic.baidu.com/forum/")
    assert post.author.id == "1820316061" and post.author.name == "上岸顾问"
    assert post.author.url == f"{ORIGIN}/home/main?id=tb.1.7e6d4cfc.Aa1bB2cC3dD4"
    assert post.published_at.isoformat() == "2026-10-30T21:07:00+08:00"
    assert post.engagement == {"comments": 27}
    assert post.raw["forum"] == "信用卡吧"


def test_deleted_thread_is_gone(spider: TiebaSpider) -> None:
    request = spider.post_request("8912345678")
    (gone,) = list(spider.parse_thread(response(request, fixture("tieba_deleted.html")), **request.cb_kwargs))
    assert isinstance(gone, PostGone) and gone.reason == "deleted" and gone.post_id == "8912345678"
    assert stat(spider, "deleted") == 1


@pytest.mark.parametrize("callback", ["search", "thread"])
def test_security_check_page_goes_to_refused(spider: TiebaSpider, callback: str) -> None:
    request: Request = spider.search_request("停息挂账") if callback == "search" else spider.post_request("1")
    captcha = "https://wappass.baidu.com/static/captcha/tuxing.html?&logid=1&ak=c27bbc89afca0463650ac9bde68ebe06"
    with pytest.raises(CloseSpider):
        list(request.callback(response(request, fixture("tieba_captcha.html"), url=captcha), **request.cb_kwargs))
    assert stat(spider, "blocked/captcha") == 1


def test_a_page_without_floors_is_retried_not_fatal(spider: TiebaSpider) -> None:
    request = spider.post_request("8912345678")
    out = list(spider.parse_thread(response(request, "<html><body><div class='p_postlist'>"), **request.cb_kwargs))
    assert len(out) == 1 and isinstance(out[0], Request) and out[0].meta["retry_times"] == 1


def test_times() -> None:
    assert parse_time("2026-10-30 21:07").isoformat() == "2026-10-30T21:07:00+08:00"
    assert parse_time("来自Android客户端") is None and parse_time(None) is None and parse_time("2026-13-40 99:99") is None
