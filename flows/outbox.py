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
from flows.locks import KeyedLocks
from flows.loops import every
from flows.ports import UnitOfWork, UnitOfWorkFactory

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
    """Sends the pending items of one destination channel.

    Items are *claimed* before they are sent: the claim pushes their next attempt a
    lease into the future in its own short transaction, so another relay (another
    process on the same PostgreSQL database, or the periodic drain of this one) leaves
    them and everything queued behind them in the same chat alone. A crash between
    claim and send only delays the items until the lease runs out.

    With ``mark_delay`` > 0, items that went out are marked sent in batches (one
    transaction for everything sent within ``mark_delay`` seconds, across chats) instead
    of one transaction per delivery. A crash inside that window sends those items once
    more after their lease: at least once, never lost.
    """

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        channel: str,
        sender: Sender,
        clock: Callable[[], datetime],
        *,
        alert_after: int = 10,
        base_delay: float = 1.0,
        max_delay: float = 300.0,
        lease: float = 120.0,
        mark_delay: float = 0.0,
    ) -> None:
        self.uow_factory = uow_factory
        self.channel = channel
        self.sender = sender
        self.clock = clock
        self.alert_after = alert_after
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.lease = timedelta(seconds=lease)
        self._locks = KeyedLocks()  # this relay sends to one chat at a time
        self.mark_delay = mark_delay
        self._unmarked: list[int] = []
        self._mark_task: asyncio.Task[None] | None = None

    def _backoff(self, attempts: int, retry_after: float | None) -> timedelta:
        if retry_after is not None:
            return timedelta(seconds=retry_after)
        return timedelta(seconds=min(self.base_delay * 2 ** max(attempts - 1, 0), self.max_delay))

    async def _claim(self, target: str | None, limit: int) -> Sequence[OutboxItem]:
        now = self.clock()
        async with self.uow_factory() as uow:
            items = await uow.outbox.claim(self.channel, target, now, now + self.lease, limit)
            await uow.commit()
        return items

    async def deliver_target(self, target: str) -> int:
        """Send what is due for one chat, oldest first; returns how many were sent."""
        async with self._locks.hold(target):
            await self.flush_marks()  # what went out is no longer pending
            return await self._send_in_order(await self._claim(target, 100))

    async def flush_marks(self) -> None:
        """Mark what was sent and not yet marked (see ``mark_delay``)."""
        if not self._unmarked:
            return
        ids, self._unmarked = self._unmarked, []
        try:
            async with self.uow_factory() as uow:
                await uow.outbox.mark_sent(ids, self.clock())
                await uow.commit()
        except BaseException:
            self._unmarked[:0] = ids  # tried again with the next batch
            raise

    def _mark_later(self, ids: list[int]) -> None:
        self._unmarked += ids
        if self._mark_task is None or self._mark_task.done():
            self._mark_task = asyncio.create_task(self._flush_after_delay())

    async def _flush_after_delay(self) -> None:
        await asyncio.sleep(self.mark_delay)
        try:
            await self.flush_marks()
        except Exception:
            logger.exception("marking %s sent outbox items failed; retrying with the next batch", len(self._unmarked))

    async def drain(self, limit: int = 200) -> int:
        """Send what is due for every chat of this channel; returns how many were sent.

        Chats are served concurrently, each in order.
        """
        await self.flush_marks()
        by_target: dict[str, list[OutboxItem]] = {}
        for item in await self._claim(None, limit):
            by_target.setdefault(item.target, []).append(item)
        counts = await asyncio.gather(
            *(self._send_locked(target, items) for target, items in by_target.items())
        )
        return sum(counts)

    async def _send_locked(self, target: str, items: Sequence[OutboxItem]) -> int:
        async with self._locks.hold(target):
            return await self._send_in_order(items)

    async def deliver(self, items: Sequence[OutboxItem]) -> int:
        """Send items already claimed for this relay (``ComplaintService.handle(claim=...)``)."""
        if not items:
            return 0
        return await self._send_locked(items[0].target, items)

    async def _send_in_order(self, items: Sequence[OutboxItem]) -> int:
        """Send claimed items of one chat in order; stop at the first failure.

        What was sent is marked in one transaction afterwards (a crash in between sends
        those items again: at least once, never lost).
        """
        sent: list[int] = []
        failure: tuple[OutboxItem, DeliveryError] | None = None
        for item in items:
            assert item.id is not None
            try:
                await self.sender.send(item)
            except DeliveryError as exc:
                failure = (item, exc)
                break
            except Exception as exc:  # a bug or an unexpected platform answer: keep the item
                logger.exception("outbox item %s to %s: unexpected error", item.id, item.target)
                failure = (item, DeliveryError(f"{exc.__class__.__name__}: {exc}"))
                break
            sent.append(item.id)
        if failure is None and self.mark_delay > 0:
            self._mark_later(sent)
            return len(sent)
        now = self.clock()
        async with self.uow_factory() as uow:
            await uow.outbox.mark_sent(sent, now)
            if failure is not None:
                item, exc = failure
                await self._failed(uow, item, exc, now)
                # the items claimed behind it give their lease back; they wait behind it anyway
                await uow.outbox.release([i.id for i in items[len(sent) + 1 :] if i.id is not None], now)
            await uow.commit()
        return len(sent)

    async def _failed(self, uow: UnitOfWork, item: OutboxItem, exc: DeliveryError, now: datetime) -> None:
        assert item.id is not None
        attempts = item.attempts + 1
        if exc.permanent:  # retrying cannot help (the chat is gone): kept as failed, with the reason
            logger.error("outbox item %s to %s cannot be delivered: %s", item.id, item.target, exc)
            await uow.outbox.mark_failed(item.id, str(exc))
            return
        # a platform that is down is tried again for as long as it takes (every max_delay
        # at most): a long outage delays the message, it never drops it
        retry_at = now + self._backoff(attempts, exc.retry_after)
        log = logger.error if attempts % self.alert_after == 0 else logger.warning
        log("outbox item %s to %s failed %s times (%s), retry at %s", item.id, item.target, attempts, exc, retry_at)
        await uow.outbox.mark_retry(item.id, str(exc), retry_at)

    async def run(self, stop: asyncio.Event, interval: float = 1.0) -> None:
        """Drain periodically until ``stop`` is set (retries after outages)."""
        await every(interval, stop, self.drain, f"outbox relay for {self.channel}")
        await self.flush_marks()
