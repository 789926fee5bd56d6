"""What the desk tests share: a desk served on 127.0.0.1:0 in a thread, logins and form posts in real Chromium."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from scrapy.settings import Settings
from scrapy.utils.project import get_project_settings

from reports.desk.app import create_app
from reports.desk.config import DeskConfig
from tests.conftest import PROJECT

CHROMIUM = os.environ.get("ADWATCH_CHROMIUM") or "/usr/bin/chromium"
PASSWORD = "correct horse battery"


def desk_settings(data_dir: Path, **extra: Any) -> Settings:
    settings = get_project_settings().copy()
    settings.set("ADWATCH_DATA_DIR", str(data_dir), priority="cmdline")
    for key, value in extra.items():
        settings.set(key, value, priority="cmdline")
    return settings


def scrapy(data_dir: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None,
           timeout: float = 300) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if "proxy" not in k.lower() and not k.startswith("ADWATCH_")}
    full.update({"ADWATCH_DATA_DIR": str(data_dir), "PYTHONPATH": str(PROJECT)}, **(env or {}))
    return subprocess.run([sys.executable, "-m", "scrapy", *args], cwd=PROJECT, env=full, input=stdin,
                          capture_output=True, text=True, timeout=timeout)


def add_user(data_dir: Path, name: str, role: str) -> None:
    proc = scrapy(data_dir, "desk", "--add-user", name, "--role", role, "--password-stdin", stdin=PASSWORD + "\n")
    assert proc.returncode == 0, proc.stdout + proc.stderr


@contextmanager
def serve_desk(cfg: DeskConfig, clock: Callable[[], datetime] | None = None) -> Iterator[str]:
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, create_app(cfg, clock), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def login(page: Any, base: str, name: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login")
    page.wait_for_url(re.compile(r".*/(\?.*)?$"))
    assert name in page.inner_text("#whoami")
