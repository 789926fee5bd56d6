"""Normalise stage: HTML → text, control characters out, hashtags, timestamps to aware UTC+8, URLs absolute."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

from itemadapter import ItemAdapter
from scrapy.settings import BaseSettings
from w3lib.html import remove_tags, replace_entities

from crawler.utils import CN_TZ, parse_iso
from pipelines.base import Stage
from pipelines.textsafe import clean_text

_BR = re.compile(r"<br\s*/?>", re.I)
_IMG_ALT = re.compile(r"<img[^>]*\balt=[\"']?(\[[^\]\"'>]{1,12}\])[^>]*>", re.I)  # Weibo emoticons: alt=[doge]
_WEIBO_TAG = re.compile(r"#([^#\s]{1,40})#")
_HASH_TAG = re.compile(r"(?<![#\w])#([^\s#@，。！？,.!?]{1,30})(?=\s|$|[，。！？,.!?])")
_SPACES = re.compile(r"[ \t\u3000]+")


def html_to_text(value: str) -> str:
    """Platform HTML (Weibo's ``text``) to plain text; plain text passes through unchanged."""
    if "<" not in value and "&" not in value:
        return value.strip()
    value = _BR.sub("\n", value)
    value = _IMG_ALT.sub(r"\1", value)
    value = replace_entities(remove_tags(value))
    return "\n".join(_SPACES.sub(" ", line).strip() for line in value.splitlines()).strip()


def hashtags(text: str) -> list[str]:
    """``#话题#`` (Weibo) and ``#话题`` (Douyin, Xiaohongshu) forms, in order, without duplicates."""
    found = _WEIBO_TAG.findall(text) + _HASH_TAG.findall(_WEIBO_TAG.sub(" ", text))
    return list(dict.fromkeys(t.strip() for t in found if t.strip()))


def to_cn_time(value: Any) -> datetime | None:
    """Any timestamp (aware/naive datetime, epoch s or ms, ISO string) as an aware UTC+8 datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value / 1000 if value > 10**11 else value
        return datetime.fromtimestamp(seconds, CN_TZ)
    if isinstance(value, str):
        value = parse_iso(value)
    if isinstance(value, datetime):
        # A naive time from a Chinese platform is Beijing time, never UTC.
        return (value if value.tzinfo else value.replace(tzinfo=CN_TZ)).astimezone(CN_TZ)
    return None


def absolute_url(url: Any, base: str) -> str | None:
    """Protocol-relative (``//wx1.sinaimg.cn/…``) and path-only URLs made absolute; non-http(s) dropped."""
    if not isinstance(url, str) or not url.strip():
        return None
    url = url.strip()
    if url.startswith("//"):
        url = "https:" + url
    url = urljoin(base + "/", url)
    return url if url.startswith(("http://", "https://")) else None


class NormalizeStage(Stage):
    """Makes every post look the same whatever platform it came from."""

    name = "normalize"

    @classmethod
    def config_from_settings(cls, settings: BaseSettings) -> dict[str, str]:
        return dict(settings.getdict("PLATFORM_ORIGINS"))

    def html_text(self, platform: str) -> bool:
        """Whether this platform's spider says its texts are HTML (see ``PlatformSpider.html_text``)."""
        spider = self.crawler.spider if self.crawler else None
        return bool(getattr(spider, "html_text", False)) if getattr(spider, "name", None) == platform else False

    def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        platform = adapter["platform"]
        base = self.config.get(platform, "")
        text = adapter.get("text") or ""
        if self.html_text(platform):
            text = html_to_text(text)
            if adapter.get("title"):
                adapter["title"] = html_to_text(adapter["title"])
        adapter["text"] = text
        self.clean(adapter, platform)
        tags = list(adapter.get("hashtags") or [])
        adapter["hashtags"] = list(dict.fromkeys(tags + hashtags(adapter["text"])))
        for key in ("published_at", "captured_at"):
            if key in adapter.field_names():
                original = adapter.get(key)
                adapter[key] = to_cn_time(original)
                if original is not None and adapter[key] is None:
                    self.count(f"bad_time/{key}", platform=platform)
        adapter["url"] = absolute_url(adapter["url"], base) or adapter["url"]
        adapter["image_urls"] = [u for u in (absolute_url(u, base) for u in adapter.get("image_urls") or []) if u]
        for key in ("video_url", "cover_url"):
            if adapter.get(key):
                adapter[key] = absolute_url(adapter[key], base)
        author = adapter.get("author")
        if author is not None and getattr(author, "url", None):
            author.url = absolute_url(author.url, base)
        self.count("normalized", platform=platform)
        return item

    def clean(self, adapter: ItemAdapter, platform: str) -> None:
        """Drop control characters (NUL …) from every text that is shown or filed; the raw payload keeps them."""
        dirty = False

        def cleaned(value: Any) -> Any:
            nonlocal dirty
            if not isinstance(value, str):
                return value
            out = clean_text(value)
            dirty = dirty or out != value
            return out

        for key in ("text", "title", "keyword"):
            if key in adapter.field_names() and adapter.get(key):
                adapter[key] = cleaned(adapter[key])
        if adapter.get("hashtags"):
            adapter["hashtags"] = [cleaned(t) for t in adapter["hashtags"]]
        author = adapter.get("author")
        for key in ("id", "name"):
            if isinstance(author, dict) and author.get(key):
                author[key] = cleaned(author[key])
            elif getattr(author, key, None):
                setattr(author, key, cleaned(getattr(author, key)))
        if dirty:
            self.count("control_chars", platform=platform)
