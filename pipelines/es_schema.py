"""The analysts' Elasticsearch index: composable template, monthly indices, aliases and the document shape.

Layout (``prefix`` = ``ADWATCH_ES_INDEX``, default ``adwatch-posts``):

- ``<prefix>-YYYY.MM`` monthly indices, one per UTC month of the post's ``first_seen`` (when adwatch first stored
  it). That month never changes for a post, so a post lives in exactly one index and re-indexing it (next sweep,
  spool replay, ``scrapy reindex``) overwrites it in place: document id = ``platform:post_id``. ``published_at``
  would not do: it is missing for some posts and drifts for Weibo's relative times ("3小时前"), which would put
  one post into two months.
- ``<prefix>`` — read alias over every monthly index (added by the template, so a new month joins it at birth);
  the newest month is its write index, so tools that write through the alias land in the current month.
- ``<prefix>-template`` — composable index template: settings, the alias and the mappings below.

Only core-module features are used (the test node is the core-only integ-test distribution): no ingest
pipelines, no scripts, no analysis-common analyzers. See docs/elasticsearch.md for what a full cluster adds.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError

from crawler.utils import parse_iso
from pipelines.textsafe import search_text

# Sources of text found in media rather than in the post itself (see pipelines/detect.detection_sources).
_POST_SOURCES = ("title", "text", "hashtags")
_KEYWORD_LIMIT = 512  # longer values keep their text field but get no keyword sub-field


def _text(analyzer: str) -> dict[str, Any]:
    return {
        "type": "text",
        "analyzer": analyzer,
        "fields": {"keyword": {"type": "keyword", "ignore_above": _KEYWORD_LIMIT}},
    }


# Clue matching with other institutions (pipelines/clues/fields.py): posts and accounts alike carry these. Kinds and
# batch ids only: never a clue value, a member name or anything else from a partner's file.
MATCH_PROPERTIES: dict[str, Any] = {
    "seen_by_members": {"type": "integer"},
    "clue_matches": {"properties": {"kind": {"type": "keyword"}, "batch": {"type": "keyword"}}},
}


def mappings(analyzer: str = "standard") -> dict[str, Any]:
    """Mappings of a post document. ``dynamic: false`` keeps unknown fields in ``_source`` without indexing them,
    so a new platform field can never explode the mapping or get a document rejected."""
    kw = {"type": "keyword"}
    return {
        "dynamic": False,
        "properties": {
            "uid": kw,
            "platform": kw,
            "post_id": kw,
            "url": kw,
            "author": {"properties": {"id": kw, "name": _text(analyzer), "url": kw}},
            "author_first_seen": {"type": "date"},
            "title": _text(analyzer),
            "text": _text(analyzer),
            "ocr_text": _text(analyzer),
            "hashtags": {"type": "keyword", "fields": {"text": {"type": "text", "analyzer": analyzer}}},
            "keyword": kw,
            "source": kw,  # "search" (a sweep found it) | "manual" (added by link)
            "image_urls": kw,
            "video_url": kw,
            "cover_url": kw,
            "image_count": {"type": "integer"},
            "has_video": {"type": "boolean"},
            "published_at": {"type": "date"},
            "captured_at": {"type": "date"},
            "first_seen": {"type": "date"},
            "last_seen": {"type": "date"},
            "engagement": {
                "properties": {k: {"type": "long"} for k in ("likes", "comments", "shares", "views", "collects")}
            },
            "raw_ref": kw,
            "reposted_from": kw,  # uid of the reposted original: lists the accounts amplifying an ad
            "operation_id": kw,  # the operation (团伙) the post belongs to (pipelines/operations)
            "media": {
                "properties": {
                    "kind": kw, "url": kw, "path": kw, "sha256": kw, "mime": kw, "error": kw,
                    "index": {"type": "integer"}, "bytes": {"type": "long"}, "timestamp": {"type": "float"},
                }
            },
            "ocr": {"properties": {"source": kw, "text": {"type": "text", "analyzer": analyzer}}},
            "flagged": {"type": "boolean"},
            "image_only": {"type": "boolean"},
            "evidence_sources": kw,
            "detection": {
                "properties": {
                    "flagged": {"type": "boolean"},
                    "category": kw,
                    "categories": kw,  # every category found, strongest first
                    "score": {"type": "float"},
                    "terms": kw,
                    "explanation": {"type": "text", "analyzer": analyzer},
                    "matches": {
                        "properties": {
                            "term": kw, "kind": kw, "category": kw, "source": kw,
                            "snippet": {"type": "text", "analyzer": analyzer}, "weight": {"type": "float"},
                        }
                    },
                }
            },
            "contacts": {"properties": {"kind": kw, "value": kw, "raw": kw, "source": kw}},
            "contact_values": kw,
            **MATCH_PROPERTIES,
        },
    }


def template_name(prefix: str) -> str:
    return f"{prefix}-template"


def template_body(prefix: str, analyzer: str = "standard") -> dict[str, Any]:
    """The composable index template every monthly index is created from."""
    return {
        "index_patterns": [f"{prefix}-*"],
        "priority": 200,
        "template": {
            "settings": {
                "number_of_shards": 1,
                # 0 replicas on one node (green), 1 as soon as there is a second node.
                "auto_expand_replicas": "0-1",
                "refresh_interval": "5s",
            },
            "aliases": {prefix: {}},
            "mappings": mappings(analyzer),
        },
        "_meta": {"owner": "adwatch", "description": "posts found by adwatch sweeps, one index per month"},
    }


def month_of(value: Any) -> str:
    """``YYYY.MM`` (UTC) of an ISO-8601 string or datetime; the current month when missing or unreadable."""
    when: datetime | None = None
    if isinstance(value, datetime):
        when = value
    else:
        when = parse_iso(value)
    if when is None:
        when = datetime.now(timezone.utc)
    elif when.tzinfo is not None:
        when = when.astimezone(timezone.utc)
    return f"{when.year:04d}.{when.month:02d}"


def index_for(prefix: str, doc: dict[str, Any]) -> str:
    return f"{prefix}-{month_of(doc.get('first_seen') or doc.get('captured_at') or doc.get('published_at'))}"


def to_es_doc(plain: dict[str, Any]) -> dict[str, Any]:
    """A stored post (``to_plain`` dict, optionally with ``first_seen``…) → the indexed document.

    Adds the derived fields analysts filter on: ``uid``, ``contact_values``, ``evidence_sources``,
    ``image_only`` (flagged, but every service term sits in an image, cover or video frame: the ads that
    text-only moderation misses), ``image_count``, ``has_video``. The raw payload stays in the store
    (``raw_ref`` points to it).
    """
    doc = {k: v for k, v in plain.items() if k != "raw"}
    # Invisible format characters (zero-width, bidi controls) split words for every tokenizer, so "征\u200c信修复"
    # would not be found by 征信修复: the index holds the text without them (the store keeps what was posted).
    for key in ("title", "text", "ocr_text"):
        if isinstance(doc.get(key), str):
            doc[key] = search_text(doc[key])
    if isinstance(doc.get("ocr"), list):
        doc["ocr"] = [{**o, "text": search_text(o.get("text") or "")} if isinstance(o, dict) else o for o in doc["ocr"]]
    doc["uid"] = f"{plain['platform']}:{plain['post_id']}"
    detection = plain.get("detection") or {}
    contacts = plain.get("contacts") or detection.get("contacts") or []
    doc["contacts"] = contacts
    if isinstance(doc.get("detection"), dict):  # the same list lives at the top level
        doc["detection"] = {k: v for k, v in doc["detection"].items() if k != "contacts"}
    doc["contact_values"] = sorted({str(c.get("value")) for c in contacts if isinstance(c, dict) and c.get("value")})
    sources = sorted({
        str(m.get("source")) for m in detection.get("matches") or []
        if isinstance(m, dict) and m.get("kind") == "category" and m.get("source")
    })
    doc["evidence_sources"] = sources
    doc["image_only"] = bool(plain.get("flagged")) and bool(sources) and not any(s in _POST_SOURCES for s in sources)
    doc["image_count"] = len(plain.get("image_urls") or [])
    doc["has_video"] = bool(plain.get("video_url"))
    return doc


def ensure_template(client: Elasticsearch, prefix: str, analyzer: str) -> None:
    """Install (or update) the template; existing indices keep their mappings until their month ends, except for
    fields added since they were made that must be searchable in every month (the clue matches)."""
    body = template_body(prefix, analyzer)
    client.indices.put_index_template(name=template_name(prefix), **body)
    ensure_match_mapping(client, f"{prefix}-*")


def ensure_match_mapping(client: Elasticsearch, index: str) -> None:
    """Add the clue-match fields to the mapping of existing indices (``index`` may be a pattern matching none):
    without it an index made before them would keep the fields in ``_source`` unsearchable (``dynamic: false``)."""
    client.indices.put_mapping(index=index, properties=MATCH_PROPERTIES, allow_no_indices=True)


def ensure_accounts_index(client: Elasticsearch, index: str) -> None:
    """The accounts index (pipelines/accounts.py) with the clue-match fields mapped before its first document:
    its other fields are mapped dynamically, which would make ``clue_matches.kind`` a text field."""
    if client.indices.exists(index=index):
        ensure_match_mapping(client, index)
        return
    try:
        client.indices.create(index=index, mappings={"properties": MATCH_PROPERTIES})
    except Exception as exc:  # another writer created it between exists() and create()
        if getattr(exc, "error", "") != "resource_already_exists_exception":
            raise


def ensure_index(client: Elasticsearch, prefix: str, index: str) -> bool:
    """Create a monthly index if missing (from the template); make the newest month the alias's write index.

    Returns True if the index was created by this call.
    """
    if client.indices.exists(index=index):
        return False
    try:
        client.indices.create(index=index)
    except Exception as exc:  # another writer created it between exists() and create()
        if getattr(exc, "error", "") != "resource_already_exists_exception":
            raise
        return False
    _point_write_alias(client, prefix)
    return True


def _point_write_alias(client: Elasticsearch, prefix: str) -> None:
    try:
        current = client.indices.get_alias(name=prefix)
    except NotFoundError:
        return
    newest = max(current)
    actions: list[dict[str, Any]] = [
        {"add": {"index": name, "alias": prefix, "is_write_index": name == newest}} for name in sorted(current)
    ]
    client.indices.update_aliases(actions=actions)
