"""Scoring: the evidence of each unit of a post (the post itself, the author's bio, each comment) weighed into a
verdict, then the post's verdict from its units.

Per unit, the lexicon score (formula in ``pipelines/lexicon.yaml``)::

    raw = categories + call_to_action + ½·context − 1.5·negative;   score = logistic(6·(raw − 1.1))

then two rules that read the unit as a whole:

* **short texts** (a comment, a bio, a title, any unit of at most ``SHORT_CHARS`` characters) carry no more than
  they carry: a plain service term (weight ≥ 0.5) with a call to action or a contact, and no warning wording,
  is an ad (score at least ``SHORT_SCORE``);
* **the intent model** (:mod:`.intent`) runs on units with any debt / credit wording. It can flag a unit the
  lexicon did not (a soft pitch: situation + promised outcome + call to action, no service word) when that
  structure is there, and it can overrule a lexicon flag without any contact when it is sure the text is not
  selling (a victim's complaint, a borrower's diary, a warning that quotes the words).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

from pipelines.detection.contacts import Contact
from pipelines.detection.intent import IntentModel, features, structure_features, text_shapes
from pipelines.detection.lexicon import CATEGORY, CONTEXT, CTA, NEGATIVE, OUTCOME, Lexicon
from pipelines.detection.normalize import BOUNDARY_CHAR, normalize

CONTEXT_FACTOR = 0.5
NEGATIVE_FACTOR = 1.5
CENTER = 1.1
STEEPNESS = 6.0
SHORT_KINDS = ("comment", "bio")
SHORT_CHARS = 100
SHORT_SCORE = 0.6
SHORT_MIN_SERVICE = 0.5  # 上岸 / 口子 / 下款 alone are too ambiguous even in a short text
BIO_MIN_SERVICE = 0.7  # a service word this strong in a bio needs no call: the profile is the way to reach them
SHORT_MIN_CTA = 0.4  # "电话" / "联系" alone are mentions; "私我" / "找我" / "加微信" call
PITCH_MAX_WARNING = 0.75  # warning / news wording this strong keeps the model from flagging on its own
PITCH_SHORT_CHARS = 140  # a comment, a bio, a short post
PITCH_MIN_OUTCOME = 0.35
PITCH_SHORT_MAX_WARNING = 0.3
VETO = 0.08  # below this model probability a lexicon flag without contact is overruled
# Round 5: where the text itself reads as a complaint about a fee already paid, a writer acting alone or a warning
# to the reader (``intent.TEXT_SHAPES``), a doubtful model (below this) is enough to overrule the lexicon and the
# short-pitch rule: such posts quote the pitch they fell for or turn away ("交了钱…要回来", "我自己谈的").
SHAPE_VETO = 0.4
COUNTER_SHAPES = ("$victim+paid", "$alone", "$warn", "$victim-handoff", "$question")
# ... and where such a text passes nobody on (no hand-off, no contact), the model alone flags it only when sure.
COUNTER_MIN = 0.8
# A unit read only for its contact or call to action (no service, situation or outcome: "$plain") is an ad only
# when the model is this sure: everyday posts carry contacts too ("加微信一起去爬山").
PLAIN_MIN = 0.75
# Round 9: on a profile the account is the offer ("老李·二十年金融老炮·下不来我请你吃饭·扣1安排"): a bio's call
# alone needs less certainty than a post's.
PLAIN_MIN_BIO = 0.6
# Round 7: the short-text rules (a service word and a call in a short text; a short pitch) flag on a few words, which
# victims and borrowers use too ("还是必须找人代办？", "我为了停催找了一个工作室"): a model this doubtful overrules them.
SHORT_VETO = 0.2
POST = "post"
PERSONAL_CONTACTS = frozenset({"wechat", "qq", "telegram"})


def unit_of(source: str) -> str:
    """The unit a source belongs to: each comment and the bio are their own, everything else is the post."""
    kind = source.partition(":")[0]
    return source if kind in SHORT_KINDS else POST


@dataclass
class UnitVerdict:
    """How one unit was judged: scores, categories by strength, the rule that decided and the model's view."""

    unit: str
    flagged: bool
    score: float
    lexicon_score: float
    categories: list[tuple[str, float]]
    reason: str  # lexicon | short text | intent model | overruled by intent model | —
    probability: float | None = None
    structure: list[str] = field(default_factory=list)
    explain: Callable[[], list[tuple[str, float]]] | None = field(default=None, repr=False, compare=False)

    @property
    def top(self) -> list[tuple[str, float]]:
        """The model features that weighed most (name, contribution), strongest first (worked out on demand)."""
        return self.explain() if self.explain else []

    def describe(self, label: Callable[[str], str], names: dict[str, str]) -> str:
        where = "the post" if self.unit == POST else label(self.unit)
        line = f"{where}: {'ad' if self.flagged else 'not an ad'} by {self.reason} (score {self.score:.2f})"
        if self.structure:
            line += "; structure: " + ", ".join(names.get(s, s) for s in self.structure)
        if self.probability is not None:
            weighed = ", ".join(f"{names.get(n, '“' + n + '”')} {w:+.2f}" for n, w in self.top)
            line += f"; intent model p={self.probability:.2f}, weighed most: {weighed}"
        return line

    def to_dict(self) -> dict[str, Any]:
        return {
            "unit": self.unit, "flagged": self.flagged, "score": self.score, "lexicon_score": self.lexicon_score,
            "categories": [c for c, _ in self.categories], "reason": self.reason, "probability": self.probability,
            "top_features": [[n, round(w, 3)] for n, w in self.top], "structure": self.structure,
        }


@dataclass
class PostVerdict:
    flagged: bool
    category: str | None
    score: float
    categories: list[str]
    units: list[UnitVerdict]


class Scorer:
    """Judges units; built once per detector."""

    def __init__(self, lexicon: Lexicon, key_kinds: list[str], threshold: float, model: IntentModel | None) -> None:
        self.lexicon = lexicon
        self.key_kinds = key_kinds
        self.threshold = threshold
        self.model = model
        self._order = {c: i for i, c in enumerate(lexicon.categories)}
        # The training script sets a list here to collect the model's input of every unit it would score.
        self.record: list[tuple[str, dict[str, float]]] | None = None

    def decide(
        self, texts: list[tuple[str, str]], units: list[str], compact: str, matches: list[Any],
        contacts: list[Contact], best: dict[str, dict[int, tuple[float, int, bool]]],
    ) -> PostVerdict:
        verdicts = []
        if len(best) == 1 and len(set(units)) == 1:  # the usual post: one unit, all its texts
            unit, unit_best = next(iter(best.items()))
            kinds = {c.kind for c in contacts}
            length = sum(len(t) for _, t in texts)
            text = compact.replace(BOUNDARY_CHAR, "") if len(texts) > 1 else compact
            verdicts.append(self._unit(unit, unit_best, matches, kinds, length, text))
        else:
            segments = compact.split(BOUNDARY_CHAR)
            if len(segments) != len(texts):  # a text held the boundary character itself
                segments = [normalize(t) for _, t in texts]
            for unit, unit_best in best.items():
                unit_texts = [i for i, u in enumerate(units) if u == unit]
                kinds = {c.kind for c in contacts if unit_of(c.source) == unit}
                length = sum(len(texts[i][1]) for i in unit_texts)
                text = "".join(segments[i] for i in unit_texts)
                verdicts.append(self._unit(unit, unit_best, matches, kinds, length, text))
        flagged = [v for v in verdicts if v.flagged]
        pool = flagged or verdicts
        lead = max(pool, key=lambda v: (v.score, v.unit == POST))
        strength: dict[str, float] = {}
        for v in pool:
            for c, w in v.categories:
                strength[c] = max(strength.get(c, 0.0), w)
        order = sorted(strength, key=lambda c: (-strength[c], self._order.get(c, 99)))
        primary = lead.categories[0][0] if lead.categories else (order[0] if order else None)
        categories = [primary, *[c for c in order if c != primary]] if primary else []
        score = max(v.score for v in verdicts)
        return PostVerdict(bool(flagged), primary, score, categories, verdicts)

    def _unit(
        self, unit: str, best: dict[int, tuple[float, int, bool]], matches: list[Any], contact_kinds: set[str],
        length: int, compact: str,
    ) -> UnitVerdict:
        kinds = self.key_kinds
        # Words found only by sound (two characters, initials) need debt or credit wording as written beside them.
        support = any(not weak and kinds[key] in (CATEGORY, CONTEXT) for key, (_, _, weak) in best.items())
        if not support:
            # A text written wholly in pinyin has no wording as written; two different words said by sound
            # (not initials) support each other ("ting cui … tong xun lu").
            spoken = {key for key, (_, at, weak) in best.items() if weak and matches[at].via != "initials"}
            support = len(spoken) >= 2
        allowed: set[int] = set()
        if not support and (contact_kinds or any(
            not weak and kinds[key] == CTA and weight >= SHORT_MIN_CTA for key, (weight, _, weak) in best.items()
        )):
            # A two-character homophone written in characters that is no word of its own (征新, 吹收: words such as
            # 预期 were dropped when matching) is a disguise, not a coincidence, when the unit calls the reader.
            # Written as one word: two characters side by side (not "优化、百度" read across the comma as 花呗).
            allowed = {
                key for key, (_, at, weak) in best.items()
                if weak and matches[at].via == "homophone" and len(matches[at].written) == len(matches[at].term)
            }
        missed = {CATEGORY: 1.0, CTA: 1.0, CONTEXT: 1.0, NEGATIVE: 1.0, OUTCOME: 1.0}
        per_category: dict[str, float] = {}
        hints: dict[str, float] = {}
        strongest = 0.0
        said = 0.0  # the strongest service term or promised outcome said, not quoted (news quotes ad slogans)
        quoted = False
        for key, (weight, at, weak) in best.items():
            if weak and not support and key not in allowed:
                continue
            kind = kinds[key]
            missed[kind] *= 1.0 - weight
            category = matches[at].category
            if kind in (CATEGORY, OUTCOME) and not matches[at].quoted:
                said = max(said, weight)
            if kind == CATEGORY:
                quoted = quoted or matches[at].quoted
                strongest = max(strongest, weight)
                if category:
                    per_category[category] = per_category.get(category, 0.0) + weight
            elif category and kind in (CONTEXT, OUTCOME):
                hints[category] = hints.get(category, 0.0) + weight
        weights = self.lexicon.contact_weights
        for kind in contact_kinds:
            missed[CTA] *= 1.0 - weights.get(kind, 0.0)
        ev = {k: 1.0 - v for k, v in missed.items()}
        score = 0.0
        if per_category:
            raw = ev[CATEGORY] + ev[CTA] + CONTEXT_FACTOR * ev[CONTEXT] - NEGATIVE_FACTOR * ev[NEGATIVE]
            score = round(1.0 / (1.0 + math.exp(-STEEPNESS * (raw - CENTER))), 3)
        lexicon_score = score
        reason = "lexicon"
        short = length <= SHORT_CHARS
        calls = ev[CTA] >= SHORT_MIN_CTA  # a call to action, not a mere mention ("电话", "联系")
        called = bool(contact_kinds) or calls  # ... or a contact: the unit reaches for the reader
        if short and strongest >= SHORT_MIN_SERVICE and called and not ev[NEGATIVE] and score < SHORT_SCORE:
            score, reason = SHORT_SCORE, "short text"
        elif (short and unit.startswith("bio") and strongest >= BIO_MIN_SERVICE and not ev[NEGATIVE]
              and score < SHORT_SCORE):
            # Round 7: an account whose bio lists a service it sells ("专注债务优化8年｜停息挂账") is the outfit's own
            # advert, the way to reach it being the account itself.
            score, reason = SHORT_SCORE, "short text"
        # A short pitch: the situation, what a third party will do about it, and a way to reach them — a comment
        # or a bio carries no more than that, with or without a service word.
        # Under someone's post (a comment) or on an outfit's profile (a bio) the situation is the thread's or
        # the account's: the offer and the way to reach them are the whole pitch.
        # Applied after the model, which reads such a unit first and may call it harmless.
        short_pitch = (
            length <= PITCH_SHORT_CHARS and (bool(ev[CONTEXT]) or bool(per_category) or unit != POST)
            and said >= PITCH_MIN_OUTCOME and called
            and ev[NEGATIVE] < PITCH_SHORT_MAX_WARNING
        )
        verdict = UnitVerdict(unit, False, score, lexicon_score, [], reason)
        # The model reads units with debt / credit wording, and units that call the reader to act (a contact; a
        # comment's or bio's call to action) whatever they say: the offer may be worded in ways no list holds
        # ("那些电话都会停下", "一周内让它彻底消失").
        # Round 4: a post's call to action ("扣1", "私我") is read too, and so is an offer without one (under a
        # post or on a profile the thread is the situation: "有记录也能下"): the model decides on the wording.
        if (self.model is not None or self.record is not None) and (per_category or ev[CONTEXT] or ev[OUTCOME] or called):
            situation = bool(ev[CONTEXT]) or bool(hints)
            # A pitch has two of its three parts at least — a situation (or a service named; under a post or on a
            # profile, the thread's), a promised outcome (or the service itself) and a call to action or contact —
            # and does not read as a warning. The outcome may be worded in ways no pattern lists ("报告上的红字
            # 可以去掉"), the situation too ("手机零未接"): the model reads the wording itself; a unit with nothing
            # but a call to action ($plain) is flagged only when the model is sure.
            parts = (
                bool(situation or per_category or unit != POST) + bool(ev[OUTCOME] or per_category)
                + bool(called or (ev[CTA] and (ev[OUTCOME] or per_category or unit != POST)))
            )
            # A story that passes on a helper's own id ("可以加他：…") is read whatever warning words it tells
            # (被骗, 拉黑, 骗局 …): warnings and news do not hand out personal ids; the model weighs the words.
            pitch = (parts >= 2 or called) and (
                ev[NEGATIVE] < PITCH_MAX_WARNING or not contact_kinds.isdisjoint(PERSONAL_CONTACTS)
            )
            flagged = score >= self.threshold
            shapes: dict[str, float] | None = None
            if not pitch and not flagged and called and (parts >= 2 or contact_kinds):
                # Round 5: so is a first-person story that passes a helper on to the reader ("后来找了专业团队 …
                # 想知道的评论区留言我私你"), whatever doubts it tells (骗子, 被拒, 自己打电话): its shape is read here
                # only, where the warning words would otherwise keep the model away.
                shapes = text_shapes(compact, bool(contact_kinds))
                pitch = "$story+handoff" in shapes
            # The model runs only where it can change the verdict: to overrule a lexicon flag that has no contact,
            # or to flag a pitch the lexicon did not (most posts need neither: their cost stays the lexicon's).
            can_overrule = flagged and reason != "intent model" and not contact_kinds
            if self.record is not None or can_overrule or (pitch and not flagged):
                structure = structure_features(
                    situation, bool(ev[OUTCOME]), bool(ev[CTA]), bool(contact_kinds), bool(per_category),
                    round(ev[NEGATIVE], 2), quoted, short,
                )
                structure.update(shapes if shapes is not None else text_shapes(compact, bool(contact_kinds)))
                verdict.structure = [s for s in structure if "+" not in s and s not in ("$short", "$plain")]
                if self.record is not None:
                    self.record.append((unit, features(compact, structure)))
                if self.model is None:
                    return self._short_pitch(verdict, score, reason, per_category, hints, short_pitch)
                probability = self.model.predict_text(compact, structure)
                verdict.probability = probability
                verdict.explain = lambda: self.model.explain(features(compact, structure), 6)  # type: ignore[union-attr]
                # A question the unit answers with its own call to action ("征信花了怎么办…私信咨询") is a hook, not a
                # question asked for oneself.
                countered = any(c in structure for c in COUNTER_SHAPES if not (calls and c == "$question"))
                veto = SHAPE_VETO if countered else SHORT_VETO if reason == "short text" else VETO
                needed = COUNTER_MIN if countered and "$handoff" not in structure and not contact_kinds else 0.0
                if can_overrule and probability < veto:
                    score, reason = min(score, self.threshold - 0.01), "overruled by intent model"
                elif pitch and probability > score and probability >= needed and (
                    probability >= (PLAIN_MIN_BIO if unit.startswith("bio") else PLAIN_MIN) or "$plain" not in structure
                ):
                    # The score is the stronger of the two readings, so the threshold alone decides.
                    score = probability
                    if score >= self.threshold and not flagged:
                        reason = "intent model"
                if probability < max(veto, SHORT_VETO):
                    short_pitch = False
        return self._short_pitch(verdict, score, reason, per_category, hints, short_pitch)

    def _short_pitch(
        self, verdict: UnitVerdict, score: float, reason: str, per_category: dict[str, float],
        hints: dict[str, float], short_pitch: bool,
    ) -> UnitVerdict:
        if short_pitch and score < SHORT_SCORE:
            score, reason = SHORT_SCORE, "short pitch"
        return self._finish(verdict, score, reason, per_category, hints)

    def _finish(
        self, verdict: UnitVerdict, score: float, reason: str, per_category: dict[str, float], hints: dict[str, float]
    ) -> UnitVerdict:
        verdict.reason = reason
        verdict.score = score
        verdict.flagged = score >= self.threshold
        source = per_category or (hints if verdict.flagged else {})
        if verdict.flagged and not source:
            # A pitch that names neither a service nor a situation of one kind (English, say): the broad one.
            source = {self.lexicon.categories[0]: 0.0} if self.lexicon.categories else {}
        verdict.categories = sorted(source.items(), key=lambda cw: (-cw[1], self._order.get(cw[0], 99)))
        if not verdict.flagged and not per_category:
            verdict.reason = "—"
        return verdict
