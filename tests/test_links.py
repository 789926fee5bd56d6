"""The link registry: every spider's example links route to it alone; share links are followed on the platform's
own hosts only; links on the simulator's origins are read as the platforms' own."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from scrapy.spiderloader import SpiderLoader
from scrapy.utils.project import get_project_settings

from crawler.links import LinkRouter, UnknownLink

SETTINGS = get_project_settings()
SPIDERS = [SpiderLoader.from_settings(SETTINGS).load(n) for n in sorted(SpiderLoader.from_settings(SETTINGS).list())]
EXAMPLES = [(cls.name, url, post_id) for cls in SPIDERS for url, post_id in getattr(cls, "url_examples", ())]


def no_network(url: str) -> tuple[int, str | None]:
    raise AssertionError(f"asked the network for {url}")


def router(fetch=no_network, origins: dict[str, str] | None = None) -> LinkRouter:
    return LinkRouter(SPIDERS, origins or {}, SETTINGS.getdict("PLATFORM_REAL_ORIGINS"), fetch=fetch)


def test_every_platform_with_post_links_has_examples() -> None:
    owners = {cls.name for cls in SPIDERS if cls.url_patterns}
    assert {"weibo", "douyin", "zhihu", "tieba", "wechat"} <= owners
    assert owners == {name for name, _, _ in EXAMPLES}


@pytest.mark.parametrize(("platform", "url", "post_id"), EXAMPLES, ids=[f"{p}:{u}" for p, u, _ in EXAMPLES])
def test_each_example_is_claimed_by_its_platform_alone(platform: str, url: str, post_id: str) -> None:
    assert router().claims(url) == [(platform, post_id)]
    route = router().route(url)
    assert (route.platform, route.post_id, route.url) == (platform, post_id, url)


@pytest.mark.parametrize("url", [
    "https://example.com/p/8912345678", "https://m.weibo.cn.evil.example/detail/4890123456789012",
    "https://www.zhihu.com/people/xiufu", "ftp://tieba.baidu.com/p/1", "not a link",
    "https://tieba.baidu.com/p/8912345678.evil",
])
def test_foreign_and_non_post_links_are_unknown(url: str) -> None:
    fetched: list[str] = []

    def fetch(u: str) -> tuple[int, str | None]:
        fetched.append(u)
        return 200, None

    with pytest.raises(UnknownLink):
        router(fetch).route(url)
    hosts = {h for cls in SPIDERS for h in getattr(cls, "link_hosts", ())}
    assert all(urlsplit(u).hostname in hosts for u in fetched)  # only a platform's own host is ever asked


def test_short_links_are_followed_to_the_post() -> None:
    hops = {
        "https://v.douyin.com/iRNBho6u/": "https://www.iesdouyin.com/share/video/7312345678901234567/?region=CN",
        "http://t.cn/A6abCdEf": "https://m.weibo.cn/status/O9xYzAbCd",
        "https://www.zhihu.com/answer/3012345678": "/question/591234567/answer/3012345678",  # relative Location
    }
    r = router(lambda u: (302, hops[u]))
    assert r.route("https://v.douyin.com/iRNBho6u/").post_id == "7312345678901234567"
    assert (r.route("http://t.cn/A6abCdEf").platform, r.route("http://t.cn/A6abCdEf").post_id) == ("weibo", "O9xYzAbCd")
    assert r.route("https://www.zhihu.com/answer/3012345678").post_id == "answer/3012345678"


def test_redirects_off_the_platform_or_in_circles_stop() -> None:
    with pytest.raises(UnknownLink, match="redirects off douyin"):
        router(lambda u: (302, "https://evil.example/video/7312345678901234567")).route("https://v.douyin.com/x/")
    with pytest.raises(UnknownLink, match="redirects off douyin"):  # another platform's host is not douyin's
        router(lambda u: (302, "https://m.weibo.cn/detail/4890123456789012")).route("https://v.douyin.com/x/")
    with pytest.raises(UnknownLink, match="more than"):
        router(lambda u: (302, "https://v.douyin.com/x/")).route("https://v.douyin.com/x/")
    with pytest.raises(UnknownLink, match="HTTP 404"):
        router(lambda u: (404, None)).route("https://v.douyin.com/gone/")


def test_links_are_fetched_on_the_simulator_and_its_urls_read_as_real() -> None:
    sim = "http://127.0.0.1:40001"
    asked: list[str] = []

    def fetch(u: str) -> tuple[int, str | None]:
        asked.append(u)
        return 302, f"{sim}/question/591234567/answer/3012345678"

    r = router(fetch, {"zhihu": sim})
    route = r.route("https://www.zhihu.com/answer/3012345678?utm_psn=1")
    assert asked == [f"{sim}/answer/3012345678?utm_psn=1"]
    assert (route.platform, route.post_id) == ("zhihu", "answer/3012345678")
    assert r.claims(f"{sim}/p/671234567") == [("zhihu", "p/671234567")]
