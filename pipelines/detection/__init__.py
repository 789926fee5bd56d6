"""Ad detection: does a post (text + OCR text) advertise a debt-relief / credit-repair / stop-collection service?

Public API (stable; the detect stage, reports and the index use it):

    detector = Detector(threshold=0.5)
    d = detector.detect([("text", post_text), ("image:0", ocr0), ("frame:3.0", ocr_at_3s)])
    d.flagged, d.category, d.score, d.matches, d.contacts, d.to_dict()

This first version is the demo keyword detector; the detection issue replaces its insides.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

CATEGORIES: dict[str, tuple[str, ...]] = {
    "debt_relief": ("债务减免", "债务优化", "停息挂账", "协商还款", "债务重组", "债务托管", "减免息费", "息费减免", "延期还款", "个性化分期", "上岸"),
    "credit_repair": ("征信修复", "征信洗白", "铲单", "洗白", "征信异议"),
    "stop_collection": ("停止催收", "反催收", "屏蔽催收", "代理维权", "投诉退费", "代理投诉", "避免起诉", "停止罚息"),
}
CALL_TO_ACTION = ("加v", "加微", "微信", "私信", "咨询", "联系", "包过", "成功率", "收费", "免费", "保证", "来帮忙", "找我")
NEGATIVE_CONTEXT = ("警惕", "骗局", "打击", "提醒", "报警", "公安", "通报", "起诉了", "幌子", "不法分子", "黑灰产", "诈骗", "倡议", "谨防", "黑产")


@dataclass
class Match:
    term: str
    kind: str  # "category" | "cta" | "negative"
    category: str | None
    source: str  # "text", "image:0", "frame:3.0" …
    start: int
    end: int
    snippet: str


@dataclass
class Detection:
    flagged: bool
    category: str | None
    score: float
    matches: list[Match] = field(default_factory=list)
    contacts: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def terms(self) -> list[str]:
        return sorted({m.term for m in self.matches if m.kind == "category"})


def _snippet(text: str, start: int, end: int, width: int = 20) -> str:
    return text[max(0, start - width) : end + width]


class Detector:
    """Scores posts against the lexicon; flagged when score ≥ threshold."""

    def __init__(self, threshold: float = 0.5) -> None:
        self.threshold = threshold

    def detect(self, sources: list[tuple[str, str]]) -> Detection:
        matches: list[Match] = []
        for source, text in sources:
            low = (text or "").lower()
            for cat, terms in CATEGORIES.items():
                for term in terms:
                    i = low.find(term)
                    if i >= 0:
                        matches.append(Match(term, "category", cat, source, i, i + len(term), _snippet(text, i, i + len(term))))
            for kind, terms in (("cta", CALL_TO_ACTION), ("negative", NEGATIVE_CONTEXT)):
                for term in terms:
                    i = low.find(term)
                    if i >= 0:
                        matches.append(Match(term, kind, None, source, i, i + len(term), _snippet(text, i, i + len(term))))
        cats = [m.category for m in matches if m.kind == "category"]
        if not cats:
            return Detection(False, None, 0.0, matches)
        category = max(set(cats), key=cats.count)
        score = min(1.0, 0.35 * len(set(cats)) + 0.25 * sum(m.kind == "cta" for m in matches))
        score = max(0.0, score - 0.5 * sum(m.kind == "negative" for m in matches))
        return Detection(score >= self.threshold, category, round(score, 3), matches)
