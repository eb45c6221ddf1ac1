"""Reading what the customer types or presses, as the step table says.

A press acts on the current step (a press from an earlier step is stale and explained).
Typed text is looked up in the step's :class:`~flows.steps.Typed` entries first — words
and values that mean one of its buttons — then, at a numbered step, a number picks the
button with that number (any other number is not an answer: the customer is told which
numbers there are), and otherwise the step's reader reads it. A blank message (spaces,
zero-width characters) is never an answer, a description or something for the ticket.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ClassVar, assert_never

from flows import buttons, lifecycle
from flows.buttons import ButtonPress
from flows.domain import Button, ConversationState, Inbound, Severity
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
from flows.words import Words, blank, has_words, norm, number, trim

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
        reader = step.reader
        if blank(text):
            turn.unfiled = True  # nothing was said: not for the description, not for the ticket
            if isinstance(reader, Description):
                turn.reply(self.t(turn, reader.empty))
            else:
                turn.reply(self.t(turn, "empty.again"))
                self._ask_again_briefly(turn)
            return
        press = self._typed_press(turn, step, word)
        if press is not None:
            await self._typed_actions[press.action](self, turn, press)
            return
        if step.numbered and (picked := number(word)) is not None:
            if not await self._press_number(turn, self._buttons(turn, step.question_for(len(conv.draft.photos))), picked):
                self._ask_again_briefly(turn)
            return
        match reader:
            case Description():
                await self._describe(turn, text, inbound.message_id)
            case Detail():
                await self._answer_detail(turn, step, reader, trim(text))
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
        if blank(inbound.text):
            turn.unfiled = True
            turn.reply(self.t(turn, "empty.idle"))
            return
        if self.vocabulary.means(word, (Words.GREETINGS,)):
            turn.reply(self.t(turn, "welcome"), ((self._button(turn, "button.complain", "complain"),),))
            return
        await self._new_conversation(turn)
        self._fire(turn, "start")
        await self._describe(turn, inbound.text, inbound.message_id)

    async def _press_number(self, turn: Turn, rows: tuple[tuple[Button, ...], ...], picked: int) -> bool:
        """A typed number where buttons are shown: the button with that number (the
        terminal numbers them in order); else says which numbers there are and returns
        False (the caller asks its question again)."""
        shown = [button for row in rows for button in row]
        press = buttons.parse(shown[picked - 1].data) if 1 <= picked <= len(shown) else None
        if press is None:
            self._choose_a_number(turn, len(shown))
            return False
        await self._button_actions[press.action](self, turn, press)
        return True

    def _choose_a_number(self, turn: Turn, count: int) -> None:
        """Which numbers the buttons on screen have ("请选择 1 或 2")."""
        key = {1: "choice.one", 2: "choice.two"}.get(count, "choice.many")
        turn.reply(self.t(turn, key, count=count))

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
        """The (non-empty) text is the description: classify it, suggest its category.

        Text without a word ("😡😡😡🤬", "???", "12345") is not a description yet: it is kept
        and a few words are asked for; it opens the description once they come."""
        assert turn.conversation is not None and not blank(text)
        draft = turn.conversation.draft
        if not has_words(text):
            step = self._step(turn)
            assert step is not None and isinstance(step.reader, Description)
            draft.wordless = "\n".join(part for part in (draft.wordless, trim(text)) if part)
            turn.reply(self.t(turn, step.reader.wordless))
            return
        draft.description = "\n".join(part for part in (draft.wordless, trim(text)) if part)
        draft.wordless = ""
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
        if not blank(text):
            given = self._given_on_its_own(turn, text)
            if given is not None:  # "订单号 DD9998", "电话 137…": a correction, not more of the description
                self._correct(turn, given)
            else:
                self._add_to_description(turn, text)
                turn.reply(self.t(turn, added_key))
        self.prompt(turn)

    def _add_to_description(self, turn: Turn, text: str) -> None:
        assert turn.conversation is not None
        draft = turn.conversation.draft
        draft.description = trim(f"{draft.description}\n{trim(text)}")
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
        given = self._given_on_its_own(turn, value)
        if given is not None:  # "电话 137…", "时间是昨天", or another detail corrected: "订单号 JD9999"
            own = given.pop(detail.field, None)
            if given:
                self._correct(turn, given)
            if own is None:
                self.prompt(turn)  # this step's question again
                return
            value = own
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

    def _urged_not_to_skip(self, turn: Turn, step: Step, detail: Detail) -> bool:
        """The first skip of a detail that matters for urgent complaints (the contact), on
        a hot or major one: say why it matters and ask once more. A second skip goes on."""
        conv = turn.conversation
        assert conv is not None
        draft = conv.draft
        if detail.urgent_skip is None or detail.field in draft.urged:
            return False
        if Severity(draft.severity).rank < Severity.HOT.rank:
            return False
        draft.urged.append(detail.field)
        question = step.question
        share = self.t(turn, "button.share_contact") if question.share_contact else None
        turn.reply(self.t(turn, detail.urgent_skip), self._buttons(turn, question), request_contact=share)
        return True

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
                await self._ask_again(turn)
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
        step = self._step(turn)
        if step is not None and isinstance(step.reader, Detail) and self._urged_not_to_skip(turn, step, step.reader):
            return
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

    async def _press_held(self, turn: Turn, press: ButtonPress) -> None:
        await self._answer_held(turn, press.arg or "")

    async def _answer_held(self, turn: Turn, answer: str) -> None:
        """The answer to a side question about something held (flows/intake/held.py)."""
        raise NotImplementedError

    async def _ask_again(self, turn: Turn) -> None:
        """What the customer is asked now, again (and a side question that waits)."""
        self.prompt(turn)

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
        "held": _press_held,
    }
    """What each button action does (the step table says which buttons a step shows)."""

    _typed_actions: ClassVar[dict[str, PressHandler]] = {**_button_actions, "change_to": _change_to_category}
    """What typed answers can stand for: every button, and naming a category at the suggestion."""
