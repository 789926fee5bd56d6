"""The lexicon as data: categories → terms (with variants), phrase patterns, call-to-action, context and
negative terms, contact weights — loaded from YAML (``pipelines/lexicon.yaml``) and normalised like post text."""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import product
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pypinyin
import yaml

from pipelines.detection.normalize import normalize

DEFAULT_LEXICON = Path(__file__).resolve().parent.parent / "lexicon.yaml"

# Kinds of evidence, as they appear in Match.kind and in the score.
CATEGORY, CTA, CONTEXT, NEGATIVE, OUTCOME = "category", "cta", "context", "negative", "outcome"
# Outcomes a third party promises ("征信变干净", "电话安静了"): the middle of a soft pitch's structure. They do not
# enter the lexicon score; the intent model and the structure check read them (pipelines/detection/intent.py).
_GROUPS = {"call_to_action": CTA, "context": CONTEXT, "negative": NEGATIVE, "outcome": OUTCOME}


@dataclass(frozen=True, slots=True)
class Term:
    """One lexicon entry: the canonical term (shown in explanations), its kind, category and weight."""

    term: str
    kind: str
    category: str | None
    weight: float


@dataclass(frozen=True)
class Pattern:
    """A phrase pattern (regex over normalised text) counted like a term named ``name``."""

    regex: re.Pattern[str]
    term: Term


@dataclass
class Lexicon:
    """Everything the matcher and the scorer need; ``spellings`` maps normalised spellings to terms."""

    spellings: dict[str, Term]
    patterns: list[Pattern]
    contact_weights: dict[str, float]
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def categories(self) -> list[str]:
        return list(self.labels)


class LexiconError(ValueError):
    """The lexicon file is malformed (names the offending entry)."""


def load_lexicon(path: str | Path | None = None) -> Lexicon:
    """Read and check the lexicon YAML; every term and variant is normalised like post text."""
    path = Path(path) if path else DEFAULT_LEXICON
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    spellings: dict[str, Term] = {}
    labels: dict[str, str] = {}
    for category, spec in (data.get("categories") or {}).items():
        labels[category] = (spec or {}).get("label") or category
        for term, value in ((spec or {}).get("terms") or {}).items():
            _add(spellings, term, value, CATEGORY, category, path)
    for group, kind in _GROUPS.items():
        for term, value in (data.get(group) or {}).items():
            # Context and outcome entries may name the category they point to ({weight: w, category: c}).
            hint = value.get("category") if isinstance(value, dict) else None
            if hint is not None and hint not in labels:
                raise LexiconError(f"{path}: {term!r} names unknown category {hint!r}")
            _add(spellings, term, value, kind, hint, path)
    # Spelling variants are added after every listed spelling, which therefore always wins; between terms,
    # the one listed first wins (in lexicon order, not set order, which would change with the hash seed).
    for term in dict.fromkeys(t for t in spellings.values() if t.kind in (CATEGORY, CONTEXT)):
        for variant in spelling_variants(term.term, homophones=term.kind == CATEGORY):
            spellings.setdefault(normalize(variant), term)
    patterns = [_pattern(p, labels, path) for p in data.get("patterns") or []]
    contacts = {k: float(v) for k, v in (data.get("contacts") or {}).items()}
    return Lexicon(spellings, patterns, contacts, labels)


@lru_cache(maxsize=1)
def homophone_index() -> dict[str, list[str]]:
    """Toneless pinyin → the common characters read that way (GB2312 level 1, the 3755 most used)."""
    index: dict[str, list[str]] = {}
    for b1 in range(0xB0, 0xD8):
        for b2 in range(0xA1, 0xFF):
            try:
                c = bytes((b1, b2)).decode("gb2312")
            except UnicodeDecodeError:
                continue
            index.setdefault(_reading(c), []).append(c)
    return index


@lru_cache(maxsize=None)
def _reading(c: str) -> str:
    """The usual toneless reading of a character. Only that one: rarer readings of 还 (fu) would make
    "协商付款" — an ordinary phrase — a spelling of 协商还款."""
    return pypinyin.lazy_pinyin(c)[0]


def spelling_variants(term: str, homophones: bool = True) -> set[str]:
    """How evaders re-spell a term: pinyin initials (停息挂账 → txgz), one character as its pinyin syllable
    (停xi挂账), and — for terms of four or more characters — one character swapped for a common homophone
    (停息挂帐, 征信修护). One change at a time: two would also hit ordinary words."""
    chars = list(term)
    if not all("\u4e00" <= c <= "\u9fff" for c in chars) or len(chars) < 2:
        return set()
    # The term's own reading (phrase-aware: 还款 → huan) and each character's usual one.
    in_term = pypinyin.lazy_pinyin(term)
    readings = [dict.fromkeys((own, _reading(c))) for own, c in zip(in_term, chars)]
    out: set[str] = set()
    if len(chars) >= 3:
        out.update("".join(p) for p in product(*[{r[0] for r in rs} for rs in readings]))
    for i, rs in enumerate(readings):
        for r in rs:
            out.add("".join(chars[:i]) + r + "".join(chars[i + 1 :]))
            if homophones and len(chars) >= 4:
                for h in homophone_index().get(r, ()):
                    out.add("".join(chars[:i]) + h + "".join(chars[i + 1 :]))
    out.discard(term)
    return out


def _add(spellings: dict[str, Term], term: str, value: Any, kind: str, category: str | None, path: Path) -> None:
    weight, variants = (value.get("weight"), value.get("variants") or []) if isinstance(value, dict) else (value, [])
    if not isinstance(weight, (int, float)) or not 0 < weight <= 1:
        raise LexiconError(f"{path}: {term!r} needs a weight in (0, 1], got {weight!r}")
    entry = Term(str(term), kind, category, float(weight))
    for spelling in [str(term), *map(str, variants)]:
        key = normalize(spelling)
        if not key:
            raise LexiconError(f"{path}: {spelling!r} normalises to nothing")
        old = spellings.get(key)
        # The same spelling listed twice keeps the stronger reading; a category beats a generic term.
        if old is None or (old.kind != CATEGORY and kind == CATEGORY) or (old.kind == kind and old.weight < weight):
            spellings[key] = entry


def _pattern(spec: dict[str, Any], labels: dict[str, str], path: Path) -> Pattern:
    kind = {"category": CATEGORY, **_GROUPS}.get(spec.get("kind", ""), spec.get("kind"))
    category = spec.get("category")
    if kind == CATEGORY and category not in labels:
        raise LexiconError(f"{path}: pattern {spec.get('name')!r} names unknown category {category!r}")
    try:
        regex = re.compile(spec["pattern"])
    except (KeyError, re.error) as exc:
        raise LexiconError(f"{path}: bad pattern {spec!r}: {exc}") from exc
    return Pattern(regex, Term(spec.get("name") or spec["pattern"], kind, category, float(spec.get("weight", 0.5))))
