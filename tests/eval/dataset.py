"""Load the labelled evaluation set: hand-written ads and negatives, seed-article sentences, evasion variants."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
FILES = ("ads.yaml", "negatives.yaml", "seed_sentences.yaml", "variants.yaml", "holdout.yaml")


@dataclass(frozen=True)
class Item:
    """One labelled post: its texts by source, whether it is an ad, its category and evasion family."""

    id: str
    is_ad: bool
    category: str | None
    family: str
    kind: str | None
    sources: list[tuple[str, str]]
    contacts: list[str] = field(default_factory=list)


def _item(raw: dict[str, Any], default_id: str, default_label: str) -> Item:
    label = raw.get("label") or default_label
    sources = [tuple(s) for s in raw["sources"]] if raw.get("sources") else [("text", raw["text"])]
    return Item(
        id=str(raw.get("id") or default_id),
        is_ad=label == "ad",
        category=raw.get("category") if label == "ad" else None,
        family=raw.get("family") or "plain",
        kind=raw.get("kind"),
        sources=sources,  # type: ignore[arg-type]
        contacts=[str(c) for c in raw.get("contacts") or []],
    )


def load_items() -> list[Item]:
    items: list[Item] = []
    for name in FILES:
        default_label = "ad" if name == "ads.yaml" else "negative"
        prefix = {"ads.yaml": "ad", "negatives.yaml": "neg"}.get(name, name.split(".")[0])
        raw_items = yaml.safe_load((HERE / name).read_text(encoding="utf-8")) or []
        items += [_item(raw, f"{prefix}-{i:03d}", default_label) for i, raw in enumerate(raw_items)]
    return items
