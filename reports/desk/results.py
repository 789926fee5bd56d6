"""What filing achieved, per platform and per batch: time from first seen to filed, takedown rate, median time to
removal, share still online after 7 days, re-emergence. Shown on the desk's dashboard (static SVG bars) and, when
Elasticsearch is configured, indexed as documents of their own (``<ADWATCH_ES_INDEX>-takedowns``) for Kibana."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from crawler.utils import parse_iso
from reports.desk.db import DeskDb


@dataclass
class Outcome:
    """One filed target and what became of it."""

    uid: str
    platform: str
    batch_id: str
    ticket: str
    first_seen: str
    filed_at: str
    removed_at: str | None  # the first check that found it gone
    last_state: str | None  # the latest check's answer: removed | online | error
    online_after: bool | None  # at the latest check made ≥ 7 days after filing (None: no such check yet)
    reemerged: bool

    @property
    def hours_seen_to_filed(self) -> float:
        return _hours(self.first_seen, self.filed_at)

    @property
    def hours_to_removal(self) -> float | None:
        return _hours(self.filed_at, self.removed_at) if self.removed_at else None


@dataclass
class Figures:
    """The figures of a group of filed targets (a platform, a batch, all)."""

    filed: int = 0
    removed: int = 0
    takedown_rate: float | None = None
    median_hours_seen_to_filed: float | None = None
    median_hours_to_removal: float | None = None
    checked_after_7d: int = 0
    online_after_7d: int = 0
    share_online_after_7d: float | None = None
    reemerged: int = 0
    reemergence_rate: float | None = None


def _hours(start: str, end: str) -> float:
    a, b = parse_iso(start), parse_iso(end)
    return (b - a).total_seconds() / 3600 if a and b else float("nan")


def _median(values: Iterable[float]) -> float | None:
    values = [v for v in values if v == v]  # NaN (unparsable time) left out
    return round(statistics.median(values), 4) if values else None


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def outcomes(db: DeskDb, still_online_after: timedelta) -> list[Outcome]:
    checks: dict[str, list[dict[str, Any]]] = {}
    for c in db.checks():
        checks.setdefault(c["uid"], []).append(c)
    again = {r["uid"] for r in db.reemergence()}
    limit = still_online_after.total_seconds()
    out = []
    for t in db.targets():
        if not t["filed_at"]:
            continue
        mine = sorted(checks.get(t["uid"], []), key=lambda c: c["checked_at"])
        removed = [c["checked_at"] for c in mine if c["state"] == "removed"]
        late = [c for c in mine if c["offset_s"] >= limit and c["state"] in ("removed", "online")]
        out.append(Outcome(
            uid=t["uid"], platform=t["platform"], batch_id=t["batch_id"], ticket=t["ticket"] or "",
            first_seen=t["first_seen"], filed_at=t["filed_at"], removed_at=removed[0] if removed else None,
            last_state=mine[-1]["state"] if mine else None,
            online_after=(late[-1]["state"] == "online") if late else None, reemerged=t["uid"] in again))
    return out


def figures(group: list[Outcome]) -> Figures:
    removed = [o for o in group if o.removed_at]
    late = [o for o in group if o.online_after is not None]
    online = sum(1 for o in late if o.online_after)
    again = sum(1 for o in group if o.reemerged)
    return Figures(
        filed=len(group), removed=len(removed), takedown_rate=_share(len(removed), len(group)),
        median_hours_seen_to_filed=_median(o.hours_seen_to_filed for o in group),
        median_hours_to_removal=_median(o.hours_to_removal or 0.0 for o in removed),
        checked_after_7d=len(late), online_after_7d=online, share_online_after_7d=_share(online, len(late)),
        reemerged=again, reemergence_rate=_share(again, len(group)))


def results(db: DeskDb, still_online_after: timedelta) -> dict[str, Any]:
    """``{"all": Figures, "platforms": {name: Figures}, "batches": {batch_id: Figures}, "outcomes": [...]}``."""
    done = outcomes(db, still_online_after)
    by_platform: dict[str, list[Outcome]] = {}
    by_batch: dict[str, list[Outcome]] = {}
    for o in done:
        by_platform.setdefault(o.platform, []).append(o)
        by_batch.setdefault(o.batch_id, []).append(o)
    return {"all": figures(done), "platforms": {k: figures(v) for k, v in sorted(by_platform.items())},
            "batches": {k: figures(v) for k, v in sorted(by_batch.items())}, "outcomes": done}


def bar_chart(groups: dict[str, Figures], series: tuple[tuple[str, str, str], ...], width: int = 640) -> dict[str, Any]:
    """Geometry of a grouped horizontal bar chart (drawn as static SVG by the template): one group per name,
    one bar per ``(field, label, colour)`` in ``series``."""
    top = max([1] + [int(getattr(f, key) or 0) for f in groups.values() for key, _, _ in series])
    bar, gap, label_w = 14, 10, 120
    rows, y = [], 24
    for name, figs in groups.items():
        rows.append({"kind": "group", "x": 4, "y": y + 10, "text": name})
        for key, label, colour in series:
            value = int(getattr(figs, key) or 0)
            rows.append({"kind": "bar", "x": label_w, "y": y, "w": round((width - label_w - 60) * value / top, 1),
                         "h": bar, "fill": colour, "text": f"{label} {value}"})
            y += bar + 2
        y += gap
    legend = [{"x": label_w + i * 130, "fill": colour, "text": label} for i, (_, label, colour) in enumerate(series)]
    return {"width": width, "height": y + 8, "rows": rows, "legend": legend}


COUNT_SERIES = (("filed", "已投诉", "#8aa4c8"), ("removed", "已删除", "#5aa469"),
                ("online_after_7d", "7天后仍在线", "#d9822b"), ("reemerged", "再次出现", "#c23b22"))


def documents(res: dict[str, Any]) -> list[dict[str, Any]]:
    """Elasticsearch documents: one per filed target (``kind: target``) and one per batch (``kind: batch``)."""
    docs = []
    for o in res["outcomes"]:
        docs.append({"_id": f"target:{o.uid}", "kind": "target", **asdict(o),
                     "hours_seen_to_filed": o.hours_seen_to_filed, "hours_to_removal": o.hours_to_removal})
    platform_of = {o.batch_id: o.platform for o in res["outcomes"]}
    for batch_id, figs in res["batches"].items():
        plain = asdict(figs)
        plain["reemerged_targets"] = plain.pop("reemerged")  # a target's "reemerged" is a yes/no
        docs.append({"_id": f"batch:{batch_id}", "kind": "batch", "batch_id": batch_id,
                     "platform": platform_of.get(batch_id), **plain})
    return docs


_KEYWORDS = ("kind", "uid", "platform", "batch_id", "ticket", "last_state")
_DATES = ("first_seen", "filed_at", "removed_at", "updated_at")
_INTS = ("filed", "removed", "checked_after_7d", "online_after_7d", "reemerged_targets")
_FLOATS = ("hours_seen_to_filed", "hours_to_removal", "takedown_rate", "median_hours_seen_to_filed",
           "median_hours_to_removal", "share_online_after_7d", "reemergence_rate")
MAPPING = {"dynamic": "strict", "properties": {
    **{k: {"type": "keyword"} for k in _KEYWORDS}, **{k: {"type": "date"} for k in _DATES},
    **{k: {"type": "integer"} for k in _INTS}, **{k: {"type": "float"} for k in _FLOATS},
    "online_after": {"type": "boolean"}, "reemerged": {"type": "boolean"}}}


def index_results(client: Any, index: str, res: dict[str, Any], now: datetime) -> int:
    """Index :func:`documents` into ``index`` (replacing earlier versions by id); returns how many were sent."""
    from elasticsearch import helpers

    stamp = now.isoformat(timespec="seconds")
    actions = [{"_index": index, "_id": d.pop("_id"), "_source": {**d, "updated_at": stamp}} for d in documents(res)]
    if actions:
        if not client.indices.exists(index=index):
            client.options(ignore_status=400).indices.create(index=index, mappings=MAPPING)  # 400: made meanwhile
        helpers.bulk(client, actions, refresh="wait_for")
    return len(actions)
