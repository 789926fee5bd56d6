"""Command-line entry of the simulator (also used by ``scrapy simulate``)."""

from __future__ import annotations

import argparse
import time

from tests.simulator.core import SimConfig, Simulator


def serve(port: int = 0, seed: int = 7, ban: dict[str, str] | None = None, faults: bool = True,
          bench_pages: int = 0, platforms: tuple[str, ...] = (), refuse_every: int = 0,
          bench_image_share: float = 0.0, bench_video_share: float = 0.0) -> None:
    """Serve every platform (or ``platforms``) on consecutive ports from ``port`` (free ports when 0)."""
    config = SimConfig(seed=seed, ban=ban or {}, faults=faults, bench_pages=bench_pages, platforms=platforms,
                       refuse_every=refuse_every, bench_image_share=bench_image_share,
                       bench_video_share=bench_video_share)
    with Simulator(config, port=port) as sim:
        print("simulator serving (Ctrl-C to stop):", flush=True)
        for name, origin in sim.origins.items():
            print(f"  {name:10} {origin}", flush=True)
        print("point adwatch at it with:", flush=True)
        for var, origin in sim.env().items():
            print(f"  export {var}={origin}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m tests.simulator")
    ap.add_argument("--port", type=int, default=8765, help="first port; platforms take consecutive ones")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--platforms", default="", help="comma-separated platforms (default: all)")
    ap.add_argument("--no-faults", action="store_true", help="no 429 / truncated / slow responses")
    ap.add_argument("--refuse-every", type=int, default=0, help="refuse every N-th API request, the platform's way")
    ap.add_argument("--bench-pages", type=int, default=0, help='keywords starting "bench" get this many pages')
    ap.add_argument("--bench-images", type=float, default=0.0, help="share of bench posts with an image ad's media")
    ap.add_argument("--bench-videos", type=float, default=0.0, help="share of bench posts with a video ad's media")
    args = ap.parse_args(argv)
    serve(args.port, args.seed, faults=not args.no_faults, bench_pages=args.bench_pages,
          platforms=tuple(p for p in args.platforms.split(",") if p), refuse_every=args.refuse_every,
          bench_image_share=args.bench_images, bench_video_share=args.bench_videos)
