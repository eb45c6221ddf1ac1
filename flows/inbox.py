"""Inbound updates: committed before they are confirmed, handled once, in order per chat.

Nothing a customer says is confirmed to its platform before it is in the database:

1. :meth:`Inbox.receive` writes a batch of raw updates to the ``inbox`` table in one
   transaction (a re-delivered update is recognised by its unique key) and takes the
   lease of each chat it brings. Only after that commit does the channel confirm the
   updates (the next ``getUpdates`` offset, the webhook's 2xx). If the database cannot
   take them, nothing is confirmed and the platform keeps them (Telegram for a day);
   the customer is told once, best effort, that the message is safe.
2. The holder of a chat's lease handles its entries one at a time, oldest first, each in
   its own transaction (:meth:`flows.service.ComplaintService.handle`), which also marks
   the entry handled: an entry is handled once even if two processes race for it.
3. Leases last seconds and are renewed while the process lives (:meth:`Inbox.run`). A
   process killed with ``kill -9`` stops renewing; another one (or the same one after a
   restart) finds the chat's waiting entries and takes over once the lease has expired.

Why an inbox rather than handling inside the confirming transaction: a long-polling
batch is committed in one short transaction and confirmed at once (handling 100
updates before confirming would hold the whole batch hostage to the slowest chat), and
several webhook processes can share one chat's work in update order.

:class:`Poller` is the long-polling loop built on it: only one process polls a token
at a time (a lease), the others stand by and take over when it dies.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from flows.domain import Inbound, InboxEntry
from flows.loops import Stopped, pause, unless_stopped
from flows.ports import UnitOfWork, UnitOfWorkFactory
from flows.redaction import redact
from flows.service import ComplaintService, Outcome

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
ChatKey = tuple[str, str]  # (channel, chat)


class DatabaseUnavailable(Exception):
    """The database could not take inbound updates: confirm nothing, the platform keeps them."""


class InboundChannel(Protocol):
    """What a customer channel (handlers/) gives the inbox."""

    name: str

    def decode(self, entry: InboxEntry) -> Inbound | None:
        """The domain event of a stored update (None: nothing to do)."""

    async def handled(self, entry: InboxEntry, inbound: Inbound, outcome: Outcome) -> None:
        """After the commit: deliver the replies, stop a button's spinner..."""

    async def reassure(self, entry: InboxEntry) -> None:
        """Best effort, without the database: tell the customer the message is safe."""


def process_owner() -> str:
    """A name for this process in leases: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(3)}"


class Inbox:
    """Stores inbound updates, then handles each chat's in order (see the module docs)."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        service: ComplaintService,
        clock: Clock,
        *,
        owner: str | None = None,
        lease: float = 10.0,
        sweep_interval: float = 1.0,
        max_attempts: int = 8,
        reply_claim: timedelta | None = None,
        retain: timedelta = timedelta(days=2),
    ) -> None:
        self.uow_factory = uow_factory
        self.service = service
        self.clock = clock
        self.owner = owner or process_owner()
        self.lease = timedelta(seconds=lease)
        self.sweep_interval = sweep_interval
        self.max_attempts = max_attempts
        self.reply_claim = reply_claim
        self.retain = retain
        self.channels: dict[str, InboundChannel] = {}
        self._queues: dict[ChatKey, deque[InboxEntry]] = {}
        self._workers: dict[ChatKey, asyncio.Task[None]] = {}
        self._retry_at: dict[ChatKey, datetime] = {}
        self._told: set[ChatKey] = set()  # reassured during the current outage
        self._down = False
        self._last_prune: datetime | None = None

    def register(self, channel: InboundChannel) -> None:
        self.channels[channel.name] = channel

    # ------------------------------------------------------------------ receiving
    async def receive(self, channel: str, entries: Sequence[InboxEntry]) -> None:
        """Commit ``entries`` (one transaction), then start on the chats this process
        holds. Raises :class:`DatabaseUnavailable` when they could not be stored: the
        caller must not confirm them to the platform."""
        if not entries:
            return
        now = self.clock()
        try:
            async with self.uow_factory() as uow:
                stored = await uow.inbox.add_all(entries, now)
                chats = list(dict.fromkeys(e.chat for e in stored))
                mine = await uow.inbox.take_chats(channel, chats, self.owner, now, now + self.lease) if chats else set()
                await uow.commit()
        except Exception as exc:
            self._database_down(exc)
            await self._reassure(entries)
            raise DatabaseUnavailable(redact(f"{exc.__class__.__name__}: {exc}")) from exc
        self._database_up()
        for entry in stored:
            if entry.chat in mine:
                self._enqueue((channel, entry.chat), [entry])

    def _enqueue(self, key: ChatKey, entries: Sequence[InboxEntry]) -> None:
        queue = self._queues.setdefault(key, deque())
        known = {e.id for e in queue}
        queue.extend(e for e in entries if e.id not in known)
        worker = self._workers.get(key)
        if worker is None or worker.done():
            self._workers[key] = asyncio.create_task(self._work(key), name=f"inbox {key[0]} {key[1]}")

    # ------------------------------------------------------------------ handling
    async def _work(self, key: ChatKey) -> None:
        """Handle a chat's entries in order while this process holds its lease."""
        queue = self._queues[key]
        try:
            while True:
                if not queue:
                    more = await self._release(key)
                    if not more:
                        if queue:  # received while releasing: that receive took the lease again
                            continue
                        return
                    self._enqueue_front(queue, more)
                    continue
                entry = queue[0]
                released = await self._handle(key, entry, queue)
                if released is None:
                    return  # failed: the sweeper tries again later
                queue.popleft()
                if released:  # the lease was given up in that transaction
                    if not queue:
                        return
                    if not await self._retake(key):
                        queue.clear()  # another process holds the chat now: it handles them
                        return
        except Exception:
            logger.exception("inbox worker for %s %s failed", *key)
        finally:
            if self._workers.get(key) is asyncio.current_task():
                del self._workers[key]
                if not queue:
                    self._queues.pop(key, None)

    @staticmethod
    def _enqueue_front(queue: deque[InboxEntry], entries: Sequence[InboxEntry]) -> None:
        known = {e.id for e in queue}
        queue.extend(e for e in entries if e.id not in known)

    async def _handle(self, key: ChatKey, entry: InboxEntry, queue: deque[InboxEntry]) -> bool | None:
        """Handle one entry; True when the chat's lease was given up with it, False when
        kept, None when it failed (left waiting)."""
        channel = self.channels.get(key[0])
        assert entry.id is not None
        if channel is None:
            logger.error("inbox entry %s is for channel %s, which does not run here", entry.id, key[0])
            return None
        try:
            inbound = channel.decode(entry)
        except Exception as exc:
            return await self._failed(key, entry, exc)
        released = False

        async def release_if_idle(uow: UnitOfWork) -> None:
            nonlocal released
            if len(queue) == 1:  # nothing else known: give the chat up unless more waits
                more = await uow.inbox.release_chat(key[0], key[1], self.owner, self.clock(), self.clock() + self.lease)
                more = [e for e in more if e.id != entry.id]
                released = not more
                if more:
                    self._enqueue_front(queue, more)

        try:
            if inbound is None:
                async with self.uow_factory() as uow:
                    await uow.inbox.mark_processed(entry.id, self.clock())
                    await release_if_idle(uow)
                    await uow.commit()
                return released
            outcome = await self.service.handle(
                inbound, claim_replies=self.reply_claim, inbox_id=entry.id, before_commit=release_if_idle
            )
        except Exception as exc:
            return await self._failed(key, entry, exc)
        self._retry_at.pop(key, None)
        self._database_up()
        if not outcome.duplicate:
            try:
                await channel.handled(entry, inbound, outcome)
            except Exception:  # delivery is the outbox's business: it retries
                logger.exception("after handling inbox entry %s", entry.id)
        return released

    async def _failed(self, key: ChatKey, entry: InboxEntry, exc: Exception) -> bool | None:
        """Count the failure; after ``max_attempts`` the entry is set aside (kept with its
        error) so that one bad update cannot block its chat forever."""
        assert entry.id is not None
        error = redact(f"{exc.__class__.__name__}: {exc}")
        attempts = entry.attempts + 1
        give_up = attempts >= self.max_attempts
        now = self.clock()
        try:
            async with self.uow_factory() as uow:
                await uow.inbox.mark_failed(entry.id, error, now, give_up=give_up)
                await uow.commit()
        except Exception as db_exc:  # the database is what fails: nothing counted
            self._database_down(db_exc)
            await self._reassure([entry])
            self._retry_at[key] = now + timedelta(seconds=self.sweep_interval)
            return None
        if give_up:
            logger.error(
                "inbox entry %s (%s update %s, chat %s) failed %s times and is set aside: %s",
                entry.id, entry.channel, entry.update_id, entry.chat, attempts, error,
            )  # fmt: skip
            return False
        logger.warning("inbox entry %s failed (attempt %s): %s", entry.id, attempts, error, exc_info=exc)
        self._retry_at[key] = now + timedelta(seconds=min(2.0**attempts, 60.0))
        return None

    async def _release(self, key: ChatKey) -> Sequence[InboxEntry]:
        """Give up the chat's lease, unless entries wait (returned, lease kept)."""
        try:
            async with self.uow_factory() as uow:
                now = self.clock()
                more = await uow.inbox.release_chat(key[0], key[1], self.owner, now, now + self.lease)
                await uow.commit()
        except Exception as exc:  # the lease runs out by itself
            self._database_down(exc)
            return []
        return more

    async def _retake(self, key: ChatKey) -> bool:
        try:
            async with self.uow_factory() as uow:
                now = self.clock()
                held = await uow.inbox.take_chats(key[0], [key[1]], self.owner, now, now + self.lease)
                await uow.commit()
        except Exception as exc:
            self._database_down(exc)
            return False
        return bool(held)

    # ------------------------------------------------------------------ the background round
    async def sweep(self) -> int:
        """Renew this process's leases and take up chats whose entries nobody handles
        (a dead process's, or this one's after a failure); returns how many were taken."""
        now = self.clock()
        async with self.uow_factory() as uow:
            await uow.leases.renew(self.owner, now, now + self.lease)
            stranded = await uow.inbox.stranded(self.owner, now)
            if self._last_prune is None or now - self._last_prune > timedelta(hours=1):
                pruned = await uow.inbox.prune(now - self.retain)
                self._last_prune = now
                if pruned:
                    logger.info("forgot %s handled inbox entries older than %s", pruned, self.retain)
            await uow.commit()
        taken = 0
        for channel, chat in stranded:
            key = (channel, chat)
            worker = self._workers.get(key)
            if channel not in self.channels or (worker is not None and not worker.done()):
                continue
            if self._retry_at.get(key, now) > now:
                continue
            async with self.uow_factory() as uow:
                held = await uow.inbox.take_chats(channel, [chat], self.owner, now, now + self.lease)
                waiting = await uow.inbox.waiting(channel, chat) if held else ()
                await uow.commit()
            if waiting:
                self._queues[key] = deque(waiting)  # fresh from the database (attempts included)
                self._enqueue(key, ())
                taken += 1
        self._database_up()
        return taken

    async def run(self, stop: asyncio.Event) -> None:
        """Sweep every ``sweep_interval`` seconds until ``stop``, then :meth:`close`."""
        try:
            while not stop.is_set():
                try:
                    await self.sweep()
                except Exception as exc:
                    self._database_down(exc)
                await pause(stop, self.sweep_interval)
        finally:
            await self.close()

    async def close(self, timeout: float = 5.0) -> None:
        """Let the entries being handled finish (bounded), then give up every lease so
        another process takes over at once. Entries not started stay in the inbox."""
        for queue in self._queues.values():
            while len(queue) > 1:
                queue.pop()  # only the entry in hand is finished
        workers = [w for w in self._workers.values() if not w.done()]
        if workers:
            _, pending = await asyncio.wait(workers, timeout=timeout)
            for worker in pending:
                worker.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        try:
            async with self.uow_factory() as uow:
                now = self.clock()
                held = await uow.leases.renew(self.owner, now, now)
                await uow.leases.release(sorted(held), self.owner)
                await uow.commit()
        except Exception:
            logger.warning("leases not given back at stop: they run out within %s", self.lease)

    # ------------------------------------------------------------------ outages
    def _database_down(self, exc: BaseException) -> None:
        if not self._down:
            self._down = True
            logger.error("the database does not answer (%s): updates are not confirmed until it does",
                         redact(f"{exc.__class__.__name__}: {exc}"))
        else:
            logger.debug("database still down: %s", exc)

    def _database_up(self) -> None:
        if self._down:
            self._down = False
            self._told.clear()
            logger.warning("the database answers again: catching up")

    async def _reassure(self, entries: Sequence[InboxEntry]) -> None:
        """Tell each affected chat once per outage that its message is safe."""
        for entry in entries:
            key = (entry.channel, entry.chat)
            channel = self.channels.get(entry.channel)
            if key in self._told or channel is None:
                continue
            self._told.add(key)
            try:
                await channel.reassure(entry)
            except Exception:
                logger.warning("could not tell %s chat %s about the delay", *key)

    # ------------------------------------------------------------------ introspection
    @property
    def busy(self) -> int:
        """Chats being worked on in this process."""
        return sum(1 for w in self._workers.values() if not w.done())


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
    nothing is confirmed. One process per token polls (the ``lease_name`` lease, renewed
    by the inbox's sweep); others wait and take over when it expires.
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
        self.polling = False
        self._checked: datetime | None = None

    async def _hold_lease(self) -> bool:
        """True while this process is the poller (checked every third of a lease)."""
        now = self.inbox.clock()
        if self.polling and self._checked is not None and now - self._checked < self.inbox.lease / 3:
            return True
        try:
            async with self.inbox.uow_factory() as uow:
                held = await uow.leases.take([self.lease_name], self.inbox.owner, now, now + self.inbox.lease)
                await uow.commit()
        except Exception as exc:
            self.inbox._database_down(exc)
            return self.polling  # nobody can take it from us while the database is down
        self._checked = now
        was, self.polling = self.polling, bool(held)
        if self.polling and not was:
            logger.info("polling %s updates (lease %s)", self.channel, self.lease_name)
            await self.source.prepare()
        elif was and not self.polling:
            logger.warning("another process polls %s now: standing by", self.channel)
        return self.polling

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop``; confirm what was committed before returning."""
        delay = self.retry_delay
        try:
            while not stop.is_set():
                if not await self._hold_lease():
                    await pause(stop, self.inbox.lease.total_seconds() / 3)
                    continue
                try:
                    batch = await unless_stopped(stop, self.source.fetch(self.offset, self.poll_timeout))
                except Stopped:
                    break  # stopped while waiting: what that poll would bring stays unconfirmed
                except Exception as exc:
                    logger.warning("fetching %s updates failed: %s", self.channel, redact(str(exc)))
                    await pause(stop, delay)
                    delay = min(delay * 2, self.max_retry_delay)
                    continue
                if not batch:
                    continue
                try:
                    await self.inbox.receive(self.channel, [e for _, e in batch if e is not None])
                except DatabaseUnavailable:
                    await pause(stop, delay)  # nothing confirmed: the same updates come again
                    delay = min(delay * 2, self.max_retry_delay)
                    continue
                delay = self.retry_delay
                self.offset = max(update_id for update_id, _ in batch) + 1
        finally:
            if self.offset is not None and self.polling:
                try:
                    await self.source.confirm(self.offset)
                except Exception as exc:
                    logger.info("last confirmation not sent (%s): those updates come again and are recognised", exc)


__all__ = ["DatabaseUnavailable", "Inbox", "InboundChannel", "Poller", "UpdateSource", "process_owner"]
