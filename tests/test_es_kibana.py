"""Kibana saved objects: Kibana cannot run here, so their structure and every field they name are checked against
the index mapping, and the queries behind the dashboard panels are run on the real node."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from crawler.kibana import NDJSON_PATH, SAVED_SEARCHES, TERMS_PANELS, per_day_query, saved_objects, to_ndjson
from pipelines import es_schema
from tests.conftest import PROJECT

AGGREGATABLE = {"keyword", "boolean", "date", "long", "integer", "float", "double"}


def flat_fields(properties: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"author.name": "text", "author.name.keyword": "keyword", …}`` from a mapping."""
    out: dict[str, str] = {}
    for name, spec in properties.items():
        path = prefix + name
        if "properties" in spec:
            out.update(flat_fields(spec["properties"], path + "."))
            continue
        out[path] = spec["type"]
        for sub, sub_spec in (spec.get("fields") or {}).items():
            out[f"{path}.{sub}"] = sub_spec["type"]
    return out


FIELDS = flat_fields(es_schema.mappings()["properties"])
OBJECTS = [json.loads(line) for line in NDJSON_PATH.read_text(encoding="utf-8").splitlines() if line.strip()]
KQL_FIELD = re.compile(r"([A-Za-z_][\w.]*)\s*(?::|>=|<=|>|<)")


def kql_fields(kql: str) -> set[str]:
    return set(KQL_FIELD.findall(kql))


def test_shipped_ndjson_is_what_the_code_builds() -> None:
    assert NDJSON_PATH.read_text(encoding="utf-8") == to_ndjson(saved_objects()), \
        "docs/kibana/adwatch.ndjson is stale: run `python -m crawler.kibana`"


def test_objects_are_well_formed_and_references_resolve() -> None:
    by_key = {(o["type"], o["id"]): o for o in OBJECTS}
    assert len(by_key) == len(OBJECTS)
    kinds = [o["type"] for o in OBJECTS]
    assert kinds.count("index-pattern") == 1 and kinds.count("dashboard") == 1
    assert kinds.count("search") == len(SAVED_SEARCHES)
    seen: set[tuple[str, str]] = set()
    for obj in OBJECTS:  # in import order: whatever is referenced comes earlier in the file
        assert set(obj) >= {"type", "id", "attributes", "references", "coreMigrationVersion"}
        for ref in obj["references"]:
            assert (ref["type"], ref["id"]) in seen, (obj["attributes"]["title"], ref)
        meta = obj["attributes"].get("kibanaSavedObjectMeta")
        if meta:
            source = json.loads(meta["searchSourceJSON"])
            if "indexRefName" in source:
                assert source["indexRefName"] in {r["name"] for r in obj["references"]}
        seen.add((obj["type"], obj["id"]))
    dashboard = next(o for o in OBJECTS if o["type"] == "dashboard")
    panels = json.loads(dashboard["attributes"]["panelsJSON"])
    assert {p["panelRefName"] for p in panels} == {r["name"] for r in dashboard["references"]}
    titles = {by_key[(r["type"], r["id"])]["attributes"]["title"] for r in dashboard["references"]}
    assert any("per day" in t for t in titles) and any("categories" in t for t in titles)
    assert any("top contacts" in t for t in titles) and any("top accounts" in t for t in titles)


def test_every_field_named_is_in_the_mapping() -> None:
    view = next(o for o in OBJECTS if o["type"] == "index-pattern")
    assert FIELDS[view["attributes"]["timeFieldName"]] == "date"
    for field in json.loads(view["attributes"]["fieldAttrs"]):
        assert field in FIELDS
    named = 0
    for obj in (o for o in OBJECTS if o["type"] == "search"):
        attrs = obj["attributes"]
        for field in attrs["columns"] + [f for f, _ in attrs["sort"]]:
            assert field in FIELDS, (attrs["title"], field)
            named += 1
        kql = json.loads(attrs["kibanaSavedObjectMeta"]["searchSourceJSON"])["query"]["query"]
        assert kql_fields(kql) and kql_fields(kql) <= set(FIELDS), (attrs["title"], kql)
        for _, direction in attrs["sort"]:
            assert direction in ("asc", "desc")
        for field, _ in attrs["sort"]:
            assert FIELDS[field] in AGGREGATABLE  # sorting needs doc values
    for obj in (o for o in OBJECTS if o["type"] == "visualization"):
        vis = json.loads(obj["attributes"]["visState"])
        for agg in vis["aggs"]:
            if "field" in agg["params"]:
                assert FIELDS.get(agg["params"]["field"]) in AGGREGATABLE, agg
                named += 1
        if vis["type"] == "vega":
            spec = json.loads(vis["params"]["spec"])
            url = spec["data"]["url"]
            assert FIELDS[url["%timefield%"]] == "date"
            histogram = url["body"]["aggs"]["days"]["date_histogram"]
            assert histogram["time_zone"] == "Asia/Shanghai" and FIELDS[histogram["field"]] == "date"
            assert "query" not in url["body"]  # Kibana adds the dashboard's query and time range (%context%)
    assert named > 20


@pytest.mark.es
def test_panel_queries_run_on_the_real_node(es_url: str, es_index: str, es_client: Elasticsearch,
                                            tmp_path: Path) -> None:
    from tests.test_es_index import POSTS, run_stage, settings_for

    run_stage(settings_for(es_url, es_index, tmp_path), POSTS)
    es_client.indices.refresh(index=f"{es_index}-*")
    per_day = per_day_query(es_index)
    body = {**per_day["body"], "query": {"bool": {"filter": [{"range": {per_day["%timefield%"]: {
        "gte": "2026-10-01", "lte": "2026-11-30"}}}]}}}
    days = es_client.search(index=per_day["index"], **body)["aggregations"]["days"]["buckets"]
    assert sum(b["doc_count"] for b in days) == len(POSTS)
    assert all(b["key_as_string"].endswith("+08:00") for b in days)
    for panel in TERMS_PANELS:
        result = es_client.search(index=es_index, size=0, query={"term": {"flagged": True}},
                                  aggs={"top": {"terms": {"field": panel.field, "size": panel.size}}})
        assert result["aggregations"]["top"]["buckets"], panel.field
    # Every saved search's sort works (a sort on a text field would fail here).
    for obj in (o for o in OBJECTS if o["type"] == "search"):
        es_client.search(index=es_index, sort=[{f: d} for f, d in obj["attributes"]["sort"]], size=1)


class _KibanaRecorder(BaseHTTPRequestHandler):
    requests: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
        reply = json.dumps({"success": True, "successCount": body.count(b'"coreMigrationVersion"')}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: Any) -> None:
        pass


def test_kibana_setup_command_posts_the_objects_to_the_import_api() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _KibanaRecorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env.update(PYTHONPATH=str(PROJECT), ADWATCH_KIBANA_URL=f"http://127.0.0.1:{server.server_port}",
                   ADWATCH_ES_API_KEY="secret-key-1")
        proc = subprocess.run([sys.executable, "-m", "scrapy", "kibana-setup", "--space", "analysts"], cwd=PROJECT,
                              env=env, capture_output=True, text=True, timeout=120)
    finally:
        server.shutdown()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"imported {len(OBJECTS)} Kibana objects" in proc.stdout
    assert "secret-key-1" not in proc.stdout + proc.stderr
    (request,) = _KibanaRecorder.requests
    assert request["path"] == "/s/analysts/api/saved_objects/_import?overwrite=true"
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["kbn-xsrf"] and headers["authorization"] == "ApiKey secret-key-1"
    assert headers["content-type"].startswith("multipart/form-data; boundary=")
    assert NDJSON_PATH.read_text(encoding="utf-8").encode() in request["body"]
    assert b'name="file"; filename="adwatch.ndjson"' in request["body"]
