"""DNS resolution that refuses non-public addresses: the last line of the media SSRF rule.

The media stage fetches only from the platform's CDN host names, but a name is only as good as what it resolves
to: a hostile or hijacked record (DNS rebinding) could point ``x.sinaimg.cn`` at 127.0.0.1 or 10.0.0.5. Every
name Scrapy resolves must therefore resolve to a global address, except the hosts of origins adwatch was told
to use (the simulator on 127.0.0.1, a platform origin on a private network).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import Any, Self
from urllib.parse import urlsplit

from scrapy.crawler import Crawler
from scrapy.resolver import CachingThreadedResolver
from twisted.internet.base import ReactorBase
from twisted.internet.defer import Deferred
from twisted.internet.error import DNSLookupError


def origin_hosts(origins: Iterable[str]) -> frozenset[str]:
    return frozenset(h.lower() for o in origins if o and (h := urlsplit(o).hostname))


def check_address(name: str, address: str, allowed: frozenset[str]) -> str:
    """``address`` if ``name`` may resolve to it; DNSLookupError for a non-public address of an unlisted name."""
    if name.lower() in allowed:
        return address
    try:
        ip = ipaddress.ip_address(address)
    except ValueError as exc:
        raise DNSLookupError(f"{name} resolved to {address!r}, not an IP address") from exc
    if not ip.is_global:
        raise DNSLookupError(f"{name} resolves to non-public address {address}: refused (SSRF / DNS rebinding)")
    return address


class PublicOnlyResolver(CachingThreadedResolver):
    """Scrapy's caching resolver, refusing names that resolve to loopback, private, link-local or reserved space."""

    def __init__(self, reactor: ReactorBase, cache_size: int, timeout: float, allowed: frozenset[str]) -> None:
        super().__init__(reactor, cache_size, timeout)
        self.allowed = allowed

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: ReactorBase) -> Self:
        s = crawler.settings
        cache_size = s.getint("DNSCACHE_SIZE") if s.getbool("DNSCACHE_ENABLED") else 0
        origins = [*s.getdict("PLATFORM_ORIGINS").values(), *s.getlist("ADWATCH_SIMULATOR_ORIGINS")]
        return cls(reactor, cache_size, s.getfloat("DNS_TIMEOUT"), origin_hosts(origins))

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> Deferred[str]:  # noqa: N802 - Twisted API
        d: Deferred[Any] = super().getHostByName(name, timeout)
        d.addCallback(lambda address: check_address(name, address, self.allowed))
        return d
