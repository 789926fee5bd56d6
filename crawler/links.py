"""Post links → the spider that owns them: the registry behind ``scrapy add-url``.

Every spider declares the links it owns (``url_patterns``: regexes matched with ``re.fullmatch`` on the whole
URL, named group ``id``), the hosts its post links live on (``link_hosts``) and example links with the id each
must give (``url_examples``, yt-dlp's ``_TESTS``). A link no pattern claims, but on one of a platform's link hosts
(a share or short link: ``v.douyin.com/…``, ``t.cn/…``, ``zhihu.com/answer/{id}``), is followed through its
redirects — ``HEAD`` (``GET`` if refused), never reading a body, every hop on that platform's own hosts — until a
pattern claims it.

When a platform's origin points elsewhere (the simulator), its links are fetched there, and links on that origin
are read as links on the platform's real hosts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import urljoin, urlsplit

import urllib3
from scrapy.settings import BaseSettings

# (status, Location header or None) of one request that does not follow redirects.
Fetch = Callable[[str], tuple[int, str | None]]
REDIRECTS = (301, 302, 303, 307, 308)


@dataclass(frozen=True)
class Route:
    """Where a link leads: the owning platform and the post id its spider's ``post_request`` takes."""

    link: str  # as given
    url: str  # the link that a pattern claimed (after redirects)
    platform: str
    post_id: str


class UnknownLink(ValueError):
    """No platform claims the link (``why`` says what was tried)."""

    def __init__(self, link: str, why: str) -> None:
        super().__init__(f"{link}: {why}")
        self.link = link
        self.why = why


@dataclass(frozen=True)
class _Platform:
    name: str
    patterns: tuple[re.Pattern[str], ...]
    hosts: frozenset[str]
    origin: str | None  # the configured origin when it is not the real site (the simulator), else None


def head(url: str, timeout: float = 10.0) -> tuple[int, str | None]:
    """One ``HEAD`` (``GET`` when the host refuses ``HEAD``) without following redirects or reading a body."""
    http = urllib3.PoolManager(timeout=urllib3.Timeout(total=timeout), retries=False)
    for method in ("HEAD", "GET"):
        response = http.request(method, url, redirect=False, preload_content=False)
        try:
            if method == "HEAD" and response.status in (400, 403, 405, 501):
                continue
            return response.status, response.headers.get("Location")
        finally:
            response.release_conn()
    return 405, None


class LinkRouter:
    """Routes post links to platforms by the spiders' ``url_patterns``; follows share links' redirects."""

    def __init__(self, spiders: Iterable[type], origins: dict[str, str] | None = None,
                 real_origins: dict[str, str] | None = None, fetch: Fetch = head, max_hops: int = 5) -> None:
        origins, real_origins = origins or {}, real_origins or {}
        self.platforms: list[_Platform] = []
        for cls in spiders:
            patterns = tuple(re.compile(p) for p in getattr(cls, "url_patterns", ()))
            if not patterns:
                continue
            origin = (origins.get(cls.name) or "").rstrip("/")
            moved = origin if origin and origin != (real_origins.get(cls.name) or "").rstrip("/") else None
            self.platforms.append(_Platform(cls.name, patterns, frozenset(getattr(cls, "link_hosts", ())), moved))
        self.fetch = fetch
        self.max_hops = max_hops

    @classmethod
    def from_settings(cls, spider_loader: Any, settings: BaseSettings, fetch: Fetch = head) -> Self:
        spiders = [spider_loader.load(name) for name in sorted(spider_loader.list())]
        return cls(spiders, settings.getdict("PLATFORM_ORIGINS"), settings.getdict("PLATFORM_REAL_ORIGINS"), fetch)

    # --- matching (pure) ---------------------------------------------------------------------------------
    def claims(self, url: str) -> list[tuple[str, str]]:
        """Every ``(platform, id)`` whose patterns claim ``url`` (one at most, the registry test makes sure)."""
        found: list[tuple[str, str]] = []
        for platform in self.platforms:
            for candidate in self._as_real(platform, url):
                match = next((m for p in platform.patterns if (m := p.fullmatch(candidate))), None)
                if match:
                    found.append((platform.name, match["id"]))
                    break
        return found

    def _as_real(self, platform: _Platform, url: str) -> list[str]:
        """``url``, and when it is on the platform's moved origin, the same path on each of its real hosts."""
        if platform.origin and url.startswith(platform.origin + "/"):
            rest = url[len(platform.origin) :]
            return [url] + [f"https://{host}{rest}" for host in sorted(platform.hosts)]
        return [url]

    def _owner(self, url: str) -> _Platform | None:
        """The platform whose link hosts (or moved origin) ``url`` is on."""
        host = (urlsplit(url).hostname or "").lower()
        for platform in self.platforms:
            if host in platform.hosts or (platform.origin and url.startswith(platform.origin + "/")):
                return platform
        return None

    # --- routing -------------------------------------------------------------------------------------------
    def route(self, link: str) -> Route:
        """The platform and post id of ``link``, following redirects of share links; raises :class:`UnknownLink`."""
        url = link.strip()
        if urlsplit(url).scheme not in ("http", "https"):
            raise UnknownLink(link, "not an http(s) link")
        for hop in range(self.max_hops + 1):
            claims = self.claims(url)
            if len({name for name, _ in claims}) > 1:
                raise UnknownLink(link, f"claimed by several platforms: {claims}")
            if claims:
                return Route(link, url, *claims[0])
            owner = self._owner(url)
            if owner is None:
                raise UnknownLink(link, "no platform claims it" if hop == 0 else f"it redirects off the platforms ({url})")
            if hop == self.max_hops:
                break
            try:
                status, location = self.fetch(self._fetch_url(owner, url))
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                raise UnknownLink(link, f"{owner.name} link, unreachable ({type(exc).__name__})") from exc
            if status not in REDIRECTS or not location:
                raise UnknownLink(link, f"a {owner.name} link, but not to a post (HTTP {status})")
            nxt = urljoin(url, location)
            if self._owner(nxt) is not owner:  # never wander off the platform's own hosts
                raise UnknownLink(link, f"it redirects off {owner.name} ({nxt})")
            url = nxt
        raise UnknownLink(link, f"more than {self.max_hops} redirects")

    @staticmethod
    def _fetch_url(platform: _Platform, url: str) -> str:
        """Where to ask: the link itself, or the same path on the platform's moved origin (the simulator)."""
        if not platform.origin or url.startswith(platform.origin + "/"):
            return url
        parts = urlsplit(url)
        return platform.origin + (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
