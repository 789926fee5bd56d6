"""``scrapy simulate``: serve the bundled platform simulator (every platform, one port each) on 127.0.0.1."""

from __future__ import annotations

import argparse

from crawler.command_base import ProjectCommand


class Command(ProjectCommand):
    summary = "Serve the platform simulator until interrupted"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--port", type=int, default=8765, help="first port; platforms take consecutive ones")
        parser.add_argument("--seed", type=int, default=7)

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        from tests.simulator.cli import serve

        serve(opts.port, opts.seed)
