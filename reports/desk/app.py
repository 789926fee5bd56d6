"""The desk's web app: Flask, server-rendered, no JavaScript. Login (Flask-Login), CSRF on every POST (Flask-WTF),
roles checked in one place (:data:`reports.desk.auth.PERMISSIONS`), and the same escaping rules as the
reports (autoescape, StrictUndefined, http(s)-only links) plus a Content-Security-Policy that allows no script.

Entry point: :func:`create_app`; ``scrapy desk`` serves it on 127.0.0.1 by default.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from flask import Flask, render_template, request
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from jinja2 import StrictUndefined

from crawler.utils import CN_TZ, parse_iso
from pipelines.store import SqliteStore
from reports.desk.auth import Desk, DeskUser
from reports.desk.config import DeskConfig
from reports.desk.db import DeskDb, DeskError
from reports.desk.views import views
from reports.render import CATEGORY_LABELS, PLATFORMS, safe_url

CSP = ("default-src 'none'; img-src 'self'; style-src 'self' 'unsafe-inline'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


def secret_key(path: Path) -> bytes:
    """The session-signing key: made once, kept 0600 beside the data; never logged."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(32))
    return path.read_bytes()


def beijing(value: Any) -> str:
    when = parse_iso(value) if isinstance(value, str) else value
    if not isinstance(when, datetime):
        return ""
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(CN_TZ).strftime("%Y-%m-%d %H:%M:%S")


def create_app(cfg: DeskConfig, clock: Callable[[], datetime] | None = None) -> Flask:
    app = Flask(__name__, template_folder="templates")
    app.config.update(
        SECRET_KEY=secret_key(cfg.secret_file), SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True, MAX_CONTENT_LENGTH=64 * 1024, WTF_CSRF_TIME_LIMIT=8 * 3600,
    )
    app.jinja_env.undefined = StrictUndefined
    app.jinja_env.filters.update(safe_url=safe_url, beijing=beijing)
    app.jinja_env.globals.update(PLATFORMS=PLATFORMS, CATEGORY_LABELS=CATEGORY_LABELS)
    db = DeskDb(cfg.store, clock) if clock else DeskDb(cfg.store)
    app.extensions["adwatch_desk"] = Desk(cfg, db, SqliteStore(cfg.store))
    CSRFProtect(app)
    logins = LoginManager(app)
    logins.login_view = "desk.login"
    logins.login_message = "请先登录"

    @logins.user_loader
    def load_user(name: str) -> DeskUser | None:
        row = db.user(name)
        return DeskUser(row["name"], row["role"]) if row else None

    @app.after_request
    def headers(response: Any) -> Any:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.errorhandler(CSRFError)
    def csrf_refused(exc: CSRFError) -> Any:
        who = current_user.name if current_user.is_authenticated else "-"
        db.log(who, "csrf-refused", request.path[:200], exc.description)
        return render_template("error.html", status=400, message=f"请求被拒绝：CSRF 校验失败（{exc.description}）"), 400

    @app.errorhandler(DeskError)
    def desk_refused(exc: DeskError) -> Any:
        return render_template("error.html", status=409, message=str(exc)), 409

    @app.errorhandler(403)
    def forbidden(exc: Any) -> Any:
        return render_template("error.html", status=403, message="没有权限：你的角色不能执行此操作"), 403

    app.register_blueprint(views)
    return app
