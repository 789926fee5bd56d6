"""Zhihu: the search page runs in a browser, whose script signs (``x-zse-96``) and fetches ``/api/v4/search_v3``.

Results are answers, articles and zvideos (``data[].object``); an answer's or article's pitch sits in its
``content`` HTML and the pictures inside it. A zvideo's playable file comes from ``/api/v4/zvideos/{id}`` (plain
JSON). Single posts (``scrapy add-url``): the answer / article page's ``js-initialData`` script, or the zvideo API.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import quote

from parsel import Selector
from scrapy.http import Request, Response

from crawler.followups import CommentPage, Profile
from crawler.items import AdPost, Author
from crawler.platforms.browser import BrowserSearchSpider, ResultPage, XhrAnswer
from crawler.platforms.followup_pages import FollowupPages
from crawler.utils import CN_TZ, as_int, counts, traverse

SEARCH_API = "/api/v4/search_v3"
COMMENT_API = "/api/v4/comment_v5/"
# The answer's / article's "N 条评论" button (which opens the comment panel and makes the page fetch its comments).
COMMENT_BUTTON = 'button.ContentItem-action:has-text("评论"), button.BottomActions-CommentBtn'
# Zhihu's "unhuman" interstitial (captcha) replaces a page when it suspects a bot.
UNHUMAN = "/account/unhuman"
RISK_CODE = 40362  # "您当前请求存在异常，暂时限制本次访问": the risk-control answer of the API (HTTP 403)
KINDS = ("answer", "article", "zvideo")


def pick(obj: Any, *keys: str) -> Any:
    """The first present key: API objects are snake_case, the pages' ``js-initialData`` entities camelCase."""
    if not isinstance(obj, dict):
        return None
    return next((obj[k] for k in keys if obj.get(k) not in (None, "")), None)


def content_images(html: str) -> list[str]:
    """Picture URLs inside ``content`` HTML: lazy images carry the real one in ``data-original``/``data-actualsrc``."""
    urls: list[str] = []
    for img in Selector(text=html or "<p></p>").css("img"):
        for attr in ("data-original", "data-actualsrc", "src"):
            url = (img.attrib.get(attr) or "").strip()
            if url.startswith(("http://", "https://", "//")) and "/equation?" not in url:
                if url not in urls:
                    urls.append(url)
                break
    return urls


def split_id(post_id: str) -> tuple[str, str]:
    """``answer_123`` / ``answer/123`` / ``p/123`` → ``(kind, id)``; a bare number is taken for an answer."""
    kind, _, num = post_id.replace("/", "_").rpartition("_")
    kind = {"p": "article", "": "answer"}.get(kind, kind)
    return kind, num


def epoch(value: Any) -> datetime | None:
    seconds = as_int(value)
    return datetime.fromtimestamp(seconds, CN_TZ) if seconds else None


class ZhihuSpider(FollowupPages, BrowserSearchSpider):
    """Searches www.zhihu.com in a real browser page and reads the results from its XHRs
    (the search loop, its waiting and resuming: :mod:`crawler.platforms.browser`)."""

    name = "zhihu"
    html_text = True
    xhr_paths = (SEARCH_API,)
    custom_settings = {**BrowserSearchSpider.custom_settings, "HTTPERROR_ALLOWED_CODES": [401, 403, 404]}
    url_patterns = (
        r"https?://(?:www\.)?zhihu\.com/question/\d+/(?P<id>answer/\d+)/?(?:[?#].*)?",
        r"https?://zhuanlan\.zhihu\.com/(?P<id>p/\d+)/?(?:[?#].*)?",
        r"https?://(?:www\.)?zhihu\.com/(?P<id>zvideo/\d+)/?(?:[?#].*)?",
    )
    # Hosts of Zhihu post links; a link on one of them that no pattern matches (``zhihu.com/answer/{id}``) is
    # followed through its redirects.
    link_hosts = ("www.zhihu.com", "zhihu.com", "zhuanlan.zhihu.com")
    url_examples = (
        ("https://www.zhihu.com/question/591234567/answer/3012345678", "answer/3012345678"),
        ("https://www.zhihu.com/question/591234567/answer/3012345678?utm_psn=1&utm_source=wechat_session",
         "answer/3012345678"),
        ("https://zhuanlan.zhihu.com/p/671234567", "p/671234567"),
        ("https://www.zhihu.com/zvideo/1712345678901234567", "zvideo/1712345678901234567"),
    )

    # --- search ----------------------------------------------------------------------------------------
    def search_request(self, keyword: str, page: int = 1) -> Request:
        return self.browser_request(f"{self.cfg.origin}/search?type=content&q={quote(keyword)}", self.parse_search,
                                    keyword=keyword)

    def page_refusal(self, response: Response) -> str | None:
        return "captcha" if UNHUMAN in response.url else None

    def refusal(self, answer: XhrAnswer, data: Any) -> str | None:
        # An answer that is not JSON is no verdict: the page script asks again by itself.
        return None if data is None else self.refusal_reason(answer.status, data)

    def read_page(self, data: Any, keyword: str) -> ResultPage | None:
        listed: list[str] = []
        results = list(self.results(data, keyword, listed))
        return ResultPage(results, traverse(data, "paging", "is_end", default=True) is not False, listed)

    @staticmethod
    def refusal_reason(status: int, data: Any) -> str | None:
        """``risk`` (403 with error 40362), ``login-wall`` (401), other API errors by status; None for results."""
        error = traverse(data, "error", expected=dict)
        if error is None and status < 400:
            return None
        if as_int((error or {}).get("code")) == RISK_CODE:
            return "risk"
        return "login-wall" if status == 401 else f"http-{status}"

    def results(self, data: Any, keyword: str | None, listed: list[str] | None = None) -> Iterator[AdPost | Request]:
        """Answers and articles as posts; zvideos as requests for their playable file; only those that are due
        (``is_due``), each listed one's stored id (``answer_…``) added to ``listed``. Ads, topics and the "related
        searches" boxes of the result list are skipped (deleted answers leave the search index)."""
        for entry in traverse(data, "data", expected=list) or []:
            if traverse(entry, "type") not in ("search_result", "zvideo"):
                continue
            obj = traverse(entry, "object", expected=dict) or {}
            kind = traverse(obj, "type")
            if kind not in KINDS:
                continue
            if not obj.get("id"):
                self.count("result_without_id")
                continue
            post_id = f"{kind}_{obj['id']}"
            if listed is not None:
                listed.append(post_id)
            if keyword is not None and not self.is_due(post_id, keyword):
                continue
            if kind == "zvideo":
                yield self.zvideo_request(str(obj["id"]), keyword)
            else:
                yield self.post(obj, keyword)

    # --- single posts ------------------------------------------------------------------------------------
    def post_request(self, post_id: str) -> Request:
        kind, num = split_id(post_id)
        if kind == "zvideo":
            return self.zvideo_request(num, None)
        # zhihu.com/answer/{id} redirects to the answer's page under its question.
        url = f"{self.host('zhuanlan')}/p/{num}" if kind == "article" else f"{self.cfg.origin}/answer/{num}"
        return Request(url, callback=self.parse_page, cb_kwargs={"kind": kind, "num": num})

    def parse_page(self, response: Response, kind: str, num: str) -> Iterator[Any]:
        """An answer or article page: the entity sits in the ``js-initialData`` script's ``initialState``."""
        if UNHUMAN in response.url:
            yield self.refused("captcha", response)
            return
        if response.status == 404:
            yield self.gone(f"{kind}_{num}", response.url, "deleted")
            return
        raw = response.css("script#js-initialData::text").get()
        try:
            state = json.loads(raw or "")
        except ValueError:
            if retry := self.retry(response.request, "malformed_page"):
                yield retry
            return
        entities = traverse(state, "initialState", "entities", expected=dict) or {}
        obj = traverse(entities, f"{kind}s", num, expected=dict)
        if obj is None:
            yield self.gone(f"{kind}_{num}", response.url, "not_found")
            return
        yield self.post({**obj, "type": kind}, None)

    def zvideo_request(self, num: str, keyword: str | None) -> Request:
        return Request(f"{self.cfg.origin}/api/v4/zvideos/{num}", callback=self.parse_zvideo,
                       cb_kwargs={"num": num, "keyword": keyword}, headers={"Accept": "application/json"})

    def parse_zvideo(self, response: Response, num: str, keyword: str | None) -> Iterator[Any]:
        if response.status == 404:
            yield self.gone(f"zvideo_{num}", f"{self.cfg.origin}/zvideo/{num}", "deleted")
            return
        data = self.load_json(response)
        if data is None:
            if retry := self.retry(response.request, "malformed_json"):
                yield retry
            return
        if reason := self.refusal_reason(response.status, data):
            yield self.refused(reason, response)
            return
        playlist = traverse(data, "video", "playlist", expected=dict) or {}
        video = next((u for q in ("ld", "sd", "hd", "fhd") if (u := traverse(playlist, q, "play_url"))), None)
        yield self.make_post(
            f"zvideo_{num}", f"{self.cfg.origin}/zvideo/{num}",
            author=self.author(pick(data, "author", "member")),
            title=data.get("title") or "", text=data.get("description") or "",
            video_url=video, cover_url=pick(data, "image_url", "cover_url"),
            published_at=epoch(pick(data, "published_at", "created_at")),
            engagement=counts(likes=data.get("voteup_count"), comments=data.get("comment_count"),
                              views=data.get("play_count")),
            keyword=keyword, raw=data,
        )

    # --- items -------------------------------------------------------------------------------------------
    def post(self, obj: dict[str, Any], keyword: str | None) -> AdPost:
        """An answer or article (search object or page entity) as a post; its text is the ``content`` HTML."""
        kind, num = obj.get("type"), obj.get("id")
        question = traverse(obj, "question", expected=dict) or {}
        if kind == "article":
            url, title = f"{self.host('zhuanlan')}/p/{num}", obj.get("title") or ""
        else:
            url = f"{self.cfg.origin}/question/{question.get('id')}/answer/{num}"
            title = pick(question, "name", "title") or obj.get("title") or ""
        content = obj.get("content") or obj.get("excerpt") or ""
        return self.make_post(
            f"{kind}_{num}", url, author=self.author(obj.get("author")), title=title, text=content,
            image_urls=content_images(content),
            published_at=epoch(pick(obj, "created_time", "createdTime", "created")),
            engagement=counts(likes=pick(obj, "voteup_count", "voteupCount"),
                              comments=pick(obj, "comment_count", "commentCount")),
            keyword=keyword, raw=obj,
        )

    def author(self, author: Any) -> Author:
        token = pick(author, "url_token", "urlToken")
        return self.make_author(pick(author, "id"), pick(author, "name"),
                                f"{self.cfg.origin}/people/{token}" if token else None)

    # --- follow-ups: the comment list (read in the browser), the author's people page ---------------------------
    # ``/api/v4/comment_v5/{answers|articles}/{id}/root_comment?order_by=score&limit=20`` is signed (x-zse-96) by the
    # page's own script, which calls it when the reader opens the comments: the answer / article page is loaded in
    # Chromium, its "N 条评论" button clicked, and that answer recorded. The people page ``/people/{url_token}`` is a
    # plain GET whose ``js-initialData`` holds the member (the same fields ``/api/v4/members/{url_token}`` answers,
    # without its signature): ``headline`` and ``description`` (the bio), ``followerCount``, ``badge``.
    followup_xhr_paths = (COMMENT_API,)

    def comments_request(self, post: AdPost) -> Request | None:
        kind, _ = split_id(post.post_id)
        if kind not in ("answer", "article"):
            return None
        return self.followup_page(post.url, self.parse_comments, click=COMMENT_BUTTON)

    async def parse_comments(self, response: Response) -> Any:
        gone = response.status == 404
        answer = await self.followup_answer(response, wait=UNHUMAN not in response.url and not gone)
        if UNHUMAN in response.url:
            return self.refused("captcha", response)
        if answer is None:
            return CommentPage() if gone else None
        try:
            data = json.loads(answer.body)
        except ValueError:
            data = None
        if reason := self.refusal_reason(answer.status, data):
            return self.refused(reason, response)
        comments = []
        for c in traverse(data, "data", expected=list) or []:
            for one in (c, *(traverse(c, "child_comments", expected=list) or [])) if isinstance(c, dict) else ():
                if isinstance(one, dict):
                    author = pick(pick(one, "author"), "member") or pick(one, "author") or {}  # v4 nested it
                    comments.append({"id": str(one.get("id") or ""), "text": one.get("content") or "",
                                     "author": {"id": str(pick(author, "id") or ""), "name": pick(author, "name")},
                                     "likes": as_int(one.get("like_count"), 0), "by_author": bool(one.get("is_author")),
                                     "pinned": bool(one.get("is_author_top")),
                                     "reply_to": None if one is c else c.get("id"),
                                     "published_at": as_int(one.get("created_time"))})
        return CommentPage(comments)  # further pages need scrolling the comment panel: the first is kept

    def profile_request(self, post: AdPost) -> Request | None:
        url = post.author.url
        if not url or "/people/" not in url:
            return None
        return Request(url, callback=self.parse_profile, dont_filter=True,
                       meta={"handle_httpstatus_list": [404]}, cb_kwargs={"token": url.rsplit("/", 1)[-1]})

    def parse_profile(self, response: Response, token: str) -> Any:
        if UNHUMAN in response.url:
            return self.refused("captcha", response)
        if response.status == 404:
            return None  # 该用户已注销 / never existed
        try:
            state = json.loads(response.css("script#js-initialData::text").get() or "")
        except ValueError:
            return self.retry(response.request, "malformed_page")
        users = traverse(state, "initialState", "entities", "users", expected=dict) or {}
        user = users.get(token) or next((u for u in users.values() if pick(u, "urlToken", "url_token") == token), None)
        if not isinstance(user, dict):
            return None
        bio = "\n".join(str(v) for v in (pick(user, "headline"), pick(user, "description")) if v)
        return Profile(bio=bio or None, name=pick(user, "name"),
                       verified=bool(pick(user, "badge") or traverse(user, "badgeV2", "title")),
                       followers=as_int(pick(user, "followerCount", "follower_count")))
