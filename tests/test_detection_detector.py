"""The detector's decisions and explanations: API, evidence per source, quoting, categories, lexicon as data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.detection import Detection, Detector, source_label
from pipelines.detection.lexicon import LexiconError, load_lexicon


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector()


def test_ad_is_flagged_with_category_terms_contacts_and_json_ready_dict(detector: Detector) -> None:
    d = detector.detect([("text", "网贷逾期？帮你协商还款、停息挂账，不成功不收费，加V：shangan_2024")])
    assert isinstance(d, Detection)
    assert d.flagged and d.category == "debt_relief" and 0.5 <= d.score <= 1
    assert {"协商还款", "停息挂账"} <= set(d.terms)
    assert d.contacts == [{"kind": "wechat", "value": "shangan_2024", "raw": "V：shangan_2024", "source": "text"}]
    plain = json.loads(json.dumps(d.to_dict(), ensure_ascii=False))
    assert plain["flagged"] is True and plain["category"] == "debt_relief"
    assert {"term", "kind", "category", "source", "start", "end", "snippet"} <= set(plain["matches"][0])
    assert plain["explanation"].startswith("ad: ")


def test_matches_quote_the_original_text_of_their_source(detector: Detector) -> None:
    text = "專業徵信修復，不成功不收費"
    d = detector.detect([("title", "分享"), ("image:0", text)])
    m = next(m for m in d.matches if m.term == "征信修复")
    assert (m.source, text[m.start : m.end]) == ("image:0", "徵信修復")
    assert "徵信修復" in m.snippet


def test_explanation_says_where_each_term_was_found(detector: Detector) -> None:
    d = detector.detect(
        [
            ("text", "上岸的第100天，分享给需要的人"),
            ("image:1", "停 息 挂 账"),
            ("frame:3.0", "私信我 加微信 tingxi99"),
            ("cover", "协商还款"),
        ]
    )
    assert d.flagged
    why = d.explanation
    assert "停息挂账 [image 2 “停 息 挂 账”]" in why
    assert "协商还款 [video cover “协商还款”]" in why
    assert "video frame at 3.0 s" in why
    assert "wechat tingxi99" in why


def test_source_labels() -> None:
    assert [source_label(s) for s in ("text", "image:0", "frame:12.5", "cover", "hashtags")] == [
        "text", "image 1", "video frame at 12.5 s", "video cover", "hashtags"
    ]


@pytest.mark.parametrize(
    "text",
    [
        "警惕“征信修复”骗局！征信记录不能花钱修复，请大家谨防上当。",
        "黑灰产团伙以“协商还款”“息费减免”“征信修复”为幌子，诱骗借款人。",
        "本行信用卡个性化分期业务仅通过官方渠道办理，不收取任何费用。",
        "请问征信上的逾期记录多久能消除？",
        "考研上岸经验分享，需要资料的私信我",
    ],
)
def test_warnings_news_lenders_borrowers_are_not_flagged(detector: Detector, text: str) -> None:
    assert not detector.detect([("text", text)]).flagged


def test_no_service_term_means_no_category_and_zero_score(detector: Detector) -> None:
    d = detector.detect([("text", "今天天气真好，加微信 abc_1234 一起去爬山")])
    assert (d.flagged, d.category, d.score) == (False, None, 0.0)
    assert d.contacts  # contacts are still reported


def test_quoted_ad_copy_counts_less_than_said(detector: Detector) -> None:
    said = detector.detect([("text", "信用卡逾期不用怕，债务减免、征信修复来帮忙")])
    quoted = detector.detect([("text", "“信用卡逾期不用怕，债务减免、征信修复来帮忙。”")])
    assert said.flagged and not quoted.flagged
    assert all(m.quoted for m in quoted.matches if m.term == "征信修复")


def test_a_service_term_inside_a_longer_phrase_still_counts(detector: Detector) -> None:
    d = detector.detect([("text", "帮你停催！暴力催收一律停止，私信")])
    assert d.flagged and d.category == "stop_collection" and "停催" in d.terms


def test_a_longer_phrase_hides_the_word_inside_it(detector: Detector) -> None:
    d = detector.detect([("text", "征信修复，我们不是骗子，加V zx8899")])
    assert "骗子" not in {m.term for m in d.matches}
    assert d.flagged


def test_threshold_decides(detector: Detector) -> None:
    sources = [("text", "停息挂账了解一下")]
    score = detector.detect(sources).score
    assert Detector(threshold=score).detect(sources).flagged
    assert not Detector(threshold=min(1.0, score + 0.01)).detect(sources).flagged


def test_evidence_from_all_sources_is_combined(detector: Detector) -> None:
    assert not detector.detect([("text", "懂的都懂")]).flagged
    assert detector.detect([("text", "懂的都懂"), ("image:0", "征信修复 逾期记录处理")]).flagged


def test_empty_post(detector: Detector) -> None:
    d = detector.detect([])
    assert (d.flagged, d.score, d.matches, d.contacts) == (False, 0.0, [], [])


def test_custom_lexicon_file(tmp_path: Path) -> None:
    path = tmp_path / "lexicon.yaml"
    path.write_text(
        "categories:\n  crypto_scam:\n    label: 虚拟币骗局\n    terms:\n      稳赚不赔: {weight: 0.9, variants: [wzbp]}\n"
        "call_to_action:\n  私信: 0.5\nnegative:\n  警惕: 0.8\ncontacts:\n  wechat: 0.7\n",
        encoding="utf-8",
    )
    d = Detector(lexicon_path=path).detect([("text", "WZBP 稳赚不赔，私信")])
    assert d.flagged and d.category == "crypto_scam" and d.label == "虚拟币骗局"
    assert not Detector(lexicon_path=path).detect([("text", "警惕“稳赚不赔”")]).flagged


def test_lexicon_rejects_bad_weights(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("categories:\n  x:\n    terms:\n      某词: 3\n", encoding="utf-8")
    with pytest.raises(LexiconError, match="某词"):
        load_lexicon(path)


def test_shipped_lexicon_covers_every_category_of_the_issue() -> None:
    lexicon = load_lexicon()
    assert set(lexicon.categories) == {
        "debt_relief", "credit_repair", "stop_collection", "proxy_complaint", "loan_intermediary"
    }


def test_detect_stage_records_decision_from_text_and_ocr() -> None:
    from scrapy.utils.test import get_crawler

    from crawler.items import AdPost
    from pipelines.detect import DetectStage

    crawler = get_crawler(settings_dict={"ADWATCH_DETECT_THRESHOLD": 0.5})
    stage = DetectStage.from_crawler(crawler)
    stage.open_spider()
    post = AdPost(platform="douyin", post_id="1", url="https://www.douyin.com/video/1", text="上岸的第100天",
                  hashtags=["负债", "逾期"])
    post.ocr = [{"source": "frame:3.0", "text": "停息挂账 协商还款", "lines": []},
                {"source": "cover", "text": "加微信 tingxi99", "lines": []}]
    out = stage.process_item(post)
    assert out.flagged is True
    assert out.detection["category"] == "debt_relief"
    assert {m["source"] for m in out.detection["matches"]} >= {"frame:3.0", "cover"}
    assert out.contacts == [{"kind": "wechat", "value": "tingxi99", "raw": "微信 tingxi99", "source": "cover"}]
    assert crawler.stats.get_value("adwatch/detect/flagged/douyin") == 1
