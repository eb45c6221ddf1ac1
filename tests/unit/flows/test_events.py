"""Desk events survive the outbox: what a channel reads back is what the core wrote."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

import pytest

from flows import events as ev
from flows.domain import Attachment, InboundKind, TimerKind
from nlp import Severity

WHEN = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
SAMPLES: dict[type[ev.DeskEvent], ev.DeskEvent] = {
    ev.TicketHandedOff: ev.TicketHandedOff(1, reason=ev.HandoffReason.DUE_SOON),
    ev.CustomerAdded: ev.CustomerAdded(1, message=InboundKind.PHOTO, text="看图", attachment=Attachment("photo", "f1"), message_id="9"),
    ev.TicketClaimed: ev.TicketClaimed(1, by="Alice"),
    ev.TicketTransferred: ev.TicketTransferred(1, previous_owner=None, new_owner="Bob"),
    ev.TicketEscalated: ev.TicketEscalated(1, by="Alice"),
    ev.CategoryChanged: ev.CategoryChanged(1, previous="other", category="delivery"),
    ev.SeverityChanged: ev.SeverityChanged(1, previous=Severity.GENERAL, severity=Severity.HOT),
    ev.SeverityRaised: ev.SeverityRaised(1, previous=Severity.GENERAL, severity=Severity.HOT, reason=ev.UpgradeReason.UNRESOLVED, days=7),
    ev.JoinedHotIssue: ev.JoinedHotIssue(1, term="酸奶"),
    ev.TicketReopened: ev.TicketReopened(1, reason=ev.ReopenReason.LOW_RATING, owner="U1"),
    ev.CrisisDeclared: ev.CrisisDeclared(1, by="Sue"),
    ev.TicketResolved: ev.TicketResolved(1, by="Alice"),
    ev.TicketClosed: ev.TicketClosed(1, reason=ev.CloseReason.CUSTOMER, rating=2, comment="慢"),
    ev.DeadlineReminder: ev.DeadlineReminder(1, timer=TimerKind.RESOLUTION, due=WHEN, breached=True, owner=None),
    ev.CardText: ev.CardText(1, text="很长的描述"),
    ev.CardPhoto: ev.CardPhoto(1, attachment=Attachment("document", "f2", file_name="a.pdf")),
    ev.CardHistory: ev.CardHistory(1, until=WHEN),
    ev.UrgentTicketPing: ev.UrgentTicketPing(1, severity=Severity.MAJOR, by=None),
    ev.HotIssuePing: ev.HotIssuePing(1, term="酸奶", tickets=("T000001", "T000002", "T000003")),
    ev.UpgradedPing: ev.UpgradedPing(1, severity=Severity.MAJOR, reason=ev.UpgradeReason.UNRESOLVED, days=30),
    ev.ReopenedPing: ev.ReopenedPing(1, reason=ev.ReopenReason.NOT_SOLVED),
    ev.DeadlineMissedPing: ev.DeadlineMissedPing(1, timer=TimerKind.FIRST_RESPONSE, due=WHEN),
    ev.EscalatedPing: ev.EscalatedPing(1, by="Alice", note="客户情绪激动"),
    ev.CrisisPing: ev.CrisisPing(1, by="Sue"),
    ev.PinPing: ev.PinPing(1, ref="C1/1.2"),
    ev.DigestDue: ev.DigestDue(None, since=WHEN, until=WHEN, key="2026-W48"),
}


def test_every_event_has_a_sample_and_a_kind_of_its_own() -> None:
    assert set(SAMPLES) == set(ev.ALL_EVENTS)
    assert len({cls.kind for cls in ev.ALL_EVENTS}) == len(ev.ALL_EVENTS)


@pytest.mark.parametrize("event", list(SAMPLES.values()), ids=lambda e: type(e).__name__)
def test_an_event_read_back_from_json_is_the_same_event(event: ev.DeskEvent) -> None:
    payload = json.loads(json.dumps(ev.encode(event)))  # as the outbox stores it
    assert payload["audience"] == event.audience.value
    assert ev.decode(event.ticket_id, payload) == event


def test_a_payload_that_is_no_event_is_refused_with_its_reason() -> None:
    with pytest.raises(ev.UnknownEvent, match="not a desk event"):
        ev.decode(1, {"reason": "hot_issue"})
    with pytest.raises(ev.UnknownEvent, match="TicketClaimed"):
        ev.decode(1, {"event": "claimed"})  # "by" is missing
    with pytest.raises(ev.UnknownEvent, match="Severity|severity"):
        ev.decode(1, {**ev.encode(SAMPLES[ev.SeverityChanged]), "severity": "apocalyptic"})


def test_events_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        SAMPLES[ev.TicketClaimed].by = "Mallory"  # type: ignore[misc]


def test_every_desk_event_class_of_the_module_is_known() -> None:
    declared = {obj for obj in vars(ev).values() if isinstance(obj, type) and issubclass(obj, ev.DeskEvent)}
    assert declared - {ev.DeskEvent} == set(ev.ALL_EVENTS)


def test_an_event_declared_elsewhere_is_refused_with_where_to_declare_it() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Stray(ev.DeskEvent):
        kind = ev.EventKind.CLAIMED
        delivery = ev.Delivery.UPDATE
        audience = ev.Audience.AGENTS

    with pytest.raises(TypeError, match="flows/events.py"):
        ev.encode(Stray(1))
