"""Synthetic institutions for the clue-matching tests: a store of ad posts whose contacts the real detector
found, with a planted overlap that each institution writes in its own disguise."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from pipelines.clues.normalise import Clue
from pipelines.detection import Detector
from pipelines.store import SqliteStore

PROJECT = Path(__file__).resolve().parent.parent
AD = ["专业征信修复，不成功不收费", "停息挂账最快7天办好", "协商还款只收服务费", "债务优化，上岸不是梦", "个性化分期最长60期"]


@dataclass(frozen=True)
class Planted:
    """One shared clue: its normalised form and how each institution writes it."""

    clue: Clue
    forms: tuple[str, str, str]  # institution 0's, 1's, 2's spelling in a post text (account: the author id)


def planted_clues(n_per_kind: int = 8, seed: int = 7) -> list[Planted]:
    rng = random.Random(seed)
    out: list[Planted] = []
    for i in range(n_per_kind):
        w = f"zz{i:02d}{rng.randrange(10**6):06d}"
        full = w.upper().translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})  # full-width, upper case
        out.append(Planted(Clue("wechat", w), (f"VX：{w.capitalize()}", f"薇 {w}", f"加v：{full}")))
        p = f"158{rng.randrange(10**8):08d}"
        words = "".join("零幺二三四五六七八九"[int(d)] for d in p)
        out.append(Planted(Clue("phone", p), (f"电话 {p[:3]}-{p[3:7]}-{p[7:]}", f"电话 {words[:3]} {words[3:7]} {words[7:]}",
                                              f"热线 +86 {p[:3]} {p[3:7]} {p[7:]}")))
        q = f"9{rng.randrange(10**7):07d}"
        out.append(Planted(Clue("qq", q), (f"QQ {q}", f"扣扣：{q[:4]} {q[4:]}", f"企鹅号 {q}")))
        t = f"zzt{i:02d}{rng.randrange(10**4):04d}"
        out.append(Planted(Clue("telegram", "@" + t), (f"t.me/{t}", f"纸飞机 @{t}", f"TG：{t.upper()}")))
        host = f"zz{i:02d}-loan.com"
        out.append(Planted(Clue("url", f"{host}/Ab{i}"), (f"https://www.{host}/Ab{i}", f"{host}/Ab{i}", f"HTTP://{host.upper()}/Ab{i}")))
        a = str(90_000_000 + rng.randrange(10**6))
        out.append(Planted(Clue("account", f"weibo:{a}"), (a, f" {a} ", a.translate({c: c + 0xFEE0 for c in range(0x30, 0x3A)}))))
    return out


@lru_cache(maxsize=1)
def _detector() -> Detector:
    return Detector()


@dataclass
class Institution:
    store: Path
    posts_of: dict[Clue, set[str]] = field(default_factory=dict)  # planted clue -> our post uids holding it


def make_institution(store: Path, which: int, posts: int, planted: list[Planted], seed: int = 1) -> Institution:
    """A store of ``posts`` ad posts with contacts of its own (distinct per institution) and, spread among them,
    each planted clue in institution ``which``'s spelling (accounts as post authors)."""
    rng = random.Random(seed * 100 + which)
    inst = Institution(store)
    db = SqliteStore(store)
    detector = _detector()
    shared = [p for p in planted if p.clue.kind != "account"]
    accounts = [p for p in planted if p.clue.kind == "account"]
    try:
        for n in range(posts):
            own = _own_contact(rng, which, n)
            text = f"{rng.choice(AD)}，{own}"
            planted_here = shared[n % len(shared)] if n % 7 == 0 and n // 7 < len(shared) else None
            if planted_here:
                text += f"，或者 {planted_here.forms[which]}"
            account = accounts[n // 11] if n % 11 == 0 and n // 11 < len(accounts) else None
            author = account.forms[which] if account else str(10_000_000 * (which + 1) + n // 2)
            detection = detector.detect([("text", text)]).to_dict()
            doc = {"platform": "weibo", "post_id": f"{which}-{n}", "url": f"https://m.weibo.cn/detail/{which}{n}",
                   "author": {"id": author, "name": f"用户{n}"}, "text": text, "detection": detection,
                   "contacts": detection["contacts"], "flagged": detection["flagged"]}
            db.upsert(doc)
            uid = f"weibo:{which}-{n}"
            for p in (planted_here, account):
                if p:
                    inst.posts_of.setdefault(p.clue, set()).add(uid)
    finally:
        db.close()
    return inst


def _own_contact(rng: random.Random, which: int, n: int) -> str:
    """A contact only this institution has (its own prefixes), in one of the usual spellings."""
    tag = "abc"[which]
    kind = n % 5
    if kind == 0:
        return f"加微信 {tag}w{n:06d}x"
    if kind == 1:
        return f"电话 13{which + 5}{rng.randrange(10**8):08d}"
    if kind == 2:
        return f"QQ {which + 1}{n:07d}"
    if kind == 3:
        return f"电报 @{tag}tg{n:06d}"
    return f"详情 {tag}{n}-help.cn/x{n}"


def run_clues(data_dir: Path, member: str, *args: str, key_file: Path | None = None,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``scrapy clues ARGS`` as an institution runs it on its own data dir (``env``: more ADWATCH_ settings)."""
    full_env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower() and not k.startswith("ADWATCH_")}
    full_env.update(ADWATCH_DATA_DIR=str(data_dir), ADWATCH_CLUES_MEMBER=member, PYTHONPATH=str(PROJECT), **(env or {}))
    if key_file:
        full_env["ADWATCH_CLUES_HMAC_KEY_FILE"] = str(key_file)
    return subprocess.run([sys.executable, "-m", "scrapy", "clues", *args], cwd=PROJECT, env=full_env,
                          capture_output=True, text=True, timeout=300)
