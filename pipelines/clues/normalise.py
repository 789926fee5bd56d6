"""Clues: the normalised values institutions match, and where our store holds them.

A clue is a (kind, value) pair. Contacts (``phone``, ``wechat``, ``qq``, ``telegram``, ``url`` — landing links are
``url`` clues) are normalised by the detector's own contact reader (:func:`find_contacts` on the light view), so a
clue is matched in exactly the form the detector reports it, and ``VX：Abc_123`` / ``薇 abc_123`` / ``Ａｂｃ＿１２３``
are one clue. Accounts (``account``) are ``platform:account_id``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pipelines.detection.contacts import find_contacts
from pipelines.detection.normalize import light_view

ACCOUNT = "account"
# What a bare value of each contact kind needs in front of it for the contact reader to know what it is (a
# WeChat id or a QQ number alone reads as a word or a number); phone numbers and links need nothing.
HINTS = {"phone": "", "url": "", "wechat": "微信:", "qq": "qq:", "telegram": "电报:"}
KINDS = (*HINTS, ACCOUNT)
# A landing link to t.me is a Telegram contact: the contact reader says so, and the clue follows it.
ACCEPTS = {"url": ("url", "telegram")}
MAX_RAW = 512  # longer "clues" are texts, not contacts


@dataclass(frozen=True, slots=True, order=True)
class Clue:
    """One normalised clue."""

    kind: str
    value: str


@dataclass(slots=True)
class Refs:
    """Where our store holds a clue: post uids and account keys (``platform:account_id``)."""

    posts: set[str] = field(default_factory=set)
    accounts: set[str] = field(default_factory=set)

    def add(self, uid: str | None, account: str | None) -> None:
        if uid:
            self.posts.add(uid)
        if account:
            self.accounts.add(account)


def account_key(platform: str, account_id: Any) -> str | None:
    """``platform:account_id``: the platform lower-cased, the id width-folded and trimmed but case kept (Douyin's
    ``sec_uid`` and Xiaohongshu's ids are case-sensitive)."""
    platform = unicodedata.normalize("NFKC", str(platform or "")).strip().lower()
    ident = unicodedata.normalize("NFKC", str(account_id if account_id is not None else "")).strip()
    if not platform or not ident or ":" in platform or len(ident) > MAX_RAW:
        return None
    return f"{platform}:{ident}"


def normalise_clue(kind: str, raw: str) -> Clue | None:
    """The clue ``raw`` (as written anywhere: a post, a partner's list, a form) stands for, or None if it is
    not a clue of that kind. Idempotent: a normalised value normalises to itself."""
    kind = (kind or "").strip().lower()
    if not isinstance(raw, str) or not raw.strip() or len(raw) > MAX_RAW:
        return None
    if kind == ACCOUNT:
        platform, _, ident = raw.partition(":")
        key = account_key(platform, ident)
        return Clue(ACCOUNT, key) if key else None
    if kind not in HINTS:
        return None
    accept = ACCEPTS.get(kind, (kind,))
    hint = HINTS[kind]
    for text in (raw, hint + raw) if hint else (raw,):
        for contact in find_contacts(light_view(text), text, "clue"):
            if contact.kind in accept:
                return Clue(contact.kind, contact.value)
    return None


def post_clues(post: dict[str, Any]) -> tuple[list[Clue], int]:
    """The clues of one stored post (its contacts, its author's account, its landing links) and how many of its
    contacts no longer read as a clue."""
    clues: list[Clue] = []
    unusable = 0
    contacts = post.get("contacts") or (post.get("detection") or {}).get("contacts") or []
    for contact in contacts:
        if not isinstance(contact, dict):
            unusable += 1
            continue
        kind = str(contact.get("kind") or "")
        # The raw text first: re-read by today's contact reader, an old post gives today's value.
        clue = normalise_clue(kind, contact.get("raw") or "") or normalise_clue(kind, contact.get("value") or "")
        if clue is None:
            unusable += 1
        else:
            clues.append(clue)
    author = post.get("author") or {}
    account = account_key(post.get("platform") or "", author.get("id")) if author.get("id") else None
    if account:
        clues.append(Clue(ACCOUNT, account))
    landing = post.get("landing_urls") or ([post["landing_url"]] if post.get("landing_url") else [])
    for link in landing:
        clue = normalise_clue("url", link) if isinstance(link, str) else None
        if clue is None:
            unusable += 1
        else:
            clues.append(clue)
    return clues, unusable


@dataclass
class ClueSet:
    """Every clue of a store, each with where it was found; ``unusable`` counts contacts that read as nothing."""

    refs: dict[Clue, Refs] = field(default_factory=dict)
    unusable: int = 0
    posts: int = 0

    def __len__(self) -> int:
        return len(self.refs)

    def add(self, clue: Clue, uid: str | None = None, account: str | None = None) -> None:
        self.refs.setdefault(clue, Refs()).add(uid, account)

    def kinds(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for clue in self.refs:
            counts[clue.kind] = counts.get(clue.kind, 0) + 1
        return dict(sorted(counts.items()))


def collect_clues(posts: Iterable[dict[str, Any]]) -> ClueSet:
    """The clues of many stored posts (as :meth:`SqliteStore.iter_posts` yields them), one entry per clue."""
    found = ClueSet()
    for post in posts:
        found.posts += 1
        clues, unusable = post_clues(post)
        found.unusable += unusable
        author = (post.get("author") or {}).get("id")
        account = account_key(post.get("platform") or "", author) if author else None
        uid = post.get("uid")
        for clue in clues:
            found.add(clue, uid, account)
    return found
