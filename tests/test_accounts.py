"""Account records: one per platform account, counting posts and flagged posts, contacts, bio and a score."""

from __future__ import annotations

from pathlib import Path

from pipelines.accounts import AccountBook


def test_account_record_accumulates_posts(tmp_path: Path) -> None:
    book = AccountBook(tmp_path / "s.sqlite3")
    author = {"id": "42", "name": "小王法务", "url": "https://m.weibo.cn/u/42"}
    book.record({"platform": "weibo", "post_id": "1", "author": author, "flagged": False}, now="2026-01-01")
    book.record({"platform": "weibo", "post_id": "2", "flagged": True, "detection": {"score": 0.9},
                 "author": {**author, "bio": "合作请加威 anxin_2088", "verified": False, "followers": 12},
                 "contacts": [{"kind": "wechat", "value": "anxin_2088", "source": "bio"}]}, now="2026-01-02")
    book.record({"platform": "weibo", "post_id": "3", "flagged": True, "detection": {"score": 0.5},
                 "author": author, "contacts": [{"kind": "wechat", "value": "anxin_2088", "source": "text"},
                                                {"kind": "phone", "value": "13722224444", "source": "text"}]},
                now="2026-01-03")
    a = book.get("weibo:42")
    assert a is not None
    assert (a.name, a.bio, a.verified, a.followers) == ("小王法务", "合作请加威 anxin_2088", False, 12)
    assert (a.first_seen, a.last_seen) == ("2026-01-01", "2026-01-03")
    assert a.posts == ["weibo:1", "weibo:2", "weibo:3"] and a.flagged_posts == ["weibo:2", "weibo:3"]
    assert a.contacts == ["wechat:anxin_2088", "phone:13722224444"]
    assert a.score == 0.95  # 1 - (1 - 0.9)(1 - 0.5)
    assert book.count() == 1 and [x.key for x in book] == ["weibo:42"]
    # A post seen again is counted once.
    book.record({"platform": "weibo", "post_id": "3", "flagged": True, "detection": {"score": 0.5}, "author": author})
    assert len(book.get("weibo:42").posts) == 3
