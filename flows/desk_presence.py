"""Whether agents are reachable without Slack: the terminal desk that shows the desk's
live events holds the lease :data:`DESK_LEASE` (one terminal at a time; another stands
by and takes over when it stops), and the customer flow's ``desk_connected`` follows it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from flows.loops import every
from flows.ports import UnitOfWorkFactory
from flows.service import ComplaintService

logger = logging.getLogger(__name__)

DESK_LEASE = "desk:terminal"  # held by the terminal desk that shows the live events
LEASE_SECONDS = 15.0


class DeskScreen:
    """The lease that makes one terminal (``owner``) the desk's screen."""

    def __init__(self, uow_factory: UnitOfWorkFactory, owner: str, lease: timedelta = timedelta(seconds=LEASE_SECONDS)) -> None:
        self.uow_factory = uow_factory
        self.owner = owner
        self.lease = lease

    async def take(self, now: datetime) -> bool:
        """Take or renew the lease; False while another terminal holds it."""
        async with self.uow_factory() as uow:
            held = await uow.leases.take([DESK_LEASE], self.owner, now, now + self.lease)
            await uow.commit()
        return bool(held)

    async def holder(self, now: datetime) -> str | None:
        async with self.uow_factory() as uow:
            return await uow.leases.holder(DESK_LEASE, now)

    async def release(self) -> None:
        async with self.uow_factory() as uow:
            await uow.leases.release([DESK_LEASE], self.owner)
            await uow.commit()


async def terminal_desk_running(uow_factory: UnitOfWorkFactory, now: datetime) -> bool:
    """Whether a terminal desk shows the desk's events now (someone holds :data:`DESK_LEASE`)."""
    async with uow_factory() as uow:
        return await uow.leases.holder(DESK_LEASE, now) is not None


async def watch_desk(
    service: ComplaintService,
    uow_factory: UnitOfWorkFactory,
    clock: Callable[[], datetime],
    stop: asyncio.Event,
    *,
    always: bool = False,
    interval: float = 2.0,
) -> None:
    """Keep ``service.desk_connected`` true while agents are reachable: ``always`` (Slack
    is configured) or while a terminal desk runs against the same database."""

    async def round_() -> None:
        service.desk_connected = always or await terminal_desk_running(uow_factory, clock())

    await every(interval, stop, round_, "terminal desk presence")
