"""The detector on the labelled evaluation set (tests/eval): precision and recall floors, overall and per evasion
family; the confusion matrix per category is printed (pytest -s, or shown on failure)."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from pipelines.detection import Detection, Detector
from tests.eval.dataset import Item, load_items

FLOOR = 0.97
NONE = "—"


@pytest.fixture(scope="module")
def results() -> list[tuple[Item, Detection]]:
    detector = Detector()
    return [(item, detector.detect(item.sources)) for item in load_items()]


def _pr(pairs: list[tuple[Item, Detection]]) -> tuple[float, float, int, int]:
    tp = sum(i.is_ad and d.flagged for i, d in pairs)
    fp = sum(not i.is_ad and d.flagged for i, d in pairs)
    fn = sum(i.is_ad and not d.flagged for i, d in pairs)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall, fp, fn


def confusion_matrix(pairs: list[tuple[Item, Detection]]) -> str:
    """Rows: labelled category ("—" = not an ad); columns: the detector's (— = not flagged)."""
    cells = Counter((i.category or NONE, d.category if d.flagged else NONE) for i, d in pairs)
    labels = sorted({r for r, _ in cells} | {c for _, c in cells}, key=lambda x: (x == NONE, x))
    width = max(map(len, labels)) + 2
    lines = ["truth \\ detected".ljust(width) + "".join(c[:16].rjust(18) for c in labels)]
    for r in labels:
        lines.append(r.ljust(width) + "".join(str(cells.get((r, c), 0)).rjust(18) for c in labels))
    return "\n".join(lines)


def test_eval_set_is_big_and_hard_enough(results: list[tuple[Item, Detection]]) -> None:
    items = [i for i, _ in results]
    negatives = [i for i in items if not i.is_ad]
    assert len(items) >= 400
    assert len(negatives) >= len(items) / 3
    assert {i.kind for i in negatives} >= {"news", "police", "antifraud", "lender", "borrower"}
    assert any(i.id.startswith("seed-") for i in negatives), "sentences of the seed articles are negatives"
    families = Counter(i.family for i in items if i.is_ad)
    assert all(n >= 20 for n in families.values()), families


def test_precision_and_recall_overall_and_per_family(results: list[tuple[Item, Detection]]) -> None:
    by_family: dict[str, list[tuple[Item, Detection]]] = defaultdict(list)
    for pair in results:
        by_family[pair[0].family].append(pair)
    report = [f"{'family':14}{'n':>6}{'precision':>11}{'recall':>8}{'FP':>5}{'FN':>5}"]
    failures = []
    for family, pairs in sorted(by_family.items()) + [("ALL", results)]:
        p, r, fp, fn = _pr(pairs)
        report.append(f"{family:14}{len(pairs):>6}{p:>11.3f}{r:>8.3f}{fp:>5}{fn:>5}")
        if p < FLOOR or r < FLOOR:
            failures.append(family)
    errors = [
        f"{'FP' if d.flagged else 'FN'} {i.id} score={d.score}: {' | '.join(t for _, t in i.sources)[:90]!r}"
        for i, d in results
        if i.is_ad != d.flagged
    ]
    print("\n" + "\n".join(report) + "\n\n" + confusion_matrix(results) + "\n\n" + "\n".join(errors))
    assert not failures, f"below {FLOOR} in {failures}:\n" + "\n".join(report + errors)


def test_category_of_detected_ads(results: list[tuple[Item, Detection]]) -> None:
    flagged_ads = [(i, d) for i, d in results if i.is_ad and d.flagged]
    agree = sum(i.category == d.category for i, d in flagged_ads)
    assert agree / len(flagged_ads) >= 0.95, confusion_matrix(results)


def test_labelled_contacts_are_extracted(results: list[tuple[Item, Detection]]) -> None:
    missing = [
        (i.id, c, [x["value"] for x in d.contacts])
        for i, d in results
        for c in i.contacts
        if c not in {x["value"] for x in d.contacts}
    ]
    expected = sum(len(i.contacts) for i, _ in results)
    assert expected >= 60
    assert not missing, missing
