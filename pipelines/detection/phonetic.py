"""Phonetic matching: lexicon terms found by how they sound, not how they are written.

Evaders re-spell a watched word with other characters of the same sound (蒸信 / 正信 for 征信, 崔收 for 催收),
write it in pinyin (``zheng xin xiu fu``, ``zhengxin修复``, ``征xin``) or by its initials (``zx``, ``cs``). Here
every character of the compact view is read as one toneless pinyin syllable and every syllable is *folded* the
way people really mix them up (z/zh, c/ch, s/sh, n/l, an/ang, en/eng, in/ing); each folded syllable becomes one
code character (private-use area), so the text becomes a string of syllable codes. Latin runs that spell pinyin
are cut into syllables the same way. One Aho-Corasick automaton over the codes of every term's readings then
finds homophones and pinyin spellings at once; every code keeps the span of the compact text it came from, so
the explanation still quotes what was posted.

Readings come from pypinyin's character table (its first reading per character for text; every reading for
terms, so 还 in 协商还款 is both huan and hai). A homophone that is itself an ordinary word (预期 for 逾期,
负载 for 负债, 扣子 for 口子 — any word of jieba's dictionary) is no disguise and is not reported.
"""

from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import product

import ahocorasick_rs
from pypinyin.pinyin_dict import pinyin_dict

from pipelines.detection.lexicon import CATEGORY, CONTEXT, CTA, OUTCOME, Lexicon, Term

_TONES = str.maketrans("āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿ", "aaaaeeeeiiiioooouuuuvvvvvnnnm")
CODE_BASE = 0xE000  # private-use area: one code character per folded syllable
LATIN_RUN = re.compile(r"[a-z]{2,}")
MAX_READINGS = 16  # combinations of readings per term (polyphonic characters)


def fold(syllable: str) -> str:
    """The syllable as people confuse it: zh→z, ch→c, sh→s, l→n, ang→an, eng→en, ing→in (iang→ian …)."""
    if syllable[:2] in ("zh", "ch", "sh"):
        syllable = syllable[0] + syllable[2:]
    elif syllable[:1] == "l":
        syllable = "n" + syllable[1:]
    if syllable.endswith("ng") and len(syllable) > 2 and syllable[-3] in "aei":
        syllable = syllable[:-1]
    return syllable


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[int, str], dict[str, str], dict[int, tuple[str, ...]]]:
    """(str.translate table: CJK character → code of its first reading; folded syllable → code;
    character → all its folded readings)."""
    codes: dict[str, str] = {}
    table: dict[int, str] = {}
    readings: dict[int, tuple[str, ...]] = {}
    for cp, spec in pinyin_dict.items():
        if cp > 0xFFFF:
            continue
        folded = tuple(dict.fromkeys(fold(r.translate(_TONES)) for r in spec.split(",") if r))
        if not folded:
            continue
        for r in folded:
            codes.setdefault(r, chr(CODE_BASE + len(codes)))
        table[cp] = codes[folded[0]]
        readings[cp] = folded
    return table, codes, readings


@lru_cache(maxsize=1)
def _syllables() -> frozenset[str]:
    """Plain (unfolded) pinyin syllables, for cutting latin runs."""
    plain: set[str] = set()
    for spec in pinyin_dict.values():
        plain.update(r.translate(_TONES).replace("v", "u") for r in spec.split(",") if r)
    return frozenset(p for p in plain if p.isascii() and p.isalpha() and p not in ("m", "n", "ng", "hm", "hng", "r"))


@lru_cache(maxsize=4096)
def split_pinyin(run: str) -> tuple[str, ...] | None:
    """Cut a latin run into pinyin syllables (fewest syllables), or None if it is not pinyin."""
    n = len(run)
    syllables = _syllables()
    best: list[tuple[str, ...] | None] = [None] * (n + 1)
    best[0] = ()
    for i in range(n):
        done = best[i]
        if done is None:
            continue
        for j in range(i + 1, min(n, i + 6) + 1):
            if run[i:j] in syllables:
                old = best[j]
                if old is None or len(done) + 1 < len(old):
                    best[j] = done + (run[i:j],)
    return best[n]


SKIP_COST = 3  # a letter left out costs three syllables: pinyin is read wherever it can be


@lru_cache(maxsize=4096)
def pinyin_pieces(run: str) -> tuple[str, ...] | None:
    """A latin run that is not pinyin as a whole (pinyin glued to an id, an initialism or an English word:
    ``shanchuyuqijiluv``, ``tingddwo``), cut into syllables with the fewest letters left out; each letter left
    out is ``"!" + letter``. None when no syllable of two letters or more is in it."""
    n = len(run)
    syllables = _syllables()
    best: list[tuple[int, tuple[str, ...]] | None] = [None] * (n + 1)
    best[0] = (0, ())
    for i in range(n):
        done = best[i]
        if done is None:
            continue
        cost, pieces = done
        for j in range(i + 1, min(n, i + 6) + 1):
            if run[i:j] in syllables and (best[j] is None or cost + 1 < best[j][0]):  # type: ignore[index]
                best[j] = (cost + 1, pieces + (run[i:j],))
        if best[i + 1] is None or cost + SKIP_COST < best[i + 1][0]:  # type: ignore[index]
            best[i + 1] = (cost + SKIP_COST, pieces + ("!" + run[i],))
    found = best[n]
    if found is None or not any(len(p) >= 2 and p[0] != "!" for p in found[1]):
        return None
    return found[1]


def initials(term: str) -> str:
    """First letters of the term's usual readings (征信 → zx, 催收 → cs)."""
    _, _, readings = _tables()
    out = []
    for c in term:
        r = readings.get(ord(c))
        if not r:
            return ""
        out.append(r[0][0])
    return "".join(out)


@dataclass(frozen=True, slots=True)
class PhoneticHit:
    """A term found by sound: span in the compact text, the term, how (pinyin / homophone / initials)."""

    start: int
    end: int
    term: Term
    via: str


class PhoneticMatcher:
    """Finds category and context terms of the lexicon by sound in the compact view of a text."""

    def __init__(self, lexicon: Lexicon) -> None:
        table, codes, readings = _tables()
        self._table = table
        self._codes = codes
        self.spellings = lexicon.spellings  # exact spellings: the main automaton finds those already
        entries: dict[str, Term] = {}
        self.initialisms: dict[str, Term] = {}
        for term in dict.fromkeys(lexicon.spellings.values()):
            if term.kind not in (CATEGORY, CONTEXT, OUTCOME, CTA) or len(term.term) < 2:
                continue
            # Promised outcomes and calls to action said in pinyin ("bao ni an jing", "si xin wo"): three
            # characters and more, where a chance reading of everyday words is unlikely.
            if term.kind in (OUTCOME, CTA) and len(term.term) < 3:
                continue
            if not all(ord(c) in readings for c in term.term):
                continue
            options = [readings[ord(c)] for c in term.term]
            for n, combo in enumerate(product(*options)):
                if n >= MAX_READINGS:
                    break
                entries.setdefault("".join(codes[r] for r in combo), term)
            if len(term.term) == 2:  # longer terms' initials are plain spellings in the lexicon already
                self.initialisms.setdefault(initials(term.term), term)
        self.strings = list(entries)
        self.terms = list(entries.values())
        self.automaton = ahocorasick_rs.AhoCorasick(self.strings, matchkind=ahocorasick_rs.MatchKind.LeftmostLongest)
        # Read the dictionary now, with the rest of the build, not at the first homophone of a crawl (where it
        # would hold up the reactor for a moment).
        _dictionary()

    def code_view(self, text: str, latin: bool | None = None) -> tuple[str, list[int] | None]:
        """The text as syllable codes, and (when latin pinyin was cut, so positions moved) where each code
        starts in the text (each code ends where the next one starts, the last one at the end of the text).
        ``latin``: whether the text holds a latin run (None: look)."""
        coded = text.translate(self._table)
        if not (LATIN_RUN.search(coded) is not None if latin is None else latin):
            return coded, None
        parts: list[str] = []
        starts: list[int] = []
        last = 0
        for run in LATIN_RUN.finditer(coded):
            s, e = run.span()
            syllables = split_pinyin(run.group()) or pinyin_pieces(run.group())
            if syllables is None:
                continue
            parts.append(coded[last:s])
            starts.extend(range(last, s))
            at = s
            for syl in syllables:
                starts.append(at)
                if syl[0] == "!":  # a letter no syllable holds: kept as itself (no term's code)
                    parts.append(syl[1])
                    at += 1
                    continue
                parts.append(self._codes.get(fold(syl), "?"))
                at += len(syl)
            last = e
        parts.append(coded[last:])
        starts.extend(range(last, len(coded)))
        return "".join(parts), starts

    def find(self, text: str, latin: bool | None = None) -> list[PhoneticHit]:
        """Hits in the compact ``text`` that its exact spellings do not already explain (``latin``: whether the
        text holds a latin run, if the caller knows)."""
        if latin is None:
            latin = LATIN_RUN.search(text) is not None
        coded, starts = self.code_view(text, latin)
        hits: list[PhoneticHit] = []
        for index, s, e in self.automaton.find_matches_as_indexes(coded):
            if starts is not None:
                s, e = starts[s], starts[e] if e < len(starts) else len(text)
            written = text[s:e]
            if written in self.spellings:
                continue
            via = "pinyin" if written.isascii() else "homophone" if not any(c.isascii() for c in written) else "pinyin"
            if via == "homophone" and is_word(written):
                continue
            hits.append(PhoneticHit(s, e, self.terms[index], via))
        if not latin:
            return hits
        for run in LATIN_RUN.finditer(text):
            term = self.initialisms.get(run.group())
            if term is not None and run.group() not in self.spellings:
                hits.append(PhoneticHit(run.start(), run.end(), term, "initials"))
        return hits


@lru_cache(maxsize=1)
def _dictionary() -> frozenset[str]:
    """Words of two to four characters in jieba's dictionary (read once per process)."""
    spec = importlib.util.find_spec("jieba")
    if spec is None or spec.origin is None:  # pragma: no cover - jieba is pinned
        return frozenset()
    path = os.path.join(os.path.dirname(spec.origin), "dict.txt")
    with open(path, encoding="utf-8") as f:
        return frozenset(w for w, _, _ in (line.split(" ", 2) for line in f) if 2 <= len(w) <= 4)


def is_word(chars: str) -> bool:
    """An ordinary word (so a homophone spelled this way is no disguise)."""
    return chars in _dictionary()
