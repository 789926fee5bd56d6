"""The media stage: the SSRF host rule, and a real crawl fetching media from a local fake CDN.

The crawl runs in its own process (one Twisted reactor per process), as ``python -m tests.test_media_download``;
the fake CDN and a fake "internal service" run in the test process, on 127.0.0.1 port 0.
"""

from __future__ import annotations

import hashlib
import json
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

from pipelines.media import blocked_reason
from tests.simulator.media import image_bytes

PROJECT = Path(__file__).resolve().parent.parent
WEIBO_CDN = ["*.sinaimg.cn", "*.weibocdn.com", "f.video.weibocdn.com"]


# --- The host rule ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://wx1.sinaimg.cn/large/abc.jpg",
        "http://wx3.sinaimg.cn/orj360/abc.jpg",
        "https://f.video.weibocdn.com/o0/abc.mp4?label=mp4_hd",
        "https://WX2.SINAIMG.CN/large/abc.jpg",
        "https://wx1.sinaimg.cn:443/large/abc.jpg",
        "http://127.0.0.1:8765/large/abc.jpg",  # exactly the simulator's origin
    ],
)
def test_platform_cdn_and_simulator_origin_are_allowed(url: str) -> None:
    assert blocked_reason(url, WEIBO_CDN, "http://127.0.0.1:8765") is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/large/abc.jpg", "ip-address"),
        ("http://127.0.0.1:8766/large/abc.jpg", "ip-address"),  # the simulator's host, another port
        ("https://127.0.0.1:8765/large/abc.jpg", "ip-address"),  # the simulator's port, another scheme
        ("http://10.0.0.7/abc.jpg", "ip-address"),
        ("http://192.168.1.1/abc.jpg", "ip-address"),
        ("http://169.254.169.254/latest/meta-data/", "ip-address"),
        ("http://[::1]/abc.jpg", "ip-address"),
        ("http://2130706433/abc.jpg", "host-not-allowed"),  # 127.0.0.1 as a decimal: no pattern names it
        ("http://localhost/abc.jpg", "local-host"),
        ("http://cdn.internal/abc.jpg", "local-host"),
        ("https://wx1.sinaimg.cn.evil.com/abc.jpg", "host-not-allowed"),
        ("https://sinaimg.cn.evil.com/abc.jpg", "host-not-allowed"),
        ("https://wx1.sinaimg.cn@127.0.0.1/abc.jpg", "ip-address"),  # userinfo trick: the host is 127.0.0.1
        ("https://p3.douyinpic.com/abc.jpeg", "host-not-allowed"),  # another platform's CDN
        ("https://wx1.sinaimg.cn:8080/large/abc.jpg", "port"),
        ("ftp://wx1.sinaimg.cn/abc.jpg", "bad-url"),
        ("file:///etc/passwd", "bad-url"),
        ("/large/abc.jpg", "bad-url"),
    ],
)
def test_everything_else_is_refused(url: str, reason: str) -> None:
    assert blocked_reason(url, WEIBO_CDN, "http://127.0.0.1:8765") == reason


def test_without_a_simulator_loopback_is_refused() -> None:
    assert blocked_reason("http://127.0.0.1:8765/large/abc.jpg", WEIBO_CDN, None) == "ip-address"


# --- A crawl against a fake CDN ---------------------------------------------------------------------------

POSTER = image_bytes("停息挂账 协商还款 咨询微信 shangan88", 1)
HUGE = 2 << 30  # what the "2 GB video" announces
VIDEO_CAP = 1 << 20  # the test's cap for videos (1 MB)
STREAM_CHUNKS = 512  # the streamed video would be 32 MB if the client kept reading


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.hits: dict[str, int] = {}
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the crawler hangs up on oversized videos on purpose

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> _Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()
        self.server_close()


class _Cdn(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, ctype: str = "image/jpeg", length: int | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path
        self.server.hits[path] = self.server.hits.get(path, 0) + 1
        if path in ("/large/poster.jpg", "/orj480/same-bytes-other-name.jpg"):
            self._send(200, POSTER)
        elif path == "/large/empty.jpg":
            self._send(200, b"")
        elif path == "/large/redirect.jpg":
            self.send_response(302)
            self.send_header("Location", self.headers.get("X-Internal", "http://127.0.0.1:1/"))
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/o0/huge.mp4":
            # Announce 2 GB, send a little, then stall: the client must give up on the header alone.
            self._send(200, b"\x00" * 65536, "video/mp4", length=HUGE)
            time.sleep(3)
        elif path == "/o0/stream.mp4":
            # No Content-Length: the cap has to be enforced while bytes arrive.
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                for _ in range(STREAM_CHUNKS):
                    self.wfile.write(b"\x00" * 65536)
            except OSError:
                pass  # the client hung up, as it should once past the cap
            self.close_connection = True
        else:
            self._send(404, b"not found", "text/plain")


@pytest.fixture(scope="module")
def cdn() -> Iterator[_Server]:
    with _Server(_Cdn) as server:
        yield server


@pytest.fixture(scope="module")
def internal() -> Iterator[_Server]:
    """Stands for an internal service (metadata endpoint, admin port): nothing may ever reach it."""
    with _Server(_Cdn) as server:
        yield server


def crawl(origin: str, internal_origin: str, data_dir: Path) -> dict[str, Any]:
    """Run the media stage over two posts in a real Scrapy crawl (own process); return items and stats."""
    out = data_dir / "result.json"
    proc = subprocess.run(
        [sys.executable, "-m", "tests.test_media_download", origin, internal_origin, str(data_dir), str(out)],
        cwd=PROJECT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads(out.read_text(encoding="utf-8"))
    result["log"] = proc.stderr
    return result


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="module")
def result(cdn: _Server, internal: _Server, data_dir: Path) -> dict[str, Any]:
    """One crawl shared by the tests below (each reads a different part of it).

    The media folder starts with half of the poster under the poster's own name, as a crawl killed mid-write
    would have left it: the crawl must replace it, not trust the name."""
    sha = hashlib.sha256(POSTER).hexdigest()
    half = data_dir / "media" / sha[:2] / f"{sha}.jpg"
    half.parent.mkdir(parents=True)
    half.write_bytes(POSTER[: len(POSTER) // 2])
    return crawl(cdn.origin, internal.origin, data_dir)


def _assets(result: dict[str, Any], post_id: str) -> dict[str, dict[str, Any]]:
    item = next(i for i in result["items"] if i["post_id"] == post_id)
    return {f"{a['kind']}:{a['index']}": a for a in item["media"]}


def test_media_are_stored_by_content_hash_once(result: dict[str, Any], data_dir: Path) -> None:
    assets = _assets(result, "1")
    sha = hashlib.sha256(POSTER).hexdigest()
    for key in ("image:0", "image:1"):  # two URLs, one poster
        assert assets[key]["error"] is None
        assert assets[key]["sha256"] == sha and assets[key]["bytes"] == len(POSTER)
        assert assets[key]["path"] == f"{sha[:2]}/{sha}.jpg" and assets[key]["mime"] == "image/jpeg"
    stored = [p for p in (data_dir / "media").rglob("*") if p.is_file()]
    assert stored == [data_dir / "media" / sha[:2] / f"{sha}.jpg"]  # no temporary file left either
    assert stored[0].read_bytes() == POSTER  # the half copy found there was replaced


def test_failed_downloads_are_recorded_and_the_post_kept(result: dict[str, Any]) -> None:
    assert sorted(i["post_id"] for i in result["items"]) == ["1", "2"]  # nothing dropped
    assets = _assets(result, "1")
    assert assets["image:2"]["error"] == "empty"
    assert assets["image:3"]["error"] == "http-404"
    assert assets["image:4"]["error"] == "http-302"  # redirects are not followed
    assert assets["cover:0"]["error"] == "blocked: ip-address"
    stats = result["stats"]
    assert stats["adwatch/media/downloaded/image"] == 2
    assert stats["adwatch/media/failed/empty"] == 1 and stats["adwatch/media/failed/http-404"] == 1
    assert stats["adwatch/media/blocked/weibo"] == 3


def test_ssrf_targets_are_never_contacted(result: dict[str, Any], internal: _Server) -> None:
    assets = _assets(result, "1")
    assert assets["image:5"]["error"] == "blocked: ip-address"
    assert assets["image:6"]["error"] == "blocked: host-not-allowed"
    assert internal.hits == {}


def test_oversized_video_is_refused_without_downloading_it(result: dict[str, Any], data_dir: Path) -> None:
    # Everything below is what the crawler itself saw and did (the bytes its downloader took in, its stats, its
    # media store), never how much the server managed to write: that depends on scheduling and socket buffers.
    huge, stream = _assets(result, "1")["video:0"], _assets(result, "2")["video:0"]
    assert huge["error"] == "too-large"  # 2 GB announced in Content-Length
    assert stream["error"] == "too-large"  # no Content-Length, cut while streaming
    assert result["stats"]["adwatch/media/failed/too-large"] == 2
    # Refused on the header alone: the response head arrived, not one byte of its body was read.
    assert "/o0/huge.mp4" in result["heads"]
    assert result["body_bytes"].get("/o0/huge.mp4", 0) == 0
    # Cut at the cap: the downloader read past 1 MB (so the cap, not the server, ended it), then stopped reading
    # (the server had 32 MB to give). The slack allows for the size of one network read, whatever it is.
    assert VIDEO_CAP < result["body_bytes"]["/o0/stream.mp4"] < 2 * VIDEO_CAP < STREAM_CHUNKS * 65536
    # Nothing of either video is kept: no asset path or digest, no file in the store, no bytes counted as stored.
    for asset in (huge, stream):
        assert asset["path"] is None and asset["sha256"] is None and asset["bytes"] is None
    stored = [p for p in (data_dir / "media").rglob("*") if p.is_file()]
    assert [p.suffix for p in stored] == [".jpg"]
    assert result["stats"]["adwatch/media/bytes"] == 2 * len(POSTER)  # the poster, under its two URLs
    assert "adwatch/media/downloaded/video" not in result["stats"]


def test_each_kind_of_failure_is_logged_once(result: dict[str, Any]) -> None:
    lines = [ln for ln in result["log"].splitlines() if "[adwatch.media] WARNING" in ln]
    assert len(lines) == len({"empty", "http-404", "http-302", "blocked", "too-large"}), lines
    assert "Traceback" not in result["log"]


# --- The crawl process ------------------------------------------------------------------------------------


def _main(origin: str, internal_origin: str, data_dir: str, out: str) -> None:
    import scrapy
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings

    from crawler.items import AdPost, to_plain

    items: list[dict[str, Any]] = []

    class Collect:
        def process_item(self, item: Any) -> Any:
            items.append(to_plain(item))
            return item

    class Posts(scrapy.Spider):
        name = "media-test"
        allowed_domains = ["m.weibo.cn"]  # media requests must pass anyway: the host rule is their gate

        async def start(self):  # type: ignore[override]
            yield AdPost(
                platform="weibo", post_id="1", url="https://m.weibo.cn/detail/1",
                image_urls=[
                    f"{origin}/large/poster.jpg",
                    f"{origin}/orj480/same-bytes-other-name.jpg",
                    f"{origin}/large/empty.jpg",
                    f"{origin}/large/missing.jpg",
                    f"{origin}/large/redirect.jpg",
                    f"{internal_origin}/latest/meta-data/",
                    "https://wx1.sinaimg.cn.evil.com/x.jpg",
                ],
                cover_url="http://169.254.169.254/latest/meta-data/",
                video_url=f"{origin}/o0/huge.mp4",
            )
            yield AdPost(platform="weibo", post_id="2", url="https://m.weibo.cn/detail/2",
                         video_url=f"{origin}/o0/stream.mp4")

    settings = get_project_settings()
    settings.setdict({
        "ADWATCH_DATA_DIR": data_dir,
        "ADWATCH_SIMULATOR_ORIGINS": [origin],
        "ADWATCH_MEDIA_MAX_BYTES": {"video": VIDEO_CAP},
        "ITEM_PIPELINES": {"pipelines.media.MediaStage": 300, Collect: 900},
        "DOWNLOAD_HANDLERS": {},  # plain HTTP: no browser for this test
        "EXTENSIONS": {},
        "AUTOTHROTTLE_ENABLED": False,
        "RETRY_ENABLED": False,
        "LOG_LEVEL": "WARNING",
    }, priority="cmdline")
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(Posts)
    # What the downloader took in, per URL path: response heads, and body bytes as they were read.
    heads: list[str] = []
    body_bytes: dict[str, int] = {}

    def on_head(request: scrapy.Request, **_: Any) -> None:
        heads.append(urlsplit(request.url).path)

    def on_bytes(data: bytes, request: scrapy.Request, **_: Any) -> None:
        path = urlsplit(request.url).path
        body_bytes[path] = body_bytes.get(path, 0) + len(data)

    crawler.signals.connect(on_head, signal=signals.headers_received)
    crawler.signals.connect(on_bytes, signal=signals.bytes_received)
    process.crawl(crawler)
    process.start()
    stats = {k: v for k, v in crawler.stats.get_stats().items() if k.startswith("adwatch/")}
    Path(out).write_text(json.dumps({"items": items, "stats": stats, "heads": heads, "body_bytes": body_bytes},
                                    ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    _main(*sys.argv[1:5])
