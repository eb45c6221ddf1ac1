"""The customer conversation through the application service, on the in-memory unit of
work (``every_store`` ones also on SQLite and PostgreSQL)."""

from __future__ import annotations

import re

from flows.domain import ConversationState, InboundKind, Severity, TicketState
from flows.service import ComplaintService
from flows.texts import default_catalogue
from tests.service.conftest import Customer, Store, count_events, count_messages, count_outbox, every_store, stored_messages, zh

ZH = default_catalogue()



@every_store
async def test_whole_complaint_from_first_words_to_ticket(customer: Customer, store: Store) -> None:
    await customer.say("我买的耳机快递一个星期了还没收到，物流信息也不更新")
    assert zh("describe.thanks") in customer.text
    assert "物流配送" in customer.text and "没收到" in customer.text  # category and the cue behind it
    assert customer.button("是的") and customer.button("其他类型")
    assert customer.last and customer.last.conversation
    assert customer.last.conversation.state is ConversationState.CONFIRMING_CATEGORY

    await customer.press("是的")
    assert zh("details.order") in customer.text
    await customer.say("DD20261120-8812")
    assert zh("details.when") in customer.text
    await customer.press("跳过")
    assert zh("details.contact") in customer.text
    assert customer.replies[-1].request_contact
    await customer.say("13812345678")
    assert zh("details.photos") in customer.text
    await customer.photo("file-abc")
    assert "1" in customer.text
    await customer.press("完成")
    review = customer.text
    assert "物流配送" in review and "DD20261120-8812" in review and "138****5678" in review
    assert "13812345678" not in review, "the review must not echo the full phone number"
    await customer.press("提交")

    match = re.search(r"T\d{6}", customer.text)
    assert match, customer.text
    assert customer.last and customer.last.ticket
    ticket = customer.last.ticket
    assert ticket.number == match.group(0)
    assert ticket.category == "delivery" and ticket.state is TicketState.NEW
    assert ticket.order_number == "DD20261120-8812" and ticket.occurred is None
    assert ticket.contact == "13812345678" and [p.file_id for p in ticket.photos] == ["file-abc"]
    assert ticket.description.startswith("我买的耳机")
    assert ticket.classification and ticket.classification["category"] == "delivery"
    assert ticket.first_response_due and ticket.reply_due and ticket.resolution_due
    assert customer.last.conversation and customer.last.conversation.state is ConversationState.SUBMITTED

    # nothing is lost: every inbound message, every reply and the creation event are stored;
    # a reply is written once, as its outbox row, which the message it answers names
    inbound = [m for m in await stored_messages(store) if m.direction == "in"]
    assert len(inbound) == 8
    assert await count_messages(store, direction="out") == 0
    named = [reply for m in inbound for reply in (m.data or {}).get("replies", [])]
    assert len(named) == len(set(named)) == await count_outbox(store, kind="reply") > 8
    assert await count_events(store, kind="created") == 1


async def test_choose_another_category_then_change_it_again_from_review(customer: Customer) -> None:
    await customer.say("你们的客服态度太差了，说话很不耐烦")
    await customer.press("其他类型")
    assert zh("category.choose") in customer.text
    await customer.press("费用支付")
    await customer.skip_details()
    await customer.press("没有照片")
    assert "费用支付" in customer.text
    await customer.press("修改类型")
    await customer.press("服务态度")
    assert "请确认" in customer.text and "服务态度" in customer.text, "back to the review, not the details again"
    await customer.press("提交")
    assert customer.last and customer.last.ticket and customer.last.ticket.category == "service"


async def test_typed_answers_work_like_buttons(customer: Customer) -> None:
    await customer.say("收到的衣服质量很差，洗一次就掉色")
    await customer.say("对")
    await customer.say("跳过")
    await customer.say("昨天")
    await customer.say("不用")
    await customer.say("完成")
    await customer.say("提交")
    assert customer.last and customer.last.ticket and customer.last.ticket.occurred == "昨天"


async def test_cancel_midway_and_cancel_with_nothing_open(customer: Customer) -> None:
    await customer.command("cancel")
    assert customer.text == zh("cancel.nothing")
    await customer.say("送错货了")
    await customer.press("是的")
    await customer.command("cancel")
    assert customer.text == zh("cancel.done")
    await customer.command("cancel")
    assert customer.text == zh("cancel.nothing")
    await customer.command("status")
    assert customer.text == zh("status.none"), "a cancelled complaint creates no ticket"


async def test_cancel_after_submission_is_explained(customer: Customer) -> None:
    await customer.command("human")
    await customer.command("cancel")
    assert zh("illegal.cancel.submitted") in customer.text


async def test_talk_to_a_human_before_describing(customer: Customer) -> None:
    await customer.command("human")
    assert customer.last and customer.last.ticket
    ticket = customer.last.ticket
    assert ticket.handoff_reason == "customer_request"
    assert ticket.number and ticket.number in customer.text
    assert zh("desk.not_connected_here", number=ticket.number) in customer.text, "no contact: the answer comes here"
    assert [(i.payload["audience"], i.kind) for i in customer.last.desk] == [("agents", "ticket_card")]
    await customer.command("human")
    assert zh("human.already_queued", number=ticket.number) in customer.text


async def test_talk_to_a_human_mid_intake_keeps_the_description(customer: Customer) -> None:
    await customer.say("订单一直显示待发货")
    await customer.press("是的")
    await customer.command("human")
    assert customer.last and customer.last.ticket
    assert customer.last.ticket.description == "订单一直显示待发货"


async def test_health_harm_is_urgent_and_goes_to_agents_and_supervisors(customer: Customer) -> None:
    await customer.say("昨天点的外卖吃完全家都拉肚子了")
    assert zh("severity.note_hot", reasons="").split("（")[0] in customer.text
    await customer.press("是的")
    await customer.skip_details()
    await customer.press("没有照片")
    await customer.press("提交")
    assert customer.last and customer.last.ticket
    ticket = customer.last.ticket
    assert ticket.severity is Severity.HOT and ticket.handoff_reason == "severity"
    assert ticket.category == "safety"
    assert {(i.payload["audience"], i.kind) for i in customer.last.desk} == {("agents", "ticket_card"), ("supervisors", "ping")}


async def test_general_complaint_stays_in_the_queue_unless_configured(make_service, store: Store) -> None:  # type: ignore[no-untyped-def]
    from flows.grading import HandoffPolicy

    async def submit(service: ComplaintService, chat: str) -> Customer:
        c = Customer(service, chat_id=chat)
        await c.say("包装有点破，不过东西没事")
        await c.press("是的")
        await c.skip_details()
        await c.press("没有照片")
        await c.press("提交")
        return c

    queued = await submit(make_service(), "1")
    assert queued.last and queued.last.ticket and queued.last.ticket.handoff_reason is None
    assert queued.last.desk == []
    every = await submit(make_service(handoff=HandoffPolicy(every_ticket=True)), "2")
    assert every.last and every.last.ticket and every.last.ticket.handoff_reason == "every_ticket"


async def test_stale_and_unknown_buttons_are_explained(customer: Customer) -> None:
    await customer.say("商品和描述不符，颜色完全不一样")
    old_yes = customer.button("是的")
    await customer.press("是的")
    await customer.send(InboundKind.BUTTON, button=old_yes)
    assert customer.replies[0].text == zh("button.stale")
    assert zh("details.order") in customer.text, "the current question is asked again"
    await customer.send(InboundKind.BUTTON, button="garbage-from-elsewhere")
    assert customer.text == zh("button.unknown")
    await customer.send(InboundKind.BUTTON, button="999.1:confirm")
    assert customer.replies[0].text == zh("button.stale")


async def test_empty_whitespace_and_greeting(customer: Customer) -> None:
    await customer.say("")
    assert customer.text == zh("empty.idle")
    await customer.say("   \n ")
    assert customer.text == zh("empty.idle")
    await customer.say("你好")
    assert customer.text.startswith(zh("welcome")[:10])
    await customer.command("complain")
    await customer.say("  ")
    assert customer.text == zh("empty.describing")


async def test_unsupported_media_is_answered_and_stored(customer: Customer, store: Store) -> None:
    await customer.send(InboundKind.UNSUPPORTED, unsupported_type="sticker")
    assert customer.text == zh("unsupported.message", kind="贴纸")
    await customer.send(InboundKind.UNSUPPORTED, unsupported_type="voice")
    assert "语音" in customer.text
    assert await count_messages(store, kind="unsupported") == 2


async def test_duplicate_update_is_processed_once(customer: Customer, store: Store) -> None:
    await customer.send(InboundKind.TEXT, text="快递丢了", update_id="u-1", message_id="m1")
    assert customer.last and not customer.last.duplicate
    await customer.send(InboundKind.TEXT, text="快递丢了", update_id="u-1", message_id="m1")
    assert customer.last and customer.last.duplicate and customer.replies == []
    assert await count_messages(store, direction="in") == 1


async def test_a_10000_character_rant_is_kept_whole(customer: Customer) -> None:
    rant = ("我真的太生气了，快递又晚了三天，" * 700)[:10_000]
    await customer.say(rant)
    assert "物流配送" in customer.text
    await customer.press("是的")
    await customer.skip_details()
    await customer.press("没有照片")
    assert len(customer.text) < 2_000, "the review shows a shortened description"
    await customer.press("提交")
    assert customer.last and customer.last.ticket and customer.last.ticket.description == rant.strip()


async def test_invalid_details_are_asked_again(customer: Customer) -> None:
    await customer.say("退款申请了两周还没到账")
    await customer.press("是的")
    await customer.say("x" * 100)
    assert customer.text == zh("details.order_invalid", limit=64)
    await customer.press("跳过")
    await customer.say("上周")
    await customer.say("call me maybe")
    assert customer.text == zh("details.contact_invalid")
    await customer.say("li.lei@example.com")
    assert zh("details.photos") in customer.text


async def test_photo_first_starts_a_complaint(customer: Customer) -> None:
    await customer.photo("p1")
    assert customer.text == zh("photos.received_describe", what=zh("attachments.photo"), received=zh("attachments.count_photos", count=1))
    await customer.say("收到的杯子是碎的")
    await customer.press("是的")
    await customer.skip_details()
    assert zh("details.photos_more", received=zh("attachments.count_photos", count=1)) in customer.text
    await customer.press("完成")
    await customer.press("提交")
    assert customer.last and customer.last.ticket and [p.file_id for p in customer.last.ticket.photos] == ["p1"]


async def test_photo_with_caption_is_the_description(customer: Customer) -> None:
    await customer.photo("p1", caption="外卖里吃出一根头发")
    assert customer.last and customer.last.conversation
    assert customer.last.conversation.state is ConversationState.CONFIRMING_CATEGORY
    assert customer.last.conversation.draft.description == "外卖里吃出一根头发"


async def test_status_lists_tickets_with_state_and_promise(customer: Customer, clock) -> None:  # type: ignore[no-untyped-def]
    await customer.command("status")
    assert customer.text == zh("status.none")
    await customer.command("human")
    number = customer.last.ticket.number  # type: ignore[union-attr]
    await customer.command("status")
    assert number in customer.text and zh("ticket_state.new") in customer.text
    assert zh("status.first_response_by", due=zh("time.today", time="04:00")) in customer.text  # 02:00 + 2 h, UTC


async def test_language_switch(customer: Customer) -> None:
    await customer.command("lang")
    assert customer.button("English")
    await customer.press("English")
    assert customer.text == ZH.text("en", "lang.changed")
    await customer.say("The parcel never arrived and tracking has not moved for a week")
    assert "Is that right?" in customer.text
    await customer.command("lang", "zh")
    assert customer.text.startswith(zh("lang.changed"))


async def test_language_from_platform_code(service: ComplaintService) -> None:
    english = Customer(service, chat_id="200", language="en-GB")
    await english.command("help")
    assert english.text == ZH.text("en", "help")
    unknown = Customer(service, chat_id="201", language="de")
    await unknown.command("help")
    assert unknown.text == zh("help")


async def test_unknown_command(customer: Customer) -> None:
    await customer.command("frobnicate")
    assert customer.text == zh("command.unknown", command="frobnicate")


async def test_group_chats_are_sent_to_private(service: ComplaintService) -> None:
    group = Customer(service, chat_id="-1001", private=False)
    await group.say("投诉！")
    assert group.text == zh("group.private_only")
    assert group.last and group.last.conversation is None


async def test_edited_description_updates_the_draft(customer: Customer) -> None:
    await customer.send(InboundKind.TEXT, text="送错颜色了", message_id="77")
    await customer.send(InboundKind.EDIT, text="送错尺码了，要的是L码", message_id="77")
    assert customer.text.startswith(zh("edit.description_updated"))
    assert customer.last and customer.last.conversation
    assert customer.last.conversation.draft.description == "送错尺码了，要的是L码"
    await customer.send(InboundKind.EDIT, text="whatever", message_id="unknown")
    assert customer.text == zh("edit.noted")


async def test_a_restart_resumes_the_conversation(make_service) -> None:  # type: ignore[no-untyped-def]
    first = Customer(make_service())
    await first.say("空调不制冷，刚买一个月就坏了")
    await first.press("是的")
    await first.say("A-100")
    resumed = Customer(make_service(), _update=first._update, _message=first._message)
    await resumed.command("start")
    assert zh("details.when") in resumed.text, "the new process asks the step the customer was on"
    await resumed.say("上周五")
    assert zh("details.contact") in resumed.text


async def test_several_chats_do_not_mix(service: ComplaintService) -> None:
    a, b = Customer(service, chat_id="1"), Customer(service, chat_id="2")
    await a.say("快递三天没到")
    await b.say("菜里有虫子")
    await a.press("是的")
    assert zh("details.order") in a.text
    assert b.last and b.last.conversation and b.last.conversation.state is ConversationState.CONFIRMING_CATEGORY


@every_store
async def test_whole_flow_on_both_backends(customer: Customer) -> None:
    await customer.say("买的鞋子开胶了，要求退货")
    await customer.press("是的")
    await customer.skip_details()
    await customer.press("没有照片")
    await customer.press("提交")
    assert customer.last and customer.last.ticket and customer.last.ticket.number == "T000001"


async def test_contact_keyboard_is_taken_away_when_the_step_is_over(customer: Customer) -> None:
    await customer.say("快递送错了地址")
    await customer.press("是的")
    await customer.press("跳过")
    await customer.press("跳过")
    assert customer.replies[-1].request_contact
    await customer.say("13812345678")
    assert customer.replies[0].remove_keyboard and "138****5678" in customer.replies[0].text
    assert not any(r.remove_keyboard for r in customer.replies[1:])
    assert zh("details.photos") in customer.text


async def test_the_skip_label_typed_by_a_keyboard_skips_and_cancel_closes_the_keyboard(customer: Customer) -> None:
    await customer.say("快递送错了地址")
    await customer.press("是的")
    await customer.say(zh("button.skip"))  # what a reply-keyboard button sends
    assert zh("details.when") in customer.text
    await customer.say(zh("button.skip"))
    assert zh("details.contact") in customer.text
    await customer.command("cancel")
    assert customer.replies[0].remove_keyboard and customer.replies[0].text == zh("cancel.done")


async def test_severity_is_explained_with_the_rules_label_not_its_id(customer: Customer) -> None:
    await customer.say("昨天吃了你们的外卖，全家拉肚子")
    assert "健康受损或安全隐患（拉肚子）" in customer.text
    assert "health_harm" not in customer.text


async def test_no_to_the_suggested_category_offers_the_list(customer: Customer) -> None:
    await customer.say("快递送到了但是没收到")
    await customer.say("不是")
    assert zh("category.choose") in customer.text
    assert customer.last and customer.last.conversation
    assert customer.last.conversation.draft.description == "快递送到了但是没收到", "“不是” is not part of the complaint"


async def test_a_shared_contact_without_a_complaint_is_not_claimed_to_be_saved(customer: Customer) -> None:
    await customer.send(InboundKind.CONTACT, contact="+8613800138000", text="+8613800138000")
    assert customer.text == zh("contact.no_complaint")


async def test_an_edited_message_keeps_its_old_text(customer: Customer, store: Store) -> None:
    await customer.send(InboundKind.TEXT, text="快递慢", message_id="m1")
    await customer.send(InboundKind.EDIT, text="快递慢，而且盒子压坏了", message_id="m1")
    [row] = [m for m in await stored_messages(store) if m.platform_message_id == "m1" and m.kind == "text"]
    assert row.data is not None
    assert row.text == "快递慢，而且盒子压坏了" and row.data["previous_texts"][0]["text"] == "快递慢"
