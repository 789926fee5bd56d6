"""Scraped text made safe to show and to file: no control characters, invisible format characters made visible.

Two steps, one per place text passes through:

* :func:`clean_text` — where scraped text enters adwatch (the normalise stage). C0/C1 control characters are
  dropped (``\\n`` and ``\\t`` stay; CR, VT, FF and the other line separators become ``\\n`` so words stay
  apart), and lone surrogates (``"\\ud800"`` in a JSON payload) become U+FFFD, which every encoder accepts.
  NUL bytes otherwise make a report binary to many tools. The platform's payload is archived untouched
  (``raw_ref``), so the record keeps what was posted.
* :func:`display_text` — every output (takedown reports, the desk, exports) passes scraped text through it. On top
  of :func:`clean_text`, bidi controls and other invisible format characters (Unicode category Cf: U+200B..U+200F,
  U+202A..U+202E, U+2066..U+2069, U+FEFF …, plus a few blank fillers) are shown as marks such as ``⟨U+202E⟩``:
  a right-to-left override can make evidence read differently from what was posted (a reversed URL or contact),
  and a zero-width space splitting a keyword is itself evidence of evasion. A zero-width joiner inside an emoji
  sequence (👨‍👩‍👧) and the tag characters of a subdivision flag (🏴󠁧󠁢󠁳󠁣󠁴󠁿) are left alone.

Filed text keeps its format characters: the detector ignores them (``pipelines.detection.normalize``), and they
are shown, never hidden, wherever text is displayed.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TypeVar

from markupsafe import Markup

# Line separators among the controls (what ``str.splitlines`` breaks at): kept as a line break.
_LINE_BREAKS = re.compile("\r\n|[\r\x0b\x0c\x1c\x1d\x1e\x85]")
# Every other C0/C1 control and DEL, except tab and newline; lone surrogates.
_CONTROLS = re.compile("[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f]")
_SURROGATES = re.compile("[\ud800-\udfff]")

# Unicode category Cf (format characters) as of Unicode 15, plus blank fillers that render as nothing
# (U+034F, U+115F, U+1160, U+17B4, U+17B5, U+3164, U+FFA0). tests/test_textsafe.py checks the Cf part against
# the running Python's ``unicodedata``, so a newer Unicode version cannot slip a format character past.
FORMAT_RANGES = (
    "\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u115f\u1160\u17b4\u17b5\u180e"
    "\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\u3164\ufeff\uffa0\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f"
)
_FORMAT = re.compile(f"[{FORMAT_RANGES}]")
_ZWJ = "\u200d"
_BLACK_FLAG = "\U0001f3f4"
_TAGS = range(0xE0020, 0xE0080)

T = TypeVar("T")


def clean_text(text: str) -> str:
    """``text`` without control characters (tab and newline kept, line separators as ``\\n``) or lone surrogates.

    What every displayed or filed text gets where scraped text enters adwatch; format characters stay.
    """
    if not text:
        return text
    text = _LINE_BREAKS.sub("\n", text)
    text = _CONTROLS.sub("", text)
    return _SURROGATES.sub("\ufffd", text)


def mark(char: str) -> str:
    """The visible stand-in of an invisible character: ``⟨U+202E⟩``."""
    return f"⟨U+{ord(char):04X}⟩"


def _emoji(char: str) -> bool:
    """Part of an emoji sequence: a pictograph (So), a skin-tone modifier (Sk) or the emoji variation selector."""
    return unicodedata.category(char) in ("So", "Sk") or char == "\ufe0f"


def _in_emoji(text: str, i: int) -> bool:
    """Whether the format character at ``text[i]`` is a working part of an emoji (ZWJ sequence, flag tags)."""
    char = text[i]
    if char == _ZWJ:
        return 0 < i < len(text) - 1 and _emoji(text[i - 1]) and _emoji(text[i + 1])
    if ord(char) in _TAGS:
        j = i
        while j > 0 and ord(text[j - 1]) in _TAGS:
            j -= 1
        return j > 0 and text[j - 1] == _BLACK_FLAG
    return False


def search_text(text: str) -> str:
    """``text`` without its format characters: what a search index holds, so an invisible character inside a word
    (an evasion) does not split it for the tokenizer."""
    return _FORMAT.sub("", text) if text else text


def display_text(value: T) -> T:
    """Scraped text as every output shows it: :func:`clean_text`, then format characters as ``⟨U+XXXX⟩`` marks.

    Anything that is not a string passes through unchanged, so this can finalise every template expression;
    ``Markup`` stays ``Markup`` (the marks contain nothing to escape, and dropping characters adds no markup).
    """
    if not isinstance(value, str) or not value:
        return value
    text = clean_text(str(value))
    if _FORMAT.search(text):
        text = _FORMAT.sub(lambda m: m.group() if _in_emoji(m.string, m.start()) else mark(m.group()), text)
    return Markup(text) if isinstance(value, Markup) else text  # type: ignore[return-value]

