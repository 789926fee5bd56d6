"""The simulator itself: deterministic corpus, real shapes, and only a browser gets Douyin results."""

from __future__ import annotations

import json
import urllib.request
from urllib.parse import quote

from tests.simulator import Simulator
from tests.simulator.corpus import build_corpus
from tests.simulator.platforms.douyin import fnv1a, page_nonce


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_corpus_is_deterministic() -> None:
    a, b = build_corpus(7), build_corpus(7)
    assert [(p.post_id, p.text) for p in a["weibo"]] == [(p.post_id, p.text) for p in b["weibo"]]
    assert [p.post_id for p in build_corpus(8)["weibo"]] != [p.post_id for p in a["weibo"]]
    for posts in a.values():
        kinds = {p.kind for p in posts}
        assert {"text", "image", "video", "negative", "deleted"} <= kinds


def test_douyin_api_needs_the_page_signature(simulator: Simulator) -> None:
    kw = "征信修复"
    base = f"{simulator.url('douyin', '')}/aweme/v1/web/general/search/single/?keyword={quote(kw)}&offset=0&count=10&search_id="
    assert get(base) == (200, b"")  # a plain HTTP client gets nothing, as on the real site
    assert get(base + "&a_bogus=deadbeef") == (200, b"")
    status, body = get(base + "&a_bogus=" + fnv1a(f"{page_nonce(kw)}|{kw}|0"))
    data = json.loads(body)
    assert status == 200 and data["status_code"] == 0 and len(data["data"]) == 10 and data["has_more"] == 1


def test_search_page_embeds_keyword_safely(simulator: Simulator) -> None:
    status, body = get(simulator.url("douyin", "") + f"/search/{quote('</script><script>alert(1)//')}?type=general")
    assert status == 200
    assert b"</script><script>alert(1)" not in body


def test_detail_pages_and_deleted_posts(simulator: Simulator) -> None:
    corpus = build_corpus()["weibo"]
    alive = next(p for p in corpus if not p.deleted)
    gone = next(p for p in corpus if p.deleted)
    status, body = get(simulator.url("weibo", f"/detail/{alive.post_id}"))
    assert status == 200 and b"$render_data" in body
    assert get(simulator.url("weibo", f"/detail/{gone.post_id}"))[0] == 404
