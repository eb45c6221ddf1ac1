"""typed desk events: desk outbox items written before 0007 take the new encoding

Until 0007 the core queued desk items as a kind ("ticket_card", "ping", "thread_text"...)
and a free-form payload ({"reason": "upgraded_hot", "why": "unresolved_7d"}). Since then
each item is a typed event of flows/events.py: kind = how the desk delivers it,
payload = {"audience", "event", <fields>}. This migration rewrites the desk rows that are
still in the old form (pending ones would otherwise be refused by the desk and kept as
failed), so an upgrade with items in flight loses none of them. The mapping is written
out here, not imported, so this migration keeps meaning what it meant.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_OUTBOX = sa.table(
    "outbox",
    sa.column("id", sa.Integer()),
    sa.column("channel", sa.String()),
    sa.column("kind", sa.String()),
    sa.column("payload", _JSON),
)
_UNRESOLVED = re.compile(r"unresolved_(\d+)d")
_UPDATE_EVENTS = {  # old ticket_update "event" -> new event, with renamed fields
    "claimed": ("claimed", {}),
    "transferred": ("transferred", {"from": "previous_owner", "to": "new_owner"}),
    "escalated": ("escalated", {}),
    "category": ("category_changed", {"from": "previous", "to": "category"}),
    "hot_issue": ("joined_hot_issue", {}),
    "reopened": ("reopened", {}),
    "crisis": ("crisis_declared", {}),
    "resolved": ("resolved", {}),
}
_THREAD = {"thread_text": "card_text", "thread_photo": "card_photo", "thread_history": "card_history"}


def _upgrade_reason(why: object) -> dict[str, Any]:
    match = _UNRESOLVED.fullmatch(str(why))
    return {"reason": "unresolved", "days": int(match.group(1))} if match else {"reason": "hot_issue", "days": None}


def _ping(old: dict[str, Any]) -> dict[str, Any] | None:
    reason = str(old.get("reason", ""))
    if reason in ("severity_hot", "severity_major"):
        return {"event": "urgent_ticket_ping", "severity": reason.removeprefix("severity_"), "by": old.get("by")}
    if reason == "hot_issue":
        return {"event": "hot_issue_ping", "term": old.get("term", ""), "tickets": list(old.get("tickets") or ())}
    if reason.startswith("upgraded_"):
        return {"event": "upgraded_ping", "severity": reason.removeprefix("upgraded_"), **_upgrade_reason(old.get("why"))}
    if reason.startswith("reopened_"):
        return {"event": "reopened_ping", "reason": reason.removeprefix("reopened_")}
    if reason == "sla_breach":
        return {"event": "deadline_missed_ping", "timer": old.get("timer"), "due": old.get("due")}
    if reason == "crisis":
        return {"event": "crisis_ping", "by": old.get("by", "")}
    return {"event": "escalated_ping", "by": old.get("by", ""), "note": old.get("note", "")}  # the old fallback text


def _update(old: dict[str, Any]) -> dict[str, Any] | None:
    event = old.get("event")
    if event == "severity":
        moved = {"previous": old.get("from"), "severity": old.get("to")}
        if old.get("reason"):
            return {"event": "severity_raised", **moved, **_upgrade_reason(old["reason"])}
        return {"event": "severity_changed", **moved}
    if event == "closed":
        return {
            "event": "closed",
            "reason": "no_answer" if old.get("reason") == "no_answer" else "customer",
            "rating": old.get("rating"),
            "comment": old.get("comment"),
        }
    if event not in _UPDATE_EVENTS:
        return None
    name, renamed = _UPDATE_EVENTS[str(event)]
    fields = {renamed.get(k, k): v for k, v in old.items() if k not in ("event", "audience")}
    return {"event": name, **fields}


def convert(kind: str, old: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The new (kind, payload) of an old desk item; None when it is not in the old form."""
    if "event" in old and kind != "ticket_update":
        return None  # already typed
    new: dict[str, Any] | None
    if kind == "ticket_card":
        new = {"event": "handed_off", "reason": old.get("reason")}
    elif kind == "relay":
        new = {
            "event": "customer_added",
            "message": old.get("kind", "text"),
            "text": old.get("text") or "",
            "attachment": old.get("attachment"),
            "unsupported_type": old.get("unsupported_type"),
            "message_id": old.get("message_id"),
        }
    elif kind == "ticket_update":
        new = _update(old)
    elif kind == "reminder":
        new = {"event": "deadline", **{k: old.get(k) for k in ("timer", "due", "breached", "owner")}}
    elif kind == "ping":
        new = _ping(old)
    elif kind in _THREAD:
        new = {"event": _THREAD[kind], **{k: v for k, v in old.items() if k != "audience"}}
        kind = "thread"
    elif kind == "pin":
        new = {"event": "pin_ping", "ref": old.get("ref")}
    elif kind == "digest":
        new = {"event": "digest_due", "since": old.get("since"), "until": old.get("until"), "key": old.get("key", "")}
    else:
        return None
    if new is None:
        return None
    audience = old.get("audience") or ("supervisors" if kind in ("ping", "pin", "digest") else "agents")
    return kind, {"audience": audience, **new}


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(_OUTBOX.c.id, _OUTBOX.c.kind, _OUTBOX.c.payload).where(_OUTBOX.c.channel == "desk"))
    for row_id, kind, payload in rows.all():
        converted = convert(kind, dict(payload or {}))
        if converted is not None:
            bind.execute(
                sa.update(_OUTBOX).where(_OUTBOX.c.id == row_id).values(kind=converted[0], payload=converted[1])
            )


def downgrade() -> None:
    """Desk items written in the new form stay as they are: the code before 0007 cannot
    deliver them (drain the outbox before going back)."""
