"""The terminal channel: a customer chat in the terminal, on the same flow as Telegram.

Buttons are shown as numbered choices (type the number), photos are sent as file
paths (``/photo PATH``, or just the path of the file), commands work as on
Telegram (/complain, /status, /cancel, /human, /help, /lang). Replies go through the
outbox like on every channel, so what is printed is exactly what is stored; what the
desk sends while the customer is idle (an agent's reply) is printed within a second.

The terminal's own notices ([console] in the catalogue, in the customer's language) never
reach the flow: a path to a file that does not exist ("file not found: PATH", nothing is
added to the complaint) or to a folder, ``/photo`` without a path (how to use it), a line
the terminal cut short; and after /help, how the terminal sends photos, picks buttons and
is left. On a terminal, lines are read through GNU readline (``input()``), which
takes a line of any length; the terminal's own line editing (canonical mode) passes on at
most 4095 bytes of a line and drops the rest without a word, so when readline cannot be
used (output redirected) a line of that length is answered with a warning.
"""

from __future__ import annotations

import asyncio
import logging
import mimetypes
import shlex
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TextIO, TypedDict

from flows.domain import Attachment, Inbound, InboundKind, OutboxItem, Reply, UserRef
from flows.loops import pause
from flows.outbox import OutboxRelay
from flows.service import ComplaintService
from handlers.terminal_input import LineReader

CHANNEL = "console"
IDLE_DELIVERY = 0.5  # seconds between looks for what arrived while the customer is idle
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".webp", ".heic", ".bmp"}
DOCUMENT_SUFFIXES = {".pdf", ".txt", ".doc", ".docx", ".xlsx", ".csv", ".zip"}
PATH_PREFIXES = ("~/", "./", "../")
SENTENCE_MARKS = frozenset("，。！？；：、,!?;")


logger = logging.getLogger(__name__)


class _Origin(TypedDict):
    """Where a typed line comes from: the fields every inbound of the terminal shares."""

    channel: str
    chat_id: str
    user: UserRef
    sent_at: datetime


class ConsoleSender:
    """Prints outbox items; remembers the buttons on screen so a typed number picks one."""

    def __init__(self, out: TextIO, words: Callable[[str], Awaitable[str]] | None = None) -> None:
        self.out = out
        # a text of the catalogue in the customer's language (set by ConsoleChat)
        self.words = words
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
        lines = _bot_lines(reply.text)
        for row in reply.buttons:
            cells = []
            for button in row:
                self.choices.append(button.data)
                cells.append(f"[{len(self.choices)}] {button.label}")
            lines.append("     " + "   ".join(cells))
        if reply.request_contact:
            self.offers_contact = True
            if self.words is not None:
                lines += _bot_lines(await self.words("console.contact_hint"), first="     ")
        self.out.write("\n".join(lines) + "\n")
        self.out.flush()

    def notice(self, text: str) -> None:
        """The terminal's own notice; the buttons on screen stay valid."""
        self.out.write("\n".join(_bot_lines(text)) + "\n")
        self.out.flush()


def _bot_lines(text: str, first: str = "bot> ") -> list[str]:
    return [f"{first}{line}" if i == 0 else f"     {line}" for i, line in enumerate(text.splitlines() or [""])]


@dataclass(frozen=True, slots=True)
class NotSent:
    """A typed line the terminal answers itself with ``console.<key>``; nothing reaches the
    flow: a path to a file that does not exist (``file_not_found``) or to a folder
    (``folder``), or ``/photo`` without a path (``photo_usage``)."""

    key: str
    path: str = ""


def parse_line(line: str, user: UserRef, chat_id: str, choices: list[str], now: datetime) -> Inbound | NotSent:
    """Turn one typed line (or several pasted at once) into the neutral inbound event the flow understands."""
    text = line.rstrip("\r\n")
    stripped = text.strip()
    base: _Origin = {"channel": CHANNEL, "chat_id": chat_id, "user": user, "sent_at": now}
    if "\n" in stripped:  # lines pasted together: words, whatever the first line looks like
        return Inbound(kind=InboundKind.TEXT, text=text, **base)
    if stripped.isdigit() and 1 <= int(stripped) <= len(choices):
        return Inbound(kind=InboundKind.BUTTON, button=choices[int(stripped) - 1], **base)
    path = file_path(stripped)
    if path is not None:
        return _attachment(path, "", base)
    if stripped.startswith("/"):
        command, _, args = stripped[1:].partition(" ")
        command = command.lower()
        if command == "photo":
            return _attachment(_unquoted(args.strip()), "", base) if args.strip() else NotSent("photo_usage")
        if command == "contact" and args.strip():
            return Inbound(kind=InboundKind.CONTACT, contact=args.strip(), text=args.strip(), **base)
        return Inbound(kind=InboundKind.COMMAND, command=command, text=args.strip(), **base)
    return Inbound(kind=InboundKind.TEXT, text=text, **base)


def file_path(typed: str) -> str | None:
    """The path a typed line is, if it looks like the path of a file (existing or not).

    It starts with ``~/``, ``./`` or ``../``; or with ``/`` and has a folder in it
    (``/tmp/a.jpg``, not the command ``/help``); or it is a name with the suffix of an
    image or a document (``box.jpg``; one word, no sentence punctuation). A path dragged
    into the terminal comes quoted or with escaped spaces, which are undone.
    """
    candidate = _unquoted(typed)
    if not candidate:
        return None
    if candidate.startswith(PATH_PREFIXES):
        return candidate
    if candidate.startswith("/") and "/" in candidate.split()[0][1:]:
        return candidate
    if (
        len(candidate.split()) == 1
        and not any(mark in candidate for mark in SENTENCE_MARKS)
        and Path(candidate).suffix.lower() in IMAGE_SUFFIXES | DOCUMENT_SUFFIXES
    ):
        return candidate
    return None


def _unquoted(typed: str) -> str:
    """``'/a b/c.jpg'`` or ``/a\\ b/c.jpg`` (a file dragged into the terminal) as the path itself."""
    if not any(mark in typed for mark in ("'", '"', "\\")):
        return typed
    try:
        words = shlex.split(typed)
    except ValueError:  # an apostrophe in a sentence
        return typed
    return words[0] if len(words) == 1 else typed


def _attachment(raw_path: str, caption: str, base: _Origin) -> Inbound | NotSent:
    """The file at a typed path (``~`` is the home folder) as a photo (an image) or a document."""
    path = Path(raw_path).expanduser()
    try:
        found, folder = path.is_file(), path.is_dir()
    except (OSError, ValueError):  # a name too long for the file system, a NUL character
        found = folder = False
    if not found:
        return NotSent("folder" if folder else "file_not_found", raw_path)
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
        restart_command: str = "complaint-bot chat",
    ) -> None:
        self.service = service
        self.stdin = stdin or sys.stdin
        self.out = sender.out
        self.clock = clock
        self.user = UserRef(external_id=user, display_name=user, language_code=language)
        self.chat_id = user
        self.sender = sender  # prints to ``sender.out``
        if sender.words is None:
            sender.words = self.words
        self.relay = relay  # built by the composition root around ``sender``
        self.show_prompt = show_prompt
        self.reader = LineReader(self.stdin, self.out)  # on a terminal a paste arrives as one message
        self.restart_command = restart_command  # how to continue later, named in the goodbye
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
                if not await self.relay.has_pending(self.chat_id):  # a look first: claiming writes
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

    async def typed(self, line: str, cut: bool = False) -> None:
        """One typed line (or a paste): to the flow, or the terminal's own answer (a file not found)."""
        if cut:
            self.sender.notice(await self.words("console.line_cut", kept=len(line.rstrip("\r\n"))))
        parsed = parse_line(line, self.user, self.chat_id, self.sender.choices, self.clock())
        if isinstance(parsed, NotSent):
            self.sender.notice(await self.words(f"console.{parsed.key}", path=parsed.path))
            return
        await self.send(parsed)
        if parsed.kind is InboundKind.COMMAND and parsed.command == "help":
            self.sender.notice(await self.words("console.help"))  # how the terminal does photos, buttons, leaving

    async def words(self, key: str, **params: object) -> str:
        """A text of the catalogue in the customer's language (the terminal's own notices)."""
        return await self.service.customer_text(CHANNEL, self.user, key, **params)

    async def run(self) -> None:
        """Chat until end of input (Ctrl-D), Ctrl-C at the prompt, or /quit."""
        stop = asyncio.Event()
        idle = asyncio.create_task(self._deliver_while_idle(stop), name="console-delivery")
        self.reader.catch_interrupt()  # Ctrl-C during the welcome ends the chat at the first prompt
        try:
            await self._chat()
        finally:
            self.reader.close()
            stop.set()
            await asyncio.gather(idle, return_exceptions=True)

    async def _chat(self) -> None:
        # replies left undelivered by an earlier run (a crash between commit and print) come first
        await self.relay.deliver_target(self.chat_id)
        await self.send(
            Inbound(CHANNEL, self.chat_id, self.user, InboundKind.COMMAND, command="start", sent_at=self.clock())
        )
        while True:
            prompt = "you> " if self.show_prompt else ""
            line, cut = await self.reader.read(prompt)
            if not line:
                self.out.write("\n")
                break
            if line.strip().lower() in ("/quit", "/exit"):
                break
            await self.typed(line, cut)
        self.out.write(f"Bye. Your conversation is saved; run `{self.restart_command}` again to continue.\n")
        self.out.flush()
