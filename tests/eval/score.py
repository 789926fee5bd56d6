"""Score the detector on labelled YAML files and print precision, recall, per-kind / per-source / per-category
tables and contact precision / recall.

    .venv/bin/python -m tests.eval.score FILE [FILE ...] [--errors 40] [--no-model]

Each FILE is a YAML list of items in any shape ``pipelines/detection/corpus.py`` reads (the blind set's
``{id, label, categories, kind, source, text, contacts}`` / ``sources: [[post, …], [image, …]]``, the tuned
set's, the generated corpus'). ``tuned`` stands for the whole tuned set (tests/eval/*.yaml).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pipelines.detection import Detector
from pipelines.detection.corpus import Item, load
from pipelines.detection.evaluate import report
from tests.eval.dataset import load_items


def items_of(name: str) -> list[Item]:
    if name == "tuned":
        return load_items()
    return load(Path(name), default_label="neg")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+")
    parser.add_argument("--errors", type=int, default=40, help="misclassified items to list")
    parser.add_argument("--no-model", action="store_true", help="lexicon only (no intent model)")
    args = parser.parse_args(argv)
    detector = Detector(use_model=not args.no_model)
    for name in args.files:
        print(f"== {name}")
        print(report(detector, items_of(name), errors=args.errors))
        print()


if __name__ == "__main__":
    main()
