"""Regex scans started only where a match can start.

Python's regex engine skips ahead to candidate characters only when a pattern begins with a literal or a plain
character class; a pattern that begins with an alternation of lookbehinds and classes (the contact labels:
``(?<=加)[微威]|v信|…``) is tried at every position of the text. :class:`Scanner` reads from the parsed pattern
every character a match can begin with, finds those with one class (which the engine does skip to) and tries
the pattern only there, with the same matches as ``pattern.finditer``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from re import _parser as sre_parse  # type: ignore[attr-defined]  # the stdlib's own regex parser

_MAX_RANGE = 1024  # a class range wider than this is not worth listing: no scan then
_ZERO_WIDTH = (sre_parse.ASSERT, sre_parse.ASSERT_NOT, sre_parse.AT)
_REPEATS = (sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT, sre_parse.POSSESSIVE_REPEAT)


def first_chars(regex: re.Pattern[str]) -> frozenset[str] | None:
    """Every character a match of ``regex`` can begin with, or None when that cannot be told (a match may be
    empty or begin with any character, a class by category or negated, case folding …)."""
    if regex.flags & re.IGNORECASE:
        return None
    try:
        found = _first(list(sre_parse.parse(regex.pattern, regex.flags)))
    except (re.error, RecursionError):  # pragma: no cover - compiled patterns parse
        return None
    if found is None or found[1]:
        return None
    return frozenset(found[0])


def _first(sequence: list) -> tuple[set[str], bool] | None:
    """(the characters a match of ``sequence`` can begin with, whether it can match the empty string)."""
    out: set[str] = set()
    for op, av in sequence:
        if op in _ZERO_WIDTH:  # lookarounds and anchors consume nothing: the next item begins the match
            continue
        if op is sre_parse.LITERAL:
            out.add(chr(av))
            return out, False
        if op is sre_parse.IN:
            chars = _class_chars(av)
            if chars is None:
                return None
            return out | chars, False
        if op is sre_parse.BRANCH:
            options = [_first(list(branch)) for branch in av[1]]
        elif op is sre_parse.SUBPATTERN and not av[1] and not av[2]:  # a group without flag changes
            options = [_first(list(av[3]))]
        elif op in _REPEATS:
            body = _first(list(av[2]))
            options = [body, (set(), True)] if av[0] == 0 else [body]
        else:
            return None
        if any(o is None for o in options):
            return None
        for chars, _ in options:  # type: ignore[misc]
            out |= chars
        if not any(empty for _, empty in options):  # type: ignore[misc]
            return out, False
    return out, True


def _class_chars(items: list) -> set[str] | None:
    out: set[str] = set()
    for op, av in items:
        if op is sre_parse.LITERAL:
            out.add(chr(av))
        elif op is sre_parse.RANGE and av[1] - av[0] <= _MAX_RANGE:
            out.update(map(chr, range(av[0], av[1] + 1)))
        else:  # NEGATE, CATEGORY (\d, \s …), a huge range
            return None
    return out


class Scanner:
    """``pattern.finditer`` that tries the pattern only where a match can begin (see the module doc)."""

    __slots__ = ("pattern", "_starts")

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        chars = first_chars(pattern)
        self._starts = re.compile("[" + "".join(map(re.escape, sorted(chars))) + "]") if chars else None

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        """The matches ``self.pattern.finditer(text)`` gives, in order."""
        if self._starts is None:
            yield from self.pattern.finditer(text)
            return
        match = self.pattern.match
        end = 0
        for candidate in self._starts.finditer(text):
            at = candidate.start()
            # Where the last match ended the scan goes on, as finditer's does (no pattern here matches empty).
            if at >= end:
                found = match(text, at)
                if found is not None:
                    yield found
                    end = found.end()
