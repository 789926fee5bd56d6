"""The linking graph: posts and accounts as nodes, each link with the evidence that made it, groups by union-find.

Every link is found through an index, never by comparing all pairs: contacts and landing links by their normalised
value (a post links to the first node that held the value), near-duplicate texts by MinHash LSH (datasketch), the
same picture by pHash split into five bands (hashes ≤ 4 bits apart share one; Hamming distance confirms), a post to
its author's account, a repost to its original. Adding a post touches only its own candidates, so new posts join or
merge groups without recomputing the world.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from datasketch import MinHashLSH

from pipelines.operations.features import LANDING, NUM_PERM, PostFeatures

TEXT_THRESHOLD = 0.45  # estimated Jaccard of 3-gram sets above which two texts are one script reworded
# LSH finds candidates well below the threshold (a reworded script at 0.55 must not slip through the bands); the
# estimated Jaccard then decides. Unrelated ads sit below 0.2.
CANDIDATE_THRESHOLD = 0.4
MAX_PHASH_DISTANCE = 8  # bits: re-compressed and resized copies of a poster stay within a few bits
# The 64-bit pHash cut into five bands (13+13+13+13+12 bits): two hashes at most 4 bits apart share a band
# (pigeonhole), so every re-compressed copy is a candidate; Hamming distance then decides.
_BAND_SHIFTS = ((0, 13), (13, 13), (26, 13), (39, 13), (52, 12))
_BUCKET_CAP = 64  # a picture every account posts (a template) links through its first holders


def _band_keys(ph: int) -> list[tuple[int, int]]:
    return [(i, (ph >> shift) & ((1 << width) - 1)) for i, (shift, width) in enumerate(_BAND_SHIFTS)]


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


class Linker:
    """The in-memory graph and its indexes. :meth:`add` links one post and returns the links it made."""

    def __init__(self, text_threshold: float = TEXT_THRESHOLD, max_phash_distance: int = MAX_PHASH_DISTANCE) -> None:
        self.text_threshold = text_threshold
        self.max_phash_distance = max_phash_distance
        self.lsh = MinHashLSH(threshold=CANDIDATE_THRESHOLD, num_perm=NUM_PERM)
        self.minhashes: dict[str, Any] = {}
        self.holders: dict[tuple[str, str], str] = {}  # (kind, value) -> first node that held it
        self.bands: dict[tuple[int, int], list[tuple[str, int]]] = {}
        self.uf = UnionFind()
        self.links: list[Link] = []
        self.features: dict[str, PostFeatures] = {}

    def add_many(self, posts: Iterable[PostFeatures]) -> list[Link]:
        out: list[Link] = []
        for f in posts:
            out.extend(self.add(f))
        return out

    def add(self, f: PostFeatures) -> list[Link]:
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
            candidates = self.lsh.query(f.minhash)
            if candidates:  # estimated Jaccard of all candidates at once: the share of equal signature slots
                stacked = np.stack([self.minhashes[c].hashvalues for c in candidates])
                estimates = (stacked == f.minhash.hashvalues).mean(axis=1)
            for other, jaccard in zip(candidates, estimates if candidates else ()):
                jaccard = float(jaccard)
                root = self.uf.find(other)
                if jaccard >= self.text_threshold and jaccard > best.get(root, (0.0, ""))[0]:
                    best[root] = (jaccard, other)
            made += [Link(node, other, "text", f"{j:.2f}", {"jaccard": round(j, 3)}) for j, other in best.values()]
            self.lsh.insert(node, f.minhash)
            self.minhashes[node] = f.minhash
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
        for key in _band_keys(ph):
            bucket = self.bands.setdefault(key, [])
            for other, other_ph in bucket:
                distance = (ph ^ other_ph).bit_count()
                root = self.uf.find(other)
                if root != own and distance <= self.max_phash_distance and distance < best.get(root, (99, "", 0))[0]:
                    best[root] = (distance, other, other_ph)
            if len(bucket) < _BUCKET_CAP:
                bucket.append((node, ph))
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
            self.lsh.insert(f.uid, f.minhash)
            self.minhashes[f.uid] = f.minhash
        for ph in f.phashes:
            for key in _band_keys(ph):
                bucket = self.bands.setdefault(key, [])
                if len(bucket) < _BUCKET_CAP:
                    bucket.append((f.uid, ph))
        for link in links:
            self.uf.union(link.b, link.a)
            self.links.append(link)
