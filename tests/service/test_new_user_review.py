"""What a new user's review of the intake found (issue #11): details given on their own at
any step ("订单号 JD9999", "电话 137…"), the promise of an urgent ticket without a contact,
the desk notice and stray lines after submitting, an empty line at the review, list
joiners per language. On the in-memory unit of work (one also on SQLite and PostgreSQL)."""

from __future__ import annotations

from flows.domain import ConversationState
from flows.service import ComplaintService
from tests.service.conftest import Customer, Store, draft, en, every_store, said_about, state, zh

S = ConversationState
DELIVERY = "我买的耳机快递一个星期了还没收到，物流信息也不更新"
WITH_DETAILS = "快递一直没到，订单号是 DD20261127001，电话 13912345678"







# ---------------------------------------------------------------------- 1. details at a detail step
async def test_another_detail_given_at_the_time_question_corrects_it(customer: Customer) -> None:
    await customer.say(WITH_DETAILS)
    await customer.press("是的")
    assert state(customer) is S.ASKING_TIME and "“订单号 …”" in customer.text

    await customer.say("订单号 JD99990000")
    assert draft(customer).order_number == "JD99990000", "the order number is corrected"
    assert draft(customer).occurred is None, "not stored as the time"
    assert customer.replies[0].text == zh("taken.updated", details="订单号 JD99990000")
    assert state(customer) is S.ASKING_TIME and zh("details.when") in customer.replies[-1].text, "the question again"


async def test_a_labelled_phone_at_the_contact_question_is_the_answer(customer: Customer) -> None:
    for said in ("电话 13700001111", "手机 13700001111", "我的电话是 13700001111"):
        await customer.command("cancel")
        await customer.say(DELIVERY)
        await customer.press("是的")
        while state(customer) is not S.ASKING_CONTACT:
            await customer.press("跳过")
        await customer.say(said)
        assert zh("details.contact_invalid") not in customer.text, said
        assert draft(customer).contact == "13700001111" and state(customer) is S.ASKING_PHOTOS, said


async def test_a_labelled_answer_for_this_question_is_stored_without_its_label(customer: Customer) -> None:
    await customer.say(DELIVERY)
    await customer.press("是的")
    await customer.say("订单号是 X20261127")
    assert draft(customer).order_number == "X20261127" and state(customer) is S.ASKING_TIME
    await customer.say("时间是昨天")
    assert draft(customer).occurred == zh("taken.when_day", words="昨天", day="2026-11-22")
    assert state(customer) is S.ASKING_CONTACT
    await customer.say("订单号 JD99990000")  # another detail at the contact question
    assert draft(customer).order_number == "JD99990000" and draft(customer).contact is None
    assert zh("taken.updated", details="订单号 JD99990000") in customer.text
    assert state(customer) is S.ASKING_CONTACT and zh("details.contact") in customer.replies[-1].text
    await customer.say("电话 13700001111，订单号 JD99990001")  # this one and another one
    assert (draft(customer).contact, draft(customer).order_number) == ("13700001111", "JD99990001")
    assert state(customer) is S.ASKING_PHOTOS


async def test_an_answer_with_more_words_is_kept_as_it_was_said(customer: Customer) -> None:
    await customer.say(DELIVERY)
    await customer.press("是的")
    await customer.press("跳过")
    await customer.say("昨天晚上")  # a bare time word is the answer as typed
    assert draft(customer).occurred == "昨天晚上"


# ---------------------------------------------------------------------- 2. where text adds to the description
@every_store
async def test_a_labelled_detail_at_the_category_question_is_a_correction_not_description(customer: Customer) -> None:
    await customer.say(WITH_DETAILS)
    assert state(customer) is S.CONFIRMING_CATEGORY
    await customer.say("订单号 DD999888777")
    assert zh("describe.added") not in customer.text
    assert customer.replies[0].text == zh("taken.updated", details="订单号 DD999888777")
    await customer.say("电话 13700001111")
    assert zh("describe.added") not in customer.text
    assert customer.replies[0].text == zh("taken.updated", details="联系方式 137****1111")
    assert draft(customer).description == WITH_DETAILS, "the description holds only what was described"
    assert (draft(customer).order_number, draft(customer).contact) == ("DD999888777", "13700001111")
    assert state(customer) is S.CONFIRMING_CATEGORY

    await customer.say("另外快递员电话 13241080757 也打不通")  # a sentence: more of the description
    assert zh("describe.added") in customer.text and "13241080757" in draft(customer).description

    await customer.press("是的")
    await customer.press("跳过")  # the time
    assert state(customer) is S.ASKING_PHOTOS, "the corrected details are not asked again"
    await customer.say("订单号 DD999888778")  # at the photos too
    assert zh("photos.text_added") not in customer.text and draft(customer).order_number == "DD999888778"
    await customer.press("没有照片")
    await customer.say("电话 13700002222")  # and at the review
    assert zh("describe.added") not in customer.text and "13700002222" not in customer.text
    assert "联系方式：137****2222" in customer.text
    await customer.press("提交")
    assert customer.last and customer.last.ticket
    ticket = customer.last.ticket
    assert (ticket.order_number, ticket.contact) == ("DD999888778", "13700002222")
    assert "DD999888777" not in ticket.description and "13700001111" not in ticket.description


# ---------------------------------------------------------------------- 5. lists joined per language
async def test_the_words_behind_the_suggestion_are_joined_in_the_customers_language(service: ComplaintService) -> None:
    english = Customer(service, chat_id="300", language="en-GB")
    await english.say("The waiter was rude and the food was cold, I waited an hour")
    suggestion = english.replies[0].text
    assert "Since you mentioned" in suggestion and "、" not in suggestion, suggestion
    assert en("category.cue_joiner") in suggestion.split("“")[1].split("”")[0], suggestion

    chinese = Customer(service, chat_id="301")
    await chinese.say("服务员态度很差，菜也是凉的，等了一个小时")
    suggestion = chinese.replies[0].text
    assert "、" in suggestion.split("“")[1].split("”")[0], suggestion


# ---------------------------------------------------------------------- 4. an empty line at the review
async def test_an_empty_line_at_the_review_repeats_only_the_buttons(customer: Customer) -> None:
    await customer.say(DELIVERY)
    await customer.press("是的")
    await customer.skip_details()
    await customer.press("没有照片")
    assert state(customer) is S.REVIEWING and "请确认您的投诉内容" in customer.text
    for said in ("\u200b", "9"):
        await customer.say(said)
        assert "请确认您的投诉内容" not in customer.text and DELIVERY not in customer.text, "not the whole summary again"
        assert customer.replies[-1].text == zh("review.choose")
        assert [b.label for row in customer.replies[-1].buttons for b in row] == [
            zh("button.submit"), zh("button.change_category"), zh("button.edit_description"), zh("button.cancel")
        ]
    assert customer.replies[0].text == zh("choice.many", count=4)
    await customer.press("提交")
    assert customer.last and customer.last.ticket and customer.last.ticket.description == DELIVERY


# ---------------------------------------------------------------------- 3. after submitting
HOT = "外卖里有头发，孩子吃了以后一直拉肚子"


async def submit_without_contact(customer: Customer, text: str = HOT) -> None:
    await customer.say(text)
    await customer.press("是的")
    while state(customer) is not S.ASKING_PHOTOS:
        await customer.press("跳过")  # the contact of an urgent complaint: twice
    await customer.press("没有照片")
    await customer.press("提交")


@every_store
async def test_an_urgent_ticket_without_a_contact_is_promised_an_answer_here(customer: Customer, store: Store) -> None:
    await submit_without_contact(customer)
    assert customer.last and customer.last.ticket and customer.last.ticket.contact is None
    ticket = customer.last.ticket
    assert ticket.handoff_reason, "an urgent complaint goes to the staff at once"
    assert "前联系您" not in customer.text and "在这里回复您" in customer.text
    assert "在这里回复您" in customer.replies[0].text and ticket.number in customer.replies[0].text
    assert customer.replies[-1].text == zh("desk.not_connected_here", number=ticket.number)

    await customer.say("孩子现在去医院了")  # content: added, the notice not again
    assert customer.text == zh("info.added", number=ticket.number)
    for stray in ("1", "ok", "好的"):
        await customer.say(stray)
        assert customer.text == zh("waiting.noted", number=ticket.number), stray
        assert customer.last and customer.last.desk == [], "nothing for the desk"
    assert ticket.id is not None
    assert await said_about(store, ticket.id) == ["孩子现在去医院了"], "stray lines are kept off the ticket"
    await customer.say("13812345678")  # a phone number is content, not a choice
    assert customer.text == zh("info.added", number=ticket.number)
    await customer.photo(caption="1")  # a photo is content whatever its caption
    assert customer.text == zh("info.added", number=ticket.number) and customer.last and customer.last.desk


async def test_an_urgent_ticket_with_a_contact_keeps_its_promise_to_contact(customer: Customer) -> None:
    await customer.say(HOT + "，我的电话 13812345678")
    await customer.press("是的")
    while state(customer) is not S.ASKING_PHOTOS:
        await customer.press("跳过")
    await customer.press("没有照片")
    await customer.press("提交")
    assert customer.last and customer.last.ticket and customer.last.ticket.contact == "13812345678"
    assert "前联系您" in customer.replies[0].text
    assert customer.replies[-1].text == zh("desk.not_connected", number=customer.last.ticket.number)


async def test_a_person_asked_for_later_is_told_once_that_no_agent_is_connected(customer: Customer) -> None:
    ticket = await customer.submit(DELIVERY)  # queued, not handed off: no notice yet
    assert zh("desk.not_connected_here", number=ticket.number) not in customer.text
    await customer.command("human")
    assert customer.text == "\n".join(
        (zh("human.handed_off_here", number=ticket.number, due=customer.replies[0].text.split("客服会在 ")[1].split(" 前")[0]),
         zh("desk.not_connected_here", number=ticket.number))
    )
    await customer.say("还是没有收到")
    assert customer.text == zh("info.added", number=ticket.number), "said once per ticket"
