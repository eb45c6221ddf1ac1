"""Where the SLA table and the hand-off rule used to live; kept so existing imports keep
working. The SLA table is in :mod:`flows.sla`, the hand-off rule in :mod:`flows.grading`."""

from __future__ import annotations

from flows.grading import HandoffPolicy
from flows.sla import Deadlines, ServiceLevels

__all__ = ["Deadlines", "HandoffPolicy", "ServiceLevels"]
