"""Matcher: one Aho-Corasick automaton over every normalised spelling of the lexicon, plus its phrase patterns."""

from __future__ import annotations

import re

import ahocorasick

from pipelines.detection.lexicon import CATEGORY, Lexicon, Term
from pipelines.detection.normalize import BOUNDARY_CHAR

Hit = tuple[int, int, Term]  # start, end (in the normalised text), the lexicon term
_ASCII_WORD = re.compile(r"[a-z0-9]")


class Matcher:
    """Finds lexicon terms in normalised text; built once per lexicon (i.e. once per run)."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self.automaton = ahocorasick.Automaton()
        for spelling, term in lexicon.spellings.items():
            # Latin spellings (zxxf, fcs, qq) must stand alone: "fcs" inside "https" is not 反催收.
            self.automaton.add_word(spelling, (len(spelling), term, spelling.isascii()))
        self.automaton.make_automaton()
        # One regex per phrase pattern: separately each keeps the engine's literal-prefix shortcuts, which an
        # alternation of all of them loses (measured: half the time).
        self.patterns = [(p.regex.finditer, p.term) for p in lexicon.patterns]

    def find(self, text: str) -> list[Hit]:
        """Non-overlapping-by-containment hits: a term inside a longer matched term is dropped."""
        hits: list[Hit] = []
        n = len(text)
        for end, (length, term, ascii_only) in self.automaton.iter(text):
            start = end - length + 1
            if ascii_only and (
                (start > 0 and text[start - 1].isascii() and text[start - 1].isalnum())
                or (end + 1 < n and text[end + 1].isascii() and text[end + 1].isalnum())
            ):
                continue
            hits.append((start, end + 1, term))
        if hits:
            for finditer, term in self.patterns:
                for found in finditer(text):
                    if found.end() > found.start() and BOUNDARY_CHAR not in found.group():
                        hits.append((found.start(), found.end(), term))
        return _drop_contained(hits) if len(hits) > 1 else hits


def _drop_contained(hits: list[Hit]) -> list[Hit]:
    """Longest wins: drop every hit lying inside another, longer one ("不是骗子" hides its "骗子", "征信修复"
    its "征信") — except that a service term is never hidden by other wording ("帮你停催" keeps "停催")."""
    hits.sort(key=lambda h: (h[0], -h[1]))
    kept: list[Hit] = []
    reach = -1  # furthest end among kept hits that start at or before the current one
    category_reach = -1  # the same among kept service terms
    for hit in hits:
        is_category = hit[2].kind == CATEGORY
        if hit[1] <= (category_reach if is_category else reach):
            continue
        kept.append(hit)
        reach = max(reach, hit[1])
        if is_category:
            category_reach = max(category_reach, hit[1])
    return kept
