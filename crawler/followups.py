"""Follow-ups: a post's comments and its author's profile, fetched for the posts that need them.

A post is rarely the whole ad: the video says "主页有联系方式" and the WeChat id sits in the bio, or the pitch is a
pinned comment ("需要的滴滴我"). For a flagged post, and for a post whose text points at the profile or the comment
section, :class:`FollowupStage` (after detection) asks the post's spider for the platform's real requests
(``comments_request`` / ``profile_request``, None where a platform has none yet), sends them through the engine
(downloader middlewares apply: signatures, cookies, the browser), attaches what they return (``comments``;
``author.bio`` / ``verified`` / ``followers``) and runs detection again: bios and comments are sources of their own
("bio", "comment:N"), so their contacts join the post's evidence and a comment-only pitch flags the post.

Nothing is ever dropped here: a refusal goes to the spider's ``refused()`` (the one refusal policy), a failure is
counted and logged once, and the post goes on with what it had.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from dataclasses import dataclass, field
from typing import Any

from itemadapter import ItemAdapter
from scrapy.exceptions import CloseSpider, NotConfigured
from scrapy.http import Request
from scrapy.settings import BaseSettings
from scrapy.utils.defer import _schedule_coro
from twisted.python.failure import Failure

from crawler.platforms.base import PlatformSpider
from crawler.sessions.middleware import handled
from pipelines.base import Stage
from pipelines.detect import detection_sources, shared_detector
from pipelines.normalize import html_to_text
from pipelines.textsafe import clean_text

# Text that sends the reader to the profile (主页 / 简介 / 头像 …) or to the comment section (评论区 / 置顶 …).
POINTS_AT_PROFILE = re.compile(r"主页|简介|个人资料|头像|签名|看我资料|ip\s*页|home\s*page", re.I)
POINTS_AT_COMMENTS = re.compile(r"评论区|置顶|看评论|评论里|评论扣|扣\s*1|留言区|楼下|见评论", re.I)
MAX_COMMENT_TEXT = 2000  # a comment longer than this is cut (the rest adds nothing a detector needs)


@dataclass
class CommentPage:
    """One page of a post's comments, and the request for the next page (None at the end)."""

    comments: list[dict[str, Any]] = field(default_factory=list)
    next: Request | None = None


@dataclass
class Profile:
    """What an account's profile says about it."""

    bio: str | None = None
    verified: bool | None = None
    followers: int | None = None
    name: str | None = None


def wanted(adapter: ItemAdapter) -> set[str]:
    """Which follow-ups a post needs: both for a flagged post, else what its text points at."""
    if adapter.get("flagged"):
        return {"comments", "profile"}
    text = " ".join(str(adapter.get(k) or "") for k in ("title", "text")) + " " + str(adapter.get("ocr_text") or "")
    out = set()
    if POINTS_AT_PROFILE.search(text):
        out.add("profile")
    if POINTS_AT_COMMENTS.search(text):
        out.add("comments")
    return out


@dataclass(frozen=True)
class FollowupConfig:
    comment_pages: int  # pages of comments per post
    max_hops: int  # requests per follow-up (retries and a profile's second half included)
    threshold: float
    lexicon: str | None


class FollowupStage(Stage):
    """Fetch comments and the author's profile of posts that need them, then detect again with them."""

    name = "followups"

    @classmethod
    def config_from_settings(cls, settings: BaseSettings) -> FollowupConfig:
        if not settings.getbool("ADWATCH_FOLLOWUPS", True):
            raise NotConfigured("ADWATCH_FOLLOWUPS is off")
        return FollowupConfig(
            comment_pages=max(1, settings.getint("ADWATCH_COMMENT_PAGES", 1)),
            max_hops=max(1, settings.getint("ADWATCH_FOLLOWUP_HOPS", 4)),
            threshold=settings.getfloat("ADWATCH_DETECT_THRESHOLD", 0.5),
            lexicon=settings.get("ADWATCH_LEXICON") or None,
        )

    def open_spider(self) -> None:
        self.detector = shared_detector(self.config.threshold, self.config.lexicon)
        # One profile fetch per account per run, whoever asks first; the others wait for its answer.
        self._profiles: dict[str, asyncio.Future[Profile | None]] = {}

    async def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        spider = self.crawler.spider if self.crawler else None
        if not isinstance(spider, PlatformSpider) or adapter.get("reposted_from"):
            return item  # a repost inherits its original's decision; its original gets the follow-ups
        wants = wanted(adapter)
        if not wants or spider._blocked:
            return item
        platform = adapter["platform"]
        changed = False
        if "comments" in wants:
            changed |= await self._comments(spider, item, adapter, platform)
        if "profile" in wants:
            changed |= await self._profile(spider, item, adapter, platform)
        if changed:
            self._detect_again(adapter, platform)
        return item

    # --- comments ----------------------------------------------------------------------------------------
    async def _comments(self, spider: PlatformSpider, item: Any, adapter: ItemAdapter, platform: str) -> bool:
        request = spider.comments_request(item)
        if request is None:
            self.count("unsupported/comments", platform=platform)
            return False
        found: list[dict[str, Any]] = []
        for _ in range(self.config.comment_pages):
            page = await self.fetch(spider, request, platform, "comments")
            if not isinstance(page, CommentPage):
                break
            found.extend(page.comments)
            if page.next is None:
                break
            request = page.next
        if not found:
            return False
        html = spider.html_text
        adapter["comments"] = [self._clean_comment(c, html) for c in found]
        self.count("comments", len(found), platform=platform)
        self.count("posts_with_comments", platform=platform)
        return True

    @staticmethod
    def _clean_comment(comment: dict[str, Any], html: bool) -> dict[str, Any]:
        text = str(comment.get("text") or "")
        text = clean_text(html_to_text(text) if html else text)[:MAX_COMMENT_TEXT]
        author = comment.get("author") if isinstance(comment.get("author"), dict) else {}
        return {**comment, "text": text,
                "author": {k: clean_text(str(v)) for k, v in author.items() if v not in (None, "")}}

    # --- profile -----------------------------------------------------------------------------------------
    async def _profile(self, spider: PlatformSpider, item: Any, adapter: ItemAdapter, platform: str) -> bool:
        author = adapter.get("author")
        author_id = getattr(author, "id", None) if not isinstance(author, dict) else author.get("id")
        if not author_id:
            return False
        future = self._profiles.get(author_id)
        if future is None:
            future = self._profiles[author_id] = asyncio.get_running_loop().create_future()
            request = spider.profile_request(item)
            if request is None:
                self.count("unsupported/profile", platform=platform)
                future.set_result(None)
            else:
                result = await self.fetch(spider, request, platform, "profile")
                future.set_result(result if isinstance(result, Profile) else None)
                if isinstance(result, Profile):
                    self.count("profiles", platform=platform)
        profile = await asyncio.shield(future)
        if profile is None:
            return False
        bio = clean_text(html_to_text(profile.bio) if spider.html_text else profile.bio) if profile.bio else None
        for key, value in (("bio", bio), ("verified", profile.verified), ("followers", profile.followers)):
            if isinstance(author, dict):
                author[key] = value
            elif author is not None:
                setattr(author, key, value)
        return bool(bio)

    # --- shared ------------------------------------------------------------------------------------------
    async def fetch(self, spider: PlatformSpider, request: Request, platform: str, kind: str) -> Any:
        """Send ``request`` (and what its callback asks for next: a retry, a second half) and return what the last
        callback returned; None after a failure (counted, logged once) or a refusal (handed to the spider)."""
        assert self.crawler is not None and self.crawler.engine is not None
        for _ in range(self.config.max_hops):
            try:
                response = await self.crawler.engine.download_async(request)
                result = request.callback(response, **request.cb_kwargs) if request.callback else None
                if inspect.isawaitable(result):
                    result = await result
                handled(self.crawler, response)  # no spider middleware sees this response: tell the pool here
            except CloseSpider as exc:  # the refusal policy stopped the platform: as a callback's CloseSpider would
                self.count(f"refused/{kind}", platform=platform)
                _schedule_coro(self.crawler.engine.close_spider_async(reason=exc.reason or "cancelled"))
                return None
            except Exception as exc:  # a network error, a parser that met a shape it did not know
                await self._errback(request, exc)  # e.g. close the browser page a failed load left open
                self.count(f"failed/{kind}", platform=platform)
                self.warn_once(f"failed/{kind}", "%s: %s of %s failed (%r); the post is kept without it",
                               platform, kind, request.url, exc)
                return None
            if not isinstance(result, Request):
                return result
            request = result
        self.count(f"gave_up/{kind}", platform=platform)
        return None

    @staticmethod
    async def _errback(request: Request, exc: Exception) -> None:
        """Run ``request``'s errback, as the scheduler would: a page a failed browser load kept must be closed
        (a context holds only PLAYWRIGHT_MAX_PAGES_PER_CONTEXT of them)."""
        if request.errback is None:
            return
        failure = Failure(exc)
        failure.request = request  # type: ignore[attr-defined]  # what Scrapy's errbacks read
        try:
            result = request.errback(failure)
            if inspect.isawaitable(result):
                await result
        except Exception:  # an errback that fails must not turn a counted failure into a lost item
            pass

    def _detect_again(self, adapter: ItemAdapter, platform: str) -> None:
        was = bool(adapter.get("flagged"))
        old = adapter.get("detection") or {}
        result = self.detector.detect(detection_sources(adapter))
        detection = result.to_dict()
        if was and not result.flagged:
            # A victim's warning in the comments ("骗子，别信") must not clear an ad: keep the decision, add the
            # contacts the bio and comments gave.
            known = {(c.get("kind"), c.get("value")) for c in old.get("contacts") or []}
            extra = [c for c in detection["contacts"] if (c["kind"], c["value"]) not in known]
            detection = {**old, "contacts": list(old.get("contacts") or []) + extra}
            self.count("kept_flag", platform=platform)
        adapter["detection"] = detection
        adapter["contacts"] = detection["contacts"]
        adapter["flagged"] = was or result.flagged
        if result.flagged and not was:
            self.count("flagged_by_followup", platform=platform)
        sources = {c["source"].partition(":")[0] for c in detection["contacts"]}
        for source in sources & {"bio", "comment"}:
            self.count(f"contacts_from/{source}", platform=platform)
