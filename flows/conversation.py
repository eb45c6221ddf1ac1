"""The customer conversation machine: one table with every legal transition.

Intake: describe → confirm or change the suggested category → details (order number,
when, contact, photos; each skippable) → review → submit. Those moves come from the step
table in flows/steps.py, which also says what each step asks and how its answers are
read. ``cancel`` leaves any intake state, ``request_human`` hands off from any intake
state. After submission the conversation follows its ticket: with an agent, resolved,
feedback, closed or reopened (its own table below: desk actions and timers drive it).
"""

from __future__ import annotations

from typing import Any

from flows.domain import Conversation, ConversationState
from flows.machine import SharedMachine, Subject, transition
from flows.steps import INTAKE_STEPS, intake_transitions

S = ConversationState

INTAKE_STATES: tuple[ConversationState, ...] = tuple(step.state for step in INTAKE_STEPS)
"""States in which the customer is still telling us about the complaint."""

WAITING_STATES: tuple[ConversationState, ...] = (S.SUBMITTED, S.REOPENED)
"""A ticket exists and waits for an agent."""

TICKET_OPEN_STATES: tuple[ConversationState, ...] = (S.SUBMITTED, S.WITH_AGENT, S.REOPENED)
"""A ticket exists and is being worked on; customer messages are added to it."""

FEEDBACK_STATES: tuple[ConversationState, ...] = (S.RESOLVED, S.AWAITING_FEEDBACK, S.COMMENTING)
"""The ticket is resolved and we are asking the customer about it (回访)."""

LOW_RATING = 2
"""A rating at or below this reopens the ticket."""

TRANSITIONS = [
    # intake: the step table's moves, and what is possible at every step
    transition("start", S.IDLE, INTAKE_STATES[0]),
    *intake_transitions(),
    transition("add_photo", list(INTAKE_STATES), None),
    transition("cancel", list(INTAKE_STATES), S.CANCELLED),
    transition("request_human", [S.IDLE, *INTAKE_STATES], S.SUBMITTED),
    # after submission: the ticket's life as the customer sees it
    transition("add_info", list(TICKET_OPEN_STATES), None),
    transition("agent_joined", list(WAITING_STATES), S.WITH_AGENT),
    transition("agent_message", [S.SUBMITTED, S.WITH_AGENT, S.REOPENED], None),
    transition("transferred", [S.WITH_AGENT], None),
    transition("agent_resolved", list(TICKET_OPEN_STATES), S.RESOLVED),
    transition("confirm_solved", S.RESOLVED, S.AWAITING_FEEDBACK),
    transition("not_solved", S.RESOLVED, S.REOPENED),
    transition("rate", S.AWAITING_FEEDBACK, S.REOPENED, conditions="low_rating"),
    transition("rate", S.AWAITING_FEEDBACK, S.COMMENTING),
    transition("comment", S.COMMENTING, S.CLOSED),
    transition("skip", S.COMMENTING, S.CLOSED),
    transition("close", list(FEEDBACK_STATES), S.CLOSED),
    transition("reopen", [*FEEDBACK_STATES, S.CLOSED], S.REOPENED),
]


class ConversationSubject(Subject):
    """The conversation as the machine sees it during one event."""

    def __init__(self, conversation: Conversation) -> None:
        super().__init__(conversation.state)
        self.conversation = conversation

    def returning_to_review(self, **_: Any) -> bool:
        return self.conversation.draft.return_to_review

    def low_rating(self, rating: int | None = None, **_: Any) -> bool:
        return rating is not None and rating <= LOW_RATING


CONVERSATION_MACHINE: SharedMachine[ConversationState] = SharedMachine(
    "conversation", ConversationState, TRANSITIONS, initial=S.IDLE
)


def fire(conversation: Conversation, event: str, **kwargs: Any) -> bool:
    """Apply ``event`` to ``conversation`` in place; returns whether the state machine moved.

    When the state changes ``step`` grows by one, which makes buttons sent for the
    previous step stale; internal transitions (a photo added, a message relayed) keep
    the step so the buttons on screen stay valid. Raises
    :class:`flows.machine.IllegalEvent` when the event is not allowed.
    """
    subject = ConversationSubject(conversation)
    moved = CONVERSATION_MACHINE.fire(subject, event, **kwargs)
    if moved and subject.state is not conversation.state:
        conversation.state = ConversationState(subject.state)
        conversation.step += 1
    return moved
