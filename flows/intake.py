"""The customer side: turn each inbound event into a machine event and the replies.

This module decides what a message *means* in the current state (a description, an
answer to a detail question, a rating...), fires the conversation machine, and says
what the customer sees next. Illegal events get a helpful reply, never a crash.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flows import buttons, conversation as machine, lifecycle, promises as sla
from flows.buttons import ButtonPress
from flows.conversation import FEEDBACK_STATES, INTAKE_STATES, TICKET_OPEN_STATES, WAITING_STATES
from flows.domain import (
    Attachment,
    Button,
    Conversation,
    ConversationState,
    Draft,
    Inbound,
    InboundKind,
    Reply,
    Severity,
    Ticket,
    TicketState,
    TimerKind,
)
from flows.events import CloseReason, CustomerAdded, HandoffReason, ReopenReason, TicketClosed
from flows.explain import explaining_words
from flows.formatting import mask_contact, shorten
from flows.machine import IllegalEvent
from flows.policy import HandoffPolicy
from flows.promises import Promises
from flows.texts import Catalogue
from flows.turn import Turn
from nlp import Classifier, Suggestion

logger = logging.getLogger(__name__)

S = ConversationState

MAX_ORDER_NUMBER = 64
MAX_WHEN = 200
MAX_COMMENT = 2000
REVIEW_DESCRIPTION_LIMIT = 600

_PHONE_RE = re.compile(r"^\+?[\d\s\-()]{7,24}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ORDER_RE = re.compile(r"[0-9A-Za-z]")

# Single-word answers typed instead of pressing a button (normalised with casefold).
_YES = frozenset({"yes", "y", "ok", "okay", "confirm", "是", "是的", "对", "对的", "好", "好的", "确认", "嗯", "没错", "正确"})
_NO = frozenset({"no", "n", "不", "不是", "否", "没有", "不对"})
_SOLVED = frozenset({"solved", "resolved", "fixed", "it's solved", "解决了", "已解决", "已经解决", "已经解决了", "好了", "搞定了", "没问题了"})
_UNSOLVED = frozenset({"not solved", "unsolved", "not resolved", "not fixed", "没解决", "没有解决", "未解决", "还没解决", "还没有解决", "没搞定"})
_SKIP = frozenset({"skip", "none", "no", "n/a", "-", "跳过", "无", "没有", "略过", "不用"})
_DONE = frozenset({"done", "finish", "finished", "完成", "好了", "没有了", "就这些"})
_SUBMIT = frozenset({"submit", "send", "提交", "确认提交", "发送"})
_GREETINGS = frozenset({"hi", "hello", "hey", "你好", "您好", "在吗", "在么", "哈喽", "嗨", "hi!", "hello!", "你好!"})



def severity_reason(cue: dict[str, Any], language: str) -> str:
    """Why a severity rule fired, in ``language``: its label and the words that fired it."""
    labels = cue.get("labels") or {}
    label = labels.get(language) or labels.get("zh") or cue.get("rule", "")
    word = cue.get("word", "")
    return f"{label}（{word}）" if language == "zh" else f"{label} (\u201c{word}\u201d)"


def _norm(text: str) -> str:
    return text.strip().strip("。.!！?？~～ ").casefold()


class Intake:
    """Interprets customer events for the conversation machine and writes the answers."""

    def __init__(
        self,
        classifier: Classifier,
        texts: Catalogue,
        promises: Promises,
        handoff: HandoffPolicy,
        *,
        desk_connected: bool,
        timezone: ZoneInfo,
    ) -> None:
        self.classifier = classifier
        self.texts = texts
        self.promises = promises
        self.handoff = handoff
        self.desk_connected = desk_connected
        self.timezone = timezone
        self._categories = {c.id: c for c in classifier.taxonomy}

    # ------------------------------------------------------------------ helpers
    def t(self, turn: Turn, key: str, **params: object) -> str:
        return self.texts.text(turn.language, key, **params)

    def category_name(self, turn: Turn, category_id: str | None) -> str:
        return self.category_name_in(category_id, turn.language)

    def category_name_in(self, category_id: str | None, language: str) -> str:
        category = self._categories.get(category_id or "")
        return category.name(language) if category else (category_id or "-")

    def due(self, turn: Turn, when: datetime | None) -> str:
        if when is None:
            return "-"
        local = when.astimezone(self.timezone)
        today = turn.now.astimezone(self.timezone).date()
        if local.date() == today:
            return self.t(turn, "time.today", time=local.strftime("%H:%M"))
        return local.strftime("%Y-%m-%d %H:%M")

    def _button(self, turn: Turn, key: str, action: str, arg: str | None = None) -> Button:
        return buttons.make(self.t(turn, key), turn.conversation, action, arg)

    async def _new_conversation(self, turn: Turn) -> Conversation:
        assert turn.customer.id is not None
        conv = Conversation(
            id=None,
            customer_id=turn.customer.id,
            channel=turn.channel,
            chat_id=turn.chat_id,
            created_at=turn.now,
            updated_at=turn.now,
        )
        conv = await turn.uow.conversations.add(conv)
        turn.conversation = conv
        return conv

    def _fire(self, turn: Turn, event: str, **kwargs: object) -> bool:
        assert turn.conversation is not None
        return machine.fire(turn.conversation, event, **kwargs)

    # ------------------------------------------------------------------ entry point
    async def handle(self, turn: Turn, inbound: Inbound) -> None:
        """Answer one inbound event; ``turn.conversation`` is the chat's active one or None."""
        if not inbound.private_chat:
            turn.reply(self.t(turn, "group.private_only"))
            return
        handler = self._dispatch[inbound.kind]
        offered_contact = turn.conversation is not None and turn.conversation.state is S.ASKING_CONTACT
        try:
            await handler(self, turn, inbound)
        except IllegalEvent as exc:
            logger.info("illegal event %s in state %s", exc.event, exc.state)
            self._explain_illegal(turn, exc.event)
        if offered_contact and (turn.conversation is None or turn.conversation.state is not S.ASKING_CONTACT):
            self._close_contact_keyboard(turn)

    def _close_contact_keyboard(self, turn: Turn) -> None:
        """The contact step is over: the first reply without buttons takes its keyboard away.

        (A message carries either its own buttons or the keyboard removal, so when every
        reply has buttons a short acknowledgement goes first.)
        """
        for index, reply in enumerate(turn.replies):
            if not reply.buttons and not reply.request_contact:
                turn.replies[index] = replace(reply, remove_keyboard=True)
                return
        conv = turn.conversation
        if conv is not None and conv.draft.contact:
            text = self.t(turn, "contact.noted", contact=mask_contact(conv.draft.contact))
        else:
            text = self.t(turn, "contact.step_done")
        turn.replies.insert(0, Reply(text, remove_keyboard=True))

    # ------------------------------------------------------------------ commands
    async def on_command(self, turn: Turn, inbound: Inbound) -> None:
        command = (inbound.command or "").lower()
        conv = turn.conversation
        if command == "start":
            turn.reply(self.t(turn, "welcome"), ((self._button(turn, "button.complain", "complain"),),))
            if conv is not None and conv.state in INTAKE_STATES:
                self.prompt(turn)
        elif command == "help":
            turn.reply(self.t(turn, "help"))
        elif command == "lang":
            await self._language(turn, inbound.text.strip())
        elif command == "status":
            await self.show_status(turn)
        elif command == "complain":
            await self.start_complaint(turn)
        elif command == "cancel":
            self._cancel(turn)
        elif command == "human":
            await self.request_human(turn)
        else:
            turn.reply(self.t(turn, "command.unknown", command=shorten(command, 40)))

    async def _language(self, turn: Turn, code: str) -> None:
        wanted = code.lower()
        if wanted in self.texts.languages:
            turn.customer.language = wanted
            await turn.uow.customers.save(turn.customer)
            turn.reply(self.t(turn, "lang.changed"))
            if turn.conversation is not None and turn.conversation.active:
                self.prompt(turn)
            return
        row = tuple(
            buttons.make(self.texts.text(lang, "lang.name"), None, "lang", lang)
            for lang in self.texts.languages
        )
        turn.reply(self.t(turn, "lang.choose"), (row,))

    async def start_complaint(self, turn: Turn) -> None:
        conv = turn.conversation
        if conv is not None and conv.state in INTAKE_STATES:
            turn.reply(self.t(turn, "complain.already_started"))
            self.prompt(turn)
            return
        if conv is not None and conv.ticket_id is not None:
            ticket = await self._ticket(turn)
            if ticket is not None:
                turn.reply(self.t(turn, "complain.new_while_open", number=ticket.number))
        await self._new_conversation(turn)
        self._fire(turn, "start")
        self.prompt(turn)

    def _cancel(self, turn: Turn) -> None:
        conv = turn.conversation
        if conv is None:
            turn.reply(self.t(turn, "cancel.nothing"))
            return
        if conv.state not in INTAKE_STATES:
            raise IllegalEvent("conversation", "cancel", conv.state.value)
        self._fire(turn, "cancel")
        turn.reply(self.t(turn, "cancel.done"))

    async def request_human(self, turn: Turn) -> None:
        conv = turn.conversation
        if conv is None:
            conv = await self._new_conversation(turn)
        if conv.state in TICKET_OPEN_STATES or conv.state in FEEDBACK_STATES:
            ticket = await self._ticket(turn)
            if ticket is not None and ticket.handoff_reason is None:
                await self._hand_off_existing(turn, ticket)
                return
            key = "human.with_agent" if conv.state is S.WITH_AGENT else "human.already_queued"
            turn.reply(self.t(turn, key, number=ticket.number if ticket else "-"))
            return
        if not conv.draft.description:
            conv.draft.description = self.t(turn, "human.no_description")
        self._fire(turn, "request_human")
        ticket = await lifecycle.open_ticket(turn, conv, self.promises, self.handoff, self._terms(conv), human_requested=True)
        self._submitted_reply(turn, ticket)

    async def _hand_off_existing(self, turn: Turn, ticket: Ticket) -> None:
        """A customer with a queued (not handed-off) ticket asks for a person."""
        await lifecycle.hand_off(turn, ticket, HandoffReason.CUSTOMER_REQUEST, lifecycle.CUSTOMER)
        await turn.uow.tickets.save(ticket)
        turn.reply(self.t(turn, "human.handed_off", number=ticket.number, due=self.due(turn, ticket.first_response_due)))
        if not self.desk_connected:
            turn.reply(self.t(turn, "desk.not_connected", number=ticket.number))

    async def show_status(self, turn: Turn) -> None:
        assert turn.customer.id is not None
        tickets = await turn.uow.tickets.for_customer(turn.customer.id)
        if not tickets:
            turn.reply(self.t(turn, "status.none"))
            return
        lines = [self.t(turn, "status.header")]
        for ticket in tickets:
            promise = self._promise_line(turn, ticket)
            lines.append(
                self.t(
                    turn,
                    "status.line",
                    number=ticket.number,
                    category=self.category_name(turn, ticket.category),
                    state=self.t(turn, f"ticket_state.{ticket.state.value}"),
                    promise=promise,
                )
            )
        turn.reply("\n".join(lines))

    def _promise_line(self, turn: Turn, ticket: Ticket) -> str:
        if ticket.state in (TicketState.RESOLVED, TicketState.CLOSED):
            return self.t(turn, "status.done")
        if ticket.first_response_at is None:
            return self.t(turn, "status.first_response_by", due=self.due(turn, ticket.first_response_due))
        return self.t(turn, "status.resolution_by", due=self.due(turn, ticket.resolution_due))

    # ------------------------------------------------------------------ buttons
    async def on_button(self, turn: Turn, inbound: Inbound) -> None:
        press = buttons.parse(inbound.button)
        if press is None:
            turn.reply(self.t(turn, "button.unknown"))
            return
        if press.action == "lang" and press.arg:
            await self._language(turn, press.arg)
            return
        if press.action == "complain":
            await self.start_complaint(turn)
            return
        conv = turn.conversation
        if conv is None or conv.id != press.conversation_id or conv.step != press.step:
            turn.reply(self.t(turn, "button.stale"))
            if conv is not None and conv.active:
                self.prompt(turn)
            return
        action = self._button_actions.get(press.action)
        if action is None:
            turn.reply(self.t(turn, "button.unknown"))
            return
        await action(self, turn, press)

    async def _press_confirm(self, turn: Turn, press: ButtonPress) -> None:
        assert turn.conversation is not None
        draft = turn.conversation.draft
        draft.category = draft.suggested_category
        self._fire(turn, "confirm_category")
        self.prompt(turn)

    async def _press_change(self, turn: Turn, press: ButtonPress) -> None:
        assert turn.conversation is not None
        turn.conversation.draft.return_to_review = turn.conversation.state is S.REVIEWING
        self._fire(turn, "change_category")
        self.prompt(turn)

    async def _press_category(self, turn: Turn, press: ButtonPress) -> None:
        await self._choose_category(turn, press.arg or "")

    async def _choose_category(self, turn: Turn, category_id: str) -> None:
        assert turn.conversation is not None
        if category_id not in self._categories:
            turn.reply(self.t(turn, "button.unknown"))
            self.prompt(turn)
            return
        draft = turn.conversation.draft
        draft.category = category_id
        self._fire(turn, "choose_category")
        draft.return_to_review = False
        self.prompt(turn)

    async def _press_skip(self, turn: Turn, press: ButtonPress) -> None:
        self._fire(turn, "skip")
        await self._after_feedback_step(turn)

    async def _press_done(self, turn: Turn, press: ButtonPress) -> None:
        assert turn.conversation is not None
        self._fire(turn, "finish_photos" if turn.conversation.draft.photos else "skip")
        self.prompt(turn)

    async def _press_submit(self, turn: Turn, press: ButtonPress) -> None:
        await self._submit(turn)

    async def _press_edit(self, turn: Turn, press: ButtonPress) -> None:
        self._fire(turn, "edit_description")
        self.prompt(turn)

    async def _press_cancel(self, turn: Turn, press: ButtonPress) -> None:
        self._cancel(turn)

    async def _press_human(self, turn: Turn, press: ButtonPress) -> None:
        await self.request_human(turn)

    async def _press_solved(self, turn: Turn, press: ButtonPress) -> None:
        await self._solved(turn, press.arg == "yes")

    async def _press_rate(self, turn: Turn, press: ButtonPress) -> None:
        await self._rate(turn, int(press.arg or "0"))

    _button_actions: dict[str, Callable[["Intake", Turn, ButtonPress], Awaitable[None]]] = {
        "confirm": _press_confirm,
        "change": _press_change,
        "cat": _press_category,
        "skip": _press_skip,
        "done": _press_done,
        "submit": _press_submit,
        "edit": _press_edit,
        "cancel": _press_cancel,
        "human": _press_human,
        "solved": _press_solved,
        "rate": _press_rate,
    }

    # ------------------------------------------------------------------ text
    async def on_text(self, turn: Turn, inbound: Inbound) -> None:
        text = inbound.text
        word = _norm(text)
        conv = turn.conversation
        if conv is None:
            if not word:
                turn.reply(self.t(turn, "empty.idle"))
                return
            if word in _GREETINGS:
                turn.reply(self.t(turn, "welcome"), ((self._button(turn, "button.complain", "complain"),),))
                return
            await self._new_conversation(turn)
            self._fire(turn, "start")
            await self._describe(turn, text, inbound.message_id)
            return
        state = conv.state
        if state is S.DESCRIBING:
            await self._describe(turn, text, inbound.message_id)
        elif state is S.CONFIRMING_CATEGORY:
            if word in _YES:
                await self._press_confirm(turn, ButtonPress(conv.id or 0, conv.step, "confirm"))
            elif word in _NO:  # "不是": the suggested category is wrong; let them pick
                await self._press_change(turn, ButtonPress(conv.id or 0, conv.step, "change"))
            elif self._category_by_name(turn, word):
                await self._choose_after_change(turn, self._category_by_name(turn, word) or "")
            else:
                self._add_and_ask_again(turn, text, "describe.added")
        elif state is S.CHOOSING_CATEGORY:
            category = self._category_by_name(turn, word)
            if category:
                await self._choose_category(turn, category)
            else:
                turn.reply(self.t(turn, "category.pick_from_list"))
                self.prompt(turn)
        elif state in (S.ASKING_ORDER, S.ASKING_TIME, S.ASKING_CONTACT):
            await self._answer_detail(turn, text)
        elif state is S.ASKING_PHOTOS:
            if word in _DONE or word in _SKIP:
                await self._press_done(turn, ButtonPress(conv.id or 0, conv.step, "done"))
            else:
                self._add_and_ask_again(turn, text, "photos.text_added")
        elif state is S.REVIEWING:
            if word in _SUBMIT or word in _YES:
                await self._submit(turn)
            else:
                self._add_and_ask_again(turn, text, "describe.added")
        elif state in TICKET_OPEN_STATES:
            await self._add_info(turn, inbound)
        elif state is S.RESOLVED:
            if word in _YES or word in _SOLVED:
                await self._solved(turn, True)
            elif word in _NO or word in _UNSOLVED:
                await self._solved(turn, False)
            else:
                await self._relay(turn, inbound, acknowledge=False)
                self.prompt(turn)
        elif state is S.AWAITING_FEEDBACK:
            if word.isdigit() and 1 <= int(word) <= 5:
                await self._rate(turn, int(word))
            else:  # something to say about it ("其实还是坏的"): the desk sees it, then the rating
                if word:
                    await self._relay(turn, inbound, acknowledge=False)
                turn.reply(self.t(turn, "feedback.rate_with_buttons"))
                self.prompt(turn)
        elif state is S.COMMENTING:
            await self._comment(turn, text)
        else:  # pragma: no cover - closed/cancelled conversations are never active
            turn.reply(self.t(turn, "empty.idle"))

    def _is_skip(self, turn: Turn, text: str) -> bool:
        """A typed "skip", or the skip button's label (keyboards send their label as text)."""
        word = _norm(text)
        return word in _SKIP or word == _norm(self.t(turn, "button.skip"))

    def _category_by_name(self, turn: Turn, word: str) -> str | None:
        if not word:
            return None
        taxonomy = list(self._categories.values())
        if word.isdigit() and 1 <= int(word) <= len(taxonomy):
            return taxonomy[int(word) - 1].id
        for category in taxonomy:
            if word in (category.id, *(n.casefold() for n in category.names.values())):
                return category.id
        return None

    async def _choose_after_change(self, turn: Turn, category_id: str) -> None:
        self._fire(turn, "change_category")
        await self._choose_category(turn, category_id)

    def _classify(self, turn: Turn, draft: Draft) -> Suggestion:
        suggestion = self.classifier.classify(draft.description)
        draft.suggestion = suggestion.to_dict()
        draft.suggested_category = suggestion.category
        draft.severity = Severity(draft.severity).at_least(suggestion.severity).value
        return suggestion

    async def _describe(self, turn: Turn, text: str, message_id: str | None) -> None:
        assert turn.conversation is not None
        if not text.strip():
            turn.reply(self.t(turn, "empty.describing"))
            return
        draft = turn.conversation.draft
        draft.description = text.strip()
        draft.description_message_id = message_id
        draft.category = None
        draft.severity = Severity.GENERAL.value
        self._classify(turn, draft)
        self._fire(turn, "describe")
        self.prompt(turn)

    def _add_and_ask_again(self, turn: Turn, text: str, added_key: str) -> None:
        """Free text where a choice was expected: it adds to the description (nothing a
        customer says is dropped), then the question of the step comes again."""
        if _norm(text):
            self._add_to_description(turn, text)
            turn.reply(self.t(turn, added_key))
        self.prompt(turn)

    def _add_to_description(self, turn: Turn, text: str) -> None:
        assert turn.conversation is not None
        draft = turn.conversation.draft
        draft.description = f"{draft.description}\n{text.strip()}".strip()
        self._classify(turn, draft)

    async def _answer_detail(self, turn: Turn, text: str, *, contact: str | None = None) -> None:
        conv = turn.conversation
        assert conv is not None
        draft = conv.draft
        value = (contact or text).strip()
        if not contact and self._is_skip(turn, value):
            self._fire(turn, "skip")
            self.prompt(turn)
            return
        if not value:
            self.prompt(turn)
            return
        state = conv.state
        # an invalid answer is explained with the step's skip button, so nobody is stuck
        skip = ((self._button(turn, "button.skip", "skip"),),)
        if state is S.ASKING_ORDER:
            if len(value) > MAX_ORDER_NUMBER or not _ORDER_RE.search(value):
                turn.reply(self.t(turn, "details.order_invalid", limit=MAX_ORDER_NUMBER), skip)
                return
            draft.order_number = value
        elif state is S.ASKING_TIME:
            if len(value) > MAX_WHEN:
                turn.reply(self.t(turn, "details.when_too_long", limit=MAX_WHEN), skip)
                return
            draft.occurred = value
        elif state is S.ASKING_CONTACT:
            if not (_PHONE_RE.match(value) or _EMAIL_RE.match(value)):
                turn.reply(self.t(turn, "details.contact_invalid"), skip, request_contact=self.t(turn, "button.share_contact"))
                return
            draft.contact = value
        else:
            raise IllegalEvent("conversation", "answer", state.value)
        self._fire(turn, "answer")
        self.prompt(turn)

    async def _submit(self, turn: Turn) -> None:
        conv = turn.conversation
        assert conv is not None
        self._fire(turn, "submit")
        ticket = await lifecycle.open_ticket(turn, conv, self.promises, self.handoff, self._terms(conv), human_requested=False)
        self._submitted_reply(turn, ticket)

    def _terms(self, conv: Conversation) -> tuple[str, ...]:
        """Key terms of what the customer described (only a real description has any)."""
        if conv.draft.suggestion is None:
            return ()  # "/human" before describing anything: the placeholder text is not theirs
        return self.classifier.key_terms(conv.draft.description)

    def _submitted_reply(self, turn: Turn, ticket: Ticket) -> None:
        params = {
            "number": ticket.number,
            "category": self.category_name(turn, ticket.category),
            "first_due": self.due(turn, ticket.first_response_due),
            "reply_due": self.due(turn, ticket.reply_due),
        }
        if ticket.handoff_reason == HandoffReason.CUSTOMER_REQUEST:
            turn.reply(self.t(turn, "submitted.human", **params))
        elif ticket.handoff_reason:
            turn.reply(self.t(turn, "submitted.urgent", **params))
        else:
            turn.reply(self.t(turn, "submitted.queued", **params))
        if ticket.handoff_reason and not self.desk_connected:
            turn.reply(self.t(turn, "desk.not_connected", number=ticket.number))

    async def _ticket(self, turn: Turn) -> Ticket | None:
        """The conversation's ticket, loaded once per turn (later changes go to the same object)."""
        conv = turn.conversation
        if conv is None or conv.ticket_id is None:
            return None
        if turn.ticket is None or turn.ticket.id != conv.ticket_id:
            turn.ticket = await turn.uow.tickets.get(conv.ticket_id, lock=True)
        return turn.ticket

    async def _add_info(self, turn: Turn, inbound: Inbound) -> None:
        self._fire(turn, "add_info")
        await self._relay(turn, inbound, acknowledge=True)

    async def _relay(self, turn: Turn, inbound: Inbound, *, acknowledge: bool) -> None:
        """Pass what the customer sent after submission to the ticket's thread."""
        ticket = await self._ticket(turn)
        if ticket is None:
            return
        turn.to_desk(
            CustomerAdded(
                ticket.id,
                message=inbound.kind,
                text=inbound.text,
                attachment=inbound.attachment,
                unsupported_type=inbound.unsupported_type or None,
                message_id=inbound.message_id or None,
            )
        )
        conv = turn.conversation
        if acknowledge and conv is not None and conv.state in WAITING_STATES:
            turn.reply(self.t(turn, "info.added", number=ticket.number))
            if not self.desk_connected and ticket.handoff_reason:
                turn.reply(self.t(turn, "desk.not_connected", number=ticket.number))

    async def _solved(self, turn: Turn, solved: bool) -> None:
        ticket = await self._ticket(turn)
        assert ticket is not None and turn.conversation is not None
        if solved:
            self._fire(turn, "confirm_solved")
            await lifecycle.record(turn, ticket, "customer_confirmed_solved", lifecycle.CUSTOMER, ticket.state)
            self.prompt(turn)
            return
        self._fire(turn, "not_solved")
        await lifecycle.reopen(turn, ticket, ReopenReason.NOT_SOLVED, self.promises)
        await turn.uow.tickets.save(ticket)
        turn.reply(self.t(turn, "feedback.reopened", number=ticket.number, due=self.due(turn, ticket.first_response_due)))

    async def _rate(self, turn: Turn, rating: int) -> None:
        if not 1 <= rating <= 5:
            turn.reply(self.t(turn, "feedback.rate_with_buttons"))
            self.prompt(turn)
            return
        ticket = await self._ticket(turn)
        assert ticket is not None
        ticket.rating = rating
        self._fire(turn, "rate", rating=rating)
        if turn.conversation is not None and turn.conversation.state is S.REOPENED:
            await lifecycle.reopen(turn, ticket, ReopenReason.LOW_RATING, self.promises)
            await turn.uow.tickets.save(ticket)
            turn.reply(self.t(turn, "feedback.low_rating", number=ticket.number, due=self.due(turn, ticket.first_response_due)))
            return
        await lifecycle.record(turn, ticket, "rated", lifecycle.CUSTOMER, ticket.state, {"rating": rating})
        await turn.uow.tickets.save(ticket)
        self.prompt(turn)

    async def _comment(self, turn: Turn, text: str) -> None:
        ticket = await self._ticket(turn)
        assert ticket is not None
        comment = text.strip()
        if _norm(comment) in _SKIP or not comment:
            self._fire(turn, "skip")
        else:
            ticket.feedback = comment[:MAX_COMMENT]
            self._fire(turn, "comment")
        await self._close_ticket(turn, ticket)

    async def _after_feedback_step(self, turn: Turn) -> None:
        conv = turn.conversation
        if conv is not None and conv.state is S.CLOSED:
            ticket = await self._ticket(turn)
            if ticket is not None:
                await self._close_ticket(turn, ticket)
            return
        self.prompt(turn)

    async def _close_ticket(self, turn: Turn, ticket: Ticket) -> None:
        data = {"rating": ticket.rating, "comment": ticket.feedback}
        if ticket.state is TicketState.RESOLVED:
            await lifecycle.apply(turn, ticket, "close", lifecycle.CUSTOMER, data)
        await sla.met(turn, ticket, (TimerKind.FOLLOW_UP,))
        await turn.uow.tickets.save(ticket)
        turn.to_desk(TicketClosed(ticket.id, reason=CloseReason.CUSTOMER, rating=ticket.rating, comment=ticket.feedback))
        turn.reply(self.t(turn, "feedback.thanks", number=ticket.number))

    # ------------------------------------------------------------------ media and others
    async def on_attachment(self, turn: Turn, inbound: Inbound) -> None:
        attachment = inbound.attachment
        assert attachment is not None
        conv = turn.conversation
        if conv is None:
            conv = await self._new_conversation(turn)
            self._fire(turn, "start")
        if conv.state in INTAKE_STATES:
            conv.draft.photos.append(attachment)
            self._fire(turn, "add_photo")
            caption = inbound.text.strip()
            if conv.state is S.DESCRIBING and caption:
                await self._describe(turn, caption, inbound.message_id)
                return
            if conv.state is S.ASKING_PHOTOS:
                self.prompt(turn)  # "n photos received, send more or press Done"
                return
            key = "photos.received_describe" if conv.state is S.DESCRIBING else "photos.received"
            turn.reply(self.t(turn, key, count=len(conv.draft.photos)))
            return
        if conv.state in TICKET_OPEN_STATES:
            await self._add_photo_to_ticket(turn, attachment)
            await self._add_info(turn, inbound)
            return
        await self._add_photo_to_ticket(turn, attachment)
        await self._relay(turn, inbound, acknowledge=False)
        turn.reply(self.t(turn, "photos.stored"))
        self.prompt(turn)

    async def _add_photo_to_ticket(self, turn: Turn, attachment: Attachment) -> None:
        ticket = await self._ticket(turn)
        if ticket is not None:
            ticket.photos.append(attachment)
            ticket.updated_at = turn.now
            await turn.uow.tickets.save(ticket)

    async def on_contact(self, turn: Turn, inbound: Inbound) -> None:
        conv = turn.conversation
        if conv is not None and conv.state is S.ASKING_CONTACT:
            await self._answer_detail(turn, "", contact=inbound.contact or "")
            return
        if conv is not None and conv.state in INTAKE_STATES:
            conv.draft.contact = inbound.contact
            turn.reply(self.t(turn, "contact.saved"))
            self.prompt(turn)
            return
        ticket = await self._ticket(turn)
        if ticket is None or not ticket.open:
            turn.reply(self.t(turn, "contact.no_complaint"))  # nowhere to keep it: say so
            return
        ticket.contact = inbound.contact
        await turn.uow.tickets.save(ticket)
        await self._relay(turn, inbound, acknowledge=False)
        turn.reply(self.t(turn, "contact.saved"))

    async def on_unsupported(self, turn: Turn, inbound: Inbound) -> None:
        conv = turn.conversation
        turn.reply(self.t(turn, "unsupported.message", kind=self.t(turn, f"media.{inbound.unsupported_type}") if self.texts.has(turn.language, f"media.{inbound.unsupported_type}") else inbound.unsupported_type or "?"))
        if conv is not None and conv.state in (*TICKET_OPEN_STATES, *FEEDBACK_STATES):
            await self._relay(turn, inbound, acknowledge=False)
        elif conv is not None and conv.active:
            self.prompt(turn)

    async def on_edit(self, turn: Turn, inbound: Inbound) -> None:
        conv = turn.conversation
        if inbound.message_id:  # the stored message takes the new text and keeps the old one
            await turn.uow.messages.edit(turn.channel, turn.chat_id, inbound.message_id, inbound.text, turn.now)
        if conv is not None and conv.state in INTAKE_STATES and inbound.message_id and conv.draft.description_message_id == inbound.message_id and inbound.text.strip():
            conv.draft.description = inbound.text.strip()
            self._classify(turn, conv.draft)
            turn.reply(self.t(turn, "edit.description_updated"))
            if conv.state is S.CONFIRMING_CATEGORY:
                self.prompt(turn)
            return
        if conv is not None and conv.state in (*TICKET_OPEN_STATES, *FEEDBACK_STATES):
            await self._relay(turn, inbound, acknowledge=False)
        turn.reply(self.t(turn, "edit.noted"))

    _dispatch: dict[InboundKind, Callable[["Intake", Turn, Inbound], Awaitable[None]]] = {
        InboundKind.TEXT: on_text,
        InboundKind.COMMAND: on_command,
        InboundKind.BUTTON: on_button,
        InboundKind.PHOTO: on_attachment,
        InboundKind.DOCUMENT: on_attachment,
        InboundKind.CONTACT: on_contact,
        InboundKind.UNSUPPORTED: on_unsupported,
        InboundKind.EDIT: on_edit,
    }

    # ------------------------------------------------------------------ prompts
    def prompt(self, turn: Turn) -> None:
        """Ask the question of the conversation's current step, with its buttons."""
        conv = turn.conversation
        assert conv is not None
        draft = conv.draft
        state = conv.state
        b = self._button
        if state is S.DESCRIBING:
            turn.reply(self.t(turn, "describe.ask"))
        elif state is S.CONFIRMING_CATEGORY:
            turn.reply(
                self._suggestion_text(turn, draft),
                ((b(turn, "button.yes_category", "confirm"), b(turn, "button.other_category", "change")),),
            )
        elif state is S.CHOOSING_CATEGORY:
            cats = [buttons.make(c.name(turn.language), conv, "cat", c.id) for c in self._categories.values()]
            rows = tuple(tuple(cats[i : i + 2]) for i in range(0, len(cats), 2))
            turn.reply(self.t(turn, "category.choose"), rows)
        elif state is S.ASKING_ORDER:
            turn.reply(self.t(turn, "details.order"), ((b(turn, "button.skip", "skip"),),))
        elif state is S.ASKING_TIME:
            turn.reply(self.t(turn, "details.when"), ((b(turn, "button.skip", "skip"),),))
        elif state is S.ASKING_CONTACT:
            turn.reply(self.t(turn, "details.contact"), ((b(turn, "button.skip", "skip"),),), request_contact=self.t(turn, "button.share_contact"))
        elif state is S.ASKING_PHOTOS:
            key = "details.photos_more" if draft.photos else "details.photos"
            label = "button.done" if draft.photos else "button.no_photos"
            turn.reply(self.t(turn, key, count=len(draft.photos)), ((b(turn, label, "done"),),))
        elif state is S.REVIEWING:
            turn.reply(
                self._review_text(turn, draft),
                (
                    (b(turn, "button.submit", "submit"),),
                    (b(turn, "button.change_category", "change"), b(turn, "button.edit_description", "edit")),
                    (b(turn, "button.cancel", "cancel"),),
                ),
            )
        elif state in (S.SUBMITTED, S.REOPENED):
            turn.reply(self.t(turn, "waiting.prompt"))
        elif state is S.WITH_AGENT:
            turn.reply(self.t(turn, "with_agent.prompt"))
        elif state is S.RESOLVED:
            turn.reply(self.t(turn, "feedback.solved_question"), ((b(turn, "button.solved_yes", "solved", "yes"), b(turn, "button.solved_no", "solved", "no")),))
        elif state is S.AWAITING_FEEDBACK:
            row = tuple(buttons.make(str(n), conv, "rate", str(n)) for n in range(1, 6))
            turn.reply(self.t(turn, "feedback.rate"), (row,))
        elif state is S.COMMENTING:
            turn.reply(self.t(turn, "feedback.comment"), ((b(turn, "button.skip", "skip"),),))

    def _suggestion_text(self, turn: Turn, draft: Draft) -> str:
        suggestion = draft.suggestion or {}
        cues = suggestion.get("cues", {})
        words = explaining_words(cues, draft.suggested_category)
        name = self.category_name(turn, draft.suggested_category)
        if words:
            text = self.t(turn, "category.suggest_because", category=name, cues="、".join(words))
        else:
            text = self.t(turn, "category.suggest", category=name)
        severity = Severity(draft.severity)
        if severity.rank >= Severity.IMPORTANT.rank:
            reasons = [
                self._severity_reason(turn, c) for c in cues.get("severity", []) if c.get("severity") == severity.value
            ]
            text += "\n" + self.t(turn, f"severity.note_{severity.value}", reasons="；".join(dict.fromkeys(reasons)) or "-")
        return self.t(turn, "describe.thanks") + "\n" + text

    def _severity_reason(self, turn: Turn, cue: dict[str, Any]) -> str:
        return severity_reason(cue, turn.language)

    def _review_text(self, turn: Turn, draft: Draft) -> str:
        none = self.t(turn, "review.none")
        return self.t(
            turn,
            "review.summary",
            category=self.category_name(turn, draft.category or draft.suggested_category),
            description=shorten(draft.description, REVIEW_DESCRIPTION_LIMIT),
            order=draft.order_number or none,
            when=draft.occurred or none,
            contact=mask_contact(draft.contact) if draft.contact else none,
            photos=len(draft.photos),
        )

    def _explain_illegal(self, turn: Turn, event: str) -> None:
        conv = turn.conversation
        state = conv.state.value if conv is not None else "none"
        for key in (f"illegal.{event}.{state}", f"illegal.{event}", "illegal.default"):
            if self.texts.has(turn.language, key):
                turn.reply(self.t(turn, key))
                break
        if conv is not None and conv.active:
            self.prompt(turn)
