"""Item model shared by spiders and pipelines.

Only ``platform``, ``post_id`` and ``url`` are mandatory; every other field has a
default and is read softly (``ItemAdapter(item).get(...)``) by the pipelines.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class Author:
    """The account that published a post."""

    id: str | None = None
    name: str | None = None
    url: str | None = None
    # From the account's profile page (fetched for flagged posts and posts pointing at 主页 / 简介; crawler/followups.py).
    bio: str | None = None
    verified: bool | None = None
    followers: int | None = None


@dataclass
class MediaAsset:
    """One downloaded media file (image, cover, video or video frame) kept as evidence."""

    url: str
    kind: str  # "image" | "cover" | "video" | "frame"
    index: int = 0  # position among the post's images (image k); frame number for frames
    path: str | None = None  # relative to MEDIA_STORE, content-addressed (sha256)
    sha256: str | None = None
    bytes: int | None = None
    mime: str | None = None
    timestamp: float | None = None  # seconds into the video, for frames
    error: str | None = None  # why the asset could not be used, if it could not
    phash: str | None = None  # 64-bit perceptual hash (hex) the OCR stage computed: "same picture" across posts


@dataclass
class AdPost:
    """A post found by searching a platform, plus what the pipelines learned about it."""

    platform: str
    post_id: str
    url: str
    author: Author = field(default_factory=Author)
    title: str = ""
    text: str = ""
    hashtags: list[str] = field(default_factory=list)
    image_urls: list[str] = field(default_factory=list)
    video_url: str | None = None
    cover_url: str | None = None
    published_at: datetime | None = None
    engagement: dict[str, int] = field(default_factory=dict)  # likes, comments, shares, views, collects
    keyword: str | None = None
    # How the post came in: "search" (a sweep found it) or "manual" (staff added its link: ``scrapy add-url``).
    source: str = "search"
    captured_at: datetime | None = None
    raw: Any = None  # the platform's payload for this post; archived by the store stage
    raw_ref: str | None = None  # "sha256:<hex>" of the archived raw payload
    reposted_from: str | None = None  # uid of the post this one reposts (Weibo 转发); it inherits its decision
    # The id the platform's result list shows for this post when it is not ``post_id`` (WeChat: Sogou's docid; the
    # article's own ids are only on its page): incremental sweeps recognise a listed post by it (pipelines/seen.py).
    listing_id: str | None = None
    # The first pages of the post's comments (flagged posts and posts pointing at 评论区; crawler/followups.py):
    # each {"id", "text", "author": {"id", "name"}, "likes", "pinned"?}; detection reads them as "comment:N".
    comments: list[dict[str, Any]] = field(default_factory=list)
    # Filled later by pipelines.
    media: list[MediaAsset] = field(default_factory=list)
    ocr: list[dict[str, Any]] = field(default_factory=list)  # {"source": "image:0", "text": ..., "lines": [...]}
    ocr_text: str = ""
    detection: dict[str, Any] | None = None
    contacts: list[dict[str, Any]] = field(default_factory=list)
    flagged: bool = False
    operation_id: str | None = None  # the operation (团伙) this post belongs to (pipelines/operations)

    @property
    def uid(self) -> str:
        """The id used everywhere (store, index, reports): ``platform:post_id``."""
        return f"{self.platform}:{self.post_id}"


@dataclass
class PostGone:
    """A post the platform no longer shows (deleted, private, not found), met while fetching it by its id."""

    platform: str
    post_id: str
    url: str
    reason: str  # "deleted" | "private" | "not_found" | …
    checked_at: datetime | None = None


def post_uid(platform: str, post_id: str) -> str:
    """``platform:post_id`` for code that holds an adapter rather than an AdPost."""
    return f"{platform}:{post_id}"


def to_plain(value: Any) -> Any:
    """Dataclasses, datetimes, lists and dicts → JSON-ready plain values (datetimes as ISO 8601)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    return value
