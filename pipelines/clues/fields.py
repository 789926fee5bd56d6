"""The clue matches as index fields: what a post's or an account's document says about other members.

``seen_by_members`` — how many other members hold a clue of the post (its contacts, its author, its landing links)
or of the account (itself, or any clue of its posts); ``clue_matches`` — the ``{kind, batch}`` of every match behind
that number, so analysts can filter by kind (``clue_matches.kind : phone``) or trace an exchange by its batch id.

Nothing else from the matches goes to the index: no clue values (the post's own contacts are in ``contact_values``
already), no member names, nothing from the partner's file, no key. Every document gets both fields, zero and empty
when nothing matched, so re-indexing a post clears a match that no longer holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pipelines.clues.book import ClueBook, RefMatches

SEEN_BY = "seen_by_members"
MATCHES = "clue_matches"


def match_fields(found: RefMatches | None) -> dict[str, Any]:
    """The two fields of one post or account from what the book found for it (None: nothing matched)."""
    if found is None:
        return {SEEN_BY: 0, MATCHES: []}
    return {SEEN_BY: len(found.members),
            MATCHES: [{"kind": kind, "batch": batch} for kind, batch in sorted(found.kinds_batches)]}


def post_fields(book: ClueBook, uids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """:func:`match_fields` of every post uid asked about."""
    uids = list(uids)
    found = book.match_refs("posts", uids)
    return {uid: match_fields(found.get(uid)) for uid in uids}


def account_fields(book: ClueBook, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
    """:func:`match_fields` of every account key (``platform:account_id``) asked about."""
    keys = list(keys)
    found = book.match_refs("accounts", keys)
    return {key: match_fields(found.get(key)) for key in keys}


def add_match_fields(book: ClueBook, posts: list[dict[str, Any]]) -> None:
    """Set the current match fields on plain post dicts (stored posts, or a spooled document's source) in place."""
    if not posts:
        return
    uids = [p.get("uid") or f"{p['platform']}:{p['post_id']}" for p in posts]
    if not book.has_matches():  # the usual case before any exchange: no query per batch
        fields = {uid: match_fields(None) for uid in uids}
    else:
        fields = post_fields(book, uids)
    for post, uid in zip(posts, uids):
        post.update(fields[uid])
