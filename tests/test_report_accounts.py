"""Accounts as takedown targets: a request asks for the accounts with several flagged posts to be dealt with, in the
platform's own wording, each with its profile and its posts as evidence — in the HTML, the CSV, the XLSX and the
12377 version; built by ``scrapy report``'s own function from a store and its account records."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from scrapy.settings import Settings

from crawler.commands.report import write_reports
from crawler.utils import CN_TZ
from pipelines.accounts import AccountBook
from pipelines.store import SqliteStore
from reports.formats import render_12377
from reports.render import load_complainant, request_accounts, target
from tests.test_reports import COMPLAINANT, post

REPEAT = {"id": "88", "name": "@安心法务", "url": "https://m.weibo.cn/u/88", "followers": 1200, "verified": False,
          "bio": "专业征信修复 <script>alert(1)</script> 加威 anxin_2088"}
ONCE = {"id": "77", "name": "路人甲", "url": "https://m.weibo.cn/u/77"}
DOUYIN = {"id": "MS4wLjABAAAA", "name": "上岸老师", "url": "https://www.douyin.com/user/MS4wLjABAAAA"}


def stored_posts() -> list[dict[str, Any]]:
    return [
        post("weibo", "21", author=REPEAT, published_at="2026-11-18T09:00:00+08:00"),
        post("weibo", "22", author=REPEAT, published_at="2026-11-19T09:00:00+08:00"),
        post("weibo", "23", author=REPEAT, contacts=[{"kind": "phone", "value": "13722224444"}]),
        post("weibo", "24", author=REPEAT, flagged=False, text="今天天气不错"),
        post("weibo", "31", author=ONCE),
        post("douyin", "41", author=DOUYIN, url="https://www.douyin.com/video/41"),
        post("douyin", "42", author=DOUYIN, url="https://www.douyin.com/video/42"),
    ]


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    data = tmp_path_factory.mktemp("report-accounts")
    store, book = SqliteStore(data / "adwatch.sqlite3"), AccountBook(data / "adwatch.sqlite3")
    for p in stored_posts():  # as the store and account stages of a sweep leave them
        store.upsert(p)
        book.record(p)
    store.close()
    book.close()
    settings = Settings({"ADWATCH_DATA_DIR": str(data), "ADWATCH_REPORT_FORMATS": ["csv", "xlsx"]})
    reports = write_reports(settings, complainant=str(COMPLAINANT), batch_id="B9")
    return {"data": data, "reports": {r.platform: r for r in reports}, "folder": data / "reports" / "B9"}


def _section(html: str, start: str, end: str) -> str:
    assert start in html, start
    return html.split(start, 1)[1].split(end, 1)[0]


def test_the_request_asks_for_the_repeat_account_with_its_posts(written: dict[str, Any]) -> None:
    weibo, douyin = written["reports"]["weibo"], written["reports"]["douyin"]
    assert (weibo.targets, weibo.accounts, douyin.targets, douyin.accounts) == (4, 1, 2, 1)
    html = weibo.path.read_text(encoding="utf-8")
    accounts = _section(html, "<h2>投诉账号</h2>", "<h2>声明</h2>")
    for needle in ("举报用户 - 发布违法信息（欺诈/违法金融）", "微博社区管理中心 · 举报用户", "《微博社区公约》", "封禁账号",
                   "账号ID</th><td>88<", "@安心法务", 'href="https://m.weibo.cn/u/88"', "加威 anxin_2088",
                   "wechat: zx8899", "phone: 13722224444", "1200", "未认证", "违规内容累计 3 条", "征信修复"):
        assert needle in accounts, needle
    # Its three flagged posts are the evidence, oldest first, each pointing at its entry among the targets.
    shown = [accounts.index(f"https://m.weibo.cn/detail/{n}") for n in (21, 22, 23)]
    assert shown == sorted(shown) and "detail/24" not in accounts
    assert accounts.count("见投诉目标第") == 3
    # One flagged post is a post complaint, not an account complaint.
    assert "路人甲" not in accounts and "路人甲" in html
    # The bio is scraped text: escaped like everything else.
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in accounts

    douyin_html = douyin.path.read_text(encoding="utf-8")
    accounts = _section(douyin_html, "<h2>投诉账号</h2>", "<h2>声明</h2>")
    for needle in ("举报账号 - 发布违法违规内容（违法金融/诈骗）", "《抖音社区自律公约》", "MS4wLjABAAAA",
                   "https://www.douyin.com/video/41", "https://www.douyin.com/video/42"):
        assert needle in accounts, needle


def test_csv_and_xlsx_carry_the_account_row(written: dict[str, Any]) -> None:
    with (written["folder"] / "takedown-weibo.csv").open(encoding="utf-8-sig", newline="") as fh:
        head, *body = list(csv.reader(fh))
    rows = [dict(zip(head, row)) for row in body]
    assert [r["目标类型"] for r in rows] == ["内容"] * 4 + ["账号"]
    account = rows[-1]
    assert account["账号ID"] == "88" and account["账号链接"] == "https://m.weibo.cn/u/88"
    assert account["账号名称"] == "'@安心法务"  # a formula start, neutralised as in every other row
    assert account["投诉类别（平台用语）"] == "举报用户 - 发布违法信息（欺诈/违法金融）"
    assert account["联系方式"] == "wechat: zx8899；phone: 13722224444"
    assert account["内容摘录"].startswith("专业征信修复 <script>")  # the bio excerpt, as text
    assert account["账号的违规内容"].split("\n") == [f"{n} https://m.weibo.cn/detail/{n}" for n in (21, 22, 23)]
    assert account["内容ID"] == "" and account["序号"] == "5"

    sheet = load_workbook(written["folder"] / "takedown-weibo.xlsx").active
    values = [[c.value for c in row] for row in sheet.iter_rows(min_row=1)]
    xlsx = dict(zip(values[0], values[-1]))
    assert xlsx["目标类型"] == "账号" and xlsx["账号ID"] == "88" and xlsx["账号名称"] == "@安心法务"
    assert "https://m.weibo.cn/detail/23" in xlsx["账号的违规内容"]
    assert all(c.data_type == "s" for c in list(sheet.iter_rows(min_row=len(values)))[0] if c.value)


def test_12377_version_lists_the_accounts(written: dict[str, Any], tmp_path: Path) -> None:
    store, book = SqliteStore(written["data"] / "adwatch.sqlite3"), AccountBook(written["data"] / "adwatch.sqlite3")
    try:
        posts = list(store.iter_posts(platform="weibo", flagged=True))
        targets = [target(p) for p in posts]
        asked = request_accounts(posts, targets, book)
    finally:
        store.close()
        book.close()
    out = render_12377("weibo", targets, load_complainant(COMPLAINANT), "B9", datetime(2026, 11, 21, tzinfo=CN_TZ),
                       tmp_path / "12377-weibo.html", asked)
    html = out.read_text(encoding="utf-8")
    accounts = _section(html, "五、举报账号", "六、真实性承诺")
    assert "举报用户 - 发布违法信息（欺诈/违法金融）" in accounts and "ID 88" in accounts
    assert all(f"https://m.weibo.cn/detail/{n}" in accounts for n in (21, 22, 23)) and "路人甲" not in accounts
    assert "&lt;script&gt;" in accounts and "<script>alert" not in html


def test_without_account_records_the_posts_speak_for_their_author() -> None:
    posts = [p for p in stored_posts() if p["platform"] == "weibo" and p["flagged"]]
    targets = [target(p) for p in posts]
    [asked] = request_accounts(posts, targets, None)
    assert asked["account_id"] == "88" and asked["bio_excerpt"] == REPEAT["bio"] and asked["flagged_total"] == 3
    assert asked["contacts"] == [{"kind": "wechat", "value": "zx8899"}, {"kind": "phone", "value": "13722224444"}]
    assert request_accounts(posts[:1] + posts[3:], targets, None) == []  # one post each: no account complaint
