"""The operation report: one outfit's accounts, posts, contacts and every link with its evidence, plus a picture of
how they connect — for police referrals and platform escalation. HTML from ``operation.html.j2`` (autoescaped like
every report); the PDF is that page printed by Chromium (:class:`reports.formats.pdf.PdfPrinter`).

The graph is laid out with networkx (spring layout, fixed seed: the same operation draws the same way) and drawn
by the template as static SVG: node labels are scraped names, so they go through the same escaping as the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import networkx as nx

from pipelines.accounts import AccountBook
from pipelines.clues.book import ClueBook
from pipelines.detection import source_label
from pipelines.operations import Operation
from pipelines.store import SqliteStore
from reports.render import CATEGORY_LABELS, environment

SVG_SIZE = (760, 520)
MARGIN = 40
LINK_WORDS = {"contact": "same contact", "landing": "same landing link", "text": "near-duplicate text",
              "picture": "same picture", "author": "posted by", "repost": "reposts"}
COLOURS = {"weibo": "#e6162d", "douyin": "#111111", "bilibili": "#00a1d6", "xiaohongshu": "#ff2442",
           "kuaishou": "#ff4906", "zhihu": "#0066ff", "tieba": "#3385ff", "wechat": "#07c160"}


@dataclass
class RenderedOperation:
    html: Path
    pdf: Path | None


def graph_layout(op: Operation) -> dict[str, Any]:
    """Nodes (posts, accounts) with pixel positions and edges with their kind, for the template's SVG."""
    g = nx.Graph()
    for uid in op.posts:
        g.add_node(uid)
    for account in op.accounts:
        g.add_node(f"account:{account}")
    for link in op.links:
        if g.has_node(link.a) and g.has_node(link.b):
            g.add_edge(link.a, link.b, kind=link.kind)
    pos = nx.spring_layout(g, seed=7, k=1.5 / max(1, len(g)) ** 0.5) if len(g) else {}
    xs = [p[0] for p in pos.values()] or [0.0]
    ys = [p[1] for p in pos.values()] or [0.0]
    w, h = SVG_SIZE

    def scale(v: float, lo: float, hi: float, size: int) -> float:
        return MARGIN + (size - 2 * MARGIN) * ((v - lo) / (hi - lo) if hi > lo else 0.5)

    nodes = []
    for node, (x, y) in pos.items():
        account = node.startswith("account:")
        platform = node.removeprefix("account:").split(":", 1)[0]
        nodes.append({"id": node, "x": round(scale(x, min(xs), max(xs), w), 1), "y": round(scale(y, min(ys), max(ys), h), 1),
                      "account": account, "colour": COLOURS.get(platform, "#777"), "label": node.removeprefix("account:")})
    at = {n["id"]: n for n in nodes}
    edges = [{"x1": at[a]["x"], "y1": at[a]["y"], "x2": at[b]["x"], "y2": at[b]["y"], "kind": d["kind"]}
             for a, b, d in g.edges(data=True)]
    return {"width": w, "height": h, "nodes": nodes, "edges": edges}


def operation_context(op: Operation, store: SqliteStore, accounts: AccountBook, clues: ClueBook | None,
                      now: datetime | None = None) -> dict[str, Any]:
    """Everything the template shows, from one operation and the store's posts and accounts."""
    posts = []
    for uid in op.posts:
        post = store.get(uid) or {"uid": uid, "platform": uid.split(":", 1)[0], "url": "", "text": "", "author": {}}
        detection = post.get("detection") or {}
        posts.append({"uid": uid, "platform": post.get("platform"), "url": post.get("url") or "",
                      "author": (post.get("author") or {}).get("name") or "", "text": post.get("text") or "",
                      "category": CATEGORY_LABELS.get(detection.get("category") or "", detection.get("category") or ""),
                      "score": detection.get("score"), "first_seen": post.get("first_seen") or "",
                      "contacts": [f"{c.get('kind')} {c.get('value')} ({source_label(str(c.get('source') or ''))})"
                                   for c in post.get("contacts") or [] if isinstance(c, dict)]})
    seen_accounts = clues.seen_by_accounts(op.accounts) if clues else {}
    seen_contacts = clues.seen_by_many([tuple(c.split(":", 1)) for c in op.contacts]) if clues else {}
    account_rows = []
    for key in op.accounts:
        a = accounts.get(key)
        account_rows.append({"key": key, "name": a.name if a else "", "url": a.url if a else "",
                             "bio": a.bio if a else "", "verified": a.verified if a else None,
                             "followers": a.followers if a else None, "posts": len(a.posts) if a else 0,
                             "flagged": len(a.flagged_posts) if a else 0, "score": a.score if a else 0.0,
                             "first_seen": a.first_seen if a else "", "seen_by": seen_accounts.get(key, 0)})
    contacts = [{"contact": c, "seen_by": seen_contacts.get(tuple(c.split(":", 1)), 0)} for c in op.contacts]
    links = [{"a": ln.a, "b": ln.b, "kind": LINK_WORDS.get(ln.kind, ln.kind), "value": ln.value,
              "evidence": _evidence(ln.kind, ln.value, ln.detail)} for ln in op.links]
    return {
        "op": {"id": op.id, "size": op.size, "platforms": op.platforms, "first_seen": op.first_seen,
               "last_seen": op.last_seen, "accounts": len(op.accounts),
               "seen_by": max([*seen_accounts.values(), *seen_contacts.values(), 0])},
        "posts": posts, "accounts": account_rows, "contacts": contacts, "links": links,
        "graph": graph_layout(op), "generated": (now or datetime.now(timezone.utc)).isoformat(timespec="seconds"),
    }


def _evidence(kind: str, value: str, detail: dict[str, Any]) -> str:
    if kind in ("contact", "landing"):
        where = [source_label(w) for w in (detail.get("where"), detail.get("where_other")) if w]
        return f"{value} — found in {' / '.join(where)}" if where else value
    if kind == "text":
        return f"estimated Jaccard similarity {detail.get('jaccard', value)} of the two texts (3-grams)"
    if kind == "picture":
        return f"pHash {value} vs {detail.get('other')}, {detail.get('distance')} bits apart"
    return value


def render_operation(op: Operation, store: SqliteStore, accounts: AccountBook, clues: ClueBook | None,
                     out_dir: str | Path, pdf_chromium: str | None = None) -> RenderedOperation:
    """Write ``<out_dir>/<op id>.html`` (and ``.pdf`` when a Chromium path is given)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    html = out / f"{op.id}.html"
    html.write_text(environment().get_template("operation.html.j2").render(
        **operation_context(op, store, accounts, clues)), encoding="utf-8")
    pdf = None
    if pdf_chromium:
        from reports.formats.pdf import PdfPrinter

        with PdfPrinter(pdf_chromium) as printer:
            pdf = printer.print(html, out / f"{op.id}.pdf", f"adwatch operation {op.id}")
    return RenderedOperation(html, pdf)
