"""``scrapy login``: log a platform account in a visible browser and save its storage state; the health check.

The browser is Debian's Chromium driven by Playwright (never a downloaded one). The login itself is the
platform's own page (QR code or password): adwatch only waits until the cookie that marks a logged-in session
appears, then saves the context's storage state (cookies and local storage) readable by its owner only.
Nothing here prints a cookie's value.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crawler.sessions.specs import SessionsConfig, cookie_expiry, read_state, write_state


@dataclass(frozen=True)
class Health:
    """One saved session's state as the health check sees it (no cookie values)."""

    platform: str
    name: str
    logged_in: bool
    detail: str

    def line(self) -> str:
        return f"{self.platform}/{self.name}: {'logged in' if self.logged_in else 'NOT logged in'} ({self.detail})"


def check(config: SessionsConfig, platform: str, cookie_name: str, now: float | None = None) -> list[Health]:
    """Which saved sessions of ``platform`` hold a live ``cookie_name`` cookie (offline: no request is sent)."""
    folder = config.platform_dir(platform)
    out: list[Health] = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        cookies = [c for c in read_state(path).get("cookies") or [] if c.get("name") == cookie_name]
        if not cookies:
            out.append(Health(platform, path.stem, False, f"no {cookie_name} cookie"))
            continue
        expiry = cookie_expiry(cookies[0], now)
        out.append(Health(platform, path.stem, expiry != "expired", f"{cookie_name} {expiry}"))
    return out


def login(url: str, cookie_name: str, state_path: Path, launch_options: dict[str, Any], headless: bool = False,
          timeout: float = 300.0, poll: float = 1.0) -> bool:
    """Open ``url`` in a browser and wait (up to ``timeout`` s) for ``cookie_name``; save the state when it comes.

    Returns False when the user did not log in in time (nothing is saved then).
    """
    from playwright.sync_api import sync_playwright

    options = {**launch_options, "headless": headless}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(**options)
        try:
            context = browser.new_context()
            page = context.new_page()
            page.goto(url)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if any(c.get("name") == cookie_name for c in context.cookies()):
                    write_state(state_path, dict(context.storage_state()))
                    return True
                page.wait_for_timeout(poll * 1000)
            return False
        finally:
            browser.close()
