"""Generate the intent model's corpus: ``train.yaml`` (training) and ``heldout.yaml`` (own held-out split).

    .venv/bin/python -m pipelines.detection.data.make_corpus [--seed 7] [--seeds ../shared/seeds]

Ads and hard negatives are assembled from hand-written parts (situations, promised outcomes, calls to action,
contacts, framings) by templates, in the kinds the issue names: plain pitches, soft pitches that name no
service, pinyin and homophone spellings, comment replies, account bios, OCR-noisy poster text, traditional
characters, long first-person testimonials, English code-switching, dialect, obfuscated contacts; negatives:
news and court reports, police notices, anti-fraud warnings that quote disguised spellings, lenders' notices,
borrowers asking for help or negotiating alone, victims' complaints, unrelated senses of the words, chatter, and
sentences of the seed articles. The held-out split uses templates the training split never sees (split by
template, not by item), so its figures say something about wording the model was not fitted on — it is still
written by the same hand, so it is *not* a blind set.
"""

from __future__ import annotations

import argparse
import random
import re
import zlib
from pathlib import Path
from typing import Callable

import opencc
import pypinyin
import yaml

from pipelines.detection.data import pitches, shapes
from pipelines.detection.data.negatives import DISGUISES, NEG_PARTS
from pipelines.detection.lexicon import homophone_index

HERE = Path(__file__).resolve().parent
R = random.Random()

# ---- parts ---------------------------------------------------------------------------------------------------
SITUATIONS = {
    "credit_repair": ["征信花了", "征信有逾期记录", "征信报告一片红", "信用报告上有污点", "征信黑了", "查询记录太多",
                      "征信上挂着逾期", "房贷因为征信被拒", "大数据花了", "信用记录不好看"],
    "stop_collection": ["天天被催收", "催收电话打到单位", "催收爆了通讯录", "家人接到催收电话", "催收上门了",
                        "手机被催收打爆", "催收天天发短信", "催收威胁要上门", "被网贷催得睡不着"],
    "debt_relief": ["信用卡逾期了", "网贷还不上了", "负债三十多万", "以贷养贷撑不住了", "每月月供比工资还高",
                    "欠了十几家网贷", "信用卡刷爆了还不上", "欠款利滚利越来越多", "逾期半年了"],
    "proxy_complaint": ["买的保险想退", "保单交了好几年", "被收了砍头息", "网贷乱收会员费", "被扣了担保费",
                        "保费交了不想交了", "借款被收了高额服务费"],
    "loan_intermediary": ["黑户借不到钱", "征信花了贷款被拒", "白户没记录", "到处被拒贷", "急需用钱但征信不好",
                          "花户申请总被拒", "网贷全被拒了"],
}
OUTCOMES = {
    "credit_repair": ["征信变干净", "记录消失", "报告干干净净", "征信白回来", "记录查不到了", "信用恢复正常",
                      "房贷照样批下来", "不留痕迹", "重新贷款没问题"],
    "stop_collection": ["电话全部安静了", "手机终于清静", "再也没人打电话", "催收不再骚扰", "家人不知道",
                        "通讯录不会爆", "电话停了", "一周就消停了"],
    "debt_relief": ["只还本金", "月供减半", "利息不用还", "分期慢慢还", "能喘口气", "少还一大半", "减掉一半"],
    "proxy_complaint": ["保费全额退回", "钱原路退回", "全部退回来", "一分不少拿回来", "服务费全退",
                        "交的钱如数奉还"],
    "loan_intermediary": ["照样下款", "照样批", "也能借到", "当天到账", "不看记录也能下", "秒到账"],
}
SERVICES = {
    "credit_repair": ["征信修复", "逾期记录删除", "征信洗白", "征信优化", "征信异议投诉", "修复征信", "大数据修复"],
    "stop_collection": ["停止催收", "屏蔽催收", "反催收", "拦截催收", "停催", "防爆通讯录"],
    "debt_relief": ["停息挂账", "协商还款", "债务优化", "债务减免", "减免息费", "个性化分期", "负债上岸"],
    "proxy_complaint": ["代理退保", "全额退保", "代理投诉", "投诉退费", "退砍头息", "代理维权"],
    "loan_intermediary": ["黑户可贷", "包下款", "无视征信", "网贷口子", "强制下款", "贷款包装"],
}
THIRD = ["我们", "我这边", "老师", "团队", "专业的人", "朋友介绍的老师", "我们工作室", "我", "有渠道的人", "法务"]
CTAS = ["私信", "私我", "滴滴我", "戳头像", "评论区扣1", "看主页", "有需要的私", "懂的来", "详聊", "找我",
        "留言", "加我", "点我头像", "需要的联系", "可以帮你", "帮你搞定", "来问", "咨询"]
PROMISE = ["帮你", "能让", "保证", "包", "可以做到", "三天", "一周内", "当天", "很快", "轻松"]
BANKS = ["招行", "浦发", "广发", "建行", "交行", "中信", "平安", "花呗", "借呗", "美团", "京东白条", "微粒贷"]
AMOUNTS = ["5万", "八万", "12万", "二十万", "36万", "50多万", "一百万"]

COMMENT_TEMPLATES = [
    "{svc}找我 {contact}", "做{svc}的，{contact}", "需要{svc}的私", "我这边可以{svc}，{contact}", "{svc}了解一下 {contact}",
    "楼主可以试试{svc}，我朋友做这个的 {contact}", "同问，{svc}可以找我", "专业{svc}，{cta}", "{svc}，{cta}",
    "回复{n}楼：{svc}我们在做，{contact}", "@楼主 {svc}私聊", "{svc}👉{contact}",
]
BIO_TEMPLATES = [
    "专注{svc}{y}年｜{contact}", "{svc}｜{svc2}｜全国可办 {contact}", "负债人的朋友，{svc}咨询 {contact}",
    "法务团队｜{svc}｜不成功不收费", "每天分享{svc}干货，合作{contact}", "帮{n}00+人{outcome}，{contact}",
    "{svc}顾问，私信必回", "{sit}？找我，{contact}",
]
SOFT_TEMPLATES = [
    "{sit}？{third}{promise}让你{outcome}，{cta}", "{sit}的朋友看过来，{outcome}不是梦，{cta} {contact}",
    "还在为{sit}发愁吗？{third}有办法让你{outcome}，{cta}", "{sit}别慌，{outcome}其实很简单，{contact}",
    "{sit}，{third}帮你{outcome}，先看效果再说，{cta}", "不管{sit}还是{sit2}，都能{outcome}，{cta}",
    "{sit}也不用怕，{third}有渠道，{outcome}，{contact}", "谁说{sit}就没办法？{outcome}，{cta}",
    "{sit}？三天{outcome}，不满意不收钱，{contact}", "想要{outcome}吗？{sit}的来，{cta}",
    "{sit}，{outcome}，懂的{cta}", "告别{sit}，{third}让你{outcome}，名额有限 {cta}",
]
PLAIN_TEMPLATES = [
    "专业{svc}，{svc2}，不成功不收费，{contact}", "{sit}？{svc}找我们，{cta} {contact}", "{svc}｜{svc2}｜全国可办，{cta}",
    "{bank}、{bank2}都能做{svc}，成功率{p}%，{contact}", "{svc}最快{d}天见效，先办事后收费，{cta}",
    "#{svc} #{svc2} 今天又帮一位粉丝{outcome}，{cta}", "【{svc}】{sit}的朋友，一对一定制方案，{contact}",
]
TESTIMONIAL_TEMPLATES = [
    "说说我的经历吧。{y}年前因为创业失败，{sit}，{sit2}，每天都不敢看手机。后来一个朋友介绍了{third}，{promise}{outcome}。"
    "刚开始我也不信，但是真的{outcome2}。现在生活慢慢回到正轨，想起那段日子还是会哭。如果你也{sit}，{cta}，我把联系方式给你。",
    "我是一个普通的宝妈，老公生病后家里{sit}，催收天天打电话，我一度想不开。偶然刷到{third}的视频，抱着试试的心态联系了，"
    "没想到一个月后{outcome}。现在我想帮更多和我一样的人，{cta} {contact}",
    "去年这个时候我{sit}，欠了{amt}，{sit2}。试过自己打电话，银行根本不理。后来找了{third}，他们说能让我{outcome}，"
    "我交了资料，{d}天后真的{outcome2}。今天写下来，希望帮到有需要的人，{cta}",
]
CODESWITCH_TEMPLATES = [
    "{sit}? Don't worry, our team can help you {en_outcome}. DM me {contact}", "Credit report 花了? {svc} service, 100% legal, add {contact}",
    "专业{svc} service，fast and safe，contact {contact}", "{sit}? 我们 can make your credit {en_outcome2}, {cta}",
    "Debt problem? 停息 and 分期 all OK, WeChat {contact}",
]
DIALECT_TEMPLATES = [
    "{sit}咋整？俺们这旮旯能帮你{outcome}，{cta}", "{sit}唔使惊，我哋帮你{outcome}，{cta} {contact}",
    "{sit}莫慌嘛，我们这边帮你{outcome}，{cta}", "{sit}咋办嘞？找俺，{outcome}，{contact}",
    "{sit}唔好担心，{svc}搞掂晒，{contact}",
]
IMAGE_TEMPLATES = [
    ["{sit}？", "{outcome}", "合法处理", "热线 {phone}"], ["你的征信报告还好吗？", "记录合法处理", "咨询热线 {phone}"],
    ["{sit}", "{third}帮你{outcome}", "{contact}"], ["不良记录", "合法合规处理", "{outcome}", "{contact}"],
    ["催收骚扰？", "{outcome}", "{contact}"], ["保险可以退", "{outcome}", "咨询 {phone}"],
]
IMAGE_CAPTIONS = ["看图", "懂的都懂", "有需要的看过来", "转给需要的人", "👇👇👇", "图里说得很清楚", ""]
EN_OUTCOMES = ["clean your record", "stop the calls", "get your money back", "get a loan", "lower the payment"]
EN_OUTCOMES2 = ["clean again", "white again", "good as new"]

_S2T = opencc.OpenCC("s2t")
OCR_CONFUSE = {"征": "徵", "信": "言", "修": "侈", "复": "夏", "债": "绩", "务": "务", "催": "摧", "收": "牧", "贷": "货",
               "款": "歀", "息": "思", "账": "帐", "逾": "逾", "期": "斯", "已": "己", "人": "入", "日": "曰", "未": "末",
               "处": "外", "理": "埋", "录": "绿", "记": "纪", "退": "腿", "保": "堡", "网": "冈", "私": "松"}
KEYCAP = {d: d + "\ufe0f\u20e3" for d in "0123456789"}
DIGIT_WORDS = [dict(zip("0123456789", "零一二三四五六七八九")), dict(zip("0123456789", "洞幺两三四五六拐八勾")),
               dict(zip("0123456789", "零壹贰叁肆伍陆柒捌玖"))]


def rand_id() -> str:
    head = R.choice(["zx", "ting", "xf", "shangan", "help", "fz", "law", "xs", "an", "wq", "tb", "dk", "kk", "ms", "ly"])
    return head + R.choice(["_", "", "-"]) + "".join(R.choice("abcdefghjkmnpqrstuvwxyz0123456789") for _ in range(R.randint(3, 7)))


def rand_phone() -> str:
    return "1" + R.choice("3456789") + "".join(R.choice("0123456789") for _ in range(9))


def contact(obfuscate: float = 0.3) -> tuple[str, str]:
    """(how the contact is written, its normalised value)."""
    kind = R.random()
    if kind < 0.5:
        wid = rand_id()
        label = R.choice(["VX", "vx", "V", "薇", "威信", "加V", "➕V", "微信", "wx", "v信", "加薇"])
        return f"{label}{R.choice(['：', ':', ' ', ''])}{wid}", wid
    if kind < 0.8:
        phone = rand_phone()
        label = R.choice(["电话", "手机", "热线", "☎️", "Tel", "微信同号", ""])
        shown = phone
        r = R.random()
        if r < obfuscate / 2:
            shown = "".join(KEYCAP[d] for d in phone)
        elif r < obfuscate:
            table = R.choice(DIGIT_WORDS)
            shown = "".join(table[d] for d in phone)
        elif r < obfuscate * 1.5:
            shown = f"{phone[:3]}-{phone[3:7]}-{phone[7:]}"
        return f"{label} {shown}".strip(), phone
    qq = str(R.randint(10**7, 10**10))
    return f"{R.choice(['QQ', 'qq', '扣扣', '企鹅'])}：{qq}", qq


def pinyin_of(word: str, style: str) -> str:
    syl = pypinyin.lazy_pinyin(word)
    if style == "spaced":
        return " ".join(syl)
    if style == "initials":
        return "".join(s[0] for s in syl)
    if style == "mixed":
        return "".join(s if i % 2 else c for i, (c, s) in enumerate(zip(word, syl)))
    return "".join(syl)


def homophone_of(word: str) -> str:
    """Swap one or two characters for others read the same way (from GB2312's common characters)."""
    chars = list(word)
    for i in R.sample(range(len(chars)), k=min(len(chars), R.choice([1, 1, 2]))):
        reading = pypinyin.lazy_pinyin(chars[i])[0]
        options = [c for c in _homophones().get(reading, []) if c != chars[i]]
        if options:
            chars[i] = R.choice(options[:8])
    return "".join(chars)


def _homophones() -> dict[str, list[str]]:
    """Toneless reading → GB2312's common characters read that way (the lexicon's own table)."""
    return homophone_index()


def ocr_noise(text: str) -> str:
    out = []
    for c in text:
        r = R.random()
        if c in OCR_CONFUSE and r < 0.25:
            out.append(OCR_CONFUSE[c])
        elif r < 0.04:
            out.append(R.choice([" ", "|", ".", "1", "l", "口"]))
        elif r < 0.07:
            continue
        else:
            out.append(c)
        if R.random() < 0.03:
            out.append("\n")
    return "".join(out)


def one_per_line(text: str) -> str:
    return "\n".join(text)


def fill(template: str, cat: str) -> tuple[str, list[str]]:
    """Fill a template's slots for one category; returns the text and the contact values it holds."""
    contacts: list[str] = []

    def one_contact() -> str:
        shown, value = contact()
        contacts.append(value)
        return shown

    other = R.choice(list(SITUATIONS))
    slots: dict[str, Callable[[], str]] = {
        "sit": lambda: R.choice(SITUATIONS[cat]), "sit2": lambda: R.choice(SITUATIONS[R.choice([cat, other])]),
        "outcome": lambda: R.choice(OUTCOMES[cat]), "outcome2": lambda: R.choice(OUTCOMES[cat]),
        "svc": lambda: R.choice(SERVICES[cat]), "svc2": lambda: R.choice(SERVICES[cat]), "cta": lambda: R.choice(CTAS),
        "third": lambda: R.choice(THIRD), "promise": lambda: R.choice(PROMISE), "contact": one_contact,
        "phone": lambda: (contacts.append(p := rand_phone()), p)[1], "bank": lambda: R.choice(BANKS),
        "bank2": lambda: R.choice(BANKS), "amt": lambda: R.choice(AMOUNTS), "n": lambda: str(R.randint(2, 9)),
        "y": lambda: str(R.randint(2, 6)), "d": lambda: str(R.randint(3, 15)), "p": lambda: str(R.randint(85, 99)),
        "en_outcome": lambda: R.choice(EN_OUTCOMES), "en_outcome2": lambda: R.choice(EN_OUTCOMES2),
        "disg": lambda: R.choice(DISGUISES), **shapes.slots(R, cat), **pitches.slots(R, cat),
    }
    text = template
    for _ in range(2):  # a part may hold slots of its own ({neg_cta} → "加我 {contact}")
        text = re.sub(r"\{(\w+)\}", lambda m: slots[m.group(1)](), text)
    return text, contacts


def disguise_services(text: str, cat: str, how: str) -> str:
    for svc in SERVICES[cat] + ["征信", "催收", "逾期", "网贷", "下款", "黑户"]:
        if svc in text:
            if how == "homophone":
                text = text.replace(svc, homophone_of(svc))
            else:
                text = text.replace(svc, pinyin_of(svc, R.choice(["spaced", "joined", "mixed", "initials" if len(svc) > 2 else "joined"])))
    return text


def ads(kind: str, templates: list, n: int) -> list[dict]:
    out = []
    for _ in range(n):
        cat = R.choice(list(SITUATIONS))
        t = R.choice(templates)
        item: dict = {"label": "ad", "categories": [cat], "kind": kind, "source": "post"}
        if kind == "image_only":
            lines = [fill(line, cat) for line in t]
            item["sources"] = [["text", R.choice(IMAGE_CAPTIONS)], ["image:0", "\n".join(x for x, _ in lines)]]
            item["contacts"] = [c for _, cs in lines for c in cs]
            out.append(item)
            continue
        text, contacts = fill(t, cat)
        if kind in ("pinyin", "homophone"):
            text = disguise_services(text, cat, kind)
        elif kind == "pinyin2":  # whole phrases in pinyin, not only the lexicon's terms
            text = R.choice([" ", "", ","]).join(pypinyin.lazy_pinyin(text)) if R.random() < 0.6 else text
            text = disguise_services(text, cat, "pinyin")
        elif kind == "split":
            text = shapes.split_chars(R, text)
        elif kind == "ocr":
            text = ocr_noise(text) if R.random() < 0.7 else one_per_line(text)
        elif kind == "traditional":
            text = _S2T.convert(text)
        item["source"] = {"comment": "comment", "bio": "bio", "comment2": "comment", "bio2": "bio", "comment3": "comment",
                          "bio3": "bio"}.get(kind, "post")
        item["text"] = text
        item["contacts"] = contacts if kind not in ("ocr", "pinyin", "homophone", "pinyin2", "split") else []
        out.append(item)
    return out


def negatives(kind: str, templates: list[str], n: int) -> list[dict]:
    out = []
    for _ in range(n):
        cat = R.choice(list(SITUATIONS))
        text, _ = fill(R.choice(templates), cat)
        if R.random() < 0.1:
            text = _S2T.convert(text)
        source = {"comment_neg": "comment", "bio_neg": "bio", "comment_cta_neg": "comment"}.get(kind, "post")
        out.append({"label": "neg", "categories": [], "kind": kind, "source": source, "text": text})
    return out


def seed_sentences(seeds: Path) -> list[dict]:
    out = []
    for path in sorted(seeds.glob("*.txt")):
        for sentence in re.split(r"[。！？\n]", path.read_text(encoding="utf-8")):
            sentence = sentence.strip()
            if len(sentence) >= 12 and re.search("征信|催收|债|维权|退保|贷|逾期|投诉|上岸|修复", sentence):
                out.append({"label": "neg", "categories": [], "kind": "seed", "source": "post", "text": sentence})
    return out


def split_templates(templates: list, held: float) -> tuple[list, list]:
    """About ``held`` of the templates go to the held-out split only, chosen by a hash of the template itself, so
    a template shared by several kinds lands on the same side everywhere (at least one template each side)."""
    cut = int(held * 1000)
    keep = [t for t in templates if zlib.crc32(repr(t).encode()) % 1000 < cut]
    fit = [t for t in templates if t not in keep]
    if not keep or not fit:
        keep, fit = templates[:1], templates[1:]
    return fit, keep


AD_KINDS: dict[str, tuple[list, int]] = {
    "plain": (PLAIN_TEMPLATES, 250), "soft": (SOFT_TEMPLATES, 500), "pinyin": (PLAIN_TEMPLATES + SOFT_TEMPLATES[:3], 250),
    "homophone": (PLAIN_TEMPLATES + COMMENT_TEMPLATES[:4], 250), "comment": (COMMENT_TEMPLATES, 250),
    "bio": (BIO_TEMPLATES, 200), "ocr": (PLAIN_TEMPLATES + SOFT_TEMPLATES, 200), "traditional": (TESTIMONIAL_TEMPLATES + SOFT_TEMPLATES, 150),
    "testimonial": (TESTIMONIAL_TEMPLATES, 150), "codeswitch": (CODESWITCH_TEMPLATES, 120),
    "dialect": (DIALECT_TEMPLATES, 120), "image_only": (IMAGE_TEMPLATES, 150), **shapes.AD_KINDS2, **pitches.AD_KINDS3,
}


def build(seed: int, seeds: Path | None) -> tuple[list[dict], list[dict]]:
    R.seed(seed)
    train: list[dict] = []
    held: list[dict] = []
    for kind, (templates, n) in AD_KINDS.items():
        fit, keep = split_templates(templates, 0.25)
        train += ads(kind, fit, n)
        held += ads(kind, keep, max(20, n // 5))
    for kind, templates in {**NEG_PARTS, **shapes.NEG2, **pitches.NEG3}.items():
        fit, keep = split_templates(templates, 0.25)
        n = 450 if kind in ("antifraud", "borrower", "victim", "unrelated", "diary") else 300
        n = {"biz_contact": 800, "comment_cta_neg": 500}.get(kind, n)
        train += negatives(kind, fit, n)
        held += negatives(kind, keep, max(30, n // 5))
    if seeds and seeds.exists():
        sentences = seed_sentences(seeds)
        R.shuffle(sentences)
        k = len(sentences) // 5
        held += sentences[:k]
        train += sentences[k:]
    seen_train = {item.get("text") or repr(item.get("sources")) for item in train}
    held[:] = [item for item in held if (item.get("text") or repr(item.get("sources"))) not in seen_train]
    for prefix, items in (("train", train), ("held", held)):
        seen: set[str] = set()
        unique = []
        for item in items:
            key = item.get("text") or repr(item.get("sources"))
            if key not in seen:
                seen.add(key)
                unique.append(item)
        items[:] = unique
        for i, item in enumerate(items):
            item["id"] = f"{prefix}-{i:05d}"
    return train, held


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--seeds", type=Path, default=HERE.parents[2].parent / "shared" / "seeds")
    args = parser.parse_args()
    seeds = args.seeds if args.seeds.exists() else Path("/work/shared/seeds")
    train, held = build(args.seed, seeds)
    for name, items in (("train.yaml", train), ("heldout.yaml", held)):
        header = f"# Generated by pipelines/detection/data/make_corpus.py --seed {args.seed}; do not edit by hand.\n"
        body = yaml.safe_dump(items, allow_unicode=True, sort_keys=False, width=1000)
        (HERE / name).write_text(header + body, encoding="utf-8")
        print(f"{name}: {len(items)} items, {sum(i['label'] == 'ad' for i in items)} ads")


if __name__ == "__main__":
    main()
