"""The detector's shortcuts give what the long way gives, on every text of the labelled set: phrase patterns run
only where the automaton saw a literal they require, offsets resolved from run starts, contact patterns run only
where their tell-tale characters are (phone numbers: ten digits close together); spelling variants are assigned
the same whatever the hash seed."""

from __future__ import annotations

import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.detection import Detector
from pipelines.detection import contacts as contacts_module
from pipelines.detection.contacts import find_contacts
from pipelines.detection.matcher import branch_literals, required_literals
from pipelines.detection.normalize import BOUNDARY, PLUS_TABLE, INVISIBLE, compact_view, light_view, strip_separators
from pipelines.detection.scan import first_chars
from tests.eval.dataset import load_items

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector()


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """Every labelled post, its texts joined as the detector joins them, plus each text alone."""
    items = load_items()
    joined = [BOUNDARY.join(t for _, t in item.sources if t) for item in items]
    return joined + [t for item in items for _, t in item.sources if t]


def test_gated_patterns_find_what_every_pattern_finds(detector: Detector, texts: list[str]) -> None:
    compact = [compact_view(light_view(t)).text for t in texts]
    assert [detector.matcher.find(c) for c in compact] == [detector.matcher.find(c, gated=False) for c in compact]
    # The gates are real: most patterns have one, and some texts with terms skip some pattern.
    assert len(detector.matcher.ungated) < len(detector.lexicon.patterns) / 2
    pattern_hits = sum(
        1 for c in compact for _, _, term in detector.matcher.find(c, gated=False) if term.term == "打着…幌子"
    )
    assert 0 < pattern_hits < len(compact)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("(?:删除|消除).{0,4}逾期记录", {"逾期记录"}),
        ("先(?:办事|服务)后(?:收费|付款)", {"先办事后收费", "先办事后付款", "先服务后收费", "先服务后付款"}),
        ("\\d{1,3}(?:天|小时)(?:内)?(?:停催|到账)", {"停催", "到账"}),
        ("(?:是不是|是否)(?:骗|真的)", {"是不是骗", "是不是真的", "是否骗", "是否真的"}),
        ("[删消]除", {"删除", "消除"}),
        ("\\d+天", {"天"}),
        ("\\d+", None),
        ("(?i)abc", None),
        ("(?:征信|信用)?修复", {"修复"}),
    ],
)
def test_required_literals(pattern: str, expected: set[str] | None) -> None:
    got = required_literals(re.compile(pattern))
    assert (set(got) if got is not None else None) == expected


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("闭嘴|清净了|(?:让|叫)?.{0,6}(?:安静|消停)", {"闭嘴", "清净了", "安静", "消停"}),
        ("回复?1|打1", {"回", "打1"}),
        ("停息|\\d+", None),
        ("停息挂账", None),  # no alternation: required_literals tells
    ],
)
def test_branch_literals(pattern: str, expected: set[str] | None) -> None:
    got = branch_literals(re.compile(pattern))
    assert (set(got) if got is not None else None) == expected


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("(?<![a-z])(?:vx|wx)|(?<=加)[微威]|🆔", set("vw微威🆔")),
        ("(?:\\+?86)?1[3-9]", set("+81")),
        ("a?b*c", set("abc")),
        ("a?", None),  # may match empty
        ("\\d+", None),  # a class by category
        ("[^a]b", None),
        ("(?i)ab", None),
    ],
)
def test_first_chars(pattern: str, expected: set[str] | None) -> None:
    got = first_chars(re.compile(pattern))
    assert (set(got) if got is not None else None) == expected


def test_scanners_find_what_finditer_finds(texts: list[str]) -> None:
    rng = random.Random(3)
    alphabet = list("微信威薇徽卫星小绿泡泡加我jiaweivxwqtg扣企鹅球🐧🛰🆔+＋➕86140:：= _-.·abz09\n号是一下联系添合洽咨滴电报纸飞机me/")
    samples = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(3000)]
    samples += [light_view(t).text for t in texts]
    for scanner in contacts_module.SCANS.values():
        assert scanner._starts is not None
        for text in samples:
            expected = [(m.span(), m.groups()) for m in scanner.pattern.finditer(text)]
            assert [(m.span(), m.groups()) for m in scanner.finditer(text)] == expected, text


def _slow_offsets(text: str) -> list[int]:
    """Per character, the long way: where each character of the separator-free light view came from."""
    visible = [i for i, c in enumerate(text) if c not in INVISIBLE]
    light = light_view(text).text.translate(PLUS_TABLE)
    assert len(light) == len(visible)
    return [visible[j] for j, c in enumerate(light) if c.isalnum()]


def test_offsets_from_run_starts_equal_per_character_offsets(texts: list[str]) -> None:
    for text in texts + ["征\u200b信 修*复 ➕V", "  债 务 优 化  ", "\u200b\u200b停💰息\u200b"]:
        stripped = strip_separators(light_view(text))
        assert stripped.offsets == _slow_offsets(text), text
        for i in range(len(stripped.text)):
            assert stripped.span(i, i + 1) == (stripped.orig(i), stripped.orig(i) + 1)
        compact = compact_view(light_view(text))  # aliases add a per-character map on top
        everywhere = list(range(len(compact.text)))
        assert compact.origs(everywhere) == [compact.orig(i) for i in everywhere]


def test_contact_hints_skip_no_contact(texts: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    extra = ["电话 幺三八 零零幺三 八零零零", "+86 138-0013-8000", "热线400-123-4567", "座机 010-8888 6666", "2024年7天"]
    lights = [(light_view(t), t) for t in texts + extra]
    hinted = [find_contacts(light, t, "text") for light, t in lights]
    monkeypatch.setattr(contacts_module, "PHONE_HINT", re.compile(""))
    monkeypatch.setattr(contacts_module, "TELLS", re.compile(".", re.DOTALL))  # every character tells
    for hint in ("ASCII_ALNUM", "LETTER", "OCR_HINT", "SPACED_HINT"):
        monkeypatch.setattr(contacts_module, hint, re.compile(""))
    monkeypatch.setattr(contacts_module, "_short_lines", lambda text: True)
    for scanner in contacts_module.SCANS.values():  # every pattern tried at every position
        monkeypatch.setattr(scanner, "_starts", None)
    assert hinted == [find_contacts(light, t, "text") for light, t in lights]
    assert sum(c.kind == "phone" for found in hinted for c in found) >= 4


def test_spelling_variants_do_not_depend_on_the_hash_seed() -> None:
    script = (
        "from pipelines.detection.lexicon import load_lexicon;"
        "print(sorted((s, t.term) for s, t in load_lexicon().spellings.items()))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script], cwd=ROOT, env={"PYTHONHASHSEED": seed}, capture_output=True,
            text=True, check=True,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outputs) == 1


def test_automaton_offsets_count_characters_outside_the_bmp_as_one(detector: Detector) -> None:
    text = "𠀀𠀁征信修复，加V 𠀂"
    d = detector.detect([("text", text)])
    assert [(m.term, text[m.start : m.end]) for m in d.matches if m.kind == "category"] == [("征信修复", "征信修复")]
