"""The simulator's seeded, deterministic corpus: the same seed always yields the same posts, ids and times."""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any

import yaml

TEXTS_PATH = Path(__file__).with_name("texts.yaml")
CN = timezone(timedelta(hours=8))
EPOCH = datetime(2026, 11, 1, 9, 0, tzinfo=CN)  # corpus times are fixed, not "now", so runs are comparable

# The keyword every post answers to (a broad term, so posts come back under two keywords and dedup has work),
# then the narrower ones posts are spread over; EMPTY_KEYWORD finds nothing on any platform.
KEYWORDS = ["征信修复", "停息挂账", "债务优化", "停止催收"]
EMPTY_KEYWORD = "债务重组"
HARMLESS_COMMENTS = ["说得对", "学到了，谢谢分享", "我也是这样", "收藏了", "有道理", "[赞][赞]", "加油，会好起来的"]
HARMLESS_BIOS = ["记录生活的点点滴滴", "分享日常，欢迎关注", "一个普通打工人", "读书、跑步、做饭", ""]


@dataclass
class SimPost:
    """One post of the corpus, with its ground truth (``is_ad``, ``category``, ``kind``)."""

    platform: str
    post_id: str
    keyword: str
    text: str
    kind: str  # "text" | "image" | "video" | "negative"
    is_ad: bool
    category: str | None
    family: str | None
    author_id: str
    author_name: str
    created: datetime
    image_texts: list[str] = field(default_factory=list)
    frame_texts: list[str] = field(default_factory=list)
    likes: int = 0
    comments: int = 0
    shares: int = 0
    deleted: bool = False
    long_text: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    bio: str = ""  # the author's profile text ("" = a harmless drawn one, see author_bio)
    comment_texts: list[dict[str, Any]] = field(default_factory=list)  # {text, by_author, pinned}; [] = drawn ones
    operation: str | None = None  # ground truth of issue 10: the seeded operation this post belongs to

    def comment_list(self) -> list[dict[str, Any]]:
        """The post's comments: its own, or a few harmless drawn ones (every post has some, as on the platforms)."""
        if self.comment_texts:
            return self.comment_texts
        n = int(self.post_id[-2:], 36) if self.post_id[-2:].isalnum() else 0
        return [{"text": HARMLESS_COMMENTS[(n + k) % len(HARMLESS_COMMENTS)]} for k in range(2)]

    def author_bio(self) -> str:
        return self.bio or HARMLESS_BIOS[sum(map(ord, self.author_id)) % len(HARMLESS_BIOS)]

    @property
    def uid(self) -> str:
        return f"{self.platform}:{self.post_id}"


@cache
def load_texts(path: Path = TEXTS_PATH) -> dict[str, list[dict[str, Any]]]:
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _digits(rng: random.Random, n: int) -> str:
    return str(rng.randint(1, 9)) + "".join(rng.choice(string.digits) for _ in range(n - 1))


def _nick(rng: random.Random) -> str:
    return rng.choice(["小", "阿", "老", "大"]) + rng.choice(["王", "李", "张", "刘", "陈", "杨"]) + rng.choice(
        ["说财经", "法务", "上岸记", "顾问", "聊负债", "的日常", "2024", "同学"]
    )


def build_corpus(seed: int = 7, sites: dict[str, Any] | None = None) -> dict[str, list[SimPost]]:
    """Every text of ``texts.yaml`` as a post on every platform; plus the awkward cases real platforms produce.

    ``sites`` maps platform names to their simulator :class:`~tests.simulator.core.Site` classes, which know the
    platform's id formats (default: every site module).
    """
    if sites is None:
        from tests.simulator.platforms import SITES as sites  # noqa: N811 - the registry, imported late (cycle)
    texts = load_texts()
    entries: list[tuple[str, dict[str, Any]]] = (
        [("text", e) for e in texts["text_ads"]]
        + [("image", e) for e in texts.get("image_ads", [])]
        + [("video", e) for e in texts.get("video_ads", [])]
        + [("negative", e) for e in texts["negatives"]]
    )
    corpus: dict[str, list[SimPost]] = {}
    for p_index, (platform, site) in enumerate(sorted(sites.items())):
        rng = random.Random(f"{seed}:{platform}")
        order = list(range(len(entries)))
        rng.shuffle(order)  # ads and negatives interleave in result pages, as they do for real
        posts = []
        for n, i in enumerate(order):
            kind, e = entries[i]
            post_id = site.new_post_id(rng)
            posts.append(
                SimPost(
                    platform=platform,
                    post_id=post_id,
                    keyword=KEYWORDS[n % len(KEYWORDS)],
                    text=e["text"],
                    kind=kind,
                    is_ad=kind != "negative",
                    category=e.get("category"),
                    family=e.get("family"),
                    author_id=site.new_author_id(rng),
                    # A name of its own (hostile ones) or a drawn one; drawn either way, so the rest stays the same.
                    author_name=e.get("author_name", _nick(rng)),
                    created=EPOCH + timedelta(minutes=37 * n + 11 * p_index),
                    image_texts=list(e.get("image_texts", [])),
                    frame_texts=list(e.get("frame_texts", [])),
                    likes=rng.randint(0, 5000),
                    comments=rng.randint(0, 300),
                    shares=rng.randint(0, 200),
                )
            )
        # A long post (Weibo truncates it in search and serves the rest at /statuses/extend).
        posts[1].long_text = True
        # A post deleted between indexing and our visit: the platform still lists it, flagged as deleted.
        gone = random.Random(f"{seed}:{platform}:deleted")
        posts.append(
            SimPost(
                platform=platform, post_id=site.new_post_id(gone),
                keyword=KEYWORDS[0], text="抱歉，此内容已被作者删除", kind="deleted", is_ad=False, category=None,
                family=None, author_id=site.new_author_id(gone), author_name=_nick(gone), created=EPOCH, deleted=True,
            )
        )
        # Platform-specific posts built from the others (Weibo's reposts of ads and of harmless posts).
        if extras := getattr(site, "corpus_extras", None):
            posts.extend(extras(posts, random.Random(f"{seed}:{platform}:extras")))
        posts.extend(operation_posts(platform, site, random.Random(f"{seed}:{platform}:operations"), p_index))
        corpus[platform] = posts
    return corpus


def operation_posts(platform: str, site: Any, rng: random.Random, p_index: int) -> list[SimPost]:
    """This platform's members of the seeded operations and its decoys (``operations`` / ``decoys`` in texts.yaml)."""
    texts = load_texts()
    entries = [(op, m) for op in texts.get("operations", []) for m in op["members"]]
    entries += [(None, d) for d in texts.get("decoys", [])]
    out = []
    for n, (op, e) in enumerate(entries):
        if e["platform"] != platform:
            continue
        poster = (op or {}).get("poster")
        out.append(SimPost(
            platform=platform, post_id=site.new_post_id(rng), keyword=KEYWORDS[n % len(KEYWORDS)], text=e["text"],
            kind=e.get("kind", "text"), is_ad=True, category=e.get("category"), family="operation" if op else "decoy",
            author_id=site.new_author_id(rng), author_name=_nick(rng),
            created=EPOCH + timedelta(days=1, minutes=53 * n + 11 * p_index),
            image_texts=[poster] if poster else [], likes=rng.randint(0, 5000), comments=rng.randint(1, 300),
            shares=rng.randint(0, 200), extra={"recompress": e["recompress"]} if e.get("recompress") else {},
            bio=e.get("bio", ""), comment_texts=list(e.get("comments", [])), operation=op["name"] if op else None,
        ))
    return out


def search(posts: list[SimPost], keyword: str) -> list[SimPost]:
    """What a search for ``keyword`` returns: the broad first keyword matches everything, others their share."""
    if keyword == KEYWORDS[0]:
        return list(posts)
    return [p for p in posts if p.keyword == keyword]


def expected_ads(platform: str, kinds: tuple[str, ...] = ("text",), seed: int = 7) -> list[SimPost]:
    """Ground truth for tests: the ads of ``kinds`` that a sweep of ``KEYWORDS`` must find."""
    return [p for p in build_corpus(seed)[platform] if p.is_ad and p.kind in kinds]


def negatives(platform: str, seed: int = 7) -> list[SimPost]:
    return [p for p in build_corpus(seed)[platform] if p.kind == "negative"]
