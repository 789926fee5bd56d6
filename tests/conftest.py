"""Shared fixtures: the platform simulator on 127.0.0.1:0 and real ``scrapy sweep`` runs against it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from pipelines.store import SqliteStore
from tests.esnode import EsNode
from tests.simulator import SimConfig, Simulator

PROJECT = Path(__file__).resolve().parent.parent
pytest_plugins = ["tests.es_fixtures"]  # the real Elasticsearch node (session scope)
pytest_plugins += ["tests.redis_fixtures"]  # a real redis-server (session scope): distributed mode


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never leave 127.0.0.1, whatever proxy the machine has configured."""
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@dataclass
class SweepRun:
    """A finished ``scrapy sweep`` subprocess: its output, its per-platform stats and its store."""

    proc: subprocess.CompletedProcess[str]
    data_dir: Path

    @property
    def output(self) -> str:
        return self.proc.stdout + self.proc.stderr

    @property
    def stats(self) -> dict[str, Any]:
        path = self.data_dir / "last-sweep.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    def stat(self, platform: str, key: str) -> Any:
        return self.stats.get(platform, {}).get("stats", {}).get(key, 0)

    def store(self) -> SqliteStore:
        return SqliteStore(self.data_dir / "adwatch.sqlite3")


def run_sweep(origin: str, data_dir: Path, *args: str, env: dict[str, str] | None = None,
              timeout: float = 600) -> SweepRun:
    """Run ``scrapy sweep --origin ORIGIN`` as a user would, in its own process (one reactor per crawl)."""
    full_env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    full_env.update({"ADWATCH_DATA_DIR": str(data_dir), "PYTHONPATH": str(PROJECT)}, **(env or {}))
    cmd = [sys.executable, "-m", "scrapy", "sweep", "--origin", origin, "-v", "-s", "LOG_LEVEL=INFO", *args]
    proc = subprocess.run(cmd, cwd=PROJECT, env=full_env, capture_output=True, text=True, timeout=timeout)
    return SweepRun(proc, data_dir)


@pytest.fixture(scope="session")
def simulator() -> Iterator[Simulator]:
    with Simulator() as sim:
        yield sim


@dataclass
class SharedSweep(SweepRun):
    """``sweep_once``: the run, the simulator it swept (stopped; its corpus and sites as the sweep met them) and
    the Elasticsearch node and index prefix it indexed into."""

    sim: Simulator | None = None
    es_url: str = ""
    es_prefix: str = ""


@pytest.fixture(scope="session")
def sweep_once(tmp_path_factory: pytest.TempPathFactory, es_node: EsNode) -> Iterator[SharedSweep]:
    """One sweep of every platform as ``scrapy sweep`` runs by default (the watchlist, reports, page captures,
    evidence), indexed into Elasticsearch: shared by every test that only reads its store, stats, output, files
    and index. A sweep is minutes of crawling, OCR and browser captures; one of all eight platforms costs far less
    than one per test module. Tests that change a store or need other simulator settings run their own sweep.

    It has a simulator of its own: the corpus's one-time faults (429, truncated page, key rotation) must be met by
    this sweep, whatever other tests swept before it.
    """
    url = es_node.start()
    prefix = f"adwatch-shared-{uuid.uuid4().hex[:8]}"
    with Simulator() as sim:
        run = run_sweep(sim.origin_arg, tmp_path_factory.mktemp("sweep"),
                        env={"ADWATCH_ES_URL": url, "ADWATCH_ES_INDEX": prefix}, timeout=2400)
    assert run.proc.returncode == 0, run.output[-4000:]
    yield SharedSweep(run.proc, run.data_dir, sim, url, prefix)
    from tests.es_fixtures import drop_prefix  # not at the top: pytest rewrites the plugin's asserts on its import

    client = Elasticsearch(es_node.start(), request_timeout=60)
    drop_prefix(client, prefix)
    client.close()


@pytest.fixture
def sweep() -> Callable[..., SweepRun]:
    """``sweep(origin, data_dir, *args)`` for tests that need their own run."""
    return run_sweep


@pytest.fixture
def make_simulator() -> Iterator[Callable[..., Simulator]]:
    """Start extra simulators with their own config (bans, no faults); all stopped after the test."""
    started: list[Simulator] = []

    def make(**config: Any) -> Simulator:
        sim = Simulator(SimConfig(**config)).start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()
