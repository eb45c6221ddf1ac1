"""Details a customer already gave are taken from their words, shown, and not asked again
(flows/intake/taken.py over nlp.details), on the in-memory unit of work (the first test
also on SQLite and PostgreSQL)."""

from __future__ import annotations

from flows.domain import ConversationState, InboundKind
from flows.service import ComplaintService
from tests.service.conftest import Customer, en, every_store, state, zh






@every_store
async def test_order_number_and_phone_in_the_first_message_are_shown_not_asked(customer: Customer) -> None:
    await customer.say("快递一直没到，订单号是 DD20261127001，电话 13912345678")
    assert "物流配送" in customer.text
    await customer.press("是的")

    noted = customer.replies[0].text
    assert noted.startswith("我从您的描述里记下了：") and "订单号 DD20261127001" in noted
    assert "联系方式 139****5678" in noted and "13912345678" not in customer.text, "contacts are masked when shown"
    assert zh("details.order") not in customer.text, "the order number is not asked again"
    assert zh("details.when") in customer.replies[-1].text and state(customer) is ConversationState.ASKING_TIME

    await customer.say("昨天晚上")
    assert zh("details.contact") not in customer.text, "nor the phone number"
    assert "我从您的描述里记下了" not in customer.text, "what was taken is shown once"
    assert zh("details.photos") in customer.text and state(customer) is ConversationState.ASKING_PHOTOS

    await customer.press("没有照片")
    review = customer.text
    assert "订单号：DD20261127001" in review and "联系方式：139****5678" in review and "发生时间：昨天晚上" in review
    await customer.press("提交")
    assert customer.last and customer.last.ticket
    ticket = customer.last.ticket
    assert (ticket.order_number, ticket.contact, ticket.occurred) == ("DD20261127001", "13912345678", "昨天晚上")


async def test_an_english_message_fills_every_detail_and_the_amount(service: ComplaintService) -> None:
    customer = Customer(service, chat_id="200", language="en-GB")
    await customer.say("My parcel never arrived. Order #A-556, I paid $30 for it yesterday, email me at li.lei@example.com")
    await customer.press("Yes")

    noted = customer.replies[0].text
    assert noted.startswith("From your description I have noted:")
    assert "order number A-556" in noted and "when yesterday (2026-11-22)" in noted
    assert "contact l***@example.com" in noted and "amount paid $30" in noted
    for question in ("details.order", "details.when", "details.contact"):
        assert en(question) not in customer.text
    assert en("details.photos") in customer.replies[-1].text, "every detail question passed by: the photos come next"

    await customer.press("No photos")
    assert "Amount paid: $30" in customer.text and "Order number: A-556" in customer.text
    await customer.press("Submit")
    assert customer.last and customer.last.ticket
    ticket = customer.last.ticket
    assert (ticket.order_number, ticket.occurred, ticket.contact, ticket.amount) == (
        "A-556", "yesterday (2026-11-22)", "li.lei@example.com", "$30"
    )


async def test_an_ambiguous_number_is_not_taken(customer: Customer) -> None:
    await customer.say("快递员的电话 13241080757 一直打不通，订单 3 件只到了 1 件")
    await customer.press("是的")
    assert "我从您的描述里记下了" not in customer.text
    assert zh("details.order") in customer.text, "'订单 3 件' is no order number: it is asked"
    await customer.skip_details()
    assert customer.last and customer.last.conversation
    assert customer.last.conversation.draft.contact is None, "the courier's number is not the customer's"


async def test_details_given_while_describing_more_fill_only_what_is_empty(customer: Customer) -> None:
    await customer.say("买的电饭煲用了一次就坏了")
    await customer.press("是的")
    await customer.say("A-1")  # the order number, answered
    await customer.press("跳过")
    await customer.press("跳过")
    assert zh("details.photos") in customer.text
    await customer.say("对了，订单号 B-2，是上周三买的，花了299元")
    assert zh("photos.text_added") in customer.text
    assert "发生时间 上周三（2026-11-18）" in customer.text and "支付金额 ¥299" in customer.text
    assert "B-2" not in customer.text, "an answered detail is not replaced while describing"
    await customer.press("没有照片")
    assert "订单号：A-1" in customer.text and "支付金额：¥299" in customer.text


async def test_a_wrong_detail_is_corrected_at_the_review(customer: Customer) -> None:
    await customer.say("订单号 DD001 的快递一直没到，我的电话 13912345678")
    await customer.press("是的")
    await customer.press("跳过")  # when
    await customer.press("没有照片")
    assert "订单号：DD001" in customer.text
    await customer.say("订单号应该是 DD002，电话是 13812345678")
    assert customer.replies[0].text == zh("taken.updated", details="订单号 DD002，联系方式 138****5678")
    assert zh("describe.added") not in customer.text, "only details: corrected, not added to the description"
    assert "订单号：DD002" in customer.text and "联系方式：138****5678" in customer.text, "the review again, corrected"
    await customer.press("提交")
    assert customer.last and customer.last.ticket
    assert (customer.last.ticket.order_number, customer.last.ticket.contact) == ("DD002", "13812345678")


async def test_a_new_description_takes_the_old_ones_details_with_it(customer: Customer) -> None:
    await customer.say("订单号 DD001 的快递一直没到")
    await customer.press("是的")
    assert "订单号 DD001" in customer.text and zh("details.order") not in customer.text
    await customer.skip_details()
    await customer.press("没有照片")
    await customer.press("重新描述")
    await customer.say("快递一直没到，物流也不更新")
    await customer.press("是的")
    assert zh("details.order") in customer.text, "the order number came from the old description: asked now"


async def test_a_photo_with_a_caption_first_keeps_the_photo_and_its_details(customer: Customer) -> None:
    await customer.photo("p1", caption="收到的杯子是碎的，订单号 DD20261127001")
    await customer.press("是的")
    assert "订单号 DD20261127001" in customer.text and zh("details.order") not in customer.text
    await customer.press("跳过")  # when
    await customer.press("跳过")  # contact
    assert zh("details.photos_more", received=zh("attachments.count_photos", count=1)) in customer.text, "the photo is kept: done or add more"
    assert [b.label for r in customer.replies for row in r.buttons for b in row] == [zh("button.done")]
    await customer.photo("p2")
    assert zh("details.photos_more", received=zh("attachments.count_photos", count=2)) in customer.text
    await customer.press("完成")
    await customer.press("提交")
    assert customer.last and customer.last.ticket
    assert [p.file_id for p in customer.last.ticket.photos] == ["p1", "p2"]
    assert customer.last.ticket.order_number == "DD20261127001"


async def test_an_edited_description_is_read_again(customer: Customer) -> None:
    await customer.say("快递一直没到")
    await customer.send(InboundKind.EDIT, text="快递一直没到，订单号 DD20261127001", message_id="1")
    await customer.press("是的")
    assert "订单号 DD20261127001" in customer.text and zh("details.when") in customer.text


async def test_a_contact_the_customer_shares_is_theirs_not_taken_from_the_description(customer: Customer) -> None:
    await customer.say("快递一直没到，电话 13912345678")
    await customer.send(InboundKind.CONTACT, contact="+8613812345678")  # shared while the category is asked
    assert zh("contact.saved") in customer.text
    await customer.press("是的")
    assert "我从您的描述里记下了" not in customer.text, "nothing taken is left to show: the shared contact replaced it"
    await customer.skip_details()
    await customer.press("没有照片")
    await customer.press("重新描述")
    await customer.say("快递一直没到，物流也不更新")
    await customer.press("是的")
    assert customer.last and customer.last.conversation
    assert customer.last.conversation.draft.contact == "+8613812345678", "a new description does not take it away"
