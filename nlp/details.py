"""Details a customer already gave in their own words: order number, contact, when, amount.

:func:`extract_details` reads a complaint's free text (Chinese or English) with rules:
regular expressions for the shapes (numbers, codes, dates, amounts) and the words around
them for what they are, plus jieba's segmentation (``cut``) so that a time word is only
taken where it is a word of its own ("如今天气" has no 今天, "三天前台" no 三天前).

Precision comes first: a detail put in the customer's mouth is worse than a question.
So a value needs its label or cue next to it ("订单号 1457306335", "我的电话 139…",
"花了299元"), and look-alikes are left alone: tracking and invoice numbers, someone
else's phone ("配送员手机号码是 130…", "客服电话 400…"), dates and amounts after an
order label, refunds and price drops, "到今天还没到" (not when it happened).

Pure: no I/O; the caller passes today's date for relative words ("昨天", "last Monday").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

Cut = Callable[[str], list[str]]
"""Segments a text into words (jieba's ``cut`` without HMM)."""

MAX_ORDER_LENGTH = 64

# ---------------------------------------------------------------------- normalising
_FULLWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_FULLWIDTH.pop(0xFF08), _FULLWIDTH.pop(0xFF09)  # keep "（）": they end clauses like "，"


def _halfwidth(text: str) -> str:
    """Full-width digits, letters and signs as ASCII (same length: spans stay valid)."""
    return text.translate(_FULLWIDTH)


_SENTENCE_END = "。！？!?\n；;"
_CLAUSE_END = _SENTENCE_END + "，,、（）()"


def _sentence_before(text: str, start: int, limit: int) -> str:
    """The text before ``start`` back to the sentence's start (at most ``limit`` characters)."""
    begin = start
    while begin > 0 and start - begin < limit and text[begin - 1] not in _SENTENCE_END:
        begin -= 1
    return text[begin:start]


def _sentence_after(text: str, end: int, limit: int) -> str:
    stop = end
    while stop < len(text) and stop - end < limit and text[stop] not in _SENTENCE_END:
        stop += 1
    return text[end:stop]


def _clause_before(text: str, start: int, limit: int) -> str:
    begin = start
    while begin > 0 and start - begin < limit and text[begin - 1] not in _CLAUSE_END:
        begin -= 1
    return text[begin:start]


# ---------------------------------------------------------------------- what comes out
@dataclass(frozen=True, slots=True)
class When:
    """When it happened: the customer's words, and the day they mean when that is clear."""

    words: str
    day: date | None = None
    relative: bool = False  # the words need today to be understood ("昨天", "3 days ago")


@dataclass(frozen=True, slots=True)
class Amount:
    """An amount the customer paid."""

    value: Decimal
    currency: str  # ISO code: CNY, USD, EUR, GBP
    words: str

    @property
    def text(self) -> str:
        """The amount with its currency sign: "¥1,299", "$30", "¥88.5"."""
        sign = _CURRENCY_SIGNS.get(self.currency, self.currency + " ")
        return f"{sign}{self.value:,}"


@dataclass(frozen=True, slots=True)
class Details:
    """What :func:`extract_details` found; None where the text does not say it clearly."""

    order_number: str | None = None
    contact: str | None = None
    occurred: When | None = None
    amount: Amount | None = None
    only_labelled: bool = False
    """The text is nothing but these details next to their labels ("订单号 JD9999",
    "电话 137…", "时间是昨天", "订单号改成 X，电话 137…"): a detail given on its own."""

    def found(self) -> bool:
        return any(v is not None for v in (self.order_number, self.contact, self.occurred, self.amount))


def extract_details(text: str, today: date, cut: Cut | None = None) -> Details:
    """The details ``text`` states clearly (see the module's docstring); ``today`` resolves
    relative days; with ``cut`` a time word must be a word of the segmentation."""
    plain = _halfwidth(text)
    found = Details(
        order_number=_order_number(plain),
        contact=_contact(plain),
        occurred=_occurred(plain, today, cut),
        amount=_amount(plain),
    )
    if found.found() and _only_labelled(plain, found):
        return replace(found, only_labelled=True)
    return found


# ---------------------------------------------------------------------- order numbers
_CODE = r"[A-Za-z0-9](?:[A-Za-z0-9_/-]{0,62}[A-Za-z0-9])?"  # bounded: no quadratic backtracking on long runs
_ORDER_LABEL_ZH = r"订单编号|订单号码|订单号|订单|定单号|定单|单号"
_ORDER_LABEL_EN = r"\border\s*(?:number|num|no\.?|id|#)|\border\b|\bord\s*#"
_ORDER_RE = re.compile(
    rf"(?P<label>{_ORDER_LABEL_ZH}|{_ORDER_LABEL_EN})"
    r"(?:\s*(?:(?:应该|应|其实|实际上?|改|更正)?(?:是|为|成)|:|#|no\.?|number|(?:should be|is)|:)){0,2}\s*"
    rf"(?P<value>{_CODE})(?![A-Za-z0-9]|[_/-][A-Za-z0-9])",  # the whole code or nothing
    re.IGNORECASE,
)
_ORDER_BEFORE_LABEL_RE = re.compile(
    rf"(?<![A-Za-z0-9_/-])(?P<value>{_CODE})\s*(?:是|就是)?\s*(?:我的|我们的)?(?:{_ORDER_LABEL_ZH})(?![A-Za-z0-9])"
)
# a number with these around it is a tracking, invoice or complaint number, not the order's
_NOT_ORDER_BEFORE = re.compile(r"(?:快递|运|物流|货运|快件|退货|发票|投诉|取件|寄件|会员|快递公司的)$")
# ...or a quantity, an amount or a date after an order label ("订单 3 件", "订单 299元")
_UNIT_AFTER = re.compile(
    r"^\s*(?:元|块|圆|件|个|天|日|号|月|年|周|小时|分钟|%|多|余|人|次|台|本|张|份|单|箱|kg|斤"
    r"|dollars?|bucks|usd|rmb|yuan|euros?|items?|pcs|pieces|days?|weeks?|months?|years?|hours?|times)",
    re.IGNORECASE,
)
_ORDER_NUMBER_LABEL = re.compile(r"订单编号|订单号码|订单号|定单号|order\s*(?:number|num|no\.?|id|#)", re.IGNORECASE)
_DATE_LIKE = re.compile(r"^(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}(?:[-/.]\d{2,4})?)$")


def _order_number(text: str) -> str | None:
    found: list[str] = []
    for match in _order_candidates(text):
        value = match.group("value")
        if value not in found and _looks_like_order(text, match):
            found.append(value)
    joined = ", ".join(found)
    return joined if found and len(joined) <= MAX_ORDER_LENGTH else (found[0] if found else None)


def _order_candidates(text: str) -> Iterator[re.Match[str]]:
    matches = [*_ORDER_RE.finditer(text), *_ORDER_BEFORE_LABEL_RE.finditer(text)]
    return iter(sorted(matches, key=lambda m: m.start("value")))


def _looks_like_order(text: str, match: re.Match[str]) -> bool:
    value = match.group("value")
    if not 4 <= len(value) <= MAX_ORDER_LENGTH or not any(c.isdigit() for c in value):
        return False
    if _DATE_LIKE.match(value) or _SERVICE_NUMBER_ONLY.match(value):
        return False
    if _MOBILE_ONLY.match(value) and not _ORDER_NUMBER_LABEL.fullmatch(match.groupdict().get("label") or ""):
        return False  # "订单 139…": a phone after a loose label; "订单号：19513967161" is an order number
    if _UNIT_AFTER.match(text[match.end("value") :]):
        return False
    if "label" in match.groupdict() and match.group("label") is not None:
        # "快递单号 / 运单号 / 发票号码…属于订单号": only the order's own label counts
        if _NOT_ORDER_BEFORE.search(text[max(0, match.start("label") - 5) : match.start("label")]):
            return False
    return True


# ---------------------------------------------------------------------- contacts
_MOBILE = r"(?:\+?86[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}){2}"
_MOBILE_ONLY = re.compile(rf"^{_MOBILE}$")
_SERVICE_NUMBER = r"[48]00[\s-]?\d{3}[\s-]?\d{4}"
_SERVICE_NUMBER_ONLY = re.compile(rf"^{_SERVICE_NUMBER}$")
_LANDLINE = r"(?:\(0\d{2,3}\)\s?|0\d{2,3}[\s-])\d{7,8}"
_INTERNATIONAL = r"\+(?!86)\d{1,3}[\s-]?(?:\(\d{1,4}\)[\s-]?)?\d{2,4}(?:[\s-]?\d{2,4}){1,3}"
_NORTH_AMERICAN = r"\(\d{3}\)\s?\d{3}[\s.-]\d{4}|\d{3}[.-]\d{3}[.-]\d{4}"
_EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
_CONTACT_RE = re.compile(
    rf"(?<![A-Za-z0-9_@.+-])(?:(?P<email>{_EMAIL})|(?P<service>{_SERVICE_NUMBER})|(?P<phone>{_MOBILE}|{_LANDLINE}|{_INTERNATIONAL}|{_NORTH_AMERICAN}))(?![A-Za-z0-9_@])"
)
# whose number it is: someone else's ("配送员手机号码是", "客服电话", "call the shop at")
_SOMEONE_ELSE = re.compile(
    r"配送员|送餐员|外卖员|快递员|快递小哥|小哥|骑手|司机|师傅|客服|商家|卖家|店家|店主|老板|售后|服务站|维修点|网点|前台|酒店|经理|"
    r"门店|热线|官方|对方|他们|你们|他的|她的|他|她|送外卖的|送餐的|送货的|"
    r"courier|driver|rider|seller|shop|store|support|service|hotline|agent|their|his|her\b|him\b",
    re.IGNORECASE,
)
# ...and the customer's own: a label right before, or "我" / "me" around it
_CONTACT_LABEL = re.compile(
    r"(?:联系电话|联系方式|手机号码|手机号|电话号码|电话|手机|邮箱|电邮|email|e-mail|phone|mobile|cell|tel\.?|contact|whatsapp)"
    r"(?:\s*(?:是|为|:|number|no\.?|is|at))*\s*$",
    re.IGNORECASE,
)
_MINE = re.compile(
    r"我(?!们)|本人|call me|reach me|contact me|text me|email me|mail me|\bmy\b|\bme\b|\bI\b",
    re.IGNORECASE,
)


def _contact(text: str) -> str | None:
    for match in _CONTACT_RE.finditer(text):
        if match.group("service") is not None:
            continue  # a company's hotline (400 / 800), never the customer's
        if _orders_label_before(text, match.start()):
            continue
        value = " ".join((match.group("email") or match.group("phone")).split())
        clause = _clause_before(text, match.start(), 12)
        if _SOMEONE_ELSE.search(clause):
            continue  # "他的电话 138…"
        if _MINE.search(clause):
            return value  # "打我电话：138…", even after others were mentioned
        before = _sentence_before(text, match.start(), 24)
        after = _sentence_after(text, match.end(), 12)
        if _SOMEONE_ELSE.search(before) or _SOMEONE_ELSE.search(after):
            continue  # "送外卖的态度极差，电话,132…", "170…，是你们的电话吗"
        if _CONTACT_LABEL.search(clause) or _MINE.search(before) or _MINE.search(after):
            return value
    return None


def _orders_label_before(text: str, start: int) -> bool:
    return re.search(rf"(?:{_ORDER_LABEL_ZH}|order)\s*(?:是|为|:|#|no\.?|number|is)?\s*$", text[max(0, start - 12) : start], re.IGNORECASE) is not None


# ---------------------------------------------------------------------- when
_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_NUM = r"[零〇一二两三四五六七八九十]+"
_NUM = rf"(?:\d{{1,2}}|{_CN_NUM})"
_WEEKDAYS_ZH = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": 5}
_WEEKDAYS_EN = {name: i for i, name in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))}
_MONTHS_EN = {
    name: i
    for i, names in enumerate(
        (("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",), ("june", "jun"),
         ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"), ("december", "dec")),
        start=1,
    )
    for name in names
}
_EVENT_AFTER = (
    r"\s*(?:早上|早晨|上午|中午|下午|傍晚|晚上|夜里|凌晨|晚|下的单|下的订单|下单|订的|买的|买了|购买|收到|收货|到货|签收|发货|送到|"
    r"入住|退房|的订单|就|才)"
)
_DAYPART = r"(?:早上|早晨|上午|中午|下午|傍晚|晚上|夜里|半夜|凌晨|晚|早)?"
_CLOCK = rf"(?:{_NUM}\s*(?:点|:)\s*(?:半|{_NUM}\s*分?(?::\d\d)?)?)?"
_MONTH_NAMES = "|".join(sorted(_MONTHS_EN, key=len, reverse=True))
_WEEKDAY_NAMES = "|".join(_WEEKDAYS_EN)
_WHEN_RE = re.compile(
    "|".join(
        (
            rf"(?P<ymd>(?P<y>20\d\d|19\d\d)\s*[-/.年]\s*(?P<m>\d{{1,2}})\s*[-/.月]\s*(?P<d>\d{{1,2}})\s*[日号]?)",
            rf"(?P<md>(?P<m2>{_NUM})\s*月\s*(?P<d2>{_NUM})\s*[日号]?)(?![\d元块天个件])",
            # a day without its month, only when something happened on it: "21日入住", "17号就被代收了"
            # (not "6号房", "7号电池", "3号楼")
            rf"(?P<dom>(?<![\d月.\-/])(?P<d3>\d{{1,2}})\s*[日号])(?={_EVENT_AFTER})",
            # month.day or month/day with 日, or when something happened on it: "3.10日才收到", "6/23(一)入住"
            # (not "2.47的时候", "5.5元")
            rf"(?P<mdot>(?<![\d.\-/])(?P<m4>\d{{1,2}})[./](?P<d4>\d{{1,2}})(?:\s*[日号]|(?=\s*(?:[(（][一二三四五六日天][)）])?{_EVENT_AFTER})))",
            r"(?P<rel>大前天|前天|昨天|昨晚|昨日|今早|今晚|(?:今天|今日)(?=\s*(?:早上|早晨|上午|中午|下午|傍晚|晚上|夜里|凌晨|\d|[一二三四五六七八九十]+点)))",
            rf"(?P<week>(?:(?P<which>上上|上|这|本)(?:个)?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天末]))"
            rf"|(?:周|星期|礼拜)(?P<wd_bare>[一二三四五六日天])(?=\s*(?:早上|早晨|上午|中午|下午|傍晚|晚上|夜里|凌晨|那天)))",
            r"(?P<lastweek>上(?:个)?(?:周|星期|礼拜)|上个月)",
            rf"(?P<ago>(?P<n>\d{{1,3}}|{_CN_NUM}|几|半)\s*(?:个)?\s*(?P<unit>天|日|周|星期|礼拜|月|年|小时)\s*(?:之|以)?前)",
            r"(?P<en_rel>\bthe day before yesterday\b|\byesterday\b|\blast night\b|\bthis (?:morning|afternoon|evening)\b|\btoday at \d{1,2}(?::\d\d)?\s*(?:am|pm)?)",
            rf"(?P<en_week>\b(?:last|on|this past) (?P<en_wd>{_WEEKDAY_NAMES})\b)",
            r"(?P<en_last>\blast (?:week|month)\b)",
            rf"(?P<en_ago>\b(?P<en_n>\d{{1,3}}|a|an|one|two|three|four|five|six|seven|eight|nine|ten|a few|few|several)\s+(?P<en_unit>days?|weeks?|months?|hours?)\s+ago\b)",
            rf"(?P<en_md>\b(?P<en_mon>{_MONTH_NAMES})\.?\s+(?P<en_d>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<en_y>20\d\d))?)",
            rf"(?P<en_dm>\b(?P<en_d2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<en_mon2>{_MONTH_NAMES})\b\.?(?:,?\s+(?P<en_y2>20\d\d))?)",
        )
    ),
    re.IGNORECASE,
)
_DAYPART_AFTER = re.compile(rf"^\s*{_DAYPART}\s*{_CLOCK}")
_EN_DAYPART_AFTER = re.compile(r"^(?:\s+(?:morning|afternoon|evening|night)|\s+at\s+\d{1,2}(?::\d\d)?\s*(?:am|pm)?|\s+around\s+\d{1,2}(?::\d\d)?\s*(?:am|pm)?)", re.IGNORECASE)
# "到今天还没到", "今天已经是第五天": not when it happened, how long it lasts
_UNTIL_BEFORE = re.compile(r"(?:到|至|直到|截至|截止|今天是|今天|现在是|反馈|回复|回应|点评|until|till|as of|today is)\s*$", re.IGNORECASE)
_STILL_AFTER = re.compile(r"^\s*(?:还|仍|也|都|依然|依旧|已经是|是第|为止|still)", re.IGNORECASE)
_EN_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}


def _cn_number(text: str) -> int | None:
    """"二十七" → 27, "十一" → 11, "3" → 3; None for what is not a small number."""
    if text.isdigit():
        return int(text)
    if "十" not in text:
        return _CN_DIGITS.get(text) if len(text) == 1 else None
    tens, _, units = text.partition("十")
    value = (_CN_DIGITS.get(tens, -100) if tens else 1) * 10 + (_CN_DIGITS.get(units, -100) if units else 0)
    return value if value >= 0 else None


def _occurred(text: str, today: date, cut: Cut | None) -> When | None:
    boundaries = _word_boundaries(text, cut) if cut is not None else None
    for match in _WHEN_RE.finditer(text):
        start, end = match.span()
        if match.lastgroup is None:  # pragma: no cover - every alternative is a named group
            continue
        core_end = end
        extra = (_EN_DAYPART_AFTER if match.lastgroup.startswith("en") else _DAYPART_AFTER).match(text[end:])
        if extra is not None and extra.group(0).strip():
            end += len(extra.group(0).rstrip())
        if not match.lastgroup.startswith("en") and boundaries is not None and (start not in boundaries or not {core_end, end} & boundaries):
            continue  # "如今天气", "三天前台": not a time word in this sentence ("昨天晚上" is one word)
        if _UNTIL_BEFORE.search(text[max(0, start - 4) : start]):
            continue
        if _STILL_AFTER.match(text[end:]):
            continue
        when = _resolve(match, today)
        if when is not None:
            return When(text[start:end].strip(), when.day, when.relative)
    return None


def _word_boundaries(text: str, cut: Cut) -> set[int]:
    boundaries = {0}
    position = 0
    for word in cut(text):
        position += len(word)
        boundaries.add(position)
    return boundaries


def _resolve(match: re.Match[str], today: date) -> When | None:
    """The day the matched words mean (None: not a time after all, e.g. "13月40日")."""
    kind = match.lastgroup
    words = match.group(0)
    if kind == "ymd":
        return _day(words, int(match.group("y")), int(match.group("m")), int(match.group("d")), relative=False)
    if kind == "md":
        month, day_ = _cn_number(match.group("m2")), _cn_number(match.group("d2"))
        if month is None or day_ is None:
            return None
        return _day_this_year(words, month, day_, today)
    if kind == "mdot":
        return _day_this_year(words, int(match.group("m4")), int(match.group("d4")), today)
    if kind == "dom":
        return _day_this_month(words, int(match.group("d3")), today)
    if kind == "rel":
        back = {"大前天": 3, "前天": 2, "昨天": 1, "昨晚": 1, "昨日": 1}.get(words, 0)
        return When(words, today - timedelta(days=back), relative=True)
    if kind == "week":
        named = match.group("wd") or match.group("wd_bare")  # "上周三"; "周三晚上" (a bare "星期五" is too often a rule)
        weekday = _WEEKDAYS_ZH[named]
        which = match.group("which")
        if named == "末":
            return When(words, None, relative=True)  # a weekend is two days
        if which in ("上", "上上"):
            monday = today - timedelta(days=today.weekday() + (7 if which == "上" else 14))
            return When(words, monday + timedelta(days=weekday), relative=True)
        if which in ("这", "本"):
            day = today - timedelta(days=today.weekday()) + timedelta(days=weekday)
            return When(words, day, relative=True) if day <= today else None
        return When(words, today - timedelta(days=(today.weekday() - weekday) % 7), relative=True)
    if kind in ("lastweek", "en_last"):
        return When(words, None, relative=True)
    if kind == "ago":
        amount = match.group("n")
        count = _cn_number(amount) if amount not in ("几", "半") else None
        unit = match.group("unit")
        if unit in ("天", "日") and count is not None:
            return When(words, today - timedelta(days=count), relative=True)
        return When(words, None, relative=True)
    if kind == "en_rel":
        lowered = words.lower()
        back = 2 if "before" in lowered else 1 if lowered in ("yesterday", "last night") else 0
        return When(words, today - timedelta(days=back), relative=True)
    if kind == "en_week":
        weekday = _WEEKDAYS_EN[match.group("en_wd").lower()]
        back = (today.weekday() - weekday) % 7 or 7
        if words.lower().startswith("last") and back < today.weekday() + 1:
            back += 7  # "last Monday" said on a Thursday: the Monday of last week
        return When(words, today - timedelta(days=back), relative=True)
    if kind == "en_ago":
        n = match.group("en_n").lower()
        count = int(n) if n.isdigit() else _EN_NUMBERS.get(n)
        if match.group("en_unit").lower().startswith("day") and count is not None:
            return When(words, today - timedelta(days=count), relative=True)
        return When(words, None, relative=True)
    if kind in ("en_md", "en_dm"):
        suffix = "" if kind == "en_md" else "2"
        month = _MONTHS_EN[match.group(f"en_mon{suffix}").lower().rstrip(".")]
        day_ = int(match.group(f"en_d{suffix}"))
        year = match.group(f"en_y{suffix}")
        if year is not None:
            return _day(words, int(year), month, day_, relative=False)
        if match.group(f"en_mon{suffix}").lower() == "may" and kind == "en_md":
            return None  # "may 3": more often "may" the verb than the month
        return _day_this_year(words, month, day_, today)
    return None


def _day(words: str, year: int, month: int, day_: int, *, relative: bool) -> When | None:
    try:
        return When(words, date(year, month, day_), relative)
    except ValueError:
        return None


def _day_this_month(words: str, day_: int, today: date) -> When | None:
    """A day of the month without its month: the last such day up to today."""
    year, month = today.year, today.month
    for _ in range(3):  # "31日" said in a month of 30 days: the month before has it
        try:
            day = date(year, month, day_)
        except ValueError:
            day = None
        if day is not None and day <= today:
            return When(words, day, relative=True)
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return None


def _day_this_year(words: str, month: int, day_: int, today: date) -> When | None:
    """A day without its year: the last such day up to today."""
    when = _day(words, today.year, month, day_, relative=False)
    if when is not None and when.day is not None and when.day > today:
        when = _day(words, today.year - 1, month, day_, relative=False)
    return when


# ---------------------------------------------------------------------- amounts paid
_CURRENCY_SIGNS = {"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£"}
_CURRENCIES = {
    "¥": "CNY", "￥": "CNY", "rmb": "CNY", "cny": "CNY", "元": "CNY", "块钱": "CNY", "块": "CNY", "圆": "CNY", "yuan": "CNY",
    "$": "USD", "us$": "USD", "usd": "USD", "dollar": "USD", "dollars": "USD", "bucks": "USD", "美元": "USD",
    "€": "EUR", "eur": "EUR", "euro": "EUR", "euros": "EUR", "欧元": "EUR",
    "£": "GBP", "gbp": "GBP", "pound": "GBP", "pounds": "GBP", "英镑": "GBP",
}
_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?"
_AMOUNT_RE = re.compile(
    rf"(?P<pre>us\$|¥|￥|\$|€|£|\b(?:rmb|cny|usd|eur|gbp)\b)\s?(?P<n1>{_NUMBER})(?![\d.,]*\d)"
    rf"|(?<![\d.])(?<!\d,)(?P<n2>{_NUMBER})\s?(?P<post>美元|欧元|英镑|元|块钱|块|圆|(?:rmb|cny|yuan|dollars?|bucks|usd|euros?|eur|pounds?|gbp)\b)"
    rf"|(?P<cn>[零一二两三四五六七八九十百千万]+)\s?(?P<cnpost>元|块钱|块)"
    # no unit, right after a payment verb: "花了129，买了一个教训" (not "花了20分钟", "花了3天")
    rf"|(?<=花了|付了|支付|实付|花费)(?P<bare>\d{{2,6}}(?:\.\d{{1,2}})?)(?![\d.,]*\d|\s*(?:[多余个天周月年次分秒小件台本张份斤人号楼层%])|\s*[A-Za-z])",
    re.IGNORECASE,
)
# what makes it an amount *paid*: the customer paid, spent, was charged...
_PAID_BEFORE = re.compile(
    r"(?:花了|花费了?|花|付了|付款|付钱|实付|支付了?|付|交了|缴了|充了|充值了?|扣了我|扣款|扣费|被扣了?|刷了|被刷了?|买来是|买的时候|购买了?|消费了?|"
    r"paid|pay|charged(?: me)?(?: twice)?|spent|spend|cost(?: me)?|billed(?: me)?|debited)"
    r"(?:\s*(?:了|我|共|总共|一共|整整|足足|on|for it|twice|for))*\s*$",
    re.IGNORECASE,
)
_PAID_AFTER = re.compile(r"^\s*(?:就|才)?\s*(?:买的|买了|购买的|购买|拍的|入手|下单|付的|订的|住的)")
# not paid: a refund, a compensation, a price drop, a fee someone asks for
_NOT_PAID = re.compile(
    r"退款|退了|退回|退还|返还|赔|补偿|降价|跌到|降到|差价|优惠|便宜|券|原价|现价|要收|收我|收费|得花|要花|需要|需花|得付|要付|需付|得交|要交|"
    r"refund|compensat|discount|off\b|price drop|would|will|have to|need to",
    re.IGNORECASE,
)
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _cn_amount(text: str) -> int | None:
    """"三百" → 300, "两千五百" → 2500, "一万二千" → 12000; None when it is not a number."""
    total, section, digit = 0, 0, None
    for char in text:
        if char in _CN_DIGITS:
            if digit is not None:
                return None
            digit = _CN_DIGITS[char]
        elif char in _CN_UNITS:
            section += (1 if digit is None else digit) * _CN_UNITS[char]
            digit = None
        elif char == "万":
            total += (section + (digit or 0)) * 10_000
            section, digit = 0, None
        else:
            return None
    value = total + section + (digit or 0)
    return value or None


def _amount(text: str) -> Amount | None:
    for match in _AMOUNT_RE.finditer(text):
        before = _clause_before(text, match.start(), 12)
        after = text[match.end() : match.end() + 6]
        if _NOT_PAID.search(before) or not (_PAID_BEFORE.search(before) or _PAID_AFTER.match(after)):
            continue
        if match.group("bare") is not None and not _CJK.search(text):
            continue  # without a unit the currency is the one of a Chinese message
        valued = _value(match)
        if valued is not None and valued[0] > 0:
            return Amount(valued[0], valued[1], match.group(0).strip())
    return None


def _value(match: re.Match[str]) -> tuple[Decimal, str] | None:
    """The number and currency of an amount the pattern found."""
    if match.group("bare") is not None:
        return Decimal(match.group("bare")), "CNY"
    if match.group("cn") is not None:
        number = _cn_amount(match.group("cn"))
        return (Decimal(number), "CNY") if number is not None else None
    sign = (match.group("pre") or match.group("post")).lower()
    currency = _CURRENCIES.get(sign if sign in _CURRENCIES else sign.rstrip("s"), "CNY")
    try:
        return Decimal((match.group("n1") or match.group("n2")).replace(",", "")), currency
    except InvalidOperation:  # pragma: no cover - the pattern only lets numbers through
        return None


# ---------------------------------------------------------------------- a detail on its own
_WHEN_LABEL = r"发生时间|时间|日期|\bwhen\b|\btime\b|\bdate\b"
_AMOUNT_LABEL = r"支付金额|金额|付了|花了|实付|支付|\bamount(?:\s+paid)?\b|\bpaid\b"
_ANY_LABEL = re.compile(
    rf"{_ORDER_LABEL_ZH}|{_ORDER_LABEL_EN}|联系电话|联系方式|手机号码|手机号|电话号码|电话|手机|邮箱|电邮"
    rf"|\be-?mail\b|\bphone(?:\s*number)?\b|\bmobile\b|\bcell\b|\btel\b\.?|\bcontact\b|{_WHEN_LABEL}|{_AMOUNT_LABEL}",
    re.IGNORECASE,
)
# what may stand around a label and its value: "是", "应该是", "改成", "正确的", "my", "is"...
_FILLER = re.compile(
    r"应该是|应是|其实是|实际上?是|改成|改为|更正为|更正|正确的|我的|是|为"
    r"|\bshould be\b|\bis\b|\bmy\b|\bthe\b|\bcorrect\b|\bactually\b|\bnumber\b|\bno\b\.?"
    r"|[\s:#,.;!、，。；！：]",
    re.IGNORECASE,
)


def _only_labelled(text: str, found: Details) -> bool:
    """Whether ``text`` is only ``found``'s values, their labels and filler words, with
    at least one label (a bare "昨天晚上" answers a question; it corrects nothing)."""
    rest = text
    values = [
        *(found.order_number.split(", ") if found.order_number else ()),
        found.contact,
        found.occurred.words if found.occurred else None,
        found.amount.words if found.amount else None,
    ]
    for value in values:
        if value:
            rest = rest.replace(value, " ")
    unlabelled = _ANY_LABEL.sub(" ", rest)
    return unlabelled != rest and not _FILLER.sub("", unlabelled)
