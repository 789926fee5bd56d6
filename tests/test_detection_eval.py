"""The detector on the labelled evaluation set (tests/eval): precision and recall floors, overall and per evasion
family; the confusion matrix per category is printed (pytest -s, or shown on failure)."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import pytest

from pipelines.detection import Detection, Detector
from pipelines.detection.corpus import load
from pipelines.detection.data import pitches, shapes, written
from pipelines.detection.evaluate import figures, report_pairs, run
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


# --- issue 14: the intent model's corpus, the own held-out split, the loader the blind set will go through ----

DATA = Path(__file__).resolve().parent.parent / "pipelines" / "detection" / "data"
HELD_FLOOR_PRECISION, HELD_FLOOR_RECALL = 0.97, 0.93
# The shapes added after blind v1 was released (data/shapes.py: full-pinyin phrases, offers without any listed
# wording, English services …) and after v2 (data/pitches.py: outcomes in everyday words, dismissals, stories) are
# harder by design; their floor is lower and held apart from the first kinds'.
NEW_SHAPES_FLOOR_RECALL = 0.70
# Their held-out templates (bios with no call to action, stories) are the hardest yet: measured 0.40 when added.
THIRD_SHAPES_FLOOR_RECALL = 0.38


def test_training_corpus_is_big_and_varied() -> None:
    train = load(DATA / "train.yaml")
    assert len(train) >= 3000
    kinds = Counter(i.kind for i in train)
    assert {"soft", "pinyin", "homophone", "comment", "bio", "ocr", "testimonial", "codeswitch", "dialect"} <= set(kinds)
    assert {"news", "antifraud", "borrower", "victim", "diary", "unrelated", "seed"} <= set(kinds)
    assert set(shapes.AD_KINDS2) | set(shapes.NEG2) | set(pitches.AD_KINDS3) | set(pitches.NEG3) <= set(kinds)
    held_texts = {tuple(i.sources) for i in load(DATA / "heldout.yaml")}
    assert not held_texts & {tuple(i.sources) for i in train}, "the held-out split shares no item with training"


def test_own_heldout_split_not_blind(results: list[tuple[Item, Detection]]) -> None:
    """The held-out split: written by the same hand as the training corpus, from templates training never saw —
    not blind, so its figures are an upper bound on what an independent set would show."""
    detector = Detector()
    pairs = run(detector, load(DATA / "heldout.yaml"))
    print("\nown held-out split (NOT blind):\n" + report_pairs(pairs, errors=20))
    print("\ntuned set:\n" + report_pairs(results, errors=0))
    new_kinds = set(shapes.AD_KINDS2) | set(shapes.NEG2)
    third_kinds = set(pitches.AD_KINDS3) | set(pitches.NEG3)
    first = figures([(i, d) for i, d in pairs if i.kind not in new_kinds | third_kinds])
    assert first.precision >= HELD_FLOOR_PRECISION and first.recall >= HELD_FLOOR_RECALL, report_pairs(pairs)
    later = figures([(i, d) for i, d in pairs if i.kind in new_kinds])
    assert later.precision >= HELD_FLOOR_PRECISION and later.recall >= NEW_SHAPES_FLOOR_RECALL, report_pairs(pairs)
    third = figures([(i, d) for i, d in pairs if i.kind in third_kinds])
    assert third.precision >= HELD_FLOOR_PRECISION and third.recall >= THIRD_SHAPES_FLOOR_RECALL, report_pairs(pairs)


def test_loader_reads_the_blind_shape(tmp_path: Path) -> None:
    path = tmp_path / "items.yaml"
    path.write_text(
        "- {id: b1, label: ad, categories: [debt_relief, stop_collection], kind: comment_reply, source: comment,"
        " text: '停息挂账私我', contacts: [abc123]}\n"
        "- {id: b2, label: neg, categories: [], kind: news, sources: [[post, '正文'], [image, '图一'], [image, '图二'],"
        " [bio, '简介'], [title, '标题']]}\n",
        encoding="utf-8",
    )
    ad, neg = load(path)
    assert (ad.id, ad.is_ad, ad.categories, ad.kind, ad.source, ad.sources) == (
        "b1", True, ("debt_relief", "stop_collection"), "comment_reply", "comment", [("comment:0", "停息挂账私我")]
    )
    assert ad.contacts == ["abc123"]
    assert not neg.is_ad and neg.source == "text"
    assert neg.sources == [("text", "正文"), ("image:0", "图一"), ("image:1", "图二"), ("bio", "简介"), ("title", "标题")]
    text = report_pairs(run(Detector(), [ad, neg]))
    assert "comment_reply" in text and "contacts: precision" in text and "source" in text


# --- round 4: hand-written items of other writers (data/written/), every fifth held out -----------------------

# Measured when round 4 closed: precision 0.988, recall 0.90 on the held-out fifth (134 items); floors below that.
# Round 5 (text-shape features, written items weighed 6x): the same 134 items P 1.000 R 0.935.
WRITTEN_FLOOR_PRECISION, WRITTEN_FLOOR_RECALL = 0.97, 0.91
# Round 5's own written part (part_r5.yaml: comments, testimonials, soft pitches and their hard negatives — victims,
# borrowers, anti-fraud) has its held-out fifth scored apart: 32 items, P 0.78 R 0.875 when round 5 closed (its
# hard negatives are the open problem); floors below that.
R5_FLOOR_PRECISION, R5_FLOOR_RECALL = 0.74, 0.84


def test_written_items_split_and_heldout_fifth_not_blind() -> None:
    """Other writers' items: the training script never sees the held-out fifth (not blind: round 4 read the
    misses of the trained part)."""
    train, held = written.training_items(), written.heldout_items()
    assert len(train) >= 500 and len(held) >= 120
    assert not {tuple(i.sources) for i in held} & {tuple(i.sources) for i in train}
    pairs = run(Detector(), held)
    print("\nwritten items' held-out fifth (NOT blind):\n" + report_pairs(pairs, errors=20))
    f = figures([(i, d) for i, d in pairs if not i.id.startswith("r5-")])
    assert f.precision >= WRITTEN_FLOOR_PRECISION and f.recall >= WRITTEN_FLOOR_RECALL, report_pairs(pairs)
    r5 = figures([(i, d) for i, d in pairs if i.id.startswith("r5-")])
    assert r5.n >= 30 and r5.precision >= R5_FLOOR_PRECISION and r5.recall >= R5_FLOOR_RECALL, report_pairs(pairs)
