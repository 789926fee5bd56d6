"""End to end: a sweep of 10,000 simulator posts (30 % with images, 5 % with video) through every stage into the
store, the index and the reports — once in one process, once on two `scrapy worker` processes, in the same run.

Weibo (plain HTTP) is swept with ``keywords=bench0…bench9`` and ``--bench-pages 100`` (10 posts a page). Image and
video posts copy the corpus's image and video ads with their media (posters repeat, as campaign posters do: the
OCR cache answers most of them; bench/ocr.py measures OCR itself). Evidence capture (a browser visit per flagged
post) is off: it is a stage of its own with its own figures. Printed: wall time, posts/s, and per stage the
seconds items spent in it (summed over items, so stages that overlap can add up to more than the wall time), the
report time, and the machine's load average (the machine is shared).

    python bench/e2e.py [--keywords 10 --pages 100] [--es-url URL] [--redis-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from bench.http_spider import free_port, wait_up  # noqa: E402
from bench.stage_timing import timed_pipelines  # noqa: E402
from crawler import settings as project_settings  # noqa: E402

STAGES = ("normalize", "dedup", "media", "ocr", "detect", "reposts", "store", "commit", "index")


def _env(data_dir: Path, es_url: str, index: str, redis_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update({"ADWATCH_DATA_DIR": str(data_dir), "ADWATCH_ES_URL": es_url, "ADWATCH_ES_INDEX": index,
                "ADWATCH_REDIS_URL": redis_url, "PYTHONPATH": str(PROJECT)})
    return env


def _common(origin: str, keywords: int, pages: int, pipelines: dict[str, int]) -> list[str]:
    return ["--platforms", "weibo", "--origin", origin, "-a", "keywords=" + ",".join(f"bench{i}" for i in range(keywords)),
            "-a", f"max_pages={pages + 1}", "-s", "LOG_LEVEL=WARNING", "-s", "ADWATCH_CAPTURE=0",
            "-s", "ADWATCH_EVIDENCE_SEAL=0", "-s", f"ITEM_PIPELINES={json.dumps(pipelines)}",
            "-s", "ADWATCH_PROGRESS_INTERVAL=60"]


def _scrapy(*args: str, env: dict[str, str], wait: bool = True) -> subprocess.Popen[str] | subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "scrapy", *args]
    if wait:
        return subprocess.run(cmd, cwd=PROJECT, env=env, capture_output=True, text=True, check=False)
    return subprocess.Popen(cmd, cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _report(data_dir: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = _scrapy("report", env=env)
    if done.returncode:
        raise RuntimeError(done.stdout[-2000:] + done.stderr[-2000:])
    return time.perf_counter() - start


def _figures(label: str, wall: float, stats: dict[str, Any], report_s: float, indexed: int, stored: int) -> dict[str, Any]:
    posts = int(stats.get("adwatch/store/new", 0))
    stages = {s: float(stats.get(f"adwatch/bench/{s}/seconds", 0.0)) for s in STAGES
              if stats.get(f"adwatch/bench/{s}/items")}
    return {"label": label, "wall_s": wall, "posts": posts, "stored": stored, "indexed": indexed,
            "posts_per_s": posts / wall if wall else 0.0, "report_s": report_s, "stages": stages,
            "pages": int(stats.get("adwatch/weibo/pages", 0)), "ocr_calls": int(stats.get("adwatch/ocr/ocr", 0)),
            "ocr_cache_hits": int(stats.get("adwatch/ocr/cache", 0)), "frames": int(stats.get("adwatch/ocr/frames", 0)),
            "images": int(stats.get("adwatch/media/downloaded/image", 0)),
            "videos": int(stats.get("adwatch/media/downloaded/video", 0)),
            "flagged": int(stats.get("adwatch/detect/flagged", 0)), "workers": stats.get("workers", 1)}


def _counts(data_dir: Path, es_url: str, index: str) -> tuple[int, int]:
    from elasticsearch import Elasticsearch

    from pipelines.store import SqliteStore

    store = SqliteStore(data_dir / "adwatch.sqlite3")
    stored = store.count()
    store.close()
    client = Elasticsearch(es_url)
    client.indices.refresh(index=f"{index}-*")
    indexed = client.count(index=f"{index}-*")["count"]
    client.options(ignore_status=404).indices.delete(index=f"{index}-*")
    client.options(ignore_status=404).indices.delete(index=f"{index}.runs")
    client.close()
    return stored, indexed


def single(origin: str, work: Path, es_url: str, redis_url: str, keywords: int, pages: int) -> dict[str, Any]:
    data, index = work / "single", f"bench-e2e-{uuid.uuid4().hex[:6]}"
    env = _env(data, es_url, index, redis_url)
    start = time.perf_counter()
    done = _scrapy("sweep", "--no-report", *_common(origin, keywords, pages,
                                                    timed_pipelines(project_settings.ITEM_PIPELINES)), env=env)
    wall = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(done.stdout[-3000:] + done.stderr[-3000:])
    stats = json.loads((data / "last-sweep.json").read_text())["weibo"]["stats"]
    report_s = _report(data, env)
    stored, indexed = _counts(data, es_url, index)
    return _figures("one process", wall, stats, report_s, indexed, stored)


def distributed(origin: str, work: Path, es_url: str, redis_url: str, keywords: int, pages: int) -> dict[str, Any]:
    data, index = work / "distributed", f"bench-e2e-{uuid.uuid4().hex[:6]}"
    env = _env(data, es_url, index, redis_url)
    pipelines = dict(project_settings.ITEM_PIPELINES)
    pipelines.pop("pipelines.dedup.DedupStage")
    pipelines.update({"pipelines.shared_dedup.SharedDedupStage": 200, "pipelines.shared_dedup.CommitStage": 850})
    args = _common(origin, keywords, pages, timed_pipelines(pipelines))
    workers = [_scrapy("worker", *args, "-s", f"ADWATCH_WORKER_ID=bench-w{i}", env=env, wait=False) for i in (1, 2)]
    try:
        start = time.perf_counter()
        done = _scrapy("sweep", "--distributed", "--no-report", *args, env=env)
        wall = time.perf_counter() - start
        outs = [w.communicate(timeout=600)[0] for w in workers]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
    if done.returncode or any(w.returncode for w in workers):
        raise RuntimeError(done.stdout[-3000:] + done.stderr[-3000:] + "".join(o[-2000:] for o in outs))
    stats = json.loads((data / "last-sweep.json").read_text())["weibo"]["stats"]
    report_s = _report(data, env)
    stored, indexed = _counts(data, es_url, index)
    return _figures("two workers", wall, stats, report_s, indexed, stored)


def show(runs: list[dict[str, Any]]) -> None:
    print(f"\nload average before/after: {runs[0]['load']} / {runs[-1]['load_after']}  ({os.cpu_count()} cores)")
    for r in runs:
        print(f"\n{r['label']}: {r['posts']} posts in {r['wall_s']:.1f} s = {r['posts_per_s']:.1f} posts/s "
              f"(workers {r['workers']}); stored {r['stored']}, indexed {r['indexed']}, flagged {r['flagged']}; "
              f"{r['pages']} pages, {r['images']} images, {r['videos']} videos, {r['frames']} frames, "
              f"OCR {r['ocr_calls']} calls + {r['ocr_cache_hits']} cache hits; report {r['report_s']:.1f} s")
        total = sum(r["stages"].values()) or 1.0
        for stage, seconds in r["stages"].items():
            print(f"  {stage:<10} {seconds:8.1f} s item-time  {seconds / max(r['posts'], 1) * 1000:8.2f} ms/post"
                  f"  {seconds / total:6.1%}")
    if len(runs) == 2 and runs[0]["wall_s"]:
        print(f"\ntwo workers vs one process: {runs[0]['wall_s'] / runs[1]['wall_s']:.2f}x wall-time speed-up")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--keywords", type=int, default=10)
    ap.add_argument("--pages", type=int, default=100)
    ap.add_argument("--es-url", default="", help="an existing node (default: start one with tests/esnode.py)")
    ap.add_argument("--redis-url", default="", help="an existing Redis (default: start redis-server here)")
    ap.add_argument("--only", choices=("single", "distributed"), default=None)
    ap.add_argument("--json", default="", help="also write the figures to this file")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="adwatch-e2e-"))
    port = free_port()
    sim = subprocess.Popen([sys.executable, "-m", "tests.simulator", "--port", str(port), "--platforms", "weibo",
                            "--no-faults", "--bench-pages", str(args.pages), "--bench-images", "0.3",
                            "--bench-videos", "0.05"], cwd=PROJECT, stdout=subprocess.DEVNULL)
    node = redis_server = None
    try:
        wait_up(port)
        es_url = args.es_url
        if not es_url:
            from tests.esnode import EsNode

            node = EsNode(work / "es")
            es_url = node.start()
        redis_url = args.redis_url
        if not redis_url:
            from tests.redis_fixtures import RedisServer

            redis_server = RedisServer(work).start()
            redis_url = redis_server.url
        origin = f"http://127.0.0.1:{port}"
        runs = []
        for name, fn in (("single", single), ("distributed", distributed)):
            if args.only and args.only != name:
                continue
            load = " ".join(f"{x:.1f}" for x in os.getloadavg())
            figures = fn(origin, work, es_url, redis_url, args.keywords, args.pages)
            figures["load"], figures["load_after"] = load, " ".join(f"{x:.1f}" for x in os.getloadavg())
            runs.append(figures)
            print(f"{figures['label']}: {figures['wall_s']:.1f} s (load {load})", flush=True)
        show(runs)
        if args.json:
            Path(args.json).write_text(json.dumps(runs, indent=1))
    finally:
        sim.terminate()
        sim.wait()
        if node is not None:
            node.stop()
        if redis_server is not None:
            redis_server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
