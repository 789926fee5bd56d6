"""Weibo reposts (issue 20): the reposted original is a post of its own, the repost points at it and inherits its
decision; a deleted original is counted, never stored; reports list the reposting accounts beside the original."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from itemadapter import ItemAdapter
from scrapy.http import Request, TextResponse
from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.test import get_crawler

from crawler.items import AdPost
from crawler.platforms.weibo import WeiboSpider
from pipelines.es_schema import mappings, to_es_doc
from pipelines.reposts import RepostConfig, RepostStage
from pipelines.store import SqliteStore
from reports.render import render_reports
from tests.conftest import SweepRun
from tests.simulator.corpus import build_corpus

FIXTURES = Path(__file__).with_name("fixtures")
ORIGIN = "https://m.weibo.cn"
COMPLAINANT = {"entity_name": "某银行", "credit_code": "91", "legal_representative": "张三", "business_licence": "x",
               "agent": {"name": "李四", "authorization_letter": "y"}, "contact": {"name": "王五", "phone": "1", "email": "e"}}


def weibo() -> WeiboSpider:
    crawler = get_crawler(WeiboSpider, {"PLATFORM_ORIGINS": {"weibo": ORIGIN}})
    crawler.spider = crawler._create_spider(keywords="停息挂账")
    return crawler.spider


def test_saved_page_with_reposts() -> None:
    sp = weibo()
    request = sp.search_request("停息挂账", 1)
    body = (FIXTURES / "weibo_getindex_reposts.json").read_bytes()
    out = list(sp.parse_search(TextResponse(request.url, body=body, request=request, encoding="utf-8"),
                               keyword="停息挂账", page=1))
    posts = {p.post_id: p for p in out if isinstance(p, AdPost)}
    extends = [r for r in out if isinstance(r, Request) and "/statuses/extend" in r.url]
    # The originals of three reposts are posts of their own: the picture ad (reposted twice, emitted once here and
    # once more as its own card, which dedup drops), the video ad, and the long one (its full text fetched).
    assert [o.post_id for o in out if isinstance(o, AdPost)].count("5102938475610231") == 2
    image = posts["5102938475610231"]
    assert image.author.name == "上岸记小王" and len(image.image_urls) == 2 and image.reposted_from is None
    video = posts["5102938475610777"]
    assert video.video_url and video.video_url.startswith("https://f.video.weibocdn.com/") and video.cover_url
    assert [r.url for r in extends] == [f"{ORIGIN}/statuses/extend?id=5102938475610888"]
    assert extends[0].cb_kwargs["mblog"]["user"]["screen_name"] == "阿张法务"
    # Each repost is a post that points at its original; its own text is the bump.
    bump = posts["5102938475612002"]
    assert bump.text == "捞" and bump.reposted_from == "weibo:5102938475610777" and bump.author.name == "大刘2024"
    assert posts["5102938475612003"].reposted_from == "weibo:5102938475610888"
    assert posts["5102938475612005"].reposted_from == posts["5102938475612001"].reposted_from == "weibo:5102938475610231"
    # The deleted original ("抱歉，此微博已被作者删除。", user null) is counted, not stored; its repost is kept unlinked.
    assert "5102938475600001" not in posts
    assert posts["5102938475612004"].reposted_from is None
    assert posts["5102938475612004"].raw["retweeted_status"]["id"] == "5102938475600001"
    assert sp.crawler.stats.get_value("adwatch/weibo/repost_original_gone") == 1
    assert sp.crawler.stats.get_value("adwatch/weibo/repost_originals") == 3
    assert len(posts) == 10 + 1  # ten mblogs (the picture ad among them) + the video original


def item(post_id: str, flagged: bool = False, reposted_from: str | None = None) -> AdPost:
    detection = {"flagged": flagged, "category": "debt_relief" if flagged else None, "score": 0.9 if flagged else 0.0,
                 "explanation": "正文：停息挂账", "matches": [{"term": "停息挂账", "kind": "category", "source": "image:0"}]}
    return AdPost(platform="weibo", post_id=post_id, url=f"{ORIGIN}/detail/{post_id}", text="捞" if reposted_from else "",
                  flagged=flagged, detection=detection, reposted_from=reposted_from,
                  contacts=[{"kind": "wechat", "value": "shangan88"}] if flagged else [])


@pytest.fixture
def stage(tmp_path: Path) -> Iterator[RepostStage]:
    st = RepostStage(MemoryStatsCollector(get_crawler()), RepostConfig(wait_seconds=5.0, store=tmp_path / "s.sqlite3"))
    st.open_spider()
    yield st
    st.close_spider()


def test_repost_inherits_whichever_arrives_first(stage: RepostStage) -> None:
    async def run() -> list[AdPost]:
        early = asyncio.ensure_future(stage.process_item(item("2", reposted_from="weibo:1")))
        await asyncio.sleep(0.05)  # the repost waits: its original is still being OCR'd
        assert not early.done()
        await stage.process_item(item("1", flagged=True))
        late = await stage.process_item(item("3", reposted_from="weibo:1"))
        harmless = await stage.process_item(item("4"))
        of_harmless = await stage.process_item(item("5", reposted_from="weibo:4"))
        return [await early, late, harmless, of_harmless]

    early, late, _, of_harmless = asyncio.run(run())
    for repost in (early, late):
        assert repost.flagged and repost.detection["inherited_from"] == "weibo:1"
        assert repost.detection["category"] == "debt_relief" and repost.detection["matches"][0]["source"] == "image:0"
        assert repost.contacts == [{"kind": "wechat", "value": "shangan88"}]
    assert not of_harmless.flagged and "inherited_from" not in of_harmless.detection


def test_original_from_an_earlier_sweep_or_nowhere(stage: RepostStage, tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3")
    store.upsert(ItemAdapter(item("9", flagged=True)).asdict() | {"captured_at": None, "published_at": None})
    store.close()
    stage.config = RepostConfig(wait_seconds=0.05, store=tmp_path / "s.sqlite3")
    stored = asyncio.run(stage.process_item(item("10", reposted_from="weibo:9")))
    missing = asyncio.run(stage.process_item(item("11", reposted_from="weibo:404")))
    assert stored.flagged and stored.detection["inherited_from"] == "weibo:9"
    assert not missing.flagged and stage.stats.get_value("adwatch/reposts/original_unknown") == 1


def test_report_lists_reposters_beside_the_original(tmp_path: Path) -> None:
    from crawler.items import to_plain

    posts = [to_plain(item("1", flagged=True))]
    for n in (2, 3):
        repost = to_plain(item(str(n), flagged=True, reposted_from="weibo:1"))
        repost["author"] = {"id": f"7{n}", "name": f"转发号{n}<b>", "url": f"{ORIGIN}/u/7{n}"}
        posts.append(repost)
    [report] = render_reports(posts, COMPLAINANT, tmp_path)
    html = report.path.read_text(encoding="utf-8")
    assert report.targets == 1 and "转发账号（2）" in html
    assert "转发号2&lt;b&gt;" in html and f"{ORIGIN}/detail/3" in html


def test_index_carries_the_link() -> None:
    assert mappings()["properties"]["reposted_from"] == {"type": "keyword"}
    doc = to_es_doc({"platform": "weibo", "post_id": "2", "reposted_from": "weibo:1", "flagged": True})
    assert doc["reposted_from"] == "weibo:1"
    saved = (Path(__file__).parent.parent / "docs" / "kibana" / "adwatch.ndjson").read_text(encoding="utf-8")
    assert any("reposted_from" in json.loads(line)["attributes"].get("columns", []) for line in saved.splitlines())


@pytest.fixture
def repost_sweep(sweep_once: SweepRun) -> SweepRun:
    """The shared sweep of every platform: Weibo's corpus holds the reposts."""
    return sweep_once


def test_sweep_over_reposts(repost_sweep: SweepRun) -> None:
    corpus = build_corpus()["weibo"]
    by_id = {p.post_id: p for p in corpus}
    reposts = [p for p in corpus if p.kind == "repost"]
    store = repost_sweep.store()
    assert store.count(platform="weibo") == len([p for p in corpus if not p.deleted])  # originals stored once
    for repost in reposts:
        original = by_id[repost.extra["repost_of"]]
        doc = store.get(repost.uid)
        assert doc is not None and doc["text"] == repost.text.replace("[doge]", "[doge]")
        if original.deleted:
            assert doc["reposted_from"] is None and not doc["flagged"] and store.get(original.uid) is None
            continue
        assert doc["reposted_from"] == original.uid
        assert doc["flagged"] == original.is_ad, (repost.text, original.text[:30])
        if original.is_ad:
            assert doc["detection"]["inherited_from"] == original.uid
    image_repost = next(r for r in reposts if by_id[r.extra["repost_of"]].kind == "image")
    assert store.get(image_repost.uid)["flagged"]  # the pitch is only in the original's picture
    stat = lambda key: repost_sweep.stat("weibo", key)  # noqa: E731
    assert stat("adwatch/weibo/repost_original_gone") == 1
    assert repost_sweep.output.count("is deleted or hidden") == 1  # logged once
    assert stat("adwatch/reposts/inherited") == sum(by_id[r.extra["repost_of"]].is_ad for r in reposts)


def test_report_lists_the_reposters_of_an_ad(repost_sweep: SweepRun) -> None:
    corpus = build_corpus()["weibo"]
    ad = next(p for p in corpus if p.kind == "repost" and p.is_ad)
    original = next(p for p in corpus if p.post_id == ad.extra["repost_of"])
    reposters = [p for p in corpus if p.extra.get("repost_of") == original.post_id]
    [report] = list((repost_sweep.data_dir / "reports").glob("*/takedown-weibo.html"))
    html = report.read_text(encoding="utf-8")
    assert f"转发账号（{len(reposters)}）" in html
    assert all(f"/detail/{r.post_id}" in html and r.author_name in html for r in reposters)
