"""Which sessions a platform has: saved Playwright storage states (``scrapy login``), anonymous ones, proxies."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from http.cookiejar import Cookie
from pathlib import Path
from typing import Any, Self
from urllib.parse import unquote, urlsplit, urlunsplit

from scrapy.settings import BaseSettings

from pipelines.store import data_dir


@dataclass(frozen=True)
class SessionSpec:
    """One session: a name (the state file's stem, or ``anon-N``), its storage state file and its proxy.

    ``repr`` never shows the proxy's credentials: a spec may end up in a log line or a traceback.
    """

    name: str
    state_path: Path | None = None
    proxy: str | None = field(default=None, repr=False)

    @property
    def proxy_label(self) -> str:
        return redact_url(self.proxy) if self.proxy else "direct"

    def cookies(self) -> list[dict[str, Any]]:
        """The storage state's cookies (Playwright's shape), or none for an anonymous session."""
        if self.state_path is None:
            return []
        return read_state(self.state_path).get("cookies") or []


@dataclass(frozen=True)
class SessionsConfig:
    """Session and refusal-policy settings, read once."""

    sessions_dir: Path
    proxies: tuple[str, ...]
    anonymous: int
    backoff: float
    max_backoff: float
    retire_after: int
    stop_after: int

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> Self:
        return cls(
            sessions_dir=sessions_dir(settings),
            proxies=tuple(p.strip() for p in settings.getlist("ADWATCH_PROXIES") if p.strip()),
            anonymous=max(1, settings.getint("ADWATCH_ANONYMOUS_SESSIONS", 2)),
            backoff=settings.getfloat("ADWATCH_REFUSAL_BACKOFF", 5.0),
            max_backoff=settings.getfloat("ADWATCH_REFUSAL_MAX_BACKOFF", 600.0),
            retire_after=max(1, settings.getint("ADWATCH_SESSION_RETIRE_AFTER", 3)),
            stop_after=max(1, settings.getint("ADWATCH_REFUSAL_STOP_AFTER", 6)),
        )

    def specs(self, platform: str) -> list[SessionSpec]:
        """The platform's saved sessions (``<sessions dir>/<platform>/*.json``); anonymous ones when it has none.

        Proxies (``ADWATCH_PROXIES``) are dealt out to the sessions in turn.
        """
        saved = sorted(self.platform_dir(platform).glob("*.json")) if self.platform_dir(platform).is_dir() else []
        named: list[tuple[str, Path | None]] = [(p.stem, p) for p in saved] or [
            (f"anon-{i + 1}", None) for i in range(self.anonymous)
        ]
        return [SessionSpec(name, path, self.proxies[i % len(self.proxies)] if self.proxies else None)
                for i, (name, path) in enumerate(named)]

    def platform_dir(self, platform: str) -> Path:
        return self.sessions_dir / platform


def sessions_dir(settings: BaseSettings) -> Path:
    return Path(settings.get("ADWATCH_SESSIONS_DIR") or data_dir(settings) / "sessions")


def redact_url(url: str) -> str:
    """``scheme://host:port`` of a proxy URL: never its user or password."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    host = parts.hostname or "?"
    return urlunsplit((parts.scheme, f"{host}:{parts.port}" if parts.port else host, "", "", ""))


def read_state(path: Path) -> dict[str, Any]:
    """A Playwright storage state (``{"cookies": [...], "origins": [...]}``); an unreadable one counts as empty."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_state(path: Path, state: dict[str, Any]) -> None:
    """Save a storage state readable by its owner only (it holds login cookies)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(state, fh, ensure_ascii=False)
    tmp.replace(path)


def to_cookie(c: dict[str, Any]) -> Cookie:
    """A Playwright storage-state cookie as an ``http.cookiejar`` one (for plain-HTTP sessions)."""
    domain = str(c.get("domain") or "")
    expires = c.get("expires")
    return Cookie(
        version=0, name=str(c.get("name")), value=str(c.get("value")), port=None, port_specified=False,
        domain=domain, domain_specified=domain.startswith("."), domain_initial_dot=domain.startswith("."),
        path=str(c.get("path") or "/"), path_specified=True, secure=bool(c.get("secure")),
        expires=int(expires) if isinstance(expires, (int, float)) and expires > 0 else None,
        discard=not (isinstance(expires, (int, float)) and expires > 0), comment=None, comment_url=None,
        rest={"HttpOnly": ""} if c.get("httpOnly") else {},
    )


def playwright_proxy(url: str) -> dict[str, str]:
    """A proxy URL as Playwright's ``proxy`` option; loopback is proxied too (Chromium bypasses it by default)."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    out = {"server": redact_url(url), "bypass": "<-loopback>"}
    if parts.username:
        out["username"] = unquote(parts.username)
    if parts.password:
        out["password"] = unquote(parts.password)
    return out


def cookie_expiry(c: dict[str, Any], now: float | None = None) -> str:
    """``session`` / ``expired`` / ``expires in 12 d`` for a storage-state cookie (the health check)."""
    expires = c.get("expires")
    if not isinstance(expires, (int, float)) or expires <= 0:
        return "session cookie"
    left = expires - (now if now is not None else time.time())
    if left <= 0:
        return "expired"
    return f"expires in {left / 86400:.0f} d" if left >= 86400 else f"expires in {left / 3600:.1f} h"
