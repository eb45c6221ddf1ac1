"""Where the service promises used to live; kept so existing imports keep working.

The rules are in :mod:`flows.sla` (deadlines, business hours, timers, reminders and
breaches, the follow-up); writing the timers in :mod:`flows.lifecycle` (``met``,
``start_timers``, ``restart``, ``reschedule``).
"""

from __future__ import annotations

from flows.lifecycle import met, reschedule, restart, start_timers
from flows.sla import SLA_KINDS, UPGRADES, BusinessHours, Promises, set_deadlines, sla_start, upgrade_timers

__all__ = [
    "SLA_KINDS",
    "UPGRADES",
    "BusinessHours",
    "Promises",
    "met",
    "reschedule",
    "restart",
    "set_deadlines",
    "sla_start",
    "start_timers",
    "upgrade_timers",
]
