"""Comments and profiles on Xiaohongshu, Kuaishou, Zhihu, Tieba and WeChat: parsers on saved payloads of the real
shapes, refusals handed to ``refused()``, and one real sweep showing a bio-only contact and a comment-only pitch
found and cited in the evidence (WeChat: the bio only; its comments need a client session)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest
from scrapy.exceptions import CloseSpider
from scrapy.http import HtmlResponse, JsonRequest, Request, TextResponse

from crawler.followups import CommentPage, Profile
from crawler.items import AdPost, Author
from crawler.platforms.browser import XhrAnswer
from crawler.platforms.kuaishou import KuaishouSpider
from crawler.platforms.tieba import TiebaSpider
from crawler.platforms.wechat import WechatSpider
from crawler.platforms.xiaohongshu import XiaohongshuSpider
from crawler.platforms.zhihu import ZhihuSpider
from tests.conftest import SweepRun, run_sweep
from tests.platform_helpers import fixture, make_spider, stat
from tests.simulator import SimConfig, Simulator
from tests.simulator.corpus import EMPTY_KEYWORD, SimPost
from tests.simulator.platforms import wechat, zhihu

PLATFORMS = ("xiaohongshu", "kuaishou", "zhihu", "tieba", "wechat")
BIO = "专注信用服务十年 | 合作请加威 anxin_2088"
PITCH = "停息挂账、协商还款找我们，银行网贷都能谈，加v anxin_2088"


def payload(name: str) -> Any:
    return json.loads(fixture(name))


def reply(request: Request, body: Any, status: int = 200, url: str | None = None) -> TextResponse:
    raw = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    cls = HtmlResponse if isinstance(body, str) and body.lstrip().startswith("<") else TextResponse
    return cls(url or request.url, body=raw.encode("utf-8"), status=status, request=request, encoding="utf-8")


def post(platform: str, post_id: str, author: Author, raw: Any = None, url: str = "") -> AdPost:
    return AdPost(platform=platform, post_id=post_id, url=url or f"https://x/{post_id}", author=author, raw=raw)


def browser_result(spider: Any, request: Request, answer: XhrAnswer | None, page_html: str = "<html></html>",
                   url: str | None = None, status: int = 200) -> Any:
    """Run a browser follow-up's callback as if the page had received ``answer`` from its own script."""
    page = MagicMock()
    page.close = MagicMock(side_effect=lambda: asyncio.sleep(0))
    page.click = MagicMock(side_effect=lambda *a, **k: asyncio.sleep(0))
    request.meta["playwright_page"] = page
    if answer is not None:
        spider.xhr_log(page).answers.put_nowait(answer)
    response = HtmlResponse(url or request.url, body=page_html.encode(), status=status, request=request,
                            encoding="utf-8")
    result = asyncio.run(asyncio.wait_for(request.callback(response, **request.cb_kwargs), 30))
    assert page.close.called  # the page is closed whatever the answer was
    return result


# --- Xiaohongshu -----------------------------------------------------------------------------------------------
def test_xiaohongshu_comment_page_and_user_page() -> None:
    s = make_spider(XiaohongshuSpider, "https://www.xiaohongshu.com")
    note = post("xiaohongshu", "66696f98000000000d00f289", Author(id="5edae8f70000000001001608"),
                raw={"xsecToken": "ABtok=", "user": {"xsecToken": "ABusr="}})
    request = s.comments_request(note)
    assert request.url == ("https://www.xiaohongshu.com/explore/66696f98000000000d00f289"
                           "?xsec_token=ABtok%3D&xsec_source=pc_search") and request.meta["playwright"]
    api = "https://edith.xiaohongshu.com/api/sns/web/v2/comment/page?note_id=66696f98000000000d00f289&cursor="
    page = browser_result(s, request, XhrAnswer(api, 200, {}, fixture("xiaohongshu_comment_page.json")))
    assert isinstance(page, CommentPage) and [c["text"] for c in page.comments][:3] == [
        "怎么获取？", "私你了，征信修复加薇 xyk_2088", "同问"]
    assert page.comments[1]["by_author"] and page.comments[1]["reply_to"] == page.comments[0]["id"]
    assert s.comments_request(post("xiaohongshu", "1", Author(id="2"), raw={})) is None  # no token, no note page
    # 461 on the comment call: the refusal policy (here: the first refusal stops the platform).
    refused = XhrAnswer(api, 461, {"verifytype": "102"}, json.dumps({"code": 300013, "success": False}))
    with pytest.raises(CloseSpider):
        browser_result(s, s.comments_request(note), refused)
    assert stat(s, "blocked/http-461") == 1

    s = make_spider(XiaohongshuSpider, "https://www.xiaohongshu.com")
    profile_request = s.profile_request(note)
    assert profile_request.url == ("https://www.xiaohongshu.com/user/profile/5edae8f70000000001001608"
                                   "?xsec_token=ABusr%3D&xsec_source=pc_note")
    profile = profile_request.callback(reply(profile_request, fixture("xiaohongshu_user_profile.html")))
    assert profile == Profile(bio="专注信用修复｜V：xyk_2088", followers=12_000, name="小王说征信")
    with pytest.raises(CloseSpider):
        login = "https://www.xiaohongshu.com/login?redirectPath=%2Fuser%2Fprofile%2F5edae8f70000000001001608"
        profile_request.callback(reply(profile_request, "<html></html>", url=login))


# --- Kuaishou --------------------------------------------------------------------------------------------------
def test_kuaishou_comment_list_and_vision_profile() -> None:
    s = make_spider(KuaishouSpider, "https://www.kuaishou.com")
    video = post("kuaishou", "3xabcdefghijk2m", Author(id="3xuser000000001"))
    request = s.comments_request(video)
    assert isinstance(request, JsonRequest) and request.url == "https://www.kuaishou.com/graphql"
    body = json.loads(request.body)
    assert body["operationName"] == "commentListQuery" and body["variables"] == {"photoId": "3xabcdefghijk2m",
                                                                                  "pcursor": ""}
    assert "visionCommentList(photoId: $photoId, pcursor: $pcursor)" in body["query"]
    page = request.callback(reply(request, payload("kuaishou_comment_list.json")), **request.cb_kwargs)
    assert isinstance(page, CommentPage) and page.comments[0]["text"].startswith("停息挂账")
    assert page.comments[1]["reply_to"] == page.comments[0]["id"]  # a sub-comment follows its root
    nxt = json.loads(page.next.body)  # the answer's pcursor asks for the next page
    assert nxt["variables"]["pcursor"] == "1716"
    profile_request = s.profile_request(video)
    assert json.loads(profile_request.body)["variables"] == {"userId": "3xuser000000001"}
    profile = profile_request.callback(reply(profile_request, payload("kuaishou_vision_profile.json")))
    assert profile == Profile(bio="合作请加威 anxin_2088\n专注征信十年", followers=28_000, name="阿李聊负债")
    with pytest.raises(CloseSpider):  # result 2: rate limited
        profile_request.callback(reply(profile_request, {"result": 2}))


# --- Zhihu -----------------------------------------------------------------------------------------------------
def test_zhihu_root_comments_and_people_page() -> None:
    s = make_spider(ZhihuSpider, "https://www.zhihu.com")
    answer = post("zhihu", "answer_3012345678", Author(id="a1", url="https://www.zhihu.com/people/zh-shangan"),
                  url="https://www.zhihu.com/question/591234567/answer/3012345678")
    request = s.comments_request(answer)
    assert request.url == answer.url and "评论" in request.meta["adwatch_click"]
    api = "https://www.zhihu.com/api/v4/comment_v5/answers/3012345678/root_comment?order_by=score&limit=20&offset="
    page = browser_result(s, request, XhrAnswer(api, 200, {}, fixture("zhihu_root_comment.json")))
    assert isinstance(page, CommentPage) and page.comments[0]["pinned"] and page.comments[0]["by_author"]
    assert "shangan_2088" in page.comments[0]["text"] and page.comments[0]["author"]["name"] == "上岸顾问"
    assert page.comments[2]["reply_to"] == page.comments[1]["id"]  # a child comment follows its root
    assert s.comments_request(post("zhihu", "zvideo_1", Author())) is None
    risk = XhrAnswer(api, 403, {}, fixture("zhihu_risk_403.json"))
    with pytest.raises(CloseSpider):
        browser_result(s, s.comments_request(answer), risk)
    assert stat(s, "blocked/risk") == 1

    s = make_spider(ZhihuSpider, "https://www.zhihu.com")
    profile_request = s.profile_request(answer)
    assert profile_request.url == "https://www.zhihu.com/people/zh-shangan"
    profile = profile_request.callback(reply(profile_request, fixture("zhihu_people_page.html")),
                                       **profile_request.cb_kwargs)
    assert profile == Profile(bio="债务规划师\n停息挂账、个性化分期，咨询加V：shangan_2088", verified=True,
                              followers=1234, name="上岸顾问")
    assert profile_request.callback(reply(profile_request, "<html></html>", status=404),
                                    **profile_request.cb_kwargs) is None


# --- Tieba -----------------------------------------------------------------------------------------------------
def test_tieba_total_comment_and_user_card() -> None:
    s = make_spider(TiebaSpider, "https://tieba.baidu.com")
    thread = post("tieba", "8912345678", Author(id="1", url="https://tieba.baidu.com/home/main?id=tb.1.4ac1e2f3"),
                  raw={"data_field": {"content": {"forum_id": 27562, "post_id": 148123456789}}},
                  url="https://tieba.baidu.com/p/8912345678")
    request = s.comments_request(thread)
    assert "/p/totalComment?t=" in request.url and "&tid=8912345678&fid=27562&pn=1&see_lz=0" in request.url
    page = request.callback(reply(request, payload("tieba_total_comment.json")))
    assert [c["text"] for c in page.comments][:2] == ["需要的私我，协商还款加V anxin_2088", "楼主真好人"]
    assert page.comments[2]["text"].endswith(":谢谢") and page.comments[2]["reply_to"] == "148123456790"
    assert page.comments[0]["author"]["name"] == "上岸老哥" and page.comments[0]["reply_to"] == "148123456789"
    empty = request.callback(reply(request, {"errno": 0, "errmsg": "success", "data": {"comment_list": [],
                                                                                      "user_list": []}}))
    assert empty.comments == []  # PHP's empty array, not an object
    assert s.comments_request(post("tieba", "1", Author(), raw={})) is None  # no forum id

    profile_request = s.profile_request(thread)
    assert profile_request.url == thread.author.url and profile_request.meta["playwright"]
    card = "https://tieba.baidu.com/c/u/pc/userCard?portrait=tb.1.4ac1e2f3&subapp_type=pc&_client_type=20&sign=x"
    profile = browser_result(s, profile_request, XhrAnswer(card, 200, {}, fixture("tieba_user_card.json")))
    assert profile == Profile(bio="专业债务协商，加V anxin_2088", followers=7, name="上岸老哥")
    captcha = XhrAnswer("https://wappass.baidu.com/static/captcha/tuxing.html?ak=x", 200, {}, "<html>百度安全验证</html>")
    with pytest.raises(CloseSpider):
        browser_result(s, s.profile_request(thread), captcha)
    assert stat(s, "blocked/captcha") == 1


# --- WeChat ----------------------------------------------------------------------------------------------------
def test_wechat_account_intro_from_sogou_and_no_comments() -> None:
    s = make_spider(WechatSpider, "https://weixin.sogou.com")
    article = post("wechat", "MzI_1_1", Author(id="MzIxNDU2Nzg5MA==", name="上岸法务"))
    assert s.comments_request(article) is None  # 留言 need a WeChat client session
    request = s.profile_request(article)
    assert request.url.startswith("https://weixin.sogou.com/weixin?type=1&") and "query=%E4%B8%8A%E5%B2%B8" in request.url
    profile = request.callback(reply(request, fixture("wechat_sogou_account.html")), **request.cb_kwargs)
    assert profile == Profile(bio="债务优化、停息挂账咨询，微信 shangan_2088", verified=True, name="上岸法务")
    # Two accounts of that exact name: nobody's intro is taken.
    twice = fixture("wechat_sogou_account.html").replace("</em>助手</a>", "</em></a>")
    assert request.callback(reply(request, twice), **request.cb_kwargs) is None
    assert stat(s, "profile_ambiguous") == 1
    with pytest.raises(CloseSpider):
        request.callback(reply(request, "<html></html>", url="https://weixin.sogou.com/antispider/?from=x"),
                         **request.cb_kwargs)


# --- one real sweep: a bio-only contact and a comment-only pitch on every platform -----------------------------
def seed(sim: Simulator) -> dict[str, dict[str, SimPost]]:
    """Two posts per platform under a keyword nothing else answers to: the contact only in the author's bio, and
    the pitch only in the author's pinned comment (WeChat: the bio one only)."""
    seeded: dict[str, dict[str, SimPost]] = {}
    for n, platform in enumerate(PLATFORMS):
        bio = sim.add_post(platform, EMPTY_KEYWORD, "征信修复、逾期记录处理，联系方式见主页")
        bio.bio, bio.author_name, bio.kind, bio.is_ad = BIO, f"信用顾问{n}号", "bio", True
        seeded[platform] = {"bio": bio}
        if platform != "wechat":
            comment = sim.add_post(platform, EMPTY_KEYWORD, "负债三十万的日子终于熬过来了，想知道怎么做到的看评论区")
            comment.comment_texts = [{"text": PITCH, "by_author": True, "pinned": True}]
            comment.author_name, comment.kind, comment.is_ad = f"上岸记录{n}", "comment", True
            seeded[platform]["comment"] = comment
    return seeded


def stored_uid(p: SimPost) -> str:
    stored = {"zhihu": zhihu.stored_id, "wechat": wechat.stored_id}.get(p.platform, lambda q: q.post_id)(p)
    return f"{p.platform}:{stored}"


def sweep_seeded(tmp: Path, **config: Any) -> tuple[SweepRun, dict[str, dict[str, SimPost]], Simulator]:
    with Simulator(SimConfig(faults=False, platforms=PLATFORMS, **config)) as sim:
        seeded = seed(sim)
        run = run_sweep(sim.origin_arg, tmp, "--platforms", ",".join(PLATFORMS), "--no-report",
                        "-a", f"keywords={EMPTY_KEYWORD}", "-s", "ADWATCH_REFUSAL_BACKOFF=0.1")  # refusals: the policy
    assert run.proc.returncode == 0, run.output[-4000:]
    return run, seeded, sim


def assert_found(run: SweepRun, seeded: dict[str, dict[str, SimPost]], platform: str) -> None:
    """The bio's contact cited from the bio; the pitch cited from the pinned comment."""
    doc = run.store().get(stored_uid(seeded[platform]["bio"]))
    assert doc is not None and doc["flagged"], run.output[-3000:]
    assert doc["author"]["bio"] == BIO and "[author bio" in doc["detection"]["explanation"]
    contact = next(c for c in doc["contacts"] if c["source"] == "bio")
    assert (contact["kind"], contact["value"]) == ("wechat", "anxin_2088")
    if "comment" in seeded[platform]:
        doc = run.store().get(stored_uid(seeded[platform]["comment"]))
        assert doc is not None and doc["flagged"] and doc["comments"][0]["text"] == PITCH
        assert {"category", "cta"} <= {m["kind"] for m in doc["detection"]["matches"] if m["source"] == "comment:0"}
        assert any(c["source"] == "comment:0" and c["value"] == "anxin_2088" for c in doc["contacts"])


@pytest.fixture(scope="module")
def followup_sweep(tmp_path_factory: pytest.TempPathFactory) -> tuple[SweepRun, dict[str, dict[str, SimPost]]]:
    run, seeded, _ = sweep_seeded(tmp_path_factory.mktemp("followups"))
    return run, seeded


@pytest.mark.parametrize("platform", PLATFORMS)
def test_bio_only_contact_and_comment_only_pitch_are_found_and_cited(followup_sweep: tuple[SweepRun, Any],
                                                                     platform: str) -> None:
    run, seeded = followup_sweep
    assert_found(run, seeded, platform)
    assert run.stat(platform, f"adwatch/followups/profiles/{platform}") >= 1
    if platform != "wechat":
        assert run.stat(platform, f"adwatch/followups/posts_with_comments/{platform}") >= 2


# The follow-up endpoints each platform's simulator refuses through refuse_every (its API paths).
FOLLOWUP_APIS = {"xiaohongshu": ("/api/sns/web/v2/comment/page",), "kuaishou": ("/graphql",),
                 "zhihu": ("/api/v4/comment_v5/",), "tieba": ("/p/totalComment", "/c/u/pc/userCard"),
                 "wechat": ("/weixin?", )}


def test_refused_followups_are_retried_through_the_refusal_policy(tmp_path: Path) -> None:
    """Every second API request refused the platform's way (461, result 2, 40362, the captcha, antispider):
    the follow-ups go through ``refused()``, are asked again and still find what they were sent for."""
    run, seeded, sim = sweep_seeded(tmp_path, refuse_every=2)
    for platform in PLATFORMS:
        assert_found(run, seeded, platform)
        refused = [key for key in sim._refused if key.startswith(f"{platform}:")]
        assert any(path in key for key in refused for path in FOLLOWUP_APIS[platform]), (platform, refused)
        if platform == "wechat":  # its article search and account search share /weixin: the account search's
            assert any("type=1" in key for key in refused), refused
        assert run.stat(platform, f"adwatch/{platform}/refusals/retried") >= 1
        assert run.stats[platform]["summary"]["finish_reason"] == "finished"
    assert "Traceback" not in run.output


def test_wechat_comments_are_reported_unsupported(followup_sweep: tuple[SweepRun, Any]) -> None:
    run, _ = followup_sweep
    assert run.stat("wechat", "adwatch/followups/unsupported/comments/wechat") >= 1
    assert "Traceback" not in run.output
