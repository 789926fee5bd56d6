"""Every contact form, written the ways ads write it, normalised to one value; raw quotes the original."""

from __future__ import annotations

import pytest

from pipelines.detection.contacts import find_contacts, merge_contacts
from pipelines.detection.normalize import light_view


def contacts(text: str) -> list[tuple[str, str, str]]:
    return [(c.kind, c.value, c.raw) for c in find_contacts(light_view(text), text, "text")]


def values(text: str, kind: str) -> list[str]:
    return [v for k, v, _ in contacts(text) if k == kind]


@pytest.mark.parametrize(
    "text",
    [
        "详情加微信 Shangan_2024 咨询",
        "VX：shangan_2024",
        "ＶＸ：ｓｈａｎｇａｎ＿２０２４",
        "加薇 shangan_2024",
        "➕V: shangan_2024",
        "加V了解 shangan_2024",
        "微信号：shangan_2024",
        "v信 shangan_2024",
        "威信:shangan_2024",
        "wx shangan_2024 备注来意",
        "V shangan_2024",
        "加威 shangan_2024",
        "v我 shangan_2024",  # round 7: "WeChat me"
        "📮 shangan_2024",
    ],
)
def test_wechat_ids_written_many_ways_are_one_value(text: str) -> None:
    assert values(text, "wechat") == ["shangan_2024"]


@pytest.mark.parametrize("text", ["关注微信公众号获取更多资讯", "vip会员 abcdefg", "微信支付已到账"])
def test_not_wechat_ids(text: str) -> None:
    assert values(text, "wechat") == []


@pytest.mark.parametrize(
    "text",
    [
        "电话 13800138000",
        "电话 138-0013-8000",
        "手机 138 0013 8000",
        "+86 138 0013 8000",
        "电话 幺三八 零零幺三 八零零零",
        "壹叁捌零零壹叁捌零零零",
        "①③⑧ ⓪⓪①③ ⑧⓪⓪⓪",
        "1３8*0013*8000",
        "微信同号 1 3 8 0 0 1 3 8 0 0 0",
    ],
)
def test_mobile_numbers_written_many_ways_are_one_value(text: str) -> None:
    assert values(text, "phone") == ["13800138000"]


@pytest.mark.parametrize(
    ("text", "value"),
    [("咨询热线 400-820-8820", "4008208820"), ("热线 400 820 8820", "4008208820"), ("座机 021-61234567", "02161234567")],
)
def test_hotlines_and_landlines(text: str, value: str) -> None:
    assert values(text, "phone") == [value]


@pytest.mark.parametrize(
    "text",
    ["2023年8月3日", "涉案金额达2000000元", "订单号 202408031234567", "截至2024年3月14日，受理332起", "身份证 110101199003071234"],
)
def test_dates_amounts_and_long_numbers_are_not_phones(text: str) -> None:
    assert values(text, "phone") == []


@pytest.mark.parametrize(
    "text",
    ["加QQ 2851234567", "QQ：2851 234 567", "扣扣：2851234567", "企鹅号 2851234567", "ＱＱ２８５１２３４５６７", "扣 扣 2851234567"],
)
def test_qq_numbers(text: str) -> None:
    assert values(text, "qq") == ["2851234567"]


@pytest.mark.parametrize(
    "text",
    ["点击 https://t.cn/A6kX9zQp 了解", "链接：t.cn/A6kX9zQp", "http://T.CN/A6kX9zQp/", "ｔ．ｃｎ／Ａ６ｋＸ９ｚＱｐ"],
)
def test_short_links_keep_their_case_sensitive_path(text: str) -> None:
    assert values(text, "url") == ["t.cn/A6kX9zQp"]


def test_urls_drop_scheme_and_www() -> None:
    assert values("官网 https://www.zxxf-pro.com/about?id=3", "url") == ["zxxf-pro.com/about?id=3"]
    assert values("网址：zxxf-pro.com", "url") == ["zxxf-pro.com"]


@pytest.mark.parametrize("text", ["联系 contact@yemamedia.com", "利率3.2%", "版本v1.2.3", "3.14159"])
def test_not_urls(text: str) -> None:
    assert values(text, "url") == []


@pytest.mark.parametrize(
    "text",
    ["TG: @Chandan_Pro", "纸飞机 @chandan_pro", "飞机号：chandan_pro", "https://t.me/chandan_pro", "telegram chandan_pro",
     "✈ @chandan_pro", "✈️ chandan_pro"],
)
def test_telegram_handles(text: str) -> None:
    assert values(text, "telegram") == ["@chandan_pro"]
    assert values(text, "url") == []


def test_raw_quotes_the_original_text() -> None:
    text = "咨询 ＶＸ：Ａｂｃ_１２３４ 或电话 幺三八 零零幺三 八零零零"
    found = {k: raw for k, _, raw in contacts(text)}
    assert found["wechat"] == "ＶＸ：Ａｂｃ_１２３４"
    assert found["phone"] == "幺三八 零零幺三 八零零零"


def test_zero_width_characters_inside_a_number() -> None:
    assert values("电话 138\u200b0013\u200b8000", "phone") == ["13800138000"]


def test_merge_keeps_one_entry_per_contact() -> None:
    found = find_contacts(light_view("VX: abc_123"), "VX: abc_123", "text")
    found += find_contacts(light_view("加薇 ABC_123"), "加薇 ABC_123", "image:0")
    merged = merge_contacts(found)
    assert [(c.kind, c.value, c.source) for c in merged] == [("wechat", "abc_123", "text")]


@pytest.mark.parametrize(
    "text",
    [
        "咨询请加 fenqi_2024",  # a bare id after 加 (it holds a digit or an underscore)
        "添加：fenqi_2024",
        "合作：fenqi_2024",
        "联系他们：fenqi_2024",
        "加我前备注“来意”：fenqi_2024",
        "V：fenqi_20 24",  # cut by a space on a poster
        "v ： fenqi_ 2 0 2 4",
        "微 xin : fenqi_2024",
        "jia wei: fenqi_2024",
        "微⭐信⭐f⭐e⭐n⭐q⭐i⭐_⭐2⭐0⭐2⭐4",  # one character at a time, cut by an emoji
        "网贷\n协商\n联系\n薇\nfen\nqi\n_2024",  # one word per line
    ],
)
def test_wechat_ids_cut_apart_or_after_a_plain_label(text: str) -> None:
    assert values(text, "wechat") == ["fenqi_2024"]


def test_pinyin_pieces_of_one_id_are_joined() -> None:
    assert values("薇信：huan kuan bang", "wechat") == ["huankuanbang"]


@pytest.mark.parametrize("text", ["加油 2024", "加 v 看看", "添加剂 abc", "合作共赢", "加QQ 2851234567", "+VX 一八九 一二零七 三三五六"])
def test_plain_words_after_a_label_are_not_wechat_ids(text: str) -> None:
    assert values(text, "wechat") == []


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("热线 i38 0O13 8O00", "phone", "13800138000"),  # OCR read 1 as i, 0 as O
        ("电话 1🌼3🌼8🌼0🌼0🌼1🌼3🌼8🌼0🌼0🌼0", "phone", "13800138000"),
        ("电话：壹叁捌—零零壹叁—捌零零零", "phone", "13800138000"),
        ("Q群 285123456", "qq", "285123456"),
        ("Q：2✂8✂5✂1✂2✂3✂4✂5✂6", "qq", "285123456"),
        ("纸飞机 @ chandan_pro", "telegram", "@chandan_pro"),
        ("Tele @chandan_pro", "telegram", "@chandan_pro"),
        # round 4: labels as people type them, circled digits, short ids after a WeChat label itself
        ("先办再说，Q号：⑦⑦④⑨⓪②③⑥⑧", "qq", "774902368"),
        ("他的QQ是 2716390548，说我介绍的", "qq", "2716390548"),
        ("花的都能看看，v一下：l-o-a-n-k-u-a-i-9-9", "wechat", "loankuai99"),
        ("停*止*催*收，加*V*：*t*c*8*8*8", "wechat", "tc888"),
        ("薇：dk168", "wechat", "dk168"),
    ],
)
def test_numbers_and_handles_in_disguise(text: str, kind: str, value: str) -> None:
    assert values(text, kind) == [value]


@pytest.mark.parametrize("text", ["微：hello", "v: abcde", "加 ab123", "我的q号是不是丢了", "微信是我的好友"])
def test_short_words_after_labels_are_not_ids(text: str) -> None:
    assert values(text, "wechat") == [] and values(text, "qq") == []
