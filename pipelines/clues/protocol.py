"""The protocol's steps, on the primitives of :mod:`.psi` (see docs/clue-matching.md for who learns what).

ECDH (two messages, the initiator A learns the intersection, the responder B learns nothing but sizes):

    A  export:   batch of H(x)^a, shuffled per kind        a kept in A's key file, positions in A's store
    B  respond:  (H(x)^a)^b in A's order, and H(y)^b        b fresh, forgotten once the file is written
    A  match:    (H(y)^b)^a  ∩  (H(x)^a)^b  →  positions → A's own clues, posts, accounts

HMAC (one message each way, every key holder can match): export HMAC_k(x); match compares with HMAC_k(our clues).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field

from pipelines.clues.book import ClueBook, Held
from pipelines.clues.fileformat import EXPORT, RESPONSE, ClueFile, ClueFileError
from pipelines.clues.keys import BatchKeys
from pipelines.clues.normalise import ClueSet
from pipelines.clues.psi import ABSENT, ECDH, HMAC, blind_clues, hmac_tokens, key_id, new_scalar, reblind


@dataclass
class MatchResult:
    """What one match step found: our clues the partner ``member`` holds too (already recorded in the book)."""

    member: str
    batch: str
    matched: list[Held] = field(default_factory=list)
    compared: dict[str, int] = field(default_factory=dict)  # per kind, how many of our clues were compared
    unusable: int = 0  # partner entries that were no group element
    key_mismatch: bool = False  # HMAC: the partner's alliance key is not ours, so nothing could match
    # Posts and accounts whose "seen by" may have changed (matched before or after this step): their index
    # documents are updated (pipelines/clues/es.py). Filled by ClueExchange.match.
    touched_posts: set[str] = field(default_factory=set)
    touched_accounts: set[str] = field(default_factory=set)

    def kinds(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for held in self.matched:
            counts[held.clue.kind] = counts.get(held.clue.kind, 0) + 1
        return dict(sorted(counts.items()))


def _by_kind(clues: ClueSet, kinds: set[str] | None = None, rng: random.Random | None = None) -> dict[str, list[Held]]:
    """Our clues grouped by kind, each kind in random order: a file's order must not tell the store's order
    (oldest first) or the clues' sort order."""
    rng = rng or random.SystemRandom()
    out: dict[str, list[Held]] = {}
    for clue, refs in clues.refs.items():
        if kinds is None or clue.kind in kinds:
            out.setdefault(clue.kind, []).append(Held(clue, tuple(sorted(refs.posts)), tuple(sorted(refs.accounts))))
    for held in out.values():
        rng.shuffle(held)
    return dict(sorted(out.items()))


def export_ecdh(clues: ClueSet, member: str, book: ClueBook, keys: BatchKeys) -> ClueFile:
    """A new batch: our clues blinded under a fresh key, which is saved (with the batch's positions) before the
    file exists, so no file ever goes out that we could not match."""
    batch = uuid.uuid4().hex
    entries = _by_kind(clues)
    scalar = new_scalar()
    elements = {kind: blind_clues([h.clue for h in held], scalar) for kind, held in entries.items()}
    keys.save(batch, scalar)
    book.save_batch(batch, ECDH, member, entries)
    return ClueFile(EXPORT, ECDH, batch, member, elements)


def export_hmac(clues: ClueSet, member: str, alliance_key: bytes) -> ClueFile:
    """Our clues as keyed hashes under the alliance key (nothing to remember: matching recomputes ours)."""
    entries = _by_kind(clues)
    elements = {kind: hmac_tokens([h.clue for h in held], alliance_key) for kind, held in entries.items()}
    return ClueFile(EXPORT, HMAC, uuid.uuid4().hex, member, elements, key_id=key_id(alliance_key))


def respond(partner: ClueFile, clues: ClueSet, member: str) -> tuple[ClueFile, int]:
    """Answer a partner's ECDH export: their elements blinded again (same kinds, same order) and ours, of the
    kinds they asked about, blinded under the same fresh key. Returns the response and how many of their
    entries were no group element (kept in place as :data:`ABSENT`)."""
    if partner.type != EXPORT:
        raise ClueFileError(f"respond takes a partner's export, not a {partner.type}")
    if partner.mode != ECDH:
        raise ClueFileError(f"a {partner.mode} export needs no response: run match on it")
    scalar = new_scalar()  # ours for this response only; never stored
    reblinded: dict[str, list[bytes]] = {}
    unusable = 0
    for kind, elements in sorted(partner.clues.items()):
        reblinded[kind], bad = reblind(elements, scalar)
        unusable += bad
    entries = _by_kind(clues, set(partner.clues))
    own = {kind: blind_clues([h.clue for h in held], scalar) for kind, held in entries.items()}
    return ClueFile(RESPONSE, ECDH, partner.batch, member, own, reblinded), unusable


def match_response(response: ClueFile, book: ClueBook, keys: BatchKeys) -> MatchResult:
    """Our clues the responder holds too, from their response to one of our ECDH batches; recorded in the book."""
    if response.type != RESPONSE or response.mode != ECDH or response.reblinded is None:
        raise ClueFileError("match needs a partner's response to our ECDH export (or a partner's HMAC export)")
    loaded = book.load_batch(response.batch)
    if loaded is None:
        raise ClueFileError(f"batch {response.batch} is not one of our exports (or was forgotten)")
    mode, entries = loaded
    if mode != ECDH:
        raise ClueFileError(f"batch {response.batch} is a {mode} batch")
    ours = {kind: len(held) for kind, held in entries.items()}
    theirs = {kind: len(v) for kind, v in response.reblinded.items()}
    if ours != theirs:
        raise ClueFileError(f"the response does not answer batch {response.batch} as we exported it "
                            f"(clues per kind: ours {ours}, theirs {theirs})")
    scalar = keys.load(response.batch)
    result = MatchResult(response.member, response.batch, compared=ours)
    held_by_them: set[bytes] = set()
    for kind, elements in response.clues.items():
        if kind in entries:
            finished, bad = reblind(elements, scalar)
            result.unusable += bad
            held_by_them.update(finished)
    held_by_them.discard(ABSENT)
    for kind, elements in sorted(response.reblinded.items()):
        held = entries[kind]
        result.matched.extend(held[i] for i, element in enumerate(elements) if element in held_by_them)
    book.record_matches(response.member, response.batch, entries, result.matched)
    return result


def match_hmac(partner: ClueFile, clues: ClueSet, alliance_key: bytes, book: ClueBook) -> MatchResult:
    """Our clues a partner's HMAC export holds too; recorded in the book (unless the keys differ)."""
    if partner.type != EXPORT or partner.mode != HMAC:
        raise ClueFileError("not an HMAC export")
    entries = _by_kind(clues, set(partner.clues))
    result = MatchResult(partner.member, partner.batch, compared={kind: len(h) for kind, h in entries.items()})
    if partner.key_id != key_id(alliance_key):
        result.key_mismatch = True  # their tags cannot equal ours; keep what earlier exchanges found
        return result
    for kind, held in entries.items():
        tags = set(partner.clues[kind])
        result.matched.extend(h for h, tag in zip(held, hmac_tokens([h.clue for h in held], alliance_key)) if tag in tags)
    book.record_matches(partner.member, partner.batch, partner.clues, result.matched)
    return result
