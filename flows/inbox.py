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

:class:`flows.polling.Poller` is the long-polling loop built on it.
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
from flows.loops import pause
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


class LeaseLost(Exception):
    """This process no longer holds the chat (its lease ran out and another took it)."""


def connection_trouble(exc: BaseException) -> bool:
    """The default test for an outage: a connection or a timeout somewhere in the chain
    of causes (the composition root passes the database's own, finer test)."""
    seen: set[int] = set()
    error: BaseException | None = exc
    while error is not None and id(error) not in seen:
        if isinstance(error, (OSError, TimeoutError)):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


class Inbox:
    """Stores inbound updates, then handles each chat's in order (see the module docs).

    The database is the queue: a chat's worker holds a prefix of the chat's waiting
    entries, oldest first, re-read from the database whenever this process takes the
    chat (an earlier holder may have left entries behind) or stores more for it.
    """

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
        is_outage: Callable[[BaseException], bool] = connection_trouble,
        fence: bool = True,
        batch: int = 50,
        concurrency: int = 8,
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
        self.is_outage = is_outage  # the database is down or busy (not this update's fault)
        self.fence = fence  # check the chat's lease in each handling transaction (several processes)
        self.batch = batch  # entries of one chat read at a time
        self._slots = asyncio.Semaphore(concurrency)  # chats handled at the same moment
        self.channels: dict[str, InboundChannel] = {}
        self._queues: dict[ChatKey, deque[InboxEntry]] = {}
        self._complete: dict[ChatKey, bool] = {}  # the queue holds every waiting entry (not cut at ``batch``)
        self._workers: dict[ChatKey, asyncio.Task[None]] = {}
        self._retry_at: dict[ChatKey, datetime] = {}
        self._told: set[ChatKey] = set()  # reassured during the current outage
        self._down = False
        self._closing = False
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
        if self._closing:
            raise DatabaseUnavailable("stopping: another process or the next start takes it")
        try:
            try:
                taken = await self._store(channel, entries)
            except Exception as exc:
                if self.is_outage(exc):
                    raise
                # not an outage: something in these updates cannot be stored as it is
                logger.warning("storing %s %s updates failed (%s); storing them one by one",
                               len(entries), channel, redact(f"{exc.__class__.__name__}: {exc}"))
                taken = {}
                for entry in entries:
                    taken.update(await self._store_alone(channel, entry))
        except Exception as exc:
            self.note_outage(exc)
            await self._reassure(entries)
            raise DatabaseUnavailable(redact(f"{exc.__class__.__name__}: {exc}")) from exc
        self.note_recovery()
        self._told.clear()  # the outage is over for receiving: a new one tells again
        for chat, waiting in taken.items():
            self._merge((channel, chat), waiting)

    async def _store(self, channel: str, entries: Sequence[InboxEntry]) -> dict[str, list[InboxEntry]]:
        """Store, take the chats' leases and read what waits for the chats taken."""
        now = self.clock()
        async with self.uow_factory() as uow:
            stored = await uow.inbox.add_all(entries, now)
            chats = list(dict.fromkeys(e.chat for e in stored))
            mine = await uow.inbox.take_chats(channel, chats, self.owner, now, now + self.lease) if chats else set()
            waiting = await uow.inbox.waiting(channel, sorted(mine), self.batch) if mine else {}
            await uow.commit()
        return waiting

    async def _store_alone(self, channel: str, entry: InboxEntry) -> dict[str, list[InboxEntry]]:
        try:
            return await self._store(channel, [entry])
        except Exception as exc:
            if self.is_outage(exc):
                raise
            error = redact(f"{exc.__class__.__name__}: {exc}")
            logger.error("%s update %s cannot be stored (%s): kept set aside in the inbox", channel, entry.update_id, error)
            async with self.uow_factory() as uow:
                await uow.inbox.add_failed(entry, error, self.clock())
                await uow.commit()
            return {}

    def _merge(self, key: ChatKey, waiting: Sequence[InboxEntry]) -> None:
        """Put what the database says waits for a chat into its queue, in order, and make
        sure a worker runs. The entry a worker has in hand stays first."""
        queue = self._queues.setdefault(key, deque())
        worker = self._workers.get(key)
        busy = worker is not None and not worker.done()
        in_hand = queue[0] if busy and queue else None
        entries = {e.id: e for e in queue}
        entries.update((e.id, e) for e in waiting)
        ordered = sorted((e for e in entries.values() if e is not in_hand), key=lambda e: (e.seq, e.id or 0))
        complete = len(waiting) < self.batch
        if not complete and waiting:  # what lies beyond the read is unknown: stop where it stopped
            last = (waiting[-1].seq, waiting[-1].id or 0)
            ordered = [e for e in ordered if (e.seq, e.id or 0) <= last]
        queue.clear()
        if in_hand is not None:
            queue.append(in_hand)
        queue.extend(ordered)
        self._complete[key] = complete
        if not busy and not self._closing:
            self._workers[key] = asyncio.create_task(self._work(key), name=f"inbox {key[0]} {key[1]}")

    # ------------------------------------------------------------------ handling
    async def _work(self, key: ChatKey) -> None:
        """Handle a chat's entries in order while this process holds its lease."""
        queue = self._queues[key]
        try:
            while not self._closing:
                if not queue:
                    more = await self._release(key)
                    if more:
                        self._merge(key, more)
                        continue
                    if queue:  # received while releasing: that receive took the lease again
                        continue
                    return
                entry = queue[0]
                async with self._slots:  # no more handling transactions at once than the pool can serve
                    released = await self._handle(key, entry, queue)
                if released is None:
                    return  # failed, or the chat is another process's now
                if queue and queue[0] is entry:
                    queue.popleft()
                if released and not queue:  # the lease was given up with that entry
                    return
                # (released with more in the queue: those came from a receive or a sweep,
                # which took the lease again before handing them over)
        except Exception:
            logger.exception("inbox worker for %s %s failed", *key)
        finally:
            if self._workers.get(key) is asyncio.current_task():
                del self._workers[key]
                if not queue:
                    self._queues.pop(key, None)
                    self._complete.pop(key, None)

    async def _handle(self, key: ChatKey, entry: InboxEntry, queue: deque[InboxEntry]) -> bool | None:
        """Handle one entry; True when the chat's lease was given up with it, False when
        kept, None when it failed or the chat was lost (left waiting)."""
        channel = self.channels.get(key[0])
        assert entry.id is not None
        if channel is None:
            logger.error("inbox entry %s is for channel %s, which does not run here", entry.id, key[0])
            return None
        try:
            inbound = entry.inbound if entry.inbound is not None else channel.decode(entry)
        except Exception as exc:
            return await self._failed(key, entry, exc)
        released = False

        async def still_mine(uow: UnitOfWork) -> None:
            now = self.clock()
            if not await uow.inbox.take_chats(key[0], [key[1]], self.owner, now, now + self.lease):
                raise LeaseLost(key)

        async def release_if_idle(uow: UnitOfWork) -> None:
            nonlocal released
            if len(queue) == 1 and self._complete.get(key, True) and not self._closing:
                now = self.clock()
                more = await uow.inbox.release_chat(key[0], key[1], self.owner, now, now + self.lease, self.batch)
                more = [e for e in more if e.id != entry.id]
                released = not more
                if more:
                    self._merge(key, more)

        try:
            if inbound is None:
                async with self.uow_factory() as uow:
                    if self.fence:
                        await still_mine(uow)
                    await uow.inbox.mark_processed(entry.id, self.clock())
                    await release_if_idle(uow)
                    await uow.commit()
                return released
            outcome = await self.service.handle(
                inbound,
                claim_replies=self.reply_claim,
                inbox_id=entry.id,
                on_begin=still_mine if self.fence else None,
                before_commit=release_if_idle,
            )
        except LeaseLost:
            logger.warning("%s chat %s was taken over by another process", *key)
            queue.clear()
            return None
        except Exception as exc:
            return await self._failed(key, entry, exc)
        self._retry_at.pop(key, None)
        self.note_recovery()
        if not outcome.duplicate:
            try:  # shielded: a stop does not cut a delivery off between sending and marking it
                await asyncio.shield(channel.handled(entry, inbound, outcome))
            except asyncio.CancelledError:
                raise
            except Exception:  # delivery is the outbox's business: it retries
                logger.exception("after handling inbox entry %s", entry.id)
        return released

    async def _failed(self, key: ChatKey, entry: InboxEntry, exc: Exception) -> bool | None:
        """An outage is waited out without counting; any other failure is counted, and
        after ``max_attempts`` the entry is set aside (kept with its error, logged as an
        error) so that one bad update cannot block its chat forever."""
        assert entry.id is not None
        error = redact(f"{exc.__class__.__name__}: {exc}")
        now = self.clock()
        if self.is_outage(exc):
            self.note_outage(exc)
            await self._reassure([entry])
            self._retry_at[key] = now + timedelta(seconds=self.sweep_interval)
            return None
        attempts = entry.attempts + 1
        give_up = attempts >= self.max_attempts
        try:
            async with self.uow_factory() as uow:
                attempts = await uow.inbox.mark_failed(entry.id, error, now, give_up=give_up)
                await uow.commit()
        except Exception as db_exc:  # the database is what fails: nothing counted
            self.note_outage(db_exc)
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
        if self._closing:
            return []  # close() gives every lease back
        try:
            async with self.uow_factory() as uow:
                now = self.clock()
                more = await uow.inbox.release_chat(key[0], key[1], self.owner, now, now + self.lease, self.batch)
                await uow.commit()
        except Exception as exc:  # the lease runs out by itself
            self.note_outage(exc)
            return []
        return more

    # ------------------------------------------------------------------ the background round
    async def sweep(self) -> int:
        """Renew this process's chat leases and take up chats whose entries nobody
        handles (a dead process's, or this one's after a failure); returns how many."""
        now = self.clock()
        async with self.uow_factory() as uow:
            await uow.leases.renew(self.owner, now, now + self.lease, prefix="chat:")
            stranded = await uow.inbox.stranded(self.owner, now)
            await uow.commit()
        await self._prune(now)
        taken = 0
        for channel, chat in stranded:
            key = (channel, chat)
            worker = self._workers.get(key)
            if self._closing or channel not in self.channels or (worker is not None and not worker.done()):
                continue
            if self._retry_at.get(key, now) > now:
                continue
            async with self.uow_factory() as uow:
                held = await uow.inbox.take_chats(channel, [chat], self.owner, now, now + self.lease)
                waiting = (await uow.inbox.waiting(channel, [chat], self.batch)).get(chat, []) if held else []
                if held and not waiting:  # handled meanwhile: give it back at once
                    await uow.inbox.release_chat(channel, chat, self.owner, now, now)
                await uow.commit()
            if waiting:
                self._merge(key, waiting)
                taken += 1
        self.note_recovery()
        return taken

    async def _prune(self, now: datetime) -> None:
        """Once an hour, forget old handled entries, a batch per transaction."""
        if self._last_prune is not None and now - self._last_prune < timedelta(hours=1):
            return
        self._last_prune = now
        pruned = 0
        for _ in range(100):
            async with self.uow_factory() as uow:
                count = await uow.inbox.prune(now - self.retain)
                await uow.commit()
            pruned += count
            if not count:
                break
        if pruned:
            logger.info("forgot %s handled inbox entries older than %s", pruned, self.retain)

    async def run(self, stop: asyncio.Event) -> None:
        """Sweep every ``sweep_interval`` seconds until ``stop``, then :meth:`close`."""
        try:
            while not stop.is_set():
                try:
                    await self.sweep()
                except Exception as exc:
                    self.note_outage(exc)
                await pause(stop, self.sweep_interval)
        finally:
            await self.close()

    async def close(self, timeout: float = 5.0) -> None:
        """Stop taking work: each worker finishes the entry in hand (bounded; its
        delivery goes on, shielded), then every chat lease is given back so another
        process takes over at once. Entries not started stay in the inbox."""
        self._closing = True
        workers = [w for w in self._workers.values() if not w.done()]
        if workers:
            _, pending = await asyncio.wait(workers, timeout=timeout)
            for worker in pending:
                worker.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        try:
            async with self.uow_factory() as uow:
                now = self.clock()
                held = await uow.leases.renew(self.owner, now, now, prefix="chat:")
                await uow.leases.release(sorted(held), self.owner)
                await uow.commit()
        except Exception:
            logger.warning("leases not given back at stop: they run out within %s", self.lease)

    # ------------------------------------------------------------------ outages
    def note_outage(self, exc: BaseException) -> None:
        """The database failed: said once per outage (the poller reports here too)."""
        if not self._down:
            self._down = True
            logger.error("the database does not answer (%s): updates are not confirmed until it does",
                         redact(f"{exc.__class__.__name__}: {exc}"))
        else:
            logger.debug("database still down: %s", exc)

    def note_recovery(self) -> None:
        if self._down:
            self._down = False
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


__all__ = ["DatabaseUnavailable", "Inbox", "InboundChannel", "LeaseLost", "connection_trouble", "process_owner"]
