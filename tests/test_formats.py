"""Filing formats: the request printed to PDF by Chromium (CJK text, page numbers, pages rendered to pictures), CSV
and XLSX of the targets, the 12377 version; hostile scraped text inert in every one of them."""

from __future__ import annotations

import csv
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from PIL import Image

from crawler.utils import CN_TZ
from reports.formats import write_formats
from reports.render import load_complainant, render_reports
from tests.test_reports import COMPLAINANT, post

CHROMIUM = "/usr/bin/chromium"
# If the script ran, the page would say OWNED (the text itself only holds 'OWN'+'ED').
SCRIPT = "<script>document.body.innerHTML='OWN'+'ED'</script>"
FORMULA = '=HYPERLINK("http://evil.example/x","点我")'


def hostile_posts() -> list[dict]:
    big = "征信修复加微信 zx8899 " + "债" * (1 << 20)  # 1 MB of text
    return [
        post("weibo", "1"),
        post("weibo", "2", text=f"停息挂账 {SCRIPT} <a href=\"javascript:alert(1)\">点我</a>",
             author={"id": "7", "name": FORMULA, "url": "javascript:alert(2)"}),
        post("weibo", "3", text=big, contacts=[{"kind": "wechat", "value": "+cmd|' /C calc'!A0"}]),
        *[post("weibo", str(n)) for n in range(10, 40)],  # enough targets for several pages
    ]


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("formats")
    posts = hostile_posts()
    complainant = load_complainant(COMPLAINANT)
    now = datetime(2026, 11, 21, 12, 0, tzinfo=CN_TZ)
    [report] = render_reports(posts, complainant, out, now=now, batch_id="B1")
    files = write_formats(report.path, posts, complainant, "B1", CHROMIUM, now=now)
    return {"html": report.path, **files}


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("kind", ["pdf", "12377-pdf"])
def test_pdf_pages_render_with_cjk_text_and_page_numbers(written: dict[str, Path], kind: str, tmp_path: Path) -> None:
    pdf = written[kind]
    assert pdf.read_bytes().startswith(b"%PDF-")
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 2
    for page in pages:  # every page is a picture with something printed on it, not a blank sheet
        with Image.open(page) as im:
            lo, hi = im.convert("L").getextrema()
        assert hi - lo > 100
    text = pdf_text(pdf)
    assert "示例消费金融股份有限公司" in text and "91500000XXXXXXXXXX" in text
    flat = "".join(text.split())
    n = len(pages)
    assert f"第1页/共{n}页" in flat and f"第{n}页/共{n}页" in flat
    assert "https://m.weibo.cn/detail/39" in text  # the last target made it onto the pages
    if kind == "pdf":
        assert "举报违法金融广告" in text and "批次 B1" in text
    else:
        assert "涉企侵权举报" in text and "真实性承诺" in text and "授权委托书" in text and "李四" in text


@pytest.mark.parametrize("kind", ["pdf", "12377-pdf"])
def test_hostile_text_is_inert_in_the_pdf(written: dict[str, Path], kind: str) -> None:
    text = pdf_text(written[kind])
    assert "OWNED" not in text
    assert "<script>" in text.replace("\n", "")  # shown as the text it is
    assert FORMULA[:12] in text


def test_csv_targets_neutralise_formulas(written: dict[str, Path]) -> None:
    with written["csv"].open(encoding="utf-8-sig", newline="") as fh:
        table = list(csv.reader(fh))
    head, body = table[0], table[1:]
    assert head[:5] == ["序号", "平台", "投诉类别（平台用语）", "内容ID", "内容链接"]
    assert len(body) == 34 and body[0][4] == "https://m.weibo.cn/detail/1" and body[0][1] == "微博"
    # 33 posts, then the one account with several of them (the request asks for it: reports/accounts.py).
    assert [row[-2] for row in body] == ["内容"] * 33 + ["账号"]
    by_id = {row[3]: dict(zip(head, row)) for row in body}
    assert by_id["2"]["账号名称"] == "'" + FORMULA
    assert by_id["3"]["联系方式"] == "wechat: +cmd|' /C calc'!A0"  # not a formula start: left as it is
    for row in body:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), cell
    assert SCRIPT in by_id["2"]["内容摘录"]  # text stays text
    assert len(by_id["3"]["内容摘录"]) < 2000  # the 1 MB post is an excerpt, not the whole text


def test_xlsx_targets_are_strings_not_formulas(written: dict[str, Path]) -> None:
    sheet = load_workbook(written["xlsx"]).active
    values = [[c for c in row] for row in sheet.iter_rows(min_row=1)]
    assert values[0][0].value == "序号" and len(values) == 35
    for row in values:
        for cell in row:
            assert cell.data_type in ("s", "n") and cell.hyperlink is None, (cell.coordinate, cell.value)
    names = [row[5].value for row in values[1:]]
    assert FORMULA in names  # kept verbatim, as a string


def test_12377_html_carries_the_form_fields(written: dict[str, Path]) -> None:
    html = written["12377-html"].read_text(encoding="utf-8")
    for needle in ("涉企侵权举报", "统一社会信用代码", "91500000XXXXXXXXXX", "evidence/agent-id.jpg",
                   "evidence/authorization-letter.pdf", "重庆市渝北区示例路1号", "+86 10 0000 0000",
                   "https://m.weibo.cn/detail/1", "真实性承诺"):
        assert needle in html, needle
    assert "<script>document" not in html and "&lt;script&gt;" in html
    assert 'href="javascript:' not in html
