"""OCR through the Redis queue: a crawler's stage sends a post's pictures, an ocr-worker reads them and answers."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from scrapy.settings import Settings

from crawler import settings as project_settings
from crawler.items import AdPost, MediaAsset
from pipelines.media import content_path
from pipelines.ocr_queue import PROCESSING, QueuedOcrStage, _Counts, serve
from tests.simulator.media import image_bytes


def _settings(tmp_path: Path, redis_url: str, **extra: object) -> Settings:
    s = Settings()
    s.setmodule(project_settings)
    s.update({"ADWATCH_DATA_DIR": str(tmp_path), "ADWATCH_REDIS_URL": redis_url, "ADWATCH_OCR_QUEUE": True,
              "ADWATCH_OCR_CACHE": "off", **extra})
    return s


def _post_with_poster(media_dir: Path, text: str) -> AdPost:
    data = image_bytes(text, 7)
    sha = hashlib.sha256(data).hexdigest()
    path = content_path(sha, ".jpg")
    (media_dir / path).parent.mkdir(parents=True, exist_ok=True)
    (media_dir / path).write_bytes(data)
    asset = MediaAsset(url="https://wx1.sinaimg.cn/large/x.jpg", kind="image", path=path, sha256=sha)
    return AdPost(platform="weibo", post_id="5012345678901234", url="https://m.weibo.cn/detail/1", media=[asset])


def _run_stage(settings: Settings, post: AdPost) -> tuple[QueuedOcrStage, _Counts]:
    """The crawler's side: the queued OCR stage handles one post."""
    stats = _Counts()
    stage = QueuedOcrStage(stats, QueuedOcrStage.config_from_settings(settings))
    stage.open_spider()
    try:
        stage._remote(post)
    finally:
        stage.close_spider()
    return stage, stats


def test_an_ocr_worker_answers_the_crawlers_job(redis_url: str, tmp_path: Path) -> None:
    settings = _settings(tmp_path, redis_url)
    post = _post_with_poster(tmp_path / "media", "征信修复 加微信 zx8899")
    worker = threading.Thread(target=serve, args=(settings, redis_url, 1), daemon=True)
    worker.start()
    stage, stats = _run_stage(settings, post)
    worker.join(timeout=120)
    assert "征信修复" in post.ocr_text and post.ocr[0]["source"] == "image:0"
    assert stats.get("adwatch/ocr/queued") == 1
    assert stats.get("adwatch/ocr/ocr") == 1  # counted by the worker, added to the crawl's stats
    assert not stage._local_ready  # the crawler never loaded an OCR engine of its own
    import redis

    assert redis.Redis.from_url(redis_url).llen(PROCESSING) == 0  # answered jobs leave the processing list


def test_no_ocr_worker_the_crawler_reads_itself(redis_url: str, tmp_path: Path) -> None:
    settings = _settings(tmp_path, redis_url, ADWATCH_OCR_QUEUE_TIMEOUT=1)
    post = _post_with_poster(tmp_path / "media", "停息挂账 找我")
    _, stats = _run_stage(settings, post)
    assert "停息挂账" in post.ocr_text
    assert stats.get("adwatch/ocr/queue_timeout") == 1
