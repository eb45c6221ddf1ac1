"""Details the customer already gave: taken from their words, shown, not asked again.

The description, and text that adds to it, is read by the classifier's detail extractor
(:mod:`nlp.details`): an order number, a contact, when it happened and the amount paid
that the text states clearly fill the draft's fields that are still empty (each passing
its step's check). At the review, where the customer checks everything, what they write
replaces what was there: that is how a detail is corrected. A new description (re-describe,
or an edit of the description message) takes the place of the old one, and so do the
details taken from it.

A detail step whose field is already filled is passed by, and before the next question
the customer sees what was taken ("我从您的描述里记下了：订单号 …，联系方式 139****5678"),
contacts masked as everywhere.
"""

from __future__ import annotations

from flows.domain import ConversationState, Draft
from flows.formatting import mask_contact
from flows.intake.context import IntakeContext
from flows.steps import INTAKE_STEPS, STEPS, Detail, detail_fields
from flows.turn import Turn
from nlp import Details, When

TAKEN_FIELDS = ("order_number", "occurred", "contact", "amount")
"""The draft's fields a customer's words can fill, in the order they are shown."""

REPLACED_AT_REVIEW = ("order_number", "contact", "amount")
"""Fields that text written at the review replaces even when the customer answered them at
their step: these are only taken next to their label or cue ("订单号 …", "电话 …", "付了 …").
A time word at the review ("昨天也打过电话") replaces only a time that was itself taken."""

_FIRST_DETAIL = next(index for index, step in enumerate(INTAKE_STEPS) if isinstance(step.reader, Detail))
DETAIL_STATES = frozenset(step.state for step in INTAKE_STEPS[_FIRST_DETAIL:])
"""The steps from the first detail question on: where what was taken is shown."""


class TakenDetails(IntakeContext):
    """Filling the draft from the customer's words, passing filled steps, showing what was taken."""

    def _found(self, turn: Turn, text: str) -> Details:
        """The details ``text`` states (:mod:`nlp.details`)."""
        return self.classifier.details(text, turn.now.astimezone(self.timezone).date())

    def _values(self, turn: Turn, found: Details) -> dict[str, str | None]:
        """What each field of the draft would hold from ``found``."""
        return {
            "order_number": found.order_number,
            "contact": found.contact,
            "occurred": self._when(turn, found.occurred) if found.occurred is not None else None,
            "amount": found.amount.text if found.amount is not None else None,
        }

    def _take_details(self, turn: Turn, text: str) -> None:
        """Fill the draft from ``text`` (at the review: replace, see :data:`REPLACED_AT_REVIEW`)."""
        conv = turn.conversation
        assert conv is not None
        draft = conv.draft
        values = self._values(turn, self._found(turn, text))
        at_review = conv.state is ConversationState.REVIEWING
        checks = {detail.field: detail for detail in detail_fields()}
        for name in TAKEN_FIELDS:
            value = values[name]
            current = getattr(draft, name)
            if value is None or value == current:
                continue
            if current and not (at_review and (name in REPLACED_AT_REVIEW or name in draft.from_words)):
                continue
            check = checks.get(name)
            if check is not None and not check.valid(value):
                continue
            setattr(draft, name, value)
            for taken in (draft.from_words, draft.unshown):
                if name not in taken:
                    taken.append(name)

    def _given_on_its_own(self, turn: Turn, text: str) -> dict[str, str] | None:
        """The details of a message that is nothing but details next to their labels
        ("订单号 JD9999", "电话 137…", "时间是昨天"), each passing its step's check; None
        for any other message (a sentence that also mentions a number is words to keep)."""
        found = self._found(turn, text)
        if not found.only_labelled:
            return None
        checks = {detail.field: detail for detail in detail_fields()}
        given = {
            name: value
            for name, value in self._values(turn, found).items()
            if value is not None and (name not in checks or checks[name].valid(value))
        }
        return given or None

    def _correct(self, turn: Turn, given: dict[str, str]) -> None:
        """Details the customer gave on their own (the "如有不对…直接发给我正确的内容" of
        ``taken.noted``): they replace what was there, are theirs (as answers are), and
        are acknowledged with ``taken.updated``."""
        conv = turn.conversation
        assert conv is not None
        for name, value in given.items():
            setattr(conv.draft, name, value)
            self._answered(conv.draft, name)
        items = self._shown_items(turn, [name for name in TAKEN_FIELDS if name in given], given)
        turn.reply(self.t(turn, "taken.updated", details=self.t(turn, "taken.joiner").join(items)))

    def _shown_items(self, turn: Turn, names: list[str], values: dict[str, str]) -> list[str]:
        """"订单号 …", "联系方式 139****5678": details as they are shown, contacts masked."""
        masked = {detail.field for detail in detail_fields() if detail.masked}
        return [
            self.t(turn, f"taken.{name}", value=mask_contact(values[name]) if name in masked else values[name])
            for name in names
        ]

    @staticmethod
    def _answered(draft: Draft, name: str) -> None:
        """The customer gave ``name`` themselves (an answer, a shared contact): it is theirs,
        no longer something taken from a description that may be replaced."""
        for taken in (draft.from_words, draft.unshown):
            if name in taken:
                taken.remove(name)

    @staticmethod
    def _forget_taken(draft: Draft) -> None:
        """The text the details were taken from is replaced: so are they."""
        for name in draft.from_words:
            setattr(draft, name, None)
        draft.from_words.clear()
        draft.unshown.clear()

    def _when(self, turn: Turn, when: When) -> str:
        """The customer's time words, with the day they mean when the words need today."""
        if when.relative and when.day is not None:
            return self.t(turn, "taken.when_day", words=when.words, day=when.day.isoformat())
        return when.words

    def _pass_filled_steps(self, turn: Turn) -> None:
        """A detail step whose field is filled is not asked: the conversation moves on."""
        conv = turn.conversation
        assert conv is not None
        for _ in INTAKE_STEPS:
            step = STEPS.get(conv.state)
            if step is None or not isinstance(step.reader, Detail) or not getattr(conv.draft, step.reader.field):
                return
            self._fire(turn, "answer")

    def _show_taken(self, turn: Turn) -> None:
        """Once the details part has begun: what was taken and not yet shown, masked."""
        conv = turn.conversation
        assert conv is not None
        draft = conv.draft
        if not draft.unshown or conv.state not in DETAIL_STATES:
            return
        values = {name: value for name in TAKEN_FIELDS if name in draft.unshown and (value := getattr(draft, name))}
        items = self._shown_items(turn, list(values), values)
        draft.unshown.clear()
        if items:
            # at the review only what the customer wrote there can be new: a correction
            key = "taken.updated" if conv.state is ConversationState.REVIEWING else "taken.noted"
            turn.reply(self.t(turn, key, details=self.t(turn, "taken.joiner").join(items)))
