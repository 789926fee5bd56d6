"""Xiaohongshu and Kuaishou parsers on saved payloads of the real shapes, and every answer state of their search loops.

The search loops read the answers a browser page received; here a stand-in page hands them saved answers, so each
refusal state is checked to reach ``refused()`` without a browser (the real sweeps are in test_sweep_xhs_ks.py).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from scrapy.exceptions import CloseSpider
from scrapy.http import HtmlResponse, Request, TextResponse
from scrapy.utils.test import get_crawler

from crawler.items import AdPost, PostGone
from crawler.platforms.browser import XhrAnswer
from crawler.platforms.douyin import DouyinSpider
from crawler.platforms.kuaishou import KuaishouSpider
from crawler.platforms.xiaohongshu import XiaohongshuSpider, initial_state
from crawler.platforms.zhihu import ZhihuSpider
from tests.simulator import Simulator
from tests.simulator.corpus import KEYWORDS, build_corpus
from tests.simulator.platforms import kuaishou as ks_sim
from tests.simulator.platforms import xiaohongshu as xhs_sim
from tests.simulator.platforms.douyin import fnv1a

FIXTURES = Path(__file__).with_name("fixtures")
XHS = "https://www.xiaohongshu.com"
KS = "https://www.kuaishou.com"
DY = "https://www.douyin.com"
ZH = "https://www.zhihu.com"


def spider(cls: type, **kwargs: Any) -> Any:
    crawler = get_crawler(cls, {"PLATFORM_ORIGINS": {"xiaohongshu": XHS, "kuaishou": KS, "douyin": DY, "zhihu": ZH},
                                "ADWATCH_PLAYWRIGHT_IDLE_SECONDS": 0.05,
                                "ADWATCH_REFUSAL_STOP_AFTER": 1})  # recognition here; the policy: test_refusals
    crawler.spider = crawler._create_spider(keywords="征信修复", **kwargs)
    return crawler.spider


def stat(sp: Any, key: str) -> Any:
    return sp.crawler.stats.get_value(f"adwatch/{sp.name}/{key}")


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


class FakePage:
    """Stands in for the Playwright page: the spider only scrolls it and closes it."""

    def __init__(self) -> None:
        self.scrolls = 0
        self.closed = False

    async def evaluate(self, script: str) -> None:
        self.scrolls += 1

    async def close(self) -> None:
        self.closed = True


def run_search(sp: Any, answers: list[XhrAnswer], url: str | None = None,
               late: tuple[float, XhrAnswer] | None = None) -> tuple[list[Any], FakePage]:
    """Run the spider's search loop over saved answers, as if its browser page had received them; ``late``: one
    more answer the page is waiting for (its request in flight), arriving after that many seconds."""
    page = FakePage()
    request = sp.search_request("征信修复")
    for answer in answers:
        sp.xhr_log(page).answers.put_nowait(answer)
    request = request.replace(meta={**request.meta, "playwright_page": page})
    response = HtmlResponse(url or request.url, body=b"<html></html>", request=request)

    async def collect() -> list[Any]:
        if late is not None:
            log = sp.xhr_log(page)
            log.in_flight += 1  # what on_page_request counts when the page sends its API request

            def arrive() -> None:
                log.answers.put_nowait(late[1])
                log.in_flight -= 1

            asyncio.get_running_loop().call_later(late[0], arrive)
        return [o async for o in sp.parse_search(response, keyword="征信修复")]

    return asyncio.run(collect()), page


def ok(body: Any, headers: dict[str, str] | None = None, status: int = 200) -> XhrAnswer:
    return XhrAnswer("https://x/api", status, headers or {}, body if isinstance(body, str) else json.dumps(body))


# --- Xiaohongshu ---------------------------------------------------------------------------------------------

def note_response(name: str, note_id: str, url: str | None = None) -> HtmlResponse:
    sp_request = Request(url or f"{XHS}/explore/{note_id}?xsec_token=AB&xsec_source=pc_search")
    return HtmlResponse(sp_request.url, body=fixture(name).encode(), request=sp_request, encoding="utf-8")


def test_xhs_search_cards_become_note_page_requests() -> None:
    sp = spider(XiaohongshuSpider)
    sp.state = {}  # what Scrapy's SpiderState gives a JOBDIR crawl
    data = json.loads(fixture("xiaohongshu_search_notes.json"))
    out, page = run_search(sp, [ok(data), ok({"code": 0, "success": True, "data": {"has_more": False, "items": []}})])
    notes = [i for i in data["data"]["items"] if i["model_type"] == "note"]
    assert len(notes) < len(data["data"]["items"])  # the page mixes in query suggestions
    assert [r.cb_kwargs["note_id"] for r in out] == [n["id"] for n in notes]
    for request, note in zip(out, notes, strict=True):
        assert request.url == f"{XHS}/explore/{note['id']}?xsec_token={note['xsec_token'].replace('=', '%3D')}" \
                              "&xsec_source=pc_search"
        assert request.dont_filter and not request.meta.get("playwright")  # a plain GET, never a browser page
    # The card alone has no text to judge: title and cover only.
    assert all(set(n["note_card"]) >= {"display_title", "cover", "interact_info"} and "desc" not in n["note_card"]
               for n in notes)
    assert (stat(sp, "pages"), stat(sp, "end_of_results"), page.scrolls, page.closed) == (2, 1, 1, True)
    assert sp.searched_keywords() == ["征信修复"]  # a clean pause after this will not search it again


def test_xhs_image_note_page() -> None:
    html = fixture("xiaohongshu_note_image.html")
    note_id = re.search(r'"noteId":"([0-9a-f]{24})"', html)[1]
    sp = spider(XiaohongshuSpider)
    (post,) = sp.parse_note(note_response("xiaohongshu_note_image.html", note_id), note_id, "征信修复", False)
    assert isinstance(post, AdPost) and post.post_id == note_id
    assert post.url == f"{XHS}/explore/{note_id}"
    assert post.title and "[话题]" not in post.text and post.text.endswith(f" #{post.hashtags[0]}")
    assert "[话题]" in html and len(post.hashtags) == 1
    assert post.image_urls and all(re.match(r"http://sns-webpic-qc\.xhscdn\.com/\d{12}/[0-9a-f]{32}/.+!nc_n_webp_mw_1$",
                                            u) for u in post.image_urls)
    assert (post.video_url, post.cover_url) == (None, None)
    assert post.author.id and post.author.url == f"{XHS}/user/profile/{post.author.id}"
    assert post.published_at is not None and post.published_at.utcoffset() == timedelta(hours=8)
    assert set(post.engagement) == {"likes", "comments", "shares", "collects"}


def test_xhs_video_note_page() -> None:
    html = fixture("xiaohongshu_note_video.html")
    note_id = re.search(r'"noteId":"([0-9a-f]{24})"', html)[1]
    (post,) = spider(XiaohongshuSpider).parse_note(note_response("xiaohongshu_note_video.html", note_id), note_id,
                                                   "k", False)
    assert post.video_url.startswith("http://sns-video-bd.xhscdn.com/stream/") and post.video_url.endswith(".mp4")
    assert post.image_urls == [] and post.cover_url.startswith("http://sns-webpic-qc.xhscdn.com/")


def test_xhs_initial_state_is_a_js_literal() -> None:
    html = fixture("xiaohongshu_note_image.html")
    assert "undefined" in html  # as served: not JSON
    state = initial_state(html)
    assert state is not None and state["user"]["userInfo"] is None
    hostile = '<script>window.__INITIAL_STATE__={"a":"x<\\/script><script>alert(1)","b":undefined,"c":[undefined]}</script>'
    assert initial_state(hostile) == {"a": "x</script><script>alert(1)", "b": None, "c": [None]}
    assert initial_state("<script>window.__INITIAL_STATE__={broken</script>") is None
    assert initial_state("<html></html>") is None


def test_xhs_deleted_and_unavailable_notes() -> None:
    note_id = "6700000000000000aaaaaaaa"
    deleted = f"{XHS}/404?source=note&error_code=-510001&error_msg=x"
    sp = spider(XiaohongshuSpider)
    assert list(sp.parse_note(note_response("xiaohongshu_note_image.html", note_id, deleted), note_id, "k", False)) == []
    assert stat(sp, "deleted") == 1
    (gone,) = sp.parse_note(note_response("xiaohongshu_note_image.html", note_id, deleted), note_id, None, True)
    assert isinstance(gone, PostGone) and (gone.post_id, gone.reason) == (note_id, "deleted")
    # 300031 (no or stale xsec_token) is not proof of deletion: nothing is claimed gone.
    error = f"{XHS}/website-login/error?redirectPath=%2Fexplore%2F{note_id}&error_code=300031"
    assert list(sp.parse_note(note_response("xiaohongshu_note_image.html", note_id, error), note_id, None, True)) == []
    assert stat(sp, "unavailable") == 1
    # A page without its state is retried, not lost.
    bare = HtmlResponse(f"{XHS}/explore/{note_id}", body=b"<html></html>", request=Request(f"{XHS}/explore/{note_id}"))
    (retry,) = sp.parse_note(bare, note_id, "k", False)
    assert isinstance(retry, Request) and retry.meta["retry_times"] == 1


def test_xhs_minimal_note_is_soft() -> None:
    p = spider(XiaohongshuSpider).post({"noteId": "x", "imageList": [{}, "junk"], "video": None, "type": "video"}, None)
    assert (p.post_id, p.text, p.image_urls, p.video_url, p.cover_url, p.published_at) == ("x", "", [], None, None, None)


@pytest.mark.parametrize(("answer", "reason"), [
    (ok({"code": 300013, "success": False, "msg": "访问频次异常"}, {"verifytype": "102", "verifyuuid": "u"}, 461),
     "http-461"),
    (ok({"code": -100, "success": False, "msg": "登录已过期", "data": {}}), "login-expired"),
    (ok({"code": 300012, "success": False, "msg": "网络连接异常"}), "ip-blocked"),
])
def test_xhs_refusals_go_to_refused(answer: XhrAnswer, reason: str) -> None:
    sp = spider(XiaohongshuSpider)
    with pytest.raises(CloseSpider) as stopped:
        run_search(sp, [answer])
    assert stopped.value.reason == f"blocked:{reason}" and stat(sp, f"blocked/{reason}") == 1


def test_xhs_captcha_and_login_pages_go_to_refused() -> None:
    for url, reason in ((f"{XHS}/website-login/captcha?redirectPath=%2Fsearch_result&verifyType=102", "captcha"),
                        (f"{XHS}/login?redirectPath=%2Fsearch_result", "login-wall")):
        sp = spider(XiaohongshuSpider)
        with pytest.raises(CloseSpider) as stopped:
            run_search(sp, [], url=url)
        assert stopped.value.reason == f"blocked:{reason}"


def test_xhs_malformed_answer_waits_for_the_page_retry_and_last_page_ends() -> None:
    sp = spider(XiaohongshuSpider)
    data = json.loads(fixture("xiaohongshu_search_notes.json"))
    data["data"]["has_more"] = False
    out, page = run_search(sp, [ok('{"code":0,"success":true,"data":{"ite'), ok(data)])
    assert out and stat(sp, "malformed") == 1 and stat(sp, "end_of_results") == 1 and page.scrolls == 0
    sp2 = spider(XiaohongshuSpider)
    out, _ = run_search(sp2, [ok(data)])  # the same note met again under another keyword: one request per run
    assert [r.cb_kwargs["note_id"] for r in out] and not list(sp2.note_requests(data["data"]["items"], "k"))


def test_xhs_url_patterns() -> None:
    good = ["https://www.xiaohongshu.com/explore/6624e7e100000000010332f2?xsec_token=AB1=&xsec_source=pc_search",
            "https://www.xiaohongshu.com/discovery/item/6624e7e100000000010332f2",
            "https://www.xiaohongshu.com/user/profile/5b6ec24feefc5000015eee8d/6624e7e100000000010332f2"]
    for url in good:
        assert any((m := re.fullmatch(p, url)) and m["id"] == "6624e7e100000000010332f2"
                   for p in XiaohongshuSpider.url_patterns), url
    assert not any(re.fullmatch(p, "https://www.xiaohongshu.com/user/profile/5b6ec24feefc5000015eee8d")
                   for p in XiaohongshuSpider.url_patterns)


# --- Kuaishou ------------------------------------------------------------------------------------------------

def test_ks_search_feed_to_posts() -> None:
    sp = spider(KuaishouSpider)
    data = json.loads(fixture("kuaishou_search_feed.json"))
    assert data["pcursor"] == "1"
    last = {**data, "feeds": [{"type": 3, "user": {"id": "3x"}}], "pcursor": "no_more"}  # not a video: skipped
    out, page = run_search(sp, [ok(data), ok(last)])
    assert [p.post_id for p in out] == [f["photo"]["id"] for f in data["feeds"]]
    assert (stat(sp, "pages"), stat(sp, "end_of_results"), stat(sp, "feed_without_photo"), page.scrolls) == (2, 1, 1, 1)
    feed = data["feeds"][0]
    p = out[0]
    assert p.url == f"{KS}/short-video/{feed['photo']['id']}" and p.text == feed["photo"]["caption"]
    assert p.author.url == f"{KS}/profile/{feed['author']['id']}" and p.hashtags == ["征信修复"]
    assert p.cover_url.startswith("https://p2.a.yximgs.com/upic/")
    assert p.published_at is not None and p.published_at.utcoffset() == timedelta(hours=8)
    with_views = next(q for q, f in zip(out, data["feeds"]) if f["photo"]["viewCount"].endswith("万"))
    assert with_views.engagement["views"] >= 10_000  # "1.0万" read as a number
    # Picture posts (atlases) and text-only posts have an empty photoUrl: no video to fetch.
    assert all((q.video_url is None) == (f["photo"]["photoUrl"] == "") for q, f in zip(out, data["feeds"]))


@pytest.mark.parametrize(("answer", "reason"), [
    (ok({"result": 2}), "rate-limited"),
    (ok({"result": 2}, {"intercept-result": "risk-control;captcha"}), "risk-control"),
    (ok({"result": 109, "loginUrl": "https://passport.kuaishou.com"}), "login-wall"),
])
def test_ks_refusals_go_to_refused(answer: XhrAnswer, reason: str) -> None:
    sp = spider(KuaishouSpider)
    with pytest.raises(CloseSpider) as stopped:
        run_search(sp, [answer])
    assert stopped.value.reason == f"blocked:{reason}" and stat(sp, f"blocked/{reason}") == 1


def test_ks_empty_unsigned_and_malformed_answers() -> None:
    sp = spider(KuaishouSpider)
    out, _ = run_search(sp, [ok({"result": 1, "feeds": [], "pcursor": "no_more"})])
    assert out == [] and stat(sp, "end_of_results") == 1
    sp = spider(KuaishouSpider)
    out, _ = run_search(sp, [ok({"result": 50, "error_msg": "签名验证失败"})])
    assert out == [] and stat(sp, "unsigned") == 1 and not sp._blocked  # our page's failure, not a refusal
    sp = spider(KuaishouSpider)
    out, _ = run_search(sp, [ok('{"result":1,"fee'), ok({"result": 1, "feeds": [], "pcursor": "no_more"})])
    assert stat(sp, "malformed") == 1 and stat(sp, "end_of_results") == 1
    sp = spider(KuaishouSpider)
    (retry,), _ = run_search(sp, [])  # nothing came: the search is asked again, on a new page
    assert stat(sp, "stalled") == 1 and retry.meta["retry_times"] == 1 and "playwright_page" not in retry.meta
    assert retry.meta["playwright"] and sp.once("search:征信修复")  # the retried search will be read


# An empty last page of each browser-searched platform.
LAST_PAGE = {XiaohongshuSpider: {"code": 0, "success": True, "data": {"has_more": False, "items": []}},
             KuaishouSpider: {"result": 1, "feeds": [], "pcursor": "no_more"},
             DouyinSpider: {"status_code": 0, "data": [], "has_more": 0, "cursor": 10},
             ZhihuSpider: {"data": [], "paging": {"is_end": True}}}


@pytest.mark.parametrize("cls", list(LAST_PAGE))
def test_an_answer_on_its_way_is_awaited_not_taken_for_a_stall(cls: type) -> None:
    """A loaded machine makes answers slow: an answer the page waits for is awaited far beyond the idle time (the
    search once gave up and lost its last pages); only a page with nothing in flight counts as stalled."""
    sp = spider(cls)
    out, _ = run_search(sp, [], late=(20 * sp.cfg.idle_seconds, ok(LAST_PAGE[cls])))
    assert out == [] and stat(sp, "end_of_results") == 1 and stat(sp, "stalled") is None


@pytest.mark.parametrize("cls", list(LAST_PAGE))
def test_a_page_with_nothing_in_flight_is_a_stall_and_its_search_asked_again(cls: type) -> None:
    sp = spider(cls)
    (retry,), page = run_search(sp, [])
    assert stat(sp, "stalled") == 1 and retry.meta["retry_times"] == 1 and "playwright_page" not in retry.meta
    assert page.closed and sp.once("search:征信修复")  # the retried search will be read, on a new page


def detail_response(name: str, photo_id: str) -> TextResponse:
    request = spider(KuaishouSpider).post_request(photo_id)
    return TextResponse(request.url, body=fixture(name).encode(), request=request, encoding="utf-8")


def test_ks_video_detail_and_deleted_video() -> None:
    sp = spider(KuaishouSpider)
    request = sp.post_request("3xabc")
    body = json.loads(request.body)
    assert request.method == "POST" and request.url == f"{KS}/graphql"
    assert body["operationName"] == "visionVideoDetail" and body["variables"] == {"photoId": "3xabc", "page": "detail"}
    data = json.loads(fixture("kuaishou_video_detail.json"))
    photo_id = data["data"]["visionVideoDetail"]["photo"]["id"]
    (post,) = sp.parse_detail(detail_response("kuaishou_video_detail.json", photo_id), photo_id)
    assert isinstance(post, AdPost) and post.post_id == photo_id and post.keyword is None
    assert post.video_url.startswith("https://v2.kwaicdn.com/ksc2/") and post.cover_url.startswith("https://p2.a.")
    (gone,) = sp.parse_detail(detail_response("kuaishou_video_detail_deleted.json", "3xgone"), "3xgone")
    assert isinstance(gone, PostGone) and gone.reason == "deleted" and gone.url == f"{KS}/short-video/3xgone"


def test_ks_minimal_feed_is_soft() -> None:
    p = spider(KuaishouSpider).post({"photo": {"id": "3x1", "coverUrls": [{"url": "https://p1.a.yximgs.com/c.jpg"}],
                                               "photoUrl": ""}, "author": "junk", "tags": "junk"}, "k")
    assert (p.post_id, p.text, p.video_url, p.cover_url, p.author.url, p.hashtags) == (
        "3x1", "", None, "https://p1.a.yximgs.com/c.jpg", None, [])


def test_ks_url_patterns() -> None:
    for url in ("https://www.kuaishou.com/short-video/3x7u4ybaxqwd6yq?authorId=3xi4a3vru5ze6gy&tabId=0",
                "https://v.m.chenzhongtech.com/fw/photo/3x7u4ybaxqwd6yq?fid=1"):
        assert any((m := re.fullmatch(p, url)) and m["id"] == "3x7u4ybaxqwd6yq" for p in KuaishouSpider.url_patterns)


def test_no_two_of_these_spiders_claim_the_same_url() -> None:
    urls = ["https://www.xiaohongshu.com/explore/6624e7e100000000010332f2",
            "https://www.kuaishou.com/short-video/3x7u4ybaxqwd6yq"]
    for url in urls:
        owners = [cls.name for cls in (XiaohongshuSpider, KuaishouSpider)
                  if any(re.fullmatch(p, url) for p in cls.url_patterns)]
        assert len(owners) == 1, (url, owners)


# --- the simulator serves these shapes only to the page's own script -----------------------------------------

def post_json(url: str, body: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(url, data=body.encode(), method="POST",
                                     headers={"content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, dict(r.headers), json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), json.loads(e.read())


def test_simulated_xhs_api_needs_the_page_signature(simulator: Simulator) -> None:
    kw = KEYWORDS[3]
    url = simulator.url("xiaohongshu", xhs_sim.SEARCH_API)
    body = json.dumps({"keyword": kw, "page": 1, "page_size": 20})
    assert post_json(url, body)[2]["code"] == 300015  # unsigned: 浏览器异常
    sig = "XYW_" + fnv1a(f"{xhs_sim.page_nonce(kw)}|1|{xhs_sim.SEARCH_API}{body}")
    assert post_json(url, body.replace("20", "21"), {"x-t": "1", "x-s": sig})[2]["code"] == 300015  # body altered
    status, _, data = post_json(url, body, {"x-t": "1", "x-s": sig})
    assert status == 200 and data["success"] and data["data"]["items"]


def test_simulated_xhs_note_page_needs_its_token_and_deleted_notes_redirect(simulator: Simulator) -> None:
    posts = build_corpus()["xiaohongshu"]
    alive, gone = next(p for p in posts if not p.deleted), next(p for p in posts if p.deleted)
    base = simulator.url("xiaohongshu", "/explore/")
    with urllib.request.urlopen(f"{base}{alive.post_id}?xsec_token={xhs_sim.xsec_token(alive.post_id)}") as r:
        assert initial_state(r.read().decode())["note"]["noteDetailMap"][alive.post_id]["note"]["desc"]
    with urllib.request.urlopen(f"{base}{alive.post_id}") as r:
        assert "/website-login/error" in r.url and "error_code=300031" in r.url
    with urllib.request.urlopen(f"{base}{gone.post_id}?xsec_token={xhs_sim.xsec_token(gone.post_id)}") as r:
        assert "/404?" in r.url and "error_code=-510001" in r.url


def test_simulated_ks_api_needs_a_fresh_page_signature(simulator: Simulator) -> None:
    kw = KEYWORDS[3]
    url = simulator.url("kuaishou", ks_sim.SEARCH_API)
    body = json.dumps({"keyword": kw, "pcursor": "", "page": "search"})
    window = int(time.time()) // ks_sim.WINDOW_SECONDS
    assert post_json(url, body)[2] == {"result": 50, "error_msg": "签名验证失败"}
    stale = ks_sim.signature(kw, window - 3, body)
    assert post_json(f"{url}?__NS_hxfalcon={stale}&caver=2", body)[2]["result"] == 50
    fresh = ks_sim.signature(kw, window, body)
    assert post_json(f"{url}?__NS_hxfalcon={fresh}&caver=2", body.replace("search", "other"))[2]["result"] == 50
    data = post_json(f"{url}?__NS_hxfalcon={fresh}&caver=2", body)[2]
    assert data["result"] == 1 and data["feeds"] and data["pcursor"] in ("1", "no_more")
