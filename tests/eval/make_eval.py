"""Build the derived parts of the labelled evaluation set (run by hand; the output is committed and reviewed).

    .venv/bin/python -m tests.eval.make_eval [--seeds ../shared/seeds]

* ``seed_sentences.yaml``: sentences of the seed news articles that talk about the services (hard negatives),
  plus the whole articles.
* ``variants.yaml``: the hand-written ads and negatives rewritten the way evaders write them — one evasion family
  per variant (spaces / symbols / emoji / zero-width characters between the characters of the words filters
  look for, full-width, traditional characters, aliases, homophones and pinyin initials, contact numbers in
  digit words, the pitch only in an image / cover / video frames, a "虚构演绎" disclaimer). The rewriting knows
  nothing about the detector's lexicon: it works on a fixed list of the words such filters are known to catch.
"""

from __future__ import annotations

import argparse
import random
import re
from pathlib import Path
from typing import Any, Callable

import opencc
import yaml

HERE = Path(__file__).resolve().parent

# Words evaders break up or disguise (what a moderator's keyword list would hold), longest first.
SENSITIVE = sorted(
    "征信 修复 洗白 债务 优化 停息 挂账 协商 还款 催收 逾期 减免 上岸 维权 投诉 退费 退保 网贷 下款 黑户 口子 微信 私信 "
    "分期 代理 息费 起诉 铲单 罚息 通讯录 砍头息 征信修复 停息挂账 协商还款 债务优化".split(),
    key=len,
    reverse=True,
)
SYMBOLS = ["*", "·", "-", "|", "/", ".", "_", "~", "丶", "、", "^", "#"]
EMOJI = ["💰", "🔥", "✨", "❤️", "👉", "💳", "🌟", "😊", "🚢", "⭐", "🙏", "‼️", "🈶", "📢", "💯"]
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]
# Aliases and homophones seen in ad copy (public reporting, moderation guides).
ALIASES = {
    "加微信": ["加V", "➕V", "+vx", "加薇", "加VX", "➕薇"],
    "微信": ["V", "VX", "v信", "薇", "威信", "wx"],
    "征信": ["zx", "ZX", "征x", "正信"],
    "QQ": ["扣扣", "企鹅"],
}
HOMOPHONES = {
    "征信修复": ["zxxf", "征信修护", "正信修复", "ZX修复"],
    "停息挂账": ["停息挂帐", "txgz", "停息guà账", "亭息挂账"],
    "协商还款": ["xshk", "协商还歀", "谐商还款"],
    "债务优化": ["zwyh", "债勿优化", "寨务优化"],
    "反催收": ["fcs", "反崔收"],
    "催收": ["崔收", "催shou"],
    "逾期": ["鱼期", "yu期"],
    "网贷": ["网代", "网dai"],
    "信用卡": ["xyk", "信用k"],
    "洗白": ["洗b", "xb"],
    "上岸": ["上按", "上an"],
    "减免": ["减mian", "剪免"],
    "下款": ["下kuan", "下歀"],
    "退保": ["tui保", "退宝"],
    "代理维权": ["代理wq", "代理唯权"],
}
DIGITS = {
    "caps": dict(zip("0123456789", "零壹贰叁肆伍陆柒捌玖")),
    "words": dict(zip("0123456789", "零一二三四五六七八九")),
    "yao": dict(zip("0123456789", "洞幺两三四五六拐八勾")),
    "circled": dict(zip("0123456789", "⓪①②③④⑤⑥⑦⑧⑨")),
}
CAPTIONS = ["有需要的朋友看图 👇", "分享给需要的人", "懂的都懂", "看图", "#负债 #逾期", "今天的分享", "🙏🙏🙏", "收藏起来慢慢看"]
NEG_CAPTIONS = ["转发提醒身边的人", "看完这张图你就明白了", "#反诈 #防骗", "一图读懂", "转给家里人看看", "今日提醒"]
DISCLAIMERS = ["（本视频为虚构演绎，仅供娱乐）", "剧情纯属虚构，请勿模仿。", "以上内容仅供参考，不构成任何建议。",
               "本内容为情景演绎。", "虚构演绎，仅供娱乐"]


def _join_words(text: str, rng: random.Random, glue: Callable[[], str], share: float = 0.8) -> str:
    pattern = re.compile("|".join(map(re.escape, SENSITIVE)))

    def split(m: re.Match[str]) -> str:
        if rng.random() > share:
            return m.group()
        chars = list(m.group())
        return chars[0] + "".join(glue() + c for c in chars[1:])

    return pattern.sub(split, text)


def split(text: str, rng: random.Random) -> str:
    return _join_words(text, rng, lambda: rng.choice([" ", " ", "  ", "\u3000"]))


def symbols(text: str, rng: random.Random) -> str:
    return _join_words(text, rng, lambda: rng.choice(SYMBOLS))


def emoji(text: str, rng: random.Random) -> str:
    return _join_words(text, rng, lambda: rng.choice(EMOJI))


def zero_width(text: str, rng: random.Random) -> str:
    return _join_words(text, rng, lambda: rng.choice(ZERO_WIDTH), share=1.0)


def fullwidth(text: str, rng: random.Random) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else ("\u3000" if c == " " else c) for c in text)


_S2T = {name: opencc.OpenCC(name) for name in ("s2t", "s2tw", "s2hk")}


def traditional(text: str, rng: random.Random) -> str:
    return _S2T[rng.choice(sorted(_S2T))].convert(text)


def _replace_table(text: str, rng: random.Random, table: dict[str, list[str]]) -> str:
    keys = sorted(table, key=len, reverse=True)
    pattern = re.compile("|".join(map(re.escape, keys)), re.IGNORECASE)
    return pattern.sub(lambda m: rng.choice(table.get(m.group(), table.get(m.group().upper(), [m.group()]))), text)


def alias(text: str, rng: random.Random) -> str:
    return _replace_table(text, rng, ALIASES)


def homophone(text: str, rng: random.Random) -> str:
    return _replace_table(text, rng, HOMOPHONES)


_NUMBER = re.compile(r"(?<![0-9A-Za-z_])[0-9][0-9\-]{4,}[0-9](?![0-9A-Za-z_])")


def digit_words(text: str, rng: random.Random) -> str:
    def spell(m: re.Match[str]) -> str:
        style = DIGITS[rng.choice(sorted(DIGITS))]
        digits = [style.get(c, c) if rng.random() < 0.9 else c for c in m.group() if c.isdigit()]
        groups = [digits[:3], digits[3:7], digits[7:]] if len(digits) == 11 else [digits]
        sep = rng.choice(["", " ", "-"])
        return sep.join("".join(g) for g in groups if g)

    return _NUMBER.sub(spell, text)


def _ocr_lines(text: str, rng: random.Random) -> str:
    # OCR returns a poster's text line by line; punctuation is often lost.
    parts = [p for p in re.split(r"[，。！？、,!?\n]+", text) if p.strip()]
    return "\n".join(p.replace("：", " ").strip() for p in parts)


def image_only(item: dict[str, Any], rng: random.Random, source: str = "image:0") -> dict[str, Any]:
    captions = CAPTIONS if item["label"] == "ad" else NEG_CAPTIONS
    return {"sources": [["text", rng.choice(captions)], [source, _ocr_lines(item["text"], rng)]]}


def cover_only(item: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    return image_only(item, rng, "cover")


def frames_only(item: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    lines = _ocr_lines(item["text"], rng).split("\n")
    n = max(1, min(4, len(lines)))
    chunks = [lines[k * len(lines) // n : (k + 1) * len(lines) // n] for k in range(n)]
    captions = CAPTIONS if item["label"] == "ad" else NEG_CAPTIONS
    sources = [["text", rng.choice(captions)]]
    for k, chunk in enumerate(chunks):
        if chunk:
            sources.append([f"frame:{1.5 * k + 1.0:.1f}", " ".join(chunk)])
    return {"sources": sources}


def disclaimer(text: str, rng: random.Random) -> str:
    d = rng.choice(DISCLAIMERS)
    return f"{d}\n{text}" if rng.random() < 0.5 else f"{text}\n{d}"


TEXT_FAMILIES: dict[str, Callable[[str, random.Random], str]] = {
    "split": split, "symbols": symbols, "emoji": emoji, "zero_width": zero_width, "fullwidth": fullwidth,
    "traditional": traditional, "alias": alias, "homophone": homophone, "digit_words": digit_words,
    "disclaimer": disclaimer,
}
SOURCE_FAMILIES: dict[str, Callable[[dict[str, Any], random.Random], dict[str, Any]]] = {
    "image_only": image_only, "cover_only": cover_only, "frames_only": frames_only,
}
ADS_PER_FAMILY = 45
NEGATIVES_PER_FAMILY = 25


def load_base() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    ads = [{**a, "label": "ad", "family": "plain", "id": f"ad-{i:03d}"} for i, a in enumerate(_read("ads.yaml"))]
    negs = [{**n, "label": "negative", "family": "plain", "id": f"neg-{i:03d}"} for i, n in enumerate(_read("negatives.yaml"))]
    negs += [{**n, "label": "negative", "family": "plain"} for n in _read("seed_sentences.yaml")]
    return ads, negs


def _read(name: str) -> list[dict[str, Any]]:
    return yaml.safe_load((HERE / name).read_text(encoding="utf-8")) or []


def make_variants(seed: int = 4) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    ads, negs = load_base()
    out: list[dict[str, Any]] = []
    for family in [*TEXT_FAMILIES, *SOURCE_FAMILIES]:
        pool_ads, pool_negs = ads, negs
        if family == "digit_words":  # only items that carry a number to spell out
            pool_ads = [a for a in ads if _NUMBER.search(a["text"])]
            pool_negs = [n for n in negs if _NUMBER.search(n["text"])]
        picked = rng.sample(pool_ads, min(ADS_PER_FAMILY, len(pool_ads)))
        picked += rng.sample(pool_negs, min(NEGATIVES_PER_FAMILY, len(pool_negs)))
        for base in picked:
            item = {k: v for k, v in base.items() if k not in ("text", "contacts", "family", "id")}
            item.update(id=f"{base['id']}~{family}", family=family)
            if family in TEXT_FAMILIES:
                item["text"] = TEXT_FAMILIES[family](base["text"], rng)
                if item["text"] == base["text"]:
                    continue  # nothing to disguise in this one
            else:
                item.update(SOURCE_FAMILIES[family](base, rng))
            if base.get("contacts") and family in ("digit_words", "fullwidth", "alias", "plain"):
                item["contacts"] = base["contacts"]
            out.append(item)
    return out


def seed_sentences(seeds_dir: Path) -> list[dict[str, Any]]:
    """Sentences of the seed articles that mention the services or the debt situation, and the whole articles."""
    topic = re.compile("征信|催收|债|维权|投诉|退费|退保|贷|逾期|上岸|分期|还款|减免|黑产|黑灰产|中介")
    out: list[dict[str, Any]] = []
    for path in sorted(seeds_dir.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        out.append({"kind": "news_article", "id": f"seed-{path.stem[:3]}", "text": text})
        sentences = [s.strip() for s in re.split(r"(?<=[。！？!?])|\n", text)]
        for k, s in enumerate(x for x in sentences if 12 <= len(x) <= 300 and topic.search(x)):
            out.append({"kind": "news", "id": f"seed-{path.stem[:3]}-{k:02d}", "text": s})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=Path, default=HERE.parents[2] / "shared" / "seeds")
    args = parser.parse_args()
    if args.seeds.is_dir():
        _write("seed_sentences.yaml", seed_sentences(args.seeds), "Sentences of the seed news articles (hard negatives).")
    _write("variants.yaml", make_variants(), "Generated by make_eval.py from ads.yaml / negatives.yaml — do not edit.")


def _write(name: str, items: list[dict[str, Any]], header: str) -> None:
    body = yaml.safe_dump(items, allow_unicode=True, sort_keys=False, width=1000)
    (HERE / name).write_text(f"# {header}\n{body}", encoding="utf-8")
    print(f"{name}: {len(items)} items")


if __name__ == "__main__":
    main()
