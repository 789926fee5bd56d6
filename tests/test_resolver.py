"""The resolver refuses names that resolve to non-public addresses (DNS rebinding), except configured origins."""

from __future__ import annotations

import pytest
from scrapy.utils.test import get_crawler
from twisted.internet.error import DNSLookupError

from crawler.resolver import PublicOnlyResolver, check_address, origin_hosts

ALLOWED = origin_hosts(["http://127.0.0.1:8765", "https://m.weibo.cn", "", "http://sim.local:80"])


def test_origin_hosts() -> None:
    assert ALLOWED == {"127.0.0.1", "m.weibo.cn", "sim.local"}


@pytest.mark.parametrize("address", ["127.0.0.1", "10.0.0.5", "172.16.3.4", "192.168.1.1", "169.254.169.254",
                                     "::1", "fd00::1", "0.0.0.0", "100.64.0.1"])
def test_cdn_names_never_resolve_inward(address: str) -> None:
    with pytest.raises(DNSLookupError, match="non-public"):
        check_address("wx1.sinaimg.cn", address, ALLOWED)


def test_public_addresses_and_configured_origins_pass() -> None:
    assert check_address("wx1.sinaimg.cn", "49.7.37.60", ALLOWED) == "49.7.37.60"
    assert check_address("SIM.local", "192.168.0.7", ALLOWED) == "192.168.0.7"
    with pytest.raises(DNSLookupError):
        check_address("wx1.sinaimg.cn", "not-an-ip", ALLOWED)


def test_resolver_is_built_from_settings() -> None:
    from twisted.internet import reactor

    crawler = get_crawler(settings_dict={"PLATFORM_ORIGINS": {"weibo": "https://m.weibo.cn"},
                                         "ADWATCH_SIMULATOR_ORIGINS": ["http://127.0.0.1:9"]})
    resolver = PublicOnlyResolver.from_crawler(crawler, reactor)
    assert resolver.allowed == {"m.weibo.cn", "127.0.0.1"}
