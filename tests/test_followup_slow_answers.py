"""Follow-up pages (comments, profiles read in a browser page) on a slow machine: an answer the page is still waiting
for is read however long it takes; a page with nothing in flight gives up after its idle time, as before.

Follow-up pages once waited a fixed ``4 × ADWATCH_PLAYWRIGHT_IDLE_SECONDS`` for their one answer: a slower comment or
profile answer was counted ``followup_empty`` and the post stored without its comments or bio. Here the page's events
reach the spider through the handlers its request names (as scrapy-playwright calls them), from stand-ins for
Playwright's request and response objects; the answer comes many idle periods after the page asked for it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any
from unittest.mock import MagicMock

import pytest
from scrapy.http import HtmlResponse, Request

from crawler.followups import CommentPage, Profile
from crawler.items import AdPost, Author
from crawler.platforms.douyin import DouyinSpider
from crawler.platforms.followup_pages import ANSWER_WAITS
from crawler.platforms.tieba import TiebaSpider
from crawler.platforms.xiaohongshu import XiaohongshuSpider
from crawler.platforms.zhihu import ZhihuSpider
from tests.platform_helpers import fixture, make_spider, stat

IDLE_SECONDS = 0.05
LATE = 5 * ANSWER_WAITS * IDLE_SECONDS  # far beyond the old fixed wait


@dataclass
class Frame:
    page: Any


@dataclass
class PageRequest:
    """What the spider reads of Playwright's Request."""

    url: str
    frame: Frame


@dataclass
class PageResponse:
    """What the spider reads of Playwright's Response."""

    url: str
    status: int
    frame: Frame
    body: str
    headers: dict[str, str] | None = None

    async def text(self) -> str:
        return self.body


def case(platform: str) -> tuple[Any, Request, str, str]:
    """A spider, one of its browser follow-up requests, the API answer's URL and body."""
    if platform == "douyin":
        s = make_spider(DouyinSpider, "https://www.douyin.com")
        video = AdPost(platform="douyin", post_id="7301", url="https://www.douyin.com/video/7301",
                       author=Author(id="1", url="https://www.douyin.com/user/MS4wLjABAAAAx"))
        return (s, s.profile_request(video), "https://www.douyin.com/aweme/v1/web/user/profile/other/?sec_user_id=x",
                fixture("douyin_profile_other.json"))
    if platform == "xiaohongshu":
        s = make_spider(XiaohongshuSpider, "https://www.xiaohongshu.com")
        note = AdPost(platform="xiaohongshu", post_id="66696f98000000000d00f289", url="https://x/1",
                      author=Author(id="5edae8f70000000001001608"), raw={"xsecToken": "ABtok="})
        return (s, s.comments_request(note), "https://edith.xiaohongshu.com/api/sns/web/v2/comment/page?note_id="
                "66696f98000000000d00f289&cursor=", fixture("xiaohongshu_comment_page.json"))
    if platform == "zhihu":  # the comment button is clicked first
        s = make_spider(ZhihuSpider, "https://www.zhihu.com")
        answer = AdPost(platform="zhihu", post_id="answer_3012345678", author=Author(id="a1"),
                        url="https://www.zhihu.com/question/591234567/answer/3012345678")
        return (s, s.comments_request(answer), "https://www.zhihu.com/api/v4/comment_v5/answers/3012345678/"
                "root_comment?order_by=score&limit=20&offset=", fixture("zhihu_root_comment.json"))
    s = make_spider(TiebaSpider, "https://tieba.baidu.com")
    thread = AdPost(platform="tieba", post_id="8912345678", url="https://tieba.baidu.com/p/8912345678",
                    author=Author(id="1", url="https://tieba.baidu.com/home/main?id=tb.1.4ac1e2f3"))
    return (s, s.profile_request(thread), "https://tieba.baidu.com/c/u/pc/userCard?portrait=tb.1.4ac1e2f3&sign=x",
            fixture("tieba_user_card.json"))


def follow_up(platform: str, late: float | None) -> tuple[Any, Any, MagicMock]:
    """Run a follow-up's callback on a page whose script sends its API request; its answer arrives ``late`` seconds
    later (None: the page sends nothing). Returns the spider, the callback's result and the page."""
    s, request, api, body = case(platform)
    s.cfg = replace(s.cfg, idle_seconds=IDLE_SECONDS)
    assert request.meta["playwright"] and request.meta["playwright_include_page"]
    page = MagicMock()
    page.close = MagicMock(side_effect=lambda: asyncio.sleep(0))
    page.click = MagicMock(side_effect=lambda *a, **k: asyncio.sleep(0))
    request.meta["playwright_page"] = page
    handlers = {event: getattr(s, name) for event, name in request.meta["playwright_page_event_handlers"].items()}
    response = HtmlResponse(request.url, body=b"<html></html>", request=request, encoding="utf-8")

    async def run() -> Any:
        if late is not None:
            handlers["request"](PageRequest(api, Frame(page)))  # sent while the page loaded
            handlers["request"](PageRequest("https://cdn.example/app.js", Frame(page)))  # not an API call
            loop = asyncio.get_running_loop()
            loop.call_later(late, lambda: loop.create_task(
                handlers["response"](PageResponse(api, 200, Frame(page), body, {"content-type": "application/json"}))))
        return await asyncio.wait_for(request.callback(response, **request.cb_kwargs), 60)

    return s, asyncio.run(run()), page


@pytest.mark.parametrize("platform", ["douyin", "xiaohongshu", "zhihu", "tieba"])
def test_an_answer_in_flight_slower_than_the_idle_time_is_read(platform: str) -> None:
    s, result, page = follow_up(platform, late=LATE)
    if isinstance(result, CommentPage):
        assert result.comments and all(c["text"] for c in result.comments)
    else:
        assert isinstance(result, Profile) and "anxin_2088" in (result.bio or "")
    assert stat(s, "followup_empty") is None and page.close.called and not s._xhr  # the page and its log are gone


@pytest.mark.parametrize("platform", ["douyin", "tieba"])
def test_a_page_with_nothing_in_flight_gives_up_after_its_idle_time(platform: str) -> None:
    s, result, page = follow_up(platform, late=None)
    assert result is None and stat(s, "followup_empty") == 1 and page.close.called and not s._xhr
