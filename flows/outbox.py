"""Delivering outbox items: in order per chat, with retries, never dropping one.

A channel adapter implements :class:`Sender`. It raises :class:`DeliveryError` when a
platform is down or rate-limits us (the item is retried later, and later items of the
same chat wait behind it so the customer never reads replies out of order) or with
``permanent=True`` when retrying cannot help (the chat no longer exists).
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Protocol

from flows.domain import OutboxItem
from flows.locks import KeyedLocks
from flows.loops import every
from flows.ports import UnitOfWork, UnitOfWorkFactory
from flows.redaction import redact

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
    lease (``lease`` seconds) into the future in its own short transaction, so another
    relay (another process on the same PostgreSQL database, or the periodic drain of
    this one) leaves them and everything queued behind them in the same chat alone.
    While :meth:`run` runs, its heartbeat renews the lease of every item this relay
    holds (claimed here or handed to :meth:`deliver`, and not yet marked or given back)
    every ``heartbeat`` seconds (default ``lease / 3``): a slow send keeps its items, and
    a process killed with ``kill -9`` stops renewing, so the others take its items over
    after at most one lease.

    With ``mark_delay`` > 0, items that went out are marked sent in batches (one
    transaction for everything sent within ``mark_delay`` seconds, across chats) instead
    of one transaction per delivery. A crash inside that window sends those items once
    more after their lease: at least once, never lost. A clean stop (:meth:`close`, or
    the end of :meth:`run`) marks them and gives back what it had claimed and not sent.
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
        lease: float = 15.0,
        mark_delay: float = 0.0,
        heartbeat: float | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.channel = channel
        self.sender = sender
        self.clock = clock
        self.alert_after = alert_after
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.lease = timedelta(seconds=lease)  # also for ComplaintService.handle(claim_replies=...)
        self.heartbeat = heartbeat if heartbeat is not None else lease / 3
        self._locks = KeyedLocks()  # this relay sends to one chat at a time
        self.mark_delay = mark_delay
        self._unmarked: list[int] = []  # sent, not marked yet (still held)
        self._mark_task: asyncio.Task[None] | None = None
        self._held: set[int] = set()  # the items whose lease the heartbeat renews
        self._abandoned: set[int] = set()  # held, left unsent by a stopped send: given back by the next flush
        self._sending: set[int] = set()  # in the sender's hands right now
        self._riding: set[int] = set()  # sent, their marks in another's transaction (write_marks) not settled yet
        self._marks_failing = False  # the last batch of sent marks could not be written
        self._renewal = asyncio.Lock()  # one renewal at a time; give-backs wait for the one under way
        self._active = 0  # drains and deliveries under way
        self._idle = asyncio.Event()
        self._idle.set()
        self._closing = False

    def _backoff(self, attempts: int, retry_after: float | None) -> timedelta:
        if retry_after is not None:
            return timedelta(seconds=retry_after)
        return timedelta(seconds=min(self.base_delay * 2 ** max(attempts - 1, 0), self.max_delay))

    @contextmanager
    def _holding(self, items: Sequence[OutboxItem] = ()) -> Iterator[set[int]]:
        """One drain or delivery under way, holding ``items`` (and what it claims).

        Yields the ids it holds and has not settled yet; settling (marked, handed to the
        batched marks, retried, given back) removes them. What is left when it ends
        (cancelled, the database failed) is given back by the next flush.
        """
        pending = {item.id for item in items if item.id is not None}
        self._held |= pending
        self._active += 1
        self._idle.clear()
        try:
            yield pending
        finally:
            self._active -= 1
            if not self._active:
                self._idle.set()
            if pending:
                self._abandoned |= pending
                self._flush_soon()

    async def _claim(self, target: str | None, limit: int, pending: set[int]) -> Sequence[OutboxItem]:
        now = self.clock()
        async with self.uow_factory() as uow:
            items = await uow.outbox.claim(self.channel, target, now, now + self.lease, limit)
            await uow.commit()
            claimed = {item.id for item in items if item.id is not None}
            pending.update(claimed)
            self._held |= claimed
        return items

    async def has_pending(self, target: str) -> bool:
        """Whether anything waits for ``target`` (a look: claiming would write)."""
        async with self.uow_factory() as uow:
            return await uow.outbox.has_pending(self.channel, target)

    async def deliver_target(self, target: str) -> int:
        """Send what is due for one chat, oldest first; returns how many were sent."""
        with self._holding() as pending:
            async with self._locks.hold(target):
                await self.flush_marks()  # what went out is no longer pending
                if self._closing:
                    return 0
                return await self._send_in_order(await self._claim(target, 100, pending), pending)

    async def flush_marks(self) -> None:
        """Mark what was sent and not yet marked (see ``mark_delay``), and give back what
        a stopped send left claimed, in one transaction."""
        if not self._unmarked and not self._abandoned:
            return
        ids, self._unmarked = self._unmarked, []
        give_back, self._abandoned = sorted(self._abandoned), set()
        try:
            if give_back:
                await self._stop_renewing(give_back)
            now = self.clock()
            async with self.uow_factory() as uow:
                await uow.outbox.mark_sent(ids, now)
                await uow.outbox.release(give_back, now)
                await uow.commit()
        except BaseException:
            self._unmarked[:0] = ids  # tried again with the next batch
            self._abandoned.update(give_back)
            self._held.update(give_back)
            self._marks_failing = bool(self._unmarked)
            raise
        self._marks_failing = False
        self._held.difference_update(ids)

    async def write_marks(self, uow: UnitOfWork) -> Callable[[bool], None]:
        """Mark what was sent and not marked yet in the caller's transaction instead of
        one of the relay's own (the inbox's group commit carries them: see
        :meth:`flows.inbox.Inbox.ride_along`); the returned callback is told whether that
        transaction committed (if not, they go with the next batch)."""
        ids, self._unmarked = self._unmarked, []
        self._riding.update(ids)
        if ids:
            await uow.outbox.mark_sent(ids, self.clock())

        def settled(committed: bool) -> None:
            self._riding.difference_update(ids)
            if committed:
                self._held.difference_update(ids)
                if ids:
                    self._marks_failing = False
            elif ids:
                self._unmarked[:0] = ids
                self._flush_soon()

        return settled

    async def _stop_renewing(self, ids: Sequence[int]) -> None:
        """Before ``ids`` are given back or rescheduled: no renewal may extend them later.

        Marking sent needs no such care: a renewal only touches pending items."""
        self._held.difference_update(ids)
        async with self._renewal:  # the renewal under way (with the old set) ends first
            pass

    async def renew_leases(self) -> int:
        """Push the lease of every item this relay holds to now + ``lease`` in one
        statement (the heartbeat of :meth:`run`); returns how many it holds."""
        async with self._renewal:
            ids = sorted(self._held)
            if ids:
                async with self.uow_factory() as uow:
                    await uow.outbox.renew(ids, self.clock() + self.lease)
                    await uow.commit()
        return len(ids)

    def _mark_later(self, ids: list[int]) -> None:
        self._unmarked += ids
        self._flush_soon()

    def _flush_soon(self) -> None:
        if self._mark_task is None or self._mark_task.done():
            self._mark_task = asyncio.create_task(self._flush_after_delay())

    async def _flush_after_delay(self) -> None:
        while self._unmarked or self._abandoned:  # what came while a batch was written goes next
            await asyncio.sleep(self.mark_delay)
            try:
                await self.flush_marks()
            except Exception:
                logger.exception(
                    "marking %s sent outbox items (and giving back %s) failed; retrying with the next batch",
                    len(self._unmarked),
                    len(self._abandoned),
                )
                return

    async def drain(self, limit: int = 200) -> int:
        """Send what is due for every chat of this channel; returns how many were sent.

        Chats are served concurrently, each in order.
        """
        with self._holding() as pending:
            await self.flush_marks()
            if self._closing:
                return 0
            by_target: dict[str, list[OutboxItem]] = {}
            for item in await self._claim(None, limit, pending):
                by_target.setdefault(item.target, []).append(item)
            # every chat's send ends before this does (an exception in one does not leave
            # the others running while their items are given back)
            results = await asyncio.gather(
                *(self._send_locked(target, items, pending) for target, items in by_target.items()),
                return_exceptions=True,
            )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return sum(r for r in results if isinstance(r, int))

    async def _send_locked(self, target: str, items: Sequence[OutboxItem], pending: set[int]) -> int:
        async with self._locks.hold(target):
            return await self._send_in_order(items, pending)

    async def deliver(self, items: Sequence[OutboxItem]) -> int:
        """Send items already claimed for this relay (``ComplaintService.handle(claim_replies=...)``,
        with ``lease`` as the claim); from now on their lease is renewed with the others.
        A relay that is closing gives them back instead."""
        if not items:
            return 0
        with self._holding(items) as pending:
            return await self._send_locked(items[0].target, items, pending)

    async def _send_in_order(self, items: Sequence[OutboxItem], pending: set[int]) -> int:
        """Send claimed items of one chat in order; stop at the first failure, or when
        the relay is closing.

        What was sent is marked in one transaction afterwards (a crash in between sends
        those items again: at least once, never lost); what was not is given back.
        """
        if not items:
            return 0
        sent: list[int] = []
        failure: tuple[OutboxItem, DeliveryError] | None = None
        try:
            for item in items:
                assert item.id is not None
                if self._closing:  # the rest is given back below, to be sent at once by whoever is next
                    break
                if self._marks_failing:  # what went out cannot be marked: sending more would
                    break  # only widen what a crash now repeats
                self._sending.add(item.id)
                try:
                    await self.sender.send(item)
                except DeliveryError as exc:
                    failure = (item, exc)
                    break
                except Exception as exc:  # a bug or an unexpected platform answer: keep the item
                    logger.error(
                        "outbox item %s to %s: unexpected error\n%s",
                        item.id,
                        item.target,
                        redact("".join(traceback.format_exception(exc)).rstrip()),
                    )
                    failure = (item, DeliveryError(f"{exc.__class__.__name__}: {exc}"))
                    break
                finally:
                    self._sending.discard(item.id)
                sent.append(item.id)
                if self.mark_delay > 0:  # marked with the next batch, not after the chat's last reply
                    self._mark_later([item.id])
                    pending.discard(item.id)
            unsent = [i.id for i in items[len(sent) + (failure is not None) :] if i.id is not None]
            if failure is None and not unsent and self.mark_delay > 0:
                return len(sent)  # each was handed to the batched marks as it went out
            rescheduled = unsent + ([failure[0].id] if failure is not None and failure[0].id is not None else [])
            if rescheduled:
                await self._stop_renewing(rescheduled)
            now = self.clock()
            async with self.uow_factory() as uow:
                await uow.outbox.mark_sent(sent, now)
                if failure is not None:
                    await self._failed(uow, *failure, now)
                # the items claimed behind a failure give their lease back (they wait behind
                # it anyway); after a stop, they are due at once
                await uow.outbox.release(unsent, now)
                await uow.commit()
        except BaseException:
            # cancelled, or the database failed: what went out is marked by the next flush,
            # the rest is given back (see _holding)
            if sent and self.mark_delay <= 0:
                self._mark_later(sent)
                pending.difference_update(sent)
            raise
        self._held.difference_update(sent)
        pending.difference_update(sent)
        pending.difference_update(rescheduled)
        return len(sent)

    async def _failed(self, uow: UnitOfWork, item: OutboxItem, exc: DeliveryError, now: datetime) -> None:
        assert item.id is not None
        attempts = item.attempts + 1
        error = redact(str(exc))  # Bot API URLs carry the token: neither stored nor logged
        if exc.permanent:  # retrying cannot help (the chat is gone): kept as failed, with the reason
            logger.error("outbox item %s to %s cannot be delivered: %s", item.id, item.target, error)
            await uow.outbox.mark_failed(item.id, error)
            return
        # a platform that is down is tried again for as long as it takes (every max_delay
        # at most): a long outage delays the message, it never drops it
        retry_at = now + self._backoff(attempts, exc.retry_after)
        log = logger.error if attempts % self.alert_after == 0 else logger.warning
        log("outbox item %s to %s failed %s times (%s), retry at %s", item.id, item.target, attempts, error, retry_at)
        await uow.outbox.mark_retry(item.id, error, retry_at)

    async def run(self, stop: asyncio.Event, interval: float = 1.0) -> None:
        """Drain periodically until ``stop`` is set (retries after outages), renewing the
        leases of what this relay holds every ``heartbeat`` seconds; ends with
        :meth:`close`, also when the task running it is cancelled."""
        beating = asyncio.Event()
        heartbeat = asyncio.create_task(
            every(self.heartbeat, beating, self.renew_leases, f"outbox leases for {self.channel}")
        )
        try:
            await every(interval, stop, self._drain_round, f"outbox relay for {self.channel}")
        finally:
            try:
                await self.close()
            finally:  # renewed until everything is settled
                beating.set()
                heartbeat.cancel()
                await asyncio.wait([heartbeat])

    async def _drain_round(self) -> None:
        # shielded: cancelling run() lets the round's sends under way finish (close waits
        # for them) instead of cutting a send off without knowing whether it went out
        await asyncio.shield(self.drain())

    async def close(self, timeout: float = 5.0) -> None:
        """Stop cleanly, leaving nothing that was delivered pending.

        Waits (up to ``timeout`` seconds) for the sends under way, which stop after their
        current item; marks what was sent; gives back what was claimed and not sent, so
        another process or the next start sends it at once instead of after the lease.
        An item still in the sender's hands after ``timeout`` keeps its lease (it may
        have gone out). Later drains send nothing and deliveries give their items back.
        """
        self._closing = True
        if self._active:
            try:
                await asyncio.wait_for(self._idle.wait(), timeout)
            except TimeoutError:
                logger.warning(
                    "outbox relay for %s: sends still under way after %s s; what they hold waits for its lease",
                    self.channel,
                    timeout,
                )
        if self._mark_task is not None and not self._mark_task.done():
            self._mark_task.cancel()  # flushed right here instead
            await asyncio.wait([self._mark_task])
        self._abandoned |= self._held - set(self._unmarked) - self._sending - self._riding
        try:
            await self.flush_marks()
        except Exception:
            logger.exception(
                "outbox relay for %s: marking sent items at stop failed; they are sent again after their lease",
                self.channel,
            )
