"""Sessions: saved storage states and proxies reach the wire (plain HTTP and browser), never the log, the stats,
the store, the index or the reports; ``scrapy login`` saves a state and its ``--check`` reads it; RemoteControl is off;
refusals in a row are counted per kind of request, in the order the evidence came."""

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
from scrapy.exceptions import CloseSpider
from scrapy.http import Request, TextResponse

from crawler.sessions.middleware import handled
from crawler.sessions.policy import SENT_META, request_kind
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


# --- refusals in a row: per kind of request, in the order the evidence came ---------------------------------------
def test_a_success_resets_only_its_own_kind_of_request() -> None:
    from tests.test_refusals import pool

    p, _, events = pool(2, stop_after=3, retire_after=99)
    for name in ("s1", "s2"):
        assert not p.refused(name, "wbi-rejected", "parse_search")
    p.succeeded("s1", "nav")  # Bilibili's key fetch between two refused searches says nothing about searches
    assert p.in_a_row == {"parse_search": 2} and p.sessions["s1"].refusals_in_a_row == 0  # the session's does
    p.succeeded("s2", "parse_search")
    assert p.in_a_row == {}  # a search that got through does
    assert not any(p.refused(name, "wbi-rejected", "parse_search") for name in ("s1", "s2"))
    p.succeeded("s1", "parse_view")
    assert p.refused("s2", "wbi-rejected", "parse_search") and p.stopped_kind == "parse_search"
    assert events.count("refusals/stopped_by/parse_search") == 1


def test_the_platform_stops_at_n_in_a_row_of_one_kind_not_of_all_kinds_together() -> None:
    from tests.test_refusals import pool

    p, _, events = pool(2, stop_after=3, retire_after=99)
    for _ in range(2):  # 2 + 2 + 2 refusals in a row on the platform, never 3 of one kind
        for kind in ("parse_search", "parse_comments", "parse_profile"):
            assert not p.refused("s1", "captcha", kind)
    assert p.in_a_row == {"parse_search": 2, "parse_comments": 2, "parse_profile": 2} and not p.stopped
    assert p.refused("s2", "captcha", "parse_comments")
    assert (p.stopped, p.stopped_kind, p.in_a_row["parse_comments"]) == ("captcha", "parse_comments", 3)
    assert [e for e in events if e.startswith("refusals/stopped_by/")] == ["refusals/stopped_by/parse_comments"]
    assert p.refused("s1", "captcha", "parse_search")  # stopped stays stopped (the caller requeues)


def test_requests_in_flight_when_a_refusal_of_their_kind_came_add_nothing_in_a_row() -> None:
    """Twenty profile pages opened at once meet one intermittent refusal five times over: those sent before the last
    refusal of their kind was counted are counted ``refusals/in_flight``, with no back-off; what is sent after a
    refusal and refused again is new evidence (a ban still stops the platform)."""
    from tests.test_refusals import pool

    p, _, events = pool(2, stop_after=3, retire_after=99)
    burst = [p.sent() for _ in range(6)]
    other_kind = p.sent()
    assert not any(p.refused(f"s{i % 2 + 1}", "captcha", "parse_profile", sent) for i, sent in enumerate(burst))
    assert p.in_a_row == {"parse_profile": 1} and events.count("refusals/in_flight") == 5
    assert events.count("refused/captcha") == 6 and events.count("sessions/backoff") == 1
    assert p.in_flight("parse_profile", burst[-1]) and not p.in_flight("parse_comments", other_kind)
    assert not p.refused("s2", "captcha", "parse_comments", other_kind)  # another kind's refusal: its own evidence
    assert p.in_a_row == {"parse_profile": 1, "parse_comments": 1}
    assert not p.in_flight("parse_profile", None)  # never numbered: counted
    assert not p.refused("s2", "captcha", "parse_profile", p.sent())  # a retry sent after it: counted
    stale = p.sent()
    assert p.refused("s1", "captcha", "parse_profile", p.sent()) and p.stopped_kind == "parse_profile"
    assert p.in_flight("parse_profile", stale)
    assert events.count("refusals/in_flight") == 5


def test_the_kind_of_a_request_is_its_callback_or_what_the_spider_says() -> None:
    class Spider:
        def parse_profile(self, response: object) -> None: ...

    assert request_kind(Request("https://a.example/", callback=Spider().parse_profile)) == "parse_profile"
    assert request_kind(Request("https://a.example/")) == "parse"
    assert request_kind(Request("https://a.example/", meta={"adwatch_kind": "user_card"},
                                callback=Spider().parse_profile)) == "user_card"
    assert request_kind(None) == "parse"


def test_the_policy_counts_in_flight_refusals_by_kind_and_names_the_kind_that_stopped_it(caplog) -> None:
    """Through a spider: the stat names, no try used up by a refusal in flight, the stop's log line names the kind,
    and a response the spider retried itself (a truncated body) is no success."""
    from scrapy.utils.test import get_crawler

    from crawler.platforms.weibo import WeiboSpider

    crawler = get_crawler(WeiboSpider, {"PLATFORM_ORIGINS": {"weibo": "https://m.weibo.cn"}, "ADWATCH_DATA_DIR":
                                        "/tmp/adwatch-test-sessions", "ADWATCH_REFUSAL_STOP_AFTER": 3})
    spider = crawler._create_spider(keywords="k")
    crawler.spider = spider
    pool = spider.refusals.pool

    def refused(request: Request) -> Request | None:
        return spider.refused("http-418", TextResponse(request.url, body=b"{}", request=request))

    def sent(request: Request) -> Request:
        request.meta.update({"adwatch_session": "anon-1", SENT_META: pool.sent()})
        return request

    pages = [sent(spider.search_request("k", page)) for page in (1, 2, 3)]
    retries = [refused(page) for page in pages]
    assert [r.meta["adwatch_refusals"] for r in retries if r] == [1, 0, 0]  # the two in flight used no try
    stat = lambda event: crawler.stats.get_value(f"adwatch/weibo/{event}")  # noqa: E731
    assert stat("refusals/in_flight") == 2 and stat("refused/http-418") == 3 and stat("refusals/retried") == 3
    truncated = sent(spider.search_request("k", 4))
    spider.retry(truncated, "malformed_json")
    handled(crawler, TextResponse(truncated.url, body=b"{", request=truncated))
    assert pool.in_a_row == {"parse_search": 1}  # a truncated answer retried is no success
    again = refused(sent(retries[0]))  # sent after the last refusal, refused again: counted
    assert again is not None and again.meta["adwatch_refusals"] == 2 and pool.in_a_row == {"parse_search": 2}
    with pytest.raises(CloseSpider) as stopped:
        refused(sent(retries[1]))
    assert stopped.value.reason == "blocked:http-418"
    assert stat("blocked/http-418") == 1 and stat("refusals/stopped_by/parse_search") == 1
    assert "after 3 refusals in a row of its parse_search requests" in caplog.text
