"""Detection stage: run the detector over post text and every OCR'd image / frame, record the decision."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from itemadapter import ItemAdapter
from scrapy.settings import BaseSettings

from pipelines.base import Stage
from pipelines.detection import Detector


@dataclass(frozen=True)
class DetectConfig:
    threshold: float
    lexicon: str | None  # path of the lexicon YAML; None = pipelines/lexicon.yaml


@lru_cache(maxsize=4)
def shared_detector(threshold: float, lexicon: str | None) -> Detector:
    """One detector per (threshold, lexicon) per process: its automaton takes a moment to build, and a sweep
    runs several spiders (each with its own pipeline instances) in one process."""
    return Detector(threshold=threshold, lexicon_path=lexicon)


def detection_sources(adapter: ItemAdapter) -> list[tuple[str, str]]:
    """Every text the post has: title, post text, hashtags, each OCR source (``image:k`` / ``cover`` /
    ``frame:t``), then — when the crawl collected them — the author's bio (``bio``) and each comment
    (``comment:k``). Fields read softly: an item without ``author`` or ``comments`` simply has no such source."""
    sources = [("title", adapter.get("title") or ""), ("text", adapter.get("text") or "")]
    if adapter.get("hashtags"):
        sources.append(("hashtags", " ".join(adapter.get("hashtags") or [])))
    for ocr in adapter.get("ocr") or []:
        if ocr.get("text"):
            sources.append((ocr.get("source") or "image", ocr["text"]))
    bio = _soft(_soft(adapter, "author"), "bio")
    if isinstance(bio, str) and bio:
        sources.append(("bio", bio))
    comments = adapter.get("comments") or []
    for k, comment in enumerate(comments if isinstance(comments, (list, tuple)) else []):
        text = comment if isinstance(comment, str) else _soft(comment, "text")
        if isinstance(text, str) and text:
            sources.append((f"comment:{k}", text))
    return [(s, t) for s, t in sources if t]


def _soft(obj: Any, name: str) -> Any:
    """``obj[name]`` or ``obj.name``, None when there is no such field (items gain fields over time)."""
    if obj is None:
        return None
    if isinstance(obj, (dict, ItemAdapter)):
        try:
            return obj.get(name)
        except KeyError:
            return None
    return getattr(obj, name, None)


class DetectStage(Stage):
    """Decide whether the post is an ad, which category, how sure, and why."""

    name = "detect"

    @classmethod
    def config_from_settings(cls, settings: BaseSettings) -> DetectConfig:
        return DetectConfig(
            threshold=settings.getfloat("ADWATCH_DETECT_THRESHOLD", 0.5),
            lexicon=settings.get("ADWATCH_LEXICON") or None,
        )

    def open_spider(self) -> None:
        self.detector = shared_detector(self.config.threshold, self.config.lexicon)

    def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        platform = adapter["platform"]
        result = self.detector.detect(detection_sources(adapter))
        detection = result.to_dict()
        adapter["detection"] = detection
        adapter["contacts"] = detection["contacts"]
        adapter["flagged"] = result.flagged
        self.count("checked", platform=platform)
        if result.flagged:
            self.count("flagged", platform=platform)
            for category in result.categories or [result.category]:
                self.count(f"category/{category}")
            for unit in result.units:
                if unit.flagged and unit.unit != "post":
                    self.count(f"flagged_by/{unit.unit.partition(':')[0]}")
        return item
