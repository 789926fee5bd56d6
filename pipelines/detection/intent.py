"""Intent model: is this text *selling* a debt / credit / collection / insurance / loan service, even when it names
none? A soft pitch has a structure — a situation (逾期, 征信, 催收, 保费 …), an outcome promised by a third party
(征信"变干净", 电话"安静了", 保费"全额退回") and a call to action or contact. The structure found by the lexicon
becomes a few features; character bigrams and trigrams of the compact text add the wording. A logistic
regression (scikit-learn, trained by ``pipelines/detection/train.py`` from the corpus in
``pipelines/detection/data/``) weighs them; its weights are written to ``intent_model.json``, an output of the
script, never edited by hand, and scored here in plain Python (a dict lookup per n-gram: no numpy call per post).
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

MODEL_PATH = Path(__file__).resolve().parent / "intent_model.json"
MAX_CHARS = 600  # a pitch shows itself early; longer texts are cut (bounded cost per post)
NGRAMS = (2, 3)

# Structure features: names as they appear in the model file and in explanations.
STRUCTURE_NAMES = {
    "$situation": "a debt / credit situation",
    "$outcome": "a promised outcome",
    "$cta": "a call to action",
    "$contact": "a contact",
    "$service": "a service term",
    "$warning": "warning / news wording",
    "$quoted": "service words in quotation marks",
    "$situation+outcome": "situation and promised outcome",
    "$situation+outcome+cta": "situation, promised outcome and call to action",
    "$short": "a short text",
    "$plain": "no debt / credit wording",
}


def features(compact: str, structure: dict[str, float]) -> dict[str, float]:
    """Binary character n-grams (L2-normalised, so long texts do not weigh more) plus the structure features."""
    text = compact[:MAX_CHARS]
    grams = {text[i : i + n] for n in NGRAMS for i in range(len(text) - n + 1)}
    out: dict[str, float] = dict.fromkeys(grams, 1.0 / math.sqrt(len(grams))) if grams else {}
    out.update(structure)
    return out


def structure_features(
    situation: bool, outcome: bool, cta: bool, contact: bool, service: bool, warning: float, quoted: bool, short: bool
) -> dict[str, float]:
    """The pitch's structure as model features (only the ones present). ``$plain`` marks a unit the model reads
    only for its call to action or contact: no service, situation or outcome, so its wording must decide."""
    flags = {
        "$situation": situation, "$outcome": outcome, "$cta": cta, "$contact": contact, "$service": service,
        "$quoted": quoted, "$short": short, "$plain": not (situation or outcome or service),
        "$situation+outcome": situation and outcome,
        "$situation+outcome+cta": situation and outcome and (cta or contact),
    }
    out = {name: 1.0 for name, on in flags.items() if on}
    if warning:
        out["$warning"] = warning
    return out


class IntentModel:
    """The trained weights; ``predict`` scores one text's features."""

    def __init__(self, weights: dict[str, float], bias: float, meta: dict | None = None) -> None:
        self.weights = weights
        self._names = weights.keys()
        self.bias = bias
        self.meta = meta or {}

    @classmethod
    def load(cls, path: str | Path = MODEL_PATH) -> IntentModel:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(data["weights"], float(data["bias"]), data.get("meta"))

    def predict(self, feats: dict[str, float]) -> float:
        """The probability that the text is a pitch."""
        weights = self.weights
        z = self.bias
        for name, value in feats.items():
            w = weights.get(name)
            if w is not None:
                z += w * value
        return round(1.0 / (1.0 + math.exp(-z)), 3) if z > -60 else 0.0

    def predict_text(self, compact: str, structure: dict[str, float]) -> float:
        """:meth:`predict` of ``features(compact, structure)`` without building the feature dict: only the
        n-grams the model has a weight for are looked up (a C-level set intersection)."""
        text = compact[:MAX_CHARS]
        size = len(text)
        grams = {text[i : i + 2] for i in range(size - 1)}  # NGRAMS, unrolled: set comprehensions are cheaper
        grams.update([text[i : i + 3] for i in range(size - 2)])
        weights = self.weights
        z = self.bias
        if grams:
            known = grams & self._names
            if known:
                z += sum(map(weights.__getitem__, known)) / math.sqrt(len(grams))
        for name, value in structure.items():
            w = weights.get(name)
            if w is not None:
                z += w * value
        return round(1.0 / (1.0 + math.exp(-z)), 3) if z > -60 else 0.0

    def explain(self, feats: dict[str, float], n: int = 6) -> list[tuple[str, float]]:
        """The ``n`` features that weighed most (name, contribution), strongest first."""
        weights = self.weights
        contributions = [(name, weights[name] * value) for name, value in feats.items() if name in weights]
        return sorted(contributions, key=lambda c: -abs(c[1]))[:n]


@lru_cache(maxsize=2)
def load_model(path: str | None = None) -> IntentModel | None:
    """The committed model, or None when it has not been trained yet (the detector then runs lexicon-only)."""
    target = Path(path) if path else MODEL_PATH
    if not target.exists():
        return None
    return IntentModel.load(target)
