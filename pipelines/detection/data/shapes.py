"""More shapes of ads and hard negatives for the corpus (issue 14, after blind set v1 was released as development
data): what its misses taught, written anew — no blind item is copied here.

* soft pitches built from their structure: a vague situation ("那份报告", "那些电话"), what a third party will do
  about it (an *offer*: "我们能处理掉", "让他们不再打给你"), a call to action in the forms people type
  ("dd我", "扣1", "简介有方式", "吱一声");
* comment replies and bios that carry only an offer or a plain service word and a call to action;
* pinyin written out in full for offers and situations, not only for lexicon terms;
* English code-switching with the service named in English; dialect offers; text cut by separators;
* hard negatives in the same shapes: comments and bios that use the words without selling, victims'
  complaints, lenders' notices to one customer, exposés.

``make_corpus`` adds these templates to its kinds; the parts are filled by its ``fill`` (slots ``{sit}``,
``{contact}``, ``{svc}`` …) plus the slots defined here (``{offer}``, ``{vague}``, ``{cta2}``, ``{en_svc}``,
``{en_cta}``, ``{dial}``).
"""

from __future__ import annotations

import random

OFFERS = {
    "credit_repair": ["那几条记录我们能处理掉", "下次再查就是干净的", "报告上的红字可以去掉", "记录能弄没",
                      "报告能整干净", "半个月后再打一份看看", "呆账能消", "那条逾期可以不显示"],
    "stop_collection": ["让那边不再打给你", "电话一个都进不来", "家里人不会再接到电话", "让他们闭嘴",
                        "明天起就清净了", "他们不敢再打", "通讯录的人不会被骚扰", "我们去跟他们说"],
    "debt_relief": ["帮你跟银行谈", "每个月只还一点点", "分成几十期慢慢还", "利息不再往上涨", "月供能降一大半",
                    "我们替你去谈", "帮你谈个60期", "本金之外的能免掉"],
    "proxy_complaint": ["多交的钱能要回来", "那笔保险费能原路退", "服务费可以追回", "我们替你去投诉",
                        "钱能让平台吐出来", "到账再分成", "会员费能退", "保费退了再收佣金"],
    "loan_intermediary": ["不看报告也能拿到钱", "当天钱到账", "被拒过也能批", "秒批秒放", "黑白户都能做",
                          "走内部通道", "有口子", "包下"],
}
VAGUE = {
    "credit_repair": ["那份报告", "报告上那几条", "以前的记录", "查询太多", "那条逾期"],
    "stop_collection": ["那些电话", "天天打你电话的人", "打到单位的电话", "通讯录被爆", "上门的"],
    "debt_relief": ["欠银行的钱", "信用卡还不上", "每个月还不起", "利滚利", "十几家网贷"],
    "proxy_complaint": ["借款时被搭售的保险", "合同里的服务费", "被扣的会员费", "多收的利息", "担保费"],
    "loan_intermediary": ["到处被拒", "急用钱", "大数据花了", "分不够", "记录不好"],
}
CTA2 = ["dd我", "滴滴", "扣1", "回1", "主页有方式", "简介里有", "戳我", "吱一声", "来聊", "飞机联系", "私", "私我",
        "小绿泡泡找我", "评论区留个字", "看我主页", "点头像", "有问必回", "拉你进群", "私信备注来意", "24h在线"]
EN_SVC = ["debt negotiation", "credit repair", "anti-collection", "refund service", "loan agent", "credit optimization",
          "blacklist removal", "debt restructuring", "stop collection calls", "fast approval loan"]
EN_CTA = ["DM me", "inbox me", "add me", "PM", "text me", "DM", "contact us", "WeChat me"]
DIAL = {
    "credit_repair": ["帮你搞返干净", "给你拾掇得溜干净", "整得巴巴适适", "弄白咗"],
    "stop_collection": ["一个礼拜搞掂佢哋", "给你整得安安静静", "帮你拦到起", "唔会再烦你"],
    "debt_relief": ["帮你同银行倾", "帮你跟平台扯", "分好多期慢慢还", "利息停到起"],
    "proxy_complaint": ["帮你攞返啲钱", "帮你往上头告", "钱要回来再分", "退咗先收"],
    "loan_intermediary": ["都有得批", "照样整得下来", "搞得到钱", "冇问题借到"],
}
SEPARATORS = ["|", "/", "-", "🚫", "✖️", "·", "＊", " "]

SOFT2_TEMPLATES = [
    "{vague}的问题，{offer}，{cta2}", "{vague}？别自己扛，{offer}。{contact}", "还在为{vague}发愁？{offer}，{cta2}",
    "{vague}也没关系，{offer}，想知道怎么做的{cta2}", "{offer}，前提是你得先找到我，{cta2}",
    "{sit}的看过来，{offer}，不成功不收费 {contact}", "上周刚帮一个{vague}的客户处理完，{offer}，{cta2}",
    "{vague}？{offer}，{offer2}，{contact}",
]
COMMENT2_TEMPLATES = [
    "你这种{offer}，{cta2}", "楼主，{offer}，{cta2}", "同样情况，后来找人{offer2}，需要的{cta2}", "{svc}可以的，{cta2}",
    "{vague}能处理，{cta2}", "这个能做，{cta2} {contact}", "我朋友就做这个，{offer}，{cta2}", "别等了，{offer}，{contact}",
]
BIO2_TEMPLATES = [
    "{svc}｜{offer}｜{cta2}", "帮{vague}的人{offer2}｜{contact}", "{en_svc}｜{svc}｜{cta2}", "{offer}｜一对一｜{cta2}",
    "前银行员工｜{offer}｜{contact}",
]
PINYIN2_TEMPLATES = ["{offer}，{cta2}", "{vague}？{offer}，{contact}", "{svc}，{offer}，{cta2}"]
EN2_TEMPLATES = [
    "{sit}? 我们做 {en_svc}，{offer}，{en_cta}", "{en_svc} team 在线，{vague} 也 OK，{en_cta} {contact}",
    "Need help with {vague}? {en_svc} 专业 team，{en_cta}", "{vague} 太烦？our {en_svc} 能 handle，{en_cta}",
]
DIALECT2_TEMPLATES = ["{vague}？莫慌，{dial}，{cta2}", "{vague}唔使惊，{dial}，{contact}", "{vague}咋整？找俺，{dial}，{cta2}"]
SPLIT_TEMPLATES = ["{svc}{cta2}", "{offer}{cta2}", "{svc}找我", "{vague}能处理{cta2}"]

NEG2 = {
    "comment_neg": [
        "我也是{sit}，同问怎么办", "楼主别信私信你的那些人，都是骗钱的", "{vague}自己打银行电话谈就行，不用找人",
        "同病相怜，我也在慢慢还，加油", "这种私信说能{offer2}的，我交了钱就被拉黑了", "评论区那些说能帮你的都是骗子，别信",
        "我自己跟{bank}谈的分期，没花钱，你也试试打客服", "上岸了！自己一笔笔还完的",
    ],
    "bio_neg": ["考研上岸 | 记录生活", "负债{amt}自救日记｜不卖课不带货", "反诈志愿者｜专门曝光{svc}骗局",
                "银行客服｜只通过官方渠道办理", "律师｜金融借款纠纷｜不做任何代理退费", "还债第{n}年｜分享自己怎么跟银行谈"],
    "lender_notice": [
        "您的分期申请已审核通过，分{y}0期，请按新还款计划按时还款，如有疑问请联系您的专属客户经理",
        "【{bank}】您申请的延期还款已办理，利息按合同计算，请按时还款，切勿委托第三方",
        "尊敬的客户，您的保险退保申请已受理，退款将原路退回，本行不收取任何费用",
    ],
    "victim2": [
        "签了{svc}服务协议，付了{amt}，说好{offer2}，现在毫无进展，对方拒绝退款，能起诉吗",
        "投诉：某公司以“{svc}”为由收取服务费{amt}，平台未收到任何协商，现要求全额退款",
        "曝光这家说能{offer2}的，收钱后就失联了，大家别上当",
    ],
    "expose": ["起底“{svc}”产业链：收费数千元，办的都是银行免费业务", "起底{svc}中介：承诺{offer2}，收费后失联",
               "调查｜“{offer2}”的广告背后：一条{svc}灰色产业链"],
}


def slots(rng: random.Random, cat: str) -> dict:
    """The slots these templates add to ``make_corpus.fill``."""
    pick = rng.choice
    return {
        "offer": lambda: pick(OFFERS[cat]), "offer2": lambda: pick(OFFERS[cat]), "vague": lambda: pick(VAGUE[cat]),
        "cta2": lambda: pick(CTA2), "en_svc": lambda: pick(EN_SVC), "en_cta": lambda: pick(EN_CTA),
        "dial": lambda: pick(DIAL[cat]),
    }


def split_chars(rng: random.Random, text: str) -> str:
    """One character per piece, cut by one separator (a line break, a bar, an emoji …)."""
    return rng.choice(SEPARATORS + ["\n"]).join(text)


AD_KINDS2 = {
    "soft2": (SOFT2_TEMPLATES, 500), "comment2": (COMMENT2_TEMPLATES, 350), "bio2": (BIO2_TEMPLATES, 200),
    "pinyin2": (PINYIN2_TEMPLATES, 250), "codeswitch2": (EN2_TEMPLATES, 200), "dialect2": (DIALECT2_TEMPLATES, 150),
    "split": (SPLIT_TEMPLATES, 150),
}
