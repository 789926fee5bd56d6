"""Render one takedown request per platform for a batch of flagged posts, from one context dict per report."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from crawler.utils import CN_TZ, parse_iso
from pipelines.textsafe import display_text
from reports.accounts import AccountLookup, account_targets

TEMPLATES = Path(__file__).with_name("templates")

# Per platform: where a post complaint goes and its category wording, and the same for an account complaint (the
# profile page's 举报 / 投诉 entry). The account wording follows each platform's report menu; verify it against the
# live form before filing (docs/takedown.md).
PLATFORMS: dict[str, dict[str, str]] = {
    "weibo": {"label": "微博", "channel": "微博社区管理中心 · 举报违法信息", "category_wording": "违法信息 - 欺诈/违法金融",
              "account_channel": "微博社区管理中心 · 举报用户（个人主页 · 举报）",
              "account_wording": "举报用户 - 发布违法信息（欺诈/违法金融）"},
    "douyin": {"label": "抖音", "channel": "抖音举报中心 · 违法违规", "category_wording": "违法违规 - 违法金融/诈骗",
               "account_channel": "抖音举报中心 · 举报账号（个人主页 · 举报）",
               "account_wording": "举报账号 - 发布违法违规内容（违法金融/诈骗）"},
    "bilibili": {"label": "哔哩哔哩", "channel": "哔哩哔哩违法和不良信息举报中心 · 稿件举报",
                 "category_wording": "违法违禁 / 赌博诈骗 - 违法金融广告",
                 "account_channel": "哔哩哔哩违法和不良信息举报中心 · 用户举报（UP主空间 · 举报）",
                 "account_wording": "举报用户 - 违法违禁 / 诈骗（违法金融广告）"},
    "xiaohongshu": {"label": "小红书", "channel": "小红书举报中心 · 涉企不实信息侵权举报专区 / 违法金融举报",
                    "category_wording": "违法违规 - 违法金融（涉企不实信息）",
                    "account_channel": "小红书举报中心 · 举报用户（个人主页 · 举报）",
                    "account_wording": "举报用户 - 违法违规（违法金融 / 假借企业名义）"},
    "kuaishou": {"label": "快手", "channel": "快手举报中心 · 违法违规举报", "category_wording": "违法违规 - 非法金融/诈骗",
                 "account_channel": "快手举报中心 · 举报用户（个人主页 · 举报）",
                 "account_wording": "举报用户 - 违法违规（非法金融/诈骗）"},
    "zhihu": {"label": "知乎", "channel": "知乎举报中心 · 违法违规", "category_wording": "违法违规 - 诈骗/违法金融广告",
              "account_channel": "知乎举报中心 · 举报用户（个人主页 · 举报）",
              "account_wording": "举报用户 - 违法违规（诈骗/违法金融广告）"},
    "tieba": {"label": "百度贴吧", "channel": "百度贴吧投诉中心 · 违法信息举报", "category_wording": "违法信息 - 诈骗/违法广告",
              "account_channel": "百度贴吧投诉中心 · 举报用户（个人主页 · 举报）",
              "account_wording": "举报用户 - 发布违法信息（诈骗/违法广告）"},
    "wechat": {"label": "微信公众号", "channel": "微信公众平台 · 投诉举报（文章右上角 · 投诉）",
               "category_wording": "欺诈 - 违法金融/诈骗",
               "account_channel": "微信公众平台 · 投诉公众号（公众号主页 · 投诉）",
               "account_wording": "投诉公众号 - 欺诈（违法金融/诈骗）"},
}
DEFAULT_PLATFORM = {"channel": "平台举报中心", "category_wording": "违法金融", "account_channel": "平台举报中心 · 举报账号",
                    "account_wording": "举报账号 - 违法金融"}
SOURCE_LABELS = {"search": "关键词巡查发现", "manual": "人工提交链接"}
CATEGORY_LABELS = {
    "debt_relief": "债务减免 / 停息挂账",
    "credit_repair": "征信修复",
    "stop_collection": "停止催收 / 代理维权",
    "proxy_complaint": "非法代理投诉 / 代理退保",
    "loan_intermediary": "非法贷款中介",
}


def platform_info(platform: str) -> dict[str, str]:
    """The labels and complaint wordings of a platform (generic ones for a platform without its own)."""
    return PLATFORMS.get(platform) or {"label": platform, **DEFAULT_PLATFORM}


def safe_url(value: Any) -> str:
    """Only http(s) URLs become links: a scraped ``javascript:`` or ``data:`` URL is neutralised."""
    if isinstance(value, str) and urlsplit(value.strip()).scheme.lower() in ("http", "https"):
        return value.strip()
    return "#"


def environment() -> Environment:
    """The Jinja environment of every report and export: autoescaped, strict, and display-safe.

    ``finalize`` passes the value of every ``{{ … }}`` through :func:`~pipelines.textsafe.display_text` before
    it is escaped, so no template can forget it: control characters never reach a file, and bidi overrides and
    other invisible characters show as ``⟨U+202E⟩`` marks instead of silently reordering the evidence.
    """
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2", "xml"], default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=display_text,
    )
    env.filters["safe_url"] = safe_url
    return env


def load_complainant(path: str | Path) -> dict[str, Any]:
    with Path(path).open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    for key in ("entity_name", "credit_code", "legal_representative", "business_licence", "agent", "contact"):
        if key not in data:
            raise ValueError(f"complainant file {path} lacks {key!r} (see reports/complainant.example.yaml)")
    return data


def _where(match: dict[str, Any]) -> str:
    source = str(match.get("source") or "text")
    if source.startswith("image:"):
        return f"图片 {int(source.split(':', 1)[1]) + 1}：{match.get('term')}"
    if source.startswith("frame:"):
        return f"视频 {source.split(':', 1)[1]} 秒画面：{match.get('term')}"
    label = {"text": "正文", "title": "标题", "hashtags": "话题", "cover": "封面"}.get(source, source)
    return f"{label}：{match.get('term')}"


def _seconds(value: Any) -> str:
    """ISO 8601 to the second (what a complaint form takes); anything unparsable is shown as it is."""
    if not value:
        return ""
    when = parse_iso(str(value))
    return when.isoformat(timespec="seconds") if when else str(value)


def target(post: dict[str, Any]) -> dict[str, Any]:
    """One flagged post as the template's target: plain strings, nothing left for the template to guess."""
    detection = post.get("detection") or {}
    matches = [m for m in detection.get("matches") or [] if m.get("kind") == "category"]
    author = post.get("author") or {}
    excerpt = (post.get("text") or "")[:500]
    if post.get("ocr_text"):
        excerpt += "\n[图片/视频文字] " + post["ocr_text"][:500]
    return {
        "post_id": str(post["post_id"]),
        "url": post["url"],
        "author_name": author.get("name") or "",
        "author_id": author.get("id") or "",
        "author_url": author.get("url") or "",
        "published_at": _seconds(post.get("published_at")),
        "captured_at": _seconds(post.get("captured_at")),
        "category_label": CATEGORY_LABELS.get(detection.get("category") or "", detection.get("category") or "未分类"),
        "score": float(detection.get("score") or 0.0),
        "terms": sorted({m.get("term") for m in matches if m.get("term")}),
        "where": list(dict.fromkeys(_where(m) for m in matches)),
        "contacts": [{"kind": c.get("kind", ""), "value": c.get("value", "")} for c in post.get("contacts") or []],
        "raw_ref": post.get("raw_ref") or "",
        "source_label": SOURCE_LABELS.get(post.get("source") or "search", str(post.get("source"))),
        "evidence": [{"kind": m.get("kind") or "", "sha256": m["sha256"], "path": m.get("path") or ""}
                     for m in post.get("media") or [] if isinstance(m, dict) and m.get("sha256")],
        "excerpt": excerpt,
        "reposters": [],  # filled by group_reposts: the accounts that reposted this post
    }


def reposter(post: dict[str, Any]) -> dict[str, str]:
    """One repost as a line under its original: who reposted it, where, and what they added."""
    author = post.get("author") or {}
    return {"author_name": author.get("name") or "", "author_id": author.get("id") or "",
            "author_url": author.get("url") or "", "url": post["url"], "post_id": str(post["post_id"]),
            "published_at": _seconds(post.get("published_at")), "text": (post.get("text") or "")[:100]}


def group_reposts(posts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Targets of one platform: a repost of a flagged original in the batch is listed under it, not on its own."""
    targets = {f"{p['platform']}:{p['post_id']}": target(p) for p in posts if not p.get("reposted_from")}
    for post in posts:
        original = targets.get(str(post.get("reposted_from") or ""))
        if original is not None:
            original["reposters"].append(reposter(post))
        elif post.get("reposted_from"):
            targets[f"{post['platform']}:{post['post_id']}"] = target(post)
    return list(targets.values())


@dataclass(frozen=True)
class RenderedReport:
    platform: str
    path: Path
    targets: int
    accounts: int = 0  # accounts the request asks to be dealt with (reports/accounts.py)


def request_accounts(posts: list[dict[str, Any]], targets: list[dict[str, Any]],
                     accounts: AccountLookup | None) -> list[dict[str, Any]]:
    """The accounts one platform's request asks for, their evidence posts numbered as the request's targets."""
    numbers = {t["post_id"]: n for n, t in enumerate(targets, 1)}
    return account_targets(posts, accounts, target, numbers)


def render_reports(posts: Iterable[dict[str, Any]], complainant: dict[str, Any], out_dir: str | Path,
                   now: datetime | None = None, batch_id: str | None = None,
                   accounts: AccountLookup | None = None) -> list[RenderedReport]:
    """One HTML takedown request per platform for the flagged ``posts``, with the accounts it asks to be dealt
    with (their records from ``accounts``, e.g. an AccountBook, when given); returns what was written."""
    now = (now or datetime.now(CN_TZ)).astimezone(CN_TZ)
    batch_id = batch_id or now.strftime("AW-%Y%m%d-%H%M%S")
    flagged: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for post in posts:
        if post.get("flagged"):
            flagged[post["platform"]].append(post)
    env = environment()
    out = Path(out_dir) / batch_id
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for platform, found in sorted(flagged.items()):
        targets = group_reposts(found)
        asked = request_accounts(found, targets, accounts)
        info = platform_info(platform)
        template = f"{platform}.html.j2" if (TEMPLATES / f"{platform}.html.j2").exists() else "base.html.j2"
        html = env.get_template(template).render(
            platform=platform, platform_label=info["label"], channel=info["channel"],
            category_wording=info["category_wording"], account_channel=info["account_channel"],
            account_wording=info["account_wording"], batch_id=batch_id, generated_at=now.isoformat(timespec="seconds"),
            complainant=complainant, targets=targets, accounts=asked,
        )
        path = out / f"takedown-{platform}.html"
        path.write_text(html, encoding="utf-8")
        written.append(RenderedReport(platform, path, len(targets), len(asked)))
    return written
