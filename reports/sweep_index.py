"""The first page a person opens after a sweep: ``<reports>/<batch>/index.html`` (and ``<reports>/index.html``).

It shows the per-platform summary, links to every platform's takedown request (and any other format written beside
it), the flagged posts with their thumbnails, and what went wrong (refusals, malformed responses, media and OCR
failures). Rendered through the reports' one Jinja environment: autoescaped, StrictUndefined, http(s)-only links.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from crawler.utils import CN_TZ
from reports.render import CATEGORY_LABELS, PLATFORMS, RenderedReport, environment

THUMB_KINDS = ("image", "cover", "frame")
# Extra files a platform's request may have beside its HTML, shown when present.
FORMATS = {".pdf": "PDF", ".csv": "CSV", ".xlsx": "XLSX"}


def _problems(platform: str, stats: dict[str, Any]) -> list[str]:
    """What went wrong on one platform, in words, from its crawl stats."""
    def get(key: str) -> int:
        return int(stats.get(key, 0) or 0)

    def total(word: str) -> int:
        prefix = f"adwatch/{platform}/"
        return sum(int(v) for k, v in stats.items() if isinstance(v, int) and k.startswith(prefix) and word in k)

    found = []
    blocked = [k.rsplit("/", 1)[-1] for k in stats if k.startswith(f"adwatch/{platform}/blocked/")]
    if blocked:
        found.append(f"平台已停止（{', '.join(blocked)}）：本次未完成，下次运行会继续")
    for label, n in (("拒绝/验证", total("refus")), ("格式错误的响应", get(f"adwatch/{platform}/malformed")),
                     ("媒体下载失败", get("adwatch/media/failed")), ("媒体被拒（非平台 CDN）", get("adwatch/media/blocked")),
                     ("OCR 失败", get("adwatch/ocr/failed")), ("错误日志", get("log_count/ERROR")),
                     ("放弃的请求", get(f"adwatch/{platform}/gave_up"))):
        if n:
            found.append(f"{label}：{n}")
    return found


def _thumbs(post: dict[str, Any], media_root: Path, page_dir: Path) -> list[str]:
    """Relative links from the page to the post's stored pictures (image, cover, video frames)."""
    out = []
    for m in post.get("media") or []:
        if isinstance(m, dict) and m.get("kind") in THUMB_KINDS and m.get("path") and not m.get("error"):
            path = media_root / m["path"]
            if path.exists():
                out.append(Path(os.path.relpath(path, page_dir)).as_posix())
    return out[:4]


def write_sweep_index(reports_root: Path, batch_id: str, record: dict[str, Any], reports: Iterable[RenderedReport],
                      flagged: Iterable[dict[str, Any]], media_root: Path, log_path: Path | None = None,
                      now: datetime | None = None) -> Path:
    """Write ``<reports_root>/<batch_id>/index.html`` and refresh ``<reports_root>/index.html``; returns the first."""
    page_dir = reports_root / batch_id
    page_dir.mkdir(parents=True, exist_ok=True)
    now = (now or datetime.now(CN_TZ)).astimezone(CN_TZ)
    requests = []
    for report in sorted(reports, key=lambda r: r.platform):
        others = [{"label": label, "href": report.path.with_suffix(ext).name}
                  for ext, label in FORMATS.items() if report.path.with_suffix(ext).exists()]
        others += [{"label": f"12377 版 {ext[1:].upper()}", "href": f"12377-{report.platform}{ext}"}
                   for ext in (".html", ".pdf") if (page_dir / f"12377-{report.platform}{ext}").exists()]
        requests.append({"platform": report.platform, "label": PLATFORMS.get(report.platform, {}).get("label", report.platform),
                         "href": report.path.name, "targets": report.targets, "formats": others})
    platforms = []
    for name, entry in sorted(record.items()):
        summary = entry.get("summary") or {}
        platforms.append({"name": name, "label": PLATFORMS.get(name, {}).get("label", name),
                          "summary": {k: summary.get(k) for k in ("seen", "flagged", "stored", "new", "duplicates")},
                          "state": f"已停止（{summary['blocked']}）" if summary.get("blocked") else (summary.get("finish_reason") or "?"),
                          "problems": _problems(name, entry.get("stats") or {})})
    posts = []
    for post in flagged:
        detection = post.get("detection") or {}
        author = post.get("author") or {}
        posts.append({"platform": post.get("platform") or "", "url": post.get("url") or "",
                      "post_id": str(post.get("post_id") or ""), "author": author.get("name") or "",
                      "category": CATEGORY_LABELS.get(detection.get("category") or "", detection.get("category") or ""),
                      "score": float(detection.get("score") or 0.0), "text": (post.get("text") or "")[:200],
                      "thumbs": _thumbs(post, media_root, page_dir)})
    env = environment()
    log = Path(os.path.relpath(log_path, page_dir)).as_posix() if log_path else ""
    page = page_dir / "index.html"
    page.write_text(env.get_template("sweep-index.html.j2").render(
        batch_id=batch_id, generated_at=now.isoformat(timespec="seconds"), platforms=platforms, requests=requests,
        posts=posts, log=log), encoding="utf-8")
    _write_root_index(reports_root, env)
    return page


def _write_root_index(reports_root: Path, env: Any) -> None:
    """``<reports>/index.html``: every sweep's page, the newest first."""
    batches = sorted((p.parent.name for p in reports_root.glob("*/index.html")), reverse=True)
    (reports_root / "index.html").write_text(
        env.get_template("sweeps.html.j2").render(batches=batches), encoding="utf-8")
