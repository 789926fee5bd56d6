"""What a post can be linked by: its normalised contacts and landing links, its text's MinHash, its pictures' pHash.

Contacts are read through the clue normaliser (:func:`pipelines.clues.normalise.post_clues`, itself the detector's
contact reader), so ``VX：Abc_123`` / ``薇 abc_123`` / ``Ａｂｃ＿１２３`` are one contact here as everywhere else. The
text is the post's own words (title + text, not OCR: a shared poster is a picture link, not a text link), in the
detector's compact normal form, cut into character 3-grams.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import re
import zlib

import numpy as np
from datasketch import MinHash

from pipelines.clues.normalise import ACCOUNT, account_key, normalise_clue, post_clues
from pipelines.detection.normalize import compact_view, light_view

NUM_PERM = 64
SHINGLE = 3
MIN_SHINGLES = 20  # a shorter script ("征信修复，成功率高，加V咨询") is every outfit's: no evidence of one
LANDING = "url"
# One fixed permutation set for every MinHash of every run: signatures stored yesterday compare with today's.
# The shingle hash: CRC-32, stable across processes (stored signatures stay comparable), ~10x cheaper than SHA-1.
_crc32 = zlib.crc32
_REFERENCE = MinHash(num_perm=NUM_PERM, seed=10, hashfunc=_crc32)
_PERMS = _REFERENCE.permutations
_DTYPE = _REFERENCE.hashvalues.dtype


@dataclass
class PostFeatures:
    """One post as the linker sees it."""

    uid: str
    platform: str
    account: str | None  # platform:author_id
    first_seen: str
    contacts: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, value, where) — url = landing link
    minhash: MinHash | None = None
    phashes: list[int] = field(default_factory=list)
    reposted_from: str | None = None


_LATIN = re.compile(r"[a-z0-9]+")
_HASHTAGS = re.compile(r"#[^#\s]{1,40}#|#[^\s#]+")  # topic tags (#征信修复#, #逾期): shared by unrelated posts


def shingles(text: str) -> set[bytes]:
    """Character 3-grams of the script: the compact normal form (folded, letters and digits only, aliases spelled
    out) without its Latin letters and digits — contacts, links and numbers differ between an outfit's accounts by
    design and are compared as contacts, not as wording."""
    compact = _LATIN.sub("", compact_view(light_view(_HASHTAGS.sub(" ", text))).text)
    return {compact[i : i + SHINGLE].encode("utf-8") for i in range(len(compact) - SHINGLE + 1)}


def minhash_of(text: str) -> MinHash | None:
    grams = shingles(text)
    if len(grams) < MIN_SHINGLES:
        return None
    m = MinHash(num_perm=NUM_PERM, seed=10, hashfunc=_crc32, permutations=_PERMS, scheme=_REFERENCE.scheme)
    m.update_batch(list(grams))
    return m


def minhash_from_bytes(blob: bytes) -> MinHash:
    return MinHash(num_perm=NUM_PERM, seed=10, hashfunc=_crc32, permutations=_PERMS, scheme=_REFERENCE.scheme,
                   hashvalues=np.frombuffer(blob, dtype=_DTYPE).copy())


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
    platform = str(post.get("platform") or "")
    uid = str(post.get("uid") or f"{platform}:{post.get('post_id')}")
    author = post.get("author") or {}
    contacts = _contacts(post)
    text = "\n".join(str(post.get(k) or "") for k in ("title", "text"))
    phashes = []
    for asset in post.get("media") or []:
        ph = asset.get("phash") if isinstance(asset, dict) else None
        if isinstance(ph, str) and ph:
            try:
                phashes.append(int(ph, 16))
            except ValueError:
                continue
    return PostFeatures(
        uid=uid, platform=platform,
        account=account_key(platform, author.get("id")) if author.get("id") else None,
        first_seen=str(post.get("first_seen") or post.get("published_at") or post.get("captured_at") or ""),
        contacts=list(dict.fromkeys(contacts)), minhash=minhash_of(text), phashes=list(dict.fromkeys(phashes)),
        reposted_from=post.get("reposted_from") or None,
    )
