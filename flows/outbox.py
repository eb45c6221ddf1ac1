"""Delivering outbox items: in order per chat, with retries, never dropping one.

A channel adapter implements :class:`Sender`. It raises :class:`DeliveryError` when a
platform is down or rate-limits us (the item is retried later, and later items of the
same chat wait behind it so the customer never reads replies out of order) or with
``permanent=True`` when retrying cannot help (the chat no longer exists).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from flows.domain import OutboxItem
from flows.ports import UnitOfWorkFactory

logger = logging.getLogger(__name__)


class DeliveryError(Exception):
    """Sending failed; ``retry_after`` seconds when the platform said how long to wait."""

    def __init__(self, message: str, *, retry_after: float | None = None, permanent: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


class Sender(Protocol):
    async def send(self, item: OutboxItem) -> None:
        """Deliver one item or raise :class:`DeliveryError`."""


class OutboxRelay:
    """Sends the pending items of one destination channel."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        channel: str,
        sender: Sender,
        clock: Callable[[], datetime],
        *,
        max_attempts: int = 20,
        base_delay: float = 1.0,
        max_delay: float = 300.0,
    ) -> None:
        self.uow_factory = uow_factory
        self.channel = channel
        self.sender = sender
        self.clock = clock
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._lock = asyncio.Lock()

    def _backoff(self, attempts: int, retry_after: float | None) -> timedelta:
        if retry_after is not None:
            return timedelta(seconds=retry_after)
        return timedelta(seconds=min(self.base_delay * 2 ** max(attempts - 1, 0), self.max_delay))

    async def deliver_target(self, target: str) -> int:
        """Send what is pending for one chat, oldest first; returns how many were sent."""
        async with self._lock:
            async with self.uow_factory() as uow:
                items = await uow.outbox.pending(self.channel, target)
            return await self._send(items)

    async def drain(self, limit: int = 200) -> int:
        """Send what is due for every chat of this channel; returns how many were sent."""
        async with self._lock:
            async with self.uow_factory() as uow:
                items = await uow.outbox.pending(self.channel, None, limit)
            return await self._send(items)

    async def _send(self, items: Sequence[OutboxItem]) -> int:
        sent = 0
        blocked: set[str] = set()
        now = self.clock()
        for item in items:
            if item.target in blocked:
                continue
            if item.next_attempt_at is not None and item.next_attempt_at > now:
                blocked.add(item.target)  # an earlier item waits for its retry: keep the order
                continue
            try:
                await self.sender.send(item)
            except DeliveryError as exc:
                blocked.add(item.target)
                await self._failed(item, exc)
                continue
            assert item.id is not None
            async with self.uow_factory() as uow:
                await uow.outbox.mark_sent(item.id, self.clock())
                await uow.commit()
            sent += 1
        return sent

    async def _failed(self, item: OutboxItem, exc: DeliveryError) -> None:
        assert item.id is not None
        attempts = item.attempts + 1
        async with self.uow_factory() as uow:
            if exc.permanent or attempts >= self.max_attempts:
                logger.error("outbox item %s to %s given up after %s attempts: %s", item.id, item.target, attempts, exc)
                await uow.outbox.mark_failed(item.id, str(exc))
            else:
                retry_at = self.clock() + self._backoff(attempts, exc.retry_after)
                logger.warning("outbox item %s to %s failed (%s), retry at %s", item.id, item.target, exc, retry_at)
                await uow.outbox.mark_retry(item.id, str(exc), retry_at)
            await uow.commit()

    async def run(self, stop: asyncio.Event, interval: float = 1.0) -> None:
        """Drain periodically until ``stop`` is set (retries after outages)."""
        while not stop.is_set():
            try:
                await self.drain()
            except Exception:  # keep the loop alive through database hiccups
                logger.exception("outbox relay for %s failed", self.channel)
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
            except TimeoutError:
                pass
