"""Labelled items (training corpus, tuned set, held-out split, blind set) read into one shape.

Accepted item shapes (YAML lists of mappings):

* ``{id, label: ad|neg, categories: [..], kind, source: post|comment|bio|title|image, text, contacts: [..]}``
* the same with ``sources: [[post, "..."], [image, "..."], [comment, "..."]]`` instead of ``source`` / ``text``
* the tuned set's own: ``{label?, category, family, kind, text | sources: [[text|image:0|frame:2.0|…, "..."]]}``

Source names are mapped to the detector's: post → text, image → image:N, comment → comment:N (numbered in
order), bio, title, cover, hashtags and already-numbered names (``image:0``, ``frame:3.0``) stay as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

NUMBERED = ("image", "comment")


@dataclass(frozen=True)
class Item:
    """One labelled post: its texts by source, whether it is an ad, its categories, kind and evasion family."""

    id: str
    is_ad: bool
    categories: tuple[str, ...]
    kind: str
    sources: list[tuple[str, str]]
    contacts: list[str] = field(default_factory=list)
    family: str = "plain"

    @property
    def category(self) -> str | None:
        return self.categories[0] if self.categories else None

    @property
    def source(self) -> str:
        """Where the item's text is (its first source's kind: text, comment, bio, title, image …)."""
        return self.sources[0][0].partition(":")[0] if self.sources else "text"


def map_sources(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Blind-set source names → detector source names (post → text, image → image:N, comment → comment:N)."""
    counters = dict.fromkeys(NUMBERED, 0)
    out: list[tuple[str, str]] = []
    for name, text in pairs:
        name = str(name)
        if name == "post":
            name = "text"
        elif name in NUMBERED:
            k = counters[name]
            counters[name] = k + 1
            name = f"{name}:{k}"
        out.append((name, str(text or "")))
    return out


def item_from(raw: dict[str, Any], default_id: str = "", default_label: str = "neg") -> Item:
    label = str(raw.get("label") or default_label)
    is_ad = label == "ad"
    if raw.get("sources"):
        pairs = [(s[0], s[1]) for s in raw["sources"]]
    else:
        pairs = [(raw.get("source") or "text", raw.get("text") or "")]
    categories = raw.get("categories") or ([raw["category"]] if raw.get("category") else [])
    return Item(
        id=str(raw.get("id") or default_id),
        is_ad=is_ad,
        categories=tuple(categories) if is_ad else (),
        kind=str(raw.get("kind") or raw.get("family") or ("plain" if is_ad else "other")),
        sources=map_sources(pairs),
        contacts=[str(c) for c in raw.get("contacts") or []],
        family=str(raw.get("family") or "plain"),
    )


def load(path: str | Path, default_label: str = "neg", prefix: str | None = None) -> list[Item]:
    """Items of one YAML file (a list, or a mapping with an ``items`` list)."""
    path = Path(path)
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    if isinstance(data, dict):
        data = data.get("items") or []
    prefix = prefix or path.stem
    return [item_from(raw, f"{prefix}-{i:04d}", default_label) for i, raw in enumerate(data)]
