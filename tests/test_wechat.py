"""WeChat articles: Sogou's result list and jump page, the article page, and their states, on saved pages."""

from __future__ import annotations

import pytest
from scrapy.exceptions import CloseSpider

from crawler.items import AdPost, PostGone
from crawler.platforms.wechat import WechatSpider, script_var
from tests.platform_helpers import fixture, make_spider, response, stat

ORIGIN = "https://weixin.sogou.com"
ARTICLE = "https://mp.weixin.qq.com"


@pytest.fixture
def spider() -> WechatSpider:
    return make_spider(WechatSpider, ORIGIN)


def test_result_list_yields_jump_pages_and_the_next_page(spider: WechatSpider) -> None:
    request = spider.search_request("停息挂账", 1)
    assert "type=2" in request.url
    out = list(spider.parse_search(response(request, fixture("wechat_sogou_search.html")), **request.cb_kwargs))
    links = [r for r in out if r.callback == spider.parse_link]
    assert len(links) == 2 and all(r.url.startswith(f"{ORIGIN}/link?url=dn9a_") for r in links)
    assert [r.cb_kwargs["page"] for r in out if r.callback == spider.parse_search] == [2]


def test_jump_page_assembles_the_article_address(spider: WechatSpider) -> None:
    request = spider.link_request(f"{ORIGIN}/link?url=abc&type=2", "停息挂账")
    (article,) = list(spider.parse_link(response(request, fixture("wechat_sogou_link.html")), **request.cb_kwargs))
    assert article.url == (f"{ARTICLE}/s?src=11&timestamp=1790677247&ver=6996&signature=c4XtL7f5yWA*L9oldVBI-aT-l"
                           "dI88EM0Uyj8&new=1")
    assert article.cb_kwargs == {"keyword": "停息挂账", "listing_id": None}


def test_jump_page_never_leads_off_wechat(spider: WechatSpider) -> None:
    request = spider.link_request(f"{ORIGIN}/link?url=abc", None)
    assert list(spider.parse_link(response(request, fixture("wechat_sogou_link_offsite.html")), **request.cb_kwargs)) == []
    assert stat(spider, "bad_link") == 1


def test_article_page(spider: WechatSpider) -> None:
    request = spider.article_request(f"{ARTICLE}/s?src=11&timestamp=1&signature=x", "停息挂账")
    (post,) = list(spider.parse_article(response(request, fixture("wechat_article.html")), **request.cb_kwargs))
    assert isinstance(post, AdPost)
    assert post.post_id == "MzIxNDU2Nzg5MA==_2247483650_1"  # the temporary address is not the article's id
    assert post.url == (f"{ARTICLE}/s?__biz=MzIxNDU2Nzg5MA%3D%3D&mid=2247483650&idx=1"
                        "&sn=0a1b2c3d4e5f60718293a4b5c6d7e8f9")
    assert post.title == "信用卡逾期停息挂账，一篇说清楚"
    assert post.author.name == "上岸法务" and post.author.id == "MzIxNDU2Nzg5MA=="
    assert "个性化分期最长60期" in post.text
    assert post.image_urls == ["https://mmbiz.qpic.cn/mmbiz_jpg/Qx1Yz2Ab3Cd4Ef5/640?wx_fmt=jpeg&from=appmsg",
                               "https://mmbiz.qpic.cn/mmbiz_gif/Gh6Ij7Kl8/640?wx_fmt=gif"]
    assert post.cover_url == "https://mmbiz.qpic.cn/mmbiz_jpg/Qx1Yz2Ab3Cd4Ef5/0?wx_fmt=jpeg"
    assert post.published_at.timestamp() == 1790677247
    assert post.raw["user_name"] == "gh_0123456789ab"


@pytest.mark.parametrize(("page", "reason"), [("wechat_deleted.html", "deleted"), ("wechat_removed.html", "removed")])
def test_gone_articles(spider: WechatSpider, page: str, reason: str) -> None:
    request = spider.post_request("Gx1lC7xJ7G4T2kY1s8aQzw")
    assert request.url == f"{ARTICLE}/s/Gx1lC7xJ7G4T2kY1s8aQzw"
    (gone,) = list(spider.parse_article(response(request, fixture(page)), **request.cb_kwargs))
    assert isinstance(gone, PostGone) and gone.reason == reason


def test_antispider_redirect_goes_to_refused(spider: WechatSpider) -> None:
    request = spider.search_request("停息挂账", 3)
    page = response(request, "<html><p>用户您好，我们的系统检测到您网络中存在异常访问请求。</p></html>",
                    url=f"{ORIGIN}/antispider/?from=%2fweixin%3Ftype%3d2%26query%3dx")
    with pytest.raises(CloseSpider):
        list(spider.parse_search(page, **request.cb_kwargs))
    assert stat(spider, "blocked/antispider") == 1


def test_post_request_forms(spider: WechatSpider) -> None:
    assert spider.post_request("__biz=MzA=&mid=1&idx=1&sn=x").url == f"{ARTICLE}/s?__biz=MzA=&mid=1&idx=1&sn=x"
    assert spider.post_request("url=dn9a&type=2").url == f"{ORIGIN}/link?url=dn9a&type=2"
    assert spider.post_request("MzIxNDU2Nzg5MA==_2247483650_1").url == (
        f"{ARTICLE}/s?__biz=MzIxNDU2Nzg5MA%3D%3D&mid=2247483650&idx=1")


def test_script_vars() -> None:
    text = 'var biz = "" || "MzA1";\nvar nickname = htmlDecode("A&amp;B");\nvar ct = "17";'
    assert script_var(text, "biz") == "MzA1" and script_var(text, "nickname") == "A&B"
    assert script_var(text, "ct") == "17" and script_var(text, "missing") == ""
