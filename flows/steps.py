"""The customer conversation as one table of steps.

For every state in which the customer is asked something, one :class:`Step` says

* its question: a text key and the buttons under it (and whether the platform's
  "share my phone number" keyboard is offered),
* how typed text is read there: words or values that stand for one of the buttons
  (:class:`Typed`, the word lists come from the catalogues' ``[words]`` section), a
  number that picks the button with that number (:attr:`Step.numbered`: only the
  numbers of the buttons shown with the question), and what any other text is (its :data:`Reader`: the description, a detail for the draft
  with its check, something more for the ticket...),
* where its answers lead (:class:`Move`): the intake part of the conversation machine
  (flows/conversation.py) is generated from these moves.

The prompts (flows/intake/questions.py) and the reading of answers
(flows/intake/answers.py) are lookups into this table. Adding an intake step is one
entry in :data:`INTAKE_STEPS` (and its state in ``ConversationState``) plus its texts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from flows.domain import ConversationState
from flows.machine import transition
from flows.words import Words

S = ConversationState

MAX_ORDER_NUMBER = 64
MAX_WHEN = 200
MAX_COMMENT = 2000

_PHONE_RE = re.compile(r"^\+?[\d\s\-()]{7,24}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ORDER_RE = re.compile(r"[0-9A-Za-z]")


# ---------------------------------------------------------------------- questions
@dataclass(frozen=True, slots=True)
class Press:
    """A button: its label (a text key, or the label itself when ``literal``) and its action."""

    label: str
    action: str
    arg: str | None = None
    literal: bool = False


Rows = tuple[tuple[Press, ...], ...]


class Keyboard(StrEnum):
    """Buttons made from data rather than listed in the table."""

    CATEGORIES = "categories"  # one per category of the taxonomy, two a row


class Fill(StrEnum):
    """How the question's text is filled in."""

    PLAIN = "plain"  # the text as it is
    PHOTOS = "photos"  # with ``count`` and ``received`` (photos and files counted apart), what came so far
    SUGGESTION = "suggestion"  # the suggested category, the words behind it, the severity note
    REVIEW = "review"  # the draft's summary: category, description, every detail, photos


@dataclass(frozen=True, slots=True)
class Question:
    """What the customer is asked: a text key, its buttons, the share-contact keyboard."""

    text: str
    buttons: Rows | Keyboard = ()
    fill: Fill = Fill.PLAIN
    share_contact: bool = False


# ---------------------------------------------------------------------- reading answers
class Value(StrEnum):
    """Typed values that stand for a button's argument."""

    CATEGORY = "category"  # a category's name (any language) or id (its number only where the list is shown)
    RATING = "rating"  # 1 to 5


@dataclass(frozen=True, slots=True)
class Typed:
    """Typed text that means the same as pressing ``action``: a word of ``words``, the
    button label ``label`` (a reply keyboard sends its label as text) or a ``value``
    (then the press's argument)."""

    action: str
    words: tuple[Words, ...] = ()
    label: str | None = None
    arg: str | None = None
    value: Value | None = None


@dataclass(frozen=True, slots=True)
class Description:
    """Any text is the complaint's description (an empty one is asked for again). Text
    without a word (only emoji, punctuation, digits) is kept and ``wordless`` asks for
    a few words; it goes into the description with them."""

    empty: str = "empty.describing"
    wordless: str = "describe.need_words"


@dataclass(frozen=True, slots=True)
class Detail:
    """The answer goes to the draft's ``field`` when it passes the check (at most ``limit``
    characters and ``accepts``); otherwise ``invalid`` explains, with the step's buttons.
    The review shows it as ``{review}``, masked when it is a contact. With ``urgent_skip``
    the first skip of an urgent complaint (hot or major) is answered with that text and
    the question once more; a second skip goes on."""

    field: str
    invalid: str
    review: str
    limit: int | None = None
    accepts: Callable[[str], bool] = lambda value: True  # any text within the limit
    masked: bool = False
    urgent_skip: str | None = None

    def valid(self, value: str) -> bool:
        return (self.limit is None or len(value) <= self.limit) and self.accepts(value)


@dataclass(frozen=True, slots=True)
class Unasked:
    """A detail no step asks for: the draft's ``field`` is only filled from the customer's
    own words (flows/intake/taken.py); the review shows it as ``{review}`` and it is copied
    to the ticket like the answers."""

    field: str
    review: str


@dataclass(frozen=True, slots=True)
class AddsToDescription:
    """Other text adds to the description (nothing a customer says is dropped); ``said``
    acknowledges it and the question comes again."""

    said: str


@dataclass(frozen=True, slots=True)
class PickFromList:
    """Other text is not an answer: ``say`` explains and the question comes again."""

    say: str


@dataclass(frozen=True, slots=True)
class AddsToTicket:
    """The ticket is being worked on: the text goes to its thread, acknowledged while it waits."""


@dataclass(frozen=True, slots=True)
class ForTheDesk:
    """The text is passed to the ticket's thread (``only_words``: unless it is empty),
    ``say`` is said and the question comes again."""

    say: str | None = None
    only_words: bool = False


@dataclass(frozen=True, slots=True)
class Comment:
    """The text is the customer's closing comment (up to ``limit`` characters); an empty
    line is no comment: the question comes again (its button skips)."""

    limit: int = MAX_COMMENT


Reader = Description | Detail | AddsToDescription | PickFromList | AddsToTicket | ForTheDesk | Comment


# ---------------------------------------------------------------------- where answers lead
class Next(StrEnum):
    NEXT = "next"


NEXT = Next.NEXT
"""The following step of the intake's main line (steps marked ``aside`` are passed by)."""


@dataclass(frozen=True, slots=True)
class Move:
    """Event ``event`` leads to ``to``; ``when`` names a condition of the machine's subject."""

    event: str
    to: ConversationState | Next
    when: str | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """One state of the conversation in which the customer is asked something."""

    state: ConversationState
    question: Question
    reader: Reader
    typed: tuple[Typed, ...] = ()
    moves: tuple[Move, ...] = ()
    photos: Question | None = None  # the question once photos have come: this step collects them
    aside: bool = False

    def question_for(self, photo_count: int) -> Question:
        """The question to ask now."""
        return self.photos if self.photos is not None and photo_count else self.question

    @property
    def numbered(self) -> bool:
        """Whether a typed number means the button with that number (as the terminal shows
        them), and any other number is not an answer: at steps with buttons whose text
        is not itself the answer (a detail such as an order number or a comment is)."""
        return bool(self.question.buttons) and not isinstance(self.reader, (Detail, Comment, Description))


SKIP: Rows = ((Press("button.skip", "skip"),),)


def detail(state: ConversationState, ask: str, answer: Detail, *, share_contact: bool = False) -> Step:
    """A detail question of the intake: skippable (button or word); an answer that passes
    the check or a skip leads to the next step."""
    return Step(
        state,
        Question(ask, SKIP, share_contact=share_contact),
        answer,
        typed=(Typed("skip", (Words.SKIP,), label="button.skip"),),
        moves=(Move("answer", NEXT), Move("skip", NEXT)),
    )


def order_number(value: str) -> bool:
    return bool(_ORDER_RE.search(value))


def phone_or_email(value: str) -> bool:
    return bool(_PHONE_RE.match(value) or _EMAIL_RE.match(value))


# ---------------------------------------------------------------------- the table
INTAKE_STEPS: tuple[Step, ...] = (
    Step(
        S.DESCRIBING,
        Question("describe.ask"),
        Description(),
        moves=(Move("describe", NEXT),),
    ),
    Step(
        S.CONFIRMING_CATEGORY,
        Question(
            "category.suggest",
            ((Press("button.yes_category", "confirm"), Press("button.other_category", "change")),),
            Fill.SUGGESTION,
        ),
        AddsToDescription("describe.added"),
        typed=(
            Typed("confirm", (Words.YES,)),
            Typed("change", (Words.NO,)),  # "不是": the suggestion is wrong, let them pick
            Typed("change_to", value=Value.CATEGORY),
        ),
        moves=(Move("confirm_category", NEXT), Move("change_category", S.CHOOSING_CATEGORY)),
    ),
    Step(
        S.CHOOSING_CATEGORY,
        Question("category.choose", Keyboard.CATEGORIES),
        PickFromList("category.pick_from_list"),
        typed=(Typed("cat", value=Value.CATEGORY),),
        moves=(Move("choose_category", S.REVIEWING, when="returning_to_review"), Move("choose_category", NEXT)),
        aside=True,
    ),
    detail(
        S.ASKING_ORDER,
        "details.order",
        Detail("order_number", "details.order_invalid", "order", limit=MAX_ORDER_NUMBER, accepts=order_number),
    ),
    detail(
        S.ASKING_TIME,
        "details.when",
        Detail("occurred", "details.when_too_long", "when", limit=MAX_WHEN),
    ),
    detail(
        S.ASKING_CONTACT,
        "details.contact",
        Detail(
            "contact",
            "details.contact_invalid",
            "contact",
            accepts=phone_or_email,
            masked=True,
            urgent_skip="contact.why_urgent",
        ),
        share_contact=True,
    ),
    Step(
        S.ASKING_PHOTOS,
        Question("details.photos", ((Press("button.no_photos", "done"),),), Fill.PHOTOS),
        AddsToDescription("photos.text_added"),
        typed=(Typed("done", (Words.DONE, Words.SKIP)),),
        moves=(Move("finish_photos", NEXT), Move("skip", NEXT)),
        photos=Question("details.photos_more", ((Press("button.done", "done"),),), Fill.PHOTOS),
    ),
    Step(
        S.REVIEWING,
        Question(
            "review.summary",
            (
                (Press("button.submit", "submit"),),
                (Press("button.change_category", "change"), Press("button.edit_description", "edit")),
                (Press("button.cancel", "cancel"),),
            ),
            Fill.REVIEW,
        ),
        AddsToDescription("describe.added"),
        typed=(Typed("submit", (Words.SUBMIT, Words.YES)),),
        moves=(
            Move("change_category", S.CHOOSING_CATEGORY),
            Move("edit_description", S.DESCRIBING),
            Move("submit", S.SUBMITTED),
        ),
    ),
)
"""The intake, in the order it is asked."""

UNASKED_DETAILS: tuple[Unasked, ...] = (Unasked("amount", "amount"),)
"""Details taken only from what the customer wrote (no question asks them): the amount paid."""

WAITING = Step(S.SUBMITTED, Question("waiting.prompt"), AddsToTicket())

FOLLOW_UP_STEPS: tuple[Step, ...] = (
    WAITING,
    Step(S.REOPENED, WAITING.question, AddsToTicket()),
    Step(S.WITH_AGENT, Question("with_agent.prompt"), AddsToTicket()),
    Step(
        S.RESOLVED,
        Question(
            "feedback.solved_question",
            ((Press("button.solved_yes", "solved", "yes"), Press("button.solved_no", "solved", "no")),),
        ),
        ForTheDesk(),
        typed=(
            Typed("solved", (Words.YES, Words.SOLVED), arg="yes"),
            Typed("solved", (Words.NO, Words.UNSOLVED), arg="no"),
        ),
    ),
    Step(
        S.AWAITING_FEEDBACK,
        Question("feedback.rate", (tuple(Press(str(n), "rate", str(n), literal=True) for n in range(1, 6)),)),
        # something to say about it ("其实还是坏的"): the desk sees it, then the rating again
        ForTheDesk("feedback.rate_with_buttons", only_words=True),
        typed=(Typed("rate", value=Value.RATING),),
    ),
    Step(
        S.COMMENTING,
        Question("feedback.comment", SKIP),
        Comment(),
        typed=(Typed("skip", (Words.SKIP,)),),
    ),
)
"""After submission: the ticket's life as the customer sees it. Desk actions and timers
move these states, so their transitions are a table of their own in flows/conversation.py."""

STEPS: Mapping[ConversationState, Step] = {step.state: step for step in (*INTAKE_STEPS, *FOLLOW_UP_STEPS)}
"""The step of each state in which the customer is asked something."""


def step_of(state: ConversationState) -> Step | None:
    """The step of ``state``; None for idle, closed and cancelled conversations."""
    return STEPS.get(state)


def _following(index: int) -> ConversationState:
    for step in INTAKE_STEPS[index + 1 :]:
        if not step.aside:
            return step.state
    raise ValueError(f"{INTAKE_STEPS[index].state} leads to the next step, but none follows")


def intake_moves() -> Iterator[tuple[Step, Move, ConversationState]]:
    """Every move of the intake table with its destination resolved, in table order."""
    for index, step in enumerate(INTAKE_STEPS):
        for move in step.moves:
            yield step, move, _following(index) if move.to is NEXT else ConversationState(move.to)


def intake_transitions() -> list[dict[str, Any]]:
    """The intake's rows of the conversation machine's transition table."""
    return [
        transition(move.event, step.state, to, conditions=move.when or ())
        for step, move, to in intake_moves()
    ]


def detail_fields() -> Iterator[Detail]:
    """The detail answers of the intake, in the order they are asked (the review shows them)."""
    for step in INTAKE_STEPS:
        if isinstance(step.reader, Detail):
            yield step.reader

