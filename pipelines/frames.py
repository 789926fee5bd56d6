"""Pick the video frames worth reading: every keyframe plus one frame every N seconds, capped per video."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
from PIL import Image


class BadVideo(Exception):
    """The file is not a decodable video (wrong bytes behind a video MIME type, truncated, no video stream)."""


@dataclass(frozen=True)
class Frame:
    """One sampled frame and where it sits in the clip."""

    timestamp: float  # seconds from the start, rounded to 0.1 s (the "frame:3.0" in OCR sources)
    keyframe: bool
    image: Image.Image


def sample_frames(path: str | Path, interval: float = 2.0, max_frames: int = 8, max_seconds: float = 300.0,
                  max_width: int = 720) -> Iterator[Frame]:
    """Yield keyframes and one frame per ``interval`` seconds, at most ``max_frames``, within ``max_seconds``.

    Keyframes (scene cuts, where a new caption usually appears) are taken whatever the interval, but not two
    within ``min(interval / 2, 1 s)`` of the previous pick: a short GOP would otherwise spend the whole cap on
    the first seconds. Raises :class:`BadVideo` when nothing can be decoded; a video that breaks part-way
    yields what it decoded before the break.
    """
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise BadVideo(f"cannot open: {exc}") from exc
    with container:
        if not container.streams.video:
            raise BadVideo("no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        picked = 0
        last: float | None = None
        next_sample = 0.0
        min_gap = min(interval / 2, 1.0)
        try:
            for frame in container.decode(stream):
                t = float(frame.time or 0.0)
                if t > max_seconds:
                    break
                due = t >= next_sample
                fresh = last is None or t - last >= min_gap
                if (frame.key_frame or due) and fresh:
                    image = frame.to_image()
                    if image.width > max_width:
                        image = image.resize((max_width, round(image.height * max_width / image.width)))
                    yield Frame(round(t, 1), bool(frame.key_frame), image)
                    picked += 1
                    last = t
                    next_sample = t + interval
                    if picked >= max_frames:
                        break
        except av.FFmpegError as exc:
            if picked == 0:
                raise BadVideo(f"cannot decode: {exc}") from exc
        if picked == 0:
            raise BadVideo("no frames decoded")
