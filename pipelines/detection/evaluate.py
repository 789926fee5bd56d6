"""Scoring a detector on labelled items: precision, recall, per-kind, per-source and per-category tables, and
contact precision / recall. Used by the training script, the tests and ``python -m tests.eval.score FILE``."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from pipelines.detection import Detection, Detector
from pipelines.detection.corpus import Item


@dataclass
class Figures:
    n: int
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def figures(pairs: list[tuple[Item, Detection]]) -> Figures:
    tp = sum(i.is_ad and d.flagged for i, d in pairs)
    fp = sum(not i.is_ad and d.flagged for i, d in pairs)
    fn = sum(i.is_ad and not d.flagged for i, d in pairs)
    return Figures(len(pairs), tp, fp, fn)


def _contact_key(value: str) -> str:
    value = value.strip().lower()
    return re.sub(r"\D", "", value) if re.fullmatch(r"[\d\s\-+]+", value) else value


def contact_figures(pairs: list[tuple[Item, Detection]]) -> tuple[float, float, int, int]:
    """(precision over contacts extracted from ads, recall over labelled contacts, extracted, labelled)."""
    labelled = found = right = hit = 0
    for item, d in pairs:
        want = {_contact_key(c) for c in item.contacts}
        got = {_contact_key(c["value"]) for c in d.contacts}
        labelled += len(want)
        hit += len(want & got)
        if item.is_ad and want:  # precision where the writer listed the ad's contacts
            found += len(got)
            right += len(got & want)
    return (right / found if found else 1.0), (hit / labelled if labelled else 1.0), found, labelled


def table(title: str, groups: dict[str, list[tuple[Item, Detection]]]) -> list[str]:
    lines = [f"{title:18}{'n':>6}{'ads':>6}{'precision':>11}{'recall':>8}{'FP':>5}{'FN':>5}"]
    for name, pairs in sorted(groups.items()):
        f = figures(pairs)
        ads = sum(i.is_ad for i, _ in pairs)
        lines.append(f"{name[:18]:18}{f.n:>6}{ads:>6}{f.precision:>11.3f}{f.recall:>8.3f}{f.fp:>5}{f.fn:>5}")
    return lines


def run(detector: Detector, items: list[Item]) -> list[tuple[Item, Detection]]:
    return [(item, detector.detect(item.sources)) for item in items]


def report(detector: Detector, items: list[Item], errors: int = 40) -> str:
    """The tables as text (and up to ``errors`` misclassified items)."""
    pairs = run(detector, items)
    return report_pairs(pairs, errors)


def report_pairs(pairs: list[tuple[Item, Detection]], errors: int = 40) -> str:
    f = figures(pairs)
    cp, cr, found, labelled = contact_figures(pairs)
    flagged_ads = [(i, d) for i, d in pairs if i.is_ad and d.flagged and i.category]
    agree = sum(d.category in i.categories for i, d in flagged_ads)
    lines = [
        f"ALL: n={f.n} precision {f.precision:.3f} recall {f.recall:.3f} (FP {f.fp}, FN {f.fn})",
        f"contacts: precision {cp:.3f} recall {cr:.3f} ({found} extracted from ads with listed contacts, {labelled} labelled)",
        f"category of flagged ads among the labelled ones: {agree}/{len(flagged_ads)}",
        "",
    ]
    by_kind: dict[str, list[tuple[Item, Detection]]] = defaultdict(list)
    by_source: dict[str, list[tuple[Item, Detection]]] = defaultdict(list)
    by_category: dict[str, list[tuple[Item, Detection]]] = defaultdict(list)
    for pair in pairs:
        by_kind[pair[0].kind].append(pair)
        by_source[pair[0].source].append(pair)
        by_category[pair[0].category or "(negative)"].append(pair)
    lines += table("kind", by_kind) + [""] + table("source", by_source) + [""] + table("category", by_category)
    wrong = [(i, d) for i, d in pairs if i.is_ad != d.flagged]
    if wrong and errors:
        lines.append("")
        for i, d in wrong[:errors]:
            text = " | ".join(t for _, t in i.sources).replace("\n", "⏎")
            lines.append(f"{'FP' if d.flagged else 'FN'} {i.id} [{i.kind}] score={d.score}: {text[:100]}")
        if len(wrong) > errors:
            lines.append(f"… {len(wrong) - errors} more")
    return "\n".join(lines)
