"""Third round of corpus shapes (issue 14, after blind set v2 was released as development data): what the misses of
both released sets taught, written anew — no released item, phrase or contact is copied here.

* soft pitches whose outcome is told in everyday words no lexicon lists ({result}: "那些陌生来电都会断掉",
  "下次查报告就清清爽爽"), often with a contact and no situation word at all;
* pitches that argue against the alternatives first ({dismiss}: "你自己去谈多半碰一鼻子灰", "那些免费教程没一个管用"):
  warning-like words inside an ad;
* first-person stories that end by passing on the helper's contact, in many lengths;
* comment replies and bios made of a result and a call to action in the newer forms ({cta3}: "关注后私信", "后台踢我",
  "私你");
* hard negatives in the same shapes: ordinary ads and comments with contacts and calls to action (tutoring, second
  hand goods, repairs), borrowers sharing how they negotiated alone, fraud victims, lenders' conduct notices.

Slots (added to ``make_corpus.fill``): ``{result}``, ``{result2}``, ``{dismiss}``, ``{cta3}``, ``{helper}``,
``{biz}``, ``{neg_cta}``.
"""

from __future__ import annotations

import random

RESULTS = {
    "credit_repair": ["下次查报告就清清爽爽", "逾期那一栏会变成空白", "银行审核时看不出来", "贷款经理查不出毛病", "不良那几项会消掉",
                      "一两周就处理好", "查出来跟新开的一样", "信用分慢慢回到正常"],
    "stop_collection": ["那些陌生来电都会断掉", "亲戚朋友不会再被打扰", "公司座机不会再响起找你的", "手机能放心开机了",
                        "通讯录里的人都收不到短信", "晚上不用再关机睡觉", "骚扰短信一条都收不到", "来电提醒清零"],
    "debt_relief": ["月还款压到原来的零头", "每期只还几百块", "欠款拉长到好几年还", "违约金和罚息都能谈掉", "利息冻结不再涨",
                    "还款压力一下子小了", "按你能承受的数来还", "还款计划由你来定"],
    "proxy_complaint": ["多付的那部分会打回你账户", "被扣的费用能一笔笔追回", "退款到账后再结算", "拿不回来不收一分",
                        "搭售的费用全部能退", "附加费用能原路返还", "合同外的收费能讨回来", "平台多拿的要它退出来"],
    "loan_intermediary": ["当天就能放款", "评分低也有地方放", "记录差也照样安排", "流水帮你做好再申请", "额度随你挑",
                          "今天申请今天到", "被银行拒了还有别的通道", "不查信用也能借"],
}
DISMISS = ["网上说只能硬扛是骗你的", "找银行客服只会让你按时还", "别再一个人熬了", "催收那套吓唬人的别当真",
           "你自己去谈多半碰一鼻子灰", "那些免费教程没一个管用", "别被说没办法的人耽误了", "光靠自己跟平台磨没用"]
CTA3 = ["私聊细说", "关注后私信", "评论区留个“了解”", "给我留言", "来问方法", "发个私信给我", "点关注私你方法", "主页找我",
        "后台踢我", "滴我一下", "留言我回你", "想了解的说一声", "找我拿方案", "私你"]
HELPER = ["一个姐姐", "朋友介绍的老师", "一个团队", "一位做这行的大哥", "学姐推荐的人", "专门做这个的工作室"]
BIZ = ["初中数学一对一辅导，提分快", "出闲置iPhone，九成新", "家电维修上门，当天修好", "宠物寄养，每天发视频",
       "装修免费量房出报价", "婚纱照修图，一张十块", "代取快递，一单两块", "钢琴陪练，线上也行", "二手书低价出",
       "手机贴膜换屏，价格公道", "考研资料全套打包", "团购水果，产地直发",
       "汽车划痕修复，上门服务", "旧房翻新墙面修复", "雅思口语陪练，一节五十", "摄影约拍，周末有档期", "搬家拉货，同城两小时到",
       "瑜伽私教，体态调整", "开锁换锁，24小时在线", "美甲上门，款式看主页", "收二手手机电脑，高价回收", "代写简历，当天交稿",
       "自家果园橙子，顺丰包邮", "英语启蒙绘本共读群", "家政保洁，深度清洁", "游戏代练上分，安全不封号", "宿舍神器拼单",
       "租房：两室一厅，拎包入住", "转让健身卡，还剩八个月", "同城交友，真诚的来", "找搭子一起去看演唱会", "小区团购鸡蛋"]
NEG_CTA = ["电话{phone}", "加我 {contact}", "需要的私我", "{cta3}", "联系：{contact}", "微信同号 {phone}", "私信发“1”",
           "有意者{cta}", "懂的来", "主页有方式", "价格私聊", "看我简介"]

SOFT3_TEMPLATES = [
    "{result}。{dismiss}，交给我们，{cta3}", "{vague}？{result}，{contact}", "不出一个月，{result}，沟通的事我们来。{contact}",
    "{dismiss}。{third}帮你{offer}，{result2}。{cta3}", "手续我们全包，你等结果就行，{result}。{contact}",
    "{result}，不满意不收钱，{cta3}", "做这行{n}年了，交给我们，{result}。{contact}",
    "{vague}的看这里，{result}，{cta2}", "{result}。同样情况的，{cta3}",
]
STORY3_TEMPLATES = [
    "{sit}那段时间，我连门都不敢出。后来{helper}帮我处理了，{result}。现在慢慢在还，{cta3}",
    "分享一下：{sit}，{sit2}，自己怎么谈都没用。朋友介绍了{helper}，一个月后{result}。需要的{cta3}",
    "我{sit}，本来以为完了。{helper}说能处理，我半信半疑，结果{result}。跟我一样的，{cta3}",
    "{sit}整整两年，今天想写下来。{dismiss}，是{helper}帮的我，{result}，{result2}。谁需要{contact}",
    "说个真事：同事{sit}，找了{helper}，{result}。他让我帮忙转给需要的人，{contact}",
]
COMMENT3_TEMPLATES = [
    "{result}，{cta3}", "我去年也这样，托人弄了，{result}，{cta3}", "你这种{result}的，{cta3}",
    "{dismiss}，我们能做，{cta3}", "{vague}能处理，{result}，{contact}", "楼主这个有办法，{cta3}",
    "{offer}，{contact}",
]
BIO3_TEMPLATES = ["专注{vague}｜{result}｜服务过{n}000+客户", "{vague}｜{result}｜{cta3}", "专做{vague}｜{result2}｜{contact}"]

NEG3 = {
    "biz_contact": ["{biz}，{neg_cta}", "{biz}！{neg_cta}", "【{biz}】{neg_cta}", "{biz}｜{neg_cta}",
                    "{biz}，{neg_cta}，{neg_cta2}"],
    "comment_cta_neg": ["求同款链接，私你了", "回关我发你教程", "扣1拉你进减肥群", "同问，求资源，私我", "楼主好厉害，已关注",
                        "这个滤镜叫什么，私信说一声", "骗子别来私信我", "已私，看一下", "私信你了，求回",
                        "蹲一个链接，滴滴我", "回关了，互相学习",
                        "同城的可以加我一起跑步", "求带，私我", "这个教程在哪，私发我一下", "{biz}？私你了", "我也要，扣1"],
    "borrower3": [
        "{sit}，打了{bank}的客服热线，按提示交了材料，现在等审核，先记下来", "{sit}，去网点柜台问了，说本人可以申请延期，要带身份证",
        "{sit}，整理了自己跟银行沟通的要点：讲清收入变化、提出能承受的数、要书面确认，给同样情况的人参考",
        "{sit}，有没有人自己跟{bank}谈成过？想知道要准备哪些材料", "自救第{n}个月，{bank}同意了我的还款计划，就是一遍遍打电话，没找任何人",
    ],
    "victim3": [
        "网上看到说能{offer}，对方要我先转{amt}保证金，转完就被拉黑了", "加了一个自称老师的人，交钱进群学上岸方法，进去全是广告，钱要不回",
        "那家公司说包{result}，合同签了钱也交了，三个月过去什么都没变", "对方说{result}，让我先付一半，付完再也联系不上",
    ],
    "lender3": [
        "【{bank}】我行不会委托任何第三方收取代办费用，如有疑问请致电官方客服", "{bank}关于贷后工作的说明：合作机构须文明沟通，客户可通过官方渠道反映",
        "【{bank}】您的协商申请已受理，结果以短信通知，请勿相信任何收费代办",
    ],
}
AD_KINDS3 = {
    "soft3": (SOFT3_TEMPLATES, 500), "story3": (STORY3_TEMPLATES, 300), "comment3": (COMMENT3_TEMPLATES, 350),
    "bio3": (BIO3_TEMPLATES, 150),
}


def slots(rng: random.Random, cat: str) -> dict:
    """The slots these templates add to ``make_corpus.fill``."""
    pick = rng.choice
    return {
        "result": lambda: pick(RESULTS[cat]), "result2": lambda: pick(RESULTS[cat]), "dismiss": lambda: pick(DISMISS),
        "cta3": lambda: pick(CTA3), "helper": lambda: pick(HELPER), "biz": lambda: pick(BIZ),
        "neg_cta": lambda: pick(NEG_CTA), "neg_cta2": lambda: pick(NEG_CTA),
    }
