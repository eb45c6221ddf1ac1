"""Reading what the customer types or presses, as the step table says.

A press acts on the current step (a press from an earlier step is stale and explained).
Typed text is looked up in the step's :class:`~flows.steps.Typed` entries first — words
and values that mean one of its buttons — and otherwise read by the step's reader.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ClassVar, assert_never

from flows import buttons, lifecycle
from flows.buttons import ButtonPress
from flows.domain import ConversationState, Inbound, Severity
from flows.intake.commands import Commands
from flows.steps import (
    STEPS,
    AddsToDescription,
    AddsToTicket,
    Comment,
    Description,
    Detail,
    ForTheDesk,
    PickFromList,
    Step,
    Typed,
    Value,
)
from flows.turn import Turn
from flows.words import Words, norm

PressHandler = Callable[["Answers", Turn, ButtonPress], Awaitable[None]]


class Answers(Commands):
    """Button presses and typed answers, step by step."""

    # ------------------------------------------------------------------ text
    async def on_text(self, turn: Turn, inbound: Inbound) -> None:
        """Typed text: what it means at the conversation's step (the step table says)."""
        text = inbound.text
        word = norm(text)
        conv = turn.conversation
        if conv is None:
            await self._first_words(turn, inbound, word)
            return
        step = STEPS.get(conv.state)
        if step is None:  # pragma: no cover - closed/cancelled conversations are never active
            turn.reply(self.t(turn, "empty.idle"))
            return
        press = self._typed_press(turn, step, word)
        if press is not None:
            await self._typed_actions[press.action](self, turn, press)
            return
        reader = step.reader
        match reader:
            case Description():
                if text.strip():
                    await self._describe(turn, text, inbound.message_id)
                else:
                    turn.reply(self.t(turn, reader.empty))
            case Detail():
                await self._answer_detail(turn, step, reader, text.strip())
            case AddsToDescription():
                self._add_and_ask_again(turn, text, reader.said)
            case PickFromList():
                turn.reply(self.t(turn, reader.say))
                self.prompt(turn)
            case AddsToTicket():
                await self._add_info(turn, inbound)
            case ForTheDesk():
                if word or not reader.only_words:
                    await self._relay(turn, inbound, acknowledge=False)
                if reader.say:
                    turn.reply(self.t(turn, reader.say))
                self.prompt(turn)
            case Comment():
                await self._comment(turn, text, reader.limit)
            case _:
                assert_never(reader)

    async def _first_words(self, turn: Turn, inbound: Inbound, word: str) -> None:
        """Text without a conversation: a greeting is welcomed, anything else starts a complaint."""
        if not word:
            turn.reply(self.t(turn, "empty.idle"))
            return
        if self.vocabulary.means(word, (Words.GREETINGS,)):
            turn.reply(self.t(turn, "welcome"), ((self._button(turn, "button.complain", "complain"),),))
            return
        await self._new_conversation(turn)
        self._fire(turn, "start")
        await self._describe(turn, inbound.text, inbound.message_id)

    def _typed_press(self, turn: Turn, step: Step, word: str) -> ButtonPress | None:
        """The press that the typed ``word`` stands for at ``step``, if any."""
        conv = turn.conversation
        assert conv is not None
        for typed in step.typed:
            matched, arg = self._reads(turn, typed, word)
            if matched:
                return ButtonPress(conv.id or 0, conv.step, typed.action, arg)
        return None

    def _reads(self, turn: Turn, typed: Typed, word: str) -> tuple[bool, str | None]:
        if typed.value is Value.CATEGORY:
            category = self._category_by_name(word)
            return category is not None, category
        if typed.value is Value.RATING:
            return word.isdigit() and 1 <= int(word) <= 5, word
        if self.vocabulary.means(word, typed.words):
            return True, typed.arg
        if typed.label is not None and word == norm(self.t(turn, typed.label)):
            return True, typed.arg
        return False, None

    # ------------------------------------------------------------------ the description
    async def _describe(self, turn: Turn, text: str, message_id: str | None) -> None:
        """The (non-empty) text is the description: classify it, suggest its category."""
        assert turn.conversation is not None and text.strip()
        draft = turn.conversation.draft
        draft.description = text.strip()
        draft.description_message_id = message_id
        draft.category = None
        draft.severity = Severity.GENERAL.value
        self._classify(turn, draft)
        self._forget_taken(draft)  # a new description: the details of the old one go with it
        self._take_details(turn, draft.description)
        self._fire(turn, "describe")
        self.prompt(turn)

    def _add_and_ask_again(self, turn: Turn, text: str, added_key: str) -> None:
        """Free text where a choice was expected: it adds to the description (nothing a
        customer says is dropped), then the question of the step comes again."""
        if norm(text):
            self._add_to_description(turn, text)
            turn.reply(self.t(turn, added_key))
        self.prompt(turn)

    def _add_to_description(self, turn: Turn, text: str) -> None:
        assert turn.conversation is not None
        draft = turn.conversation.draft
        draft.description = f"{draft.description}\n{text.strip()}".strip()
        self._classify(turn, draft)
        self._take_details(turn, text)

    # ------------------------------------------------------------------ details
    async def _answer_detail(self, turn: Turn, step: Step, detail: Detail, value: str) -> None:
        """A detail step's answer: kept when it passes the step's check, else explained
        with the step's buttons (its skip), so nobody is stuck."""
        conv = turn.conversation
        assert conv is not None
        if not value:
            self.prompt(turn)
            return
        if not detail.valid(value):
            text = self.t(turn, detail.invalid, limit=detail.limit) if detail.limit is not None else self.t(turn, detail.invalid)
            question = step.question
            share = self.t(turn, "button.share_contact") if question.share_contact else None
            turn.reply(text, self._buttons(turn, question), request_contact=share)
            return
        setattr(conv.draft, detail.field, value)
        self._answered(conv.draft, detail.field)
        self._fire(turn, "answer")
        self.prompt(turn)

    async def _submit(self, turn: Turn) -> None:
        conv = turn.conversation
        assert conv is not None
        self._fire(turn, "submit")
        ticket = await lifecycle.open_ticket(turn, conv, self.promises, self.handoff, self._terms(conv), human_requested=False)
        self._submitted_reply(turn, ticket)

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
        turn.conversation.draft.return_to_review = turn.conversation.state is ConversationState.REVIEWING
        self._fire(turn, "change_category")
        self.prompt(turn)

    async def _press_category(self, turn: Turn, press: ButtonPress) -> None:
        await self._choose_category(turn, press.arg or "")

    async def _change_to_category(self, turn: Turn, press: ButtonPress) -> None:
        """A category named instead of confirming the suggested one."""
        self._fire(turn, "change_category")
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

    _button_actions: ClassVar[dict[str, PressHandler]] = {
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
    """What each button action does (the step table says which buttons a step shows)."""

    _typed_actions: ClassVar[dict[str, PressHandler]] = {**_button_actions, "change_to": _change_to_category}
    """What typed answers can stand for: every button, and naming a category at the suggestion."""
