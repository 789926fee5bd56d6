"""Ad detection: does a post (its texts, OCR text, author bio, comments) advertise a debt-relief / credit-repair /
stop-collection / illegal proxy-complaint / illegal loan-intermediary service — which categories, how sure, why?

Public API (stable; the detect stage, reports and the index use it):

    detector = Detector(threshold=0.5, lexicon_path=None)   # build once per run
    d = detector.detect([("title", t), ("text", post_text), ("image:0", ocr0), ("frame:3.0", ocr_at_3s),
                         ("bio", author_bio), ("comment:0", first_comment)])
    d.flagged, d.category, d.categories, d.score, d.matches, d.contacts, d.terms, d.explanation, d.to_dict()

Each text is normalised (:mod:`.normalize`), matched against the lexicon (:mod:`.lexicon`, one Aho-Corasick
automaton, :mod:`.matcher`) and by sound (:mod:`.phonetic`: homophones, pinyin, initials), and searched for
contacts (:mod:`.contacts`). The evidence is then judged per *unit* (:mod:`.scoring`): the post itself (title,
text, hashtags, OCR of images / cover / frames) is one; the author's bio and each comment are units of their own,
judged as the short texts they are. Where the lexicon alone is unsure, the intent model (:mod:`.intent`) weighs the
pitch's structure and wording. The post is flagged when any unit is.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field, fields
from functools import cached_property
from itertools import accumulate
from pathlib import Path
import re
from typing import Any

from pipelines.detection.contacts import Contact, find_contacts, merge_contacts
from pipelines.detection.intent import STRUCTURE_NAMES, load_model
from pipelines.detection.lexicon import CATEGORY, CONTEXT, CTA, NEGATIVE, OUTCOME, Lexicon, load_lexicon
from pipelines.detection.matcher import Matcher
from pipelines.detection.normalize import BOUNDARY, Mapped, compact_view, light_view
from pipelines.detection.phonetic import LATIN_RUN, PhoneticMatcher
from pipelines.detection.scoring import Scorer, UnitVerdict, unit_of

__all__ = ["Detection", "Detector", "Match", "source_label"]

SNIPPET_WIDTH = 12
EVIDENCE_NAMES = {
    CATEGORY: "service terms", CTA: "call to action", OUTCOME: "promised outcome", CONTEXT: "debt context",
    NEGATIVE: "warning / news wording",
}
# Quoted words are mentioned rather than said ("以“征信修复”为幌子"): a quoted service term counts half, a
# quoted call to action not at all. An opening mark without its closing one quotes to the end of the text.
QUOTED_CATEGORY_FACTOR = 0.5
QUOTES = re.compile(r"“[^”丄]*(?:”|丄|$)|「[^」丄]*(?:」|丄|$)|『[^』丄]*(?:』|丄|$)|《[^》丄]*》|\"[^\"丄]*(?:\"|丄|$)")
# Latin words in the light view (spaces and punctuation still there), for the word-by-word pass.
LATIN_TOKEN = re.compile(r"(?<![a-z0-9])[a-z]{2,}(?![a-z0-9])")
# What a term found by sound counts for, against the same term as written.
VIA_FACTOR = {"": 1.0, "pinyin": 0.9, "homophone": 0.85, "initials": 0.7}


@dataclass(slots=True)
class Match:
    """One piece of evidence: which lexicon term, of what kind, found where, quoting the original text."""

    term: str
    kind: str  # "category" | "cta" | "context" | "outcome" | "negative"
    category: str | None
    source: str  # "title", "text", "hashtags", "image:0", "cover", "frame:3.0", "bio", "comment:2" …
    start: int  # offsets into the original text of that source
    end: int
    snippet: str
    weight: float = 0.0  # what it counts for in the score (the lexicon weight, lower when quoted or by sound)
    quoted: bool = False  # inside quotation marks: mentioned (news quoting an ad), not said
    via: str = ""  # "" as written; "pinyin" / "homophone" / "initials" when found by sound
    written: str = ""  # the original text of the match (differs from term when found by sound or folded)

    def to_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in _MATCH_FIELDS}


_MATCH_FIELDS = tuple(f.name for f in fields(Match))


@dataclass
class Detection:
    """The decision on one post: flagged or not, categories (primary first), score and the evidence."""

    flagged: bool
    category: str | None
    score: float
    matches: list[Match] = field(default_factory=list)
    contacts: list[dict[str, Any]] = field(default_factory=list)
    label: str | None = None
    categories: list[str] = field(default_factory=list)
    units: list[UnitVerdict] = field(default_factory=list)  # the verdict of each unit that had evidence

    @cached_property
    def explanation(self) -> str:
        """One line per kind of evidence, each term with where it was found and the original wording, then
        which unit decided and how (built on demand: most posts of a sweep are never read by a person)."""
        if not self.category:
            return "not an ad: no service term found"
        head = f"{'ad' if self.flagged else 'not an ad'}: {self.label or self.category} (score {self.score:.2f})"
        if len(self.categories) > 1:
            head += "; also " + ", ".join(self.categories[1:])
        lines = [head]
        for kind in (CATEGORY, OUTCOME, CTA, NEGATIVE, CONTEXT):
            seen: dict[str, list[str]] = {}
            for m in self.matches:
                if m.kind == kind:
                    how = f" ({m.via})" if m.via else ""
                    quoted = " (quoted)" if m.quoted else ""
                    seen.setdefault(m.term, []).append(f"{source_label(m.source)}{quoted}{how} “{m.snippet.strip()}”")
            if seen:
                parts = [f"{term} [{_places(where)}]" for term, where in seen.items()]
                lines.append(f"{EVIDENCE_NAMES[kind]}: " + ", ".join(parts))
        if self.contacts:
            found = (f"{c['kind']} {c['value']} [{source_label(c['source'])}]" for c in self.contacts)
            lines.append("contacts: " + ", ".join(found))
        for unit in self.units:
            if unit.flagged or unit.probability is not None:
                lines.append(unit.describe(source_label, STRUCTURE_NAMES))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "flagged": self.flagged,
            "category": self.category,
            "categories": list(self.categories),
            "label": self.label,
            "score": self.score,
            "terms": self.terms,
            "explanation": self.explanation,
            "matches": [m.to_dict() for m in self.matches],
            "contacts": [dict(c) for c in self.contacts],
            "units": [u.to_dict() for u in self.units],
        }

    @property
    def terms(self) -> list[str]:
        """Category terms found, canonical spelling, sorted."""
        return sorted({m.term for m in self.matches if m.kind == CATEGORY})


def source_label(source: str) -> str:
    """Human wording of a source id: "image:0" → "image 1", "frame:3.0" → "video frame at 3.0 s",
    "comment:2" → "comment 3", "bio" → "author bio"."""
    kind, _, where = source.partition(":")
    if kind in ("image", "comment") and where.isdigit():
        return f"{kind} {int(where) + 1}"
    if kind == "frame":
        return f"video frame at {where} s"
    return {"cover": "video cover", "hashtags": "hashtags", "title": "title", "text": "text", "bio": "author bio"}.get(
        kind, source
    )


def _places(where: list[str], limit: int = 3) -> str:
    """Where a term was found: the first few places, then how many more."""
    distinct = list(dict.fromkeys(where))
    more = f"; +{len(distinct) - limit} more" if len(distinct) > limit else ""
    return "; ".join(distinct[:limit]) + more


def _has_quotes(text: str) -> bool:
    return "“" in text or "「" in text or "『" in text or "《" in text or '"' in text


class Detector:
    """Scores posts against the lexicon and the intent model; flagged when score ≥ threshold. Build once, call
    detect() per post."""

    def __init__(
        self, threshold: float = 0.5, lexicon_path: str | Path | None = None, model_path: str | Path | None = None,
        use_model: bool = True,
    ) -> None:
        self.threshold = threshold
        self.lexicon: Lexicon = load_lexicon(lexicon_path)
        self.matcher = Matcher(self.lexicon)
        self.phonetic = PhoneticMatcher(self.lexicon)
        # Per matcher term id, what a hit on it stands for (a hit then costs one list index): the term's fields,
        # its weight said / quoted, and its evidence key — one per (kind, term), since each distinct term counts
        # once per unit whichever spelling or pattern found it.
        keys: dict[tuple[str, str], int] = {}
        self._evidence: list[tuple[str, str, str | None, float, float, int] | None] = []
        self._term_ids: dict[tuple[str, str], int] = {}
        for i, term in enumerate(self.matcher.terms):
            if term is None:
                self._evidence.append(None)
                continue
            quoted = term.weight * QUOTED_CATEGORY_FACTOR if term.kind == CATEGORY else 0.0 if term.kind == CTA else term.weight
            key = keys.setdefault((term.kind, term.term), len(keys))
            self._evidence.append((term.term, term.kind, term.category, term.weight, quoted, key))
            self._term_ids.setdefault((term.kind, term.term), i)
        model = load_model(str(model_path) if model_path else None) if use_model else None
        self.scorer = Scorer(self.lexicon, [kind for kind, _ in keys], threshold, model)

    def detect(self, sources: list[tuple[str, str]]) -> Detection:
        texts = [(source, text) for source, text in sources if text]
        if not texts:
            return Detection(False, None, 0.0)
        # All texts of the post are normalised and matched in one go (most of the cost is per call, not per
        # character), joined by a boundary no term, pattern or contact can span.
        joined = BOUNDARY.join([text for _, text in texts])
        starts = list(accumulate([len(t) + len(BOUNDARY) for _, t in texts[:-1]], initial=0))
        light = light_view(joined)
        compact = compact_view(light)
        hits: list[tuple[int, int, int, str]] = [(s, e, i, "") for s, e, i in self.matcher.find_ids(compact.text)]
        literal = bool(hits)  # terms found as written (else the phrase patterns were never opened)
        # Matching by sound only where something else already speaks of these things (any lexicon word, a
        # call to action among them) or latin letters may spell pinyin: everyday chatter is spared the pass.
        latin = LATIN_RUN.search(compact.text) is not None
        for hit in self.phonetic.find(compact.text, latin) if hits or latin else ():
            i = self._term_ids.get((hit.term.kind, hit.term.term))
            if i is not None:
                hits.append((hit.start, hit.end, i, hit.via))
        if hits and not literal:  # found by sound only: the phrase patterns had no literal to open them
            hits += [(s, e, i, "") for s, e, i in self.matcher.find_patterns(compact.text)]
        units = [unit_of(source) for source, _ in texts]
        matches: list[Match] = []
        # Per unit: per evidence key, the strongest (weight, index of its match, found only by sound).
        best: dict[str, dict[int, tuple[float, int, bool]]] = {}
        tokens = self._latin_tokens(light, {h[2] for h in hits}) if latin else []
        if hits or tokens:
            n = len(hits)
            origs = compact.origs([h[0] for h in hits] + [h[1] - 1 for h in hits]) if hits else []
            token_origs = light.origs([h[0] for h in tokens] + [h[1] - 1 for h in tokens]) if tokens else []
            found = [(s, last, i, via) for (_, _, i, via), s, last in zip(hits, origs, origs[n:])]
            found += [(s, last, i, via) for (_, _, i, via), s, last in zip(tokens, token_origs, token_origs[len(tokens):])]
            self._matches(found, joined, texts, starts, units, matches, best)
        contacts = []
        for c in find_contacts(light, joined, ""):
            k = bisect_right(starts, c.start) - 1
            contacts.append(Contact(c.kind, c.value, c.raw, texts[k][0], c.start - starts[k]))
        if len(contacts) > 1:
            contacts = merge_contacts(contacts)
        for c in contacts:
            # Round 7: a unit that hands out a contact is read even with no lexicon word in it ("黑了也能拿，需要的
            # 喊我 181…"): the model decides, and only when sure ($plain).
            best.setdefault(unit_of(c.source), {})
        if not best:
            return Detection(False, None, 0.0, matches, [c.to_dict() for c in contacts])
        verdict = self.scorer.decide(texts, units, compact.text, matches, contacts, best)
        if verdict.category is None:  # evidence, but no service term and no flag: not an ad, as before
            return Detection(False, None, 0.0, matches, [c.to_dict() for c in contacts], units=verdict.units)
        return Detection(
            verdict.flagged, verdict.category, verdict.score, matches, [c.to_dict() for c in contacts],
            self.lexicon.labels.get(verdict.category), verdict.categories, verdict.units,
        )

    def _latin_tokens(self, light: Mapped, found: set[int]) -> list[tuple[int, int, int, str]]:
        """Latin words as written, one by one (light-view positions): the compact view glues ``zwjm｜zwyh`` or
        ``fan cui shou｜ljcs`` into one run that is no spelling and no pinyin, though each word is."""
        out: list[tuple[int, int, int, str]] = []
        for token in LATIN_TOKEN.finditer(light.text):
            word = token.group()
            term = self.lexicon.spellings.get(word)
            if term is not None:
                i = self._term_ids.get((term.kind, term.term))
                if i is not None and i not in found:
                    out.append((token.start(), token.end(), i, ""))
                continue
            for hit in self.phonetic.find(word, True):
                i = self._term_ids.get((hit.term.kind, hit.term.term))
                if i is not None and i not in found:
                    out.append((token.start() + hit.start, token.start() + hit.end, i, hit.via))
        return out

    def _matches(
        self, hits: list[tuple[int, int, int, str]], joined: str, texts: list[tuple[str, str]],
        starts: list[int], units: list[str], matches: list[Match], best: dict[str, dict[int, tuple[float, int, bool]]],
    ) -> None:
        """The hits — (first, last original position, term id, how found) — as evidence (source, offsets into
        that source's original text, snippet, weight) appended to ``matches``; per unit and evidence key, the
        strongest weight and which match gave it into ``best``."""
        # Quotations do not overlap: only the last one opening before a hit can hold it.
        quotes = [q.span() for q in QUOTES.finditer(joined)] if _has_quotes(joined) else []
        quote_starts = [qs for qs, _ in quotes]
        texts_of = [0] * len(hits) if len(texts) == 1 else [bisect_right(starts, h[0]) - 1 for h in hits]
        evidence = self._evidence
        for (s, last, i, via), k in zip(hits, texts_of):
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
            weak = False
            if via:
                weight *= VIA_FACTOR[via]
                # Two characters said by sound (or their initials) are easily something else: they count only
                # beside debt or credit wording as written (checked per unit when scoring).
                weak = via == "initials" or len(term) <= 2
            unit_best = best.setdefault(units[k], {})
            old = unit_best.get(key)
            if old is None or weight > old[0] or (old[2] and not weak and weight >= old[0]):
                unit_best[key] = (weight, len(matches), weak)
            matches.append(Match(term, kind, category, source, ls, le, snippet, weight, quoted, via, text[ls:le]))
