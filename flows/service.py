"""The application service: the one entry point every channel calls.

``handle(inbound)`` takes one customer event, loads the chat's conversation, applies
the conversation machine and the classifier, and writes the state, the inbound and
outbound messages and the outbox rows in ONE transaction. It returns the outbox items
to deliver; the channel delivers them through :class:`flows.outbox.OutboxRelay`.
Desk actions (claim, reply, resolve...) go through the same kind of transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flows import buttons
from flows import lifecycle
from flows.desk import Desk, DeskResult
from flows.events import DeskEvent, DigestDue, PinPing, UnknownEvent, decode, encode
from flows.domain import (
    DESK_CHANNEL,
    Actor,
    Conversation,
    Customer,
    Inbound,
    InboundKind,
    MessageRecord,
    OutboxItem,
    Severity,
    Ticket,
    TicketEvent,
    UserRef,
    desk_target,
)
from flows.formatting import parse_ticket_number
from flows.intake import Intake
from flows.outbox import DeliveryError
from flows.grading import HandoffPolicy
from flows.sla import Promises
from flows.scheduler import TimerActions
from flows.ports import DuplicateUpdate, UnitOfWork, UnitOfWorkFactory
from flows.texts import Catalogue, default_catalogue
from flows.ownership import DeskAction, Refusal, card_actions, check_thread_reply
from flows.turn import Turn
from nlp import Category, Classifier

logger = logging.getLogger(__name__)

#: the ticket events that show a person works at the desk (:meth:`ComplaintService.worked_at_desk`)
DESK_WORK = ("claim", "transfer", "note", "agent_reply", "resolve")

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def desk_event(item: OutboxItem) -> DeskEvent:
    """The event a desk item carries, for a desk channel's sender; an item no desk can read
    (an unknown or malformed event) fails for good: retrying would not change it."""
    try:
        return decode(item.ticket_id, item.payload)
    except UnknownEvent as exc:
        raise DeliveryError(f"desk item {item.id}: {exc}", permanent=True) from exc


def desk_item(event: DeskEvent, now: datetime, conversation_id: int | None = None) -> OutboxItem:
    """The outbox row that carries ``event`` to the desk (queued per ticket; the digest on its own)."""
    return OutboxItem(
        id=None,
        channel=DESK_CHANNEL,
        target=desk_target(event.ticket_id) if event.ticket_id is not None else "digest",
        kind=event.delivery.value,
        payload=encode(event),
        created_at=now,
        next_attempt_at=now,
        conversation_id=conversation_id,
        ticket_id=event.ticket_id,
    )


@dataclass(frozen=True, slots=True)
class Outcome:
    """What handling one event produced."""

    replies: Sequence[OutboxItem] = ()  # for the customer's channel, in order
    desk: Sequence[OutboxItem] = ()  # for the agents' / supervisors' desk
    duplicate: bool = False  # the platform re-delivered an update we already handled
    claimed: bool = False  # ``replies`` are claimed for the caller to send (OutboxRelay.deliver)
    conversation: Conversation | None = None
    ticket: Ticket | None = None


@dataclass(frozen=True, slots=True)
class DeskView:
    """A ticket as the desk shows it."""

    ticket: Ticket
    customer: Customer
    events: Sequence[TicketEvent]
    customer_messages: Sequence[MessageRecord]  # what the customer sent about it, oldest first
    actions: Sequence[DeskAction] = ()  # what the shared card offers (flows.ownership.card_actions)
    hot_issue_term: str | None = None  # the term of the hot issue the ticket joined last
    crisis_ping_refs: Sequence[str] = ()  # where the crisis pings went out (ComplaintService.crisis_pinged), to unpin


@dataclass(frozen=True, slots=True)
class DeskOutcome:
    """What a desk action did, with the text to show the agent who did it."""

    ok: bool
    message: str
    ticket: Ticket | None = None
    refusal: Refusal | None = None
    replies: Sequence[OutboxItem] = field(default=())
    desk: Sequence[OutboxItem] = field(default=())
    duplicate: bool = False  # the desk platform re-delivered an event already handled
    kept_internal: bool = False  # a thread message that did not go to the customer was kept as an internal message


class ComplaintService:
    """Customer events and desk actions, each in one transaction."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        classifier: Classifier,
        *,
        texts: Catalogue | None = None,
        promises: Promises | None = None,
        handoff: HandoffPolicy | None = None,
        desk_connected: bool = False,
        default_language: str = "zh",
        desk_language: str = "zh",
        timezone: ZoneInfo | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self.uow_factory = uow_factory
        self.texts = texts or default_catalogue()
        self.default_language = default_language
        self.desk_language = desk_language
        self.clock = clock
        self.intake = Intake(
            classifier,
            self.texts,
            promises or Promises(),
            handoff or HandoffPolicy(),
            desk_connected=desk_connected,
            timezone=timezone or ZoneInfo("UTC"),
        )
        self.desk = Desk(self.intake)
        self.timer_actions = TimerActions(self.intake.promises, self.intake.handoff, self.texts)

    @property
    def desk_connected(self) -> bool:
        """Whether agents are reachable now (Slack configured, or a terminal desk running):
        when not, a customer handed to a person is told their ticket waits, saved."""
        return self.intake.desk_connected

    @desk_connected.setter
    def desk_connected(self, connected: bool) -> None:
        self.intake.desk_connected = connected

    # ------------------------------------------------------------------ customers
    async def handle(
        self,
        inbound: Inbound,
        *,
        claim_replies: timedelta | None = None,
        inbox_id: int | None = None,
        on_begin: Callable[[UnitOfWork], Awaitable[None]] | None = None,
        before_commit: Callable[[UnitOfWork], Awaitable[None]] | None = None,
    ) -> Outcome:
        """Process one customer event; a re-delivered update is recognised and ignored.

        With ``claim_replies`` the replies are written already claimed for that long
        (when nothing older waits for the chat), so the caller sends them right away with
        :meth:`flows.outbox.OutboxRelay.deliver` without another round trip to claim them;
        ``Outcome.claimed`` says whether that happened.

        ``inbox_id``: the event was stored in the inbox (flows/inbox.py); it is marked
        handled in this transaction, which is how a second handling is recognised.
        ``on_begin`` runs first inside the transaction and may raise to abandon it (the
        inbox checks there that it still holds the chat); ``before_commit`` runs last (the
        inbox gives up the chat's lease there when nothing else waits).
        """
        now = self.clock()
        try:
            async with self.uow_factory() as uow:
                if on_begin is not None:
                    await on_begin(uow)
                if inbox_id is not None:
                    if not await uow.inbox.mark_processed(inbox_id, now):
                        return Outcome(duplicate=True)
                elif inbound.update_id and not await uow.updates.record(inbound.channel, inbound.update_id):
                    return Outcome(duplicate=True)
                outcome = await self.handle_in(uow, inbound, now, claim_replies=claim_replies)
                if before_commit is not None:
                    await before_commit(uow)
                await uow.commit()
                return outcome
        except DuplicateUpdate:
            logger.info("update %s of %s was processed concurrently", inbound.update_id, inbound.channel)
            return Outcome(duplicate=True)

    async def handle_in(
        self, uow: UnitOfWork, inbound: Inbound, now: datetime, *, claim_replies: timedelta | None = None
    ) -> Outcome:
        """:meth:`handle`'s work inside the caller's transaction, which the caller commits
        (the inbox handles several chats' updates in the transaction that stores them);
        re-deliveries are the caller's to recognise."""
        conversation = await self._conversation_for(uow, inbound)  # first: read with its customer
        customer = await uow.customers.get_or_create(
            inbound.channel,
            inbound.user.external_id,
            inbound.user.display_name,
            self._initial_language(inbound.user.language_code),
        )
        turn = Turn(uow, now, customer, inbound.channel, inbound.chat_id, conversation)
        turn.inbound_message_id = inbound.message_id
        record = self._inbound_record(inbound, turn.conversation, now)
        await self.intake.handle(turn, inbound)
        if turn.unfiled:  # kept, but not as something the customer said about the ticket
            record = replace(record, ticket_id=None)
        outcome = await self._finish(uow, turn, claim_replies)
        if outcome.replies:  # the replies are their outbox rows: the message names them
            record = replace(record, data={**(record.data or {}), "replies": [item.id for item in outcome.replies]})
        await uow.messages.add(record)
        return outcome

    def _initial_language(self, code: str | None) -> str:
        if code:
            return self.texts.language_for(code)
        return self.default_language

    async def _conversation_for(self, uow: UnitOfWork, inbound: Inbound) -> Conversation | None:
        """The conversation an event belongs to: a button names its own, else the chat's newest."""
        if inbound.kind is InboundKind.BUTTON:
            press = buttons.parse(inbound.button)
            if press and press.conversation_id:
                conv = await uow.conversations.get(press.conversation_id)
                if conv is not None and conv.channel == inbound.channel and conv.chat_id == inbound.chat_id and conv.active:
                    return conv
        return await uow.conversations.active_for_chat(inbound.channel, inbound.chat_id)

    @staticmethod
    def _inbound_record(inbound: Inbound, conv: Conversation | None, now: datetime) -> MessageRecord:
        data: dict[str, object] = {}
        if inbound.command:
            data["command"] = inbound.command
        if inbound.button:
            data["button"] = inbound.button
        if inbound.attachment:
            data["attachment"] = inbound.attachment.to_dict()
        if inbound.contact:
            data["contact"] = inbound.contact
        if inbound.unsupported_type:
            data["unsupported_type"] = inbound.unsupported_type
        if inbound.update_id:
            data["update_id"] = inbound.update_id
        if inbound.sent_at:
            data["sent_at"] = inbound.sent_at.isoformat()
        return MessageRecord(
            direction="in",
            channel=inbound.channel,
            chat_id=inbound.chat_id,
            kind=inbound.kind.value,
            text=inbound.text,
            conversation_id=conv.id if conv else None,
            ticket_id=conv.ticket_id if conv else None,
            data=data or None,
            platform_message_id=inbound.message_id,
            created_at=now,
        )

    async def _finish(self, uow: UnitOfWork, turn: Turn, claim: timedelta | None = None) -> Outcome:
        """Persist the conversation and write every reply and desk message to the outbox."""
        conv = turn.conversation
        if conv is not None:
            conv.updated_at = turn.now
            await uow.conversations.save(conv)
        conv_id = conv.id if conv else None
        ticket_id = conv.ticket_id if conv else None
        payloads = [reply.to_payload() for reply in turn.replies]
        claimed = bool(payloads) and claim is not None and not await uow.outbox.has_pending(turn.channel, turn.chat_id)
        due = turn.now + claim if claimed and claim is not None else turn.now
        items = [
            OutboxItem(
                id=None,
                channel=turn.channel,
                target=turn.chat_id,
                kind="reply",
                payload=payload,
                created_at=turn.now,
                next_attempt_at=due,
                conversation_id=conv_id,
                ticket_id=ticket_id,
            )
            for payload in payloads
        ]
        items += [
            desk_item(event, turn.now, conv_id)
            for event in turn.desk
        ]
        await uow.outbox.add_all(items)
        # a reply is written once, as its outbox row (kept once sent, with when it was)
        replies, desk = items[: len(payloads)], items[len(payloads) :]
        ticket = turn.ticket if turn.ticket is not None and turn.ticket.id == ticket_id else None
        return Outcome(replies=replies, desk=desk, conversation=conv, ticket=ticket, claimed=claimed)

    # ------------------------------------------------------------------ desk
    async def find_ticket(self, ref: str | int) -> Ticket | None:
        """A ticket by id or by number ("T000042", "#42", "42")."""
        ticket_id = ref if isinstance(ref, int) else parse_ticket_number(ref)
        if ticket_id is None:
            return None
        async with self.uow_factory() as uow:
            return await uow.tickets.get(ticket_id)

    async def claim(self, ref: str | int, actor: Actor) -> DeskOutcome:
        return await self._desk_action(ref, lambda turn, t: self.desk.claim(turn, t, actor), "claimed")

    async def reply(self, ref: str | int, actor: Actor, text: str, *, event_id: str | None = None) -> DeskOutcome:
        """The ticket owner's message to the customer; ``event_id`` makes a re-delivery harmless."""
        return await self._desk_action(ref, lambda turn, t: self.desk.reply(turn, t, actor, text), "replied", event_id)

    async def transfer(self, ref: str | int, actor: Actor, to: Actor) -> DeskOutcome:
        return await self._desk_action(ref, lambda turn, t: self.desk.transfer(turn, t, actor, to), "transferred")

    async def escalate(self, ref: str | int, actor: Actor, note: str = "") -> DeskOutcome:
        return await self._desk_action(ref, lambda turn, t: self.desk.escalate(turn, t, actor, note), "escalated")

    async def change_category(self, ref: str | int, actor: Actor, category: str) -> DeskOutcome:
        return await self._desk_action(
            ref, lambda turn, t: self.desk.change_category(turn, t, actor, category), "category_changed"
        )

    async def change_severity(self, ref: str | int, actor: Actor, severity: Severity) -> DeskOutcome:
        return await self._desk_action(
            ref, lambda turn, t: self.desk.change_severity(turn, t, actor, severity), "severity_changed"
        )

    async def regrade(
        self, ref: str | int, actor: Actor, *, category: str | None = None, severity: Severity | None = None, crisis: bool = False
    ) -> DeskOutcome:
        """Category, severity and crisis together, all or nothing (``outcome.refusal.field``
        says which part was refused)."""
        return await self._desk_action(
            ref, lambda turn, t: self.desk.regrade(turn, t, actor, category, severity, crisis), "regraded"
        )

    async def declare_crisis(self, ref: str | int, actor: Actor) -> DeskOutcome:
        return await self._desk_action(ref, lambda turn, t: self.desk.declare_crisis(turn, t, actor), "crisis")

    async def resolve(self, ref: str | int, actor: Actor, note: str = "") -> DeskOutcome:
        return await self._desk_action(ref, lambda turn, t: self.desk.resolve(turn, t, actor, note), "resolved")

    async def note(
        self, ref: str | int, actor: Actor, text: str, *, kind: str = "note", event_id: str | None = None
    ) -> DeskOutcome:
        """Keep an internal note (or an internal thread message: ``kind="internal_message"``)."""
        return await self._desk_action(ref, lambda turn, t: self.desk.note(turn, t, actor, text, kind), "noted", event_id)

    async def thread_message(
        self,
        ref: str | int,
        actor: Actor,
        text: str,
        *,
        internal_text: str | None = None,
        event_id: str | None = None,
        correction: bool = False,
    ) -> DeskOutcome:
        """What a person wrote in the ticket's desk thread, in one transaction: a reply to
        the customer when the ownership rules let them answer (:func:`flows.ownership.check_thread_reply`),
        else kept as an internal message (``internal_text`` when given: the text as written
        at the desk). A message kept internally comes back with ``ok`` False,
        ``kept_internal`` True and the ``refusal`` that says why it did not go out.
        ``correction``: the text is an edit of an earlier message (the customer is told so)."""
        kept: list[Refusal] = []

        async def reply_or_keep(turn: Turn, ticket: Ticket) -> DeskResult:
            refusal = check_thread_reply(ticket, actor)
            replied = DeskResult(ticket, refusal) if refusal else await self.desk.reply(turn, ticket, actor, text, correction=correction)
            if replied.refusal is None:
                return replied
            internal = internal_text if internal_text is not None else text
            note = await self.desk.note(turn, ticket, actor, internal, "internal_message")
            if note.refusal is not None:  # nothing to keep either: refused, nothing written
                return DeskResult(ticket, replied.refusal)
            kept.append(replied.refusal)
            return note

        outcome = await self._desk_action(ref, reply_or_keep, "replied", event_id)
        if kept and outcome.ok:
            return DeskOutcome(False, self._refusal_text(kept[0]), outcome.ticket, kept[0], kept_internal=True)
        return outcome

    # ------------------------------------------------------------------ timers
    async def run_due_timers(self, limit: int = 500) -> int:
        """Act on the timers that are due, each in its own transaction; returns how many.

        On PostgreSQL several bot processes may run this at once: each timer is locked
        by the one that takes it and skipped by the others (see TimerRepository).
        """
        handled = 0
        passed: set[int] = set()  # this round only: failed, or another scheduler's
        for _ in range(limit):
            timer_id: int | None = None
            try:
                async with self.uow_factory() as uow:
                    now = self.clock()
                    due = await uow.timers.next_due(now, tuple(passed))
                    if due is None:
                        break
                    timer_id = due.id
                    assert timer_id is not None
                    turn = await self._ticket_turn(uow, due.ticket_id, now)
                    timer = await uow.timers.lock_if_due(timer_id, now)
                    if turn is None or turn.ticket is None or timer is None:
                        passed.add(timer_id)  # another scheduler has it (or it is done now)
                        continue
                    await self.timer_actions.act(turn, timer, turn.ticket)
                    await self._finish(uow, turn)
                    await uow.commit()
                    handled += 1
            except Exception:
                if timer_id is None:
                    raise  # the database itself: the scheduler loop retries later
                logger.exception("timer %s failed; retried next round", timer_id)
                passed.add(timer_id)
        return handled

    async def _ticket_turn(self, uow: UnitOfWork, ticket_id: int, now: datetime) -> Turn | None:
        """A turn on a ticket, its conversation and the ticket locked in that order."""
        ticket = await uow.tickets.get(ticket_id)
        if ticket is None:
            return None
        conv = await uow.conversations.get(ticket.conversation_id) if ticket.conversation_id else None
        ticket = await uow.tickets.get(ticket_id, lock=True)  # read again under the lock
        customer = await uow.customers.get(ticket.customer_id) if ticket else None
        if ticket is None or customer is None:
            return None
        return Turn(uow, now, customer, ticket.channel, ticket.chat_id, conv, ticket=ticket)

    async def schedule_digest(self, key: str, since: datetime, until: datetime) -> bool:
        """Queue the supervisors' digest for a period, once per ``key`` (e.g. "2026-W48")
        however many bot processes try; False when it was already queued."""
        try:
            async with self.uow_factory() as uow:
                if not await uow.updates.record("digest", key):
                    return False
                now = self.clock()
                await uow.outbox.add(desk_item(DigestDue(None, since=since, until=until, key=key), now))
                await uow.commit()
        except DuplicateUpdate:
            return False
        return True

    # ------------------------------------------------------------------ what the desk shows
    async def desk_view(self, ticket_id: int) -> DeskView | None:
        """Everything a ticket card shows, read in one transaction."""
        async with self.uow_factory() as uow:
            ticket = await uow.tickets.get(ticket_id)
            if ticket is None:
                return None
            customer = await uow.customers.get(ticket.customer_id)
            assert customer is not None
            events = await uow.events.for_ticket(ticket_id)
            said = await uow.messages.for_ticket(ticket_id, direction="in")
        joined = next((e.data for e in reversed(events) if e.kind == lifecycle.JOINED_HOT_ISSUE and e.data), None)
        pinned = tuple(
            str(e.data["ref"]) for e in events if e.kind == lifecycle.CRISIS_PINNED and e.data and e.data.get("ref")
        )
        return DeskView(
            ticket,
            customer,
            tuple(events),
            tuple(said),
            card_actions(ticket),
            hot_issue_term=(str(joined.get("term") or "") or None) if joined else None,
            crisis_ping_refs=pinned,
        )

    async def card_posted(self, ticket_id: int, ref: str, follow_ups: Sequence[DeskEvent] = ()) -> None:
        """The desk posted the ticket's card at ``ref``: remember it and, in the same
        transaction, queue what goes into its thread afterwards (one outbox item each,
        so a failure retries only that piece)."""
        await self._desk_steps(ticket_id, follow_ups, set_ref=ref)

    async def crisis_pinged(self, ticket_id: int, ref: str) -> None:
        """The crisis ping went out at ``ref``: remember it (to unpin it at closing) and
        queue the pinning as its own step."""
        await self._desk_steps(ticket_id, (PinPing(ticket_id, ref=ref),), event=(lifecycle.CRISIS_PINNED, {"ref": ref}))

    async def _desk_steps(
        self,
        ticket_id: int,
        steps: Sequence[DeskEvent],
        *,
        set_ref: str | None = None,
        event: tuple[str, dict[str, Any]] | None = None,
    ) -> None:
        async with self.uow_factory() as uow:
            now = self.clock()
            if set_ref is not None:
                await uow.tickets.set_desk_ref(ticket_id, set_ref)
            if event is not None:
                ticket = await uow.tickets.get(ticket_id)
                state = ticket.state.value if ticket else None
                await uow.events.add(TicketEvent(ticket_id, event[0], lifecycle.SYSTEM, state, state, event[1], now))
            await uow.outbox.add_all([desk_item(step, now) for step in steps])
            await uow.commit()

    async def ticket_at_desk_ref(self, ref: str) -> Ticket | None:
        async with self.uow_factory() as uow:
            return await uow.tickets.by_desk_ref(ref)

    async def worked_at_desk(self, actor_id: str) -> bool:
        """Whether ``actor_id`` has worked on a ticket at the desk (claimed, transferred, noted,
        replied or resolved one): a name typed for a transfer that never did is likely a typo."""
        async with self.uow_factory() as uow:
            return await uow.events.any_by(actor_id, DESK_WORK)

    async def owned_by(self, owner_id: str) -> Sequence[Ticket]:
        """Open tickets an agent owns, most severe first."""
        async with self.uow_factory() as uow:
            return await uow.tickets.owned_by(owner_id)

    async def queue(self, limit: int = 20) -> Sequence[Ticket]:
        """Unclaimed open tickets, most severe and oldest first."""
        async with self.uow_factory() as uow:
            return await uow.tickets.unclaimed(limit)

    def category_name(self, category_id: str, language: str) -> str:
        return self.intake.category_name_in(category_id, language)

    @property
    def categories(self) -> tuple[Category, ...]:
        return self.intake.classifier.taxonomy

    async def _desk_action(
        self,
        ref: str | int,
        action: Callable[[Turn, Ticket], Awaitable[DeskResult]],
        done_key: str,
        event_id: str | None = None,
    ) -> DeskOutcome:
        ticket_id = ref if isinstance(ref, int) else parse_ticket_number(ref)
        lang = self.desk_language
        if ticket_id is None:
            return DeskOutcome(False, self.texts.text(lang, "desk.refusal.unknown_ticket", ref=str(ref)))
        async with self.uow_factory() as uow:
            if event_id is not None and not await uow.updates.record(DESK_CHANNEL, event_id):
                return DeskOutcome(False, "", duplicate=True)
            turn = await self._ticket_turn(uow, ticket_id, self.clock())
            if turn is None or turn.ticket is None:
                return DeskOutcome(False, self.texts.text(lang, "desk.refusal.unknown_ticket", ref=str(ref)))
            ticket = turn.ticket
            result = await action(turn, ticket)
            if result.refusal is not None:
                return DeskOutcome(False, self._refusal_text(result.refusal), ticket, result.refusal)
            outcome = await self._finish(uow, turn)
            try:
                await uow.commit()
            except DuplicateUpdate:
                return DeskOutcome(False, "", duplicate=True)
        return DeskOutcome(
            True,
            self.texts.text(lang, f"desk.done.{done_key}", number=ticket.number),
            outcome.ticket or ticket,
            None,
            outcome.replies,
            outcome.desk,
        )

    def _refusal_text(self, refusal: Refusal) -> str:
        """The refusal in the desk's language; a ticket state by its name, never its code."""
        lang, params = self.desk_language, dict(refusal.params)
        if "state" in params and self.texts.has(lang, f"ticket_state.{params['state']}"):
            params["state"] = self.texts.text(lang, f"ticket_state.{params['state']}")
        return self.texts.text(lang, f"desk.refusal.{refusal.code}", **params)

    async def customer(self, customer_id: int) -> Customer | None:
        async with self.uow_factory() as uow:
            return await uow.customers.get(customer_id)

    async def customer_text(self, channel: str, user: UserRef, key: str, **params: object) -> str:
        """A text of the catalogue in the customer's language: for a channel's own notices
        that never reach the flow (the terminal chat's "file not found")."""
        async with self.uow_factory() as uow:
            customer = await uow.customers.get_or_create(
                channel, user.external_id, user.display_name, self._initial_language(user.language_code)
            )
            await uow.commit()
        return self.texts.text(customer.language, key, **params)
