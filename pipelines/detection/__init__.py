"""Ad detection: does a post (text + OCR text) advertise a debt-relief / credit-repair / stop-collection /
illegal proxy-complaint / illegal loan-intermediary service — which category, how sure, and why?

Public API (stable; the detect stage, reports and the index use it):

    detector = Detector(threshold=0.5, lexicon_path=None)   # build once per run
    d = detector.detect([("title", t), ("text", post_text), ("image:0", ocr0), ("frame:3.0", ocr_at_3s)])
    d.flagged, d.category, d.score, d.matches, d.contacts, d.terms, d.explanation, d.to_dict()

Each text is normalised (:mod:`.normalize`), matched against the lexicon (:mod:`.lexicon`, one Aho-Corasick
automaton, :mod:`.matcher`) and searched for contacts (:mod:`.contacts`); the evidence of all texts of the post
is then scored together (formula in ``pipelines/lexicon.yaml``).
"""

from __future__ import annotations

import math
from itertools import accumulate
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field, fields
from functools import cached_property
from pathlib import Path
from typing import Any

from pipelines.detection.contacts import Contact, find_contacts, merge_contacts
from pipelines.detection.lexicon import CATEGORY, CONTEXT, CTA, NEGATIVE, Lexicon, load_lexicon
from pipelines.detection.matcher import Matcher
from pipelines.detection.normalize import BOUNDARY, Mapped, compact_view, light_view

__all__ = ["Detection", "Detector", "Match", "source_label"]

# raw = categories + call_to_action + CONTEXT_FACTOR·context − NEGATIVE_FACTOR·negative;
# score = logistic(STEEPNESS·(raw − CENTER)). See pipelines/lexicon.yaml for the reasoning.
CONTEXT_FACTOR = 0.5
NEGATIVE_FACTOR = 1.5
CENTER = 1.1
STEEPNESS = 6.0
SNIPPET_WIDTH = 12
EVIDENCE_NAMES = {CATEGORY: "service terms", CTA: "call to action", CONTEXT: "debt context", NEGATIVE: "warning / news wording"}
# Quoted words are mentioned rather than said ("以“征信修复”为幌子"): a quoted service term counts half, a
# quoted call to action not at all. An opening mark without its closing one quotes to the end of the text.
QUOTED_CATEGORY_FACTOR = 0.5
QUOTES = re.compile(r"“[^”丄]*(?:”|丄|$)|「[^」丄]*(?:」|丄|$)|『[^』丄]*(?:』|丄|$)|《[^》丄]*》|\"[^\"丄]*(?:\"|丄|$)")


@dataclass(slots=True)
class Match:
    """One piece of evidence: which lexicon term, of what kind, found where, quoting the original text."""

    term: str
    kind: str  # "category" | "cta" | "context" | "negative"
    category: str | None
    source: str  # "title", "text", "hashtags", "image:0", "cover", "frame:3.0" …
    start: int  # offsets into the original text of that source
    end: int
    snippet: str
    weight: float = 0.0  # what it counts for in the score (the lexicon weight, lower when quoted)
    quoted: bool = False  # inside quotation marks: mentioned (news quoting an ad), not said

    def to_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in _MATCH_FIELDS}


_MATCH_FIELDS = tuple(f.name for f in fields(Match))


@dataclass
class Detection:
    """The decision on one post: flagged or not, the category (and its label), score and the evidence."""

    flagged: bool
    category: str | None
    score: float
    matches: list[Match] = field(default_factory=list)
    contacts: list[dict[str, Any]] = field(default_factory=list)
    label: str | None = None

    @cached_property
    def explanation(self) -> str:
        """One line per kind of evidence, each term with where it was found and the original wording
        (built on demand: most posts of a sweep are never read by a person)."""
        if not self.category:
            return "not an ad: no service term found"
        head = f"{'ad' if self.flagged else 'not an ad'}: {self.label or self.category} (score {self.score:.2f})"
        lines = [head]
        for kind in (CATEGORY, CTA, NEGATIVE, CONTEXT):
            seen: dict[str, list[str]] = {}
            for m in self.matches:
                if m.kind == kind:
                    quoted = " (quoted)" if m.quoted else ""
                    seen.setdefault(m.term, []).append(f"{source_label(m.source)}{quoted} “{m.snippet.strip()}”")
            if seen:
                parts = [f"{term} [{_places(where)}]" for term, where in seen.items()]
                lines.append(f"{EVIDENCE_NAMES[kind]}: " + ", ".join(parts))
        if self.contacts:
            found = (f"{c['kind']} {c['value']} [{source_label(c['source'])}]" for c in self.contacts)
            lines.append("contacts: " + ", ".join(found))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "flagged": self.flagged,
            "category": self.category,
            "label": self.label,
            "score": self.score,
            "terms": self.terms,
            "explanation": self.explanation,
            "matches": [m.to_dict() for m in self.matches],
            "contacts": [dict(c) for c in self.contacts],
        }

    @property
    def terms(self) -> list[str]:
        """Category terms found, canonical spelling, sorted."""
        return sorted({m.term for m in self.matches if m.kind == CATEGORY})


def source_label(source: str) -> str:
    """Human wording of a source id: "image:0" → "image 1", "frame:3.0" → "video frame at 3.0 s"."""
    kind, _, where = source.partition(":")
    if kind == "image" and where.isdigit():
        return f"image {int(where) + 1}"
    if kind == "frame":
        return f"video frame at {where} s"
    if kind == "comment" and where.isdigit():
        return f"comment {int(where) + 1}"
    return {"bio": "author bio", "cover": "video cover", "hashtags": "hashtags", "title": "title", "text": "text"}.get(kind, source)


def _places(where: list[str], limit: int = 3) -> str:
    """Where a term was found: the first few places, then how many more."""
    distinct = list(dict.fromkeys(where))
    more = f"; +{len(distinct) - limit} more" if len(distinct) > limit else ""
    return "; ".join(distinct[:limit]) + more


def _has_quotes(text: str) -> bool:
    return "“" in text or "「" in text or "『" in text or "《" in text or '"' in text


class Detector:
    """Scores posts against the lexicon; flagged when score ≥ threshold. Build once, call detect() per post."""

    def __init__(self, threshold: float = 0.5, lexicon_path: str | Path | None = None) -> None:
        self.threshold = threshold
        self.lexicon: Lexicon = load_lexicon(lexicon_path)
        self.matcher = Matcher(self.lexicon)
        self._order = {c: i for i, c in enumerate(self.lexicon.categories)}
        # Per matcher term id, what a hit on it stands for (a hit then costs one list index): the term's fields,
        # its weight said / quoted, and its evidence key — one per (kind, term), since each distinct term counts
        # once per post whichever spelling or pattern found it.
        keys: dict[tuple[str, str], int] = {}
        self._evidence: list[tuple[str, str, str | None, float, float, int] | None] = []
        for term in self.matcher.terms:
            if term is None:
                self._evidence.append(None)
                continue
            quoted = term.weight * QUOTED_CATEGORY_FACTOR if term.kind == CATEGORY else 0.0 if term.kind == CTA else term.weight
            key = keys.setdefault((term.kind, term.term), len(keys))
            self._evidence.append((term.term, term.kind, term.category, term.weight, quoted, key))
        self._key_kinds = [kind for kind, _ in keys]

    def detect(self, sources: list[tuple[str, str]]) -> Detection:
        texts = [(source, text) for source, text in sources if text]
        if not texts:
            return self._decide([], [], {})
        # All texts of the post are normalised and matched in one go (most of the cost is per call, not per
        # character), joined by a boundary no term, pattern or contact can span.
        joined = BOUNDARY.join([text for _, text in texts])
        starts = list(accumulate([len(t) + len(BOUNDARY) for _, t in texts[:-1]], initial=0))
        light = light_view(joined)
        compact = compact_view(light)
        hits = self.matcher.find_ids(compact.text)
        matches: list[Match] = []
        best: dict[int, tuple[float, int]] = {}
        if hits:
            self._matches(hits, compact, joined, texts, starts, matches, best)
        contacts = []
        for c in find_contacts(light, joined, ""):
            k = bisect_right(starts, c.start) - 1
            contacts.append(Contact(c.kind, c.value, c.raw, texts[k][0], c.start - starts[k]))
        return self._decide(matches, merge_contacts(contacts) if len(contacts) > 1 else contacts, best)

    def _matches(
        self, hits: list[tuple[int, int, int]], compact: Mapped, joined: str, texts: list[tuple[str, str]],
        starts: list[int], matches: list[Match], best: dict[int, tuple[float, int]],
    ) -> None:
        """The matcher's hits as evidence (source, offsets into that source's original text, snippet, weight)
        appended to ``matches``; per evidence key, the strongest weight and which match gave it into ``best``."""
        # Quotations do not overlap: only the last one opening before a hit can hold it.
        quotes = [q.span() for q in QUOTES.finditer(joined)] if _has_quotes(joined) else []
        quote_starts = [qs for qs, _ in quotes]
        n = len(hits)
        origs = compact.origs([h[0] for h in hits] + [h[1] - 1 for h in hits])
        texts_of = [0] * n if len(texts) == 1 else [bisect_right(starts, s) - 1 for s in origs[:n]]
        evidence = self._evidence
        for (_, _, i), s, last, k in zip(hits, origs, origs[n:], texts_of):
            e = last + 1
            source, text = texts[k]
            ls, le = s - starts[k], e - starts[k]
            snippet = text[ls - SNIPPET_WIDTH if ls > SNIPPET_WIDTH else 0 : le + SNIPPET_WIDTH].replace("\n", " ")
            term, kind, category, weight, quoted_weight, key = evidence[i]  # type: ignore[misc]
            quoted = False
            if quotes:
                q = bisect_left(quote_starts, s) - 1
                if q >= 0 and e <= quotes[q][1]:
                    quoted = True
                    weight = quoted_weight
            old = best.get(key)
            if old is None or weight > old[0]:
                best[key] = (weight, len(matches))
            matches.append(Match(term, kind, category, source, ls, le, snippet, weight, quoted))

    def _decide(self, matches: list[Match], contacts: list[Contact], best: dict[int, tuple[float, int]]) -> Detection:
        """Score the evidence: ``best`` holds, per evidence key in order first seen, the strongest weight and the
        index of its match."""
        contact_dicts = [c.to_dict() for c in contacts]
        per_category: dict[str, float] = {}
        # Per kind, Π(1 − w): the kind's weights combined as independent evidence are 1 − that.
        missed = {CATEGORY: 1.0, CTA: 1.0, CONTEXT: 1.0, NEGATIVE: 1.0}
        kinds = self._key_kinds
        for key, (weight, at) in best.items():
            kind = kinds[key]
            missed[kind] *= 1.0 - weight
            if kind == CATEGORY:
                category = matches[at].category
                if category:
                    per_category[category] = per_category.get(category, 0.0) + weight
        if not per_category:
            return Detection(False, None, 0.0, matches, contact_dicts)
        weights = self.lexicon.contact_weights
        for kind in {c.kind for c in contacts}:
            missed[CTA] *= 1.0 - weights.get(kind, 0.0)
        raw = (
            (1.0 - missed[CATEGORY])
            + (1.0 - missed[CTA])
            + CONTEXT_FACTOR * (1.0 - missed[CONTEXT])
            - NEGATIVE_FACTOR * (1.0 - missed[NEGATIVE])
        )
        score = round(1.0 / (1.0 + math.exp(-STEEPNESS * (raw - CENTER))), 3)
        # Ties go to the category listed first in the lexicon (its order is the analysts' priority).
        category = max(per_category, key=lambda c: (per_category[c], -self._order.get(c, 99)))
        return Detection(score >= self.threshold, category, score, matches, contact_dicts, self.lexicon.labels.get(category))
