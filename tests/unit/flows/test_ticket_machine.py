"""The ticket lifecycle machine and the ownership rules (首问负责制)."""

from __future__ import annotations

import itertools

import pytest

from flows import ownership as rules
from flows.domain import Actor, Severity, Ticket
from flows.domain import TicketState as T
from flows.machine import IllegalEvent
from flows.ownership import ACTION_EVENTS, allowed_actions, card_actions
from flows.ownership import DeskAction as A
from flows.ticket import TICKET_MACHINE, TRANSITIONS, fire

ALICE = Actor("U1", "Alice", is_agent=True)
BOB = Actor("U2", "Bob", is_agent=True)
SUE = Actor("U9", "Sue", is_supervisor=True)
MALLORY = Actor("U6", "Mallory")


def ticket(state: T = T.NEW, owner: Actor | None = None, severity: Severity = Severity.GENERAL) -> Ticket:
    return Ticket(
        id=1, number="T000001", customer_id=1, conversation_id=1, channel="test", chat_id="1",
        category="delivery", severity=severity, state=state,
        owner_id=owner.id if owner else None, owner_name=owner.name if owner else None,
    )


@pytest.mark.parametrize(("state", "event"), list(itertools.product(list(T), sorted(TICKET_MACHINE.events))))
def test_every_state_event_pair_follows_the_table(state: T, event: str) -> None:
    destinations = {row["dest"] or state for row in TRANSITIONS if row["trigger"] == event and state in row["source"]}
    t = ticket(state)
    if not destinations:
        with pytest.raises(IllegalEvent):
            fire(t, event)
        assert t.state is state
    else:
        assert fire(t, event) is state
        assert t.state in destinations


def test_lifecycle() -> None:
    t = ticket()
    for event, state in [("claim", T.CLAIMED), ("transfer", T.CLAIMED), ("resolve", T.RESOLVED),
                         ("reopen", T.REOPENED), ("claim", T.CLAIMED), ("resolve", T.RESOLVED), ("close", T.CLOSED)]:
        fire(t, event)
        assert t.state is state


def test_only_agents_claim() -> None:
    assert rules.check_claim(ticket(), ALICE) is None
    assert rules.check_claim(ticket(), SUE) is None
    assert rules.check_claim(ticket(), MALLORY) == rules.Refusal("not_agent")


def test_first_contact_ownership() -> None:
    owned = ticket(T.CLAIMED, ALICE)
    refusal = rules.check_claim(owned, BOB)
    assert refusal is not None and refusal.code == "owned_by_other" and refusal.params["owner"] == "Alice"
    assert rules.check_claim(owned, ALICE).code == "already_yours"  # type: ignore[union-attr]
    assert rules.check_reply(owned, ALICE) is None
    assert rules.check_reply(owned, BOB).code == "not_owner"  # type: ignore[union-attr]
    assert rules.check_resolve(owned, BOB).code == "not_owner"  # type: ignore[union-attr]
    assert rules.check_resolve(owned, SUE) is None
    assert rules.check_resolve(owned, ALICE) is None


def test_reply_and_resolve_need_a_claim() -> None:
    assert rules.check_reply(ticket(), ALICE).code == "claim_first"  # type: ignore[union-attr]
    assert rules.check_resolve(ticket(), ALICE).code == "claim_first"  # type: ignore[union-attr]


def test_reopened_ticket_goes_back_to_its_owner() -> None:
    reopened = ticket(T.REOPENED, ALICE)
    assert rules.check_claim(reopened, ALICE) is None
    assert rules.check_claim(reopened, BOB) is None  # nobody holds it while it waits


def test_transfer_rules() -> None:
    owned = ticket(T.CLAIMED, ALICE)
    assert rules.check_transfer(owned, ALICE, BOB) is None
    assert rules.check_transfer(owned, SUE, BOB) is None
    assert rules.check_transfer(owned, BOB, BOB).code == "not_owner"  # type: ignore[union-attr]
    assert rules.check_transfer(owned, ALICE, MALLORY).code == "transfer_target_not_agent"  # type: ignore[union-attr]
    assert rules.check_transfer(owned, ALICE, ALICE).code == "transfer_to_same"  # type: ignore[union-attr]


def test_only_supervisors_lower_severity_or_declare_crisis() -> None:
    hot = ticket(T.CLAIMED, ALICE, Severity.HOT)
    assert rules.check_change_severity(hot, ALICE, Severity.MAJOR) is None
    assert rules.check_change_severity(hot, ALICE, Severity.GENERAL).code == "supervisor_only"  # type: ignore[union-attr]
    assert rules.check_change_severity(hot, SUE, Severity.GENERAL) is None
    assert rules.check_declare_crisis(hot, ALICE).code == "supervisor_only"  # type: ignore[union-attr]
    assert rules.check_declare_crisis(hot, SUE) is None


def test_category_change_rules() -> None:
    assert rules.check_change_category(ticket(), BOB) is None
    assert rules.check_change_category(ticket(T.CLAIMED, ALICE), BOB).code == "not_owner"  # type: ignore[union-attr]
    assert rules.check_change_category(ticket(T.CLAIMED, ALICE), SUE) is None
    assert rules.check_escalate(ticket(), MALLORY).code == "not_agent"  # type: ignore[union-attr]


def test_every_action_names_events_of_the_machine() -> None:
    assert set(ACTION_EVENTS) == set(A)
    for events in ACTION_EVENTS.values():
        assert events <= TICKET_MACHINE.events


def _old_buttons(t: Ticket) -> tuple[A, ...]:
    """The card's buttons as the Slack desk decided them from the ticket's state before."""
    if t.state is T.CLOSED:
        return ()
    buttons = [A.CLAIM] if t.state in (T.NEW, T.REOPENED) or t.owner_id is None else []
    buttons += [A.TRANSFER, A.ESCALATE, A.REGRADE]
    if t.state is T.CLAIMED:
        buttons.append(A.RESOLVE)
    return tuple(buttons)


@pytest.mark.parametrize(("state", "owner"), list(itertools.product(list(T), [None, ALICE])))
def test_the_shared_card_offers_what_it_always_did(state: T, owner: Actor | None) -> None:
    t = ticket(state, owner)
    assert card_actions(t) == _old_buttons(t)


def test_what_one_person_may_do_follows_the_machine_and_ownership() -> None:
    new = ticket()
    assert allowed_actions(new, ALICE) == (A.CLAIM, A.NOTE, A.ESCALATE, A.REGRADE)
    assert allowed_actions(new, MALLORY) == (A.NOTE,)
    owned = ticket(T.CLAIMED, ALICE)
    assert allowed_actions(owned, ALICE) == (A.REPLY, A.NOTE, A.TRANSFER, A.ESCALATE, A.REGRADE, A.RESOLVE)
    assert allowed_actions(owned, BOB) == (A.NOTE, A.ESCALATE, A.REGRADE)  # raise the severity only
    assert allowed_actions(owned, SUE) == (A.REPLY, A.NOTE, A.TRANSFER, A.ESCALATE, A.REGRADE, A.RESOLVE)  # a supervisor may step in
    assert allowed_actions(ticket(T.REOPENED, ALICE), BOB) == (A.CLAIM, A.NOTE, A.ESCALATE, A.REGRADE)
    assert allowed_actions(ticket(T.RESOLVED, ALICE), ALICE) == (A.NOTE,)
    assert allowed_actions(ticket(T.CLOSED, ALICE), SUE) == (A.NOTE,)


#: Who looks at a ticket (owned by Alice when it has an owner).
VIEWERS = {"owner": ALICE, "other agent": BOB, "supervisor": SUE, "non-member": MALLORY}


def _checks_allow(action: A, t: Ticket, viewer: Actor) -> bool:
    """What the ``check_*`` rules (the ones desk actions are refused by) say about the action."""
    if action is A.CLAIM:
        return rules.check_claim(t, viewer) is None
    if action is A.REPLY:
        return rules.check_reply(t, viewer) is None
    if action is A.NOTE:
        return rules.check_note(t, viewer) is None
    if action is A.TRANSFER:  # a desk member handing it to some agent of the desk
        return rules.check_desk_member(viewer) is None and any(
            rules.check_transfer(t, viewer, to) is None for to in (ALICE, BOB, SUE)
        )
    if action is A.ESCALATE:
        return rules.check_escalate(t, viewer) is None
    if action is A.REGRADE:  # some part of the form may be submitted
        return (
            rules.check_change_category(t, viewer) is None
            or any(rules.check_change_severity(t, viewer, s) is None for s in Severity)
            or rules.check_declare_crisis(t, viewer) is None
        )
    assert action is A.RESOLVE, action
    return rules.check_resolve(t, viewer) is None


@pytest.mark.parametrize(
    ("state", "owned", "severity"), list(itertools.product(list(T), [False, True], list(Severity)))
)
def test_allowed_actions_agree_with_the_checks(state: T, owned: bool, severity: Severity) -> None:
    """What a viewer is offered is exactly what the machine and the ``check_*`` rules allow:
    for every action, state and kind of viewer (the rules cannot drift apart)."""
    t = ticket(state, ALICE if owned else None, severity)
    allowed_events = TICKET_MACHINE.allowed_events(state)
    for kind, viewer in VIEWERS.items():
        if kind == "owner" and not owned:
            continue
        offered = allowed_actions(t, viewer)
        for action in A:
            machine = not ACTION_EVENTS[action] or bool(ACTION_EVENTS[action] & allowed_events)
            expected = machine and _checks_allow(action, t, viewer)
            assert (action in offered) == expected, (kind, action)
