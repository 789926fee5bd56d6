"""Alerts reach a webhook (a local HTTP receiver) for a platform gone silent or stopped, never for a healthy run."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pipelines.history import RunHistory, RunRecord
from tests.conftest import run_sweep
from tests.simulator.corpus import EMPTY_KEYWORD, KEYWORDS


class Receiver:
    """An HTTP endpoint on 127.0.0.1 that keeps every JSON body POSTed to it."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        calls = self.calls

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - stdlib name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                calls.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook/secret-token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _sweep(origin: str, data_dir: Path, hook: str, keywords: str) -> Any:
    run = run_sweep(origin, data_dir, "--platforms", "weibo", "--no-report", "-a", f"keywords={keywords}",
                    "-s", "ADWATCH_OCR_ENGINE=", "-s", "ADWATCH_REFUSAL_BACKOFF=0.1",  # a ban's stop, not its patience
                    env={"ADWATCH_ALERT_WEBHOOK": hook})
    return run


def test_healthy_run_calls_nobody_and_is_recorded(make_simulator, receiver: Receiver, tmp_path: Path) -> None:
    sim = make_simulator(faults=False, platforms=("weibo",))
    run = _sweep(sim.origin_arg, tmp_path, receiver.url, KEYWORDS[1])
    assert run.proc.returncode == 0, run.output[-3000:]
    assert receiver.calls == []
    history = RunHistory(tmp_path / "adwatch.sqlite3")
    [rec] = history.runs("weibo")
    history.close()
    assert rec.posts > 0 and rec.pages > 0 and rec.new == rec.posts and rec.keywords[KEYWORDS[1]] > 0
    assert rec.stopped is None and rec.refusals == 0 and rec.duration and rec.duration > 0
    assert "secret-token" not in run.output  # the webhook URL may carry a token: never logged


def test_keyword_gone_silent_calls_the_webhook(make_simulator, receiver: Receiver, tmp_path: Path) -> None:
    sim = make_simulator(faults=False, platforms=("weibo",))
    history = RunHistory(tmp_path / "adwatch.sqlite3")  # last week this keyword still found posts
    history.record(RunRecord(run_id="AW-20261101-090000", platform="weibo", finished_at="2026-11-01T09:10:00+08:00",
                             posts=12, keywords={EMPTY_KEYWORD: 12, KEYWORDS[1]: 20}))
    history.close()
    run = _sweep(sim.origin_arg, tmp_path, receiver.url, f"{KEYWORDS[1]},{EMPTY_KEYWORD}")
    assert run.proc.returncode == 0, run.output[-3000:]
    assert len(receiver.calls) == 1, receiver.calls
    call = receiver.calls[0]
    assert call["platform"] == "weibo"
    assert [a["check"] for a in call["alerts"]] == ["no keyword gone silent"]
    assert EMPTY_KEYWORD in call["alerts"][0]["reason"] and KEYWORDS[1] not in call["alerts"][0]["reason"]


def test_stopped_platform_calls_the_webhook(make_simulator, receiver: Receiver, tmp_path: Path) -> None:
    sim = make_simulator(faults=False, platforms=("weibo",), ban={"weibo": "418"})
    run = _sweep(sim.origin_arg, tmp_path, receiver.url, KEYWORDS[1])
    assert len(receiver.calls) == 1, (receiver.calls, run.output[-2000:])
    [alert] = receiver.calls[0]["alerts"]
    assert alert["check"] == "platform not stopped" and "http-418" in alert["reason"]
    history = RunHistory(tmp_path / "adwatch.sqlite3")
    [rec] = history.runs("weibo")
    history.close()
    assert rec.stopped == "http-418" and rec.refusals >= 1
