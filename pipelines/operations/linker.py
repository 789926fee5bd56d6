"""The linking graph: posts and accounts as nodes, each link with the evidence that made it, groups by union-find.

Every link is found through an index, never by comparing all pairs: contacts and landing links by their normalised
value (a post links to the first node that held the value), near-duplicate texts by MinHash LSH, the same picture
by pHash split into five bands (hashes ≤ 4 bits apart share one; Hamming distance confirms), a post to its author's
account, a repost to its original. Adding a post touches only its own candidates, so new posts join or merge groups
without recomputing the world.

The text LSH is datasketch's banding (its optimiser picks bands and rows for the candidate threshold) kept in plain
dicts over one signature matrix: datasketch's own index spends most of a post's linking time turning each band
into a key (a byte swap per band per insert and query), which a slice of the signature's bytes does as well.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from datasketch import MinHashLSH

from pipelines.operations.features import LANDING, NUM_PERM, PostFeatures, gc_paused

TEXT_THRESHOLD = 0.45  # estimated Jaccard of 3-gram sets above which two texts are one script reworded
# LSH finds candidates well below the threshold (a reworded script at 0.55 must not slip through the bands); the
# estimated Jaccard then decides. Unrelated ads sit below 0.2.
CANDIDATE_THRESHOLD = 0.4
MAX_PHASH_DISTANCE = 8  # bits: re-compressed and resized copies of a poster stay within a few bits
# The 64-bit pHash cut into five bands (13+13+13+13+12 bits): two hashes at most 4 bits apart share a band
# (pigeonhole), so every re-compressed copy is a candidate; Hamming distance then decides.
_BAND_SHIFTS = ((0, 13), (13, 13), (26, 13), (39, 13), (52, 12))
_BUCKET_CAP = 64  # a picture every account posts (a template) links through its first holders
_LSH = MinHashLSH(threshold=CANDIDATE_THRESHOLD, num_perm=NUM_PERM)  # for its bands and rows only
_TEXT_BANDS, _TEXT_ROWS = _LSH.b, _LSH.r
_MIX_RNG = np.random.default_rng(20261130)  # fixed: the keys live in memory only, but runs should be alike
_ROW_MIX = _MIX_RNG.integers(1, 2**63, size=_TEXT_ROWS, dtype=np.uint64) | np.uint64(1)  # odd multipliers
_BAND_SALT = _MIX_RNG.integers(0, 2**63, size=_TEXT_BANDS, dtype=np.uint64)


def _band_keys(ph: int) -> list[int]:
    """The pHash's band values, each tagged with its band number (one int key per band)."""
    return [i << 16 | (ph >> shift) & ((1 << width) - 1) for i, (shift, width) in enumerate(_BAND_SHIFTS)]


@dataclass(frozen=True)
class Link:
    """One reason two nodes belong together: ``kind`` contact | landing | text | picture | author | repost."""

    a: str
    b: str
    kind: str
    value: str  # the shared contact / link, the Jaccard estimate, the Hamming distance, the account
    detail: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "kind": self.kind, "value": self.value, "detail": self.detail}


class UnionFind:
    """Groups by union-find, each root knowing its members (merged small into large)."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}
        self.members: dict[str, list[str]] = {}

    def find(self, x: str) -> str:
        parent = self.parent
        if x not in parent:
            parent[x] = x
            self.members[x] = [x]
            return x
        root = x
        while root != parent[root]:
            root = parent[root]
        while x != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        """Join the groups of a and b (a's root is kept, unless b's group is bigger)."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if len(self.members[ra]) < len(self.members[rb]):
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.members[ra].extend(self.members.pop(rb))

    def groups(self) -> dict[str, list[str]]:
        return dict(self.members)


def account_node(account: str) -> str:
    return f"account:{account}"


class TextIndex:
    """MinHash signatures in one matrix, banded for LSH: :meth:`add` gives the posts already in whose estimated
    Jaccard (the share of equal signature values) reaches a threshold, among those sharing a band, then adds one."""

    def __init__(self) -> None:
        self.nodes: list[str] = []
        self.matrix = np.empty((1024, NUM_PERM), dtype=np.uint32)
        # Band key -> its rows: one row as a plain int (most keys never meet another text), a list from the second.
        self.bands: dict[int, int | list[int]] = {}

    @staticmethod
    def keys(signatures: np.ndarray) -> list[list[int]]:
        """The band keys of each signature (rows of ``signatures``): one 64-bit key per band, its values hashed
        together with the band's number. (A collision only adds a candidate, which its estimated Jaccard then
        turns away.)"""
        n = len(signatures)
        bands = signatures[:, : _TEXT_BANDS * _TEXT_ROWS].astype(np.uint64).reshape(n, _TEXT_BANDS, _TEXT_ROWS)
        return (bands @ _ROW_MIX ^ _BAND_SALT).tolist()

    def add(self, node: str, signature: np.ndarray, threshold: float | None = None,
            keys: list[int] | None = None) -> list[tuple[str, float]]:
        """Add ``node``; with a ``threshold``, first the ``(node, estimated Jaccard)`` of the near texts.
        ``keys``: the signature's band keys, when :meth:`keys` made them for many at once."""
        row = len(self.nodes)
        if row == len(self.matrix):
            self.matrix = np.concatenate([self.matrix, np.empty_like(self.matrix)])
        self.matrix[row] = signature
        self.nodes.append(node)
        met: list[int] = []  # rows sharing a band, met while filing this one (one dict probe per band)
        bands = self.bands
        for key in keys or self.keys(signature[None, :])[0]:
            bucket = bands.setdefault(key, row)
            if bucket is row:
                continue
            if type(bucket) is int:
                met.append(bucket)
                bands[key] = [bucket, row]
            else:
                met.extend(bucket)
                bucket.append(row)
        if threshold is None or not met:
            return []
        candidates = np.fromiter(set(met), dtype=np.intp)
        estimates = (self.matrix[candidates] == signature).mean(axis=1)
        keep = np.flatnonzero(estimates >= threshold)
        return [(self.nodes[candidates[k]], float(estimates[k])) for k in keep]


class PictureIndex:
    """pHashes by band value: :meth:`add` gives the pictures already in within a Hamming distance (sharing a
    band), then adds one. A bucket keeps its hashes in one array: scanning it reads contiguous memory, where a
    list of (node, hash) pairs had every comparison wait for a cache miss."""

    def __init__(self) -> None:
        self.buckets: dict[int, tuple[array[int], list[str]]] = {}

    def add(self, node: str, ph: int, max_distance: int | None = None) -> list[tuple[str, int, int]]:
        """Add ``node``'s picture; with ``max_distance``, first the ``(node, hash, distance)`` of the near ones."""
        near: list[tuple[str, int, int]] = []
        for key in _band_keys(ph):
            bucket = self.buckets.get(key)
            if bucket is None:
                self.buckets[key] = (array("Q", [ph]), [node])
                continue
            hashes, nodes = bucket
            if max_distance is not None:
                near += [(nodes[k], o, d) for k, o in enumerate(hashes) if (d := (ph ^ o).bit_count()) <= max_distance]
            if len(nodes) < _BUCKET_CAP:
                hashes.append(ph)
                nodes.append(node)
        return near


class Linker:
    """The in-memory graph and its indexes. :meth:`add` links one post and returns the links it made."""

    def __init__(self, text_threshold: float = TEXT_THRESHOLD, max_phash_distance: int = MAX_PHASH_DISTANCE) -> None:
        self.text_threshold = text_threshold
        self.max_phash_distance = max_phash_distance
        self.texts = TextIndex()
        self.pictures = PictureIndex()
        self.holders: dict[tuple[str, str], str] = {}  # (kind, value) -> first node that held it
        self.uf = UnionFind()
        self.links: list[Link] = []
        self.features: dict[str, PostFeatures] = {}

    def add_many(self, posts: Iterable[PostFeatures]) -> list[Link]:
        """:meth:`add` each post in turn (the text band keys of all computed at once)."""
        posts = list(posts)
        texts = [f for f in posts if f.minhash is not None]
        keys = dict(zip((id(f) for f in texts), TextIndex.keys(np.stack([f.minhash for f in texts])))) if texts else {}
        out: list[Link] = []
        with gc_paused():
            for f in posts:
                out.extend(self.add(f, keys.get(id(f))))
        return out

    def add(self, f: PostFeatures, text_keys: list[int] | None = None) -> list[Link]:
        """Link one post; ``text_keys``: its text's band keys, when :meth:`add_many` computed them."""
        if f.uid in self.features:
            return []
        self.features[f.uid] = f
        node = f.uid
        self.uf.find(node)
        made: list[Link] = []
        if f.account:
            made.append(Link(node, account_node(f.account), "author", f.account))
        if f.reposted_from:
            made.append(Link(node, f.reposted_from, "repost", f.reposted_from))
        for kind, value, where in f.contacts:
            holder = self.holders.setdefault((kind, value), node)
            if holder != node:
                made.append(Link(node, holder, "landing" if kind == LANDING else "contact", f"{kind}:{value}",
                                 {"where": where, "where_other": self._where(holder, kind, value)}))
        if f.minhash is not None:
            # One link per group met (its closest text): a script posted a hundred times is a star, not a clique.
            best: dict[str, tuple[float, str]] = {}
            for other, jaccard in self.texts.add(node, f.minhash, self.text_threshold, text_keys):
                root = self.uf.find(other)
                if jaccard > best.get(root, (0.0, ""))[0]:
                    best[root] = (jaccard, other)
            made += [Link(node, other, "text", f"{j:.2f}", {"jaccard": round(j, 3)}) for j, other in best.values()]
        for ph in f.phashes:
            made.extend(self._pictures(node, ph))
        for link in made:
            self.uf.union(link.b, link.a)
        self.links.extend(made)
        return made

    def _pictures(self, node: str, ph: int) -> list[Link]:
        """Links to the groups holding a near pHash (one per group, the closest picture)."""
        best: dict[str, tuple[int, str, int]] = {}
        own = self.uf.find(node)
        for other, other_ph, distance in self.pictures.add(node, ph, self.max_phash_distance):
            root = self.uf.find(other)
            if root != own and distance < best.get(root, (99, "", 0))[0]:
                best[root] = (distance, other, other_ph)
        return [Link(node, other, "picture", f"{ph:016x}", {"distance": d, "other": f"{other_ph:016x}"})
                for d, other, other_ph in best.values()]

    def _where(self, node: str, kind: str, value: str) -> str:
        f = self.features.get(node)
        return next((w for k, v, w in (f.contacts if f else []) if k == kind and v == value), "")

    def restore(self, f: PostFeatures, links: Iterable[Link]) -> None:
        """Put back a post and its stored links without linking it again (loading a saved graph)."""
        self.features[f.uid] = f
        self.uf.find(f.uid)
        for kind, value, _ in f.contacts:
            self.holders.setdefault((kind, value), f.uid)
        if f.minhash is not None:
            self.texts.add(f.uid, f.minhash)
        for ph in f.phashes:
            self.pictures.add(f.uid, ph)
        for link in links:
            self.uf.union(link.b, link.a)
            self.links.append(link)
