"""Clue matching between institutions: two synthetic institutions (a few thousand clues each) with a planted
overlap in disguised spellings find exactly that overlap, and nothing else leaves either of them."""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
import stat
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from ahocorasick_rs import AhoCorasick, BytesAhoCorasick

from pipelines.clues import ClueBook, ClueConfig, ClueExchange, ClueFile, ClueFileError, ClueKeyError, ClueSet, HMAC
from pipelines.clues.protocol import match_response, respond
from pipelines.clues.psi import ABSENT
from tests.clues_synth import Institution, Planted, make_institution, planted_clues

ALLIANCE_KEY = "5f0c1e4b9a7d2c3e8f6a1b0d4c7e9f2a3b5d6c8e0f1a2b4c6d8e0f2a4b6c8d0e"
OTHER_KEY = "0f0c1e4b9a7d2c3e8f6a1b0d4c7e9f2a3b5d6c8e0f1a2b4c6d8e0f2a4b6c8d0e"


@dataclass
class Member:
    name: str
    inst: Institution
    exchange: ClueExchange
    clues: ClueSet


@pytest.fixture(scope="module")
def planted() -> list[Planted]:
    return planted_clues()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, planted: list[Planted]) -> dict[str, Member]:
    """Bank A and bank B (2500 posts each, every planted clue), bank C (300 posts, a fifth of the planted ones)."""
    root = tmp_path_factory.mktemp("clues")
    for name, key in (("alliance.key", ALLIANCE_KEY), ("other.key", OTHER_KEY)):
        (root / name).write_text(key + "\n")
    members = {}
    for which, (name, posts, shared) in enumerate((("bank-a", 2500, planted), ("bank-b", 2500, planted),
                                                   ("bank-c", 300, planted[:12]))):
        inst = make_institution(root / name / "adwatch.sqlite3", which, posts, shared)
        config = ClueConfig(store=inst.store, key_dir=root / name / "keys", member=name,
                            alliance_key_file=root / "alliance.key")
        exchange = ClueExchange(config)
        members[name] = Member(name, inst, exchange, exchange.our_clues())
    return members


def _clear_matches(member: Member) -> None:
    ClueBook(member.inst.store).close()  # makes the clue tables
    with sqlite3.connect(member.inst.store) as db:
        db.execute("DELETE FROM clue_matches")


def test_institutions_hold_thousands_of_clues_and_exactly_the_planted_overlap(world, planted):
    a, b = world["bank-a"].clues, world["bank-b"].clues
    assert len(a) > 3000 and len(b) > 3000
    # The planted clues are written differently by each bank, and normalise to the same clue.
    assert set(a.refs) & set(b.refs) == {p.clue for p in planted}
    assert {p.clue.kind for p in planted} == {"phone", "wechat", "qq", "telegram", "url", "account"}


def _forbidden(clues: ClueSet, planted: list[Planted]) -> tuple[set[str], set[bytes]]:
    """Every raw or plainly hashed rendering of a bank's clues: as text, and as binary digests."""
    texts: set[str] = set()
    digests: set[bytes] = set()
    kinds: dict[str, set[str]] = {form.strip(): set() for p in planted for form in p.forms}
    for c in clues.refs:
        kinds.setdefault(c.value, set()).add(c.kind)
    for value, of in kinds.items():
        texts.add(value)
        for kind_value in {value, *(f"{kind}{sep}{value}" for kind in of for sep in (":", "\0", ""))}:
            for algo in ("sha256", "md5", "sha1"):
                digest = hashlib.new(algo, kind_value.encode()).digest()
                digests.add(digest)
                texts.update({digest.hex(), base64.b64encode(digest).decode().rstrip("=")})
    return texts, digests


def _assert_nothing_raw(path: Path, clues: ClueSet, planted: list[Planted], *secrets: bytes) -> None:
    """No raw clue, no plain hash of one (hex, base64 or binary, aligned or not) and no key is in the file."""
    text = path.read_text()
    doc = json.loads(text)
    texts, digests = _forbidden(clues, planted)
    for secret in secrets:
        texts.update({secret.hex(), base64.b64encode(secret).decode().rstrip("=")})
        digests.add(secret)
    leaked = AhoCorasick(sorted(texts)).find_matches_as_strings(text, overlapping=True)
    assert not leaked, f"{path.name} holds raw clues, plain hashes or a key: {leaked[:5]}"
    blobs = [base64.b64decode(blob) for section in ("clues", "reblinded") for blob in (doc.get(section) or {}).values()]
    assert blobs and all(blobs)
    binary = BytesAhoCorasick(sorted(digests))
    assert not [m for blob in blobs for m in binary.find_matches_as_indexes(blob, overlapping=True)]


def test_ecdh_exchange_finds_exactly_the_overlap_and_no_file_holds_a_raw_clue(world, planted, tmp_path):
    a, b = world["bank-a"], world["bank-b"]
    for m in (a, b):
        _clear_matches(m)
    export, _ = a.exchange.export(tmp_path / "a.clues")
    assert export.counts() == a.clues.kinds()
    a_key = a.exchange.keys.load(export.batch)
    assert stat.S_IMODE((a.exchange.config.key_dir / f"{export.batch}.key").stat().st_mode) == 0o600
    _assert_nothing_raw(tmp_path / "a.clues", a.clues, planted, a_key)

    response, unusable = b.exchange.respond(tmp_path / "a.clues", tmp_path / "b-reply.clues")
    assert unusable == 0 and response.batch == export.batch and response.member == "bank-b"
    _assert_nothing_raw(tmp_path / "b-reply.clues", b.clues, planted, a_key)
    _assert_nothing_raw(tmp_path / "b-reply.clues", a.clues, planted)

    result = a.exchange.match(tmp_path / "b-reply.clues")
    assert result.member == "bank-b" and not result.unusable
    assert {h.clue for h in result.matched} == {p.clue for p in planted}
    # Each match points at bank A's own posts (and the account clues at A's accounts), not at B's.
    for held in result.matched:
        assert set(held.posts) == a.inst.posts_of[held.clue]
        if held.clue.kind == "account":
            assert held.accounts == (held.clue.value,)

    # The other way round: B exports, A responds, B learns the same overlap pointing at B's posts.
    b_export, _ = b.exchange.export(tmp_path / "b.clues")
    a.exchange.respond(tmp_path / "b.clues", tmp_path / "a-reply.clues")
    b_result = b.exchange.match(tmp_path / "a-reply.clues")
    assert {h.clue: set(h.posts) for h in b_result.matched} == b.inst.posts_of
    assert b_export.batch != export.batch


def test_seen_by_counts_members_for_contacts_accounts_and_posts(world, planted, tmp_path):
    a, b, c = world["bank-a"], world["bank-b"], world["bank-c"]
    _clear_matches(a)
    a.exchange.export(tmp_path / "a.clues")
    b.exchange.respond(tmp_path / "a.clues", tmp_path / "b.clues")
    c.exchange.respond(tmp_path / "a.clues", tmp_path / "c.clues")
    assert len(a.exchange.match(tmp_path / "b.clues").matched) == len(planted)
    assert {h.clue for h in a.exchange.match(tmp_path / "c.clues").matched} == {p.clue for p in planted[:12]}

    with ClueBook(a.inst.store) as book:
        matches = book.matches()
        assert len(matches) == len(planted)
        by_clue = {(m.kind, m.value): m for m in matches}
        for i, p in enumerate(planted):
            expected = 2 if i < 12 else 1
            assert by_clue[(p.clue.kind, p.clue.value)].members == expected
            # Any spelling of the clue answers, the partner's disguise included.
            assert book.seen_by(p.clue.kind, p.forms[1] if p.clue.kind != "account" else p.clue.value) == expected
        phone = next(p for p in planted[:12] if p.clue.kind == "phone")
        assert book.seen_by("phone", phone.forms[0]) == 2
        assert book.seen_by("phone", "13999999999") == 0
        account = next(p for p in planted[12:] if p.clue.kind == "account")
        assert book.seen_by("account", f"weibo:{account.forms[2]}") == 1
        post = sorted(a.inst.posts_of[phone.clue])[0]
        assert book.seen_by_posts([post, "weibo:0-1"]) == {post: 2}
        assert book.seen_by_accounts([account.clue.value]) == {account.clue.value: 1}

    # C answers again holding nothing in common any more: its earlier matches stop counting.
    empty = Member("bank-c", c.inst, c.exchange, ClueSet())
    with ClueBook(a.inst.store) as book:
        batch = json.loads((tmp_path / "a.clues").read_text())["batch"]
        response, _ = respond(ClueFile.read(tmp_path / "a.clues"), empty.clues, "bank-c")
        assert match_response(response, book, a.exchange.keys).matched == []
        assert book.seen_by(phone.clue.kind, phone.clue.value) == 1
        assert batch in [row[0] for row in book.batches()]


def test_mismatched_steps_find_nothing(world, tmp_path):
    a, b = world["bank-a"], world["bank-b"]
    first, _ = a.exchange.export(tmp_path / "first.clues")
    second, _ = a.exchange.export(tmp_path / "second.clues")
    assert first.counts() == second.counts()
    b.exchange.respond(tmp_path / "first.clues", tmp_path / "reply.clues")
    reply = ClueFile.read(tmp_path / "reply.clues")
    with ClueBook(a.inst.store) as book:
        # B answered the first batch; matched as if it answered the second (another key): nothing.
        assert match_response(replace(reply, batch=second.batch), book, a.exchange.keys).matched == []
        # B's own clues blinded under another key than A's re-blinded ones: nothing.
        other, _ = respond(first, b.clues, "bank-b")
        assert match_response(replace(reply, clues=other.clues), book, a.exchange.keys).matched == []
        # The steps done right find the overlap (the two above could not fail for a broken reason).
        assert match_response(reply, book, a.exchange.keys).matched
        with pytest.raises(ClueFileError, match="not one of our exports"):
            match_response(replace(reply, batch="f" * 32), book, a.exchange.keys)
        with pytest.raises(ClueFileError, match="does not answer batch"):
            short = {k: v[:-1] for k, v in reply.reblinded.items()}
            match_response(replace(reply, reblinded=short), book, a.exchange.keys)
    with pytest.raises(ClueFileError, match="needs a partner's response"):
        a.exchange.match(tmp_path / "first.clues")
    # A forgotten batch (key rotation) can no longer be matched.
    assert a.exchange.forget(first.batch)
    with pytest.raises(ClueFileError, match="forgotten"):
        a.exchange.match(tmp_path / "reply.clues")
    with pytest.raises(ClueKeyError):
        a.exchange.keys.load(first.batch)


def test_invalid_partner_elements_are_counted_and_keep_their_place(world, planted, tmp_path):
    a, b = world["bank-a"], world["bank-b"]
    export, _ = a.exchange.export(tmp_path / "a.clues")
    tampered = ClueFile.read(tmp_path / "a.clues")
    tampered.clues["phone"][0] = b"\xff" * 32  # not a ristretto255 encoding
    tampered.write(tmp_path / "tampered.clues")
    response, unusable = b.exchange.respond(tmp_path / "tampered.clues", tmp_path / "reply.clues")
    assert unusable == 1 and response.reblinded["phone"][0] == ABSENT
    assert len(response.reblinded["phone"]) == len(export.clues["phone"])
    found = {h.clue for h in a.exchange.match(tmp_path / "reply.clues").matched}
    assert len({p.clue for p in planted} - found) <= 1 and found <= {p.clue for p in planted}


def test_hmac_mode_same_key_finds_the_overlap_wrong_key_nothing(world, planted, tmp_path):
    a, b = world["bank-a"], world["bank-b"]
    _clear_matches(a)
    exported, _ = b.exchange.export(tmp_path / "b.clues", mode=HMAC)
    _assert_nothing_raw(tmp_path / "b.clues", b.clues, planted, ALLIANCE_KEY.encode())
    result = a.exchange.match(tmp_path / "b.clues")
    assert not result.key_mismatch and {h.clue for h in result.matched} == {p.clue for p in planted}

    wrong = ClueExchange(replace(b.exchange.config, alliance_key_file=b.exchange.config.alliance_key_file.with_name("other.key")))
    wrong.export(tmp_path / "wrong.clues", mode=HMAC)
    _clear_matches(a)
    result = a.exchange.match(tmp_path / "wrong.clues")
    assert result.key_mismatch and result.matched == []
    # Even told the key ids agree, tags under another key match nothing.
    forged = replace(ClueFile.read(tmp_path / "wrong.clues"), key_id=exported.key_id)
    forged.write(tmp_path / "forged.clues")
    result = a.exchange.match(tmp_path / "forged.clues")
    assert not result.key_mismatch and result.matched == []
    with pytest.raises(ClueFileError, match="needs no response"):
        a.exchange.respond(tmp_path / "b.clues", tmp_path / "x.clues")


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.update(version=2), "version 2"),
    (lambda d: d.update(format="other"), "not an adwatch-clues file"),
    (lambda d: d["clues"].update(fax="AAAA"), "unknown clue kind"),
    (lambda d: d["clues"].update(phone="AAAA"), "32-byte elements"),
    (lambda d: d.update(member="bank a; drop"), "'member'"),
    (lambda d: d.update(reblinded={}), "'reblinded'"),
])
def test_malformed_files_get_a_clear_error(world, tmp_path, edit, message):
    world["bank-c"].exchange.export(tmp_path / "c.clues")
    doc = json.loads((tmp_path / "c.clues").read_text())
    edit(doc)
    (tmp_path / "bad.clues").write_text(json.dumps(doc))
    with pytest.raises(ClueFileError, match=message):
        world["bank-b"].exchange.respond(tmp_path / "bad.clues", tmp_path / "out.clues")
    assert not (tmp_path / "out.clues").exists()
