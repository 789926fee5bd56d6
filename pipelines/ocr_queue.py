"""OCR in processes of its own, fed from a Redis queue: OCR cores scale apart from the crawlers.

With ``ADWATCH_OCR_QUEUE`` on, a crawler's OCR stage (:class:`QueuedOcrStage`) sends each post's downloaded media
(paths in the shared media store) as a job to ``adwatch:ocr:jobs`` and waits for the answer on a reply key of its
own; ``scrapy ocr-worker`` processes (:func:`serve`) take jobs with ``BLMOVE`` into ``adwatch:ocr:processing``,
read the pictures with the same :class:`~pipelines.ocr.OcrStage` code, and answer. A job is removed from
``processing`` only once answered, so a job whose OCR worker died is visible there; the crawler, after
``ADWATCH_OCR_QUEUE_TIMEOUT`` seconds without an answer, reads the pictures itself (counted
``adwatch/ocr/queue_timeout``): a post never waits forever nor goes without its text. The media store must be
the same folder for crawlers and OCR workers (one machine, or a shared file system).
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import asdict
from typing import Any

import redis
from itemadapter import ItemAdapter
from scrapy.exceptions import NotConfigured
from scrapy.settings import BaseSettings
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread

from crawler.items import AdPost, MediaAsset
from pipelines.ocr import OcrConfig, OcrStage

logger = logging.getLogger("adwatch.ocr_queue")

JOBS = "adwatch:ocr:jobs"
PROCESSING = "adwatch:ocr:processing"


class _Counts(dict[str, Any]):
    """The stats an OCR worker's stage counts into; sent back with each answer and added to the crawl's."""

    def inc_value(self, key: str, count: int | float = 1, start: int = 0) -> None:
        self[key] = self.get(key, start) + count

    def set_value(self, key: str, value: Any) -> None:
        self[key] = value


def _asset(data: dict[str, Any]) -> MediaAsset:
    return MediaAsset(**{k: v for k, v in data.items() if k in MediaAsset.__dataclass_fields__})


class QueuedOcrStage(OcrStage):
    """OCR through the queue; the stage's own reader is the fallback when no OCR worker answers in time."""

    @classmethod
    def config_from_settings(cls, settings: BaseSettings) -> OcrConfig:
        if not settings.getbool("ADWATCH_OCR_QUEUE"):
            raise NotConfigured("ADWATCH_OCR_QUEUE is off")
        config = super().config_from_settings(settings)
        cls._redis_url = settings.get("ADWATCH_REDIS_URL")
        cls._timeout = settings.getfloat("ADWATCH_OCR_QUEUE_TIMEOUT", 300.0)
        return config

    def open_spider(self) -> None:
        # Blocking reads: the socket must outlast the wait (redis-py gives up after 5 s by default).
        self.server = redis.Redis.from_url(self._redis_url, socket_timeout=self._timeout + 30)
        self._local_ready = False

    def close_spider(self) -> None:
        if self._local_ready:
            super().close_spider()
        self.server.close()

    async def process_item(self, item: Any) -> Any:
        media = [a for a in ItemAdapter(item).get("media") or [] if not a.error and a.path and a.kind != "frame"]
        if not media:
            return self.read_item(item) if self._local_ready else self._empty(item)
        return await maybe_deferred_to_future(deferToThread(self._remote, item))

    def _empty(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        adapter["ocr"], adapter["ocr_text"] = [], ""
        self.count("posts", platform=adapter["platform"])
        return item

    def _remote(self, item: Any) -> Any:
        """On a thread: send the job, wait for the answer, or read locally after the timeout."""
        adapter = ItemAdapter(item)
        reply = f"adwatch:ocr:reply:{uuid.uuid4().hex}"
        job = {"reply": reply, "platform": adapter["platform"], "post_id": adapter["post_id"],
               "url": adapter["url"], "media": [asdict(a) for a in adapter.get("media") or []]}
        self.server.lpush(JOBS, json.dumps(job, ensure_ascii=False))
        answer = self.server.blpop([reply], timeout=self._timeout)
        if answer is None:
            self.count("queue_timeout")
            self.warn_once("queue_timeout", "OCR: no ocr-worker answered in %.0fs; reading locally", self._timeout)
            if not self._local_ready:
                super().open_spider()
                self._local_ready = True
            return self.read_item(item)
        result = json.loads(answer[1])
        adapter["ocr"], adapter["ocr_text"] = result["ocr"], result["ocr_text"]
        adapter["media"] = [_asset(m) for m in result["media"]]
        for key, value in result["counts"].items():
            if isinstance(value, (int, float)) and key != "adwatch/ocr/engine_load_seconds":
                self.stats.inc_value(key, value)
        self.count("queued")
        return item


def serve(settings: BaseSettings, redis_url: str, max_jobs: int = 0, idle_exit: float = 0.0) -> int:
    """``scrapy ocr-worker``: answer OCR jobs until stopped (or ``max_jobs`` / ``idle_exit`` seconds idle)."""
    stage = OcrStage(_Counts(), OcrStage.config_from_settings(settings))
    stage.open_spider()
    server = redis.Redis.from_url(redis_url, socket_timeout=max(idle_exit, 5.0) + 30)
    done = 0
    try:
        while not max_jobs or done < max_jobs:
            raw = server.blmove(JOBS, PROCESSING, timeout=idle_exit or 5.0, src="RIGHT", dest="LEFT")
            if raw is None:
                if idle_exit:
                    break
                continue
            job = json.loads(raw)
            stage.stats = counts = _Counts()
            item = AdPost(platform=job["platform"], post_id=job["post_id"], url=job["url"],
                          media=[_asset(m) for m in job["media"]])
            stage.read_item(item)
            answer = {"ocr": item.ocr, "ocr_text": item.ocr_text, "media": [asdict(a) for a in item.media],
                      "counts": dict(counts)}
            pipe = server.pipeline()
            pipe.lpush(job["reply"], json.dumps(answer, ensure_ascii=False))
            pipe.expire(job["reply"], 3600)  # a crawler that gave up waiting never reads it
            pipe.lrem(PROCESSING, 1, raw)
            pipe.execute()
            done += 1
    finally:
        stage.close_spider()
        server.close()
    return done
