"""Contacts: WeChat ids, QQ numbers, phone numbers, URLs / short links, Telegram handles.

Read from the *light* view of a text (folded, digit words already digits, spaces kept), each normalised to one
``value`` so the same contact written two ways (``VX：Abc_123`` / ``薇 abc_123``; ``138-0013-8000`` /
``幺三八 零零幺三 八零零零``) is one value. ``raw`` quotes the original text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from pipelines.detection.normalize import Mapped, Runs
from pipelines.detection.phonetic import split_pinyin
from pipelines.detection.scan import Scanner

_SEP = r"[\s\-.·•*/|~_,，、—–]{0,3}"  # what people put between the digits of a number
_COLON = (
    r"\s*(?:号?是|一下|号|号码|id|搜|搜索|了解|咨询|详聊|(?:联系|找|加)(?:我们|他们|她们|我|他|她)?|备注)?\s*[:：=]?"
    r"\s*[+＋➕]?\s*"
)

PHONE = re.compile(rf"(?<![0-9])(?:\+?86{_SEP})?(1{_SEP}[3-9](?:{_SEP}[0-9]){{9}})(?![0-9])")
HOTLINE = re.compile(rf"(?<![0-9])((?:400|800)(?:{_SEP}[0-9]){{7}}|0[1-9][0-9]{{1,2}}{_SEP}[2-9](?:{_SEP}[0-9]){{6,7}})(?![0-9])")
# What stands for "WeChat": the word and its look-alikes (徽信, 威信, 薇心), v / vx / wx, a heart or an id
# badge before a colon, and the slang of the trade (卫星 / 🛰 "satellite", 小绿泡泡 "little green bubble").
_WECHAT_LABEL = (
    r"(?:[微威薇]\s?xin(?![a-z])|微信号?|威信|薇信|薇心|徽信号?|威亻言|v信|(?:v\s?[芯心欣鑫]|[微威薇徽]\s?[芯欣鑫])(?=\s*[:：❤])|(?<![a-z])(?:vx|wx|wechat|wei\s?xin|[vw]\s[x×](?![a-z]))|薇|徽"
    r"|(?<=加)[微威](?!信)|(?<=[加+＋➕])v|(?<![a-z0-9])v(?=\s*(?:一下|我)?\s*[:：❤]|\s+[a-z])|[微威](?=\s*[:：❤]|\s+[a-z])"
    r"|卫星|🛰|小绿泡泡搜?|🆔|📮|v我(?=\s+[a-z])|加我(?=\s*[:：])|jia(?<![a-z]jia)\s?(?:wei|v)(?=\s*[:：])"
    r"|wei(?<![a-z]wei)(?=\s*[:：]))[❤💚]?"
)
# An id may be cut by single spaces where a poster or a line break cut it ("xb77 55", "huiqian_ 2 0 2 5",
# "jia ren an quan0 1"): the pieces are read on and joined by :func:`_joined`.
_ID = r"([a-z][a-z0-9_-]*(?: [a-z0-9_-]+)*)"
WECHAT = re.compile(_WECHAT_LABEL + _COLON + _ID)
# "加 / 添加 / 联系 / 合作 / ➕ / 备注…：" and an id: taken as a WeChat id only when it holds a digit or an
# underscore (a word after 加 is not an id).
ADD_LABEL = re.compile(
    r"(?:(?:contact(?<![a-z]contact)|add(?<![a-z]add))(?:\s?(?:me|us))?|添加|合作|洽询|咨询|联系方式|联系|滴滴"
    r"|加(?<![0-9a-z]加)|[+＋➕])"
    r"(?:我们|他们|她们|我|他|她|客服|老师|方式)?(?:前?备注[^:：\n]{0,12})?[❤💚]?\s*[:：=]?\s*"
    r"(?!(?:qq|q|vx|wx|v|tg|wechat|weixin)(?![a-z]))(?=[a-z][a-z0-9_-]*[0-9_])" + _ID
)
# An id spelled out one character at a time after a WeChat label: c-u-i-s-h-o-u, h.u.z.h.u.9.9, z x 6 6 8 8.
WECHAT_SPELLED = re.compile(
    _WECHAT_LABEL + _COLON + r"((?:[a-z0-9_][\s.\-一·]){4,19}[a-z0-9_])(?![a-z0-9_])"
)
QQ = re.compile(
    r"(?:(?<![a-z])q\s?q|[扣抠叩蔻寇]\s?[扣抠叩蔻寇]|企鹅号?|球球|🐧|(?<=[加+＋➕])[q扣]|扣(?=\s*[:：]\s*[1-9](?:[\s\-]?[0-9]){5,11}(?![0-9元块万]))|(?<![a-z0-9])q(?=[群号]?\s*[:：]?\s*[1-9]))[群号]?"
    + _COLON + r"([1-9](?:[\s\-.·•/]?[0-9]){4,11})(?![0-9])"
)
TELEGRAM = re.compile(
    r"(?<![a-z0-9.])(?:https?://)?(?:t|telegram)\.me/([a-z0-9_]{4,32})"
    r"|(?:(?<![a-z])(?:telegram|tele|tg)|电报|纸飞机|飞机|✈\ufe0f?)" + _COLON + r"@?\s?([a-z][a-z0-9_]{4,31})(?![a-z0-9_])"
)
_TLDS = "com|cn|net|org|cc|top|xyz|vip|me|ly|im|io|info|co|tk|shop|site|link|club|ink|fun|wang|ltd|pro|app"
URL = re.compile(
    rf"(?<![@a-z0-9.\-])((?:https?://)?(?:[a-z0-9-]+\.)+(?:{_TLDS})(?::[0-9]{{2,5}})?)(?![a-z0-9-])"
    r"(/[a-z0-9\-._~/?=&%#+]*)?"
)
_NOT_URL_HOSTS = ("t.me", "telegram.me")
# Characters some contact pattern needs (the first characters of its hint): one findall tells which patterns
# can match at all, and most texts hold no contact.
DIGITS, WECHAT_TELLS, QQ_TELLS, TELEGRAM_TELLS = (frozenset(t) for t in ("0123456789", "微威薇徽卫小加vw🛰🆔📮", "q扣抠叩蔻寇企球🐧", "t电飞✈"))
ADD_TELLS = frozenset("加添合洽咨联滴+＋➕")  # and the words "add", "contact"
TELLS = re.compile("[" + re.escape("".join(DIGITS | WECHAT_TELLS | QQ_TELLS | TELEGRAM_TELLS | ADD_TELLS) + ".") + "]")
# Ten digits, at most three characters apart: every phone and hotline number has them (a hint, as below, that
# spares texts with only short numbers — "7天", "2024年" — the two slow patterns).
PHONE_HINT = re.compile(r"[0-9](?:[^0-9]{0,3}[0-9]){9}")
# The patterns above begin with lookbehinds and alternations the regex engine tries at every position: each is
# tried only where one of the characters its matches begin with is (same matches, in order).
SCANS = {name: Scanner(rx) for name, rx in (
    ("PHONE", PHONE), ("HOTLINE", HOTLINE), ("WECHAT", WECHAT), ("WECHAT_SPELLED", WECHAT_SPELLED),
    ("ADD_LABEL", ADD_LABEL), ("QQ", QQ), ("TELEGRAM", TELEGRAM),
)}
ASCII_ALNUM = re.compile("[a-z0-9]")
LETTER = re.compile("[a-z]")
QQ_HINT = re.compile(r"q|[扣抠叩蔻寇]|企鹅|球球|🐧")
TELEGRAM_HINT = re.compile(r"t\.me|telegram|tele|tg|电报|飞机|✈")



@dataclass(frozen=True, slots=True)
class Contact:
    kind: str  # wechat | qq | phone | telegram | url
    value: str
    raw: str
    source: str
    start: int = 0  # offset of raw in the text it was found in

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "value": self.value, "raw": self.raw, "source": self.source}


def _digits(s: str) -> str:
    return "".join(c for c in s if c.isdigit())


def find_contacts(light: Mapped, original: str, source: str) -> list[Contact]:
    """Every contact in one text (``light`` is its light view, ``original`` the text as posted).

    Read twice when the text cuts characters apart (``微✨信✨q✨c``, one character per line) or holds numbers
    an OCR engine misread (``18O 6221``): once as it is, once from its :func:`tidy_view`; an id found whole
    there replaces the piece of it found in the text as it is."""
    if ASCII_ALNUM.search(light.text) is None:  # every contact holds latin letters or digits
        return []
    found = _find(light, original, source)
    tidy = tidy_view(light)
    if tidy is not None:
        more = _find(tidy, original, source)
        longer = {(c.kind, c.value) for c in more}
        found = [c for c in found if not any(k == c.kind and v != c.value and v.startswith(c.value) for k, v in longer)]
        found += [c for c in more if (c.kind, c.value) not in {(f.kind, f.value) for f in found}]
    return found


def _find(light: Mapped, original: str, source: str) -> list[Contact]:
    text = light.text
    found: list[Contact] = []

    def add(kind: str, value: str, start: int, end: int) -> None:
        s, e = light.span(start, end)
        found.append(Contact(kind, value, original[s:e], source, s))

    tells = set(TELLS.findall(text))
    has_digits = not tells.isdisjoint(DIGITS)
    if has_digits and PHONE_HINT.search(text):
        for m in SCANS["PHONE"].finditer(text):
            add("phone", _digits(m.group(1)), m.start(), m.end())
        for m in SCANS["HOTLINE"].finditer(text):
            add("phone", _digits(m.group(1)), m.start(), m.end())
    # A WeChat id starts with a latin letter: a text without any is spared the WeChat patterns.
    letters = (not tells.isdisjoint(WECHAT_TELLS) or not tells.isdisjoint(ADD_TELLS)) and LETTER.search(text) is not None
    if letters and not tells.isdisjoint(WECHAT_TELLS):
        for m in SCANS["WECHAT"].finditer(text):
            value, end = _joined(m, SHORT_ID)
            if value:
                add("wechat", value, m.start(), end)
        for m in SCANS["WECHAT_SPELLED"].finditer(text):
            value = re.sub(r"[\s.\-一·]", "", m.group(1))
            if value[0].isalpha() and (6 <= len(value) <= 20 or SHORT_ID.fullmatch(value)):
                # The same id read as written (``l-o-a-n-9-9``) is this one cut apart: keep only the joined one.
                found[:] = [c for c in found if c.kind != "wechat" or c.value.replace("-", "") != value]
                add("wechat", value, m.start(), m.end())
    if (letters and not tells.isdisjoint(ADD_TELLS)) or "add" in text or "contact" in text:
        taken = {c.value for c in found}
        for m in SCANS["ADD_LABEL"].finditer(text):
            value, end = _joined(m)
            if value and not any(value in t or t in value for t in taken):
                add("wechat", value, m.start(), end)
    if has_digits and not tells.isdisjoint(QQ_TELLS) and QQ_HINT.search(text):
        for m in SCANS["QQ"].finditer(text):
            add("qq", _digits(m.group(1)), m.start(), m.end())
    if not tells.isdisjoint(TELEGRAM_TELLS) and TELEGRAM_HINT.search(text):
        for m in SCANS["TELEGRAM"].finditer(text):
            add("telegram", "@" + (m.group(1) or m.group(2)), m.start(), m.end())
    if "." in tells:
        for m in URL.finditer(text):
            value = _url_value(m, light, original)
            if value:
                add("url", value, m.start(), m.end())
    return found


# After a WeChat label itself (微 / 薇 / V：), five characters with a digit or an underscore are an id too
# (dk168, tc888: outfits shorten ids on posters), though WeChat asks for six.
SHORT_ID = re.compile(r"(?=[a-z][a-z0-9_-]{4}$)[a-z-]*[0-9_][a-z0-9_-]*")


def _joined(m: re.Match[str], short: re.Pattern[str] | None = None) -> tuple[str | None, int]:
    """The id a label is followed by, its pieces joined where they belong together (a piece that starts with a
    digit or an underscore, a piece after an underscore, pinyin syllables of one name), and where it ends;
    ``short``: what a five-character id must look like to count (None: no five-character id alone)."""
    pieces = m.group(1).split(" ")
    value = pieces[0]
    spoken = _is_pinyin(value)
    end = m.start(1) + len(value)
    for piece in pieces[1:] if len(value) > 1 else ():
        if not (piece[0] in "0123456789_-" or value[-1] in "_-" or (spoken and _is_pinyin(piece))):
            break
        value += piece
        end += 1 + len(piece)
    if len(value) > 20 or len(value) < (6 if value == pieces[0] and not (short and short.fullmatch(value)) else 5):
        return None, end
    return value, end


def _is_pinyin(piece: str) -> bool:
    letters = piece.rstrip("0123456789_-")
    return bool(letters) and letters.isalpha() and split_pinyin(letters) is not None


# Runs of single characters cut by anything but a letter or a digit (征 信, 止|催, 微✨信✨q✨c, 4✂0✂6), and runs of
# short lines (one word per line): the contact patterns read them joined.
SPACED_RUN = re.compile(r"(?<!\w)\w(?:[^\w\n]{1,3}\w){4,}(?!\w)")
LINE_RUN = re.compile(r"(?:^|(?<=\n))[^\n]{1,7}(?:\n[^\n]{1,7}){4,}")
_KEEP = frozenset("@:：+＋➕_")
_ASCII_PAIR = re.compile(r"[a-z0-9](?:[^a-z0-9]*[a-z0-9]){4}")  # an id or a number has five or more
# Digits an OCR engine reads as letters inside a number (18O 6221, i36, 2O8l734965): at least two real digits.
OCR_DIGITS = re.compile(r"(?<![a-z0-9_])(?=[oil]*[0-9][oil]*[0-9])(?=[0-9]*[oil])[0-9oil]{3,}(?![a-z_])")
_OCR_TABLE = str.maketrans("oil", "011")
# Cheap first looks (a class first: the engine skips to candidates) before the patterns above.
# (A digit next to an o / i / l, written to start with a class: the engine then skips to candidate characters.)
OCR_HINT = re.compile(r"[0-9oil](?:(?<=[0-9])[oil]|(?<=[oil])[0-9])")
SPACED_HINT = re.compile(r"[a-z0-9][^\w\n]{1,3}[a-z0-9][^\w\n]{1,3}[a-z0-9]")


def tidy_view(light: Mapped) -> Mapped | None:
    """The light view with misread digits restored and cut-apart runs joined, or None when it has neither."""
    text = light.text
    fixed = OCR_HINT.search(text) is not None and OCR_DIGITS.search(text) is not None
    if fixed:
        light = light.derive(OCR_DIGITS.sub(lambda hit: hit.group().translate(_OCR_TABLE), text), None)
        text = light.text
    # Only runs with five latin letters or digits or more can hold a contact ("征 信 修 复", "第 3 0 天" cannot).
    spaced = [r.span() for r in SPACED_RUN.finditer(text) if _ASCII_PAIR.search(r.group())] if SPACED_HINT.search(text) else []
    lines = [r.span() for r in LINE_RUN.finditer(text) if _ASCII_PAIR.search(r.group())] if _short_lines(text) else []
    if not (spaced or lines):
        return light if fixed else None
    cut = [False] * len(text)
    for start, end in spaced:
        for i in range(start, end):
            cut[i] = not text[i].isalnum() and text[i] not in _KEEP
    for start, end in lines:
        for i in range(start, end):
            cut[i] = cut[i] or text[i].isspace()
    if not any(cut):
        return light if fixed else None
    parts: list[str] = []
    start = 0
    for i in range(1, len(text) + 1):
        if i == len(text) or cut[i] != cut[start]:
            if not parts and cut[start]:
                parts.append("")
            parts.append(text[start:i])
            start = i
    if len(parts) % 2 == 0:
        parts.append("")
    return light.derive("".join(parts[::2]), Runs(parts))


def _short_lines(text: str) -> bool:
    """Whether :data:`LINE_RUN` can match: four whole lines of one to seven characters, then a line not empty
    (texts joined by the boundary have lines enough, rarely short ones)."""
    if text.count("\n") < 4:
        return False
    run = 0
    for line in text.split("\n"):
        if run >= 4 and line:
            return True
        run = run + 1 if 0 < len(line) <= 7 else 0
    return False


def _url_value(m: re.Match[str], light: Mapped, original: str) -> str | None:
    host = re.sub(r"^https?://", "", m.group(1))
    host = host[4:] if host.startswith("www.") else host
    if host in _NOT_URL_HOSTS or host.split(":")[0].replace(".", "").isdigit():
        return None
    path = ""
    if m.group(2):
        # Short-link paths are case-sensitive (t.cn/A6x…): take them from the original, only width-folded.
        s, e = light.span(m.start(2), m.end(2))
        path = unicodedata.normalize("NFKC", original[s:e]).rstrip("/.")
    return host + path


def merge_contacts(contacts: list[Contact]) -> list[Contact]:
    """One entry per (kind, value), first occurrence kept."""
    seen: set[tuple[str, str]] = set()
    out: list[Contact] = []
    for c in contacts:
        if (c.kind, c.value) not in seen:
            seen.add((c.kind, c.value))
            out.append(c)
    return out
