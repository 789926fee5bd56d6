"""Evidence that holds up: a sweep captures flagged pages in the browser, seals its batch with a SHA-256 manifest and
an RFC 3161 token from a local TSA, and verification names any changed, missing or swapped file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reports.evidence import manifest
from reports.evidence.package import TOKEN
from reports.evidence.verify import verify_package
from tests.conftest import PROJECT, SweepRun, run_sweep
from tests.simulator import Simulator
from tests.tsa import LocalTsa

CHROMIUM = os.environ.get("ADWATCH_CHROMIUM") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def tsa() -> LocalTsa:
    with LocalTsa() as authority:
        yield authority


@pytest.fixture(scope="module")
def sealed(tsa: LocalTsa, tmp_path_factory: pytest.TempPathFactory) -> tuple[SweepRun, Path]:
    data_dir = tmp_path_factory.mktemp("evidence")
    with Simulator() as sim:
        run = run_sweep(sim.origin_arg, data_dir, "--platforms", "weibo", "-a", "keywords=停止催收",
                        env={"ADWATCH_TSA_URL": tsa.url, "ADWATCH_TSA_CA_FILE": str(tsa.ca_file)})
    assert run.proc.returncode == 0, run.output[-3000:]
    packages = sorted((data_dir / "evidence").glob("AW-*.zip"))
    assert len(packages) == 1, run.output[-2000:]
    return run, packages[0]


def _verify_cli(path: Path, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADWATCH_")}
    env.update({"ADWATCH_DATA_DIR": str(data_dir), "PYTHONPATH": str(PROJECT)})
    return subprocess.run([sys.executable, "-m", "scrapy", "verify-evidence", str(path), *args], cwd=PROJECT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_sealed_package_verifies(sealed: tuple[SweepRun, Path], tsa: LocalTsa) -> None:
    run, archive = sealed
    verdict = verify_package(archive, tsa.ca_file)
    assert verdict.ok, verdict.failures
    assert verdict.stamped_at is not None and verdict.checked >= 10
    folder = archive.with_suffix("")
    names = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert any(n.endswith("/screenshot.png") for n in names) and any(n.endswith("/page.html") for n in names)
    assert any(n.endswith("/raw.json") for n in names) and any(n.startswith("reports/takedown-weibo") for n in names)
    assert any(n.startswith("capture-records/") for n in names)
    proc = _verify_cli(archive, run.data_dir, "--tsa-ca", str(tsa.ca_file))
    assert proc.returncode == 0 and "OK" in proc.stdout, proc.stdout + proc.stderr


def test_stock_openssl_confirms_the_token(sealed: tuple[SweepRun, Path], tsa: LocalTsa) -> None:
    folder = sealed[1].with_suffix("")
    check = subprocess.run(["sha256sum", "-c", manifest.MANIFEST], cwd=folder, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout[-2000:]
    proc = subprocess.run(["openssl", "ts", "-verify", "-data", manifest.MANIFEST, "-in", TOKEN, "-CAfile",
                           str(tsa.ca_file)], cwd=folder, capture_output=True, text=True)
    assert "Verification: OK" in proc.stdout + proc.stderr


def test_a_changed_byte_and_a_missing_file_are_named(sealed: tuple[SweepRun, Path], tsa: LocalTsa,
                                                     tmp_path: Path) -> None:
    run, archive = sealed
    copy = tmp_path / "pkg"
    shutil.copytree(archive.with_suffix(""), copy)
    shot = next(copy.rglob("screenshot.png"))
    data = bytearray(shot.read_bytes())
    data[len(data) // 2] ^= 0x01
    shot.write_bytes(bytes(data))
    gone = next(copy.rglob("raw.json"))
    gone.unlink()
    verdict = verify_package(copy, tsa.ca_file)
    rel = lambda p: p.relative_to(copy).as_posix()  # noqa: E731
    assert f"changed: {rel(shot)}" in verdict.failures
    assert f"missing: {rel(gone)}" in verdict.failures
    assert len(verdict.failures) == 2, verdict.failures
    proc = _verify_cli(copy, run.data_dir, "--tsa-ca", str(tsa.ca_file))
    assert proc.returncode == 1 and f"FAIL changed: {rel(shot)}" in proc.stdout


def test_a_token_of_another_manifest_fails(sealed: tuple[SweepRun, Path], tsa: LocalTsa, tmp_path: Path) -> None:
    from reports.evidence.timestamp import request_stamp

    copy = tmp_path / "pkg"
    shutil.copytree(sealed[1].with_suffix(""), copy)
    other = request_stamp(b"another batch's manifest\n", tsa.url)
    (copy / TOKEN).write_bytes(other.token)
    verdict = verify_package(copy, tsa.ca_file)
    assert len(verdict.failures) == 1 and verdict.failures[0].startswith(f"token: {TOKEN} does not verify")


def test_a_token_from_an_untrusted_tsa_fails(sealed: tuple[SweepRun, Path], tmp_path: Path) -> None:
    with LocalTsa(name="someone else") as stranger:
        verdict = verify_package(sealed[1], stranger.ca_file)
    assert not verdict.ok and "token" in verdict.failures[0]


def test_package_index_lists_every_file_with_its_hash(sealed: tuple[SweepRun, Path]) -> None:
    from playwright.sync_api import sync_playwright

    folder = sealed[1].with_suffix("")
    listed = manifest.parse((folder / manifest.MANIFEST).read_bytes())
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto((folder / "index.html").as_uri())
            rows = page.eval_on_selector_all("#files tr", "rs => rs.slice(1).map(r => [r.cells[0].innerText, r.cells[2].innerText])")
        finally:
            browser.close()
    shown = dict(rows)
    assert {k: v for k, v in listed.items() if k != "index.html"} == shown
