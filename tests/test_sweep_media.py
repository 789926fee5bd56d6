"""End to end: a sweep of the simulator finds every image-only and video-only ad through OCR.

The stored record must show what was read and where: the OCR text per image (``image:k``) or video frame
(``frame:t``), the stored picture it came from (by SHA-256), and detection matches that cite that source.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from pipelines.detection import Detector
from tests.conftest import SweepRun
from tests.simulator import Simulator
from tests.simulator.corpus import expected_ads
from tests.simulator.media import char_accuracy, image_truth

PLATFORMS = ("weibo", "douyin")
MIN_ACCURACY = 0.9


def _media_by_sha(run: SweepRun, doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The post's stored media by SHA-256, each checked to exist on disk with that very digest."""
    assets = {}
    for asset in doc["media"]:
        if asset.get("sha256"):
            data = (run.data_dir / "media" / asset["path"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == asset["sha256"], asset
            assets[asset["sha256"]] = asset
    return assets


def _check_ocr_alone_flags(doc: dict[str, Any]) -> None:
    """The pictures alone must make the case: detection over the OCR entries only flags the post."""
    ocr_only = Detector().detect([(e["source"], e["text"]) for e in doc["ocr"]])
    assert ocr_only.flagged, doc["ocr"]
    cited = {m["source"] for m in doc["detection"]["matches"]}
    assert cited & {e["source"] for e in doc["ocr"]}, doc["detection"]["matches"]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_image_only_ad_is_read_from_its_image(sweep_once: SweepRun, simulator: Simulator,
                                                    platform: str) -> None:
    store = sweep_once.store()
    ads = expected_ads(platform, kinds=("image",))
    assert ads
    for ad in ads:
        doc = store.get(ad.uid)
        assert doc is not None and doc["flagged"], (ad.uid, doc and doc["detection"])
        media = _media_by_sha(sweep_once, doc)
        by_source = {e["source"]: e for e in doc["ocr"]}
        for k, text in enumerate(ad.image_texts):
            entry = by_source[f"image:{k}"]
            assert char_accuracy(image_truth(text, simulator.config.seed), entry["text"]) >= MIN_ACCURACY, entry
            asset = media[entry["asset_sha256"]]
            assert (asset["kind"], asset["index"], asset["error"]) == ("image", k, None)
            assert entry["lines"] and all(len(ln["box"]) == 4 for ln in entry["lines"])
        _check_ocr_alone_flags(doc)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_video_only_ad_is_read_from_its_frames(sweep_once: SweepRun, platform: str) -> None:
    store = sweep_once.store()
    ads = expected_ads(platform, kinds=("video",))
    assert ads
    for ad in ads:
        doc = store.get(ad.uid)
        assert doc is not None and doc["flagged"], (ad.uid, doc and doc["detection"])
        media = _media_by_sha(sweep_once, doc)
        frames = [e for e in doc["ocr"] if e["source"].startswith("frame:")]
        for text in ad.frame_texts:
            entry = max(frames, key=lambda e: char_accuracy(text, e["text"]))
            assert char_accuracy(text, entry["text"]) >= MIN_ACCURACY, (text, frames)
            frame = media[entry["asset_sha256"]]
            # The frame is kept as evidence, tagged with the time it was taken from the stored video.
            assert frame["kind"] == "frame" and entry["source"] == f"frame:{frame['timestamp']}"
            assert frame["url"] == next(a["url"] for a in doc["media"] if a["kind"] == "video")
        _check_ocr_alone_flags(doc)


def test_media_and_ocr_stats_add_up(sweep_once: SweepRun) -> None:
    for platform in PLATFORMS:
        images = sum(len(ad.image_texts) for ad in expected_ads(platform, kinds=("image",)))
        assert sweep_once.stat(platform, f"adwatch/media/downloaded/image/{platform}") >= images
        assert sweep_once.stat(platform, f"adwatch/media/downloaded/video/{platform}") >= len(
            expected_ads(platform, kinds=("video",)))
        assert sweep_once.stat(platform, f"adwatch/ocr/frames/{platform}") > 0
        assert sweep_once.stat(platform, "adwatch/media/blocked") == 0  # the simulator's origin is allowed
