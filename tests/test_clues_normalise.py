"""What a clue is: the detector's contact normalisation, accounts, a post's clues; and the group primitives."""

from __future__ import annotations

import pytest

from pipelines.clues.normalise import Clue, collect_clues, normalise_clue, post_clues
from pipelines.clues.psi import blind_clues, hmac_tokens, key_id, new_scalar, reblind
from pipelines.detection import Detector


@pytest.mark.parametrize("kind, spellings, value", [
    ("wechat", ["VX：Abc_123", "薇 abc_123", "abc_123", "Ａｂｃ＿１２３", "微信号: ABC_123"], "abc_123"),
    ("phone", ["138-0013-8000", "幺三八 零零幺三 八零零零", "+86 138 0013 8000", "13800138000", "①③⑧00138000"], "13800138000"),
    ("qq", ["12345678", "扣扣 1234 5678", "QQ：12345678", "企鹅号 12345678"], "12345678"),
    ("telegram", ["@abc_de", "t.me/abc_de", "纸飞机 @abc_de", "TG: ABC_DE"], "@abc_de"),
    ("url", ["https://www.Example.com/Ab", "example.com/Ab/", "HTTP://EXAMPLE.COM/Ab"], "example.com/Ab"),
    ("account", ["weibo:1234567", "Weibo: 1234567 ", "weibo:１２３４５６７"], "weibo:1234567"),
])
def test_spellings_of_one_clue_normalise_to_one_value_and_values_to_themselves(kind, spellings, value):
    for raw in spellings:
        assert normalise_clue(kind, raw) == Clue(kind, value), raw
    assert normalise_clue(kind, value) == Clue(kind, value)


def test_account_ids_keep_their_case_and_a_telegram_landing_link_is_a_telegram_clue():
    assert normalise_clue("account", "douyin:MS4wLjABAAAA") == Clue("account", "douyin:MS4wLjABAAAA")
    assert normalise_clue("account", "douyin:ms4wljabaaaa") != normalise_clue("account", "douyin:MS4wLjABAAAA")
    assert normalise_clue("url", "https://t.me/abc_de") == Clue("telegram", "@abc_de")


@pytest.mark.parametrize("kind, raw", [
    ("phone", "hello"), ("phone", "12345"), ("wechat", "12"), ("fax", "13800138000"), ("qq", ""), ("url", "x" * 600),
    ("account", "1234567"), ("account", "weibo:"),
])
def test_what_is_no_clue_is_none(kind, raw):
    assert normalise_clue(kind, raw) is None


def test_a_clue_is_what_the_detector_reports():
    text = "征信修复加VX：Abc_123，电话 幺三八-零零幺三-八零零零，扣扣 1234 5678，纸飞机 @abc_de，官网 www.Help-Loan.cn/Go"
    contacts = Detector().detect([("text", text)]).contacts
    assert len(contacts) == 5
    for contact in contacts:
        assert normalise_clue(contact["kind"], contact["raw"]) == Clue(contact["kind"], contact["value"])


def test_a_posts_clues_are_its_contacts_author_and_landing_links():
    post = {
        "uid": "weibo:1", "platform": "weibo", "post_id": "1", "author": {"id": "42"},
        "contacts": [{"kind": "wechat", "value": "abc_123", "raw": "VX：Abc_123"},
                     {"kind": "phone", "value": "13800138000", "raw": ""},
                     {"kind": "phone", "value": "junk", "raw": "junk"}, "not a contact"],
        "landing_urls": ["https://www.example.com/Ab", "not a link"],
    }
    clues, unusable = post_clues(post)
    assert clues == [Clue("wechat", "abc_123"), Clue("phone", "13800138000"), Clue("account", "weibo:42"),
                     Clue("url", "example.com/Ab")]
    assert unusable == 3
    found = collect_clues([post, {**post, "uid": "weibo:2", "author": {"id": "43"}, "landing_urls": []}])
    assert found.refs[Clue("wechat", "abc_123")].posts == {"weibo:1", "weibo:2"}
    assert found.refs[Clue("wechat", "abc_123")].accounts == {"weibo:42", "weibo:43"}
    assert found.unusable == 5 and found.posts == 2 and len(found) == 5


def test_blinding_commutes_and_separates_kinds():
    a, b = new_scalar(), new_scalar()
    clues = [Clue("qq", "12345678"), Clue("phone", "12345678")]
    ab, bad = reblind(blind_clues(clues, a), b)
    ba, _ = reblind(blind_clues(clues, b), a)
    assert ab == ba and bad == 0 and ab[0] != ab[1]
    assert blind_clues(clues, a) != blind_clues(clues, b)
    tokens = hmac_tokens(clues, b"k" * 32)
    assert tokens[0] != tokens[1] and tokens != hmac_tokens(clues, b"j" * 32)
    assert key_id(b"k" * 32) != key_id(b"j" * 32)
