"""Who is at the desk and what they may do: the login form, the user and their role, the one permission table
(:data:`PERMISSIONS`), the :func:`allowed` decorator every view uses, and what the views share (:class:`Desk`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import abort, current_app, request
from flask_login import UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from pipelines.store import SqliteStore
from reports.desk.config import DeskConfig
from reports.desk.db import DeskDb

# Who may do what: the one place permissions are decided.
PERMISSIONS: dict[str, frozenset[str]] = {
    "view": frozenset({"reviewer", "filer", "viewer"}),
    "review": frozenset({"reviewer"}),
    "file": frozenset({"filer"}),
}


@dataclass
class Desk:
    """What the views share: settings, the desk's tables and the store."""

    cfg: DeskConfig
    db: DeskDb
    store: SqliteStore


class DeskUser(UserMixin):
    def __init__(self, name: str, role: str) -> None:
        self.id = name
        self.name = name
        self.role = role

    def can(self, action: str) -> bool:
        return self.role in PERMISSIONS.get(action, frozenset())


class LoginForm(FlaskForm):
    name = StringField("用户名", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired(), Length(max=200)])


def desk() -> Desk:
    return current_app.extensions["adwatch_desk"]


def allowed(action: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Views that need ``action``: a user without it gets 403 (and an audit line)."""
    def wrap(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        @login_required
        def inner(*args: Any, **kwargs: Any) -> Any:
            if not current_user.can(action):
                desk().db.log(current_user.name, "denied", request.path[:200], {"needs": action})
                abort(403)
            return view(*args, **kwargs)
        return inner
    return wrap


def do_login(form: LoginForm) -> bool:
    row = desk().db.authenticate(form.name.data or "", form.password.data or "")
    if row is None:
        return False
    login_user(DeskUser(row["name"], row["role"]))
    return True


def do_logout() -> None:
    desk().db.log(current_user.name, "logout", current_user.name)
    logout_user()
