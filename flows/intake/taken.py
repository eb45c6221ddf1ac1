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
from nlp import When

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

    def _take_details(self, turn: Turn, text: str) -> None:
        """Fill the draft from ``text`` (at the review: replace, see :data:`REPLACED_AT_REVIEW`)."""
        conv = turn.conversation
        assert conv is not None
        draft = conv.draft
        found = self.classifier.details(text, turn.now.astimezone(self.timezone).date())
        values = {
            "order_number": found.order_number,
            "contact": found.contact,
            "occurred": self._when(turn, found.occurred) if found.occurred is not None else None,
            "amount": found.amount.text if found.amount is not None else None,
        }
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
        masked = {detail.field for detail in detail_fields() if detail.masked}
        items = [
            self.t(turn, f"taken.{name}", value=mask_contact(value) if name in masked else value)
            for name in TAKEN_FIELDS
            if name in draft.unshown and (value := getattr(draft, name))
        ]
        draft.unshown.clear()
        if items:
            # at the review only what the customer wrote there can be new: a correction
            key = "taken.updated" if conv.state is ConversationState.REVIEWING else "taken.noted"
            turn.reply(self.t(turn, key, details=self.t(turn, "taken.joiner").join(items)))
