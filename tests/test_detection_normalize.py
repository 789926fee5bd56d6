"""Each normaliser step on the tricks ads really use, and the map back to the original text."""

from __future__ import annotations

import pytest

from pipelines.detection.lexicon import spelling_variants
from pipelines.detection.normalize import (
    Mapped,
    apply_aliases,
    casefold,
    compact_view,
    digit_words,
    fold_chars,
    light_view,
    normalize,
    strip_invisible,
    strip_separators,
    to_halfwidth,
    to_simplified,
)


def _m(text: str) -> Mapped:
    return Mapped.of(text)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＺＸ修复，加ＶＸ：ｃｒｅｄｉｔ８８", "ZX修复,加VX:credit88"),
        ("电话①③⑧", "电话138"),
        ("⑴停息⑵挂账", "1停息2挂账"),
        ("❶❷❸", "123"),
    ],
)
def test_nfkc_halfwidth_keeps_one_character_per_character(raw: str, expected: str) -> None:
    assert to_halfwidth(raw) == expected
    assert len(to_halfwidth(raw)) == len(raw)


def test_traditional_to_simplified() -> None:
    assert to_simplified("徵信修復、債務協商、停息掛賬、減免息費") == "征信修复、债务协商、停息挂账、减免息费"
    assert to_simplified("諮詢") == "咨询"


def test_casefold() -> None:
    assert casefold("VX: Shangan_2024 QQ") == "vx: shangan_2024 qq"
    assert len(casefold("İstanbul")) == len("İstanbul")  # would grow under str.lower()


def test_fold_chars_combines_width_script_and_case_without_moving_anything() -> None:
    out = fold_chars(_m("徵信ＸＩＵＦＵ，加ＶＸ"))
    assert out.text == "征信xiufu，加vx"  # sentence punctuation (，) is left alone
    assert out.offsets == list(range(len(out.text)))


def test_strip_invisible_removes_zero_width_characters_and_maps_back() -> None:
    raw = "征\u200b信\u2060修\ufeff复\u200d"
    out = strip_invisible(_m(raw))
    assert out.text == "征信修复"
    assert [raw[i] for i in out.offsets] == list("征信修复")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("电话 幺三八 零零幺三 八零零零", "电话 138 0013 8000"),
        ("壹叁捌壹贰叁肆伍陆柒捌", "13812345678"),
        ("QQ：二八五一二三四五六七", "QQ：2851234567"),
        ("微信 1三8-0零13-8零零零", "微信 138-0013-8000"),
    ],
)
def test_digit_words_in_number_runs(raw: str, expected: str) -> None:
    assert digit_words(_m(raw)).text == expected


@pytest.mark.parametrize("prose", ["一对一服务", "三天见效，一站式处理", "五年后自动消除", "两三个月"])
def test_digit_words_leave_prose_alone(prose: str) -> None:
    assert digit_words(_m(prose)).text == prose


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("债 务 优 化｜停 息 挂 账", "债务优化停息挂账"),
        ("征*信*修*复，反-催-收", "征信修复反催收"),
        ("停💰息💰挂💰账 了解一下👉", "停息挂账了解一下"),
        ("协\u3000商  还 款", "协商还款"),
        ("➕V: xiufu_77", "加vxiufu77"),
    ],
)
def test_strip_separators_joins_words_split_by_spaces_symbols_and_emoji(raw: str, expected: str) -> None:
    assert strip_separators(fold_chars(_m(raw))).text == expected


def test_cjk_strokes_used_as_separators() -> None:
    assert normalize("修丶复征丨信") == "修复征信"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("zx修复", "征信修复"),
        ("征x花了", "征信花了"),
        ("正信修复", "征信修复"),
        ("加v了解", "加微信了解"),
        ("加薇", "加微信"),
        ("vx号", "微信号"),
        ("v信", "微信"),
        ("威信", "微信"),
        ("扣扣", "qq"),
    ],
)
def test_aliases(raw: str, expected: str) -> None:
    assert apply_aliases(_m(raw)).text == expected


@pytest.mark.parametrize("word", ["zxing", "vip会员", "公正信息", "张薇", "威力", "vxworks"])
def test_aliases_leave_ordinary_words_alone(word: str) -> None:
    assert apply_aliases(_m(word)).text == word


def test_alias_offsets_point_at_the_alias() -> None:
    raw = "专业ＺＸ修复"
    out = compact_view(light_view(raw))
    assert out.text == "专业征信修复"
    start = out.text.index("征信修复")
    s, e = out.span(start, start + 4)
    assert raw[s:e] == "ＺＸ修复"


def test_expanding_alias_maps_all_its_characters_to_the_alias() -> None:
    raw = "加 V 详聊"
    out = compact_view(light_view(raw))
    assert out.text == "加微信详聊"
    s, e = out.span(0, 3)
    assert raw[s:e] == "加 V"


def test_offsets_quote_the_original_through_every_step() -> None:
    raw = "信用卡逾期😭 停💰息 挂\u200b账 了解一下👉 徵信修復"
    out = compact_view(light_view(raw))
    for term, original in [("停息挂账", "停💰息 挂\u200b账"), ("征信修复", "徵信修復"), ("逾期", "逾期")]:
        i = out.text.index(term)
        s, e = out.span(i, i + len(term))
        assert raw[s:e] == original


def test_pinyin_initials_and_homophones_of_core_terms() -> None:
    variants = spelling_variants("停息挂账")
    assert {"txgz", "停xi挂账", "停息gua账", "停息挂帐", "亭息挂账"} <= variants
    assert "zxxf" in spelling_variants("征信修复")
    assert {"征信修付", "正信修复"} <= spelling_variants("征信修复")
    # Only the usual reading: 还 read "fu" would turn an ordinary phrase into a service term.
    assert "协商付款" not in spelling_variants("协商还款")
    # Two-character words get no homophones (上按 is fine, but 上案/尚岸 would hit ordinary text).
    assert spelling_variants("上岸", homophones=True) == {"shang岸", "上an"}
