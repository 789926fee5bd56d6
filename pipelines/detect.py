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
    """Where text may hide: title, post text, hashtags, then each OCR source (``image:k`` / ``frame:t``)."""
    sources = [("title", adapter.get("title") or ""), ("text", adapter.get("text") or "")]
    if adapter.get("hashtags"):
        sources.append(("hashtags", " ".join(adapter.get("hashtags") or [])))
    for ocr in adapter.get("ocr") or []:
        if ocr.get("text"):
            sources.append((ocr.get("source") or "image", ocr["text"]))
    # Fetched for flagged posts and posts pointing at them (crawler/followups.py): the author's bio, the comments.
    author = adapter.get("author")
    bio = author.get("bio") if isinstance(author, dict) else getattr(author, "bio", None)
    if isinstance(bio, str) and bio:
        sources.append(("bio", bio))
    for k, comment in enumerate(adapter.get("comments") or []):
        if isinstance(comment, dict) and isinstance(comment.get("text"), str):
            sources.append((f"comment:{k}", comment["text"]))
    return [(s, t) for s, t in sources if t]


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
            self.count(f"category/{result.category}")
        return item
