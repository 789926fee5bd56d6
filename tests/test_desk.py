"""The takedown desk end to end, in real Chromium: a sweep of the simulator, then reviewers confirm and reject,
a filer builds a batch, downloads every format, seals the evidence and marks the batch filed; the simulator takes
some posts down, the re-check finds them removed, and the dashboard's figures equal a hand count. A viewer cannot
confirm; a POST without the CSRF token is refused; hostile post text stays text."""

from __future__ import annotations

import csv
import json
import statistics
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from crawler.utils import parse_iso
from pipelines.store import SqliteStore
from reports.desk.config import DeskConfig
from reports.desk.db import DeskDb
from reports.evidence.verify import verify_package
from tests.conftest import run_sweep
from tests.desk_helpers import CHROMIUM, PASSWORD, add_user, desk_settings, login, scrapy, serve_desk
from tests.simulator import Simulator
from tests.tsa import LocalTsa

HOSTILE_ID = "9999999999999999"
HOSTILE_TEXT = "征信修复 <script>alert('x')</script><img src=x onerror=alert(2)> " + "债" * (1 << 20)
FORMULA = '=HYPERLINK("http://evil.example/","点我")'


def hostile_post() -> dict[str, Any]:
    return {"platform": "weibo", "post_id": HOSTILE_ID, "url": "javascript:alert(5)", "flagged": True,
            "author": {"id": "1", "name": FORMULA, "url": "javascript:alert(4)"}, "text": HOSTILE_TEXT,
            "detection": {"category": "credit_repair", "score": 0.9, "explanation": "<b>正文</b>：征信修复",
                          "matches": [{"term": "征信修复", "kind": "category", "source": "text"}]},
            "contacts": [{"kind": "wechat", "value": "<svg onload=alert(3)>"}]}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Any:
    data_dir = tmp_path_factory.mktemp("desk")
    with Simulator() as sim, LocalTsa() as tsa:
        run = run_sweep(sim.origin_arg, data_dir, "--platforms", "weibo", "-a", "keywords=停止催收")
        assert run.proc.returncode == 0, run.output[-3000:]
        store = SqliteStore(data_dir / "adwatch.sqlite3")
        store.upsert(hostile_post())
        store.close()
        for name, role in (("rita", "reviewer"), ("fred", "filer"), ("vera", "viewer")):
            add_user(data_dir, name, role)
        cfg = DeskConfig.from_settings(desk_settings(data_dir, ADWATCH_TSA_URL=tsa.url,
                                                     ADWATCH_TSA_CA_FILE=str(tsa.ca_file)))
        yield sim, tsa, data_dir, cfg


def test_users_are_stored_with_a_password_hash(world: Any) -> None:
    _, _, data_dir, cfg = world
    db = DeskDb(cfg.store)
    try:
        rows = db._rows("SELECT name, role, password_hash FROM desk_users ORDER BY name")
        assert [(r["name"], r["role"]) for r in rows] == [("fred", "filer"), ("rita", "reviewer"), ("vera", "viewer")]
        assert all(PASSWORD not in r["password_hash"] and r["password_hash"].startswith("scrypt:") for r in rows)
        assert db.authenticate("rita", PASSWORD) and not db.authenticate("rita", "wrong password")
    finally:
        db.close()
    bad = scrapy(data_dir, "desk", "--add-user", "x", "--role", "admin", "--password-stdin", stdin=PASSWORD)
    assert bad.returncode != 0


def test_the_desk_from_review_to_results(world: Any, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    sim, tsa, data_dir, cfg = world
    store = SqliteStore(cfg.store)
    flagged = sorted((p for p in store.iter_posts(platform="weibo", flagged=True) if p["post_id"] != HOSTILE_ID),
                     key=lambda p: p["uid"])
    store.close()
    assert len(flagged) >= 6
    confirm, reject = flagged[:5], flagged[5]
    filed_at = [datetime.now(timezone.utc).replace(microsecond=0)]  # the desk's clock: the test knows every time
    dialogs: list[str] = []
    with serve_desk(cfg, clock=lambda: filed_at[0]) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            reviewer = browser.new_context(accept_downloads=True)
            page = reviewer.new_page()
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(f"{base}/")
            assert "/login" in page.url  # nothing without a login
            login(page, base, "rita")
            assert page.locator("#queue tr[data-uid]").count() == len(flagged) + 1

            # Hostile text is shown as text: no script runs, no javascript: link, 1 MB cut for the page.
            page.goto(f"{base}/post/weibo:{HOSTILE_ID}")
            assert "<script>alert('x')</script>" in page.inner_text("#text")
            assert page.get_attribute("#post-url", "href") == "#"
            assert page.locator("svg, #text img, #explanation b").count() == 0
            page.fill("input[name=reason]", "测试：恶意文本")
            page.click("#reject")

            for post in confirm:
                page.goto(f"{base}/post/{post['uid']}")
                assert page.eval_on_selector("#screenshot", "img => img.complete && img.naturalWidth") > 0
                page.click("#confirm")
                assert page.url.rstrip("/") == base
            page.goto(f"{base}/post/{reject['uid']}")
            page.fill("input[name=reason]", "反诈宣传，不是广告")
            page.click("#reject")
            assert dialogs == []

            # A POST without the CSRF token is refused, and changes nothing.
            refused = reviewer.request.post(f"{base}/post/{flagged[6 % len(flagged)]['uid']}/review",
                                            form={"decision": "confirm", "reason": ""})
            assert refused.status == 400 and "CSRF" in refused.text()

            # A viewer sees the queue but cannot confirm, even with a valid token.
            viewer = browser.new_context()
            vpage = viewer.new_page()
            login(vpage, base, "vera")
            vpage.goto(f"{base}/post/{flagged[-1]['uid']}")
            assert vpage.locator("#confirm").count() == 0
            token = vpage.get_attribute("input[name=csrf_token]", "value")
            denied = viewer.request.post(f"{base}/post/{flagged[-1]['uid']}/review",
                                         form={"csrf_token": token, "decision": "confirm", "reason": ""})
            assert denied.status == 403
            denied = viewer.request.post(f"{base}/batches", form={"csrf_token": token, "platform": "weibo"})
            assert denied.status == 403

            # The filer builds the batch, downloads every format, seals the evidence and files it.
            filer = browser.new_context(accept_downloads=True)
            fpage = filer.new_page()
            login(fpage, base, "fred")
            fpage.goto(f"{base}/batches")
            fpage.click("#new-batch-weibo")
            batch_id = fpage.inner_text("#batch-id")
            got = {}
            for kind in ("html", "pdf", "csv", "xlsx"):
                with fpage.expect_download() as info:
                    fpage.click(f"#download-{kind}")
                got[kind] = tmp_path / info.value.suggested_filename
                info.value.save_as(got[kind])
            fpage.click("#seal")
            assert "已封存" in fpage.inner_text("#sealed")
            fpage.fill("#ticket", "WB-2026-000123")
            fpage.click("#mark-filed")
            assert "WB-2026-000123" in fpage.inner_text("#filed")

            _check_downloads(got, confirm, reject)
            verdict = verify_package(cfg.evidence.root / batch_id, tsa.ca_file)
            assert verdict.ok and verdict.stamped_at is not None, verdict.failures
            assert sum(1 for f in (cfg.evidence.root / batch_id).rglob("screenshot.png")) == len(confirm)

            # The platform takes two posts down; the re-checks find them removed, the others still online.
            removed = confirm[:2]
            sim.delete([p["post_id"] for p in removed])
            env = {"ADWATCH_ORIGIN_WEIBO": sim.origins["weibo"]}
            # +31 min: the 30-min check of 5 targets; +7 days: the 6 h, 24 h and 7 day checks, one visit each.
            for after, said in ((timedelta(minutes=31), "re-checked 5 targets: 2 removed, 3 online, 0 without"),
                                (timedelta(days=7, minutes=1), "re-checked 15 targets: 6 removed, 9 online, 0 without")):
                proc = scrapy(data_dir, "recheck", "--as-of", (filed_at[0] + after).isoformat(), "-s",
                              "AUTOTHROTTLE_ENABLED=False", env=env)
                assert proc.returncode == 0 and said in proc.stdout, proc.stdout + proc.stderr[-3000:]

            fpage.goto(f"{base}/batches/{batch_id}")
            shown = {uid: fpage.inner_text(f"#targets tr[data-uid='{uid}'] td:last-child")
                     for uid in (p["uid"] for p in confirm)}
            assert all("30m：已删除" in shown[p["uid"]] for p in removed)
            assert all("30m：仍在线" in shown[p["uid"]] and "7d：仍在线" in shown[p["uid"]] for p in confirm[2:])

            fpage.goto(f"{base}/dashboard")
            figures = {group: _row(fpage, "#by-platform", group) for group in ("weibo", "all")}
            figures["batch"] = _row(fpage, "#by-batch", batch_id)
            assert fpage.locator("#chart rect").count() >= 4
        finally:
            browser.close()

    hand = _hand_count(confirm, removed, filed_at[0])
    for group, row in figures.items():
        for key, value in hand.items():
            assert row[key] == pytest.approx(value, abs=1e-4), (group, key, row[key], value)

    _check_labels_and_audit(cfg, confirm, reject)


def _row(page: Any, table: str, group: str) -> dict[str, float | None]:
    cells = page.eval_on_selector_all(f"{table} tr[data-group='{group}'] td",
                                      "tds => tds.map(td => [td.dataset.field, td.dataset.value])")
    return {k: (None if v == "None" else float(v)) for k, v in cells}


def _hand_count(confirm: list[dict[str, Any]], removed: list[dict[str, Any]], filed: datetime) -> dict[str, Any]:
    seen_to_filed = [(filed - parse_iso(p["first_seen"])).total_seconds() / 3600 for p in confirm]
    return {"filed": 5, "removed": 2, "takedown_rate": 2 / 5, "median_hours_seen_to_filed": statistics.median(seen_to_filed),
            "median_hours_to_removal": 31 / 60, "share_online_after_7d": 3 / 5, "reemerged": 0}


def _check_downloads(got: dict[str, Path], confirm: list[dict[str, Any]], reject: dict[str, Any]) -> None:
    html = got["html"].read_text(encoding="utf-8")
    assert all(p["url"] in html for p in confirm) and reject["url"] not in html and HOSTILE_ID not in html
    text = subprocess.run(["pdftotext", str(got["pdf"]), "-"], capture_output=True, text=True, check=True).stdout
    assert "举报违法金融广告" in "".join(text.split()) and confirm[0]["post_id"] in text
    with got["csv"].open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert sorted(r[3] for r in rows[1:]) == sorted(p["post_id"] for p in confirm)
    sheet = load_workbook(got["xlsx"]).active
    assert sorted(str(r[3].value) for r in sheet.iter_rows(min_row=2)) == sorted(p["post_id"] for p in confirm)


def _check_labels_and_audit(cfg: DeskConfig, confirm: list[dict[str, Any]], reject: dict[str, Any]) -> None:
    lines = [json.loads(line) for line in cfg.labels.read_text(encoding="utf-8").splitlines()]
    labels = {line["uid"]: line for line in lines}
    assert {u for u, line in labels.items() if line["label"] == "ad"} == {p["uid"] for p in confirm}
    assert labels[reject["uid"]]["label"] == "neg" and labels[reject["uid"]]["reason"] == "反诈宣传，不是广告"
    assert labels[f"weibo:{HOSTILE_ID}"]["label"] == "neg"
    assert all(line["sources"] and line["sources"][0][0] in ("title", "text") for line in lines)
    assert labels[confirm[0]["uid"]]["category"] and parse_iso(labels[confirm[0]["uid"]]["at"])
    db = DeskDb(cfg.store)
    try:
        actions = [(r["user"], r["action"]) for r in db.audit()]
    finally:
        db.close()
    for entry in (("rita", "confirmed"), ("rita", "rejected"), ("rita", "csrf-refused"), ("vera", "denied"),
                  ("fred", "create-batch"), ("fred", "download"), ("fred", "seal"), ("fred", "file"),
                  ("recheck", "recheck")):
        assert entry in actions, entry
    assert ("vera", "confirmed") not in actions
