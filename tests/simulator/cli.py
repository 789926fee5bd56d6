"""Command-line entry of the simulator (also used by ``scrapy simulate``)."""

from __future__ import annotations

import argparse
import time

from tests.simulator.server import SimConfig, Simulator


def serve(port: int = 0, seed: int = 7, ban: dict[str, str] | None = None, faults: bool = True,
          bench_pages: int = 0) -> None:
    config = SimConfig(seed=seed, ban=ban or {}, faults=faults, bench_pages=bench_pages)
    with Simulator(config, port=port) as sim:
        print(f"simulator serving Weibo and Douyin at {sim.origin} (Ctrl-C to stop)", flush=True)
        print(f"  export ADWATCH_ORIGIN={sim.origin}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m tests.simulator")
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-faults", action="store_true", help="no 429 / truncated / slow responses")
    ap.add_argument("--bench-pages", type=int, default=0, help='keywords starting "bench" get this many pages')
    args = ap.parse_args(argv)
    serve(args.port, args.seed, faults=not args.no_faults, bench_pages=args.bench_pages)
