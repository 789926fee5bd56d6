"""Control and invisible characters in scraped text: dropped where filed, shown as marks wherever displayed.

The unit tests pin :mod:`pipelines.textsafe`; the sweep tests run the shared real sweep (``sweep_once``) over
simulator posts carrying NUL, other C0/C1 controls, U+202E and the other bidi / zero-width characters
(``family: controls`` and ``family: format_chars`` in tests/simulator/texts.yaml).
"""

from __future__ import annotations

import re
import sys
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from itemadapter import ItemAdapter
from markupsafe import Markup
from scrapy.utils.test import get_crawler

from crawler.items import AdPost, Author
from pipelines.detect import detection_sources, shared_detector
from pipelines.normalize import NormalizeStage
from pipelines.textsafe import FORMAT_RANGES, clean_text, display_text
from reports.render import load_complainant, render_reports
from tests.conftest import SweepRun
from tests.simulator.corpus import build_corpus

COMPLAINANT = Path(__file__).resolve().parent.parent / "reports" / "complainant.example.yaml"
PLATFORMS = ("weibo", "douyin")
FAMILIES = ("controls", "format_chars")
# A control character other than tab and newline, as a byte in UTF-8 output (C0, DEL) or as a character (C1).
CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]")
CONTROL_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
FORMAT_CHARS = re.compile(f"[{FORMAT_RANGES}]")


# --- The functions ----------------------------------------------------------------------------------------


def test_clean_text_drops_controls_and_keeps_lines() -> None:
    assert clean_text("停息\x00挂账\x07\x1b[0m\x08\x7f\x9b") == "停息挂账[0m"
    assert clean_text("a\r\nb\rc\x0bd\x0ce\x85f\tg\nh") == "a\nb\nc\nd\ne\nf\tg\nh"
    assert clean_text("bad \ud800 surrogate") == "bad \ufffd surrogate"
    assert clean_text("征\u200b信 \u202e") == "征\u200b信 \u202e"  # format characters are kept for the record
    assert clean_text("") == ""


def test_display_text_marks_invisible_characters() -> None:
    assert display_text("官网 \u202emoc.live\u202c") == "官网 ⟨U+202E⟩moc.live⟨U+202C⟩"
    assert display_text("征\u200b信\ufeff\u2066x\u2069\u00ad") == "征⟨U+200B⟩信⟨U+FEFF⟩⟨U+2066⟩x⟨U+2069⟩⟨U+00AD⟩"
    assert display_text("a\x00b\u3164c") == "ab⟨U+3164⟩c"  # a blank Hangul filler is marked too
    assert display_text("\u200d征\u200d信\u200d") == "⟨U+200D⟩征⟨U+200D⟩信⟨U+200D⟩"


def test_display_text_leaves_emoji_sequences_alone() -> None:
    family = "👨\u200d👩\u200d👧 上岸👍🏽\u200d"  # a trailing joiner joins nothing: marked
    assert display_text(family) == "👨\u200d👩\u200d👧 上岸👍🏽⟨U+200D⟩"
    flag = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"  # Scotland
    assert display_text(flag) == flag
    assert display_text("x\U000e0067") == "x⟨U+E0067⟩"  # a tag character outside a flag is not


def test_display_text_passes_other_values_and_keeps_markup() -> None:
    assert display_text(None) is None and display_text(3) == 3 and display_text(["\x00"]) == ["\x00"]
    marked = display_text(Markup("<b>\u202ex</b>"))
    assert isinstance(marked, Markup) and marked == Markup("<b>⟨U+202E⟩x</b>")


def test_every_format_character_of_this_python_is_covered() -> None:
    """Guards ``FORMAT_RANGES`` against a newer Unicode version adding format characters."""
    missing = [f"U+{cp:04X}" for cp in range(sys.maxunicode + 1)
               if unicodedata.category(chr(cp)) == "Cf" and not FORMAT_CHARS.fullmatch(chr(cp))]
    assert missing == []


def test_normalize_drops_controls_from_filed_text_and_counts_it() -> None:
    crawler = get_crawler(settings_dict={"PLATFORM_ORIGINS": {"weibo": "https://m.weibo.cn"}})
    stage = NormalizeStage.from_crawler(crawler)
    post = AdPost(platform="weibo", post_id="1", url="https://m.weibo.cn/detail/1", title="标\x00题",
                  text="停息\x00挂账 \u202e8899fxz\u202c #上岸\x07#", author=Author(id="7\x00", name="小\x1b王\u202e"),
                  keyword="停息\x00挂账", raw={"text": "停息\x00挂账"})
    stage.process_item(post)
    assert post.text == "停息挂账 \u202e8899fxz\u202c #上岸#" and post.title == "标题" and post.keyword == "停息挂账"
    assert post.author.id == "7" and post.author.name == "小王\u202e" and post.hashtags == ["上岸"]
    assert post.raw == {"text": "停息\x00挂账"}  # the record keeps what was posted
    assert crawler.stats.get_value("adwatch/normalize/control_chars/weibo") == 1
    clean = AdPost(platform="weibo", post_id="2", url="https://m.weibo.cn/detail/2", text="征信修复")
    stage.process_item(clean)
    assert crawler.stats.get_value("adwatch/normalize/control_chars") == 1  # only the dirty post counted


def test_every_report_value_is_display_safe(tmp_path: Path) -> None:
    """The template environment finalises every expression: no field can be forgotten."""
    post = {
        "platform": "douyin", "post_id": "7\x00", "url": "https://www.douyin.com/video/7\u202e", "flagged": True,
        "author": {"id": "9\x1b", "name": "\u202e王小", "url": "https://www.douyin.com/user/9\x00"},
        "text": "停息挂账\x00 \u202emoc.x\u202c", "ocr_text": "征\u200b信", "raw_ref": "sha256:\x07",
        "published_at": "\x00", "captured_at": "", "contacts": [{"kind": "wechat\x00", "value": "\u202ezx88"}],
        "detection": {"category": "debt_relief", "score": 0.9,
                      "matches": [{"term": "停息\x00挂账", "kind": "category", "source": "text\u202e"}]},
        "media": [{"kind": "image", "sha256": "ab" * 32, "path": "ab/\x00.jpg"}],
    }
    [report] = render_reports([post], load_complainant(COMPLAINANT), tmp_path, batch_id="B")
    data = report.path.read_bytes()
    assert not CONTROL_BYTES.search(data)
    html = data.decode("utf-8")
    assert not CONTROL_CHARS.search(html) and not FORMAT_CHARS.search(html)
    for shown in ("⟨U+202E⟩王小", "⟨U+202E⟩moc.x⟨U+202C⟩", "征⟨U+200B⟩信", "⟨U+202E⟩zx88", "停息挂账"):
        assert shown in html, shown


# --- A real sweep over posts carrying them ----------------------------------------------------------------


def _hostile(platform: str) -> list[Any]:
    posts = [p for p in build_corpus()[platform] if p.family in FAMILIES]
    assert len(posts) == len(FAMILIES)
    return posts


def _verdict(detection: dict[str, Any]) -> tuple[Any, ...]:
    return (detection["flagged"], detection["category"], round(detection["score"], 6),
            sorted(m["term"] for m in detection["matches"]), sorted((c["kind"], c["value"]) for c in detection["contacts"]))


def _strip(value: Any) -> Any:
    """The post as if it had been written without any control or format character."""
    if isinstance(value, str):
        return FORMAT_CHARS.sub("", CONTROL_CHARS.sub("", value))
    if isinstance(value, list):
        return [_strip(v) for v in value]
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items()}
    return value


def _strings(value: Any) -> list[str]:
    """Every string inside a JSON payload."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    return [s for v in value for s in _strings(v)] if isinstance(value, list) else []


@pytest.mark.parametrize("platform", PLATFORMS)
def test_filed_text_has_no_controls_and_detection_is_unchanged(sweep_once: SweepRun, platform: str) -> None:
    store = sweep_once.store()
    detector = shared_detector(0.5, None)
    for sim in _hostile(platform):
        doc = store.get(sim.uid)
        assert doc is not None, sim.uid
        assert doc["flagged"] and doc["detection"]["category"] == sim.category
        for text in (doc["text"], doc["title"], doc["author"]["name"], *doc["hashtags"]):
            assert not CONTROL_CHARS.search(text), text
        # Detection reads through them: the same verdict as on the post without them, and as on the post as sent.
        # (Every text the post was judged on: its own, the OCR, and the comments / bio the follow-ups fetched.)
        stripped = ItemAdapter({key: _strip(doc.get(key)) for key in ("title", "text", "hashtags", "ocr", "author",
                                                                      "comments")})
        assert _verdict(doc["detection"]) == _verdict(detector.detect(detection_sources(stripped)).to_dict())
        as_sent = detector.detect([("text", sim.text)])
        assert (as_sent.flagged, as_sent.category) == (True, sim.category)
        # The record keeps what was posted, controls and all.
        raw = " ".join(_strings(store.raw(doc["raw_ref"])))
        if sim.family == "controls":
            assert "\x00" in raw and "\u202e" in raw and "\x00" not in doc["text"]
        else:
            assert "\u200b" in raw and "\u200b" in doc["text"]


def test_reports_and_exports_hold_no_control_byte_and_show_marks(sweep_once: SweepRun) -> None:
    # A capture's page.html is the page as the platform served it: the record, kept byte for byte like the raw payload.
    written = [p for p in sweep_once.data_dir.rglob("*")
               if p.suffix in (".html", ".json", ".jsonl", ".csv") and p.name != "page.html"]
    assert {p.name for p in written} >= {"takedown-weibo.html", "takedown-douyin.html", "last-sweep.json"}
    for path in written:
        data = path.read_bytes()
        if path.suffix == ".csv":
            data = data.replace(b"\r\n", b"\n")  # RFC 4180 ends records with CRLF: a line end, not a control
        assert not CONTROL_BYTES.search(data), (path.name, CONTROL_BYTES.search(data))
        text = data.decode("utf-8-sig" if path.suffix == ".csv" else "utf-8")  # the BOM Excel needs
        assert not CONTROL_CHARS.search(text) and not FORMAT_CHARS.search(text), path.name
    for platform in PLATFORMS:
        html = next(sweep_once.data_dir.glob(f"reports/*/takedown-{platform}.html")).read_text(encoding="utf-8")
        controls, format_chars = sorted(_hostile(platform), key=lambda p: p.family)
        for post in (controls, format_chars):
            assert post.post_id in html  # both are reported …
        # … the override shown as marks, so the evidence reads as it was posted, in the text and the account name;
        assert "⟨U+202E⟩moc.88nahgnahs⟨U+202C⟩" in html and "⟨U+202E⟩问顾务法⟨U+202C⟩小王" in html
        assert "停息挂账协商还款银行网贷都能谈" in html  # NUL and friends gone
        # … and every zero-width / isolate character too.
        assert "征⟨U+200B⟩信⟨U+200C⟩修⟨U+200D⟩复，⟨U+FEFF⟩逾期记录处理，⟨U+2066⟩成功率高⟨U+2069⟩" in html
        assert "⟨U+2067⟩xf_team88⟨U+2069⟩" in html
