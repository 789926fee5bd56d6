"""What a post can be linked by: its normalised contacts and landing links, its text's MinHash, its pictures' pHash.

Contacts are read through the clue normaliser (:func:`pipelines.clues.normalise.post_clues`, itself the detector's
contact reader), so ``VX：Abc_123`` / ``薇 abc_123`` / ``Ａｂｃ＿１２３`` are one contact here as everywhere else. The
text is the post's own words (title + text, not OCR: a shared poster is a picture link, not a text link), in the
detector's compact normal form, cut into character 3-grams.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipelines.clues.normalise import ACCOUNT, account_key, normalise_clue, post_clues
from pipelines.detection.normalize import compact_view, light_view
from pipelines.operations import minhash as mh
from pipelines.operations.minhash import MIN_SHINGLES, NUM_PERM, SHINGLE  # noqa: F401 - the features' parameters

LANDING = "url"


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector over a bulk job that makes many small acyclic objects (features,
    links, index buckets): each full collection walks every live object (all the posts of a rebuild), and
    allocating a few hundred thousand objects triggers many of them. Reference counting still frees everything."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass
class PostFeatures:
    """One post as the linker sees it."""

    uid: str
    platform: str
    account: str | None  # platform:author_id
    first_seen: str
    contacts: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, value, where) — url = landing link
    minhash: np.ndarray | None = None  # the text's MinHash signature (NUM_PERM values); None for a short text
    phashes: list[int] = field(default_factory=list)
    reposted_from: str | None = None


_LATIN = re.compile(r"[a-z0-9]+")
_HASHTAGS = re.compile(r"#[^#\s]{1,40}#|#[^\s#]+")  # topic tags (#征信修复#, #逾期): shared by unrelated posts


def _script(text: str) -> str:
    """The compact normal form (folded, letters and digits only, aliases spelled out) without its Latin letters
    and digits: contacts, links and numbers differ between an outfit's accounts by design and are compared as
    contacts, not as wording."""
    return _LATIN.sub("", compact_view(light_view(_HASHTAGS.sub(" ", text))).text)


def shingles(text: str) -> set[bytes]:
    """Character 3-grams of the script (see :func:`_script`), UTF-8 encoded."""
    return {g.encode("utf-8", "surrogatepass") for g in mh.grams(_script(text))}


def signatures(texts: Iterable[str]) -> list[np.ndarray | None]:
    """The MinHash signature of each text's script (:mod:`pipelines.operations.minhash`); None for a short one."""
    return mh.signatures(map(_script, texts))


def minhash_of(text: str) -> np.ndarray | None:
    return signatures([text])[0]


def minhash_from_bytes(blob: bytes) -> np.ndarray:
    return mh.from_bytes(blob)


def _where(post: dict[str, Any], kind: str, value: str) -> str:
    """Which source of the post a contact came from ("text", "bio", "comment:0", "image:0" …)."""
    for c in post.get("contacts") or []:
        if isinstance(c, dict) and c.get("kind") == kind and c.get("value") == value:
            return str(c.get("source") or "")
    return ""


def _contacts(post: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(kind, value, source) of the post's contacts. The detector's contact reader gave them their ``value``, the
    very normaliser clues use, so a value is taken as it is; a contact without one is read again from its raw
    text through the clue normaliser (:func:`post_clues`)."""
    out: list[tuple[str, str, str]] = []
    rest = []
    for c in post.get("contacts") or []:
        if not isinstance(c, dict):
            continue
        if c.get("kind") and c.get("value"):
            out.append((str(c["kind"]), str(c["value"]), str(c.get("source") or "")))
        else:
            rest.append(c)
    if rest:
        clues, _ = post_clues({"contacts": rest})
        out += [(c.kind, c.value, _where(post, c.kind, c.value)) for c in clues if c.kind != ACCOUNT]
    for link in post.get("landing_urls") or []:
        if isinstance(link, str) and (clue := normalise_clue("url", link)) is not None:
            out.append((clue.kind, clue.value, "landing"))
    return out


def post_features(post: dict[str, Any]) -> PostFeatures:
    """The features of one stored post (a plain dict as the store, the index or :func:`crawler.items.to_plain`
    gives it)."""
    return posts_features([post])[0]


def _text(post: dict[str, Any]) -> str:
    return "\n".join(str(post.get(k) or "") for k in ("title", "text"))


def _one_part_long_enough(post: dict[str, Any]) -> bool:
    """Whether the title or the text alone holds a script long enough to be evidence (``MIN_SHINGLES``).

    A short generic pitch ("停息挂账了解一下，私信我") under a short generic title ("如何看待停止催收？", a Zhihu
    question many answer, a board's stock heading) are two pieces every outfit writes: together they pass the
    length bar, yet two posts sharing such a body share nothing that is one outfit's."""
    if not post.get("title") or not post.get("text"):
        return True  # one part only: the signature's own length bar decides
    return any(len(mh.grams(_script(str(post[k])))) >= MIN_SHINGLES for k in ("title", "text"))


def posts_features(posts: list[dict[str, Any]]) -> list[PostFeatures]:
    """:func:`post_features` of many posts, their text signatures computed together (much cheaper per post)."""
    with gc_paused():
        sigs = signatures(map(_text, posts))
        return [_features(post, sig if sig is None or _one_part_long_enough(post) else None)
                for post, sig in zip(posts, sigs)]


def _features(post: dict[str, Any], minhash: np.ndarray | None) -> PostFeatures:
    platform = str(post.get("platform") or "")
    author = post.get("author") or {}
    phashes = []
    for asset in post.get("media") or []:
        ph = asset.get("phash") if isinstance(asset, dict) else None
        if isinstance(ph, str) and ph:
            try:
                phashes.append(int(ph, 16))
            except ValueError:
                continue
    return PostFeatures(
        uid=str(post.get("uid") or f"{platform}:{post.get('post_id')}"), platform=platform,
        account=account_key(platform, author.get("id")) if author.get("id") else None,
        first_seen=str(post.get("first_seen") or post.get("published_at") or post.get("captured_at") or ""),
        contacts=list(dict.fromkeys(_contacts(post))), minhash=minhash, phashes=list(dict.fromkeys(phashes)),
        reposted_from=post.get("reposted_from") or None,
    )
