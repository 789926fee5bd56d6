"""Operations: linking by normalised contact, reworded script, same picture, landing link, author and repost;
incremental growth and merges keep stable ids; a reopened book links on without relinking the world."""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

import numpy as np
from datasketch import MinHash

from pipelines.detect import shared_detector
from pipelines.operations import OperationBook, operation_id, post_features
from pipelines.operations.features import MIN_SHINGLES, NUM_PERM, shingles, signatures
from pipelines.operations.linker import Linker

SCRIPT = "负债累累每天被催收爆通讯录？我们专业团队帮你和银行网贷协商还款，停息挂账，本金分期最长六十期，先服务后收费"


def post(uid: str, text: str, author: str, seen: str, phash: str | None = None, **extra: Any) -> dict[str, Any]:
    detection = shared_detector(0.5, None).detect([("text", text)])
    platform, _, post_id = uid.partition(":")
    return {"uid": uid, "platform": platform, "post_id": post_id, "text": text, "author": {"id": author},
            "contacts": detection.contacts, "first_seen": seen, "flagged": True,
            "media": [{"kind": "image", "phash": phash}] if phash else [], **extra}


def test_contact_written_five_ways_is_one_contact() -> None:
    linker = Linker()
    forms = ["加微信 anxin_2088", "薇：ANXIN_2088", "V信 ａｎｘｉｎ＿２０８８", "vx: Anxin_2088", "合作请加威 anxin_2088"]
    for k, form in enumerate(forms):
        linker.add(post_features(post(f"weibo:{k}", f"第{k}条完全不同的内容{'甲乙丙丁戊'[k] * 5}，{form}", f"a{k}", f"2026-01-0{k + 1}")))
    contact = [ln for ln in linker.links if ln.kind == "contact"]
    assert len(contact) == 4 and {ln.value for ln in contact} == {"wechat:anxin_2088"}
    assert len({linker.uf.find(f"weibo:{k}") for k in range(5)}) == 1


def test_reworded_script_picture_and_landing_link_and_nothing_else() -> None:
    linker = Linker()
    posts = [
        post("weibo:1", SCRIPT + "，私信了解", "a1", "2026-01-01"),
        post("douyin:2", SCRIPT.replace("每天", "天天").replace("专业团队", "专业法务团队") + "，私聊了解 #债务优化", "a2", "2026-01-02"),
        post("bilibili:3", "需要的朋友看图", "a3", "2026-01-03", phash="d5952f6aaa6a4ad0"),
        post("weibo:4", "懂的来", "a4", "2026-01-04", phash="d5952f6aaa6a4ad3"),  # re-compressed: 2 bits apart
        post("weibo:5", "网贷逾期别硬扛，在线申请 https://www.huajie-fuwu.cn/apply", "a5", "2026-01-05"),
        post("bilibili:6", "还不上了？点这里 huajie-fuwu.cn/apply 提交资料", "a6", "2026-01-06"),
        post("douyin:7", "征信异议申诉代办，不良记录处理，扣扣 3366557799", "a7", "2026-01-07", phash="0123456789abcdef"),
        post("weibo:8", "个性化分期，专业顾问一对一，官网 www.kuanxin-law.cn", "a8", "2026-01-08"),
    ]
    for p in posts:
        linker.add(post_features(p))
    find = linker.uf.find
    assert find("weibo:1") == find("douyin:2") and find("bilibili:3") == find("weibo:4")
    assert find("weibo:5") == find("bilibili:6")
    roots = {find(p["uid"]) for p in posts}
    assert len(roots) == 5  # three pairs, two unrelated ads alone
    kinds = {(ln.a, ln.kind) for ln in linker.links if ln.kind != "author"}
    assert kinds == {("douyin:2", "text"), ("weibo:4", "picture"), ("bilibili:6", "landing")}
    text = next(ln for ln in linker.links if ln.kind == "text")
    assert text.detail["jaccard"] >= 0.45
    picture = next(ln for ln in linker.links if ln.kind == "picture")
    assert picture.detail["distance"] == 2


def test_incremental_growth_merge_and_stable_ids(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    book = OperationBook(path)
    a = [post("weibo:1", "停息挂账找我们，加微信 anxin_2088", "a1", "2026-01-01"),
         post("douyin:2", "征信修复，薇：ANXIN_2088", "a2", "2026-01-02")]
    b = [post("weibo:3", "债务优化，电话 13722224444", "a3", "2026-01-03"),
         post("bilibili:4", "协商还款，联系 137-2222-4444", "a4", "2026-01-04")]
    book.add_posts(a + b)
    first, second = book.operation_of("weibo:1"), book.operation_of("weibo:3")
    assert first == operation_id("weibo:1") and second == operation_id("weibo:3") and first != second
    assert book.operation_of("account:weibo:a1") == first
    book.close()
    # A new run: the graph comes back from disk; a post carrying both contacts merges the two operations.
    book = OperationBook(path)
    changed = book.add_posts([post("douyin:5", "加v anxin_2088 或电话 13722224444", "a5", "2026-01-05")])
    assert book.operation_of("weibo:3") == first and book.operation_of("douyin:5") == first
    assert changed["weibo:3"] == first and "weibo:1" not in changed  # only what moved is reported
    assert book.resolve(second) == first and book.operation(second).id == first  # the old id still answers
    op = book.operation(first)
    assert op.size == 5 and len(op.accounts) == 5 and op.platforms == ["bilibili", "douyin", "weibo"]
    assert op.contacts[:2] == ["phone:13722224444", "wechat:anxin_2088"] or set(op.contacts) >= {
        "phone:13722224444", "wechat:anxin_2088"}
    assert {ln.kind for ln in op.links} >= {"contact", "author"}
    # Built in one go from the same posts, the operation gets the same id.
    again = OperationBook(tmp_path / "fresh.sqlite3")
    again.add_posts(a + b + [post("douyin:5", "加v anxin_2088 或电话 13722224444", "a5", "2026-01-05")])
    assert again.operation_of("bilibili:4") == first


def test_one_account_alone_is_no_operation(tmp_path: Path) -> None:
    book = OperationBook(tmp_path / "s.sqlite3")
    book.add_posts([post("weibo:1", "停息挂账，加微信 solo_1234", "a1", "2026-01-01"),
                    post("weibo:2", "征信修复，加微信 solo_1234", "a1", "2026-01-02")])
    assert book.operations() == [] and book.operation_of("weibo:1") is None


def test_reposts_join_their_original(tmp_path: Path) -> None:
    book = OperationBook(tmp_path / "s.sqlite3")
    book.add_posts([post("weibo:1", "停息挂账找我们，加微信 anxin_2088", "a1", "2026-01-01"),
                    post("weibo:2", "捞", "a2", "2026-01-02", reposted_from="weibo:1")])
    op = book.operation(book.operation_of("weibo:2") or "")
    assert op is not None and op.posts == ["weibo:1", "weibo:2"]
    assert [ln.kind for ln in op.links if ln.a == "weibo:2" and ln.kind != "author"] == ["repost"]


def test_signatures_are_datasketchs_minhashes() -> None:
    """Signatures stored by earlier runs are datasketch MinHashes of the 3-grams' UTF-8 bytes: computed many at once
    (CJK 3-grams through CRC tables, any other one by one) they must be the very same values."""
    texts = [
        SCRIPT, SCRIPT.replace("每天", "天天") + "，私聊了解",
        "內部渠道墠塱卐，銀行網貸都能談，一站式辦理停息掛賬" * 2,  # folded to simplified: 墠 becomes 𫮃 (beyond the BMP)
        # 2-byte letters (accented Latin would not do: the normaliser reads "résumé" as the Latin the script drops)
        "مرحبا بالعالم，停息挂账协商还款本金分期专业团队处理",
        "𠀀𠀁𠀂停息挂账协商还款本金分期专业团队处理逾期征信修复全国可办",  # 4-byte characters
        "短", "", "哈" * 60,  # too few distinct 3-grams
    ] + [SCRIPT[k % 50 :] + SCRIPT[: k % 50] + "之" * (k // 50) for k in range(150)]  # rows for several passes
    got = signatures(texts)
    assert sum(s is None for s in got) == 3
    for text, sig in zip(texts, got, strict=True):
        grams = shingles(text)
        if len(grams) < MIN_SHINGLES:
            assert sig is None
            continue
        reference = MinHash(num_perm=NUM_PERM, seed=10, hashfunc=zlib.crc32)
        reference.update_batch(list(grams))
        assert sig is not None and sig.dtype == reference.hashvalues.dtype
        assert np.array_equal(sig, reference.hashvalues), text


def test_a_short_pitch_under_generic_titles_is_no_script() -> None:
    """The same short pitch under different stock titles (a Zhihu question, a board's heading): together title and
    text pass the length bar, but what the posts share is every outfit's phrase. A long script still links under any
    title, and a long title alone (a video with no description) is a script of its own."""
    short = "信用卡逾期 停息挂账 了解一下 私信我 上岸"
    assert len(shingles(short)) < MIN_SHINGLES
    linker = Linker()
    posts = [post("zhihu:1", short, "a1", "2026-01-01", title="如何看待停止催收这件事？"),
             post("tieba:2", short, "a2", "2026-01-02", title="停息挂账经验分享给大家"),
             post("zhihu:3", SCRIPT, "a3", "2026-01-03", title="如何看待停止催收这件事？"),
             post("tieba:4", SCRIPT + "，私信了解", "a4", "2026-01-04", title="债务优化：一篇说清楚"),
             post("bilibili:5", "", "a5", "2026-01-05", title=SCRIPT),
             post("bilibili:6", "", "a6", "2026-01-06", title=SCRIPT.replace("每天", "天天"))]
    features = [post_features(p) for p in posts]
    assert features[0].minhash is None and features[1].minhash is None
    for f in features:
        linker.add(f)
    find = linker.uf.find
    assert find("zhihu:1") != find("tieba:2")
    assert find("zhihu:3") == find("tieba:4") and find("bilibili:5") == find("bilibili:6")
