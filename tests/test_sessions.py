"""Sessions: saved storage states and proxies reach the wire (plain HTTP and browser), never the log, the stats,
the store, the index or the reports; ``scrapy login`` saves a state and its ``--check`` reads it; RemoteControl is off."""

from __future__ import annotations

import base64
import http.client
import json
import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from elasticsearch import Elasticsearch, helpers

from crawler.sessions.specs import SessionsConfig, playwright_proxy, redact_url, write_state
from tests.conftest import PROJECT
from tests.simulator.core import LOGIN_PATH
from tests.simulator.corpus import KEYWORDS

COOKIE_SECRET = "c00kie5ecretV4lue"
PROXY_PASSWORD = "pr0xyPassw0rdXyz"
HOP_HEADERS = {"proxy-authorization", "proxy-connection", "connection", "keep-alive", "transfer-encoding"}


class ForwardingProxy:
    """A tiny HTTP forward proxy on 127.0.0.1 with Basic auth (407 without it); records what went through."""

    def __init__(self, user: str, password: str) -> None:
        expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.seen: list[tuple[str, str]] = []  # (url, Cookie header) of every authorised request
        self.refused = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                self.forward("GET")

            def do_POST(self) -> None:  # noqa: N802
                self.forward("POST")

            def forward(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if self.headers.get("Proxy-Authorization") != expected:
                    proxy.refused += 1
                    self.send_response(407)
                    self.send_header("Proxy-Authenticate", 'Basic realm="adwatch-test"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                proxy.seen.append((self.path, self.headers.get("Cookie") or ""))
                url = urlsplit(self.path)
                conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
                conn.request(method, url.path + (f"?{url.query}" if url.query else ""), body, headers)
                resp = conn.getresponse()
                data = resp.read()
                conn.close()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in HOP_HEADERS | {"content-length"}:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://adwatch:{password}@127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy() -> Iterator[ForwardingProxy]:
    p = ForwardingProxy("adwatch", PROXY_PASSWORD)
    yield p
    p.close()


def state(cookie: str, value: str, expires: float = -1) -> dict[str, Any]:
    return {"cookies": [{"name": cookie, "value": value, "domain": "127.0.0.1", "path": "/", "expires": expires,
                         "httpOnly": True, "secure": False, "sameSite": "Lax"}], "origins": []}


def test_specs_deal_proxies_and_never_show_credentials(tmp_path: Path) -> None:
    cfg = SessionsConfig(sessions_dir=tmp_path, proxies=("http://u:p%40ss@10.0.0.1:8080", "http://10.0.0.2:3128"),
                         anonymous=3, backoff=1, max_backoff=2, retire_after=3, stop_after=6)
    specs = cfg.specs("weibo")
    assert [s.name for s in specs] == ["anon-1", "anon-2", "anon-3"]
    assert [s.proxy_label for s in specs] == ["http://10.0.0.1:8080", "http://10.0.0.2:3128", "http://10.0.0.1:8080"]
    assert "p%40ss" not in repr(specs[0]) and "p@ss" not in repr(specs[0])
    assert playwright_proxy(specs[0].proxy or "") == {"server": "http://10.0.0.1:8080", "bypass": "<-loopback>",
                                                      "username": "u", "password": "p@ss"}
    assert redact_url("https://user:pw@proxy.example:443/x") == "https://proxy.example:443"
    write_state(tmp_path / "weibo" / "acct.json", state("SUB", "x"))
    assert [s.name for s in cfg.specs("weibo")] == ["acct"]  # saved sessions replace the anonymous ones
    assert stat.S_IMODE((tmp_path / "weibo" / "acct.json").stat().st_mode) == 0o600


@pytest.mark.es
def test_a_sweep_with_a_session_cookie_and_a_proxy_password_leaks_neither(make_simulator, sweep, proxy, es_url: str,
                                                                          es_index: str, tmp_path: Path) -> None:
    sim = make_simulator(refuse_every=2)  # retries too must carry the session, and leak nothing
    data = tmp_path / "data"
    for platform, cookie in (("weibo", "SUB"), ("douyin", "sessionid")):
        write_state(data / "sessions" / platform / "acct.json", state(cookie, COOKIE_SECRET, time.time() + 86400))
    run = sweep(sim.origin_arg, data, "--platforms", "weibo,douyin", "-a", f"keywords={KEYWORDS[3]}",
                "-s", "LOG_LEVEL=DEBUG",
                "-s", "ADWATCH_REFUSAL_BACKOFF=0.1",
                env={"ADWATCH_PROXIES": proxy.url, "ADWATCH_ES_URL": es_url, "ADWATCH_ES_INDEX": es_index,
                     "ADWATCH_ES_ACCOUNTS_INDEX": f"{es_index}-accounts"})
    assert run.proc.returncode == 0, run.output[-3000:]
    # The session and the proxy were really used, by the plain-HTTP spider and by the browser …
    assert proxy.refused >= 1  # Chromium asks without credentials first, as browsers do
    for path in ("/api/container/getIndex", "/aweme/v1/web/general/search/single/", "/search/"):
        sent = [cookie for url, cookie in proxy.seen if path in url]
        assert sent and all(COOKIE_SECRET in cookie for cookie in sent), (path, sent[:3])
    assert run.store().count() > 0 and sum(run.stat(p, f"adwatch/{p}/refusals/retried") for p in ("weibo", "douyin"))
    # … and neither the cookie nor the proxy password (nor its Basic encoding) is anywhere we write.
    secrets = [COOKIE_SECRET, PROXY_PASSWORD, base64.b64encode(f"adwatch:{PROXY_PASSWORD}".encode()).decode()]
    haystacks = {"log": run.output.encode(), "stats": json.dumps(run.stats).encode()}
    for path in data.rglob("*"):
        if path.is_file() and "sessions" not in path.relative_to(data).parts:
            haystacks[str(path.relative_to(data))] = path.read_bytes()
    es = Elasticsearch(es_url, request_timeout=60)
    es.indices.refresh(index=f"{es_index}*")
    indexed = [hit for hit in helpers.scan(es, index=f"{es_index}*", query={"query": {"match_all": {}}})]
    es.close()
    assert {hit["_index"].startswith(f"{es_index}-accounts") for hit in indexed} == {True, False}  # posts, accounts
    haystacks["index"] = json.dumps(indexed, ensure_ascii=False).encode()
    assert any(name.startswith("reports") for name in haystacks) and "adwatch.sqlite3" in haystacks
    assert any(name.startswith("seen.sqlite3") for name in haystacks)
    leaks = [(name, s) for name, blob in haystacks.items() for s in secrets if s.encode() in blob]
    assert not leaks


def scrapy(*args: str, data: Path) -> subprocess.CompletedProcess[str]:
    env = {**{k: v for k, v in os.environ.items() if "proxy" not in k.lower()}, "ADWATCH_DATA_DIR": str(data)}
    return subprocess.run([sys.executable, "-m", "scrapy", *args], cwd=PROJECT, env=env, capture_output=True,
                          text=True, timeout=180)


def test_login_saves_the_state_and_check_reports_it(simulator, tmp_path: Path) -> None:
    """Headless against the simulator's stand-in login page (a visible browser cannot be tested here)."""
    url = simulator.url("weibo", f"{LOGIN_PATH}?cookie=SUB")
    done = scrapy("login", "weibo", "--headless", "--url", url, "--session", "acct1", "--timeout", "30", data=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    saved = tmp_path / "sessions" / "weibo" / "acct1.json"
    cookies = json.loads(saved.read_text())["cookies"]
    sub = next(c for c in cookies if c["name"] == "SUB")
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert sub["value"] not in done.stdout + done.stderr
    write_state(saved.with_name("old.json"), state("SUB", "x", expires=time.time() - 60))
    write_state(saved.with_name("anon.json"), {"cookies": [], "origins": []})

    checked = scrapy("login", "weibo", "--check", data=tmp_path)
    assert checked.returncode == 1  # not every session is logged in
    lines = checked.stdout.splitlines()
    assert "weibo/acct1: logged in (SUB expires in 30 d)" in lines
    assert "weibo/old: NOT logged in (SUB expired)" in lines
    assert "weibo/anon: NOT logged in (no SUB cookie)" in lines
    assert sub["value"] not in checked.stdout


def test_login_without_a_login_saves_nothing(simulator, tmp_path: Path) -> None:
    url = simulator.url("weibo", f"{LOGIN_PATH}?cookie=OTHER")
    done = scrapy("login", "weibo", "--headless", "--url", url, "--timeout", "3", data=tmp_path)
    assert done.returncode == 1 and "nothing saved" in done.stdout
    assert not (tmp_path / "sessions" / "weibo").exists() or not list((tmp_path / "sessions" / "weibo").iterdir())


def test_remote_control_is_off(tmp_path: Path) -> None:
    done = scrapy("settings", "--get", "REMOTE_CONTROL_ENABLED", data=tmp_path)
    assert done.stdout.strip() == "False"
