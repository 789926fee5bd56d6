"""Kibana saved objects for analysts (data view, saved searches, dashboard) and their import through the API.

The objects are built here, from the index's field names, and shipped as ``docs/kibana/adwatch.ndjson``
(``python -m crawler.kibana`` rewrites it; a test checks the two agree and that every field they name is in the
mapping). ``scrapy kibana-setup`` imports them with ``POST /api/saved_objects/_import?overwrite=true``.

The per-day chart is a Vega panel with its own Elasticsearch query, so its days are China days
(``time_zone: Asia/Shanghai``) whatever time zone the analyst's browser or Kibana's ``dateFormat:tz`` is in.
"""

from __future__ import annotations

import base64
import json
import ssl
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
NDJSON_PATH = PROJECT_DIR / "docs" / "kibana" / "adwatch.ndjson"
TIME_ZONE = "Asia/Shanghai"
CORE_VERSION = "8.8.0"  # coreMigrationVersion: Kibana migrates older objects on import, never newer ones


def _id(name: str) -> str:
    """Stable ids, so a second import overwrites instead of duplicating."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"adwatch:{name}"))


DATA_VIEW_ID = _id("data-view")
_INDEX_REF = "kibanaSavedObjectMeta.searchSourceJSON.index"


@dataclass(frozen=True)
class SavedSearch:
    key: str
    title: str
    description: str
    kql: str
    columns: tuple[str, ...]
    sort: tuple[tuple[str, str], ...]


SAVED_SEARCHES = (
    SavedSearch("flagged-by-platform", "adwatch: flagged ads by platform",
                "Every post the detector flagged, grouped by platform (sort), newest first.",
                "flagged : true",
                ("platform", "detection.category", "detection.score", "author.name", "text", "contact_values", "url"),
                (("platform", "asc"), ("published_at", "desc"))),
    SavedSearch("image-only", "adwatch: image-only ads",
                "Flagged posts whose service terms appear only in images, covers or video frames (OCR), "
                "the ads text moderation misses.",
                "image_only : true",
                ("platform", "evidence_sources", "ocr_text", "contact_values", "author.name", "url"),
                (("published_at", "desc"),)),
    SavedSearch("top-contacts", "adwatch: posts with contacts",
                "Flagged posts that carry a WeChat / QQ / phone / Telegram / URL contact; the dashboard ranks them.",
                "flagged : true and contact_values : *",
                ("contact_values", "contacts.kind", "platform", "author.name", "detection.category", "url"),
                (("published_at", "desc"),)),
    SavedSearch("new-accounts", "adwatch: ads from new accounts",
                "Flagged posts from accounts adwatch first saw in the last 7 days.",
                "flagged : true and author_first_seen >= now-7d",
                ("author.name", "author.id", "author_first_seen", "platform", "detection.category", "url"),
                (("author_first_seen", "desc"),)),
    SavedSearch("reposters", "adwatch: accounts reposting flagged ads",
                "Reposts of flagged posts (Weibo 转发), grouped by the original they amplify: filter reposted_from "
                "on one original's uid to list its reposting accounts.",
                "flagged : true and reposted_from : *",
                ("reposted_from", "author.name", "author.id", "platform", "text", "url"),
                (("reposted_from", "asc"), ("published_at", "desc"))),
    SavedSearch("operations", "adwatch: posts of operations (团伙)",
                "Flagged posts linked into operations (same contact, reworded script, same picture, same landing "
                "link across accounts and platforms), grouped by operation: `scrapy operations ID` writes its report.",
                "flagged : true and operation_id : *",
                ("operation_id", "platform", "author.name", "contact_values", "text", "url"),
                (("operation_id", "asc"), ("published_at", "desc"))),
    SavedSearch("seen-by-members", "adwatch: posts other members hold clues of",
                "Posts sharing a contact, account or landing link with another institution (clue matching, "
                "`scrapy clues match`): seen_by_members counts the members, clue_matches.kind says which clues.",
                "seen_by_members >= 1",
                ("seen_by_members", "clue_matches.kind", "platform", "author.name", "contact_values", "url"),
                (("seen_by_members", "desc"), ("published_at", "desc"))),
)


@dataclass(frozen=True)
class TermsPanel:
    """An aggregation-based table / pie of the top values of one field over flagged posts."""

    key: str
    title: str
    vis_type: str  # "table" | "pie"
    field: str
    size: int = 20


TERMS_PANELS = (
    TermsPanel("categories", "adwatch: categories", "pie", "detection.category", 10),
    TermsPanel("top-contacts", "adwatch: top contacts", "table", "contact_values", 25),
    TermsPanel("top-accounts", "adwatch: top accounts", "table", "author.name.keyword", 25),
)


def per_day_query(index: str) -> dict[str, Any]:
    """The Vega panel's query: flagged posts per platform per China day (the Kibana time filter is added)."""
    return {
        "index": index,
        "%context%": True,
        "%timefield%": "published_at",
        "body": {
            "size": 0,
            "aggs": {
                "days": {
                    "date_histogram": {
                        "field": "published_at",
                        "calendar_interval": "day",
                        "time_zone": TIME_ZONE,
                        "min_doc_count": 0,
                    },
                    "aggs": {"platforms": {"terms": {"field": "platform", "size": 20}}},
                }
            },
        },
    }


def _vega_spec(index: str) -> str:
    spec = {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": "Posts per platform per day (China time)",
        "data": {"url": per_day_query(index), "format": {"property": "aggregations.days.buckets"}},
        "transform": [
            {"flatten": ["platforms.buckets"], "as": ["platform"]},
            {"calculate": "datum.platform.key", "as": "platform_name"},
            {"calculate": "datum.platform.doc_count", "as": "posts"},
            # The bucket key as ES wrote it in China time: no conversion to the browser's zone on the way.
            {"calculate": "slice(datum.key_as_string, 0, 10)", "as": "day"},
        ],
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "x": {"field": "day", "type": "ordinal", "title": f"day ({TIME_ZONE})"},
            "y": {"field": "posts", "type": "quantitative", "title": "posts"},
            "color": {"field": "platform_name", "type": "nominal", "title": "platform"},
        },
    }
    return json.dumps(spec, ensure_ascii=False, indent=2)


def _search_source(query: str = "") -> str:
    return json.dumps({"query": {"query": query, "language": "kuery"}, "filter": [], "indexRefName": _INDEX_REF},
                      ensure_ascii=False)


def _data_view_ref() -> list[dict[str, str]]:
    return [{"id": DATA_VIEW_ID, "name": _INDEX_REF, "type": "index-pattern"}]


def saved_objects(index: str = "adwatch-posts") -> list[dict[str, Any]]:
    """Every object, in an order Kibana can import (things referenced come first)."""
    objects: list[dict[str, Any]] = [{
        "type": "index-pattern",
        "id": DATA_VIEW_ID,
        "attributes": {
            "title": index,  # the read alias over all monthly indices
            "name": "adwatch posts",
            "timeFieldName": "published_at",
            "allowNoIndex": True,
            "sourceFilters": "[]",
            "fieldAttrs": json.dumps({"detection.score": {"customLabel": "score"},
                                      "seen_by_members": {"customLabel": "also seen by (members)"}}),
            "runtimeFieldMap": "{}",
        },
        "references": [],
    }]
    for s in SAVED_SEARCHES:
        objects.append({
            "type": "search",
            "id": _id(f"search:{s.key}"),
            "attributes": {
                "title": s.title,
                "description": s.description,
                "columns": list(s.columns),
                "sort": [list(pair) for pair in s.sort],
                "hideChart": False,
                "isTextBasedQuery": False,
                "kibanaSavedObjectMeta": {"searchSourceJSON": _search_source(s.kql)},
            },
            "references": _data_view_ref(),
        })
    panels: list[tuple[str, str]] = []
    vega_id = _id("vis:per-day")
    objects.append({
        "type": "visualization",
        "id": vega_id,
        "attributes": {
            "title": "adwatch: posts per platform per day (Asia/Shanghai)",
            "description": "Vega panel: its own query buckets days in China time.",
            "uiStateJSON": "{}",
            "version": 1,
            "visState": json.dumps({"title": "adwatch: posts per platform per day (Asia/Shanghai)", "type": "vega",
                                    "aggs": [], "params": {"spec": _vega_spec(index)}}, ensure_ascii=False),
            "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps({"query": {"query": "", "language": "kuery"},
                                                                      "filter": []})},
        },
        "references": [],
    })
    panels.append(("visualization", vega_id))
    for p in TERMS_PANELS:
        vis_id = _id(f"vis:{p.key}")
        params: dict[str, Any] = {"perPage": p.size, "showPartialRows": False, "showMetricsAtAllLevels": False} \
            if p.vis_type == "table" else {"type": "pie", "addTooltip": True, "legendPosition": "right", "isDonut": True}
        vis_state = {
            "title": p.title,
            "type": p.vis_type,
            "params": params,
            "aggs": [
                {"id": "1", "enabled": True, "type": "count", "params": {}, "schema": "metric"},
                {"id": "2", "enabled": True, "type": "terms", "schema": "bucket" if p.vis_type == "table" else "segment",
                 "params": {"field": p.field, "size": p.size, "order": "desc", "orderBy": "1",
                            "otherBucket": False, "missingBucket": False}},
            ],
        }
        objects.append({
            "type": "visualization",
            "id": vis_id,
            "attributes": {
                "title": p.title,
                "description": "",
                "uiStateJSON": "{}",
                "version": 1,
                "visState": json.dumps(vis_state, ensure_ascii=False),
                "kibanaSavedObjectMeta": {"searchSourceJSON": _search_source("flagged : true")},
            },
            "references": _data_view_ref(),
        })
        panels.append(("visualization", vis_id))
    panels.append(("search", _id("search:flagged-by-platform")))
    panel_json, refs = [], []
    for n, (kind, ref_id) in enumerate(panels, start=1):
        wide = n == 1 or kind == "search"
        panel_json.append({
            "type": kind,
            "panelIndex": str(n),
            "gridData": {"x": 0 if wide or n % 2 == 0 else 24, "y": 15 * n, "w": 48 if wide else 24, "h": 15,
                         "i": str(n)},
            "embeddableConfig": {},
            "panelRefName": f"panel_{n}",
        })
        refs.append({"id": ref_id, "name": f"panel_{n}", "type": kind})
    objects.append({
        "type": "dashboard",
        "id": _id("dashboard"),
        "attributes": {
            "title": "adwatch: illegal debt-relief / credit-repair ads",
            "description": "Ads per platform per day (China time), categories, top contacts, top accounts.",
            "panelsJSON": json.dumps(panel_json),
            "optionsJSON": json.dumps({"useMargins": True, "syncColors": False, "hidePanelTitles": False}),
            "timeRestore": True,
            "timeFrom": "now-30d",
            "timeTo": "now",
            "refreshInterval": {"pause": True, "value": 0},
            "kibanaSavedObjectMeta": {"searchSourceJSON": json.dumps({"query": {"query": "", "language": "kuery"},
                                                                      "filter": []})},
        },
        "references": refs,
    })
    for obj in objects:
        obj.update(coreMigrationVersion=CORE_VERSION, managed=False)
    return objects


def to_ndjson(objects: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(o, ensure_ascii=False, sort_keys=True) + "\n" for o in objects)


def import_saved_objects(kibana_url: str, ndjson: str, *, api_key: str = "", username: str = "", password: str = "",
                         ca_certs: str = "", space: str = "", timeout: float = 60.0) -> dict[str, Any]:
    """``POST <kibana>[/s/<space>]/api/saved_objects/_import?overwrite=true`` with the NDJSON as a file upload."""
    boundary = f"adwatch-{uuid.uuid4().hex}"
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"adwatch.ndjson\"\r\n"
        f"Content-Type: application/ndjson\r\n\r\n{ndjson}\r\n--{boundary}--\r\n"
    ).encode("utf-8")
    headers = {"kbn-xsrf": "adwatch", "Content-Type": f"multipart/form-data; boundary={boundary}"}
    if api_key:
        headers["Authorization"] = f"ApiKey {api_key}"
    elif username:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
    prefix = f"/s/{space}" if space else ""
    request = urllib.request.Request(
        f"{kibana_url.rstrip('/')}{prefix}/api/saved_objects/_import?overwrite=true",
        data=body, headers=headers, method="POST",
    )
    context = ssl.create_default_context(cafile=ca_certs) if ca_certs else None
    with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
        return json.load(response)


if __name__ == "__main__":
    NDJSON_PATH.parent.mkdir(parents=True, exist_ok=True)
    NDJSON_PATH.write_text(to_ndjson(saved_objects()), encoding="utf-8")
    print(f"wrote {NDJSON_PATH}")
