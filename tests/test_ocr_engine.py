"""OCR engine, text normalisation, image loading guards and the perceptual-hash cache, on real pictures."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from pipelines.ocr import BadImage, OcrCache, Reader, image_key, is_blank, join_lines, load_image, make_engine, normalize_text
from tests.simulator.media import char_accuracy, image_bytes, image_truth, render_poster

MAX_PIXELS = 40_000_000


@pytest.fixture(scope="module")
def engine():
    return make_engine("rapidocr")


def test_normalize_folds_fullwidth_and_spaces() -> None:
    assert normalize_text("  加ＶＸ：ｃｒｅｄｉｔ８８ \n\t咨询 ") == "加VX:credit88 咨询"


def test_join_lines_keeps_wrapped_chinese_phrases_whole() -> None:
    assert join_lines(["专业团队 停息", "挂账 加V", "zx8899"]) == "专业团队 停息挂账 加V zx8899"
    assert join_lines(["征信修复加", "Vzx8899"]) == "征信修复加Vzx8899"
    assert join_lines(["", "wx", "8899"]) == "wx 8899"


def _png_claiming(width: int, height: int) -> bytes:
    """A 1 KB PNG whose header claims ``width`` × ``height``: the shape of a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(1000))) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"", "empty"),
        (b"<html><body>404 not found</body></html>", "corrupt"),
        (image_bytes("停息挂账", 1)[:1500], "truncated"),
        (_png_claiming(50_000, 50_000), "bomb"),  # beyond Pillow's own hard limit
        (_png_claiming(8_000, 8_000), "bomb"),  # under Pillow's limit, over ours
    ],
    ids=["zero-byte", "not-an-image", "truncated-jpeg", "bomb-pillow-limit", "bomb-our-limit"],
)
def test_bad_images_are_refused_with_a_reason(data: bytes, kind: str) -> None:
    with pytest.raises(BadImage) as caught:
        load_image(data, MAX_PIXELS)
    assert caught.value.kind == kind


def test_good_image_loads_as_rgb() -> None:
    image = load_image(image_bytes("停息挂账", 1), MAX_PIXELS)
    assert image.mode == "RGB" and image.width >= 480


def test_blank_pictures_are_skipped_but_posters_are_not() -> None:
    assert is_blank(Image.new("RGB", (600, 400), (200, 30, 40)))
    assert not is_blank(render_poster("征信修复", 3)[0])


def _repost(image: Image.Image, scale: float = 0.75, quality: int = 60) -> Image.Image:
    """What a reposter's upload looks like: smaller and recompressed."""
    buf = io.BytesIO()
    image.resize((round(image.width * scale), round(image.height * scale))).save(buf, "JPEG", quality=quality)
    return Image.open(buf).convert("RGB")


def test_perceptual_key_survives_reencoding() -> None:
    poster, _ = render_poster("停息挂账 协商还款 咨询微信 shangan88", 7, size=(540, 720))
    assert bin(image_key(poster) ^ image_key(_repost(poster))).count("1") <= 12


@pytest.mark.parametrize(
    "text", ["征信修复 逾期记录处理 加V zx8899", "停止催收 代理维权 电话13800138000"],
)
def test_rapidocr_reads_the_pitch_with_boxes(engine, text: str) -> None:
    reading = Reader(engine).read(load_image(image_bytes(text, 11), MAX_PIXELS))
    assert reading.how == "ocr"
    assert char_accuracy(image_truth(text, 11), reading.text) >= 0.9, reading.text
    for line in reading.lines:
        assert len(line["box"]) == 4 and 0.5 <= line["confidence"] <= 1.0 and line["text"]


def test_cache_turns_a_repost_into_a_lookup_across_runs(engine, tmp_path: Path) -> None:
    poster = load_image(image_bytes("停息挂账 协商还款 咨询微信 shangan88", 5), MAX_PIXELS)
    first = Reader(engine, OcrCache(tmp_path / "cache.sqlite3")).read(poster)
    assert first.how == "ocr" and "shangan88" in first.text

    # A new run (new cache object on the same file) sees a shrunk, recompressed repost of the same poster.
    later = Reader(engine, OcrCache(tmp_path / "cache.sqlite3")).read(_repost(poster))
    assert later.how == "cache"
    assert later.text == first.text and later.lines == first.lines


def test_cache_does_not_hand_one_posters_number_to_its_lookalike(engine, tmp_path: Path) -> None:
    reader = Reader(engine, OcrCache(tmp_path / "cache.sqlite3"))
    original, _ = render_poster("停息挂账 协商还款 咨询微信 shangan88", 9, size=(540, 720))
    lookalike, _ = render_poster("停息挂账 协商还款 咨询微信 shangan86", 9, size=(540, 720))
    assert bin(image_key(original) ^ image_key(lookalike)).count("1") <= 12  # the pHash alone would confuse them
    assert "shangan88" in reader.read(original).text
    second = reader.read(lookalike)
    assert second.how == "ocr" and "shangan86" in second.text


def test_text_less_picture_is_cached_whole(engine, tmp_path: Path) -> None:
    reader = Reader(engine, OcrCache(tmp_path / "cache.sqlite3"))
    gradient = Image.linear_gradient("L").resize((480, 480)).convert("RGB")
    assert reader.read(gradient).how == "ocr" and reader.read(gradient).how == "cache"


def test_unknown_engine_switches_ocr_off() -> None:
    from scrapy.exceptions import NotConfigured

    with pytest.raises(NotConfigured):
        make_engine("tesseract")
    with pytest.raises(NotConfigured):
        make_engine("paddleocr", "/nonexistent")
