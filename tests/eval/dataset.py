"""Load the tuned evaluation set: hand-written ads and negatives, seed-article sentences, evasion variants
(shapes read by pipelines/detection/corpus.py)."""

from __future__ import annotations

from pathlib import Path

from pipelines.detection.corpus import Item, load

HERE = Path(__file__).resolve().parent
FILES = ("ads.yaml", "negatives.yaml", "seed_sentences.yaml", "variants.yaml", "holdout.yaml")

__all__ = ["FILES", "Item", "load_items"]


def load_items() -> list[Item]:
    items: list[Item] = []
    for name in FILES:
        default_label = "ad" if name == "ads.yaml" else "neg"
        prefix = {"ads.yaml": "ad", "negatives.yaml": "neg"}.get(name, name.split(".")[0])
        items += load(HERE / name, default_label, prefix)
    return items
