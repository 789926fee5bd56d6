"""Video frame sampling with PyAV on real clips rendered by the simulator."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.frames import BadVideo, sample_frames
from tests.simulator.media import SECONDS_PER_TEXT, video_bytes


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    path.write_bytes(video_bytes(["网贷逾期怎么办", "停息挂账 协商还款", "加微信 tingxi99", "私信咨询"], seed=3))
    return path


def test_keyframes_and_interval_samples_are_tagged_with_their_time(clip: Path) -> None:
    frames = list(sample_frames(clip, interval=1.0, max_frames=20))
    times = [f.timestamp for f in frames]
    assert times == sorted(times) and times[0] == 0.0
    # Every text change is a keyframe, and every one of them is picked.
    for k in range(4):
        assert any(f.keyframe and f.timestamp == k * SECONDS_PER_TEXT for f in frames), times
    # Between keyframes, one frame per interval at most (never two within half an interval).
    assert all(b - a >= 0.5 for a, b in zip(times, times[1:])), times
    assert frames[0].image.size == (480, 640)


def test_frames_are_capped_per_video(clip: Path) -> None:
    assert len(list(sample_frames(clip, interval=0.25, max_frames=3))) == 3


def test_long_interval_still_takes_the_keyframes(clip: Path) -> None:
    # A 60 s interval alone would pick t=0 only; each caption change is a keyframe and is taken as well.
    assert [f.timestamp for f in sample_frames(clip, interval=60.0)] == [0.0, 1.5, 3.0, 4.5]


def test_max_seconds_stops_reading(clip: Path) -> None:
    assert max(f.timestamp for f in sample_frames(clip, interval=0.5, max_seconds=2.0)) <= 2.0


@pytest.mark.parametrize(
    "data",
    [b"", b"<html>404</html>" * 50, b"\x00\x00\x00\x18ftypmp42" + b"not really a movie" * 20],
    ids=["zero-byte", "html-as-video", "mp4-magic-then-garbage"],
)
def test_non_video_bytes_raise_bad_video(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "v.mp4"
    path.write_bytes(data)
    with pytest.raises(BadVideo):
        list(sample_frames(path))


def test_truncated_video_is_bad(tmp_path: Path, clip: Path) -> None:
    path = tmp_path / "cut.mp4"
    path.write_bytes(clip.read_bytes()[: clip.stat().st_size // 2])
    with pytest.raises(BadVideo):
        list(sample_frames(path))
