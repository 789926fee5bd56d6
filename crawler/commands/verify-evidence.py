"""``scrapy verify-evidence BATCH|PATH``: check a sealed package's hashes and tokens; name every file that fails."""

from __future__ import annotations

import argparse
from pathlib import Path

from scrapy.exceptions import UsageError

from crawler.command_base import ProjectCommand
from reports.evidence import EvidenceConfig
from reports.evidence.verify import verify_package


class Command(ProjectCommand):
    summary = "Verify a sealed evidence package (folder or .zip): every hash and every timestamp token"

    def syntax(self) -> str:
        return "BATCH|PATH [options]"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--tsa-ca", default=None, help="the TSA CA certificate you trust (default ADWATCH_TSA_CA_FILE)")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        if len(args) != 1:
            raise UsageError("give a batch id or the path of a package folder or .zip")
        config = EvidenceConfig.from_settings(self.settings)
        path = Path(args[0])
        if not path.exists():
            path = config.root / args[0]
            if not path.exists() and (config.root / f"{args[0]}.zip").exists():
                path = config.root / f"{args[0]}.zip"
        if not path.exists():
            raise UsageError(f"no package {args[0]!r} (looked in {config.root})")
        roots = Path(opts.tsa_ca) if opts.tsa_ca else config.tsa_roots
        verdict = verify_package(path, roots)
        for line in verdict.failures:
            print(f"FAIL {line}", flush=True)
        for line in verdict.notes:
            print(f"note {line}", flush=True)
        stamped = f", timestamp {verdict.stamped_at.isoformat()}" if verdict.stamped_at else ""
        print(f"adwatch: {path}: {verdict.checked} files checked{stamped}: "
              f"{'OK' if verdict.ok else f'{len(verdict.failures)} failure(s)'}", flush=True)
        self.exitcode = 0 if verdict.ok else 1
