"""Filing formats beside a platform's HTML takedown request: PDF (printed by Chromium), CSV and XLSX of the targets,
and the 12377 (网信办 涉企侵权举报) version of the request (HTML and PDF).

Entry point: :func:`write_formats`. Every format is built from :func:`reports.render.target`, so scraped text reaches
each of them through the same plain-string fields, and each format keeps it inert in its own way (HTML autoescape and
a CSP, JavaScript off while printing, spreadsheet cells written as strings, formula prefixes neutralised in CSV).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from crawler.utils import CN_TZ
from reports.formats.pdf import PdfPrinter
from reports.formats.tables import write_csv, write_xlsx
from reports.accounts import AccountLookup
from reports.render import environment, platform_info, request_accounts, target

ALL_FORMATS = ("pdf", "csv", "xlsx", "12377")


def render_12377(platform: str, targets: list[dict[str, Any]], complainant: dict[str, Any], batch_id: str,
                 now: datetime, out: Path, accounts: list[dict[str, Any]] | None = None) -> Path:
    """The request in the shape of the 12377 涉企侵权举报 form: facts and reasons, the reporter, the agent and the
    authorisation, every URL, the evidence, the accounts to be dealt with and the written guarantee."""
    info = platform_info(platform)
    html = environment().get_template("cac12377.html.j2").render(
        platform=platform, platform_label=info["label"], batch_id=batch_id,
        generated_at=now.isoformat(timespec="seconds"), complainant=complainant, targets=targets,
        accounts=accounts or [], account_wording=info["account_wording"])
    out.write_text(html, encoding="utf-8")
    return out


def write_formats(request_html: Path, posts: Iterable[dict[str, Any]], complainant: dict[str, Any], batch_id: str,
                  chromium: str, now: datetime | None = None, formats: Iterable[str] = ALL_FORMATS,
                  accounts: AccountLookup | None = None) -> dict[str, Path]:
    """Write the other formats of one platform's request ``takedown-<platform>.html`` beside it.

    ``posts`` are that request's posts (stored post dicts, one platform); ``accounts`` (an AccountBook) adds the
    records of the accounts the request asks for. Returns ``{format: path}``, with the keys ``pdf``, ``csv``,
    ``xlsx``, ``12377-html`` and ``12377-pdf`` for what was asked.
    """
    posts = [p for p in posts if p.get("flagged", True)]
    platform = request_html.stem.removeprefix("takedown-")
    now = (now or datetime.now(CN_TZ)).astimezone(CN_TZ)
    wanted = set(formats)
    targets = [target(p) for p in posts]
    asked = request_accounts(posts, targets, accounts)
    info = platform_info(platform)
    written: dict[str, Path] = {}
    folder = request_html.parent
    if "csv" in wanted:
        written["csv"] = write_csv(request_html.with_suffix(".csv"), platform, info, targets, asked)
    if "xlsx" in wanted:
        written["xlsx"] = write_xlsx(request_html.with_suffix(".xlsx"), platform, info, targets, batch_id, asked)
    if "12377" in wanted:
        written["12377-html"] = render_12377(platform, targets, complainant, batch_id, now,
                                             folder / f"12377-{platform}.html", asked)
    if "pdf" in wanted or "12377" in wanted:
        title = f"{info['label']} 违法广告投诉 · 批次 {batch_id}"
        with PdfPrinter(chromium) as printer:
            if "pdf" in wanted:
                written["pdf"] = printer.print(request_html, request_html.with_suffix(".pdf"), title)
            if "12377" in wanted:
                written["12377-pdf"] = printer.print(written["12377-html"], folder / f"12377-{platform}.pdf",
                                                     f"12377 涉企侵权举报 · {info['label']} · 批次 {batch_id}")
    return written
