"""Xiaohongshu (web): notes found by the search page's own signed XHRs, read from each note's page.

The search API (``POST edith.xiaohongshu.com/api/sns/web/v1/search/notes``) needs x-s / x-t signatures computed by the
page's own script, so the spider loads ``/search_result?keyword=…`` in Chromium and records the answers the page
receives (see :mod:`crawler.platforms.browser`). A search card carries only the title and the cover; the pitch is
often only in the note's text or its pictures, so every note is then read from its page,
``/explore/{id}?xsec_token=…`` — a plain GET (no signature) whose ``window.__INITIAL_STATE__`` holds the whole note.
A note page is its own Scrapy request: retried, queued in JOBDIR, and read concurrently with the search.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from scrapy.http import Request, Response

from crawler.followups import CommentPage, Profile
from crawler.items import AdPost
from crawler.platforms.browser import BrowserSearchSpider, ResultPage, XhrAnswer
from crawler.platforms.followup_pages import FollowupPages
from crawler.utils import CN_TZ, as_int, counts, traverse

SEARCH_API = "/api/sns/web/v1/search/notes"
COMMENT_API = "/api/sns/web/v2/comment/page"
# Business codes of a refused API answer (HTTP 200): login expired, account risk, IP blocked, rate limited.
REFUSAL_CODES = {-100: "login-expired", 300011: "account-risk", 300012: "ip-blocked", 300013: "rate-limited"}
_STATE = re.compile(r"window\.__INITIAL_STATE__\s*=\s*(\{.*?\})\s*</script>", re.S)
# The state is a JS object literal, not JSON: bare ``undefined`` values appear where a field is unset.
_UNDEFINED = re.compile(r"(?<=[:\[,])undefined(?=[,}\]])")
_TOPIC = re.compile(r"#([^#\[\n]{1,40})\[话题\]#")


def initial_state(page: str) -> dict[str, Any] | None:
    """``window.__INITIAL_STATE__`` of a note page as a dict, or None when the page has none (or a broken one)."""
    match = _STATE.search(page)
    if not match:
        return None
    try:
        state = json.loads(_UNDEFINED.sub("null", match[1]))
    except ValueError:
        return None
    return state if isinstance(state, dict) else None


def picture_url(picture: Any) -> str | None:
    """A picture's default-size URL: the ``WB_DFT`` scene, else ``urlDefault``, else any URL it has."""
    scenes = traverse(picture, "infoList", expected=list) or []
    by_scene = {traverse(s, "imageScene"): traverse(s, "url", expected=str) for s in scenes}
    return by_scene.get("WB_DFT") or traverse(picture, "urlDefault", expected=str) or next(
        (u for u in by_scene.values() if u), None) or traverse(picture, "url", expected=str)


def stream_url(note: dict[str, Any]) -> str | None:
    """A video note's MP4: the first H.264 stream (every player can decode it), else H.265 / AV1."""
    for codec in ("h264", "h265", "av1"):
        for stream in traverse(note, "video", "media", "stream", codec, expected=list) or []:
            if url := traverse(stream, "masterUrl", expected=str) or traverse(stream, "backupUrls", 0, expected=str):
                return url
    return None


class XiaohongshuSpider(FollowupPages, BrowserSearchSpider):
    """Searches www.xiaohongshu.com in a real browser page; reads every note found from its own page."""

    name = "xiaohongshu"
    xhr_paths = (SEARCH_API,)
    url_patterns = (
        r"https?://(?:www\.)?xiaohongshu\.com/(?:explore|discovery/item)/(?P<id>[0-9a-f]{24})(?:[?#].*)?",
        r"https?://(?:www\.)?xiaohongshu\.com/user/profile/[0-9a-f]{24}/(?P<id>[0-9a-f]{24})(?:[?#].*)?",
    )
    # xhslink.com: the app's share links (followed through their redirects to the note page).
    link_hosts = ("www.xiaohongshu.com", "xiaohongshu.com", "xhslink.com")
    url_examples = (
        ("https://www.xiaohongshu.com/explore/64f1a2b3c4d5e6f708192a3b?xsec_token=AB12", "64f1a2b3c4d5e6f708192a3b"),
        ("https://www.xiaohongshu.com/discovery/item/64f1a2b3c4d5e6f708192a3b", "64f1a2b3c4d5e6f708192a3b"),
        ("https://www.xiaohongshu.com/user/profile/5e0f1a2b3c4d5e6f70819203/64f1a2b3c4d5e6f708192a3b",
         "64f1a2b3c4d5e6f708192a3b"),
    )

    def search_request(self, keyword: str, page: int = 1) -> Request:
        query = urlencode({"keyword": keyword, "source": "web_explore_feed"})
        return self.browser_request(f"{self.cfg.origin}/search_result?{query}", self.parse_search, keyword=keyword)

    def post_request(self, post_id: str, xsec_token: str = "") -> Request:
        """A note by its id. Without the ``xsec_token`` of a share link or search card the site will not show it."""
        return self.note_request(post_id, xsec_token, keyword=None, single=True)

    def note_request(self, note_id: str, xsec_token: str, keyword: str | None, single: bool = False) -> Request:
        query = urlencode({"xsec_token": xsec_token, "xsec_source": "pc_search"})
        return Request(
            f"{self.cfg.origin}/explore/{quote(note_id)}?{query}",
            callback=self.parse_note,
            cb_kwargs={"note_id": note_id, "keyword": keyword, "single": single},
            dont_filter=True,  # one per note and run by once(); see crawler/platforms/browser.py on resuming
            headers={"Referer": f"{self.cfg.origin}/search_result"},
        )

    def refusal(self, answer: XhrAnswer, data: Any) -> str | None:
        if answer.status in (461, 471):  # verification: the page shows a captcha
            return f"http-{answer.status}"
        code = as_int(traverse(data, "code"))
        return REFUSAL_CODES.get(code) if code is not None else None

    def read_page(self, data: Any, keyword: str) -> ResultPage | None:
        if not traverse(data, "success"):
            self.warn_once("api_error", "xiaohongshu: search answered code %s (%s) for %r", traverse(data, "code"),
                           traverse(data, "msg"), keyword)
            return None
        items = traverse(data, "data", "items", expected=list) or []
        listed: list[str] = []
        requests = list(self.note_requests(items, keyword, listed))
        return ResultPage(requests, not traverse(data, "data", "has_more"), listed)

    def note_requests(self, items: list[Any], keyword: str, listed: list[str] | None = None) -> Iterator[Request]:
        """A note page request per note card that is due (``is_due``), its id added to ``listed``; query suggestions
        and other non-note items are skipped. A card does not say whether its note was deleted: only its page does."""
        for item in items:
            if traverse(item, "model_type") != "note":
                continue
            note_id, token = traverse(item, "id", expected=str), traverse(item, "xsec_token", expected=str)
            if not note_id:
                self.count("card_without_id")
                continue
            if listed is not None:
                listed.append(note_id)
            if self.is_due(note_id, keyword) and self.once(note_id):
                yield self.note_request(note_id, token or "", keyword)

    def page_refusal(self, response: Response) -> str | None:
        """The site sent a page to a captcha or to its login instead of serving it."""
        path = urlsplit(response.url).path
        if path.startswith("/website-login/captcha"):
            return "captcha"
        if path.startswith("/login"):
            return "login-wall"
        return None

    def parse_note(self, response: Response, note_id: str, keyword: str | None, single: bool) -> Iterator[Any]:
        if refusal := self.page_refusal(response):
            yield self.refused(refusal, response)
            return
        path = urlsplit(response.url).path
        if path.startswith("/404"):  # deleted, or hidden by its author or the platform (-510000 / -510001)
            if single:
                yield self.gone(note_id, response.url, "deleted")
            else:
                self.count("deleted")
            return
        if path.startswith("/website-login/error"):
            # 300031 当前笔记暂时无法浏览: a missing or expired xsec_token as often as a hidden note; not proof of either.
            self.warn_once("unavailable", "xiaohongshu: note %s not shown (%s)", note_id, response.url)
            return
        note = traverse(initial_state(response.text), "note", "noteDetailMap", note_id, "note", expected=dict)
        if note is None:
            self.warn_once("malformed", "xiaohongshu: note page %s without its state", response.url)
            if retry := self.retry(response.request, "malformed_state"):
                yield retry
            return
        yield self.post(note, keyword)

    def post(self, note: dict[str, Any], keyword: str | None) -> AdPost:
        note_id = note.get("noteId")
        user_id = traverse(note, "user", "userId")
        pictures = [u for p in traverse(note, "imageList", expected=list) or [] if (u := picture_url(p))]
        video = stream_url(note) if note.get("type") == "video" else None
        stamp = as_int(note.get("time"))
        interact = traverse(note, "interactInfo", expected=dict) or {}
        return self.make_post(
            note_id,
            f"{self.cfg.origin}/explore/{note_id}",
            author=self.make_author(user_id, traverse(note, "user", "nickname"),
                                    f"{self.cfg.origin}/user/profile/{user_id}" if user_id else None),
            title=note.get("title") or "",
            text=_TOPIC.sub(r"#\1", note.get("desc") or ""),  # "#话题[话题]#" is how the page marks a topic
            hashtags=[t["name"] for t in traverse(note, "tagList", expected=list) or []
                      if isinstance(t, dict) and t.get("name")],
            # A video note's one picture is its cover; an image note's pictures are its content.
            image_urls=[] if video else pictures,
            video_url=video,
            cover_url=pictures[0] if video and pictures else None,
            published_at=datetime.fromtimestamp(stamp / 1000, CN_TZ) if stamp else None,
            engagement=counts(likes=interact.get("likedCount"), comments=interact.get("commentCount"),
                              shares=interact.get("shareCount"), collects=interact.get("collectedCount")),
            keyword=keyword,
            raw=note,
        )

    # --- follow-ups: the note page's comment list (read in the browser), the user page's profile ---------------
    # The comment API (``edith…/api/sns/web/v2/comment/page?note_id=&cursor=&xsec_token=``) is signed (x-s) by the
    # note page's own script, which calls it as soon as the note is shown: the note page is loaded in Chromium and
    # that answer recorded. The user page ``/user/profile/{user_id}`` is a plain GET whose ``__INITIAL_STATE__`` holds
    # ``user.userPageData`` (``basicInfo.desc`` = the bio, ``interactions[type=fans]``).
    followup_xhr_paths = (COMMENT_API,)

    def comments_request(self, post: AdPost) -> Request | None:
        token = traverse(post.raw, "xsecToken", expected=str)
        if not token:
            return None  # without its xsec_token the site shows no note (nor its comments)
        query = urlencode({"xsec_token": token, "xsec_source": "pc_search"})
        return self.followup_page(f"{self.cfg.origin}/explore/{quote(post.post_id)}?{query}", self.parse_comments)

    async def parse_comments(self, response: Response) -> Any:
        path = urlsplit(response.url).path
        refusal = self.page_refusal(response)
        answer = await self.followup_answer(response, wait=not refusal and not path.startswith(NO_NOTE))
        if refusal:
            return self.refused(refusal, response)
        if answer is None:
            return CommentPage() if path.startswith(NO_NOTE) else None
        try:
            data = json.loads(answer.body)
        except ValueError:
            data = None
        if reason := self.refusal(answer, data):
            return self.refused(reason, response)
        if not traverse(data, "success"):
            self.warn_once("followup_api_error", "xiaohongshu: comment page answered code %s (%s)",
                           traverse(data, "code"), traverse(data, "msg"))
            return None
        return CommentPage(comment_list(traverse(data, "data", "comments", expected=list) or []))

    def profile_request(self, post: AdPost) -> Request | None:
        user_id = post.author.id
        if not user_id:
            return None
        token = traverse(post.raw, "user", "xsecToken", expected=str)
        query = f"?{urlencode({'xsec_token': token, 'xsec_source': 'pc_note'})}" if token else ""
        return Request(f"{self.cfg.origin}/user/profile/{quote(user_id)}{query}", callback=self.parse_profile,
                       dont_filter=True, headers={"Referer": f"{self.cfg.origin}/explore/{post.post_id}"})

    def parse_profile(self, response: Response) -> Any:
        if refusal := self.page_refusal(response):
            return self.refused(refusal, response)
        state = initial_state(response.text)
        data = traverse(state, "user", "userPageData", expected=dict)
        if data is None:
            if state is None:
                return self.retry(response.request, "malformed_state")
            return None  # an account that is gone: the page's state has no userPageData
        info = traverse(data, "basicInfo", expected=dict) or {}
        fans = next((i.get("count") for i in traverse(data, "interactions", expected=list) or []
                     if isinstance(i, dict) and i.get("type") == "fans"), None)
        return Profile(bio=info.get("desc") or None, followers=as_int(fans), name=info.get("nickname"))


NO_NOTE = ("/404", "/website-login/error")  # where the site sends a note page it will not show


def comment_list(items: list[Any]) -> list[dict[str, Any]]:
    """The comments of one comment page, each followed by its first replies (the author answers there)."""
    out: list[dict[str, Any]] = []
    for c in items:
        if not isinstance(c, dict):
            continue
        for one in (c, *(s for s in traverse(c, "sub_comments", expected=list) or [] if isinstance(s, dict))):
            stamp = as_int(one.get("create_time"))
            out.append({"id": str(one.get("id") or ""), "text": one.get("content") or "",
                        "author": {"id": str(traverse(one, "user_info", "user_id") or ""),
                                   "name": traverse(one, "user_info", "nickname")},
                        "likes": as_int(one.get("like_count"), 0), "reply_to": None if one is c else c.get("id"),
                        "by_author": "is_author" in (one.get("show_tags") or []),
                        "published_at": stamp // 1000 if stamp else None})
    return out
