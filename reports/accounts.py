"""Accounts as takedown targets: a platform's request asks for the accounts behind its posts to be dealt with, each
with its profile (id, name, link, bio, contacts) and its flagged posts in the request as the evidence.

An account is asked for when the request holds at least :data:`MIN_FLAGGED_POSTS` of its flagged posts (reposts
included): a repeat publisher, not a one-off, since a wrongful notice is the complainant's liability (Civil Code
art. 1195). Its record in the accounts store (pipelines/accounts.py) adds the bio, follower count and the contacts
of all its flagged posts; without a record, what its posts say about their author is used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from pipelines.accounts import Account
from pipelines.clues.normalise import account_key

MIN_FLAGGED_POSTS = 2
BIO_EXCERPT = 200


class AccountLookup(Protocol):
    """Where account records come from: an :class:`~pipelines.accounts.AccountBook` or a plain dict."""

    def get(self, key: str) -> Account | None: ...


def account_targets(posts: Iterable[dict[str, Any]], accounts: AccountLookup | None,
                    evidence: Callable[[dict[str, Any]], dict[str, Any]], numbers: dict[str, int] | None = None,
                    min_flagged: int = MIN_FLAGGED_POSTS) -> list[dict[str, Any]]:
    """The accounts of one platform's flagged ``posts`` that the request asks to be dealt with, most posts first.

    ``evidence`` turns a post into its target dict (:func:`reports.render.target`); ``numbers`` maps a post id to
    its number among the request's targets, so each evidence post can point at its full entry.
    """
    by_key: dict[str, list[dict[str, Any]]] = {}
    for post in posts:
        author = post.get("author") or {}
        key = account_key(post.get("platform") or "", author.get("id")) if author.get("id") else None
        if key is not None:
            by_key.setdefault(key, []).append(post)
    out = []
    for key, own in by_key.items():
        if len(own) < min_flagged:
            continue
        record = accounts.get(key) if accounts is not None else None
        out.append(_account_target(key, own, record, evidence, numbers or {}))
    return sorted(out, key=lambda a: (-len(a["posts"]), a["key"]))


def _account_target(key: str, posts: list[dict[str, Any]], record: Account | None,
                    evidence: Callable[[dict[str, Any]], dict[str, Any]], numbers: dict[str, int]) -> dict[str, Any]:
    """One account as plain strings for the templates and tables."""
    # The newest capture of the author says best what the profile looks like now.
    author = max(posts, key=lambda p: str(p.get("captured_at") or ""))["author"]
    shown = [evidence(p) for p in posts]
    for t in shown:
        t["target_no"] = numbers.get(t["post_id"], 0)
    shown.sort(key=lambda t: (t["published_at"] or t["captured_at"], t["post_id"]))
    if record is not None and record.contacts:
        contacts = [{"kind": c.partition(":")[0], "value": c.partition(":")[2]} for c in record.contacts]
    else:
        seen = dict.fromkeys((c["kind"], c["value"]) for t in shown for c in t["contacts"])
        contacts = [{"kind": k, "value": v} for k, v in seen]
    bio = (record.bio if record else None) or author.get("bio") or ""
    followers = record.followers if record and record.followers is not None else author.get("followers")
    verified = record.verified if record and record.verified is not None else author.get("verified")
    return {
        "key": key,
        "account_id": key.partition(":")[2],
        "name": (record.name if record else None) or author.get("name") or "",
        "url": (record.url if record else None) or author.get("url") or "",
        "bio_excerpt": bio[:BIO_EXCERPT] + ("…" if len(bio) > BIO_EXCERPT else ""),
        "contacts": contacts,
        "followers": "" if followers is None else str(followers),
        "verified": "" if verified is None else ("已认证" if verified else "未认证"),
        "flagged_total": len(record.flagged_posts) if record else len(posts),
        "score": record.score if record else max(t["score"] for t in shown),
        "categories": list(dict.fromkeys(t["category_label"] for t in shown)),
        "terms": sorted({term for t in shown for term in t["terms"]}),
        "posts": shown,
    }
