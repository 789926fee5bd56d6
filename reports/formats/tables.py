"""The targets of one request as CSV and XLSX, for the bulk forms of complaint channels.

Scraped text is hostile here too: a cell that starts with ``=``, ``+``, ``-``, ``@`` (or a tab / carriage return) is
a formula to a spreadsheet that opens a CSV, so CSV cells get a leading apostrophe (OWASP's advice); XLSX cells are
written as strings explicitly (xlsxwriter never turns them into formulas or links), so they keep the text as it was.

Posts come first, one row each (目标类型 内容); then the accounts the request asks for (目标类型 账号), one row each:
the account's columns, its bio excerpt as the excerpt and its flagged posts (id and link) as the evidence.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import xlsxwriter

from pipelines.textsafe import display_text

# Excel's own limit for one cell; longer evidence text lives in the HTML/PDF request and the sealed package.
MAX_CELL = 32_000
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
COLUMNS: list[tuple[str, str]] = [
    ("序号", "index"), ("平台", "platform_label"), ("投诉类别（平台用语）", "category_wording"),
    ("内容ID", "post_id"), ("内容链接", "url"), ("账号名称", "author_name"), ("账号ID", "author_id"),
    ("账号链接", "author_url"), ("发布时间", "published_at"), ("取证时间 (UTC+8)", "captured_at"),
    ("违法类别", "category_label"), ("得分", "score"), ("命中词", "terms"), ("命中位置", "where"),
    ("联系方式", "contacts"), ("原始数据", "raw_ref"), ("证据文件 SHA-256", "evidence"), ("内容摘录", "excerpt"),
    ("目标类型", "kind"), ("账号的违规内容", "account_posts"),
]
POST, ACCOUNT = "内容", "账号"


def rows(platform: str, info: dict[str, str], targets: list[dict[str, Any]],
         accounts: Sequence[dict[str, Any]] = ()) -> list[list[str]]:
    """One row of plain strings per target, then one per account (reports/accounts.py), in :data:`COLUMNS` order."""
    flats = []
    for t in targets:
        flats.append({
            **t, "kind": POST, "category_wording": info["category_wording"], "score": f"{t['score']:.2f}",
            "terms": "、".join(t["terms"]), "where": "；".join(t["where"]),
            "contacts": _contacts(t["contacts"]), "evidence": "\n".join(f"{e['kind']}: {e['sha256']}" for e in t["evidence"]),
        })
    for a in accounts:
        flats.append({
            "kind": ACCOUNT, "category_wording": info["account_wording"], "author_name": a["name"],
            "author_id": a["account_id"], "author_url": a["url"], "category_label": "；".join(a["categories"]),
            "score": f"{a['score']:.2f}", "terms": "、".join(a["terms"]), "contacts": _contacts(a["contacts"]),
            "excerpt": a["bio_excerpt"], "account_posts": "\n".join(f"{p['post_id']} {p['url']}" for p in a["posts"]),
        })
    out = []
    for i, flat in enumerate(flats, 1):
        flat.update(index=str(i), platform_label=info["label"])
        # Spreadsheets show scraped text as every output does: no controls, invisible characters as ⟨U+XXXX⟩ marks.
        out.append([display_text(str(flat.get(key) or ""))[:MAX_CELL] for _, key in COLUMNS])
    return out


def _contacts(contacts: list[dict[str, str]]) -> str:
    return "；".join(f"{c['kind']}: {c['value']}" for c in contacts)


def inert_csv(value: str) -> str:
    """A CSV cell no spreadsheet will evaluate: formula starts get a leading apostrophe."""
    return "'" + value if value.startswith(FORMULA_START) else value


def write_csv(path: Path, platform: str, info: dict[str, str], targets: list[dict[str, Any]],
              accounts: Sequence[dict[str, Any]] = ()) -> Path:
    # UTF-8 with a BOM: Excel (what complaint desks open CSVs with) otherwise reads the Chinese as mojibake.
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_ALL)
        writer.writerow([label for label, _ in COLUMNS])
        for row in rows(platform, info, targets, accounts):
            writer.writerow([inert_csv(cell) for cell in row])
    return path


def write_xlsx(path: Path, platform: str, info: dict[str, str], targets: list[dict[str, Any]], batch_id: str,
               accounts: Sequence[dict[str, Any]] = ()) -> Path:
    workbook = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                               "strings_to_numbers": False})
    try:
        sheet = workbook.add_worksheet(f"{info['label']}"[:31])
        head = workbook.add_format({"bold": True, "bg_color": "#FFF4D6", "border": 1, "text_wrap": True})
        wrap = workbook.add_format({"text_wrap": True, "valign": "top"})
        for col, (label, key) in enumerate(COLUMNS):
            sheet.write_string(0, col, label, head)
            sheet.set_column(col, col, 60 if key == "excerpt" else 28 if key in ("url", "evidence", "account_posts") else 14)
        for r, row in enumerate(rows(platform, info, targets, accounts), 1):
            for col, cell in enumerate(row):
                sheet.write_string(r, col, cell, wrap)
        sheet.freeze_panes(1, 0)
        workbook.set_properties({"title": f"{info['label']} 投诉目标 · {batch_id}", "subject": "违法金融广告投诉"})
    finally:
        workbook.close()
    return path
