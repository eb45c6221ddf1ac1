"""Asking the question of the conversation's step, as the step table says."""

from __future__ import annotations

from typing import Any

from flows import buttons
from flows.domain import Button, Draft, Severity
from flows.explain import explaining_words
from flows.formatting import mask_contact, shorten
from flows.intake.taken import TakenDetails
from flows.steps import UNASKED_DETAILS, Fill, Keyboard, Press, Question, detail_fields
from flows.turn import Turn

REVIEW_DESCRIPTION_LIMIT = 600


def severity_reason(cue: dict[str, Any], language: str) -> str:
    """Why a severity rule fired, in ``language``: its label and the words that fired it."""
    labels = cue.get("labels") or {}
    label = labels.get(language) or labels.get("zh") or cue.get("rule", "")
    word = cue.get("word", "")
    return f"{label}（{word}）" if language == "zh" else f"{label} (\u201c{word}\u201d)"


class Questions(TakenDetails):
    """The question of each step with its buttons, and the explanation of illegal events."""

    def prompt(self, turn: Turn) -> None:
        """Ask the question of the conversation's current step, with its buttons (a detail
        step whose field the customer's words already filled is passed by, and what was
        taken from their words is shown first)."""
        conv = turn.conversation
        assert conv is not None
        self._pass_filled_steps(turn)
        self._show_taken(turn)
        step = self._step(turn)
        if step is None:  # idle, closed or cancelled: nothing to ask
            return
        question = step.question_for(len(conv.draft.photos))
        turn.reply(
            self._question_text(turn, question, conv.draft),
            self._buttons(turn, question),
            request_contact=self.t(turn, "button.share_contact") if question.share_contact else None,
        )

    def _ask_again_briefly(self, turn: Turn) -> None:
        """The question again after a line that answered nothing: at the review, whose
        summary is on screen just above, only a short line with its buttons; elsewhere
        the whole question."""
        step = self._step(turn)
        if step is not None and step.question.fill is Fill.REVIEW:
            turn.reply(self.t(turn, "review.choose"), self._buttons(turn, step.question))
            return
        self.prompt(turn)

    def _question_text(self, turn: Turn, question: Question, draft: Draft) -> str:
        if question.fill is Fill.PHOTOS:
            return self.t(turn, question.text, count=len(draft.photos), received=self.attachments_received(turn, draft.photos))
        if question.fill is Fill.SUGGESTION:
            return self._suggestion_text(turn, draft)
        if question.fill is Fill.REVIEW:
            return self._review_text(turn, question.text, draft)
        return self.t(turn, question.text)

    def _buttons(self, turn: Turn, question: Question) -> tuple[tuple[Button, ...], ...]:
        if question.buttons is Keyboard.CATEGORIES:
            cats = [buttons.make(c.name(turn.language), turn.conversation, "cat", c.id) for c in self._categories.values()]
            return tuple(tuple(cats[i : i + 2]) for i in range(0, len(cats), 2))
        return tuple(tuple(self._press_button(turn, press) for press in row) for row in question.buttons)

    def _press_button(self, turn: Turn, press: Press) -> Button:
        label = press.label if press.literal else self.t(turn, press.label)
        return buttons.make(label, turn.conversation, press.action, press.arg)

    def _suggestion_text(self, turn: Turn, draft: Draft) -> str:
        suggestion = draft.suggestion or {}
        cues = suggestion.get("cues", {})
        words = explaining_words(cues, draft.suggested_category)
        name = self.category_name(turn, draft.suggested_category)
        if words:
            text = self.t(turn, "category.suggest_because", category=name, cues=self.t(turn, "category.cue_joiner").join(words))
        else:
            text = self.t(turn, "category.suggest", category=name)
        severity = Severity(draft.severity)
        if severity.rank >= Severity.IMPORTANT.rank:
            reasons = [
                severity_reason(c, turn.language) for c in cues.get("severity", []) if c.get("severity") == severity.value
            ]
            text += "\n" + self.t(turn, f"severity.note_{severity.value}", reasons=self.t(turn, "severity.reason_joiner").join(dict.fromkeys(reasons)) or "-")
        return self.t(turn, "describe.thanks") + "\n" + text

    def _review_text(self, turn: Turn, key: str, draft: Draft) -> str:
        """The draft's summary: category, description, each detail step's answer, the
        amount paid (taken from the customer's words), photos."""
        none = self.t(turn, "review.none")
        details: dict[str, object] = {}
        for detail in detail_fields():
            value = getattr(draft, detail.field)
            details[detail.review] = (mask_contact(value) if detail.masked else value) if value else none
        for unasked in UNASKED_DETAILS:
            details[unasked.review] = getattr(draft, unasked.field) or none
        return self.t(
            turn,
            key,
            category=self.category_name(turn, draft.category or draft.suggested_category),
            description=shorten(draft.description, REVIEW_DESCRIPTION_LIMIT),
            photos=self.attachments_received(turn, draft.photos),
            **details,
        )

    def _explain_illegal(self, turn: Turn, event: str) -> None:
        """An event the machine does not allow now: say why, then ask the current question."""
        conv = turn.conversation
        state = conv.state.value if conv is not None else "none"
        for key in (f"illegal.{event}.{state}", f"illegal.{event}", "illegal.default"):
            if self.texts.has(turn.language, key):
                turn.reply(self.t(turn, key))
                break
        if conv is not None and conv.active:
            self.prompt(turn)
