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
import re
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
    "$story": "a first-person story told in the past",
    "$handoff": "a helper passed on to the reader",
    "$story+handoff": "a story that passes a helper on",
    "$victim": "a victim's words (cheated, refund refused, police)",
    "$paid": "a fee already paid",
    "$victim+paid": "a complaint about a fee already paid",
    "$story-handoff": "a story that passes nobody on",
    "$victim-handoff": "a victim's words that pass nobody on",
    "$alone": "the writer acting alone / selling nothing",
    "$warn": "a warning to the reader",
    "$question": "a question asked for oneself",
}

# Round 5: the shape of the *text*, read only where the model reads a unit (never on the common path). The
# compact view has letters and digits only (no punctuation, no spaces). Each is a class of wording, not a phrase
# of any one post: a story told in the first person and the past; a helper passed on to the reader; the words of
# someone cheated and a fee already paid (a victim's complaint has them and no forward offer); a writer who did it
# alone or sells nothing; a warning addressed to the reader; a question asked for oneself.
TEXT_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("$handoff", re.compile(
        r"(?:需要|想要|想了解|想知道|要联系方式|有意|同样|一样的|跟我一样|和我一样|有类似|有同样|情况一样|遇到的|要的话|要弄的话|"
        r"有需要)(?:的|话)?.{0,14}?(?:私|加|联系|找|评论|留言|回帖|回复?|扣|滴|戳|看我|主页|简介|置顶|头像|吼|喊|号|方式)"
        r"|(?:加|联系|找|问)(?:他|她|他们|她们|那人|这人|老师|师傅|大哥|姐姐)(?:的)?(?:微信|v|vx|wx|q|qq|电话|号|方式)?")),
    ("$victim", re.compile(
        r"被骗|骗了|上当|被坑|坑了|报警|报案|立案|退款未果|不退|拒绝退|要求退款|避雷|踩雷|后悔|起诉|失联|跑路|拉黑了?我|"
        r"骗子|骗局|骗钱|套路|割韭菜|踩坑|踩的坑|踩雷|抢劫|吐槽|转走|打官司|听信|不给退|退不了|维权无门|找不到人|没下文|"
        r"不办事|拖着|没有任何进展|未提供")),
    ("$paid", re.compile(
        r"(?:交了|付了|花了|收了我?|给了|转了|扣了|拿走了?|支付了?|充了|被收|骗走|共计|押金|定金|前期费)"
        r".{0,8}?(?:\d|[一二三四五六七八九十两几百千万]+(?:块|元|千|万|百))")),
    ("$alone", re.compile(
        r"不卖课|不接单|不是广告|单纯分享|纯分享|纯经验|免费分享|免费拿|勿私|"
        r"不加微信|(?:不要|别|勿|谢绝|拒绝)(?:再)?私(?:信|聊)?我?(?:卖|推|问|打广告)|不做这行|不是做这行的?|"
        r"不接(?:任何|一切)?(?:代办|广告|业务|私单)|给自己打气|没找(?:任何)?中介|不找(?:任何)?(?:中介|代理)|不推荐任何|没花一分钱|一分钱没花|不用花钱|没交过一分")),
    ("$warn", re.compile(
        r"当心|小心|警惕|谨防|提醒大家|提醒各位|别信|不要信|千万别|千万不要|别找|不要找|别上当|注意避|切勿|防骗|反诈|以案说法")),
    ("$question", re.compile(
        r"是不是|什么时候|怎么办|求指点|同问|求(?:大家)?(?:给点|给些|给个)?.{0,4}建议|有没有.{0,8}(?:朋友|人|大神|懂的|办过|经历过)|有人知道|谁知道|在线等|求推荐|求解答")),
)
# A story: the first person (anywhere) and a time told in the past; two plain searches (cheaper than one pattern
# that relates them).
_FIRST_PERSON = re.compile(r"[我俺]|本人|楼主|up主|博主")
_PAST = re.compile(r"去年|前年|那年|那时|当时|之前|以前|曾经|后来|最开始|一开始|那段时间|经历")
_PAST_DATE = re.compile(r"\d{4}年|[一二三四五六七八九十两\d](?:年|个月)前")  # only where 年 is (cheap gate)
_ALONE_SELF = re.compile(
    r"(?:我|俺)(?:是|都是|全是|全部)?自己(?:去|跟|和|找|写|打了?)?.{0,8}?(?:谈|协商|申请|投诉|退)(?:下来|的|了|成|好)|"
    r"全(?:部|程)?(?:都)?是?(?:我)?自己|靠自己")
_QUESTION_ENDS = ("吗", "么", "呢", "怎么办", "有没有人", "是真的", "靠谱", "求助", "求问", "请问")
_QUESTION_STARTS = ("求助", "请问", "求问")


def text_shapes(compact: str, contact: bool = False) -> dict[str, float]:
    """The text's shape features (only those present), with the combinations a linear model cannot form itself: a
    story that hands a helper on, a complaint about a fee already paid, and a story / a victim's words that pass
    nobody on (no hand-off, no contact: a borrower's diary, a complaint). Cut like the n-grams (bounded cost)."""
    text = compact[:MAX_CHARS]
    out = {name: 1.0 for name, pattern in TEXT_SHAPES if pattern.search(text)}
    if _FIRST_PERSON.search(text) and (_PAST.search(text) or ("年" in text and _PAST_DATE.search(text))):
        out["$story"] = 1.0
    if "$question" not in out and (text.endswith(_QUESTION_ENDS) or text.startswith(_QUESTION_STARTS)):
        out["$question"] = 1.0
    if "$alone" not in out and "自己" in text and _ALONE_SELF.search(text):
        out["$alone"] = 1.0
    passes_on = "$handoff" in out or contact
    if "$story" in out:
        out["$story+handoff" if passes_on else "$story-handoff"] = 1.0
    if "$victim" in out:
        if "$paid" in out:
            out["$victim+paid"] = 1.0
        if not passes_on:
            out["$victim-handoff"] = 1.0
    return out


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
        return sorted(contributions, key=lambda c: (-abs(c[1]), c[0]))[:n]


@lru_cache(maxsize=2)
def load_model(path: str | None = None) -> IntentModel | None:
    """The committed model, or None when it has not been trained yet (the detector then runs lexicon-only)."""
    target = Path(path) if path else MODEL_PATH
    if not target.exists():
        return None
    return IntentModel.load(target)
