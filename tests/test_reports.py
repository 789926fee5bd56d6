"""Takedown reports: one per platform, every required field, and scraped text kept inert."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from jinja2 import UndefinedError

from reports.render import load_complainant, render_reports, safe_url

CN = timezone(timedelta(hours=8))
COMPLAINANT = Path(__file__).resolve().parent.parent / "reports" / "complainant.example.yaml"


def post(platform: str, post_id: str, **kw: object) -> dict:
    base = {
        "platform": platform, "post_id": post_id, "url": f"https://m.weibo.cn/detail/{post_id}", "flagged": True,
        "author": {"id": "99", "name": "小王", "url": "https://m.weibo.cn/u/99"},
        "text": "专业征信修复，加微信 zx8899", "captured_at": "2026-11-21T10:00:00+08:00", "raw_ref": "sha256:ab",
        "published_at": "2026-11-20T09:00:00.123456+08:00", "ocr_text": "",
        "detection": {"category": "credit_repair", "score": 0.91, "matches": [
            {"term": "征信修复", "kind": "category", "source": "text"},
            {"term": "停息挂账", "kind": "category", "source": "image:0"},
            {"term": "加V", "kind": "cta", "source": "frame:3.0"},
        ]},
        "contacts": [{"kind": "wechat", "value": "zx8899"}],
        "media": [{"kind": "image", "sha256": "c0ffee" * 10 + "abcd", "path": "c0/c0ffee.jpg"}, {"kind": "video"}],
    }
    base.update(kw)
    return base


def test_one_report_per_platform_with_the_required_fields(tmp_path: Path) -> None:
    posts = [post("weibo", "1"), post("weibo", "2"), post("douyin", "3"), post("weibo", "4", flagged=False)]
    written = render_reports(posts, load_complainant(COMPLAINANT), tmp_path,
                             now=datetime(2026, 11, 21, 12, 0, tzinfo=CN), batch_id="B1")
    assert {(r.platform, r.targets) for r in written} == {("weibo", 2), ("douyin", 1)}
    html = (tmp_path / "B1" / "takedown-weibo.html").read_text(encoding="utf-8")
    for needle in ("示例消费金融股份有限公司", "91500000XXXXXXXXXX", "https://m.weibo.cn/detail/1",
                   "https://m.weibo.cn/u/99", "2026-11-21T10:00:00+08:00", "2026-11-20T09:00:00+08:00", "征信修复", "图片 1：停息挂账",
                   "wechat: zx8899", "sha256:ab", "image: " + "c0ffee" * 10 + "abcd", "第一千一百九十五条", "批次 B1", "微博社区公约"):
        assert needle in html, needle
    assert "detail/4" not in html


def test_hostile_fields_are_escaped(tmp_path: Path) -> None:
    evil = post("weibo", "5", text="<script>alert(1)</script>\"'><img src=x onerror=alert(2)>",
                author={"id": "1", "name": "\"><svg onload=alert(3)>", "url": "javascript:alert(4)"},
                url="javascript:alert(5)")
    render_reports([evil], load_complainant(COMPLAINANT), tmp_path, batch_id="B2")
    html = (tmp_path / "B2" / "takedown-weibo.html").read_text(encoding="utf-8")
    assert "<script>alert" not in html and "<img src=x" not in html and "<svg" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="javascript:' not in html and 'href="#"' in html


def test_safe_url() -> None:
    assert safe_url("https://www.douyin.com/video/1") == "https://www.douyin.com/video/1"
    assert safe_url(" JavaScript:alert(1)") == "#" and safe_url("data:text/html,x") == "#" and safe_url(None) == "#"


def test_missing_field_fails_loudly(tmp_path: Path) -> None:
    with pytest.raises(UndefinedError):
        render_reports([post("weibo", "1")], {"entity_name": "x", "credit_code": "y", "legal_representative": "z",
                                               "business_licence": "b", "agent": {}, "contact": {}}, tmp_path)


def test_complainant_file_is_checked(tmp_path: Path) -> None:
    bad = tmp_path / "c.yaml"
    bad.write_text("entity_name: x\n", encoding="utf-8")
    with pytest.raises(ValueError, match="credit_code"):
        load_complainant(bad)
