"""A calm console: a sweep prints progress and the summary, its log goes to a file, the index page links every
request, and ``scrapy doctor`` names each broken prerequisite in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT
from tests.simulator import Simulator

CHROMIUM = os.environ.get("ADWATCH_CHROMIUM") or "/usr/bin/chromium"


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower() and not k.startswith("ADWATCH_")}
    env.update({"ADWATCH_DATA_DIR": str(data_dir), "PYTHONPATH": str(PROJECT)}, **extra)
    return env


@pytest.fixture(scope="module")
def quiet_sweep(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """A sweep of two platforms as a person runs it (no -v), its output captured as cron or CI would."""
    data_dir = tmp_path_factory.mktemp("quiet")
    with Simulator() as sim:
        proc = subprocess.run(
            [sys.executable, "-m", "scrapy", "sweep", "--origin", sim.origin_arg, "--platforms", "weibo,douyin",
             "-a", "keywords=停息挂账"],
            cwd=PROJECT, env=_env(data_dir), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc, data_dir


def test_sweep_prints_a_short_summary_and_logs_to_a_file(quiet_sweep: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    proc, data_dir = quiet_sweep
    lines = (proc.stdout + proc.stderr).splitlines()
    assert len(lines) <= 40, "\n".join(lines)
    assert not any("[scrapy" in line or "Traceback" in line for line in lines), "\n".join(lines)
    assert any(line.strip().startswith("weibo ") for line in lines) and any(line.strip().startswith("douyin ") for line in lines)
    assert lines[-1].strip().startswith("log: ")
    log = Path(lines[-1].split("log:", 1)[1].strip())
    assert log.parent == data_dir / "logs"
    text = log.read_text(encoding="utf-8")
    assert "Spider closed (finished)" in text and "adwatch/weibo/pages" in text
    assert "Deprecat" not in text, [line for line in text.splitlines() if "Deprecat" in line]
    assert any(line.strip().startswith("open first: ") for line in lines)


def test_index_page_links_every_platform_request(quiet_sweep: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    from playwright.sync_api import sync_playwright

    _, data_dir = quiet_sweep
    root = data_dir / "reports" / "index.html"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(root.as_uri())
            page.click("#latest")
            assert "adwatch 扫描" in page.title()
            assert page.locator("table tr").count() == 3  # header + two platforms
            hrefs = page.eval_on_selector_all("a.request", "els => els.map(e => e.href)")
            assert len(hrefs) == 2
            titles = set()
            for href in hrefs:
                page.goto(href)
                titles.add(page.title())
            assert {t.split(" ")[0] for t in titles} == {"微博", "抖音"}
            assert all("违法广告投诉" in t for t in titles)
        finally:
            browser.close()


def _doctor(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scrapy", "doctor", *args], cwd=PROJECT,
                          env=_env(data_dir, **env), capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def complainant(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("complainant") / "complainant.yaml"
    example = (PROJECT / "reports" / "complainant.example.yaml").read_text(encoding="utf-8")
    path.write_text(example, encoding="utf-8")
    return path


def test_doctor_passes_when_all_is_there(tmp_path: Path, complainant: Path) -> None:
    proc = _doctor(tmp_path, ADWATCH_COMPLAINANT=str(complainant))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "all checks passed" in proc.stdout and "FAIL" not in proc.stdout


@pytest.mark.parametrize(("broken", "env", "expect"), [
    ("browser", {"ADWATCH_CHROMIUM": "/nonexistent/chromium"}, "Chromium not found"),
    ("store", {"ADWATCH_DATA_DIR": "/dev/null/adwatch"}, "not writable"),
    ("elasticsearch", {"ADWATCH_ES_URL": "http://elastic:s3cret-pw@127.0.0.1:1"}, "unreachable"),
    ("complainant", {"ADWATCH_COMPLAINANT": str(PROJECT / "reports" / "complainant.example.yaml")}, "example file"),
])
def test_doctor_names_each_broken_check(tmp_path: Path, complainant: Path, broken: str, env: dict[str, str],
                                        expect: str) -> None:
    proc = _doctor(tmp_path, **{"ADWATCH_COMPLAINANT": str(complainant), **env})
    assert proc.returncode != 0
    failed = [line for line in proc.stdout.splitlines() if line.startswith("FAIL")]
    assert len(failed) == 1 and broken in failed[0] and expect in failed[0], proc.stdout
    assert "s3cret-pw" not in proc.stdout + proc.stderr


def test_doctor_demo_accepts_the_example_complainant(tmp_path: Path) -> None:
    proc = _doctor(tmp_path, "--demo")
    assert proc.returncode == 0, proc.stdout + proc.stderr
