"""Text normaliser: undo the tricks ads use to slip past keyword filters, keeping a map back to the original.

Every step takes and returns a :class:`Mapped` (normalised text + for each of its characters the index of the
original character it came from), so a match found in the normalised text can quote the original post.

Two views are built from one post text:

* the *light* view (:func:`light_view`): characters folded (NFKC full-width → half-width, traditional →
  simplified, lower case), invisible characters dropped, digit words turned into digits. Spaces and punctuation
  stay, so contact numbers and ids keep their boundaries; contacts are read from this view.
* the *compact* view (:func:`compact_view`): the light view without any separator, punctuation or emoji (only
  letters and digits remain, so ``债 务 优 化`` / ``征*信`` / ``停💰息`` become whole words again), with known
  aliases (``zx`` → ``征信``, ``vx`` → ``微信`` …) spelled out. Lexicon terms are matched in this view.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from itertools import accumulate
from functools import lru_cache
from typing import Callable

import opencc

from pipelines.detection import glyphs


# A map from positions in a derived text to positions in the text it was derived from: ``offsets[i]`` is where
# derived character ``i`` came from (a list, or a :class:`Runs` answering the same ``[i]``). Steps that do not
# move characters add no map at all.
Offsets = list[int]


class Runs:
    """The map of a text with some runs of characters cut out, back into the text: made from the parts
    ``re.split`` with one capturing group returned (kept, cut, kept, cut, …, kept).

    Answers ``runs[i]`` by bisecting where the kept parts start, worked out (with C-level ``accumulate``) the
    first time it is asked: most texts never are (no match to quote), and those that are need two positions
    per match, not a per-character list.
    """

    __slots__ = ("_parts", "_derived", "_source")

    def __init__(self, parts: list[str]) -> None:
        self._parts = parts
        self._derived: list[int] | None = None  # where each kept part starts in the derived text …
        self._source: list[int] = []  # … and in the source text

    def _starts(self) -> tuple[list[int], list[int]]:
        if self._derived is None:
            self._source = list(accumulate(map(len, self._parts), initial=0))[::2]
            self._derived = list(accumulate(map(len, self._parts[::2]), initial=0))
        return self._derived, self._source

    def __getitem__(self, i: int) -> int:
        derived, source = self._starts()
        k = bisect_right(derived, i) - 1
        return source[k] + i - derived[k]

    def lookup(self, positions: list[int]) -> list[int]:
        """``[self[i] for i in positions]`` without a call per position."""
        derived, source = self._starts()
        return [source[k := bisect_right(derived, i) - 1] + i - derived[k] for i in positions]


class Mapped:
    """Normalised text plus the chain of maps back to the original text (one per step that moved characters)."""

    __slots__ = ("text", "_maps")

    def __init__(self, text: str, maps: tuple[Offsets | Runs, ...] = ()) -> None:
        self.text = text
        self._maps = maps

    @classmethod
    def of(cls, text: str) -> Mapped:
        return cls(text)

    def derive(self, text: str, offsets: Offsets | Runs | None) -> Mapped:
        """A new text derived from this one; ``offsets`` (into this text) is None when nothing moved."""
        if offsets is None:
            return Mapped(text, self._maps)
        return Mapped(text, self._maps + (offsets,))

    def orig(self, i: int) -> int:
        """Index of the original character that normalised character ``i`` comes from."""
        for level in reversed(self._maps):
            i = level[i]
        return i

    def origs(self, positions: list[int]) -> list[int]:
        """:meth:`orig` of many positions at once (the evidence of a post is resolved in one go)."""
        for level in reversed(self._maps):
            positions = level.lookup(positions) if isinstance(level, Runs) else [level[i] for i in positions]
        return positions

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original ``[start, end)`` covered by normalised ``[start, end)``."""
        last = end - 1
        for level in reversed(self._maps):
            start, last = level[start], level[last]
        return start, last + 1

    @property
    def offsets(self) -> list[int]:
        """Per-character original indices (tests and debugging)."""
        return [self.orig(i) for i in range(len(self.text))]


# Put between the texts of one post when they are normalised together: a (rare) letter, so it survives separator
# removal, that no lexicon term, phrase pattern (matcher rejects hits containing it) or contact pattern contains.
BOUNDARY = "\n丄\n"
BOUNDARY_CHAR = "丄"

# Characters that render as nothing; inserted between characters to break keyword filters.
INVISIBLE = "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180e\u200b\u200c\u200d\u200e\u200f" \
    "\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\u206a\u206b\u206c" \
    "\u206d\u206e\u206f\u3164\ufe00\ufe01\ufe02\ufe03\ufe04\ufe05\ufe06\ufe07\ufe08\ufe09\ufe0a\ufe0b\ufe0c" \
    "\ufe0d\ufe0e\ufe0f\ufeff\uffa0\u20e3"  # … and the keycap mark (1️⃣ = "1" + FE0F + 20E3)

# Plus signs read as 加 ("➕V" = "加V"); kept through separator removal for that reason.
PLUS_SIGNS = "+＋➕﹢⊕✚"

# Characters used as separators though they are letters (丶 丨 are CJK strokes) and look-alike glyphs.
# Strokes that cut words apart, and the bopomofo letters of 注音文 (火星文 writes "停息ㄋ分期ㄋ", "还ㄅ上": sound
# letters for particles), read as separators.
GLYPHS = {
    **dict.fromkeys("丶丨丿乀亅〡", " "), **dict.fromkeys(map(chr, range(0x3105, 0x3130)), " "), "歀": "款", "凊": "清",
}

# Digit words used to spell phone / QQ numbers; only converted inside runs (see digit_words).
DIGIT_WORDS = {
    **dict.fromkeys("零〇○Ｏ洞", "0"), **dict.fromkeys("一壹幺么", "1"), **dict.fromkeys("二贰貳两兩", "2"),
    **dict.fromkeys("三叁參", "3"), **dict.fromkeys("四肆", "4"), **dict.fromkeys("五伍", "5"),
    **dict.fromkeys("六陆陸", "6"), **dict.fromkeys("七柒拐", "7"), **dict.fromkeys("八捌", "8"),
    **dict.fromkeys("九玖勾", "9"),
}
# Negative circled / parenthesised digits NFKC leaves alone.
EXTRA_DIGITS = {**{chr(0x2776 + i): str((i + 1) % 10) for i in range(9)}, **{chr(0x2780 + i): str(i + 1) for i in range(9)},
                **{chr(0x278A + i): str(i + 1) for i in range(9)}, "⓿": "0", "⓪": "0", "❿": "10"}


def to_halfwidth(text: str) -> str:
    """NFKC per character (full-width letters/digits, circled digits …), never changing the length."""
    return "".join(_nfkc_char(c) for c in text)


def _nfkc_char(c: str) -> str:
    if c in EXTRA_DIGITS and len(EXTRA_DIGITS[c]) == 1:
        return EXTRA_DIGITS[c]
    n = unicodedata.normalize("NFKC", c)
    if len(n) == 1:
        return n
    # ⑴ → "(1)", ⒈ → "1.": keep the single letter/digit; longer expansions (⑩ → "10", ㈱) stay as they are
    # so that the text keeps one character per original character.
    core = n.strip("().")
    return core if len(core) == 1 else c


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional → simplified (OpenCC ``t2s``), character by character so the length never changes."""
    out = _t2s().convert(text)
    if len(out) == len(text):
        return out
    return "".join(_simplify_char(c) for c in text)


def _simplify_char(c: str) -> str:
    s = _t2s().convert(c)
    return s if len(s) == 1 else c


def casefold(text: str) -> str:
    """Lower case, one character per character (``İ`` and friends that would grow are left alone)."""
    return "".join(low if len(low := c.lower()) == 1 else c for c in text)


@lru_cache(maxsize=1)
def fold_table() -> dict[int, str]:
    """One ``str.translate`` table doing NFKC + traditional → simplified + case folding for every BMP character."""
    chars = [chr(i) for i in range(0x10000) if not 0xD800 <= i < 0xE000]
    half = [_nfkc_char(c) for c in chars]
    # OpenCC converts one joined string in a single call; all its t2s single-character mappings keep length,
    # and we fall back to per-character conversion if that ever changes.
    joined = "\n".join(half)
    simp = _t2s().convert(joined).split("\n")
    if len(simp) != len(half) or any(len(s) != 1 for s in simp):
        simp = [_simplify_char(h) for h in half]
    table: dict[int, str] = {}
    for c, s in zip(chars, simp):
        folded = casefold(s)
        if folded != c:
            table[ord(c)] = folded
    for c in INVISIBLE:
        table.pop(ord(c), None)
    for c, s in glyphs.japanese_forms(chars, table).items():
        table[ord(c)] = s
    table.update({ord(c): s for c, s in glyphs.latin_accents().items()})
    for glyph, target in glyphs.confusables().items():
        if ord(glyph) < 0x10000 and ord(glyph) not in table:
            table[ord(glyph)] = GLYPHS.get(target, target)
    table.update({ord(c): v for c, v in GLYPHS.items()})
    table.update(dict.fromkeys(glyphs.decoration_letters(table), " "))
    return table


@lru_cache(maxsize=1)
def _fold_re() -> re.Pattern[str]:
    # Punctuation is left alone here (full-width "，" stays): the compact view drops it anyway and the contact
    # patterns accept both widths, and not touching it keeps this substitution rare, hence cheap.
    return _char_class_re(
        k for k, v in fold_table().items() if v and (v.isalnum() or chr(k).isalnum() or k in _FULLWIDTH_SYMBOLS)
    )


# Full-width symbols inside contacts and links (ｗｗｗ．ｘｘ．ｃｏｍ, ＠handle); the punctuation of ordinary
# Chinese sentences (，！？：；（）) is left as it is.
_FULLWIDTH_SYMBOLS = frozenset(range(0xFF01, 0xFF5F)) - {ord(c) for c in "，！？：；（）"}


def _char_class_re(codepoints) -> re.Pattern[str]:
    """A regex matching one character out of ``codepoints`` (compressed into ranges)."""
    ranges: list[str] = []
    cps = sorted(codepoints)
    i = 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        a, b = re.escape(chr(cps[i])), re.escape(chr(cps[j]))
        ranges.append(a if i == j else f"{a}-{b}")
        i = j + 1
    return re.compile("[" + "".join(ranges) + "]")


INVISIBLE_SPLIT = re.compile(f"([{INVISIBLE}]+)")


def strip_invisible(m: Mapped) -> Mapped:
    """Drop zero-width and other invisible characters (征\u200b信 → 征信)."""
    parts = INVISIBLE_SPLIT.split(m.text)
    if len(parts) == 1:
        return m
    return m.derive("".join(parts[::2]), Runs(parts))


def fold_chars(m: Mapped) -> Mapped:
    """Full-width → half-width (NFKC), traditional → simplified (OpenCC), lower case: one character each."""
    table = fold_table()
    text = _fold_re().sub(lambda hit: table[ord(hit.group())], m.text)
    return m.derive(text, None)


def _digit_class() -> str:
    return "0-9" + "".join(DIGIT_WORDS)


DIGIT_RUN = re.compile(f"[{_digit_class()}](?:[ \\t\\-.·•_*/|~,，、—–]{{0,3}}[{_digit_class()}]){{4,}}")
DIGIT_TABLE = str.maketrans(DIGIT_WORDS)


def digit_words(m: Mapped) -> Mapped:
    """Digit words inside number-like runs (``幺三八 壹贰叁肆…``) → digits; a lone 一 or 三 in prose stays."""
    text = m.text
    if not DIGIT_RUN.search(text):
        return m
    parts: list[str] = []
    last = 0
    for run in DIGIT_RUN.finditer(text):
        s, e = run.span()
        chunk = text[s:e]
        if sum(ch.isdigit() or ch in DIGIT_WORDS for ch in chunk) < 5:
            continue
        parts.append(text[last:s])
        parts.append(chunk.translate(DIGIT_TABLE))
        last = e
    parts.append(text[last:])
    return m.derive("".join(parts), None)  # one digit per digit word: positions unchanged


PLUS_TABLE = str.maketrans({p: "加" for p in PLUS_SIGNS})
# Runs of anything but letters and digits: spaces, punctuation, symbols, emoji, marks, "_" separate.
SEPARATORS = re.compile(r"([\W_]+)")
PLUS_RE = re.compile(f"[{re.escape(PLUS_SIGNS)}]")


def strip_separators(m: Mapped) -> Mapped:
    """Remove spaces, punctuation, symbols and emoji, so ``债 务 优 化`` / ``征*信`` / ``停💰息`` read as words."""
    text = m.text
    # "+" and "➕" are read as 加 ("➕V" = "加V"), so they become a kept character first (1:1).
    if PLUS_RE.search(text):
        text = text.translate(PLUS_TABLE)
    parts = SEPARATORS.split(text)
    if len(parts) == 1:
        return m.derive(text, None)
    return m.derive("".join(parts[::2]), Runs(parts))


# Known aliases, matched in the compact (separator-free, lower-case) text. Latin ones must not be part of a
# longer latin word ("zxing", "vxworks" stay), which the look-arounds ensure.
ALIASES: dict[str, str] = {
    "zx": "征信", "征x": "征信", "徵信": "征信", "正信": "征信", "证信": "征信", "征亻言": "征信",
    "vx": "微信", "wx": "微信", "v信": "微信", "威信": "微信", "薇信": "微信", "微x": "微信", "weixin": "微信",
    "薇": "微信", "v": "微信", "威": "微信",
    "扣扣": "qq", "企鹅号": "qq", "qq号": "qq",
}
# What follows 征信 when people talk about their credit record.
_CREDIT_NEXT = "修|洗|花|黑|白|烂|报告|记录|异议|逾期|有|不好|不行|查询|优化|问题|处理|养护|中心|上"
# Single-character aliases are too common to replace everywhere (蔷薇, 威力, "v" in "vip"): only after 加.
_ALIAS_CONTEXT: dict[str, str] = {
    "薇": "薇(?<=加薇)", "v": "v(?<=加v)(?![a-z])", "威": "威(?<=加威)(?!力|胁|风|望|尼斯|士忌|海)",
    # 正信/证信 are ordinary words (公正信息, 保证信用): alias only before credit-record words.
    "正信": f"正信(?={_CREDIT_NEXT})",
    # 征xin / 征xing is pinyin mixed in (the phonetic matcher reads it), not the alias 征x.
    "征x": "征x(?![a-z])",
    "证信": f"证信(?={_CREDIT_NEXT})",
}


def _alias_re() -> re.Pattern[str]:
    alts = []
    # Every alternative starts with its literal (look-behinds come after it) so the regex engine can skip
    # ahead to candidate characters instead of trying each alternative at every position.
    for alias in sorted(ALIASES, key=len, reverse=True):
        a = re.escape(alias)
        if alias in _ALIAS_CONTEXT:
            alts.append(_ALIAS_CONTEXT[alias])
        elif alias.isascii():
            alts.append(f"{a}(?<![a-z]{a})(?![a-z])")
        else:
            alts.append(a)
    return re.compile("|".join(alts))


ALIAS_RE = _alias_re()


def _sub_mapped(m: Mapped, pattern: re.Pattern[str], repl: Callable[[re.Match[str]], str]) -> Mapped:
    """``pattern.sub`` that keeps the map: a same-length replacement maps 1:1, any other to its first character."""
    return _replace_spans(m, [(*hit.span(), repl(hit)) for hit in pattern.finditer(m.text)])


def _replace_spans(m: Mapped, spans: list[tuple[int, int, str]]) -> Mapped:
    """Each (start, end) span of ``m`` (in order, not overlapping) replaced, the map kept as :func:`_sub_mapped`."""
    text = m.text
    parts: list[str] = []
    offsets: Offsets = []
    last = 0
    for s, e, new in spans:
        parts.append(text[last:s])
        offsets.extend(range(last, s))
        parts.append(new)
        offsets.extend(range(s, e) if len(new) == e - s else [s] * len(new))
        last = e
    parts.append(text[last:])
    offsets.extend(range(last, len(text)))
    return m.derive("".join(parts), offsets)


def apply_aliases(m: Mapped) -> Mapped:
    """Spell out known aliases: zx/征x/正信 → 征信, vx/v信/威信/加薇/加V → 微信, 扣扣 → qq."""
    if not ALIAS_RE.search(m.text):
        return m
    return _sub_mapped(m, ALIAS_RE, lambda hit: ALIASES.get(hit.group(), hit.group()))


@lru_cache(maxsize=1)
def _light_tells() -> re.Pattern[str]:
    """Any character :func:`strip_invisible` or :func:`fold_chars` would touch."""
    return re.compile(_fold_re().pattern[:-1] + INVISIBLE + "]")


ASTRAL = re.compile("[\U00010000-\U0010FFFF]")


@lru_cache(maxsize=4096)
def _astral_char(c: str) -> str:
    """Styled letters and digits outside the BMP (𝐀 𝟏 🅰 🄰 🇦 …) → plain lower-case ones; others unchanged."""
    cp = ord(c)
    for base in (0x1F150, 0x1F170, 0x1F130, 0x1F1E6):  # negative circled / negative squared / squared / regional
        if base <= cp < base + 26:
            return chr(ord("a") + cp - base)
    n = unicodedata.normalize("NFKC", c)
    if len(n) == 1 and n.isascii() and n.isalnum():
        return n.lower()
    return glyphs.confusables().get(c, c)


def fold_astral(m: Mapped) -> Mapped:
    """One character each: styled mathematical / enclosed letters and digits (NFKC and the emoji letter blocks)."""
    return m.derive(ASTRAL.sub(lambda hit: _astral_char(hit.group()), m.text), None)


# Digit words glued to an id ("zhang三五六七", "abc幺二三"): digits there, however few.
ID_DIGIT_WORDS = re.compile("[{0}](?<=[a-z0-9_]{{3}}[{0}])[{0}]+".format("".join(DIGIT_WORDS)))  # class first: fast


def light_view(text: str) -> Mapped:
    """Folded text that keeps spaces and punctuation (for contacts)."""
    m = Mapped.of(text)
    if glyphs.ZHUYIN.search(text):  # before the fold, which reads a lone bopomofo letter as a separator
        m = _replace_spans(m, glyphs.zhuyin_spans(text))
        text = m.text
    # One scan spares most texts (nothing invisible, nothing to fold) the two steps' own scans.
    if _light_tells().search(text):
        m = fold_chars(strip_invisible(m))
    if ASTRAL.search(m.text):
        m = fold_astral(m)
    m = digit_words(m)
    if ID_DIGIT_WORDS.search(m.text):
        m = m.derive(ID_DIGIT_WORDS.sub(lambda hit: hit.group().translate(DIGIT_TABLE), m.text), None)
    return m


def compact_view(light: Mapped) -> Mapped:
    """Letters and digits only, 火星文 read (:mod:`glyphs`), aliases spelled out (for lexicon terms)."""
    m = strip_separators(light)
    if glyphs.split_tells().search(m.text):
        m = _replace_spans(m, glyphs.split_spans(m.text))
    return apply_aliases(m)


def normalize(text: str) -> str:
    """The compact normalised form of ``text`` (what lexicon terms are matched against)."""
    return compact_view(light_view(text)).text
