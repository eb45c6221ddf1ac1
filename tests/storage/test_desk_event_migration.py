"""Migration 0007: desk items queued in the old form (before typed desk events) are
rewritten, so an upgrade with items in flight delivers every one of them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from flows import events as ev
from flows.domain import Attachment, InboundKind, TimerKind
from nlp import Severity
from storage.database import Database
from storage.migrate import downgrade, upgrade

DUE = "2026-11-30T10:00:00+00:00"
# (old kind, old payload) as the code before 0007 wrote them -> the event they mean
OLD_ITEMS: list[tuple[str, dict[str, object], ev.DeskEvent]] = [
    ("ticket_card", {"reason": "due_soon", "audience": "agents"}, ev.TicketHandedOff(7, reason=ev.HandoffReason.DUE_SOON)),
    (
        "relay",
        {"kind": "photo", "text": "看", "attachment": {"kind": "photo", "file_id": "f1"}, "message_id": "12", "audience": "agents"},
        ev.CustomerAdded(7, message=InboundKind.PHOTO, text="看", attachment=Attachment("photo", "f1"), message_id="12"),
    ),
    ("ticket_update", {"event": "transferred", "from": "Alice", "to": "Bob", "audience": "agents"}, ev.TicketTransferred(7, previous_owner="Alice", new_owner="Bob")),
    ("ticket_update", {"event": "category", "from": "other", "to": "delivery", "audience": "agents"}, ev.CategoryChanged(7, previous="other", category="delivery")),
    (
        "ticket_update",
        {"event": "severity", "from": "general", "to": "hot", "reason": "unresolved_8d", "audience": "agents"},
        ev.SeverityRaised(7, previous=Severity.GENERAL, severity=Severity.HOT, reason=ev.UpgradeReason.UNRESOLVED, days=8),
    ),
    ("ticket_update", {"event": "severity", "from": "hot", "to": "general", "audience": "agents"}, ev.SeverityChanged(7, previous=Severity.HOT, severity=Severity.GENERAL)),
    ("ticket_update", {"event": "closed", "reason": "no_answer", "audience": "agents"}, ev.TicketClosed(7, reason=ev.CloseReason.NO_ANSWER)),
    ("ticket_update", {"event": "closed", "rating": 2, "comment": "慢", "audience": "agents"}, ev.TicketClosed(7, reason=ev.CloseReason.CUSTOMER, rating=2, comment="慢")),
    ("ticket_update", {"event": "hot_issue", "term": "酸奶", "audience": "agents"}, ev.JoinedHotIssue(7, term="酸奶")),
    (
        "reminder",
        {"timer": "resolution", "due": DUE, "breached": True, "owner": "U1", "audience": "agents"},
        ev.DeadlineReminder(7, timer=TimerKind.RESOLUTION, due=datetime.fromisoformat(DUE), breached=True, owner="U1"),
    ),
    ("ping", {"reason": "severity_major", "audience": "supervisors"}, ev.UrgentTicketPing(7, severity=Severity.MAJOR)),
    (
        "ping",
        {"reason": "upgraded_hot", "why": "unresolved_7d", "audience": "supervisors"},
        ev.UpgradedPing(7, severity=Severity.HOT, reason=ev.UpgradeReason.UNRESOLVED, days=7),
    ),
    ("ping", {"reason": "hot_issue", "term": "酸奶", "tickets": ["T1", "T2", "T3"], "audience": "supervisors"}, ev.HotIssuePing(7, term="酸奶", tickets=("T1", "T2", "T3"))),
    ("ping", {"reason": "reopened_low_rating", "audience": "supervisors"}, ev.ReopenedPing(7, reason=ev.ReopenReason.LOW_RATING)),
    ("ping", {"reason": "sla_breach", "timer": "first_response", "due": DUE, "audience": "supervisors"}, ev.DeadlineMissedPing(7, timer=TimerKind.FIRST_RESPONSE, due=datetime.fromisoformat(DUE))),
    ("ping", {"reason": "agent_escalated", "by": "Alice", "note": "急", "audience": "supervisors"}, ev.EscalatedPing(7, by="Alice", note="急")),
    ("ping", {"reason": "crisis", "by": "Sue", "everyone": True, "audience": "supervisors"}, ev.CrisisPing(7, by="Sue")),
    ("thread_text", {"text": "很长的描述"}, ev.CardText(7, text="很长的描述")),
    ("thread_history", {"until": DUE}, ev.CardHistory(7, until=datetime.fromisoformat(DUE))),
    ("pin", {"ref": "C1/1.5", "audience": "supervisors"}, ev.PinPing(7, ref="C1/1.5")),
]


@pytest.mark.usefixtures("backend")
async def test_old_desk_items_are_delivered_as_typed_events_after_the_upgrade(database: Database) -> None:
    await downgrade(database.engine, "0006")
    now = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    async with database.engine.begin() as conn:
        for kind, payload, _ in OLD_ITEMS:
            await conn.execute(
                text(
                    "INSERT INTO outbox (channel, target, kind, payload, status, attempts, created_at, next_attempt_at)"
                    " VALUES ('desk', 'ticket:7', :kind, :payload, 'pending', 0, :now, :now)"
                ),
                {"kind": kind, "payload": json.dumps(payload, ensure_ascii=False), "now": now},
            )
    await upgrade(database.engine)
    async with database() as uow:
        items = await uow.outbox.pending("desk", "ticket:7", limit=100)
    assert [ev.decode(7, item.payload) for item in items] == [event for _, _, event in OLD_ITEMS]
    assert [item.kind for item in items] == [event.delivery.value for _, _, event in OLD_ITEMS]
