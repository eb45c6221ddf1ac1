"""Inbound updates and named leases in memory."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime

from flows.domain import (
    InboxEntry,
)
from tests.fakes.memory.tables import (
    CHAT_LEASE_PREFIX,
    PRUNE_BATCH,
    InboxRow,
    Repo,
    json_copy,
)


def chat_lease(channel: str, chat: str) -> str:
    return f"{CHAT_LEASE_PREFIX}{channel}:{chat}"


class MemoryLeaseRepository(Repo):
    async def take(self, names: Sequence[str], owner: str, now: datetime, until: datetime) -> set[str]:
        taken: set[str] = set()
        for name in sorted(set(names)):
            held = self.db.leases.get(name)
            if held is None or held[1] < now or held[0] == owner:
                self.db.leases[name] = (owner, until)
                taken.add(name)
        return taken

    async def renew(self, owner: str, now: datetime, until: datetime, prefix: str = "") -> set[str]:
        mine = {name for name, (who, expires) in self.db.leases.items() if who == owner and expires >= now and name.startswith(prefix)}
        for name in mine:
            self.db.leases[name] = (owner, until)
        return mine

    async def release(self, names: Sequence[str], owner: str) -> None:
        for name in names:
            if name in self.db.leases and self.db.leases[name][0] == owner:
                del self.db.leases[name]

    async def holder(self, name: str, now: datetime) -> str | None:
        held = self.db.leases.get(name)
        return held[0] if held is not None and held[1] >= now else None


class MemoryInboxRepository(Repo):
    async def add_all(
        self, entries: Sequence[InboxEntry], now: datetime, handled: Collection[tuple[str, str]] = ()
    ) -> list[InboxEntry]:
        stored: list[InboxEntry] = []
        for entry in entries:
            if self._find(entry.channel, entry.update_id) is None:
                # stored as the database stores it: without the transient Inbound, a
                # handled one without its payload
                done = (entry.channel, entry.update_id) in handled
                payload = {} if done else json_copy(entry.payload)
                new = replace(entry, payload=payload, id=self.db.next_id("inbox"), attempts=0, inbound=None)
                self.db.inbox[new.id or 0] = InboxRow(new, now, now if done else None)
                stored.append(replace(entry, id=new.id, attempts=0, inbound=None))
        return stored

    async def busy_chats(self, chats: Collection[tuple[str, str]]) -> set[tuple[str, str]]:
        wanted = set(chats)
        return {
            (r.entry.channel, r.entry.chat)
            for r in self.db.inbox.values()
            if r.processed_at is None and (r.entry.channel, r.entry.chat) in wanted
        }

    async def release_chats(self, channel: str, chats: Sequence[str], owner: str) -> None:
        await MemoryLeaseRepository(self._uow).release([chat_lease(channel, chat) for chat in chats], owner)

    def _find(self, channel: str, update_id: str) -> InboxRow | None:
        return next((r for r in self.db.inbox.values() if (r.entry.channel, r.entry.update_id) == (channel, update_id)), None)

    async def add_failed(self, entry: InboxEntry, error: str, now: datetime) -> bool:
        if self._find(entry.channel, entry.update_id) is not None:
            return False
        new = replace(entry, chat=entry.chat[:128], payload={"unstorable": repr(entry.payload)[:20000]}, id=self.db.next_id("inbox"), attempts=0, inbound=None)
        self.db.inbox[new.id or 0] = InboxRow(new, now, now, now, error[:2000])
        return True

    async def waiting(self, channel: str, chats: Sequence[str], limit: int = 50) -> dict[str, list[InboxEntry]]:
        out: dict[str, list[InboxEntry]] = {}
        for chat in chats:
            rows = [r.entry for r in self.db.inbox.values() if (r.entry.channel, r.entry.chat) == (channel, chat) and r.processed_at is None]
            if rows:
                out[chat] = [replace(e, payload=json_copy(e.payload)) for e in sorted(rows, key=lambda e: (e.seq, e.id or 0))[:limit]]
        return out

    async def mark_processed(self, entry_id: int, at: datetime) -> bool:
        row = self.db.inbox.get(entry_id)
        if row is None or row.processed_at is not None:
            return False
        self.db.inbox[entry_id] = replace(row, processed_at=at)
        return True

    async def mark_failed(self, entry_id: int, error: str, at: datetime, *, give_up: bool) -> int:
        row = self.db.inbox.get(entry_id)
        if row is None:
            return 0
        changed = replace(row, entry=replace(row.entry, attempts=row.entry.attempts + 1), last_error=error[:2000])
        if give_up:
            changed.processed_at = changed.failed_at = at
        self.db.inbox[entry_id] = changed
        return changed.entry.attempts

    async def stranded(self, owner: str, now: datetime, limit: int = 100) -> Sequence[tuple[str, str]]:
        first: dict[tuple[str, str], int] = {}
        for entry_id, row in sorted(self.db.inbox.items()):
            if row.processed_at is not None:
                continue
            held = self.db.leases.get(chat_lease(row.entry.channel, row.entry.chat))
            if held is None or held[1] < now or held[0] == owner:
                first.setdefault((row.entry.channel, row.entry.chat), entry_id)
        return sorted(first, key=lambda key: first[key])[:limit]

    async def take_chats(self, channel: str, chats: Sequence[str], owner: str, now: datetime, until: datetime) -> set[str]:
        names = {chat_lease(channel, chat): chat for chat in chats}
        taken = await MemoryLeaseRepository(self._uow).take(list(names), owner, now, until)
        return {names[name] for name in taken}

    async def release_chat(
        self, channel: str, chat: str, owner: str, now: datetime, until: datetime, limit: int = 50
    ) -> Sequence[InboxEntry]:
        name = chat_lease(channel, chat)
        leases = MemoryLeaseRepository(self._uow)
        await leases.release([name], owner)
        waiting = (await self.waiting(channel, [chat], limit)).get(chat, [])
        if waiting and not await leases.take([name], owner, now, until):
            return []
        return waiting

    async def prune(self, before: datetime) -> int:
        doomed = [
            entry_id
            for entry_id, row in sorted(self.db.inbox.items())
            if row.processed_at is not None and row.processed_at < before and row.failed_at is None
        ][:PRUNE_BATCH]
        for entry_id in doomed:
            del self.db.inbox[entry_id]
        return len(doomed)
