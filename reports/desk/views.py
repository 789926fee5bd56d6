"""The desk's pages: the queue, one post, batches and their files, the dashboard and the audit log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required

from reports.desk.auth import LoginForm, allowed, desk, do_login, do_logout
from reports.desk.batches import DOWNLOADS, MIME, build_batch, download_path, seal
from reports.desk.labels import append_label
from reports.desk.results import COUNT_SERIES, bar_chart, results
from reports.evidence.capture import load_index
from reports.render import PLATFORMS

views = Blueprint("desk", __name__)
def platform_label(platform: str) -> str:
    return PLATFORMS.get(platform, {}).get("label", platform)


STATES = ("pending", "confirmed", "rejected", "batched", "all")
SHOW_CHARS = 20_000  # a 1 MB post is shown up to here on its page (the store and the package keep all of it)


@views.route("/login", methods=["GET", "POST"])
def login() -> Any:
    form = LoginForm()
    if form.validate_on_submit():
        if do_login(form):
            return redirect(url_for("desk.queue"))
        flash("用户名或密码错误")
    return render_template("login.html", form=form)


@views.post("/logout")
@login_required
def logout() -> Any:
    do_logout()
    return redirect(url_for("desk.login"))


def _state(uid: str, reviews: dict[str, Any], batched: dict[str, str]) -> str:
    if uid in batched:
        return "batched"
    review = reviews.get(uid)
    return review["decision"] if review else "pending"


@views.get("/")
@allowed("view")
def queue() -> Any:
    d = desk()
    state = request.args.get("state", "pending")
    state = state if state in STATES else "pending"
    platform = request.args.get("platform") or None
    reviews = d.db.reviews()
    batched = {t["uid"]: t["batch_id"] for t in d.db.targets()}
    posts, counts = [], dict.fromkeys(STATES, 0)
    for post in d.store.iter_posts(platform=platform, flagged=True):
        s = _state(post["uid"], reviews, batched)
        counts[s] += 1
        counts["all"] += 1
        if state in (s, "all"):
            posts.append({"post": post, "state": s, "review": reviews.get(post["uid"])})
    waiting = {p: len(d.db.unbatched_confirmed(p)) for p in sorted({r["platform"] for r in reviews.values()})}
    return render_template("queue.html", posts=posts, state=state, counts=counts, states=STATES,
                           platform=platform or "", waiting=waiting)


def found(value: dict[str, Any] | None) -> dict[str, Any]:
    """The post or batch asked for, or 404."""
    if value is None:
        abort(404)
    return value


@views.get("/post/<uid>")
@allowed("view")
def post(uid: str) -> Any:
    d = desk()
    p = found(d.store.get(uid))
    capture = load_index(d.cfg.evidence).get(uid)
    text = p.get("text") or ""
    batched = {t["uid"]: t["batch_id"] for t in d.db.targets()}
    return render_template("post.html", p=p, text=text[:SHOW_CHARS], cut=max(0, len(text) - SHOW_CHARS),
                           capture=capture, review=d.db.reviews().get(uid), batch=batched.get(uid))


@views.get("/post/<uid>/screenshot.png")
@allowed("view")
def screenshot(uid: str) -> Any:
    cfg = desk().cfg
    capture = load_index(cfg.evidence).get(uid)
    rel = capture.files.get("screenshot") if capture else None
    if not rel:
        abort(404)
    root = cfg.evidence.captures.resolve()
    path = (root / rel).resolve()
    if not path.is_relative_to(root) or not path.is_file():  # the index is data: never follow it out of captures/
        abort(404)
    return send_file(path, mimetype="image/png")


@views.post("/post/<uid>/review")
@allowed("review")
def review(uid: str) -> Any:
    d = desk()
    p = found(d.store.get(uid))
    decision = {"confirm": "confirmed", "reject": "rejected"}.get(request.form.get("decision", ""))
    if decision is None:
        abort(400)
    reason = request.form.get("reason", "")
    at = d.db.review(uid, p["platform"], decision, reason, current_user.name)
    append_label(d.cfg.labels, p, decision, reason.strip(), at)
    flash(f"{'已确认' if decision == 'confirmed' else '已驳回'}：{uid}")
    return redirect(url_for("desk.queue"))


@views.get("/batches")
@allowed("view")
def batches() -> Any:
    d = desk()
    platforms = sorted({r["platform"] for r in d.db.reviews().values()})
    waiting = {p: len(d.db.unbatched_confirmed(p)) for p in platforms}
    return render_template("batches.html", batches=d.db.batches(), waiting=waiting)


@views.post("/batches")
@allowed("file")
def new_batch() -> Any:
    d = desk()
    platform = request.form.get("platform", "")
    batch_id = build_batch(d.cfg, d.db, d.store, platform, current_user.name)
    return redirect(url_for("desk.batch", batch_id=batch_id))


@views.get("/batches/<batch_id>")
@allowed("view")
def batch(batch_id: str) -> Any:
    d = desk()
    b = found(d.db.batch(batch_id))
    files = {kind: download_path(d.cfg, b, kind).exists() for kind in DOWNLOADS}
    targets = [{**t, "post": d.store.get(t["uid"]) or {}} for t in d.db.targets(batch_id)]
    checks: dict[str, list[dict[str, Any]]] = {}
    for c in d.db.checks():
        checks.setdefault(c["uid"], []).append(c)
    return render_template("batch.html", b=b, files=files, targets=targets, checks=checks)


@views.get("/batches/<batch_id>/download/<kind>")
@allowed("view")
def download(batch_id: str, kind: str) -> Any:
    d = desk()
    b = found(d.db.batch(batch_id))
    if kind not in DOWNLOADS:
        abort(404)
    path = download_path(d.cfg, b, kind)
    if not path.is_file():
        abort(404)
    d.db.log(current_user.name, "download", batch_id, {"format": kind})
    # Always a download, never shown inside the desk: the request pages carry their own CSP.
    return send_file(path, mimetype=MIME.get(Path(path).suffix, "application/octet-stream"), as_attachment=True,
                     download_name=path.name)


@views.post("/batches/<batch_id>/seal")
@allowed("file")
def seal_evidence(batch_id: str) -> Any:
    d = desk()
    found(d.db.batch(batch_id))
    files = seal(d.cfg, d.db, d.store, batch_id, current_user.name)
    flash(f"证据已封存：{files} 个文件")
    return redirect(url_for("desk.batch", batch_id=batch_id))


@views.post("/batches/<batch_id>/file")
@allowed("file")
def file_batch(batch_id: str) -> Any:
    d = desk()
    found(d.db.batch(batch_id))
    d.db.file(batch_id, request.form.get("ticket", ""), current_user.name, d.cfg.recheck_after)
    flash(f"已标记为已投诉：{batch_id}")
    return redirect(url_for("desk.batch", batch_id=batch_id))


@views.get("/dashboard")
@allowed("view")
def dashboard() -> Any:
    cfg = desk().cfg
    res = results(desk().db, cfg.still_online_after)
    labelled = {platform_label(p): f for p, f in res["platforms"].items()}
    return render_template("dashboard.html", res=res, chart=bar_chart(labelled, COUNT_SERIES),
                           days=cfg.still_online_after.days)


@views.get("/audit")
@allowed("view")
def audit() -> Any:
    return render_template("audit.html", rows=desk().db.audit())
