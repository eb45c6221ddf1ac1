"""A customer talking to the real application service on a real database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from collections.abc import Sequence
from typing import Any


from flows.domain import Attachment, Inbound, InboundKind, OutboxItem, Reply, Ticket, UserRef
from flows.service import ComplaintService, Outcome


class Clock:
    """Controlled time: tests move it, nothing sleeps."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@dataclass
class Customer:
    """Sends inbound events as a channel adapter would and keeps what came back."""

    service: ComplaintService
    chat_id: str = "100"
    language: str | None = "zh-hans"
    channel: str = "telegram"
    private: bool = True
    replies: list[Reply] = field(default_factory=list)
    last: Outcome | None = None
    _update: int = 0
    _message: int = 0

    async def send(self, kind: InboundKind, *, update_id: str | None = None, **kwargs: Any) -> list[Reply]:
        self._update += 1
        if kind in (InboundKind.TEXT, InboundKind.PHOTO, InboundKind.DOCUMENT, InboundKind.UNSUPPORTED) and "message_id" not in kwargs:
            self._message += 1
            kwargs["message_id"] = str(self._message)
        inbound = Inbound(
            channel=self.channel,
            chat_id=self.chat_id,
            user=UserRef(self.chat_id, "Customer " + self.chat_id, self.language),
            kind=kind,
            update_id=update_id or f"{self.chat_id}-{self._update}",
            private_chat=self.private,
            **kwargs,
        )
        self.last = await self.service.handle(inbound)
        self.replies = [Reply.from_payload(item.payload) for item in self.last.replies]
        return self.replies

    def receive(self, items: Sequence[OutboxItem]) -> None:
        """Take replies that reached the chat because of something an agent did."""
        self.replies = [Reply.from_payload(item.payload) for item in items]

    async def say(self, text: str) -> list[Reply]:
        return await self.send(InboundKind.TEXT, text=text)

    async def command(self, command: str, args: str = "") -> list[Reply]:
        return await self.send(InboundKind.COMMAND, command=command, text=args)

    async def photo(self, file_id: str = "photo-1", caption: str = "") -> list[Reply]:
        return await self.send(InboundKind.PHOTO, attachment=Attachment("photo", file_id, mime_type="image/jpeg"), text=caption)

    def button(self, label: str) -> str:
        """The data of the button whose label contains ``label`` in the last replies."""
        for reply in reversed(self.replies):
            for row in reply.buttons:
                for button in row:
                    if label in button.label:
                        return button.data
        raise AssertionError(f"no button {label!r} in {[b.label for r in self.replies for row in r.buttons for b in row]}")

    async def press(self, label: str) -> list[Reply]:
        return await self.send(InboundKind.BUTTON, button=self.button(label))

    @property
    def text(self) -> str:
        return "\n".join(r.text for r in self.replies)

    async def submit(self, text: str) -> Ticket:
        """Describe a complaint, accept the suggested category, skip every detail, submit."""
        await self.say(text)
        await self.press("是的")
        for _ in range(3):
            await self.press("跳过")
        await self.press("没有照片")
        await self.press("提交")
        assert self.last and self.last.ticket and self.last.ticket.number
        return self.last.ticket
