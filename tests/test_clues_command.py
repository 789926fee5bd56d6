"""``scrapy clues`` as two institutions run it, each on its own data dir, exchanging files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.clues_synth import make_institution, planted_clues, run_clues as _clues


@pytest.fixture(scope="module")
def banks(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, int]:
    root = tmp_path_factory.mktemp("clue-cli")
    planted = planted_clues(2)
    for which, name in enumerate(("a", "b")):
        make_institution(root / name / "adwatch.sqlite3", which, 120, planted)
    return root / "a", root / "b", len(planted)


def test_export_respond_match_records_the_overlap(banks, tmp_path):
    a, b, overlap = banks
    out = _clues(a, "bank-a", "export", "--out", str(tmp_path / "a.clues"))
    assert out.returncode == 0, out.stderr
    assert "exported batch" in out.stdout and "account" in out.stdout
    assert list((a / "clue-keys").glob("*.key"))  # the key stays in A's data dir
    out = _clues(b, "bank-b", "respond", "--in", str(tmp_path / "a.clues"), "--out", str(tmp_path / "b.clues"))
    assert out.returncode == 0, out.stderr
    assert not (b / "clue-keys").exists()  # B's response key is never stored
    out = _clues(a, "bank-a", "match", "--in", str(tmp_path / "b.clues"))
    assert out.returncode == 0, out.stderr
    assert f"bank-b also holds {overlap} of our clues" in out.stdout
    with sqlite3.connect(a / "adwatch.sqlite3") as db:
        assert db.execute("SELECT COUNT(*), COUNT(DISTINCT member) FROM clue_matches").fetchone() == (overlap, 1)


def test_hmac_with_another_key_matches_nothing_and_says_so(banks, tmp_path):
    a, b, overlap = banks
    (tmp_path / "k1").write_text("1" * 64)
    (tmp_path / "k2").write_text("2" * 64)
    out = _clues(b, "bank-b", "export", "--mode", "hmac", "--out", str(tmp_path / "b.clues"), key_file=tmp_path / "k1")
    assert out.returncode == 0, out.stderr
    out = _clues(a, "bank-a", "match", "--in", str(tmp_path / "b.clues"), key_file=tmp_path / "k2")
    assert out.returncode == 1 and "another alliance key" in out.stdout
    out = _clues(a, "bank-a", "match", "--in", str(tmp_path / "b.clues"), key_file=tmp_path / "k1")
    assert out.returncode == 0 and f"also holds {overlap} of our clues" in out.stdout


def test_bad_use_gets_a_clear_message(banks, tmp_path):
    a, _, _ = banks
    out = _clues(a, "", "export", "--out", str(tmp_path / "x.clues"))
    assert out.returncode == 1 and "member name is missing" in out.stdout
    assert not (tmp_path / "x.clues").exists()
    out = _clues(a, "bank-a", "export", "--mode", "hmac", "--out", str(tmp_path / "x.clues"))
    assert out.returncode == 1 and "alliance key file" in out.stdout
    (tmp_path / "junk.clues").write_text("{not json")
    out = _clues(a, "bank-a", "match", "--in", str(tmp_path / "junk.clues"))
    assert out.returncode == 1 and "cannot read" in out.stdout
    out = _clues(a, "bank-a", "respond", "--in", str(tmp_path / "junk.clues"))
    assert out.returncode != 0 and "needs --out" in out.stderr
    out = _clues(a, "bank-a", "forget", "--batch", "0" * 32)
    assert out.returncode == 1 and "no batch" in out.stdout


def test_index_without_elasticsearch_says_so(banks):
    a, _, _ = banks
    out = _clues(a, "bank-a", "index")
    assert out.returncode == 1 and "Elasticsearch is not configured" in out.stdout
