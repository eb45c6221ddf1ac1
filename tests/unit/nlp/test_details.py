"""The details a customer's words state: order number, contact, when, amount paid.

The phrasings marked "real" are customer messages of the review corpora
(../shared/data/unlabelled_reviews.jsonl.gz, shortened to the sentence that matters);
the others are written like them, for English and for the issue's examples. Each row
says what must be taken, and every slot it does not name must stay empty: a wrong
prefill is worse than a question.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from nlp import Amount, Classifier, Details, When, default_classifier, extract_details

TODAY = date(2026, 11, 30)  # a Monday


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return default_classifier()


def found(classifier: Classifier, text: str) -> dict[str, str]:
    """What was taken, as plain words: O order, C contact, W when (the words), A amount."""
    details = classifier.details(text, TODAY)
    slots = {
        "O": details.order_number,
        "C": details.contact,
        "W": details.occurred.words if details.occurred else None,
        "A": details.amount.text if details.amount else None,
    }
    return {slot: value for slot, value in slots.items() if value is not None}


ROWS = [
    # ------------------------------------------------------------ order numbers
    ("快递一直没到，订单号是 DD20261127001，电话 13912345678", {"O": "DD20261127001", "C": "13912345678"}),
    ("I was charged twice for my order #A-556", {"O": "A-556"}),
    ("我于2008年1月29日下单订购了三本书，其中之一是《杜拉拉升职记》，订单号： 1457306335；", {"O": "1457306335", "W": "2008年1月29日"}),  # real
    ("订单号1411592970都7天了，怎么还没送到？", {"O": "1411592970"}),  # real
    ("2月29中午，平板从京东荣耀旗舰店发货收到（京东订单号：12235689503）", {"O": "12235689503"}),  # real: 11 digits, not a phone
    ("174208675是我的订单编号。由于工作忙，一直没来得及看DVD", {"O": "174208675"}),  # real: the number before its label
    ("订单1444309157 到货就烂了。京东送货说不允许退货。", {"O": "1444309157"}),  # real
    ("6月5号收到一张发票号码：10342543（金额为3217元）属于订单号：4491950", {"O": "4491950", "W": "6月5号"}),  # real: not the invoice number
    ("订单号：19513967161 衣服比实体店的衣服薄，客服素质差", {"O": "19513967161"}),  # real: phone-shaped, but labelled an order number
    ("My order number is 55-88213 and it never came", {"O": "55-88213"}),
    ("订单号应该是 DD002，不是 DD001", {"O": "DD002"}),  # a correction at the review
    ("sorry, the order number should be A-557", {"O": "A-557"}),
    ("订单号：ＤＤ２０２６１１２７００１", {"O": "DD20261127001"}),  # full-width, as some keyboards type
    # ------------------------------------------------------------ contacts
    ("西质量也这么差，京东又把责任推给厂家，我的手机号是18913720126 我姓沈", {"C": "18913720126"}),  # real
    ("15262870953这是我的电话。平板电脑连一张保护膜都没有。", {"C": "15262870953"}),  # real: the label after it
    ("老板你看看你们衣服质量，刚洗一次全部开了，我电话13718139512等看见信息来电话", {"C": "13718139512"}),  # real
    ("真不知道他那里来的好评，如果不相可以打我电话：13873393126", {"C": "13873393126"}),  # real: "他" earlier, "打我电话" right before
    ("6月16晚五点半,下单手机18810547705。根本就没给送", {"C": "18810547705", "W": "6月16晚五点半"}),  # real
    ("请联系我：+86 139-1234-5678", {"C": "+86 139-1234-5678"}),
    ("联系我 0755-86001234", {"C": "0755-86001234"}),
    ("Please email me at li.lei@example.com, the parcel is lost", {"C": "li.lei@example.com"}),
    ("My phone is +44 20 7946 0958", {"C": "+44 20 7946 0958"}),
    # ------------------------------------------------------------ when
    ("我11月6号下的订单，今天还没到！", {"W": "11月6号"}),  # real: "今天还没到" is not when it happened
    ("昨天送来的这本书被我退回，原因是书从中间折断", {"W": "昨天"}),  # real
    ("今天是6月27日，离我住宿2月有余（我与4月12日入住）", {"W": "4月12日"}),  # real: "今天是…" is the date of writing
    ("听朋友说在京东买水果很新鲜：6月18日下单、27日收货、水果已不新鲜", {"W": "6月18日"}),  # real
    ("2016年11月23日买的到2017年1月11日手机无法接打电话", {"W": "2016年11月23日"}),  # real
    ("前天晚上8点半点的外卖，到现在都没送到", {"W": "前天晚上8点半"}),
    ("上周三收到的杯子是碎的", {"W": "上周三"}),
    ("三天前下的单，物流一直没更新", {"W": "三天前"}),
    ("今天下午3点送来的蛋糕是坏的", {"W": "今天下午3点"}),
    ("2026-11-27 买的电饭煲坏了", {"W": "2026-11-27"}),
    ("21日入住，外观还不错。进入房间，发现网口不通", {"W": "21日"}),  # real: a day of the month, something happened on it
    ("不得不差评！我6.17号下的单，到现在还显示缺货", {"W": "6.17号"}),  # real
    ("我们是6/23(一)入住的，我住5楼，房号忘了", {"W": "6/23"}),  # real
    ("I ordered it last Monday and it still hasn't arrived", {"W": "last Monday"}),
    ("The blender broke yesterday", {"W": "yesterday"}),
    ("It was delivered 3 days ago, already broken", {"W": "3 days ago"}),
    ("Received it on 27 November, the box was crushed", {"W": "27 November"}),
    # ------------------------------------------------------------ amounts paid
    ("花了299元买的耳机，一天就坏了", {"A": "¥299"}),
    ("付了¥1,299，收到的是翻新机", {"A": "¥1,299"}),
    ("支付 88.5 块，菜少了一半", {"A": "¥88.5"}),
    ("骗人的！水果都是烂了的！还花了我20元！！！", {"A": "¥20"}),  # real
    ("在拍时就选的有窗房间，可我花的是239元购买的有正式窗户的房间", {"A": "¥239"}),  # real
    ("买来是2980元现在跌到1600元,太离谱了吧", {"A": "¥2,980"}),  # real: the price drop is not what was paid
    ("东西太垃圾了，过期了，花了129，买了一个教训", {"A": "¥129"}),  # real: no unit right after 花了
    ("衣服超垃圾，再也没穿了，30块钱就买了个这垃圾", {"A": "¥30"}),  # real
    ("花了三百块买的，上周三收到", {"A": "¥300", "W": "上周三"}),
    ("I paid $30 for a lamp that doesn't work", {"A": "$30"}),
    ("It cost me 30 dollars and broke in a day", {"A": "$30"}),
]


@pytest.mark.parametrize(("text", "expected"), ROWS, ids=[row[0][:24] for row in ROWS])
def test_details_of_real_phrasings(classifier: Classifier, text: str, expected: dict[str, str]) -> None:
    assert found(classifier, text) == expected


NOTHING = [
    # someone else's number, a hotline, a QQ number, a number nobody claims
    "送外卖的态度极差，电话,13241080757",  # real: the courier's
    "第一次的配送员打翻了我的面；第二次的配送员态度很差，手机号码是：13051325039.",  # real
    "17079501269，是你们的电话吗？我这边刚买完",  # real
    "XP超难装。无奈在网上找个专业的上门搞定。宣传一下：小庄13261821032。",  # real
    "有问题大家可以打宏基的客服电话，4007001000，他们会指导操作",  # real
    "客服010-88210766长期没人接电话;",  # real
    "装好系统了用半个小时容易蓝屏？知道的联系下QQ：252620710！",  # real
    "客服邮箱是 service@shop.example.com，发了三封都没人回",
    "请将邮费凭证及订单号码传真至：010-59222799，我们为您承担一次国内平邮邮寄费用。",  # real: the shop's fax ("我们")
    # tracking, complaint and membership numbers; order labels without an order number
    "查询货运单号竟然显示没有该单号。后来和京东客服联系才知道商家一直没有发货",  # real
    "后来退货写错单号了，快递单号 SF1234567890 也查不到",
    "当即向携程投诉（投诉编号351812），携程很重视",  # real
    "我对以上陈述负责，我的PRIORITY#271153317",  # real
    "订单 3 件只到了 1 件",
    "订单金额 299元，发票一直没开",
    # dates, amounts and numbers that are not an order number, a time or a payment
    "如今天气很热，三天前台都没人",  # jieba: 如今|天气, 三天|前台
    "之前天天打电话都没人接",
    "到今天7月21日下午15：30还没有收到",  # until when, not when it happened
    "今天才来评价，用了一个月屏幕就花了",  # real: the day of writing
    "只是这些赠券不能在星期五、六及日用的",  # real: a rule, not a day
    "宾馆反馈2007年11月30日：关于十楼宽带无法使用",  # real: the hotel's reply
    "京东售后说维修得花1400元，保修期内凭什么收费",  # real: a quote, not paid
    "刚买两天就降价250块，退差价也不给",  # real: a price drop
    "说好的补偿50元一直没到账",
    "浴缸锈到有5块斑点，就像巨型蜘蛛",  # real: 块 counts spots here
    "花了七十多买了一模一样的皮套",  # real: about seventy, not an amount to confirm
    "花了近四小时才装好系统",  # real
    "明天再不到我就投诉",  # the future
    "遥控器要用7号电池，住在3号楼",  # 号 that is no day
    "1点半订的，到了2.47的时候打电话过去说是还在店里",  # real: a time, not a date
    "比不上在菜市场买的5.5元的",  # real: a price, not a payment
    "送的200元东券要再消费5000元才能使用，感觉被套了",  # real
    "I will call the courier tomorrow, this is ridiculous",
    "The shop's hotline is +1 800 555 0199 and nobody answers",
    "may 3 people share one room? the hotel said no",
]


@pytest.mark.parametrize("text", NOTHING, ids=[text[:24] for text in NOTHING])
def test_nothing_is_taken_from_look_alikes(classifier: Classifier, text: str) -> None:
    assert found(classifier, text) == {}


def test_relative_days_are_resolved_against_today(classifier: Classifier) -> None:
    assert classifier.details("昨天晚上收到的", TODAY).occurred == When("昨天晚上", date(2026, 11, 29), relative=True)
    assert classifier.details("上周三", TODAY).occurred == When("上周三", date(2026, 11, 25), relative=True)
    assert classifier.details("三天前", TODAY).occurred == When("三天前", date(2026, 11, 27), relative=True)
    assert classifier.details("last Monday", TODAY).occurred == When("last Monday", date(2026, 11, 23), relative=True)
    assert classifier.details("上个月", TODAY).occurred == When("上个月", None, relative=True)  # no single day
    # a date without its year: the last such day up to today
    assert classifier.details("12月25日买的", TODAY).occurred == When("12月25日", date(2025, 12, 25))
    assert classifier.details("十一月二十七日买的", TODAY).occurred == When("十一月二十七日", date(2026, 11, 27))
    assert classifier.details("13月40日", TODAY).occurred is None


def test_amounts_keep_their_currency_and_value(classifier: Classifier) -> None:
    amount = classifier.details("付了¥1,299.50", TODAY).amount
    assert amount == Amount(Decimal("1299.50"), "CNY", "¥1,299.50") and amount.text == "¥1,299.50"
    assert classifier.details("I was charged €45 twice", TODAY).amount == Amount(Decimal("45"), "EUR", "€45")
    assert classifier.details("一共花了两千五百块", TODAY).amount == Amount(Decimal("2500"), "CNY", "两千五百块")
    assert classifier.details("spent 20 bucks on it", TODAY).amount == Amount(Decimal("20"), "USD", "20 bucks")


def test_without_jieba_the_rules_still_work_but_words_inside_words_are_taken() -> None:
    """The segmentation is what tells 如今|天气 from 今天: without it the rules alone take more."""
    assert extract_details("如今天气很热，三天前台都没人", TODAY).occurred is not None
    assert extract_details("订单号 DD1234，昨天收到", TODAY) == Details("DD1234", None, When("昨天", date(2026, 11, 29), True), None)


def test_several_order_numbers_are_kept_together(classifier: Classifier) -> None:
    assert classifier.details("订单号 11112222 和订单号 33334444 都没到", TODAY).order_number == "11112222, 33334444"


def test_empty_and_long_texts(classifier: Classifier) -> None:
    assert classifier.details("", TODAY) == Details()
    assert not classifier.details("   ", TODAY).found()
    long_text = "等了很久还是没有收到，" * 1000 + "订单号 A12345"
    assert classifier.details(long_text, TODAY).order_number == "A12345"


# ---------------------------------------------------------------------- a detail on its own
@pytest.mark.parametrize(
    "text",
    [
        "订单号 JD99990000",
        "订单号是 X20261127",
        "电话 13700001111",
        "手机 13700001111",
        "我的电话是 13700001111",
        "时间是昨天",
        "订单号应该是 DD002，电话是 13812345678",
        "付了 299元",
        "my phone is 13700001111",
        "order number A-556",
    ],
)
def test_a_detail_with_its_label_and_nothing_else_is_given_on_its_own(text: str) -> None:
    found = default_classifier().details(text, TODAY)
    assert found.found() and found.only_labelled


@pytest.mark.parametrize(
    "text",
    [
        "昨天晚上",  # an answer, but no label: it corrects nothing
        "订单号 DD999888777 的快递员太凶了",  # a sentence that also mentions a number
        "快递一直没到，订单号是 DD20261127001，电话 13912345678",
        "订单号忘了，电话 13700001111",
        "另外快递员电话 13241080757 也打不通",
    ],
)
def test_a_sentence_with_a_detail_is_not_given_on_its_own(text: str) -> None:
    assert not default_classifier().details(text, TODAY).only_labelled
