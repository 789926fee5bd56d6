"""``scrapy add-url``: a link of each platform (and a share link that redirects) is stored with its evidence,
marked manual; an unknown link and a deleted post each give one clear line, exit 1, and touch nothing stored."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.store import SqliteStore
from reports.render import render_reports
from tests.conftest import PROJECT
from tests.simulator import Simulator
from tests.simulator.corpus import SimPost, build_corpus
from tests.simulator.platforms.wechat import WechatSite
from tests.simulator.platforms.wechat import stored_id as wechat_id
from tests.simulator.platforms.zhihu import ZhihuSite
from tests.simulator.platforms.zhihu import stored_id as zhihu_id

CORPUS = build_corpus()


def add_url(sim: Simulator, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update({"ADWATCH_DATA_DIR": str(data_dir), "PYTHONPATH": str(PROJECT), **sim.env()})
    return subprocess.run([sys.executable, "-m", "scrapy", "add-url", *args], cwd=PROJECT, env=env,
                          capture_output=True, text=True, timeout=300)


def image_ad(platform: str, kind: str | None = None) -> SimPost:
    return next(p for p in CORPUS[platform] if p.kind == "image" and (kind is None or ZhihuSite.kind(p) == kind))


def links_and_uids() -> list[tuple[str, str]]:
    weibo, douyin, tieba = image_ad("weibo"), image_ad("douyin"), image_ad("tieba")
    answer, article, wx = image_ad("zhihu", "answer"), image_ad("zhihu", "article"), image_ad("wechat")
    return [
        (f"https://m.weibo.cn/detail/{weibo.post_id}", weibo.uid),
        (f"https://www.douyin.com/video/{douyin.post_id}?previous_page=app_code_link", douyin.uid),
        (f"https://tieba.baidu.com/p/{tieba.post_id}?share=9105&fr=sharewise", tieba.uid),
        # Zhihu's share form: it redirects to the answer under its question.
        (f"https://www.zhihu.com/answer/{answer.post_id}", f"zhihu:{zhihu_id(answer)}"),
        (f"https://zhuanlan.zhihu.com/p/{article.post_id}", f"zhihu:{zhihu_id(article)}"),
        (f"https://mp.weixin.qq.com/s/{WechatSite.token(wx)}", f"wechat:{wechat_id(wx)}"),
    ]


@pytest.fixture(scope="module")
def added(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    data = tmp_path_factory.mktemp("add-url")
    with Simulator() as sim:
        proc = add_url(sim, data, *[link for link, _ in links_and_uids()])
    return proc, data


def test_a_link_of_each_platform_is_stored_with_its_evidence(added) -> None:
    proc, data = added
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == len(links_and_uids()) and all(line.startswith("adwatch: stored: ") for line in lines)
    store = SqliteStore(data / "adwatch.sqlite3")
    for link, uid in links_and_uids():
        doc = store.get(uid)
        assert doc is not None, (link, uid)
        assert doc["source"] == "manual" and doc["keyword"] is None
        assert doc["flagged"], (link, doc["detection"])
        assert any(o["source"].startswith("image:") for o in doc["ocr"])  # the pitch sits in the picture
        assert all(m.get("sha256") for m in doc["media"] if m["kind"] == "image")
        assert doc["raw_ref"].startswith("sha256:")
    assert store.count() == len(links_and_uids())


def test_the_report_says_the_post_was_added_by_hand(added, tmp_path: Path) -> None:
    _, data = added
    store = SqliteStore(data / "adwatch.sqlite3")
    complainant = {k: "x" for k in ("entity_name", "credit_code", "legal_representative", "business_licence")}
    complainant.update(agent={"name": "x", "authorization_letter": "x"}, contact={"name": "x", "phone": "x", "email": "x"})
    written = render_reports(list(store.iter_posts(flagged=True)), complainant, tmp_path)
    assert {r.platform for r in written} == {"weibo", "douyin", "tieba", "zhihu", "wechat"}
    for report in written:
        assert "人工提交链接" in report.path.read_text(encoding="utf-8")


def snapshot(data: Path) -> list[dict]:
    store = SqliteStore(data / "adwatch.sqlite3")
    try:
        return list(store.iter_posts())
    finally:
        store.close()


@pytest.mark.parametrize("case", ["unknown", "deleted"])
def test_unknown_link_or_deleted_post_is_one_line_and_touches_nothing(added, case: str) -> None:
    _, data = added
    before = snapshot(data)
    if case == "unknown":
        link, expect = "https://example.com/post/42", "adwatch: unknown: https://example.com/post/42 — no platform"
    else:
        gone = next(p for p in CORPUS["tieba"] if p.deleted)
        link, expect = f"https://tieba.baidu.com/p/{gone.post_id}", f"adwatch: gone: https://tieba.baidu.com/p/{gone.post_id}"
    with Simulator() as sim:
        proc = add_url(sim, data, link)
    assert proc.returncode == 1
    assert proc.stdout.strip().splitlines() == [proc.stdout.strip()]  # one line
    assert proc.stdout.startswith(expect), proc.stdout
    assert "Traceback" not in proc.stderr
    assert snapshot(data) == before


def test_links_from_a_file_and_a_mix_of_outcomes(tmp_path: Path) -> None:
    weibo_gone = next(p for p in CORPUS["weibo"] if p.deleted)
    wx = image_ad("wechat")
    links = tmp_path / "links.txt"
    links.write_text(f"# forwarded by a customer\n\nhttps://m.weibo.cn/detail/{weibo_gone.post_id}\n"
                     f"https://mp.weixin.qq.com/s?__biz={wx.author_id}&mid={wx.post_id}&idx=1&sn=x#rd\n"
                     "https://www.zhihu.com/people/someone\n", encoding="utf-8")
    with Simulator() as sim:
        proc = add_url(sim, tmp_path, "--file", str(links))
    lines = proc.stdout.strip().splitlines()
    assert proc.returncode == 1 and [line.split(":")[1].strip() for line in lines] == ["gone", "stored", "unknown"]
    assert "weibo:" in lines[0] and "deleted" in lines[0]
    assert SqliteStore(tmp_path / "adwatch.sqlite3").count() == 1
