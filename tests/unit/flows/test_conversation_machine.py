"""Every transition of the conversation machine, and every illegal event."""

from __future__ import annotations

import itertools

import pytest

from flows import conversation
from flows.conversation import CONVERSATION_MACHINE, TRANSITIONS, fire
from flows.domain import Conversation, ConversationState as S
from flows.machine import IllegalEvent

EVENTS = sorted(CONVERSATION_MACHINE.events)


def conv(state: S, **draft: object) -> Conversation:
    c = Conversation(id=1, customer_id=1, channel="test", chat_id="1", state=state, step=7)
    for key, value in draft.items():
        setattr(c.draft, key, value)
    return c


def expected_destinations(state: S, event: str) -> set[S]:
    """All destinations the table allows for (state, event); the state itself for internal ones."""
    return {
        row["dest"] or state
        for row in TRANSITIONS
        if row["trigger"] == event and state in row["source"]
    }


@pytest.mark.parametrize(("state", "event"), list(itertools.product(list(S), EVENTS)))
def test_every_state_event_pair_follows_the_table(state: S, event: str) -> None:
    allowed = expected_destinations(state, event)
    c = conv(state)
    if not allowed:
        with pytest.raises(IllegalEvent) as info:
            fire(c, event, rating=5)
        assert info.value.event == event and info.value.state == state.value
        assert c.state is state and c.step == 7, "an illegal event must not change anything"
        return
    assert fire(c, event, rating=5)
    assert c.state in allowed
    assert c.step == (7 if c.state is state else 8)


def test_intake_happy_path() -> None:
    c = conv(S.IDLE)
    for event, state in [
        ("start", S.DESCRIBING),
        ("describe", S.CONFIRMING_CATEGORY),
        ("confirm_category", S.ASKING_ORDER),
        ("answer", S.ASKING_TIME),
        ("skip", S.ASKING_CONTACT),
        ("answer", S.ASKING_PHOTOS),
        ("add_photo", S.ASKING_PHOTOS),
        ("finish_photos", S.REVIEWING),
        ("submit", S.SUBMITTED),
        ("agent_joined", S.WITH_AGENT),
        ("agent_resolved", S.RESOLVED),
        ("confirm_solved", S.AWAITING_FEEDBACK),
        ("rate", S.COMMENTING),
        ("comment", S.CLOSED),
    ]:
        fire(c, event, rating=4)
        assert c.state is state, event
    assert not c.active


def test_choose_category_returns_to_review_only_when_changing_from_review() -> None:
    from_review = conv(S.CHOOSING_CATEGORY, return_to_review=True)
    fire(from_review, "choose_category")
    assert from_review.state is S.REVIEWING
    first_time = conv(S.CHOOSING_CATEGORY, return_to_review=False)
    fire(first_time, "choose_category")
    assert first_time.state is S.ASKING_ORDER


@pytest.mark.parametrize(("rating", "state"), [(1, S.REOPENED), (2, S.REOPENED), (3, S.COMMENTING), (5, S.COMMENTING)])
def test_low_rating_reopens(rating: int, state: S) -> None:
    c = conv(S.AWAITING_FEEDBACK)
    fire(c, "rate", rating=rating)
    assert c.state is state


def test_cancel_and_human_are_possible_from_every_intake_state() -> None:
    for state in conversation.INTAKE_STATES:
        c = conv(state)
        fire(c, "cancel")
        assert c.state is S.CANCELLED
        c = conv(state)
        fire(c, "request_human")
        assert c.state is S.SUBMITTED


def test_internal_transitions_keep_buttons_valid() -> None:
    c = conv(S.ASKING_PHOTOS)
    fire(c, "add_photo")
    assert c.state is S.ASKING_PHOTOS and c.step == 7


def test_unknown_event_is_illegal() -> None:
    with pytest.raises(IllegalEvent):
        fire(conv(S.DESCRIBING), "fly_to_the_moon")


def test_terminal_states_accept_nothing_but_reopen_after_close() -> None:
    assert CONVERSATION_MACHINE.allowed_events(S.CANCELLED) == frozenset()
    assert CONVERSATION_MACHINE.allowed_events(S.CLOSED) == frozenset({"reopen"})


def test_machine_is_shared_and_does_not_keep_models() -> None:
    for _ in range(100):
        fire(conv(S.DESCRIBING), "describe")
    assert CONVERSATION_MACHINE._machine.models == []
