"""Matcher: one Aho-Corasick automaton over every normalised spelling of the lexicon, plus its phrase patterns."""

from __future__ import annotations

import re
from itertools import product
from re import _parser as sre_parse  # type: ignore[attr-defined]  # the stdlib's own regex parser

import ahocorasick_rs

from pipelines.detection.lexicon import CATEGORY, Lexicon, Term
from pipelines.detection.normalize import BOUNDARY_CHAR

Hit = tuple[int, int, Term]  # start, end (in the normalised text), the lexicon term
_MAX_GATE_STRINGS = 256  # beyond this many alternatives a literal set is not worth a gate


class Matcher:
    """Finds lexicon terms in normalised text; built once per lexicon (i.e. once per run).

    The automaton also holds, for each phrase pattern, literals every match of it must contain (its *gate*):
    a pattern runs only on texts where the automaton saw one of them, so most texts skip most patterns.
    """

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        # One automaton entry per distinct string: the term it spells (if any), whether it must stand alone as
        # a latin word, and the patterns it opens.
        entries: dict[str, tuple[Term | None, bool, list[int]]] = {}
        for spelling, term in lexicon.spellings.items():
            # Latin spellings (zxxf, fcs, qq) must stand alone: "fcs" inside "https" is not 反催收.
            entries[spelling] = (term, spelling.isascii(), [])
        # One regex per phrase pattern: separately each keeps the engine's literal-prefix shortcuts, which an
        # alternation of all of them loses (measured: half the time).
        self.patterns = [(p.regex.finditer, p.term) for p in lexicon.patterns]
        self.ungated: list[int] = []  # patterns with no extractable gate: run whenever a term was found
        # Of those, the ones written in latin letters only (English phrasings) can match only a text that holds
        # some: a Chinese text is spared them.
        self.ungated_cjk: list[int] = []
        # An alternation of phrasings (``闭嘴|清净了|…``) has no literal all its matches share, but each branch
        # has one: such a pattern runs whenever a term was found, like an ungated one, yet only when one of its
        # branches' literals is there too (its *branch gate*, which never opens the pattern pass by itself).
        weak: dict[str, list[int]] = {}
        self._latin_only: set[int] = set()
        for i, pattern in enumerate(lexicon.patterns):
            gate = required_literals(pattern.regex)
            if gate is None:
                latin_only = _LATIN_ONLY.fullmatch(pattern.regex.pattern) is not None
                branch_gate = branch_literals(pattern.regex)
                if branch_gate is not None:
                    for literal in branch_gate:
                        weak.setdefault(literal, []).append(i)
                        entries.setdefault(literal, (None, False, []))
                    if latin_only:
                        self._latin_only.add(i)
                    continue
                self.ungated.append(i)
                if not latin_only:
                    self.ungated_cjk.append(i)
                continue
            for literal in gate:
                entries.setdefault(literal, (None, False, []))[2].append(i)
        self.strings = list(entries)
        # Hits carry an id into ``terms``: the automaton's string index for a spelling, then one per pattern.
        self.terms: list[Term | None] = [term for term, _, _ in entries.values()] + [p.term for p in lexicon.patterns]
        self._pattern_ids = range(len(self.strings), len(self.terms))
        self._is_category = [term is not None and term.kind == CATEGORY for term in self.terms]
        # Per automaton string: its term id (-1: a gate literal only), whether it must stand alone, its gates,
        # its branch gates.
        self.entries = [
            (i if term is not None else -1, ascii_only, tuple(gates), tuple(weak.get(string, ())))
            for i, (string, (term, ascii_only, gates)) in enumerate(entries.items())
        ]
        # The usual string: a term that needs no check and opens nothing: its id here (else -1, see entries).
        self._plain = [e[0] if e[0] >= 0 and not (e[1] or e[2] or e[3]) else -1 for e in self.entries]
        self.automaton = ahocorasick_rs.AhoCorasick(self.strings, matchkind=ahocorasick_rs.MatchKind.Standard)

    def find(self, text: str, gated: bool = True) -> list[Hit]:
        """Non-overlapping-by-containment hits: a term inside a longer matched term is dropped.

        ``gated=False`` runs every phrase pattern whatever the automaton saw (tests compare the two).
        """
        terms = self.terms
        return [(start, end, terms[i]) for start, end, i in self.find_ids(text, gated)]  # type: ignore[misc]

    def find_ids(self, text: str, gated: bool = True) -> list[tuple[int, int, int]]:
        """:meth:`find` with the term as its id in ``terms`` (the detector's per-id tables make a hit cheap)."""
        hits: list[tuple[int, int, int]] = []  # start, −end, id: plain tuple order is the order kept hits need
        opened: set[int] = set()
        branches: set[int] = set()
        entries, plain = self.entries, self._plain
        n = len(text)
        for index, start, end in self.automaton.find_matches_as_indexes(text, overlapping=True):
            term_id = plain[index]
            if term_id >= 0:
                hits.append((start, -end, term_id))
                continue
            term_id, ascii_only, gates, weak = entries[index]
            if gates:
                opened.update(gates)
            if weak:
                branches.update(weak)
            if term_id < 0:
                continue
            if ascii_only and (
                (start > 0 and text[start - 1].isascii() and text[start - 1].isalnum())
                or (end < n and text[end].isascii() and text[end].isalnum())
            ):
                continue
            hits.append((start, -end, term_id))
        if not hits and not opened:
            return []
        # Lexicon order, so that of two hits on the same span the same one is kept as without gates.
        if not gated:
            opened = set(range(len(self.patterns)))
        else:
            if self.ungated:
                opened.update(self.ungated if _LATIN.search(text) else self.ungated_cjk)
            if branches:
                if not branches.isdisjoint(self._latin_only) and not _LATIN.search(text):
                    branches -= self._latin_only
                opened |= branches
        patterns, pattern_ids = self.patterns, self._pattern_ids
        for i in sorted(opened) if len(opened) > 1 else opened:
            finditer = patterns[i][0]
            for found in finditer(text):
                start, end = found.span()
                if end > start and BOUNDARY_CHAR not in found.group():
                    hits.append((start, -end, pattern_ids[i]))
        if not hits:
            return []
        if len(hits) == 1:
            start, neg_end, i = hits[0]
            return [(start, -neg_end, i)]
        return _drop_contained(hits, self._is_category)


    def find_patterns(self, text: str) -> list[tuple[int, int, int]]:
        """Every phrase pattern's hits (start, end, id), whatever the automaton saw: for a text whose terms were
        found only by sound (pinyin, initials), where no literal opened the patterns."""
        hits = [
            (found.start(), -found.end(), pattern_id)
            for (finditer, _), pattern_id in zip(self.patterns, self._pattern_ids)
            for found in finditer(text)
            if found.end() > found.start() and BOUNDARY_CHAR not in found.group()
        ]
        return _drop_contained(hits, self._is_category) if hits else []

_LATIN = re.compile("[a-z]")
# A pattern that can match only latin letters and digits (and the regex syntax around them): no character above
# ASCII, no "." and no escape but \d that could stand for one.
_LATIN_ONLY = re.compile(r"(?:[a-z?:()|*+{},0-9]|\\d)*")


def required_literals(regex: re.Pattern[str]) -> frozenset[str] | None:
    """Strings one of which every match of ``regex`` contains, or None if none can be told.

    Read from the regex's top-level sequence: the longest run of consecutive items that each match one of a few
    fixed strings (literals, alternations of literals, classes of plain characters) — e.g. ``逾期记录`` in
    ``(?:删除|消除).{0,4}逾期记录``, or ``先办事后收费`` … in ``先(?:办事|服务)后(?:收费|付款)``.
    """
    items = _parsed(regex)
    return _sequence_literals(items) if items is not None else None


def branch_literals(regex: re.Pattern[str]) -> frozenset[str] | None:
    """For a regex that is one alternation (``a…|b…|c…``): the union of what each branch requires (see
    :func:`required_literals`), or None if some branch requires nothing that can be told."""
    items = _parsed(regex)
    if items is None or len(items) != 1 or items[0][0] is not sre_parse.BRANCH:
        return None
    out: set[str] = set()
    for branch in items[0][1][1]:
        gate = _sequence_literals(list(branch))
        if gate is None:
            return None
        out |= gate
    return frozenset(out)


def _parsed(regex: re.Pattern[str]) -> list | None:
    """The top-level sequence of a regex without case folding (whose literals cannot be told), or None."""
    if regex.flags & re.IGNORECASE:
        return None
    try:
        return list(sre_parse.parse(regex.pattern, regex.flags))
    except (re.error, RecursionError):  # pragma: no cover - compiled patterns parse
        return None


def _sequence_literals(items: list) -> frozenset[str] | None:
    """:func:`required_literals` of a parsed sequence."""
    best: set[str] | None = None
    run: set[str] | None = None
    for item in [*items, None]:
        strings = _fixed_strings([item]) if item is not None else None
        if strings is not None and run is not None and len(run) * len(strings) <= _MAX_GATE_STRINGS:
            run = {a + b for a in run for b in strings}
            continue
        if run is not None and (best is None or _selectivity(run) > _selectivity(best)):
            best = run
        run = strings
    return frozenset(best) if best and all(best) else None


def _selectivity(strings: set[str]) -> tuple[int, int]:
    """Longer shortest string first, then fewer strings."""
    return min(map(len, strings)), -len(strings)


def _fixed_strings(sequence: list) -> set[str] | None:
    """The strings a parsed regex sequence can match when they are few and fixed, else None."""
    out = {""}
    for op, av in sequence:
        if op is sre_parse.LITERAL:
            options = {chr(av)}
        elif op is sre_parse.IN and all(o is sre_parse.LITERAL for o, _ in av):
            options = {chr(v) for _, v in av}
        elif op is sre_parse.BRANCH:
            options = set()
            for branch in av[1]:
                sub = _fixed_strings(list(branch))
                if sub is None:
                    return None
                options |= sub
        elif op is sre_parse.SUBPATTERN and not av[1] and not av[2]:  # a group without flag changes
            options = _fixed_strings(list(av[3]))
            if options is None:
                return None
        else:
            return None
        if len(out) * len(options) > _MAX_GATE_STRINGS:
            return None
        out = {"".join(p) for p in product(out, options)}
    return out


def _drop_contained(hits: list[tuple[int, int, int]], is_category: list[bool]) -> list[tuple[int, int, int]]:
    """Longest wins: drop every hit lying inside another, longer one ("不是骗子" hides its "骗子", "征信修复"
    its "征信") — except that a service term is never hidden by other wording ("帮你停催" keeps "停催").

    ``hits`` are (start, −end, id); ids of the automaton's strings come before pattern ids, in the order the
    matcher appends them, so ties on a span keep the hit found first. Returns (start, end, id).
    """
    hits.sort()
    kept: list[tuple[int, int, int]] = []
    reach = -1  # furthest end among kept hits that start at or before the current one
    category_reach = -1  # the same among kept service terms
    for start, neg_end, i in hits:
        end = -neg_end
        if is_category[i]:
            if end <= category_reach:
                continue
            category_reach = end
        elif end <= reach:
            continue
        kept.append((start, end, i))
        if end > reach:
            reach = end
    return kept
