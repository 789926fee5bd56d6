"""火星文 that needs a character's parts or its sound (pipelines/detection/glyphs.py): zhuyin read as pinyin, split
characters put back together, and the evidence still quoting what was posted."""

from __future__ import annotations

import pytest

from pipelines.detection import Detector
from pipelines.detection.glyphs import split_spans, zhuyin_spans, zhuyin_to_pinyin
from pipelines.detection.normalize import normalize


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector()


@pytest.mark.parametrize(
    ("zhuyin", "pinyin"),
    [("ㄓㄥ", "zheng"), ("ㄘㄨㄟ", "cui"), ("ㄅㄨˋ", "bu"), ("ㄒㄧㄣˋ", "xin"), ("ㄓㄥㄒㄧㄣˋ", "zhengxin"), ("ㄕ", "shi")],
)
def test_zhuyin_reads_as_toneless_pinyin(zhuyin: str, pinyin: str) -> None:
    assert zhuyin_to_pinyin(zhuyin) == pinyin


def test_a_lone_zhuyin_letter_is_a_particle_not_a_syllable() -> None:
    assert zhuyin_spans("停息ㄋ分期ㄋ") == []
    assert normalize("停息ㄋ分期ㄋ") == "停息分期"  # read as separators, as before
    assert zhuyin_spans("ㄓㄥ信") == [(0, 2, "zheng")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("氵肖除逾期讠己录", "消除逾期记录"),
        ("氵 肖 除 逾 期", "消除逾期"),  # split and spaced out
        ("亻言用卡", "信用卡"),
        ("期讠己", "期记"),  # the character before a bound radical is not taken for its partner
    ],
)
def test_split_characters_are_put_back_together(text: str, expected: str) -> None:
    assert normalize(text) == expected


def test_ordinary_text_has_nothing_to_put_together() -> None:
    text = "江河湖海，他们说话打扰了你好几次，清理一下"
    assert split_spans(text) == [] and zhuyin_spans(text) == []
    assert normalize(text) == "江河湖海他们说话打扰了你好几次清理一下"


def test_zhuyin_and_split_words_are_found_and_quoted_as_posted(detector: Detector) -> None:
    d = detector.detect([("text", "ㄓㄥ信問題、ㄘㄨㄟ收問題，統統幫你解決 Q:1592736408")])
    assert d.flagged
    assert {(m.term, m.written) for m in d.matches} >= {("征信", "ㄓㄥ信"), ("催收", "ㄘㄨㄟ收")}
    d = detector.detect([("text", "氵肖除逾期讠己录，三个工作日见效，先处理后付款")])
    assert d.flagged and d.category == "credit_repair"
    assert any(m.term == "消除逾期记录" and m.written == "氵肖除逾期讠己录" for m in d.matches)


def test_a_comment_that_only_hands_out_a_contact_is_read(detector: Detector) -> None:
    """Round 7: a unit with a contact and no lexicon word at all is read by the model (only when it is sure)."""
    d = detector.detect([("comment:0", "黑了也能拿，需要的喊我 18176093524")])
    assert [u.unit for u in d.units] == ["comment:0"] and d.units[0].probability is not None
    d = detector.detect([("text", "周末一起去爬山，报名加我微信 hiking_2024")])
    assert not d.flagged


@pytest.mark.parametrize(
    ("text", "expected"),
    [("専業催収", "专业催收"), ("铲単", "铲单"), ("徴信", "征信"), ("芸芸众生", "芸芸众生")],  # 芸 is Chinese too: kept
)
def test_japanese_forms_read_as_chinese(text: str, expected: str) -> None:
    assert normalize(text) == expected


def test_a_bio_that_lists_a_strong_service_is_the_outfits_advert(detector: Detector) -> None:
    """Round 7: the profile is the way to reach the account; a borrower's bio naming the debt is not flagged."""
    assert detector.detect([("bio", "专注债务优化8年｜停息挂账｜个性化分期")]).flagged
    assert not detector.detect([("bio", "95后｜负债12w｜上岸倒计时")]).flagged
    assert not detector.detect([("comment:0", "专注债务优化8年｜停息挂账｜个性化分期")]).flagged  # a comment needs a call


def test_pinyin_with_tone_marks_reads_as_pinyin(detector: Detector) -> None:
    """Round 9: "dài kuǎn … sī wǒ" — tone marks dropped, the words found by sound, quoted as posted."""
    assert normalize("dài kuǎn，lǜ") == "daikuanlv"
    d = detector.detect([("text", "dài kuǎn shì bu shì zǒng bèi jù？hēi hù yě kě yǐ xià kuǎn，sī wǒ")])
    assert d.flagged and any(m.written == "xià kuǎn" for m in d.matches)
