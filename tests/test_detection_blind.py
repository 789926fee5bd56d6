"""The detector on the blind set (tests/eval/blind): written from a short spec only, frozen before tuning.

Prints the tables (pytest -s); asserts the files are the frozen ones and that the figures do not fall below what
was measured when the set was first scored (a regression guard, not the issue's targets, which are not met)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from pipelines.detection import Detector
from pipelines.detection.corpus import load
from pipelines.detection.evaluate import contact_figures, figures, report_pairs, run

EVAL = Path(__file__).parent / "eval"
BLIND = EVAL / "blind"
PARTS = ("part_a.yaml", "part_b.yaml")
# v2: written while round 2 was tuned on the released v1; scored blind before round 2 (P 0.972, R 0.557) and after
# it (P 0.976, R 0.894, contacts P 0.973 R 0.843).
# Round 3 (contacts cut apart, pinyin in pieces, the model on units with a contact; tuned on v1 + v2): v2 P 0.978
# R 0.937 — a tuned-on figure, not a blind one.
# Round 4 (a wider model reading, tuned on v1-v3; still not blind): v2 P 0.973 R 0.969.
# Round 5: v2 P 0.983 R 0.973, v3 P 0.997 R 0.977.
# Round 6: v2 P 0.985 R 0.973, v3 P 0.997 R 0.974.
# v3: written while round 3 was tuned on v1 + v2; scored once, blind, after round 3: P 0.983 R 0.908.
# Round 4 (tuned on it, so no longer blind): v3 P 0.995 R 0.969.
# v4: written while round 4 was tuned on v1-v3 and the written training items; scored blind before round 4 (P 0.971
# R 0.854) and once after it: P 0.973 R 0.915 (contacts P 0.989 R 0.888). Released since: floors below that.
# Round 5 (not trained on v4; its misses were studied, none copied): P 0.984 R 0.959. Round 6: P 0.984 R 0.954.
# v5: written while round 5 was tuned on v1-v4; scored blind before round 5 (P 0.965 R 0.928) and once after it:
# P 0.981 R 0.938 (contacts P 0.971 R 0.907). Released since: floors below that.
# Round 6 (not trained on v5; its misses were studied, none copied): P 0.992 R 0.964.
# v6: written while round 6 was tuned on v1-v5; scored blind before round 6 (P 0.984 R 0.936) and once after it:
# P 0.987 R 0.938 (contacts P 0.989 R 0.900). Released since: floors below that.
# v7: written while round 7's training items were written (other writers, same spec); scored blind before round 7
# (P 0.967 R 0.910) and once after it: P 0.976 R 0.928 (contacts P 0.989 R 0.871). Released since and trained on in
# round 8 (P 0.992 R 0.979): floors below that.
# v8: written while round 8 was tuned on v1-v7; scored blind before round 8 (P 0.987 R 0.979) and once after it:
# P 0.987 R 0.985. v9 (written after round 8, its writers asked for hard items): scored once, blind, on round 8:
# P 0.976 R 0.946. Both released since and trained on in round 9: floors below that.
# v10: 1,200 items by four writers, written after round 8; scored blind before round 9 (P 0.988 R 0.963) and once
# after it: P 0.990 R 0.967, every kind >= 0.85. Not studied; its floors are the targets.
# name -> (folder, parts, floors (precision, recall)); the history of each set's figures is in the comments above.
LATER: dict[str, tuple[Path, tuple[str, ...], tuple[float, float]]] = {
    "v2": (EVAL / "blind2", ("part_c.yaml", "part_d.yaml"), (0.97, 0.95)),
    "v3": (EVAL / "blind3", ("part_e.yaml", "part_f.yaml"), (0.97, 0.95)),
    "v4": (EVAL / "blind4", ("part_g.yaml", "part_h.yaml"), (0.97, 0.94)),
    "v5": (EVAL / "blind5", ("part_i.yaml", "part_j.yaml"), (0.97, 0.94)),
    "v6": (EVAL / "blind6", ("part_k.yaml", "part_l.yaml"), (0.97, 0.92)),
    "v7": (EVAL / "blind7", ("part_m.yaml", "part_n.yaml"), (0.97, 0.95)),
    "v8": (EVAL / "blind8", ("part_o.yaml", "part_w.yaml"), (0.97, 0.96)),
    "v9": (EVAL / "blind9", ("part_a9.yaml", "part_b9.yaml"), (0.97, 0.94)),
    "v10": (EVAL / "blind10", ("part_c10.yaml", "part_d10.yaml", "part_e10.yaml", "part_f10.yaml"), (0.97, 0.95)),
}
# First score of blind set v1 (2026-11-30, merged wave-2 detector): precision 0.977, recall 0.495, contacts R 0.71.
FLOOR_PRECISION = 0.97
# blind v1 after it was released as development data (2026-11-30): 0.893; after round 3 (tuned on it): P 1.000
# R 0.924, floor that − 0.02.
# Round 4: P 0.993 R 0.950.
# Round 5: P 0.993 R 0.957.
# Round 6: P 0.993 R 0.957.
FLOOR_RECALL = 0.94


@pytest.mark.parametrize(("folder", "parts"), [(BLIND, PARTS)] + [(f, p) for f, p, _ in LATER.values()])
def test_blind_files_are_the_frozen_ones(folder: Path, parts: tuple[str, ...]) -> None:
    frozen = dict(line.split()[::-1] for line in (folder / "FROZEN.sha256").read_text().splitlines() if "  " in line)
    for part in parts:
        assert hashlib.sha256((folder / part).read_bytes()).hexdigest() == frozen[part], part


@pytest.fixture(scope="module")
def pairs():
    items = [item for part in PARTS for item in load(BLIND / part, default_label="neg")]
    assert len(items) >= 600
    return run(Detector(), items)


def test_blind_figures(pairs) -> None:
    print("\n" + report_pairs(pairs, errors=0))
    f = figures(pairs)
    cp, cr, _, _ = contact_figures(pairs)
    print(f"blind v1: precision {f.precision:.3f} recall {f.recall:.3f} contacts P {cp:.3f} R {cr:.3f}")
    assert f.precision >= FLOOR_PRECISION and f.recall >= FLOOR_RECALL


@pytest.mark.parametrize(("name", "folder", "parts", "floors"), [(n, *v) for n, v in LATER.items()])
def test_later_blind_sets(name: str, folder: Path, parts: tuple[str, ...], floors: tuple[float, float]) -> None:
    items = [item for part in parts for item in load(folder / part, default_label="neg")]
    assert len(items) >= 600
    later = run(Detector(), items)
    print("\n" + report_pairs(later, errors=0))
    f = figures(later)
    cp, cr, _, _ = contact_figures(later)
    print(f"blind {name}: precision {f.precision:.3f} recall {f.recall:.3f} contacts P {cp:.3f} R {cr:.3f}")
    assert f.precision >= floors[0] and f.recall >= floors[1]


def test_blind_v10_every_kind_meets_the_target() -> None:
    """The issue's per-kind target on the newest blind set: recall ≥ 0.85 for every kind of ad."""
    folder, parts, _ = LATER["v10"]
    items = [item for part in parts for item in load(folder / part, default_label="neg")]
    by_kind: dict[str, list] = {}
    for pair in run(Detector(), items):
        by_kind.setdefault(pair[0].kind, []).append(pair)
    recalls = {kind: figures(p).recall for kind, p in by_kind.items() if any(i.is_ad for i, _ in p)}
    assert len(recalls) == 13 and min(recalls.values()) >= 0.85, recalls
