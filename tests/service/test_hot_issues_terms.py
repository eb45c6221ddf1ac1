"""Hot issues that mean the same thing (issue 9, part 5): complaints of several customers
become one hot issue when they name the same product, shop, dish or place — not when
they merely complain the same way ("打电话", "twice", an order number). The report's top
key terms name those things too. Examples written for these tests."""

from __future__ import annotations

from datetime import timedelta

import pytest

from flows import events as ev
from flows.report import format_text
from flows.service import ComplaintService
from flows.texts import default_catalogue
from nlp import default_classifier
from storage.database import Database
from storage.reports import build_report
from tests.service.conftest import Clock, Customer, Store, every_store, stored_terms
from tests.service.test_promises import desk_items, is_, submit, ticket

PHONED = (  # three unrelated deliveries; the customers all phoned
    "包裹丢了，打电话问物流也没结果",
    "外卖送晚了一个小时，打电话催了好几次",
    "快递送错地址了，打电话给快递员也不接",
)
KETTLE = (
    "美的MK-HJ1705电水壶用了两次底部就漏水",
    "新买的美的电水壶MK-HJ1705开关失灵，烧干了也不断电",
    "我家那个美的 MK-HJ1705 电水壶把手坏了",
)
DISH = (
    "张记麻辣烫的毛肚不新鲜，有股臭味",
    "在张记麻辣烫点的毛肚是臭的",
    "张记麻辣烫毛肚变质了，闻着发酸",
)
SAME_ORDER = (  # one order number, three different products
    "订单dd20261127001的耳机左边没声音",
    "订单dd20261127001的台灯开关坏了",
    "订单dd20261127001里的电饭煲不加热",
)
ENGLISH = (  # the same words of complaint, three different products
    "I called twice and nobody answers, the blender I ordered is broken",
    "Called three times, nobody answers, my vacuum arrived broken",
    "Nobody answers when I call twice a day, the toaster I ordered is broken",
)


async def _file(service: ComplaintService, clock: Clock, texts: tuple[str, ...], first_chat: int) -> list[str]:
    """Each text from a different customer, a day apart; the ticket numbers."""
    numbers = []
    for n, text in enumerate(texts):
        clock.advance(days=1)
        numbers.append(await submit(Customer(service, chat_id=str(first_chat + n)), text))
    return numbers


async def _same_category(store: Store, numbers: list[str]) -> None:
    categories = set()
    for number in numbers:
        categories.add((await ticket(store, number)).category)
    assert len(categories) == 1, f"the test needs one category, got {categories}"


@pytest.mark.parametrize("texts", [PHONED, SAME_ORDER, ENGLISH], ids=["phoned", "order_number", "english"])
async def test_complaints_sharing_only_how_they_complain_are_no_hot_issue(
    service: ComplaintService, store: Store, clock: Clock, texts: tuple[str, ...]
) -> None:
    numbers = await _file(service, clock, texts, 300)
    await _same_category(store, numbers)  # same category: only the terms keep them apart
    assert await desk_items(store, "ping", is_(ev.HotIssuePing)) == []
    assert [(await ticket(store, n)).hot_issue_id for n in numbers] == [None, None, None]
    stored = await stored_terms(store)
    assert not {"打电话", "好几次", "小时", "twice", "nobody", "answers", "called"} & stored, stored
    assert not any(ch.isdigit() for term in stored for ch in term), "no order number, no id"


@every_store
@pytest.mark.parametrize(
    ("texts", "names"),
    [(KETTLE, ("美的", "电水壶")), (DISH, ("张记", "毛肚"))],
    ids=["kettle", "dish"],
)
async def test_three_customers_about_one_product_or_dish_are_one_hot_issue(
    service: ComplaintService, store: Store, clock: Clock, texts: tuple[str, ...], names: tuple[str, ...]
) -> None:
    numbers = await _file(service, clock, texts, 400)
    await _same_category(store, numbers)
    pings = await desk_items(store, "ping", is_(ev.HotIssuePing))
    assert len(pings) == 1
    assert pings[0].payload["term"] in names and pings[0].payload["tickets"] == numbers
    tickets = [await ticket(store, n) for n in numbers]
    assert tickets[0].hot_issue_id is not None
    assert all(t.hot_issue_id == tickets[0].hot_issue_id for t in tickets)
    # another customer, another product of the same category: not part of it
    other = await submit(Customer(service, chat_id="499"), "买的九阳豆浆机用了一周就不转了")
    assert (await ticket(store, other)).hot_issue_id is None


@pytest.mark.usefixtures("backend")  # the report reads SQL
async def test_the_report_top_terms_name_products_shops_and_dishes(
    service: ComplaintService, database: Database, clock: Clock
) -> None:
    since = clock.now
    await _file(service, clock, PHONED, 500)
    await _file(service, clock, KETTLE, 510)
    await _file(service, clock, DISH, 520)
    await _file(service, clock, SAME_ORDER, 530)
    await _file(service, clock, ENGLISH, 540)
    report = await build_report(database, since, clock.now + timedelta(days=1), now=clock.now, top_terms=6)
    top = {t.term: t.tickets for t in report.top_terms}
    assert top["美的"] == top["电水壶"] == top["张记"] == top["毛肚"] == 3, top
    assert set(top) <= {"美的", "电水壶", "张记", "毛肚", "耳机", "台灯", "电饭煲", "blender", "vacuum", "toaster",
                        "烧干", "把手", "底部", "开关"}, top
    assert {h.term for h in report.hot_issues} <= {"美的", "电水壶", "张记", "毛肚"}
    assert len(report.hot_issues) == 2
    names = {c.id: c.name("zh") for c in default_classifier().taxonomy}
    text = format_text(report, default_catalogue(), "zh", names)
    assert "电水壶" in text and "毛肚" in text and "打电话" not in text
