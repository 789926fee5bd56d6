"""A real sweep against the simulator groups exactly the seeded operations, each link with its evidence; a bio-only
contact and a comment-only pitch are found and cited; ``scrapy operations`` lists them and writes a report."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.detection.contacts import find_contacts
from pipelines.detection.normalize import light_view
from pipelines.operations import OperationBook
from pipelines.operations.features import MIN_SHINGLES, shingles
from pipelines.operations.linker import UnionFind
from tests.conftest import PROJECT, SharedSweep, SweepRun
from tests.simulator.core import stored_uid
from tests.simulator.corpus import SimPost

@pytest.fixture
def swept(sweep_once: SharedSweep) -> tuple[SweepRun, dict[str, list[SimPost]]]:
    """The shared sweep of every platform (the operations span platforms) and the corpus it swept."""
    assert sweep_once.sim is not None
    return sweep_once, sweep_once.sim.corpus


def truth(corpus: dict[str, list[SimPost]]) -> dict[str, str]:
    """uid -> ground-truth group: a seeded operation by name; a base entry's copies (every platform posts it) when
    they share a contact, a picture or a script long enough to be one (a short generic phrase is everybody's), its
    reposts with it; decoys alone; groups whose texts hold one contact (read by the contact reader) joined."""
    by_id = {p.post_id: p for posts in corpus.values() for p in posts}
    uf = UnionFind()
    label: dict[str, str] = {}
    for posts in corpus.values():
        for p in posts:
            orig = by_id.get(p.extra.get("repost_of", "")) if "repost_of" in p.extra else p
            if p.operation:
                label[stored_uid(p)] = f"op:{p.operation}"
            elif p.family == "decoy":
                label[stored_uid(p)] = f"decoy:{stored_uid(p)}"
            elif len(shingles(orig.text)) >= MIN_SHINGLES or orig.image_texts or orig.frame_texts or any(
                    find_contacts(light_view(orig.text), orig.text, "")):
                label[stored_uid(p)] = f"entry:{orig.text}"
            else:
                label[stored_uid(p)] = f"alone:{stored_uid(orig)}"
            words = [orig.text, *orig.image_texts, *orig.frame_texts, orig.bio, *(c["text"] for c in orig.comment_texts)]
            for text in words:
                for c in find_contacts(light_view(text), text, ""):
                    uf.union(label[stored_uid(p)], f"contact:{c.kind}:{c.value}")
            uf.find(label[stored_uid(p)])
    return {uid: uf.find(lab) for uid, lab in label.items()}


def test_sweep_groups_exactly_the_seeded_operations(swept: tuple[SweepRun, dict[str, list[SimPost]]]) -> None:
    run, corpus = swept
    ground = truth(corpus)
    store = run.store()
    flagged = {p["uid"] for p in store.iter_posts(flagged=True)}
    book = OperationBook(run.data_dir / "adwatch.sqlite3")
    got: dict[str, set[str]] = {}
    for uid in flagged:
        if op := book.operation_of(uid):
            got.setdefault(op, set()).add(uid)
    want: dict[str, set[str]] = {}
    for uid in flagged:
        want.setdefault(ground[uid], set()).add(uid)
    want_groups = {frozenset(g) for g in want.values() if len(g) > 1}
    assert {frozenset(g) for g in got.values()} == want_groups
    seeded = {p.operation for posts in corpus.values() for p in posts if p.operation}
    members = {name: {stored_uid(p) for posts in corpus.values() for p in posts if p.operation == name}
               for name in seeded}
    for name, uids in members.items():  # each seeded operation: one operation, all its members, nothing else
        ops = {book.operation_of(uid) for uid in uids}
        assert len(ops) == 1 and None not in ops, (name, ops)
        assert got[ops.pop()] == uids, name
    decoys = [stored_uid(p) for posts in corpus.values() for p in posts if p.family == "decoy"]
    assert decoys and all(book.operation_of(uid) is None for uid in decoys)


def test_every_link_shows_its_evidence(swept: tuple[SweepRun, dict[str, list[SimPost]]]) -> None:
    run, corpus = swept
    book = OperationBook(run.data_dir / "adwatch.sqlite3")
    kinds: dict[str, set[str]] = {}
    for summary in book.operations():
        op = book.operation(summary.id)
        assert op is not None and op.links
        for link in op.links:
            assert link.kind in {"contact", "landing", "text", "picture", "author", "repost"} and link.value
            if link.kind == "text":
                assert link.detail["jaccard"] >= 0.45
            if link.kind == "picture":
                assert link.detail["distance"] <= 8
            if link.kind in ("contact", "landing"):
                assert link.detail["where"]
        name = next((p.operation for posts in corpus.values() for p in posts if stored_uid(p) in op.posts and p.operation), None)
        if name:
            kinds[name] = {ln.kind for ln in op.links}
    assert "contact" in kinds["anxin_contact"]
    assert "text" in kinds["shangan_script"]
    assert "picture" in kinds["poster_repost"]
    assert "landing" in kinds["landing_link"]


def test_bio_only_contact_and_comment_only_pitch_are_cited(swept: tuple[SweepRun, dict[str, list[SimPost]]]) -> None:
    run, corpus = swept
    store = run.store()
    special = {p.kind: p for posts in corpus.values() for p in posts if p.kind in ("bio", "comment")}
    bio_post = store.get(stored_uid(special["bio"]))
    assert bio_post["flagged"] and bio_post["author"]["bio"] == special["bio"].bio
    assert {"kind": "wechat", "value": "anxin_2088", "source": "bio"}.items() <= next(
        c for c in bio_post["contacts"] if c["source"] == "bio").items()
    assert "[author bio" in bio_post["detection"]["explanation"]
    comment_post = store.get(stored_uid(special["comment"]))
    assert comment_post["flagged"] and comment_post["comments"][0]["text"].startswith("停息挂账")
    cited = [m for m in comment_post["detection"]["matches"] if m["source"] == "comment:0"]
    assert {m["kind"] for m in cited} >= {"category", "cta"}
    assert any(c["source"] == "comment:0" and c["value"] == "anxin_2088" for c in comment_post["contacts"])
    # ... and they link the two posts into their operation by that contact, the evidence saying where it was found.
    book = OperationBook(run.data_dir / "adwatch.sqlite3")
    op = book.operation(book.operation_of(bio_post["uid"]) or "")
    assert op is not None and comment_post["uid"] in op.posts
    wheres = {(ln.detail.get("where"), ln.detail.get("where_other")) for ln in op.links if ln.kind == "contact"}
    assert any("bio" in w for w in wheres) and any("comment:0" in w for w in wheres)


def test_operations_command_lists_and_reports(swept: tuple[SweepRun, dict[str, list[SimPost]]],
                                              tmp_path: Path) -> None:
    run, _ = swept
    # The command opens the store read-write: on a copy, so the shared sweep's store stays as the sweep left it.
    src, dst = sqlite3.connect(run.data_dir / "adwatch.sqlite3"), sqlite3.connect(tmp_path / "adwatch.sqlite3")
    src.backup(dst)
    src.close()
    dst.close()
    env = {"ADWATCH_DATA_DIR": str(tmp_path), "PYTHONPATH": str(PROJECT), "PATH": "/usr/bin:/bin"}
    listed = subprocess.run([sys.executable, "-m", "scrapy", "operations"], cwd=PROJECT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr[-2000:]
    book = OperationBook(run.data_dir / "adwatch.sqlite3")
    op = max(book.operations(), key=lambda o: "wechat:anxin_2088" in o.contacts)
    assert op.id in listed.stdout
    out = tmp_path / "op-report"
    made = subprocess.run([sys.executable, "-m", "scrapy", "operations", op.id, "--out", str(out)], cwd=PROJECT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr[-2000:]
    html = (out / f"{op.id}.html").read_text(encoding="utf-8")
    assert "<svg" in html and html.count("<circle") == op.size and "anxin_2088" in html
    assert "author bio" in html and "<script" not in html.split("<svg")[1]
