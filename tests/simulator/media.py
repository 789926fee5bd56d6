"""Posters and clips for the simulator: the pitch rendered with a CJK font, in seeded, varied styles.

``image_bytes`` draws a JPEG poster (coloured background, big pitch, sometimes a small caption line, a
slight rotation); ``video_bytes`` encodes a short MP4 whose frames change over the clip, each text shown for
about 1.5 s with a keyframe where it appears. Sizes stay small (≤ 720 px wide) because OCR on two shared cores
costs ~0.4 s per image.
"""

from __future__ import annotations

import io
import random
import zlib
from fractions import Fraction
from functools import lru_cache

import av
from PIL import Image, ImageDraw, ImageFont

FONT_PATH = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"  # Debian fonts-noto-cjk
FONT_INDEX = 2  # the .ttc holds JP, KR, SC, TC, HK faces; index 2 is Simplified Chinese

# (background, foreground) pairs with enough contrast to read, as real ad posters are meant to be.
_PALETTES = [
    ((200, 30, 40), (255, 240, 200)),
    ((250, 215, 60), (30, 30, 30)),
    ((20, 60, 140), (255, 255, 255)),
    ((245, 245, 245), (200, 20, 20)),
    ((30, 120, 70), (255, 250, 230)),
    ((255, 140, 0), (255, 255, 255)),
    ((60, 20, 80), (255, 220, 90)),
]
_CAPTIONS = ["限时咨询", "私信了解", "点击主页", "名额有限", "专业团队"]

VIDEO_SIZE = (480, 640)
VIDEO_FPS = 4
SECONDS_PER_TEXT = 1.5


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(FONT_PATH, size, index=FONT_INDEX)


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Break text into lines no wider than ``width`` pixels, per character (CJK has no spaces to break at)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for ch in paragraph:
            if line and font.getlength(line + ch) > width:
                lines.append(line)
                line = ch
            else:
                line += ch
        if line:
            lines.append(line)
    return lines


def render_poster(text: str, seed: int, size: tuple[int, int] | None = None, caption: bool | None = None,
                  rotate: bool = True) -> tuple[Image.Image, str]:
    """The poster and all the words on it (the ground truth): the pitch in big type, maybe a small caption."""
    rnd = random.Random(seed)
    width, height = size or (rnd.choice([480, 540, 600, 720]), rnd.choice([480, 640, 720]))
    background, foreground = rnd.choice(_PALETTES)
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    # A band of a second colour behind the text, as many posters have.
    if rnd.random() < 0.5:
        band = tuple(min(255, c + 25) for c in background)
        top = rnd.randint(0, height // 4)
        draw.rectangle([0, top, width, top + height // 2], fill=band)
    size_px = max(28, min(width // 9, rnd.randint(34, 56)))
    font = _font(size_px)
    lines = _wrap(text, font, int(width * 0.86))
    line_height = int(size_px * 1.35)
    y = max(10, (height - line_height * len(lines)) // 2 - (20 if caption else 0))
    for line in lines:
        x = (width - int(font.getlength(line))) // 2
        draw.text((x, y), line, font=font, fill=foreground)
        y += line_height
    words = text
    if caption if caption is not None else rnd.random() < 0.4:
        small = _font(22)
        cap = rnd.choice(_CAPTIONS)
        draw.text((width - int(small.getlength(cap)) - 16, height - 40), cap, font=small, fill=foreground)
        words += "\n" + cap
    if rotate:
        angle = rnd.uniform(-3.0, 3.0)
        image = image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=background)
    return image, words


def style_seed(text: str, seed: int) -> int:
    """Style follows the text as well as the corpus seed, so one corpus still shows many poster styles."""
    return seed * 7919 + zlib.crc32(text.encode("utf-8"))


@lru_cache(maxsize=512)  # deterministic, and a bench serves the same poster thousands of times
def image_bytes(text: str, seed: int) -> bytes:
    """A JPEG poster carrying ``text``; the same (text, seed) always gives the same bytes."""
    buf = io.BytesIO()
    render_poster(text, style_seed(text, seed))[0].save(buf, "JPEG", quality=85)
    return buf.getvalue()


def image_truth(text: str, seed: int) -> str:
    """Every word :func:`image_bytes` draws for (text, seed): the pitch plus the caption, if it got one."""
    return render_poster(text, style_seed(text, seed))[1]


def video_bytes(frame_texts: list[str], seed: int) -> bytes:
    """A short H.264 MP4 showing each text for ~1.5 s in turn, with a keyframe where each text appears."""
    return _video_bytes(tuple(frame_texts), seed)


@lru_cache(maxsize=64)
def _video_bytes(frame_texts: tuple[str, ...], seed: int) -> bytes:
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=VIDEO_FPS)
        stream.width, stream.height = VIDEO_SIZE
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, VIDEO_FPS)
        stream.options = {"preset": "ultrafast", "crf": "23", "g": str(VIDEO_FPS * 10)}
        pts = 0
        for text in frame_texts or [""]:
            poster, _ = render_poster(text, style_seed(text, seed), size=VIDEO_SIZE, caption=False, rotate=False)
            for i in range(int(VIDEO_FPS * SECONDS_PER_TEXT)):
                frame = av.VideoFrame.from_image(poster)
                frame.pts = pts
                frame.time_base = Fraction(1, VIDEO_FPS)
                # A scene change is a keyframe, as encoders put one at a cut.
                frame.pict_type = av.video.frame.PictureType.I if i == 0 else av.video.frame.PictureType.NONE
                pts += 1
                for packet in stream.encode(frame):
                    container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buf.getvalue()


def char_accuracy(truth: str, got: str) -> float:
    """1 − edit distance / len(truth), ignoring whitespace (OCR drops and adds spaces freely)."""
    a, b = "".join(truth.split()), "".join(got.split())
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return max(0.0, 1 - row[len(b)] / max(1, len(a)))


def recompressed(data: bytes, quality: int, scale: float) -> bytes:
    """The same picture re-posted: decoded, scaled and saved again at another JPEG quality (new bytes, same look)."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    if scale != 1.0:
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                             Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    return buf.getvalue()
