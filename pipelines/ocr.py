"""OCR stage: read the words in a post's images, cover and sampled video frames, once per picture.

The engine sits behind one small interface (:class:`OcrEngine`): the default runs PaddleOCR's PP-OCRv4 models
through ``rapidocr-onnxruntime`` (the models ship in its wheel, so it works offline); ``paddleocr`` 3.x is used
when asked for and importable, from local model folders. A perceptual-hash cache (:class:`OcrCache`, SQLite under
the data dir) makes a reposted poster cost a lookup instead of an OCR call, across posts and runs.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import sqlite3
import threading
import time
import unicodedata
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import imagehash
import numpy as np
from itemadapter import ItemAdapter
from PIL import Image, ImageFilter, ImageStat
from scrapy.exceptions import NotConfigured
from scrapy.settings import BaseSettings
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread

from crawler.items import MediaAsset
from pipelines.base import Stage
from pipelines.frames import BadVideo, sample_frames
from pipelines.media import content_path, media_store
from pipelines.store import data_dir

# --- Text -------------------------------------------------------------------------------------------------

_SPACES = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """NFKC (full-width letters and digits become ASCII, so "ｚｘ８８９９" reads "zx8899") and single spaces."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip()


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


# --- Engines ----------------------------------------------------------------------------------------------

OcrLine = dict[str, Any]  # {"text": str, "box": [[x, y] × 4], "confidence": float}


class OcrEngine(Protocol):
    """What the stage needs from an OCR engine: a name (part of the cache key) and lines with boxes."""

    name: str

    def recognize(self, image: Image.Image) -> list[OcrLine]: ...


def _line(text: str, box: Any, confidence: float) -> OcrLine:
    return {
        "text": normalize_text(text),
        "box": [[round(float(x), 1), round(float(y), 1)] for x, y in np.asarray(box).reshape(-1, 2)],
        "confidence": round(float(confidence), 4),
    }


class RapidOcrEngine:
    """PP-OCRv4 det + rec (+ the mobile angle classifier) on ONNX Runtime, with the models from the wheel.

    ``det_max_side`` caps the detector's input at the picture's own size (≤ that many pixels on the long side);
    the stock setting instead scales the *short* side up to 736 px, which for a 540×720 poster means detecting
    on 736×981 — slower and, on posters, no more accurate (bench/ocr.py). The tuned setting also skips the
    0°/180° line classifier: ads are posted upright (vertical lines are still turned by the detector's crop).
    ``None`` keeps the stock settings.
    """

    name = "rapidocr"

    def __init__(self, min_confidence: float = 0.5, det_max_side: int | None = 960) -> None:
        from rapidocr_onnxruntime import RapidOCR  # heavy import: only when the engine is built

        tuned = {"det_limit_type": "max", "det_limit_side_len": det_max_side, "use_cls": False} if det_max_side else {}
        self._ocr = RapidOCR(text_score=min_confidence, **tuned)

    def recognize(self, image: Image.Image) -> list[OcrLine]:
        result, _elapsed = self._ocr(image.convert("RGB"))
        return [_line(text, box, score) for box, text, score in result or []]


class PaddleOcrEngine:
    """``paddleocr`` 3.x from local model folders (it would otherwise download models at run time)."""

    name = "paddleocr"

    def __init__(self, model_dir: str, min_confidence: float = 0.5, det_max_side: int | None = 960) -> None:
        try:
            from paddleocr import PaddleOCR
        except ImportError as exc:
            raise NotConfigured("paddleocr is not installed") from exc
        root = Path(model_dir)
        det, rec = root / "det", root / "rec"
        if not (det.is_dir() and rec.is_dir()):
            raise NotConfigured(f"paddleocr needs local models in {det} and {rec}")
        self._ocr = PaddleOCR(
            text_detection_model_dir=str(det),
            text_recognition_model_dir=str(rec),
            use_doc_orientation_classify=False,
            use_doc_unwarping=False,
            use_textline_orientation=False,
            text_rec_score_thresh=min_confidence,
            **({"text_det_limit_type": "max", "text_det_limit_side_len": det_max_side} if det_max_side else {}),
        )

    def recognize(self, image: Image.Image) -> list[OcrLine]:
        # PaddleOCR wants BGR arrays, as OpenCV reads them.
        array = np.asarray(image.convert("RGB"))[:, :, ::-1].copy()
        lines: list[OcrLine] = []
        for res in self._ocr.predict(array):
            for text, score, poly in zip(res["rec_texts"], res["rec_scores"], res["rec_polys"]):
                lines.append(_line(text, poly, score))
        return lines


def make_engine(name: str, model_dir: str = "", min_confidence: float = 0.5,
                det_max_side: int | None = 960) -> OcrEngine:
    """The engine called ``name`` ("rapidocr" | "paddleocr"); raises ``NotConfigured`` when it cannot run."""
    if name == "rapidocr":
        return RapidOcrEngine(min_confidence, det_max_side)
    if name == "paddleocr":
        return PaddleOcrEngine(model_dir, min_confidence, det_max_side)
    raise NotConfigured(f"unknown OCR engine {name!r}")


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
    their pHash, so a candidate is confirmed by :func:`same_text_regions` before its text is reused.
    """
    return int(str(imagehash.phash(image)), 16)


# --- Cache ------------------------------------------------------------------------------------------------

_STRIP_HEIGHT = 32  # text-line strips are compared at this height
_WHOLE = (128, 128)  # pictures without text are compared whole, at this size
_BLOCK = 7  # side of the blocks whose mean difference must stay small
_MAX_BLOCK_DIFF = 16.0  # measured: recompressed / 3/4-resized reposts ≤ 11, one changed digit ≥ 21
_MAX_HAMMING = 12
_BANDS = 4  # the 64-bit key is indexed as four 16-bit bands: near keys share at least one band


@dataclass(frozen=True)
class Region:
    """A part of the reference picture (its pixel box) and the strip size it is compared at."""

    box: tuple[int, int, int, int]
    size: tuple[int, int]


def text_regions(image_size: tuple[int, int], lines: list[OcrLine]) -> list[Region]:
    """The boxes of the recognised lines, or the whole picture when it has no text."""
    regions = []
    for ln in lines:
        xs, ys = [p[0] for p in ln["box"]], [p[1] for p in ln["box"]]
        x0, y0 = max(0, int(min(xs))), max(0, int(min(ys)))
        x1, y1 = min(image_size[0], int(max(xs)) + 1), min(image_size[1], int(max(ys)) + 1)
        if x1 - x0 >= 4 and y1 - y0 >= 4:
            width = max(_BLOCK + 4, min(512, round(_STRIP_HEIGHT * (x1 - x0) / (y1 - y0))))
            regions.append(Region((x0, y0, x1, y1), (width, _STRIP_HEIGHT)))
    return regions or [Region((0, 0, *image_size), _WHOLE)]


def _strip(gray: Image.Image, region: Region) -> np.ndarray:
    strip = gray.crop(region.box).resize(region.size, Image.Resampling.BOX).filter(ImageFilter.GaussianBlur(1))
    return np.asarray(strip, dtype=np.uint8)


def _block_diff(a: np.ndarray, b: np.ndarray) -> float:
    """Largest mean difference of any block, at the best shift within ±2 px (crops never align exactly)."""
    a = a.astype(np.float32) - a.mean()
    b = b.astype(np.float32) - b.mean()
    h, w = a.shape
    core = a[2 : h - 2, 2 : w - 2]
    bh, bw = (h - 4) // _BLOCK * _BLOCK, (w - 4) // _BLOCK * _BLOCK
    best = float("inf")
    for dy in range(-2, 3):
        for dx in range(-2, 3):
            d = np.abs(core - b[2 + dy : h - 2 + dy, 2 + dx : w - 2 + dx])[:bh, :bw]
            best = min(best, float(d.reshape(bh // _BLOCK, _BLOCK, bw // _BLOCK, _BLOCK).mean(axis=(1, 3)).max()))
    return best


def same_text_regions(image: Image.Image, size: tuple[int, int], regions: list[Region],
                      strips: list[np.ndarray]) -> bool:
    """Whether ``image``, scaled to the reference ``size``, looks like the reference where its text was."""
    gray = image.convert("L")
    if gray.size != size:
        gray = gray.resize(size, Image.Resampling.BICUBIC)
    return all(_block_diff(ref, _strip(gray, r)) <= _MAX_BLOCK_DIFF for r, ref in zip(regions, strips))


def _bands(key: int) -> list[int]:
    return [(key >> (16 * i)) & 0xFFFF for i in range(_BANDS)]


class OcrCache:
    """OCR results by perceptual hash, in SQLite so they survive the run.

    A hit needs a near pHash (≤ 12 bits apart, found through four indexed 16-bit bands) and the same look in
    every text region: the reference strips are stored with the result, so a poster that differs only in its
    contact number is read again instead of inheriting someone else's number.
    """

    def __init__(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS ocr_cache (
                id INTEGER PRIMARY KEY, engine TEXT NOT NULL, key TEXT NOT NULL,
                b0 INTEGER, b1 INTEGER, b2 INTEGER, b3 INTEGER,
                width INTEGER, height INTEGER, regions TEXT NOT NULL, strips BLOB NOT NULL, lines TEXT NOT NULL
            );
            CREATE INDEX IF NOT EXISTS ocr_b0 ON ocr_cache(b0); CREATE INDEX IF NOT EXISTS ocr_b1 ON ocr_cache(b1);
            CREATE INDEX IF NOT EXISTS ocr_b2 ON ocr_cache(b2); CREATE INDEX IF NOT EXISTS ocr_b3 ON ocr_cache(b3);
            """
        )

    def get(self, engine: str, image: Image.Image, key: int) -> list[OcrLine] | None:
        bands = _bands(key)
        with self._lock:
            rows = self._db.execute(
                "SELECT key, width, height, regions, strips, lines FROM ocr_cache WHERE engine = ? AND "
                "(b0 = ? OR b1 = ? OR b2 = ? OR b3 = ?)",
                (engine, *bands),
            ).fetchall()
        rows.sort(key=lambda row: bin(int(row[0], 16) ^ key).count("1"))
        for row_key, width, height, regions_json, blob, lines in rows:
            if bin(int(row_key, 16) ^ key).count("1") > _MAX_HAMMING:
                break
            regions = [Region(tuple(box), tuple(size)) for box, size in json.loads(regions_json)]
            flat = np.frombuffer(zlib.decompress(blob), dtype=np.uint8)
            strips, offset = [], 0
            for r in regions:
                n = r.size[0] * r.size[1]
                strips.append(flat[offset : offset + n].reshape(r.size[1], r.size[0]))
                offset += n
            if same_text_regions(image, (width, height), regions, strips):
                return json.loads(lines)
        return None

    def put(self, engine: str, image: Image.Image, key: int, lines: list[OcrLine]) -> None:
        regions = text_regions(image.size, lines)
        gray = image.convert("L")
        blob = zlib.compress(b"".join(_strip(gray, r).tobytes() for r in regions))
        with self._lock:
            self._db.execute(
                "INSERT INTO ocr_cache (engine, key, b0, b1, b2, b3, width, height, regions, strips, lines) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (engine, f"{key:016x}", *_bands(key), *image.size,
                 json.dumps([[r.box, r.size] for r in regions]), blob, json.dumps(lines, ensure_ascii=False)),
            )
            self._db.commit()

    def close(self) -> None:
        with self._lock:
            self._db.close()


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
    _lock: threading.Lock = field(default_factory=threading.Lock)

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
        # One OCR at a time: ONNX Runtime already uses both cores, and two runs would only thrash.
        with self._lock:
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
    model_dir: str
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
        engine = settings.get("ADWATCH_OCR_ENGINE", "rapidocr")
        if not engine:
            raise NotConfigured("ADWATCH_OCR_ENGINE is empty")
        cache = settings.get("ADWATCH_OCR_CACHE", "")
        return OcrConfig(
            engine=engine,
            model_dir=settings.get("ADWATCH_OCR_MODEL_DIR", ""),
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
        engine = make_engine(self.config.engine, self.config.model_dir, self.config.min_confidence,
                             self.config.max_side)
        self.stats.set_value("adwatch/ocr/engine_load_seconds", round(time.perf_counter() - started, 2))
        cache = OcrCache(self.config.cache_path) if self.config.cache_path else None
        self.reader = Reader(engine, cache, max_side=self.config.max_side)

    def close_spider(self) -> None:
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
                target = self.config.media_dir / path
                if not target.exists():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(data)
                out.append((MediaAsset(url=asset.url, kind="frame", index=k, path=path, sha256=sha,
                                       bytes=len(data), mime="image/jpeg", timestamp=frame.timestamp), frame.image))
        except BadVideo as exc:
            self._bad(asset, "video", str(exc), platform)
        self.count("frames", len(out), platform=platform)
        return out
