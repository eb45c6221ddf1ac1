"""Agent actions through the application service: ownership, notifications, feedback (回访).

On the in-memory unit of work; ``every_store`` ones also on SQLite and PostgreSQL
(where two actions on one ticket really run at once)."""

from __future__ import annotations

import asyncio


from flows.domain import Actor, ConversationState, Severity, TicketState
from flows.service import ComplaintService
from tests.service.conftest import Customer, Store, every_store, zh

ALICE = Actor("U1", "Alice", is_agent=True)
BOB = Actor("U2", "Bob", is_agent=True)
SUE = Actor("U9", "Sue", is_supervisor=True)
EVE = Actor("U7", "Eve")



async def handed_off(customer: Customer) -> str:
    await customer.say("收到的电饭煲不能加热")
    await customer.command("human")
    assert customer.last and customer.last.ticket and customer.last.ticket.number
    return customer.last.ticket.number


async def events(store: Store, number: str) -> list[str]:
    async with store() as uow:
        ticket = await uow.tickets.by_number(number)
        assert ticket and ticket.id
        return [e.kind for e in await uow.events.for_ticket(ticket.id)]


async def test_claim_reply_resolve_and_happy_feedback(customer: Customer, service: ComplaintService, store: Store) -> None:
    number = await handed_off(customer)

    claimed = await service.claim(number, ALICE)
    assert claimed.ok and claimed.message == zh("desk.done.claimed", number=number)
    assert claimed.ticket and claimed.ticket.state is TicketState.CLAIMED and claimed.ticket.owner_id == "U1"
    assert [r.payload["text"] for r in claimed.replies] == [zh("agent.joined", agent="Alice", number=number)]
    assert claimed.ticket.first_response_at is not None

    replied = await service.reply(number, ALICE, "您好，麻烦拍一下铭牌")
    assert replied.ok and replied.replies[0].payload["text"] == zh("agent.says", agent="Alice", text="您好，麻烦拍一下铭牌")

    await customer.say("好的，稍等")  # while with an agent, the customer's words go to the thread
    assert customer.replies == [] and customer.last and [d.kind for d in customer.last.desk] == ["relay"]

    resolved = await service.resolve(number, ALICE, "已安排换新")
    assert resolved.ok
    texts = [r.payload["text"] for r in resolved.replies]
    assert texts[0] == zh("agent.resolved", agent="Alice", number=number, note="已安排换新")
    assert texts[1] == zh("feedback.solved_question")

    customer.receive(resolved.replies)
    await customer.press("已解决")
    assert zh("feedback.rate") in customer.text
    await customer.press("5")
    assert zh("feedback.comment") in customer.text
    await customer.say("处理很快，谢谢")
    assert customer.text == zh("feedback.thanks", number=number)
    assert customer.last and customer.last.ticket
    assert customer.last.ticket.state is TicketState.CLOSED and customer.last.ticket.rating == 5
    assert customer.last.ticket.feedback == "处理很快，谢谢"
    assert customer.last.conversation and customer.last.conversation.state is ConversationState.CLOSED
    assert await events(store, number) == [
        "created", "handed_off", "claim", "agent_reply", "resolve", "customer_confirmed_solved", "rated", "close",
    ]


async def test_first_contact_ownership_through_the_service(customer: Customer, service: ComplaintService) -> None:
    number = await handed_off(customer)
    refused = await service.reply(number, ALICE, "hello")
    assert not refused.ok and refused.message == zh("desk.refusal.claim_first")
    assert (await service.claim(number, EVE)).message == zh("desk.refusal.not_agent")
    assert (await service.claim(number, ALICE)).ok
    other = await service.claim(number, BOB)
    assert not other.ok and other.message == zh("desk.refusal.owned_by_other", owner="Alice")
    assert not (await service.reply(number, BOB, "我来")).ok
    assert not (await service.resolve(number, BOB)).ok

    moved = await service.transfer(number, ALICE, BOB)
    assert moved.ok and moved.replies[0].payload["text"] == zh("agent.transferred", agent="Bob", number=number)
    assert not (await service.reply(number, ALICE, "还是我")).ok
    assert (await service.reply(number, BOB, "我接手了")).ok
    assert (await service.resolve(number, SUE, "主管结案")).ok


async def test_a_supervisor_may_reply_to_the_customer_of_an_agents_ticket(customer: Customer, service: ComplaintService) -> None:
    """As the refusal text says ("only the owner or a supervisor") and as resolving allows."""
    number = await handed_off(customer)
    assert (await service.reply(number, SUE, "我们马上处理")).refusal.code == "claim_first"  # type: ignore[union-attr]
    assert (await service.claim(number, ALICE)).ok
    stepped_in = await service.reply(number, SUE, "我们再看看")
    assert stepped_in.ok and stepped_in.replies[0].payload["text"] == zh("agent.says", agent="Sue", text="我们再看看")
    refused = await service.reply(number, BOB, "我来")
    assert not refused.ok and refused.message == zh("desk.refusal.not_owner", owner="Alice")
    ticket = await service.find_ticket(number)
    assert ticket and ticket.owner_id == "U1", "replying does not take the ticket over"
    # in the ticket's Slack thread a supervisor's words stay internal: the desk talks there too
    talk = await service.thread_message(number, SUE, "@Alice 请今天回电")
    assert talk.kept_internal and not talk.replies and talk.refusal and talk.refusal.code == "not_owner"


async def test_the_owner_of_a_reopened_ticket_is_told_to_claim_it_again_before_a_transfer(
    customer: Customer, service: ComplaintService
) -> None:
    number = await handed_off(customer)
    await service.claim(number, ALICE)
    resolved = await service.resolve(number, ALICE)
    customer.receive(resolved.replies)
    await customer.press("没有解决")
    refused = await service.transfer(number, ALICE, BOB)
    assert not refused.ok and refused.message == zh("desk.refusal.claim_again")
    assert "reopened" not in refused.message
    assert (await service.claim(number, ALICE)).ok
    assert (await service.transfer(number, ALICE, BOB)).ok


async def test_a_refusal_names_the_tickets_state_in_words(service: ComplaintService, customer: Customer) -> None:
    number = await handed_off(customer)
    await service.claim(number, ALICE)
    await service.resolve(number, ALICE)
    late = await service.transfer(number, ALICE, BOB)
    assert late.refusal and late.refusal.code == "wrong_state"
    assert late.message == zh("desk.refusal.wrong_state", state=zh("ticket_state.resolved"))
    assert "resolved" not in late.message


async def test_not_solved_reopens_as_a_repeat_complaint(customer: Customer, service: ComplaintService) -> None:
    number = await handed_off(customer)
    await service.claim(number, ALICE)
    resolved = await service.resolve(number, ALICE)
    customer.receive(resolved.replies)
    await customer.press("没有解决")
    assert customer.last and customer.last.ticket
    ticket = customer.last.ticket
    assert ticket.state is TicketState.REOPENED and ticket.reopen_count == 1
    assert ticket.severity is Severity.IMPORTANT, "a repeat complaint is at least important"
    assert {(d.payload["audience"], d.kind) for d in customer.last.desk} == {("agents", "ticket_update"), ("supervisors", "ping")}
    assert customer.text.startswith(zh("feedback.reopened", number=number, due="")[:10])
    again = await service.claim(number, ALICE)
    assert again.ok and again.replies[0].payload["text"] == zh("agent.joined", agent="Alice", number=number)


async def test_low_rating_reopens(customer: Customer, service: ComplaintService) -> None:
    number = await handed_off(customer)
    await service.claim(number, ALICE)
    resolved = await service.resolve(number, ALICE)
    customer.receive(resolved.replies)
    await customer.say("解决了")
    await customer.press("1")
    assert customer.last and customer.last.ticket and customer.last.ticket.state is TicketState.REOPENED
    assert customer.last.ticket.rating == 1


async def test_escalate_regrade_and_crisis(customer: Customer, service: ComplaintService) -> None:
    number = await handed_off(customer)
    escalated = await service.escalate(number, ALICE, "客户情绪激动")
    assert escalated.ok and escalated.ticket and escalated.ticket.escalated
    assert [(d.payload["audience"], d.kind) for d in escalated.desk][0] == ("supervisors", "ping")
    up = await service.change_severity(number, ALICE, Severity.HOT)
    assert up.ok and up.ticket and up.ticket.severity is Severity.HOT
    assert ("supervisors", "ping") in [(d.payload["audience"], d.kind) for d in up.desk]
    down = await service.change_severity(number, ALICE, Severity.GENERAL)
    assert not down.ok and down.message == zh("desk.refusal.supervisor_only")
    assert (await service.change_severity(number, SUE, Severity.GENERAL)).ok
    assert not (await service.declare_crisis(number, ALICE)).ok
    crisis = await service.declare_crisis(number, SUE)
    assert crisis.ok and crisis.ticket and crisis.ticket.crisis and crisis.ticket.severity is Severity.MAJOR
    recat = await service.change_category(number, ALICE, "after_sales")
    assert recat.ok and recat.ticket and recat.ticket.category == "after_sales"
    assert not (await service.change_category(number, ALICE, "nonsense")).ok


async def test_unknown_tickets_and_wrong_states(service: ComplaintService, customer: Customer) -> None:
    assert (await service.claim("T999999", ALICE)).message == zh("desk.refusal.unknown_ticket", ref="T999999")
    assert (await service.claim("not a number", ALICE)).message == zh("desk.refusal.unknown_ticket", ref="not a number")
    number = await handed_off(customer)
    await service.claim(number, ALICE)
    await service.resolve(number, ALICE)
    late = await service.escalate(number, ALICE)
    assert not late.ok and late.refusal and late.refusal.code == "wrong_state"


@every_store
async def test_who_has_worked_at_the_desk_on_both_backends(customer: Customer, service: ComplaintService) -> None:
    number = await handed_off(customer)
    assert not await service.worked_at_desk(ALICE.id)
    await service.escalate(number, BOB)  # escalating alone is no sign of working the desk
    assert (await service.claim(number, ALICE)).ok
    assert await service.worked_at_desk(ALICE.id)
    assert not await service.worked_at_desk(BOB.id) and not await service.worked_at_desk("张三")


@every_store
async def test_desk_loop_on_both_backends(customer: Customer, service: ComplaintService) -> None:
    number = await handed_off(customer)
    assert (await service.claim(number, ALICE)).ok
    assert (await service.resolve(number, ALICE)).ok
    ticket = await service.find_ticket(number)
    assert ticket and ticket.state is TicketState.RESOLVED and ticket.resolved_at is not None


@every_store
async def test_two_agents_claiming_at_once_one_wins(customer: Customer, service: ComplaintService, store: Store) -> None:
    """On PostgreSQL the two claims really run at once (two connections)."""
    number = await handed_off(customer)
    first, second = await asyncio.gather(service.claim(number, ALICE), service.claim(number, BOB))
    assert sorted([first.ok, second.ok]) == [False, True]
    assert (await events(store, number)).count("claim") == 1
    winner = ALICE if first.ok else BOB
    async with store() as uow:
        ticket = await uow.tickets.by_number(number)
    assert ticket is not None and ticket.owner_id == winner.id
    told = [item for outcome in (first, second) for item in outcome.replies]
    assert sum("已接手" in item.payload["text"] for item in told) == 1, "the customer hears of one agent"


@every_store
async def test_a_timer_and_a_desk_action_on_one_ticket_at_once_both_finish(
    customer: Customer, service: ComplaintService, store: Store, clock  # type: ignore[no-untyped-def]
) -> None:
    number = await handed_off(customer)
    clock.advance(hours=3)  # the first-response promise is broken: the scheduler has work
    claimed, handled = await asyncio.gather(service.claim(number, ALICE), service.run_due_timers())
    assert claimed.ok
    kinds = await events(store, number)
    assert kinds.count("claim") == 1 and kinds.count("sla_breached") <= 1
