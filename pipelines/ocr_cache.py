"""The OCR stage's memory: results by perceptual hash, confirmed by the look of the text regions (SQLite).

A reposted poster (recompressed, resized) costs a lookup instead of an OCR call, across posts and runs; a poster
that differs only in its contact number is read again. Keys come from :func:`pipelines.ocr.image_key`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from pipelines.ocr_engines import OcrLine

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
