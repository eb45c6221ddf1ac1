"""Long polling that confirms only what the inbox committed (see :mod:`flows.inbox`).

Only one process polls a token at a time (a lease); the others stand by and take over
when it dies.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Protocol

from flows.domain import InboxEntry
from flows.inbox import DatabaseUnavailable, Inbox
from flows.loops import Stopped, pause, unless_stopped
from flows.redaction import redact

logger = logging.getLogger(__name__)


class UpdateSource(Protocol):
    """The platform side of long polling (handlers/ implement it)."""

    async def prepare(self) -> None:
        """Before the first fetch (Telegram: remove a webhook)."""

    async def fetch(self, offset: int | None, timeout: float) -> Sequence[tuple[int, InboxEntry | None]]:
        """Updates after ``offset`` (unconfirmed ones again), as (update id, entry or
        None for an update that needs no handling)."""

    async def confirm(self, offset: int) -> None:
        """Confirm everything before ``offset`` without waiting for more."""


class Poller:
    """Long polling that confirms only what is committed.

    The offset passed to the platform moves past a batch only after
    :meth:`Inbox.receive` committed it; while the database is down the same updates are
    fetched again (new chats among them are told once that their message is safe) and
    nothing is confirmed. One process per token polls: the one holding the
    ``lease_name`` lease, which this loop itself renews while it runs (a poller that
    dies stops renewing it); the others stand by and take over when it expires.
    """

    def __init__(
        self,
        inbox: Inbox,
        channel: str,
        source: UpdateSource,
        lease_name: str,
        *,
        poll_timeout: float = 10.0,
        retry_delay: float = 1.0,
        max_retry_delay: float = 10.0,
    ) -> None:
        self.inbox = inbox
        self.channel = channel
        self.source = source
        self.lease_name = lease_name
        self.poll_timeout = poll_timeout
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self.offset: int | None = None
        self.polling = False  # this process holds the lease
        self.prepared = False  # the platform is set up for polling (no webhook)

    async def _hold_lease(self) -> bool:
        """Take or keep the poller's lease; True while this process is the poller."""
        now = self.inbox.clock()
        try:
            async with self.inbox.uow_factory() as uow:
                held = await uow.leases.take([self.lease_name], self.inbox.owner, now, now + self.inbox.lease)
                await uow.commit()
        except Exception as exc:
            self.inbox.note_outage(exc)
            return self.polling  # nobody can take it from us while the database is down
        was, self.polling = self.polling, bool(held)
        if self.polling and not was:
            logger.info("polling %s updates (lease %s)", self.channel, self.lease_name)
            self.prepared = False
        elif was and not self.polling:
            logger.warning("another process polls %s now: standing by", self.channel)
        return self.polling

    async def _keep_lease(self, stop: asyncio.Event) -> None:
        """Renew the lease every third of it while polling (a long poll takes longer)."""
        while not stop.is_set():
            await pause(stop, self.inbox.lease.total_seconds() / 3)
            if self.polling and not stop.is_set():
                await self._hold_lease()

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop``; confirm what was committed before returning."""
        keeper = asyncio.create_task(self._keep_lease(stop), name=f"{self.channel} poller lease")
        try:
            await self._poll(stop)
        finally:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
            if self.offset is not None and self.polling:
                try:
                    await self.source.confirm(self.offset)
                except Exception as exc:
                    logger.info("last confirmation not sent (%s): those updates come again and are recognised", redact(str(exc)))
            if self.polling:  # a standby (or the next start) polls at once
                try:
                    async with self.inbox.uow_factory() as uow:
                        await uow.leases.release([self.lease_name], self.inbox.owner)
                        await uow.commit()
                except Exception:
                    logger.info("the poller's lease was not given back: it runs out within %s", self.inbox.lease)
                self.polling = False

    async def _poll(self, stop: asyncio.Event) -> None:
        delay = self.retry_delay

        async def back_off(what: str, exc: BaseException | None = None) -> None:
            nonlocal delay
            if exc is not None:
                logger.warning("%s %s failed: %s", what, self.channel, redact(f"{exc.__class__.__name__}: {exc}"))
            await pause(stop, delay)
            delay = min(delay * 2, self.max_retry_delay)

        while not stop.is_set():
            if not self.polling and not await self._hold_lease():
                await pause(stop, self.inbox.lease.total_seconds() / 3)
                continue
            if not self.prepared:
                try:
                    await self.source.prepare()
                    self.prepared = True
                except Exception as exc:
                    await back_off("preparing to poll", exc)
                    continue
            try:
                batch = await unless_stopped(stop, self.source.fetch(self.offset, self.poll_timeout))
            except Stopped:
                break  # stopped while waiting: what that poll would bring stays unconfirmed
            except Exception as exc:
                await back_off("fetching updates for", exc)
                continue
            if not batch:
                continue
            try:
                await self.inbox.receive(self.channel, [e for _, e in batch if e is not None])
            except DatabaseUnavailable:
                await back_off("storing updates of")  # nothing confirmed: the same updates come again
                continue
            delay = self.retry_delay
            self.offset = max(update_id for update_id, _ in batch) + 1


__all__ = ["Poller", "UpdateSource"]
