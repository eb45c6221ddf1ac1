"""Service promises and the hand-off rule (configurable; defaults from DESIGN.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flows.domain import Severity
from flows.events import HandoffReason


def _hours(n: float) -> timedelta:
    return timedelta(hours=n)


@dataclass(frozen=True, slots=True)
class Deadlines:
    first_response: datetime
    substantive_reply: datetime
    resolution: datetime


@dataclass(frozen=True)
class ServiceLevels:
    """The SLA table by severity: first human response, substantive reply, resolution.

    DESIGN.md: urgent complaints get a human response within 2 hours; every complaint
    is being investigated within 2 hours and gets a substantive reply within 1 day.
    Deadlines from it (with business hours) come from :class:`flows.promises.Promises`.
    """

    first_response: dict[Severity, timedelta] = field(
        default_factory=lambda: {
            Severity.GENERAL: _hours(2),
            Severity.IMPORTANT: _hours(2),
            Severity.HOT: _hours(1),
            Severity.MAJOR: _hours(0.5),
        }
    )
    substantive_reply: dict[Severity, timedelta] = field(
        default_factory=lambda: {
            Severity.GENERAL: _hours(24),
            Severity.IMPORTANT: _hours(24),
            Severity.HOT: _hours(12),
            Severity.MAJOR: _hours(4),
        }
    )
    resolution: dict[Severity, timedelta] = field(
        default_factory=lambda: {
            Severity.GENERAL: _hours(7 * 24),
            Severity.IMPORTANT: _hours(5 * 24),
            Severity.HOT: _hours(3 * 24),
            Severity.MAJOR: _hours(24),
        }
    )


@dataclass(frozen=True, slots=True)
class HandoffPolicy:
    """When a submitted complaint goes to the agents' desk.

    Always when the customer asks for a person; when its severity is ``min_severity``
    or higher; and every ticket when ``every_ticket`` is set.
    """

    every_ticket: bool = False
    min_severity: Severity = Severity.IMPORTANT

    def reason(self, severity: Severity, human_requested: bool) -> HandoffReason | None:
        """Why the ticket is handed off, or None."""
        if human_requested:
            return HandoffReason.CUSTOMER_REQUEST
        if severity.rank >= self.min_severity.rank:
            return HandoffReason.SEVERITY
        if self.every_ticket:
            return HandoffReason.EVERY_TICKET
        return None
