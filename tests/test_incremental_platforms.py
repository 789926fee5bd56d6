"""Incremental sweeps on Bilibili, Xiaohongshu, Kuaishou, Zhihu, Tieba and WeChat: a listed post stored by an earlier
run costs no detail request and no item, and a result page of such posts ends the search.

First on saved payloads of the real shapes, with a stand-in memory (:class:`Seen`); then against the simulator: its
deep keywords (``bench_pages``) page newest first in each platform's id format, a post published since
(``sim.add_post``) heads its keyword's results, and every listed post is served when the spider asks for it. The two
real sweeps are in tests/test_incremental.py.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from scrapy.http import HtmlResponse, Request, TextResponse
from scrapy.utils.test import get_crawler

from crawler.incremental import Incremental, IncrementalConfig
from crawler.items import AdPost
from crawler.platforms.bilibili import BilibiliSpider, mixin_key, sign_url
from crawler.platforms.kuaishou import KuaishouSpider
from crawler.platforms.tieba import TiebaSpider
from crawler.platforms.wechat import WechatSpider
from crawler.platforms.weibo import WeiboSpider
from crawler.platforms.xiaohongshu import SEARCH_API as XHS_API
from crawler.platforms.xiaohongshu import XiaohongshuSpider
from crawler.platforms.zhihu import ZhihuSpider
from pipelines.seen import SeenMemory, SeenStage
from tests.platform_helpers import fixture, make_spider, response
from tests.simulator import Simulator
from tests.simulator.core import SimConfig
from tests.simulator.corpus import KEYWORDS, SimPost
from tests.simulator.platforms import SITES
from tests.simulator.platforms import kuaishou as ks_sim
from tests.simulator.platforms import xiaohongshu as xhs_sim
from tests.simulator.platforms.wechat import WechatSite
from tests.simulator.platforms.douyin import fnv1a
from tests.test_platforms_xhs_ks import ok, run_search
from tests.test_platforms_xhs_ks import spider as browser_spider

PLATFORMS = ("bilibili", "xiaohongshu", "kuaishou", "zhihu", "tieba", "wechat")
SPIDERS = {"bilibili": BilibiliSpider, "xiaohongshu": XiaohongshuSpider, "kuaishou": KuaishouSpider,
           "zhihu": ZhihuSpider, "tieba": TiebaSpider, "wechat": WechatSpider}
# What a result list calls a post (the id incremental sweeps look up), in the platform's own format.
LISTED_ID = {"bilibili": r"BV1[0-9A-Za-z]{9}", "xiaohongshu": r"[0-9a-f]{24}", "kuaishou": r"3x[0-9a-z]{13}",
             "zhihu": r"(?:answer|article)_\d{19}", "tieba": r"\d+", "wechat": r"sogou:[A-Za-z0-9_-]{22}"}


class Seen:
    """Stands in for :class:`crawler.incremental.Incremental`: ``known`` posts were stored by earlier runs."""

    def __init__(self, known: list[str] | tuple[str, ...] = ()) -> None:
        self.known = set(known)
        self.asked: list[str] = []  # every listed post the spider asked about, in order
        self.paged: list[list[str]] = []  # what each keep_paging() was shown

    def is_due(self, post_id: str, keyword: str) -> bool:
        self.asked.append(post_id)
        return post_id not in self.known

    def keep_paging(self, keyword: str, post_ids: list[str]) -> bool:
        self.paged.append(list(post_ids))
        return not post_ids or not set(post_ids) <= self.known


def seen(sp: Any, known: list[str] | tuple[str, ...] = ()) -> Seen:
    sp.incremental = memory = Seen(known)
    return memory


def callbacks(out: list[Any]) -> list[str]:
    return [r.callback.__name__ if isinstance(r, Request) else type(r).__name__ for r in out]


# --- saved payloads ---------------------------------------------------------------------------------------------

def test_bilibili_known_videos_cost_no_view_and_end_the_paging() -> None:
    sp = make_spider(BilibiliSpider, "https://www.bilibili.com")
    request, data = sp.search_request("征信修复"), fixture("bilibili_search_type.json")  # page 1 of 3
    bvids = ["BV1Rb421J7aB", "BV1uZ421m7Qx"]  # the course card between them is not a video
    memory = seen(sp, bvids)
    assert list(sp.parse_search(response(request, data, html=False), **request.cb_kwargs)) == []
    assert memory.asked == bvids and memory.paged == [bvids]
    seen(sp, bvids[:1])
    out = list(sp.parse_search(response(request, data, html=False), **request.cb_kwargs))
    assert callbacks(out) == ["parse_view", "parse_search"] and out[0].cb_kwargs["bvid"] == bvids[1]


def test_weibo_known_reposted_originals_are_not_sent_again() -> None:
    sp = make_spider(WeiboSpider, "https://m.weibo.cn")
    request, data = sp.search_request("停息挂账", 1), fixture("weibo_getindex_reposts.json")
    everything = re.findall(r'"id": ?"(\d{16})"', data)
    seen(sp, everything)
    assert list(sp.parse_search(response(request, data, html=False), **request.cb_kwargs)) == []
    sp = make_spider(WeiboSpider, "https://m.weibo.cn")  # (an original is met once a run)
    memory = seen(sp, [i for i in everything if i != "5102938475610777"])  # the reposted video ad is new
    (post,) = sp.parse_search(response(request, data, html=False), **request.cb_kwargs)
    assert post.post_id == "5102938475610777" and "5102938475610777" in memory.asked


def test_tieba_known_threads_cost_no_thread_page_and_end_the_paging() -> None:
    sp = make_spider(TiebaSpider, "https://tieba.baidu.com")
    request, page = sp.search_request("停息挂账", 1), fixture("tieba_search_res.html")
    tids = ["8912345678", "8912345679"]
    memory = seen(sp, tids)
    assert list(sp.parse_search(response(request, page), **request.cb_kwargs)) == []
    assert memory.paged == [tids]
    seen(sp, tids[1:])
    out = list(sp.parse_search(response(request, page), **request.cb_kwargs))
    assert callbacks(out) == ["parse_thread", "parse_search"] and out[0].cb_kwargs["tid"] == tids[0]


def test_wechat_results_go_by_sogous_docid_which_the_article_keeps() -> None:
    sp = make_spider(WechatSpider, "https://weixin.sogou.com")
    request, page = sp.search_request("停息挂账", 1), fixture("wechat_sogou_search.html")
    docid = "sogou:ab735a258a90e8e1-6bee54fcbd896b2a-a4fb0e3b6b2d1a2a"
    memory = seen(sp, [docid])
    out = list(sp.parse_search(response(request, page), **request.cb_kwargs))
    # The known article costs nothing; the second result has no docid, so it is always read; no next page.
    assert callbacks(out) == ["parse_link"] and out[0].cb_kwargs["listing_id"] is None
    assert memory.asked == memory.paged[0] == [docid]
    seen(sp)
    out = list(sp.parse_search(response(request, page), **request.cb_kwargs))
    assert callbacks(out) == ["parse_link", "parse_link", "parse_search"]
    link = out[0]
    assert link.cb_kwargs["listing_id"] == docid
    (article,) = sp.parse_link(response(link, fixture("wechat_sogou_link.html")), **link.cb_kwargs)
    (post,) = sp.parse_article(response(article, fixture("wechat_article.html")), **article.cb_kwargs)
    assert isinstance(post, AdPost) and (post.post_id, post.listing_id) == ("MzIxNDU2Nzg5MA==_2247483650_1", docid)


def test_the_memory_knows_a_stored_post_by_its_listing_id(tmp_path: Path) -> None:
    path = tmp_path / "seen.sqlite3"
    stage = SeenStage.from_crawler(get_crawler(settings_dict={"ADWATCH_SEEN_PATH": str(path)}))
    stage.open_spider()
    stage.process_item(AdPost(platform="wechat", post_id="Mz_1_1", url="u", keyword="k", listing_id="sogou:d1"))
    stage.close_spider()
    SeenMemory(path).swept_in_full("wechat", ["k"], time.time())
    later = Incremental("wechat", path, IncrementalConfig(False, 7.0, 24.0), clock=lambda: time.time() + 60)
    assert not later.is_due("sogou:d1", "k") and not later.keep_paging("k", ["sogou:d1"])
    assert later.is_due("sogou:d2", "k")


def test_xhs_known_notes_cost_no_note_page_and_end_the_search_unmarked() -> None:
    data = json.loads(fixture("xiaohongshu_search_notes.json"))  # has_more
    notes = [i["id"] for i in data["data"]["items"] if i["model_type"] == "note"]
    sp = browser_spider(XiaohongshuSpider)
    sp.state = {}
    memory = seen(sp, notes)
    out, page = run_search(sp, [ok(data)])
    assert out == [] and memory.paged == [notes] and page.scrolls == 0 and page.closed
    # Not read to its end: a resumed crawl searches it again, so it cannot count as swept in full there.
    assert sp.searched_keywords() == [] and not sp.crawler.stats.get_value("adwatch/xiaohongshu/end_of_results")
    sp = browser_spider(XiaohongshuSpider)
    sp.state = {}
    seen(sp, notes[1:])
    last = {"code": 0, "success": True, "msg": "成功", "data": {"has_more": False, "items": []}}
    out, page = run_search(sp, [ok(data), ok(last)])
    assert [r.cb_kwargs["note_id"] for r in out] == notes[:1] and page.scrolls >= 1
    assert sp.searched_keywords() == ["征信修复"]


def test_kuaishou_known_videos_are_not_items_and_end_the_search() -> None:
    data = json.loads(fixture("kuaishou_search_feed.json"))  # pcursor "1": more
    ids = [f["photo"]["id"] for f in data["feeds"]]
    sp = browser_spider(KuaishouSpider)
    memory = seen(sp, ids)
    out, page = run_search(sp, [ok(data)])
    assert out == [] and memory.paged == [ids] and page.scrolls == 0
    sp = browser_spider(KuaishouSpider)
    seen(sp, ids[:-1])
    out, _ = run_search(sp, [ok(data), ok({"result": 1, "feeds": [], "pcursor": "no_more"})])
    assert [p.post_id for p in out] == ids[-1:]


def test_zhihu_known_results_cost_nothing_and_end_the_search() -> None:
    data = json.loads(fixture("zhihu_search_v3.json"))  # is_end false
    listed = ["answer_3012345678", "article_671234567", "zvideo_1712345678901234567"]
    sp = make_spider(ZhihuSpider, "https://www.zhihu.com")
    memory = seen(sp, listed)
    out, page = run_search(sp, [ok(data)])
    assert out == [] and memory.paged == [listed] and page.scrolls == 0
    sp = make_spider(ZhihuSpider, "https://www.zhihu.com")  # a search is read once a run (once())
    seen(sp, listed[:2])
    out, _ = run_search(sp, [ok(data), ok({"paging": {"is_end": True}, "data": []})])
    assert callbacks(out) == ["parse_zvideo"]  # the one unknown result: a zvideo, read from its API


# --- the simulator: deep keywords and new posts on every platform ----------------------------------------------

def fetch(request: Request, cookie: str = "") -> TextResponse:
    """``request`` sent to the simulator (redirects followed), as the response its callback gets."""
    req = urllib.request.Request(request.url, data=request.body or None, method=request.method,
                                 headers={k.decode(): v[0].decode() for k, v in request.headers.items()})
    if cookie:
        req.add_header("Cookie", cookie)
    try:
        with urllib.request.urlopen(req, timeout=10) as answer:
            status, url, body = answer.status, answer.url, answer.read()
    except urllib.error.HTTPError as error:
        status, url, body = error.code, error.url, error.read()
    return HtmlResponse(url, status=status, body=body, request=request, encoding="utf-8")


class Client:
    """A platform's spider reading the simulator's pages one request at a time (no engine: the test drives it)."""

    def __init__(self, sim: Simulator, platform: str) -> None:
        self.sim, self.platform = sim, platform
        self.site = sim.sites[platform]
        self.spider = make_spider(SPIDERS[platform], sim.origins[platform])
        self.memory = seen(self.spider)
        self.mixin = mixin_key(*self.site.keys()) if platform == "bilibili" else ""

    def send(self, request: Request) -> list[Any]:
        if self.mixin and request.meta.get("wbi"):  # what BilibiliSessionMiddleware does
            request = request.replace(url=sign_url(request.url, self.mixin, int(time.time())))
        out = request.callback(fetch(request, "buvid3=sim" if self.mixin else ""), **request.cb_kwargs)
        return list(out or [])

    def page(self, keyword: str, number: int) -> tuple[list[str], bool, list[Any]]:
        """Result page ``number`` of ``keyword``: the ids it listed, whether another follows, and what the spider made
        of its (due) posts: items, or the requests that read them."""
        self.memory.asked.clear()
        if self.platform in ("xiaohongshu", "kuaishou", "zhihu"):
            data = json.loads(fetch(self.browser_search(keyword, number)).text)
            result = self.spider.read_page(data, keyword)
            return result.listed, not result.last, result.results
        out = self.send(self.spider.search_request(keyword, number))
        more = any(r.callback == self.spider.parse_search for r in out)
        return list(self.memory.asked), more, [r for r in out if r.callback != self.spider.parse_search]

    def browser_search(self, keyword: str, number: int) -> Request:
        """The API request the platform's search page script sends for result page ``number`` (signed its way)."""
        origin = self.sim.origins[self.platform]
        if self.platform == "zhihu":
            return Request(f"{origin}/api/v4/search_v3?t=general&q={keyword}&offset={20 * (number - 1)}&limit=20")
        if self.platform == "xiaohongshu":
            body, t = json.dumps({"keyword": keyword, "page": number, "page_size": 20}), str(int(time.time() * 1000))
            sign = "XYW_" + fnv1a(f"{xhs_sim.page_nonce(keyword)}|{t}|{XHS_API}{body}")
            return Request(f"{origin}{XHS_API}", method="POST", body=body, headers={"x-t": t, "x-s": sign})
        body = json.dumps({"keyword": keyword, "pcursor": str(number - 1) if number > 1 else "", "page": "search"})
        window = int(time.time()) // ks_sim.WINDOW_SECONDS
        return Request(f"{origin}{ks_sim.SEARCH_API}?__NS_hxfalcon={ks_sim.signature(keyword, window, body)}&caver=2",
                       method="POST", body=body)

    def read(self, made: Any) -> AdPost:
        """The post a listed result makes: the item itself, or where its detail requests (view, jump page, article
        …) lead."""
        for _ in range(4):
            if isinstance(made, AdPost):
                return made
            (made,) = [o for o in self.send(made) if isinstance(o, (AdPost, Request))]
        raise AssertionError(f"{self.platform}: no post after four requests")


def listed_id(platform: str, post: SimPost) -> str:
    """What the platform's result list calls a corpus post: its stored id, but on WeChat (Sogou's docid)."""
    return f"sogou:{WechatSite.token(post)}" if platform == "wechat" else SITES[platform].stored_id(post)


@pytest.fixture(scope="module")
def deep() -> Iterator[Simulator]:
    with Simulator(SimConfig(faults=False, bench_pages=3)) as sim:
        yield sim


@pytest.mark.parametrize("platform", PLATFORMS)
def test_deep_keywords_page_to_their_end_in_the_platforms_id_format(deep: Simulator, platform: str) -> None:
    client = Client(deep, platform)
    pages = [client.page("bench-deep-1", n) for n in (1, 2, 3)]
    ids = [i for listed, _, _ in pages for i in listed]
    assert [more for _, more, _ in pages] == [True, True, False]
    assert len(ids) == len(set(ids)) == 3 * deep.config.page_size
    assert all(re.fullmatch(LISTED_ID[platform], i) for i in ids), ids[:3]
    assert client.page("bench-deep-2", 1)[0][0] not in ids  # each keyword its own posts
    listed, _, made = pages[1]
    post = client.read(made[0])  # served where the spider reads it
    assert (post.listing_id or post.post_id) == listed[0]


def test_deep_keywords_are_newest_first(deep: Simulator) -> None:
    for site in deep.sites.values():
        posts = site.bench_posts("bench-deep-1", 1) + site.bench_posts("bench-deep-1", 2)
        assert all(a.created > b.created for a, b in zip(posts, posts[1:], strict=False))


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_new_post_heads_its_keywords_results_and_is_served(platform: str) -> None:
    with Simulator(SimConfig(faults=False, platforms=(platform,))) as sim:
        client = Client(sim, platform)
        before, _, _ = client.page(KEYWORDS[1], 1)
        new = sim.add_post(platform, KEYWORDS[1], "刚发的新帖：周末去爬山")
        listed, _, made = client.page(KEYWORDS[1], 1)
        assert listed[0] == listed_id(platform, new) and listed[1:] == before[: len(listed) - 1]
        assert re.fullmatch(LISTED_ID[platform], listed[0])
        post = client.read(made[0])
        assert (post.listing_id or post.post_id) == listed[0] and "周末去爬山" in post.text
