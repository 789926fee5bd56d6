"""Third round of corpus shapes (issue 14, after blind set v2 was released as development data): what the misses of
both released sets taught, written anew — no released item, phrase or contact is copied here.

* soft pitches whose outcome is told in everyday words no lexicon lists ({result}: "那些号码再也打不进来",
  "再打一份报告就看不到了"), often with a contact and no situation word at all;
* pitches that argue against the alternatives first ({dismiss}: "自己去谈银行不会理你", "别听网上说只能等"):
  warning-like words inside an ad;
* first-person stories that end by passing on the helper's contact, in many lengths;
* comment replies and bios made of a result and a call to action in the newer forms ({cta3}: "私你了", "回关我发你",
  "问我要方式");
* hard negatives in the same shapes: ordinary ads and comments with contacts and calls to action (tutoring, second
  hand goods, repairs), borrowers sharing how they negotiated alone, fraud victims, lenders' conduct notices.

Slots (added to ``make_corpus.fill``): ``{result}``, ``{result2}``, ``{dismiss}``, ``{cta3}``, ``{helper}``,
``{biz}``, ``{neg_cta}``.
"""

from __future__ import annotations

import random

RESULTS = {
    "credit_repair": ["再打一份报告就看不到那几行了", "银行再查就是一张白纸", "那几条记录像没发生过一样", "下个月报告就漂漂亮亮",
                      "面签的时候再没人提那几条", "报告上的红色全没了", "那些不好看的都不显示了", "过一阵子再查就干净了"],
    "stop_collection": ["那些号码再也打不进来", "单位前台再没接到过找你的电话", "手机从早到晚安安静静", "爸妈那边一个电话都没再接到",
                        "群里那些照片当天就撤了", "陌生号码一个都不来了", "晚上终于能睡个整觉", "让那些电话一个个消失"],
    "debt_relief": ["每个月只剩一个小数目要还", "从每月还一万多变成一千出头", "剩下的钱够你好好吃饭", "欠的分成五年慢慢还",
                    "罚息违约金一笔勾销", "利息不再往上滚", "还款日不再是噩梦", "一座山拆成一块块小石头"],
    "proxy_complaint": ["那笔钱原路回到你卡上", "多扣的部分一分不少退给你", "回来了再分，回不来不收", "到账了再给辛苦费",
                        "合同里那笔冤枉钱能拿回来", "上周又有人到账三千多", "被捆绑的那几千块能吐出来", "先退后付"],
    "loan_intermediary": ["今天就能拿到钱", "不看那张纸也能批", "被拒了照样到账", "有门路拿到钱", "两小时钱就到卡上",
                          "记录再差也有人放", "资料帮你弄好再递上去", "额度三到二十万随便挑"],
}
DISMISS = ["别信那些说只能等五年的", "自己打电话银行根本不理你", "别听网上说没用", "催收本来就是违规的，别怕",
           "不是让你逃，是帮你体面地还", "网上那些教程都没用", "自己去谈只会被敷衍", "别自己硬扛了"]
CTA3 = ["私你了", "回关我发你", "问我要方式", "留个言我来找你", "评论区扣1我私信你", "想知道路子的滴滴我", "明天统一回",
        "主页置顶有方式", "戳我头像", "私信发个“1”", "需要的说一声", "我把人推给你", "看我简介", "加我聊"]
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
    "{result}。{dismiss}，交给我们，{cta3}", "{vague}？{result}，{contact}", "从今天起，{result}，我们去跟他们说。{contact}",
    "{dismiss}。{third}帮你{offer}，{result2}。{cta3}", "你只要把资料发过来，剩下的我们来，{result}。{contact}",
    "{result}，不满意不收钱，{cta3}", "这种事我们见多了，交给我们，{result}。{contact}",
    "{vague}的看这里，{result}，{cta2}", "{result}。你也想这样的话，{cta3}",
]
STORY3_TEMPLATES = [
    "{sit}那段时间，我连门都不敢出。后来{helper}帮我处理了，{result}。现在慢慢在还，{cta3}",
    "分享一下：{sit}，{sit2}，自己怎么谈都没用。朋友介绍了{helper}，一个月后{result}。需要的{cta3}",
    "我{sit}，本来以为完了。{helper}说能处理，我半信半疑，结果{result}。跟我一样的，{cta3}",
    "{sit}第二年，终于敢说出来。{dismiss}，是{helper}帮的我，{result}，{result2}。谁需要{contact}",
    "说个真事：同事{sit}，找了{helper}，{result}。他让我帮忙转给需要的人，{contact}",
]
COMMENT3_TEMPLATES = [
    "{result}，{cta3}", "我之前也是，后来找人处理了，{result}，{cta3}", "你这种{result}的，{cta3}",
    "{dismiss}，我们能做，{cta3}", "{vague}能处理，{result}，{contact}", "姐妹你这个情况能弄的，{cta3}",
    "{offer}，{contact}",
]
BIO3_TEMPLATES = ["{result}的人｜已帮{n}000+家庭", "{vague}｜{result}｜{cta3}", "专做{vague}｜{result2}｜{contact}"]

NEG3 = {
    "biz_contact": ["{biz}，{neg_cta}", "{biz}！{neg_cta}", "【{biz}】{neg_cta}", "{biz}｜{neg_cta}",
                    "{biz}，{neg_cta}，{neg_cta2}"],
    "comment_cta_neg": ["求同款链接，私你了", "回关我发你教程", "扣1拉你进减肥群", "同问，求资源，私我", "楼主好厉害，已关注",
                        "我也想知道，明天统一回吗", "这个滤镜叫什么，私信说一声", "别私信我了，不需要，谢谢", "骗子别来私信我",
                        "已私，看一下", "私信你了，求回", "楼上的不要乱加人", "蹲一个链接，滴滴我", "回关了，互相学习",
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
