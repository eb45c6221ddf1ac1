"""The terminal channel: a customer chat in the terminal, on the same flow as Telegram.

Buttons are shown as numbered choices (type the number), photos are sent as file
paths (``/photo PATH``, or just the path of an image file), commands work as on
Telegram (/complain, /status, /cancel, /human, /help, /lang). Replies go through the
outbox like on every channel, so what is printed is exactly what is stored; what the
desk sends while the customer is idle (an agent's reply) is printed within a second.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TextIO, TypedDict

from flows.domain import Attachment, Inbound, InboundKind, OutboxItem, Reply, UserRef
from flows.loops import pause
from flows.outbox import OutboxRelay
from flows.service import ComplaintService

CHANNEL = "console"
IDLE_DELIVERY = 0.5  # seconds between looks for what arrived while the customer is idle
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".webp", ".heic", ".bmp"}
DOCUMENT_SUFFIXES = {".pdf", ".txt", ".doc", ".docx", ".xlsx", ".csv", ".zip"}


logger = logging.getLogger(__name__)


class _Origin(TypedDict):
    """Where a typed line comes from: the fields every inbound of the terminal shares."""

    channel: str
    chat_id: str
    user: UserRef
    sent_at: datetime


class ConsoleSender:
    """Prints outbox items; remembers the buttons on screen so a typed number picks one."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.choices: list[str] = []  # button data, numbered from 1
        self.offers_contact = False
        self._fresh_batch = True

    def start_batch(self) -> None:
        self._fresh_batch = True

    async def send(self, item: OutboxItem) -> None:
        reply = Reply.from_payload(item.payload)
        if self._fresh_batch:
            self.choices = []
            self.offers_contact = False
            self._fresh_batch = False
        lines = [f"bot> {line}" if i == 0 else f"     {line}" for i, line in enumerate(reply.text.splitlines() or [""])]
        for row in reply.buttons:
            cells = []
            for button in row:
                self.choices.append(button.data)
                cells.append(f"[{len(self.choices)}] {button.label}")
            lines.append("     " + "   ".join(cells))
        if reply.request_contact:
            self.offers_contact = True
            lines.append("     (type your phone number, or /contact NUMBER to share it)")
        self.out.write("\n".join(lines) + "\n")
        self.out.flush()


def parse_line(line: str, user: UserRef, chat_id: str, choices: list[str], now: datetime) -> Inbound:
    """Turn one typed line into the neutral inbound event the flow understands."""
    text = line.rstrip("\r\n")
    stripped = text.strip()
    base: _Origin = {"channel": CHANNEL, "chat_id": chat_id, "user": user, "sent_at": now}
    if stripped.isdigit() and 1 <= int(stripped) <= len(choices):
        return Inbound(kind=InboundKind.BUTTON, button=choices[int(stripped) - 1], **base)
    path = Path(stripped).expanduser()
    if stripped and path.suffix.lower() in IMAGE_SUFFIXES | DOCUMENT_SUFFIXES and path.is_file():
        return _attachment(stripped, "", base)  # an absolute path starts with "/" too
    if stripped.startswith("/"):
        command, _, args = stripped[1:].partition(" ")
        command = command.lower()
        if command == "photo" and args.strip():
            return _attachment(args.strip(), "", base)
        if command == "contact" and args.strip():
            return Inbound(kind=InboundKind.CONTACT, contact=args.strip(), text=args.strip(), **base)
        return Inbound(kind=InboundKind.COMMAND, command=command, text=args.strip(), **base)
    return Inbound(kind=InboundKind.TEXT, text=text, **base)


def _attachment(raw_path: str, caption: str, base: _Origin) -> Inbound:
    path = Path(raw_path).expanduser()
    if not path.is_file():
        return Inbound(kind=InboundKind.UNSUPPORTED, unsupported_type="other", text=f"missing file {raw_path}", **base)
    mime, _ = mimetypes.guess_type(path.name)
    kind = "photo" if path.suffix.lower() in IMAGE_SUFFIXES else "document"
    attachment = Attachment(
        kind=kind,
        file_id=str(path.resolve()),
        mime_type=mime,
        file_size=path.stat().st_size,
        file_name=path.name,
    )
    inbound_kind = InboundKind.PHOTO if kind == "photo" else InboundKind.DOCUMENT
    return Inbound(kind=inbound_kind, attachment=attachment, text=caption, **base)


class ConsoleChat:
    """Reads lines, hands them to the application service, prints what it answers."""

    def __init__(
        self,
        service: ComplaintService,
        sender: ConsoleSender,
        relay: OutboxRelay,
        clock: Callable[[], datetime],
        *,
        user: str,
        language: str | None = None,
        stdin: TextIO | None = None,
        show_prompt: bool = True,
    ) -> None:
        self.service = service
        self.stdin = stdin or sys.stdin
        self.out = sender.out
        self.clock = clock
        self.user = UserRef(external_id=user, display_name=user, language_code=language)
        self.chat_id = user
        self.sender = sender  # prints to ``sender.out``
        self.relay = relay  # built by the composition root around ``sender``
        self.show_prompt = show_prompt
        self._printing = asyncio.Lock()  # one batch of replies on screen at a time

    async def send(self, inbound: Inbound) -> None:
        await self.service.handle(inbound)
        async with self._printing:
            self.sender.start_batch()
            await self.relay.deliver_target(self.chat_id)

    async def _deliver_while_idle(self, stop: asyncio.Event) -> None:
        """What reaches the chat while the customer is idle (an agent's reply from the desk),
        printed within ``IDLE_DELIVERY`` seconds."""
        while not stop.is_set():
            await pause(stop, IDLE_DELIVERY)
            if stop.is_set():
                return
            try:
                async with self.service.uow_factory() as uow:  # a look first: claiming writes
                    if not await uow.outbox.has_pending(CHANNEL, self.chat_id):
                        continue
                async with self._printing:
                    if self.show_prompt:
                        self.out.write("\n")  # below the "you> " prompt
                    self.sender.start_batch()  # its buttons replace those on screen
                    sent = await self.relay.deliver_target(self.chat_id)
            except Exception:  # the database is busy or away: the next round tries again
                logger.warning("delivering to the terminal chat failed; retrying", exc_info=True)
                continue
            if sent and self.show_prompt:
                self.out.write("you> ")
                self.out.flush()

    async def run(self) -> None:
        """Chat until end of input (Ctrl-D) or /quit."""
        stop = asyncio.Event()
        idle = asyncio.create_task(self._deliver_while_idle(stop), name="console-delivery")
        try:
            await self._chat()
        finally:
            stop.set()
            await asyncio.gather(idle, return_exceptions=True)

    async def _chat(self) -> None:
        loop = asyncio.get_running_loop()
        # replies left undelivered by an earlier run (a crash between commit and print) come first
        await self.relay.deliver_target(self.chat_id)
        await self.send(
            Inbound(CHANNEL, self.chat_id, self.user, InboundKind.COMMAND, command="start", sent_at=self.clock())
        )
        while True:
            if self.show_prompt:
                self.out.write("you> ")
                self.out.flush()
            line = await loop.run_in_executor(None, self.stdin.readline)
            if not line:
                self.out.write("\n")
                break
            if line.strip().lower() in ("/quit", "/exit"):
                break
            await self.send(parse_line(line, self.user, self.chat_id, self.sender.choices, self.clock()))
        self.out.write("Bye. Your conversation is saved; run `complaint-bot chat` again to continue.\n")
        self.out.flush()
