"""``scrapy doctor``: what a sweep needs, checked one by one, each failure said in one line with its fix.

Each check is a function ``(settings) -> Finding | None`` (None: not applicable here, e.g. Elasticsearch when no
URL is configured). Checks never print secrets: URLs are shown without their credentials.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from scrapy.settings import BaseSettings

from pipelines.store import store_path

EXAMPLE_COMPLAINANT = "complainant.example.yaml"


@dataclass(frozen=True)
class Finding:
    """One check's outcome: ``ok`` and one line (what is wrong and how to fix it, or what was found)."""

    name: str
    ok: bool
    line: str


Check = Callable[[BaseSettings], "Finding | None"]


def check_browser(settings: BaseSettings) -> Finding:
    """Chromium found and launchable (Playwright drives Debian's chromium; it never downloads its own)."""
    path = (settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS") or {}).get("executable_path") or "/usr/bin/chromium"
    if not Path(path).exists():
        return Finding("browser", False, f"Chromium not found at {path}: `apt-get install chromium` or set ADWATCH_CHROMIUM")
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=path, headless=True, args=["--no-sandbox"])
            version = browser.version
            browser.close()
    except Exception as exc:  # any launch failure is the finding itself
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return Finding("browser", False, f"Chromium at {path} does not start ({first}): reinstall chromium")
    return Finding("browser", True, f"Chromium {version} at {path}")


def check_fonts(settings: BaseSettings) -> Finding:
    """CJK fonts, so screenshots and PDFs show Chinese rather than boxes."""
    if not shutil.which("fc-list"):
        return Finding("fonts", False, "fontconfig missing: `apt-get install fontconfig fonts-noto-cjk`")
    out = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, timeout=30).stdout
    if not out.strip():
        return Finding("fonts", False, "no CJK font: `apt-get install fonts-noto-cjk`")
    return Finding("fonts", True, f"CJK fonts: {out.strip().splitlines()[0].split(',')[0]}")


def check_ocr(settings: BaseSettings) -> Finding | None:
    """The configured OCR engine loads its bundled models (never a download)."""
    engine = settings.get("ADWATCH_OCR_ENGINE", "rapidocr")
    if not engine:
        return None
    try:
        from pipelines.ocr import make_engine

        make_engine(engine, settings.get("ADWATCH_OCR_MODEL_DIR", ""))
    except Exception as exc:
        return Finding("ocr", False, f"OCR engine {engine!r} does not load ({exc}): run `make setup`, "
                                     "or set ADWATCH_OCR_ENGINE=rapidocr")
    return Finding("ocr", True, f"OCR engine {engine} loads its models")


def check_store(settings: BaseSettings) -> Finding:
    """The embedded store can be written (a write in a transaction that is rolled back)."""
    path = store_path(settings)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(path, timeout=5)
        try:
            con.execute("BEGIN IMMEDIATE")
            con.execute("CREATE TABLE IF NOT EXISTS adwatch_doctor (x)")
            con.execute("ROLLBACK")
        finally:
            con.close()
    except (OSError, sqlite3.Error) as exc:
        return Finding("store", False, f"store {path} is not writable ({exc}): fix its permissions or set ADWATCH_DATA_DIR")
    return Finding("store", True, f"store {path} is writable")


def _public_url(url: str) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else "")).geturl() if parts.hostname else url


def check_elasticsearch(settings: BaseSettings) -> Finding | None:
    """When ADWATCH_ES_URL is set: the cluster answers and adwatch's index template is installed."""
    if not settings.get("ADWATCH_ES_URL"):
        return None
    from pipelines.es_schema import template_name
    from pipelines.es_client import EsConfig, make_client

    config = EsConfig.from_settings(settings)
    where = _public_url(config.url)
    try:
        client = make_client(config)
        client.info()
    except Exception as exc:
        return Finding("elasticsearch", False, f"Elasticsearch at {where} is unreachable ({type(exc).__name__}): "
                                               "start it or fix ADWATCH_ES_URL")
    try:
        installed = bool(client.indices.exists_index_template(name=template_name(config.index)))
    except Exception as exc:
        return Finding("elasticsearch", False, f"Elasticsearch at {where}: cannot read templates ({type(exc).__name__})")
    if not installed:
        return Finding("elasticsearch", False, f"Elasticsearch at {where} has no {template_name(config.index)}: "
                                               "run `scrapy reindex` (it installs the template)")
    return Finding("elasticsearch", True, f"Elasticsearch at {where}, template installed")


def check_complainant(settings: BaseSettings) -> Finding:
    """The complainant file exists, is complete and is not the example."""
    path = settings.get("ADWATCH_COMPLAINANT") or ""
    if Path(path).name == EXAMPLE_COMPLAINANT:
        return Finding("complainant", False, "ADWATCH_COMPLAINANT is the example file: copy reports/complainant.example.yaml, "
                                             "fill in your institution and point ADWATCH_COMPLAINANT at it")
    try:
        from reports.render import load_complainant

        load_complainant(path)
    except (OSError, ValueError) as exc:
        return Finding("complainant", False, f"complainant file: {exc}")
    return Finding("complainant", True, f"complainant file {path}")


# Checks other rooms add (sessions, Redis) register here: name -> check.
CHECKS: dict[str, Check] = {
    "browser": check_browser,
    "fonts": check_fonts,
    "ocr": check_ocr,
    "store": check_store,
    "elasticsearch": check_elasticsearch,
    "complainant": check_complainant,
}
# What `make demo` needs: the demo's reports are not filed, so its example complainant is fine.
DEMO_SKIPS = frozenset({"complainant"})


def run_checks(settings: BaseSettings, demo: bool = False) -> list[Finding]:
    findings = []
    for name, check in CHECKS.items():
        if demo and name in DEMO_SKIPS:
            continue
        finding = check(settings)
        if finding is not None:
            findings.append(finding)
    return findings
