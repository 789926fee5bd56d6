"""Rendering of the simulator's media (stub: the media/OCR work replaces it with styled posters and clips)."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"


def image_bytes(text: str, seed: int) -> bytes:
    """A JPEG poster with ``text`` on it."""
    img = Image.new("RGB", (480, 640), (250, 230, 200))
    draw = ImageDraw.Draw(img)
    try:
        font = ImageFont.truetype(FONT, 28)
    except OSError:
        font = ImageFont.load_default()
    draw.text((20, 280), text, fill=(20, 20, 20), font=font)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def video_bytes(frame_texts: list[str], seed: int) -> bytes:
    """An MP4 clip whose frames show each of ``frame_texts`` in turn (stub: not a real video yet)."""
    return b"\x00\x00\x00\x18ftypmp42" + "|".join(frame_texts).encode("utf-8")
