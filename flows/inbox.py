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
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from flows.domain import Inbound, InboxEntry
from flows.loops import pause
from flows.ports import UnitOfWork, UnitOfWorkFactory
from flows.redaction import redact
from flows.service import ComplaintService, Outcome

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
ChatKey = tuple[str, str]  # (channel, chat)
#: writes in a transaction the inbox opens; returns what to call once it is settled (committed or not)
Rider = Callable[[UnitOfWork], Awaitable[Callable[[bool], None]]]


#: how many event-loop rounds a group commit waits at most for receipts still arriving
#: (each round only while the last one brought more: an update alone waits one round)
GATHER_ROUNDS = 8


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


@dataclass(frozen=True, slots=True)
class Handled:
    """An entry handled in the transaction that stored it (see :meth:`Inbox.receive`)."""

    entry: InboxEntry
    inbound: Inbound
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class _Receipt:
    """One call of :meth:`Inbox.receive`, waiting for its group commit."""

    channel: str
    entries: list[InboxEntry]
    deliver: bool
    done: asyncio.Future[list[Handled]]

    def __post_init__(self) -> None:
        # a caller that gave up (a dropped request) never reads its outcome: no warning
        self.done.add_done_callback(lambda f: f.cancelled() or f.exception())


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
        inline: bool = True,
        group: int = 64,
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
        self.inline = inline  # handle an idle chat's entry in the transaction that stores it
        self.group = group  # at most this many receipts share one transaction
        self._arrivals: list[_Receipt] = []  # receipts waiting for the next group commit
        # one group commit at a time (several at once on PostgreSQL measured no faster:
        # the bot's one core, not the server, is what limits it)
        self._committer: asyncio.Task[None] | None = None
        self._deliveries: set[asyncio.Task[None]] = set()  # handled() of entries handled on arrival
        self._riders: list[Rider] = []
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

    def ride_along(self, rider: Rider) -> None:
        """Let ``rider`` write in each transaction that stores updates (an outbox relay's
        sent marks: :meth:`flows.outbox.OutboxRelay.write_marks`), so that it needs no
        transaction of its own while updates arrive."""
        self._riders.append(rider)

    # ------------------------------------------------------------------ receiving
    async def receive(self, channel: str, entries: Sequence[InboxEntry], *, deliver: bool = True) -> list[Handled]:
        """Commit ``entries``, then start on the chats this process holds. Raises
        :class:`DatabaseUnavailable` when they could not be stored: the caller must not
        confirm them to the platform.

        Receipts that arrive together share one transaction (a group commit): the
        receipts of every caller waiting at that moment are stored at once. An entry of
        a chat with nothing else waiting is handled in that same transaction
        (:meth:`flows.service.ComplaintService.handle_in`): stored, handled and its
        replies written in one commit. Those come back as :class:`Handled`; with
        ``deliver`` the inbox calls the channel's ``handled`` for them itself (after
        the commit, each chat's in order), without it the caller must (the webhook,
        which answers a button press in its HTTP response, then calls
        :meth:`deliver_soon`). The other entries wait
        for their chat's worker, as before. When handling in the transaction fails,
        the entries are stored as they came and handled by the workers (which count
        the failures)."""
        if not entries:
            return []
        if self._closing:
            raise DatabaseUnavailable("stopping: another process or the next start takes it")
        receipt = _Receipt(channel, list(entries), deliver, asyncio.get_running_loop().create_future())
        self._arrivals.append(receipt)
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_arrivals(), name="inbox commit")
        # shielded: a caller that gives up (a dropped webhook request) does not cancel
        # the commit the others share; its platform delivers the update again
        try:
            return await asyncio.shield(receipt.done)
        except asyncio.CancelledError:
            if not deliver:  # what it would have delivered, the inbox delivers
                receipt.done.add_done_callback(self._deliver_for_a_caller_gone)
            raise

    def _deliver_for_a_caller_gone(self, done: asyncio.Future[list[Handled]]) -> None:
        if not done.cancelled() and done.exception() is None:
            self.deliver_soon(done.result())

    async def _commit_arrivals(self) -> None:
        """Commit what has arrived, a group at a time, until nothing waits."""
        try:
            for _ in range(GATHER_ROUNDS):  # while more keep arriving, let them join (a loop round each)
                arrived = len(self._arrivals)
                await asyncio.sleep(0)
                if len(self._arrivals) == arrived:
                    break
            await self._commit_groups()
        finally:  # cancelled (a stop that could not wait): what is left is refused, not confirmed
            left, self._arrivals = self._arrivals, []
            for receipt in left:
                if not receipt.done.done():
                    receipt.done.set_exception(DatabaseUnavailable("stopping: another process or the next start takes it"))

    async def _commit_groups(self) -> None:
        while self._arrivals:
            group, self._arrivals = self._arrivals[: self.group], self._arrivals[self.group :]
            try:
                handled = await self._commit_group(group)  # in handling order
            except BaseException as exc:
                failure = exc if isinstance(exc, DatabaseUnavailable) else DatabaseUnavailable(f"{exc.__class__.__name__}: {exc}")
                for receipt in group:
                    if not receipt.done.done():
                        receipt.done.set_exception(failure)
                if not isinstance(exc, Exception):
                    raise
                continue
            owner = {(entry.channel, entry.update_id): receipt for receipt in group for entry in receipt.entries}
            by_receipt: dict[int, list[Handled]] = {}
            for done in handled:
                by_receipt.setdefault(id(owner[(done.entry.channel, done.entry.update_id)]), []).append(done)
            self.deliver_soon([done for done in handled if owner[(done.entry.channel, done.entry.update_id)].deliver])
            for receipt in group:
                if not receipt.done.done():
                    receipt.done.set_result([] if receipt.deliver else by_receipt.get(id(receipt), []))

    async def _commit_group(self, group: Sequence[_Receipt]) -> list[Handled]:
        """Store (and where possible handle) a group of receipts in one transaction;
        returns what was handled in it, in the order it was."""
        entries = [entry for receipt in group for entry in receipt.entries]
        try:
            taken, handled = await self._store_group(entries)
        except Exception as exc:
            self.note_outage(exc)
            self._tracked(self._reassure(entries))  # not on the committer: the next group need not wait for it
            raise DatabaseUnavailable(redact(f"{exc.__class__.__name__}: {exc}")) from exc
        self.note_recovery()
        self._told.clear()  # the outage is over for receiving: a new one tells again
        for key, waiting in taken.items():
            self._merge(key, waiting)
        return handled

    async def _store_group(self, entries: Sequence[InboxEntry]) -> tuple[dict[ChatKey, list[InboxEntry]], list[Handled]]:
        """Store and handle at once; when that fails, store only (the workers handle
        them, and count a failure that is the update's); when that fails too and it is
        not an outage, store them one at a time, setting aside what cannot be stored."""
        inline = self._inline_candidates(entries)
        if inline:
            try:
                return await self._store(entries, inline)
            except Exception as exc:
                logger.warning("handling %s updates in the transaction that stores them failed (%s); storing them for the workers",
                               len(entries), redact(f"{exc.__class__.__name__}: {exc}"))  # fmt: skip
        try:
            return await self._store(entries)
        except Exception as exc:
            if self.is_outage(exc):
                raise
            # not an outage: something in these updates cannot be stored as it is
            logger.warning("storing %s updates failed (%s); storing them one by one",
                           len(entries), redact(f"{exc.__class__.__name__}: {exc}"))  # fmt: skip
        taken: dict[ChatKey, list[InboxEntry]] = {}
        for entry in entries:
            for key, waiting in (await self._store_alone(entry)).items():
                taken[key] = [*taken.get(key, []), *waiting]
        return taken, []

    def _inline_candidates(self, entries: Sequence[InboxEntry]) -> dict[ChatKey, list[tuple[InboxEntry, Inbound | None]]]:
        """The entries that may be handled in the transaction that stores them, by chat,
        oldest first: every entry of a chat this process is not working on (no worker,
        nothing queued or waiting for a retry here) whose channel reads it. The
        database is asked in the transaction whether older entries of the chat wait."""
        if not self.inline or self._closing:
            return {}
        by_chat: dict[ChatKey, list[tuple[InboxEntry, Inbound | None]]] = {}
        refused: set[ChatKey] = set()
        for entry in entries:
            key = (entry.channel, entry.chat)
            if key in refused:
                continue
            channel = self.channels.get(entry.channel)
            busy_here = key in self._queues or key in self._workers or key in self._retry_at
            if channel is None or busy_here:
                refused.add(key)
                continue
            try:
                inbound = entry.inbound if entry.inbound is not None else channel.decode(entry)
            except Exception:  # the worker tries it, and counts the failure
                refused.add(key)
                continue
            by_chat.setdefault(key, []).append((entry, inbound))
        return {
            key: sorted(items, key=lambda item: item[0].seq)
            for key, items in by_chat.items()
            if key not in refused
        }

    async def _store(
        self,
        entries: Sequence[InboxEntry],
        inline: dict[ChatKey, list[tuple[InboxEntry, Inbound | None]]] | None = None,
    ) -> tuple[dict[ChatKey, list[InboxEntry]], list[Handled]]:
        """One transaction: store ``entries``, handle the ``inline`` ones whose chat has
        nothing older waiting, take the leases of the others' chats and read what
        waits for the chats taken."""
        now = self.clock()
        inline = dict(inline or {})
        handled: list[Handled] = []
        settle: list[Callable[[bool], None]] = []
        committed = False
        try:
            async with self.uow_factory() as uow:
                for rider in self._riders:  # first: the replies they mark sent no longer wait
                    settle.append(await rider(uow))
                taken = await self._store_in(uow, now, entries, inline, handled)
                await uow.commit()
                committed = True
        finally:
            for settled in settle:
                settled(committed)
        return taken, handled

    async def _store_in(
        self,
        uow: UnitOfWork,
        now: datetime,
        entries: Sequence[InboxEntry],
        inline: dict[ChatKey, list[tuple[InboxEntry, Inbound | None]]],
        handled: list[Handled],
    ) -> dict[ChatKey, list[InboxEntry]]:
        if inline:
            for key in await uow.inbox.busy_chats(list(inline)):
                del inline[key]
        held: dict[str, list[str]] = {}
        if inline and self.fence:  # another process may work on the chat: hold it for this transaction
            for name in sorted({key[0] for key in inline}):
                chats = sorted(chat for channel, chat in inline if channel == name)
                mine = await uow.inbox.take_chats(name, chats, self.owner, now, now + self.lease)
                held[name] = sorted(mine)
                for chat in chats:
                    if chat not in mine:
                        del inline[(name, chat)]
        at_once = {(entry.channel, entry.update_id): inbound for items in inline.values() for entry, inbound in items}
        stored = await uow.inbox.add_all(entries, now, handled=at_once.keys())
        later: dict[str, list[str]] = {}
        for entry in sorted(stored, key=lambda e: e.seq):  # each chat's in update order
            key = (entry.channel, entry.update_id)
            if key not in at_once:
                later.setdefault(entry.channel, []).append(entry.chat)
                continue
            inbound = at_once[key]
            if inbound is not None:
                outcome = await self.service.handle_in(uow, inbound, now, claim_replies=self.reply_claim)
                handled.append(Handled(entry, inbound, outcome))
        for name, chats in held.items():
            if chats:
                await uow.inbox.release_chats(name, chats, self.owner)
        taken: dict[ChatKey, list[InboxEntry]] = {}
        for name, chats in later.items():
            unique = list(dict.fromkeys(chats))
            mine = await uow.inbox.take_chats(name, unique, self.owner, now, now + self.lease)
            if mine:
                for chat, waiting in (await uow.inbox.waiting(name, sorted(mine), self.batch)).items():
                    taken[(name, chat)] = waiting
        return taken

    async def _store_alone(self, entry: InboxEntry) -> dict[ChatKey, list[InboxEntry]]:
        try:
            return (await self._store([entry]))[0]
        except Exception as exc:
            if self.is_outage(exc):
                raise
            error = redact(f"{exc.__class__.__name__}: {exc}")
            logger.error("%s update %s cannot be stored (%s): kept set aside in the inbox", entry.channel, entry.update_id, error)
            async with self.uow_factory() as uow:
                await uow.inbox.add_failed(entry, error, self.clock())
                await uow.commit()
            return {}

    def deliver_soon(self, handled: Sequence[Handled]) -> None:
        """After the commit: each chat's ``handled`` calls in order, a task a chat (what
        ``receive(deliver=False)``'s caller calls once it has answered its platform)."""
        by_chat: dict[ChatKey, list[Handled]] = {}
        for done in handled:
            by_chat.setdefault((done.entry.channel, done.entry.chat), []).append(done)
        for items in by_chat.values():
            self._tracked(self._deliver_chat(items))

    def _tracked(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` in a task that :meth:`close` waits for."""
        task = asyncio.create_task(work)
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    async def _deliver_chat(self, items: Sequence[Handled]) -> None:
        for done in items:
            await self.deliver(done)

    async def deliver(self, done: Handled) -> None:
        """Call the channel's ``handled`` for an entry handled in its storing transaction."""
        if done.outcome.duplicate:
            return
        channel = self.channels.get(done.entry.channel)
        if channel is None:
            return
        try:  # shielded: a stop does not cut a delivery off between sending and marking it
            await asyncio.shield(channel.handled(done.entry, done.inbound, done.outcome))
        except asyncio.CancelledError:
            raise
        except Exception:  # delivery is the outbox's business: it retries
            logger.exception("after handling inbox entry %s", done.entry.id)

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
        if self._committer is not None and not self._committer.done():  # what arrived is committed (or refused)
            _, late = await asyncio.wait([self._committer], timeout=timeout)
            for committer in late:  # before the leases are given back below
                committer.cancel()
                await asyncio.gather(committer, return_exceptions=True)
        workers = [w for w in self._workers.values() if not w.done()] + list(self._deliveries)
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


__all__ = ["DatabaseUnavailable", "Handled", "Inbox", "InboundChannel", "LeaseLost", "Rider", "connection_trouble", "process_owner"]
