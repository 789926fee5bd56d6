"""Hand-written labelled items (``data/written/part_*.yaml``): posts written by writers who saw only the spec
(not the lexicon, the corpus or the code), in the blind sets' shape. Unlike the generated corpus they are someone
else's wording, so the intent model learns from them too; every fifth item (by position in its file) is held out
and never trained on — the honest, non-blind check of round 4 (``heldout_items``).
"""

from __future__ import annotations

from pathlib import Path

from pipelines.detection.corpus import Item, load

WRITTEN = Path(__file__).resolve().parent / "written"
HOLD_EVERY = 5  # item i of a file is held out when i % HOLD_EVERY == HOLD_EVERY - 1


def _parts() -> list[list[Item]]:
    return [load(path, default_label="neg") for path in sorted(WRITTEN.glob("part_*.yaml"))]


def training_items() -> list[Item]:
    """Every written item except the held-out fifth."""
    return [item for part in _parts() for i, item in enumerate(part) if i % HOLD_EVERY != HOLD_EVERY - 1]


def heldout_items() -> list[Item]:
    """The held-out fifth: never trained on, scored by the training script and the tests."""
    return [item for part in _parts() for i, item in enumerate(part) if i % HOLD_EVERY == HOLD_EVERY - 1]
