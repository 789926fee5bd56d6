"""HTTP spider throughput: Weibo spider responses/s against the simulator, beside the simulator's own ceiling.

Both are measured in this run, on this machine, against the same simulator process and the same URLs:
  ceiling  — a keep-alive client with as many threads as the spider's concurrency, doing nothing but GET + read
  spider   — `scrapy sweep --platforms weibo` over the same result pages (parse, items, no pipelines)
  plain    — a minimal Scrapy spider with Scrapy's defaults over the same pages (what Scrapy itself costs here)
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

PROJECT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("simulator did not start")


def page_paths(keywords: list[str], pages: int) -> list[str]:
    return [
        "/api/container/getIndex?containerid=" + quote(f"100103type=1&q={kw}") + f"&page_type=searchall&page={n}"
        for kw in keywords for n in range(1, pages + 1)
    ]


def ceiling(port: int, paths: list[str], threads: int) -> float:
    """Responses/s of a bare keep-alive client over ``paths``."""
    lock = threading.Lock()
    todo = list(paths)

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                if not todo:
                    break
                path = todo.pop()
            conn.request("GET", path)
            conn.getresponse().read()
        conn.close()

    start = time.perf_counter()
    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return len(paths) / (time.perf_counter() - start)


def spider(port: int, keywords: list[str], pages: int, concurrency: int) -> tuple[float, int]:
    """Responses/s of the Weibo spider over the same pages (from its own stats: start to finish)."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "scrapy", "sweep", "--origin", f"http://127.0.0.1:{port}", "--platforms", "weibo",
               "--no-report", "-a", "keywords=" + ",".join(keywords), "-a", f"max_pages={pages + 1}",
               "-s", "ITEM_PIPELINES={}", "-s", f"CONCURRENT_REQUESTS={concurrency}",
               "-s", f"CONCURRENT_REQUESTS_PER_DOMAIN={concurrency}", "-s", "LOG_LEVEL=WARNING"]
        env = {**os.environ, "ADWATCH_DATA_DIR": tmp}
        subprocess.run(cmd, cwd=PROJECT, env=env, check=True, capture_output=True)
        stats = json.loads((Path(tmp) / "last-sweep.json").read_text())["weibo"]["stats"]
    elapsed = (datetime.fromisoformat(stats["finish_time"]) - datetime.fromisoformat(stats["start_time"])).total_seconds()
    return stats["response_received_count"] / elapsed, stats.get("item_scraped_count", 0)


def plain_scrapy(port: int, keywords: list[str], pages: int, concurrency: int) -> float:
    """Responses/s of a minimal Scrapy spider (bench/plain_spider.py) over the same pages: Scrapy's own cost here."""
    cmd = [sys.executable, "-m", "scrapy", "runspider", str(PROJECT / "bench" / "plain_spider.py"),
           "-a", f"origin=http://127.0.0.1:{port}", "-a", "keywords=" + ",".join(keywords), "-a", f"pages={pages}",
           "-s", f"CONCURRENT_REQUESTS={concurrency}", "-s", f"CONCURRENT_REQUESTS_PER_DOMAIN={concurrency}"]
    with tempfile.TemporaryDirectory() as tmp:  # outside the project: Scrapy's defaults, not adwatch's settings
        out = subprocess.run(cmd, cwd=tmp, check=True, capture_output=True, text=True).stdout
    return float(next(line.split()[1] for line in out.splitlines() if line.startswith("RATE ")))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--keywords", type=int, default=8)
    ap.add_argument("--pages", type=int, default=100)
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args()
    port = free_port()
    sim = subprocess.Popen([sys.executable, "-m", "tests.simulator", "--port", str(port), "--platforms", "weibo", "--no-faults",
                            "--bench-pages", str(args.pages)], cwd=PROJECT, stdout=subprocess.DEVNULL)
    try:
        wait_up(port)
        keywords = [f"bench{i}" for i in range(args.keywords)]
        paths = page_paths(keywords, args.pages)
        ceiling(port, paths[:50], args.concurrency)  # warm-up
        top = ceiling(port, paths, args.concurrency)
        rate, items = spider(port, keywords, args.pages, args.concurrency)
        plain = plain_scrapy(port, keywords, args.pages, args.concurrency)
    finally:
        sim.terminate()
        sim.wait()
    print(f"pages: {len(paths)} ({args.keywords} keywords x {args.pages} pages, 10 posts each), concurrency {args.concurrency}")
    print(f"simulator ceiling (bare keep-alive client): {top:8.1f} responses/s")
    print(f"weibo spider (scrapy sweep, no pipelines):  {rate:8.1f} responses/s  ({items} items)")
    print(f"plain Scrapy spider (same pages, defaults):  {plain:8.1f} responses/s")
    print(f"ratio spider / ceiling: {rate / top:.2f}   spider / plain Scrapy: {rate / plain:.2f}")


if __name__ == "__main__":
    main()
