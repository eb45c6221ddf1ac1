"""The conversation's rough edges (issue #11, points 2–7), through the application service:
numbers that are not on screen, blank messages, a new complaint after a submitted one,
a description without words, the contact of an urgent complaint, someone else's contact.

On the in-memory unit of work; ``every_store`` ones also on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from flows import events as ev
from flows.domain import Actor, ConversationState, InboundKind, Severity, TicketState
from flows.formatting import mask_contact
from flows.service import ComplaintService
from nlp import default_classifier
from tests.service.conftest import Customer, Store, draft, every_store, said_about, state, stored_messages, zh

S = ConversationState
ALICE = Actor("U1", "Alice", is_agent=True)
DELIVERY = "我买的耳机快递一个星期了还没收到，物流信息也不更新"
BILLING = "I was charged twice for my order #A-556"
BLANKS = ("", "   ", "\u200b", "\u3000\n\t", "\u200b\u200d\ufeff ", "\u2800")






def relayed(customer: Customer) -> list[ev.DeskEvent]:
    assert customer.last is not None
    return [ev.decode(item.ticket_id, item.payload) for item in customer.last.desk]


async def resolved(customer: Customer, service: ComplaintService, number: str) -> None:
    """An agent claims and resolves the ticket; the customer sees "solved?"."""
    assert (await service.claim(number, ALICE)).ok
    outcome = await service.resolve(number, ALICE, "已处理")
    assert outcome.ok
    customer.receive(outcome.replies)


# ---------------------------------------------------------------------- 2. numbers on screen
async def test_a_category_number_at_the_yes_or_other_question_is_not_a_category(customer: Customer) -> None:
    await customer.say(DELIVERY)
    assert state(customer) is S.CONFIRMING_CATEGORY
    await customer.say("7")  # item 7 of a list that was never shown
    assert customer.replies[0].text == zh("choice.two")
    assert state(customer) is S.CONFIRMING_CATEGORY
    assert draft(customer).category is None and draft(customer).description == DELIVERY, "7 is not added either"
    assert customer.button("是的") and customer.button("其他类型"), "the question comes again with its buttons"

    await customer.say("2")  # the second button on screen: another category
    assert state(customer) is S.CHOOSING_CATEGORY
    await customer.say("99")
    categories = default_classifier().taxonomy
    assert customer.replies[0].text == zh("choice.many", count=len(categories))
    assert state(customer) is S.CHOOSING_CATEGORY
    await customer.say("7")  # now the list is on screen: its 7th category
    assert draft(customer).category == list(categories)[6].id
    assert state(customer) is S.ASKING_ORDER


async def test_numbers_off_screen_at_every_step_with_buttons(customer: Customer, service: ComplaintService) -> None:
    await customer.say(DELIVERY)
    await customer.press("是的")
    await customer.skip_details()
    assert state(customer) is S.ASKING_PHOTOS
    await customer.say("3")
    assert customer.replies[0].text == zh("choice.one") and state(customer) is S.ASKING_PHOTOS
    assert draft(customer).description == DELIVERY
    await customer.say("1")  # "没有照片"
    assert state(customer) is S.REVIEWING
    await customer.say("5")
    assert customer.replies[0].text == zh("choice.many", count=4) and state(customer) is S.REVIEWING
    assert draft(customer).description == DELIVERY
    await customer.say("1")  # "提交"
    assert customer.last and customer.last.ticket
    number = customer.last.ticket.number

    await resolved(customer, service, number)
    await customer.say("3")
    assert customer.replies[0].text == zh("choice.two") and state(customer) is S.RESOLVED
    assert relayed(customer) == [], "a stray number is not passed to the desk"
    await customer.say("1")  # "已解决"
    assert state(customer) is S.AWAITING_FEEDBACK
    await customer.say("6")
    assert customer.replies[0].text == zh("choice.many", count=5) and state(customer) is S.AWAITING_FEEDBACK
    await customer.say("4")
    assert state(customer) is S.COMMENTING
    assert customer.last.ticket is None or customer.last.ticket.rating in (None, 4)


async def test_a_number_is_still_an_order_number(customer: Customer) -> None:
    await customer.say(DELIVERY)
    await customer.press("是的")
    await customer.say("20261127001")
    assert draft(customer).order_number == "20261127001" and state(customer) is S.ASKING_TIME


# ---------------------------------------------------------------------- 3. blank messages
@every_store
async def test_blank_messages_after_submitting_are_not_added_to_the_ticket(customer: Customer, store: Store) -> None:
    ticket = await customer.submit(DELIVERY)
    assert ticket.id is not None
    for blank in BLANKS:
        await customer.say(blank)
        assert zh("empty.again") in customer.text, repr(blank)
        assert zh("info.added", number=ticket.number) not in customer.text, repr(blank)
        assert relayed(customer) == [], repr(blank)
    assert state(customer) is S.SUBMITTED
    assert await said_about(store, ticket.id) == [], "no blank line is stored as said about the ticket"
    assert len([m for m in await stored_messages(store) if m.direction == "in" and m.kind == "text"]) == 1 + len(
        BLANKS
    ), "they are kept (off the ticket) like every inbound"

    await customer.say("补充：快递员电话打不通")
    assert zh("info.added", number=ticket.number) in customer.text
    assert await said_about(store, ticket.id) == ["补充：快递员电话打不通"]


async def test_blank_messages_at_every_step_are_not_an_answer(customer: Customer) -> None:
    await customer.say("\u200b")
    assert customer.text == zh("empty.idle") and customer.last and customer.last.conversation is None
    await customer.command("complain")
    await customer.say("\u200b ")
    assert customer.text == zh("empty.describing") and state(customer) is S.DESCRIBING
    await customer.say(DELIVERY)
    await customer.say("\u3000")
    assert customer.replies[0].text == zh("empty.again") and draft(customer).description == DELIVERY
    await customer.press("是的")
    await customer.say("\u200b")  # order number
    assert state(customer) is S.ASKING_ORDER and draft(customer).order_number is None
    await customer.press("跳过")
    await customer.say("\ufeff")  # when
    assert state(customer) is S.ASKING_TIME and draft(customer).occurred is None
    assert customer.replies[0].text == zh("empty.again") and zh("details.when") in customer.text


async def test_a_blank_comment_is_no_comment(customer: Customer, service: ComplaintService) -> None:
    ticket = await customer.submit(DELIVERY)
    await resolved(customer, service, ticket.number)
    await customer.press("已解决")
    await customer.press("5")
    assert state(customer) is S.COMMENTING
    await customer.say("\u200b")
    assert state(customer) is S.COMMENTING, "a blank line does not close the ticket"
    await customer.say("谢谢，处理得很快")
    assert state(customer) is S.CLOSED


# ---------------------------------------------------------------------- 4. a new complaint?
@every_store
async def test_another_complaint_after_submitting_asks_where_it_belongs(customer: Customer, store: Store) -> None:
    ticket = await customer.submit(DELIVERY)
    assert ticket.id is not None and ticket.category == "delivery"
    await customer.say(BILLING)
    assert customer.text == zh("held.which", number=ticket.number)
    assert customer.button(f"补充到 {ticket.number}") and customer.button("作为新的投诉")
    assert relayed(customer) == [] and await said_about(store, ticket.id) == []

    await customer.press("作为新的投诉")
    assert zh("held.new", number=ticket.number) in customer.text
    assert state(customer) is S.CONFIRMING_CATEGORY
    assert customer.last and customer.last.conversation and customer.last.conversation.id != ticket.conversation_id
    assert draft(customer).description == BILLING and draft(customer).suggested_category == "billing"
    assert await said_about(store, ticket.id) == [], "the old ticket did not get it"
    async with store() as uow:
        old = await uow.tickets.get(ticket.id)
    assert old is not None and old.state is TicketState.NEW


@every_store
async def test_added_to_the_ticket_when_the_customer_says_so(customer: Customer, store: Store) -> None:
    ticket = await customer.submit(DELIVERY)
    assert ticket.id is not None
    await customer.say(BILLING)
    await customer.say("还有运费也多收了")  # more words while the question waits: kept with it
    assert customer.text == zh("held.which", number=ticket.number)
    await customer.press(f"补充到 {ticket.number}")
    assert customer.text == zh("info.added", number=ticket.number)
    both = f"{BILLING}\n还有运费也多收了"
    assert [(e.text, e.message) for e in relayed(customer) if isinstance(e, ev.CustomerAdded)] == [(both, InboundKind.TEXT)]
    assert await said_about(store, ticket.id) == [both]
    assert state(customer) is S.SUBMITTED


async def test_more_about_the_same_ticket_is_added_without_asking(customer: Customer) -> None:
    ticket = await customer.submit(DELIVERY)
    await customer.say("快递员电话也打不通")
    assert customer.text == zh("info.added", number=ticket.number)
    await customer.say("谢谢")  # the fallback category's word is no evidence
    assert customer.text == zh("info.added", number=ticket.number)


async def test_after_a_cancelled_complaint_the_next_message_asks(customer: Customer, store: Store) -> None:
    ticket = await customer.submit(DELIVERY)
    assert ticket.id is not None
    await customer.command("complain")
    await customer.command("cancel")
    await customer.say("包裹还是没到")  # same category as the ticket: asked because they cancelled since
    assert customer.text == zh("held.which", number=ticket.number)
    await customer.say("3")
    assert customer.text == f'{zh("choice.two")}\n{zh("held.which", number=ticket.number)}', "its own question again"
    await customer.say("2")  # the terminal's numbers work on every channel
    assert state(customer) is S.CONFIRMING_CATEGORY and draft(customer).description == "包裹还是没到"
    await customer.command("cancel")
    await customer.say("包裹还是没到")
    await customer.say("1")
    assert customer.text == zh("info.added", number=ticket.number)
    assert await said_about(store, ticket.id) == ["包裹还是没到"]
    await customer.say("还有，盒子是破的")  # they said where they are: no more asking
    assert customer.text == zh("info.added", number=ticket.number)


async def test_a_resolved_ticket_asks_too_and_keeps_its_question(customer: Customer, service: ComplaintService) -> None:
    ticket = await customer.submit(DELIVERY)
    await resolved(customer, service, ticket.number)
    await customer.say(BILLING)
    assert customer.text == zh("held.which", number=ticket.number)
    await customer.press(f"补充到 {ticket.number}")
    assert zh("held.added", number=ticket.number) in customer.text
    assert zh("feedback.solved_question") in customer.text and state(customer) is S.RESOLVED
    assert [e.text for e in relayed(customer) if isinstance(e, ev.CustomerAdded)] == [BILLING]


async def test_after_a_closed_ticket_a_message_is_a_new_complaint(customer: Customer, service: ComplaintService) -> None:
    ticket = await customer.submit(DELIVERY)
    await resolved(customer, service, ticket.number)
    await customer.press("已解决")
    await customer.press("5")
    await customer.press("跳过")
    assert state(customer) is S.CLOSED
    await customer.say(BILLING)
    assert state(customer) is S.CONFIRMING_CATEGORY and draft(customer).description == BILLING


# ---------------------------------------------------------------------- 5. words, please
@pytest.mark.parametrize("wordless", ["😡😡😡🤬", "？？？!!!", "12345", "👎 👎"])
async def test_a_description_without_words_asks_for_a_few(customer: Customer, wordless: str) -> None:
    await customer.say(wordless)
    assert customer.text == zh("describe.need_words")
    assert state(customer) is S.DESCRIBING
    await customer.say(DELIVERY)
    assert state(customer) is S.CONFIRMING_CATEGORY
    assert draft(customer).description == f"{wordless}\n{DELIVERY}", "the first message is kept in the description"
    assert draft(customer).suggested_category == "delivery"


# ---------------------------------------------------------------------- 6. urgent without contact
async def at_contact(customer: Customer, text: str) -> None:
    await customer.say(text)
    await customer.press("是的")
    while state(customer) is not S.ASKING_CONTACT:
        await customer.press("跳过")


@every_store
async def test_an_urgent_complaint_says_why_a_contact_matters_once(customer: Customer) -> None:
    await at_contact(customer, "外卖里有头发，孩子吃了以后一直拉肚子")
    assert Severity(draft(customer).severity).rank >= Severity.HOT.rank
    await customer.press("跳过")
    assert customer.text == zh("contact.why_urgent")
    assert state(customer) is S.ASKING_CONTACT
    assert customer.replies[-1].request_contact and customer.button("跳过")
    await customer.say("跳过")  # a second skip (typed or pressed) goes on
    assert state(customer) is S.ASKING_PHOTOS and draft(customer).contact is None


async def test_an_urgent_complaint_with_a_contact_after_the_reason(customer: Customer) -> None:
    await at_contact(customer, "外卖里有头发，孩子吃了以后一直拉肚子")
    await customer.press("跳过")
    await customer.say("13812345678")
    assert state(customer) is S.ASKING_PHOTOS and draft(customer).contact == "13812345678"


async def test_a_general_complaint_skips_the_contact_at_once(customer: Customer) -> None:
    await at_contact(customer, DELIVERY)
    assert draft(customer).severity == Severity.GENERAL.value
    await customer.press("跳过")
    assert state(customer) is S.ASKING_PHOTOS


# ---------------------------------------------------------------------- 7. whose contact?
async def share(customer: Customer, phone: str, *, own: bool) -> None:
    await customer.send(InboundKind.CONTACT, contact=phone, text=phone, own_contact=own)


@every_store
async def test_someone_elses_contact_card_is_asked_about(customer: Customer) -> None:
    await at_contact(customer, DELIVERY)
    await share(customer, "+8613900001111", own=False)
    assert customer.text == zh("contact.whose", contact=mask_contact("+8613900001111"))
    assert state(customer) is S.ASKING_CONTACT and draft(customer).contact is None
    await customer.press("是，使用这个号码")
    assert state(customer) is S.ASKING_PHOTOS and draft(customer).contact == "+8613900001111"


async def test_someone_elses_contact_card_declined_then_their_own(customer: Customer) -> None:
    await at_contact(customer, DELIVERY)
    await share(customer, "+8613900001111", own=False)
    await customer.press("输入其他联系方式")
    assert customer.replies[0].text == zh("contact.not_used") and zh("details.contact") in customer.text
    assert state(customer) is S.ASKING_CONTACT and draft(customer).contact is None
    await share(customer, "+8613812345678", own=True)
    assert state(customer) is S.ASKING_PHOTOS and draft(customer).contact == "+8613812345678"


async def test_typed_answers_to_whose_contact(customer: Customer) -> None:
    await at_contact(customer, DELIVERY)
    await share(customer, "+8613900001111", own=False)
    await customer.say("7")
    assert customer.text == f'{zh("choice.two")}\n{zh("contact.whose", contact=mask_contact("+8613900001111"))}'
    await customer.say("不是")
    assert customer.replies[0].text == zh("contact.not_used") and draft(customer).contact is None
    await share(customer, "+8613900001111", own=False)
    await customer.say("13812345678")  # their own number typed instead
    assert state(customer) is S.ASKING_PHOTOS and draft(customer).contact == "13812345678"


async def test_someone_elses_contact_after_submitting(customer: Customer) -> None:
    ticket = await customer.submit(DELIVERY)
    await share(customer, "+8613900001111", own=False)
    assert customer.text == zh("contact.whose", contact=mask_contact("+8613900001111")) and relayed(customer) == []
    await customer.press("是，使用这个号码")
    assert customer.last and customer.last.ticket and customer.last.ticket.contact == "+8613900001111"
    assert relayed(customer) == [ev.CustomerAdded(ticket.id, message=InboundKind.CONTACT, text="+8613900001111", message_id=None)]


async def test_a_person_asked_for_after_only_emoji_sees_them(customer: Customer) -> None:
    await customer.say("😡😡😡🤬")
    await customer.command("human")
    assert customer.last and customer.last.ticket and customer.last.ticket.description == "😡😡😡🤬"


async def test_a_held_message_is_asked_about_again_after_its_buttons_went_stale(
    customer: Customer, service: ComplaintService
) -> None:
    ticket = await customer.submit(DELIVERY)
    await customer.say(BILLING)
    old = customer.button(f"补充到 {ticket.number}")
    claimed = await service.claim(ticket.number, ALICE)  # the conversation moves on: its buttons go stale
    assert claimed.ok
    await customer.send(InboundKind.BUTTON, button=old)
    assert customer.replies[0].text == zh("button.stale")
    assert customer.replies[-1].text == zh("held.which", number=ticket.number), "the held message is not forgotten"
    await customer.press(f"补充到 {ticket.number}")
    assert [e.text for e in relayed(customer) if isinstance(e, ev.CustomerAdded)] == [BILLING]
    assert state(customer) is S.WITH_AGENT
