"""The agents' desk in a terminal (``complaint-bot desk``): a second desk channel beside
Slack, over the same application service and the same rules.

- :class:`DeskConsole` reads an agent's commands (``queue``, ``open T000001``, ``claim``,
  ``reply TEXT``...; a number picks a choice shown in brackets, as in the customer chat)
  and calls :class:`flows.service.ComplaintService`; a refused action prints the
  service's reason. A ticket's card offers only what :func:`flows.ownership.allowed_actions`
  permits to the person at this terminal.
- :class:`TerminalDeskSender` prints the desk's outbox items (new ticket cards, what the
  customer adds, changes, reminders, the supervisors' pings): one rendering per event
  class in :data:`RENDERINGS` (a test checks every class of ``flows.events.ALL_EVENTS``).
- :class:`LiveEvents` relays those items to this terminal through an ordinary
  :class:`flows.outbox.OutboxRelay` while it holds the terminal desk's lease
  (:data:`flows.desk_presence.DESK_LEASE`): one terminal desk shows the events at a time, the others stand
  by and take over when it stops. Whether that lease is held is how a customer's chat
  knows an agent is reachable (:func:`flows.desk_presence.watch_desk`).

Customer text is printed without terminal control characters (:func:`clean`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO, TypeVar
from zoneinfo import ZoneInfo

from flows import events as ev
from flows.domain import DESK_CHANNEL, Actor, Attachment, InboundKind, OutboxItem, Severity, Ticket
from flows.formatting import mask_contact
from flows.loops import pause
from flows.outbox import DeliveryError, OutboxRelay
from flows.ownership import DeskAction, allowed_actions, check_declare_crisis
from flows.ports import UnitOfWorkFactory
from flows.service import ComplaintService, DeskOutcome, DeskView, desk_event
from flows.desk_presence import LEASE_SECONDS, DeskScreen
from flows.desk_words import DeskWords
from flows.texts import Catalogue
from flows.words import Vocabulary, Words, norm
from handlers.terminal_input import LineReader

logger = logging.getLogger(__name__)

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_TICKET_WORD = re.compile(r"#?[Tt]\d{1,12}")
_ASCII_WORD = re.compile(r"/?[A-Za-z]+")


def clean(text: str) -> str:
    """``text`` without terminal control characters (no escape sequence comes in with a complaint)."""
    return _CONTROL.sub("", text)


class Screen:
    """The terminal: lines printed whole, the prompt shown again after news arrived."""

    def __init__(self, out: TextIO, prompt: str | None = "desk> ") -> None:
        self.out = out
        self.prompt = prompt
        self.waiting = False  # the prompt is on screen and the agent has not typed yet

    def show(self, lines: Sequence[str]) -> None:
        if not lines:
            return
        text = "\n".join(lines) + "\n"
        if self.waiting and self.prompt:
            text = "\n" + text + self.prompt
        self.out.write(text)
        self.out.flush()

    def ask(self) -> None:
        if self.prompt:
            self.out.write(self.prompt)
            self.out.flush()
        self.waiting = True


class TerminalRenderer(DeskWords):
    """The desk's words for a terminal, in the desk's language, dates in the bot's time zone."""

    def __init__(self, texts: Catalogue, service: ComplaintService, language: str, timezone: ZoneInfo) -> None:
        super().__init__(texts, service, language)
        self.timezone = timezone

    def safe(self, text: str) -> str:
        return clean(text)

    def when(self, moment: datetime | None) -> str:
        if moment is None:
            return self.t("card.none")
        return moment.astimezone(self.timezone).strftime("%Y-%m-%d %H:%M")

    def link(self, ticket: Ticket) -> str:
        return self.t("ping.link", number=ticket.number, category=self.category(ticket))

    def attachment(self, attachment: Attachment) -> str:
        """A photo or file: its path for the terminal chat, else its name or platform id."""
        kind = self.text_or(f"media.{attachment.kind}", attachment.kind)
        return self.t("terminal_desk.attachment", kind=kind, path=clean(attachment.file_id or attachment.file_name or "-"))

    def card(self, view: DeskView) -> list[str]:
        """The ticket's card: who, what, the promises, the description and its photos."""
        ticket, customer = view.ticket, view.customer
        none = self.t("card.none")
        owner = ticket.owner_name or ticket.owner_id or self.t("card.unclaimed")
        lines = [f"━━ {self.title(ticket)} ━━"]
        if ticket.crisis:
            lines.append(self.t("card.crisis"))
        lines += [
            f"{self.t('card.state')}: {self.state(ticket)} · {self.t('card.owner')}: {clean(owner)}",
            f"{self.t('card.customer')}: {clean(customer.display_name or customer.external_id)} ({customer.channel})"
            f" · {self.t('card.contact')}: {clean(mask_contact(ticket.contact)) if ticket.contact else none}",
            f"{self.t('card.order')}: {clean(ticket.order_number or none)} · {self.t('card.when')}: {clean(ticket.occurred or none)}",
            f"{self.t('card.first_due')}: {self.when(ticket.first_response_due)} · {self.t('card.resolution_due')}: {self.when(ticket.resolution_due)}",
        ]
        context = []
        if ticket.amount:
            context.append(f"{self.t('card.amount')}: {clean(ticket.amount)}")
        if ticket.handoff_reason:
            context.append(self.t("card.handoff", reason=self.text_or(f"card.reason.{ticket.handoff_reason}", ticket.handoff_reason)))
        if ticket.reopen_count:
            context.append(self.t("card.reopened", count=ticket.reopen_count))
        if ticket.rating is not None:
            context.append(self.t("card.rating", rating=ticket.rating, comment=clean(ticket.feedback or "")))
        if view.hot_issue_term:
            context.append(self.t("card.hot_issue", term=clean(view.hot_issue_term)))
        if context:
            lines.append(" · ".join(context))
        lines.append(f"{self.t('card.description')}:")
        lines += [f"  {line}" for line in clean(ticket.description).splitlines() or [none]]
        lines += [f"  {self.attachment(photo)}" for photo in ticket.photos]
        return lines

    def history(self, view: DeskView) -> list[str]:
        """What the customer sent and what was done, oldest first."""
        entries: list[tuple[datetime | None, str]] = []
        customer = clean(view.customer.display_name or view.customer.external_id)
        for message in view.customer_messages:
            if message.kind == InboundKind.COMMAND.value:
                continue
            what = clean(message.text)
            attachment = (message.data or {}).get("attachment")
            if isinstance(attachment, dict):
                what = (what + " " if what else "") + self.attachment(Attachment.from_dict(attachment))
            if what.strip():
                entries.append((message.created_at, self.t("terminal_desk.event", at=self.when(message.created_at), who=customer, what=what)))
        for event in view.events:
            data = event.data or {}
            detail = " ".join(clean(str(data[k])) for k in ("text", "note", "owner", "to") if data.get(k))
            kind = self.text_or(f"history.{event.kind}", event.kind.replace("_", " "))
            what = f"{kind} {detail}".strip()
            entries.append((event.created_at, self.t("terminal_desk.event", at=self.when(event.created_at), who=clean(event.actor), what=what)))
        entries.sort(key=lambda e: e[0].timestamp() if e[0] else 0.0)
        return [self.t("terminal_desk.history"), *(f"  {text}" for _, text in entries)] if entries else []


# ---------------------------------------------------------------------- what each action is called
@dataclass(frozen=True, slots=True)
class Choice:
    """A numbered choice on screen: a command and its argument."""

    command: str
    arg: str = ""


def action_choices(renderer: TerminalRenderer, ticket: Ticket, viewer: Actor) -> list[tuple[Choice, str]]:
    """The commands the card offers ``viewer`` (only what allowed_actions permits), with their labels."""
    offered: list[tuple[Choice, str]] = []
    for action in allowed_actions(ticket, viewer):
        if action is DeskAction.CLAIM:
            offered.append((Choice("claim"), renderer.t("card.claim")))
        elif action is DeskAction.REPLY:
            offered.append((Choice("reply"), renderer.t("terminal_desk.action_reply")))
        elif action is DeskAction.NOTE:
            offered.append((Choice("note"), renderer.t("terminal_desk.action_note")))
        elif action is DeskAction.TRANSFER:
            offered.append((Choice("transfer"), renderer.t("card.transfer")))
        elif action is DeskAction.ESCALATE:
            offered.append((Choice("escalate"), renderer.t("card.escalate")))
        elif action is DeskAction.REGRADE:
            offered.append((Choice("category"), renderer.t("terminal_desk.action_category")))
            offered.append((Choice("severity"), renderer.t("terminal_desk.action_severity")))
            if not ticket.crisis and check_declare_crisis(ticket, viewer) is None:
                offered.append((Choice("crisis"), renderer.t("modal.regrade_crisis")))
        elif action is DeskAction.RESOLVE:
            offered.append((Choice("resolve"), renderer.t("card.resolve")))
    return offered


# ---------------------------------------------------------------------- desk events
E = TypeVar("E", bound=ev.DeskEvent)
Rendering = Callable[[TerminalRenderer, DeskView | None, Actor, Any], list[str]]
RENDERINGS: dict[type[ev.DeskEvent], Rendering] = {}
"""What the terminal prints for each desk event class (an empty list: nothing to say)."""


def rendering(cls: type[E]) -> Callable[[Callable[[TerminalRenderer, DeskView, Actor, E], list[str]]], Rendering]:
    """Register the rendering of an event about a ticket."""

    def add(render: Callable[[TerminalRenderer, DeskView, Actor, E], list[str]]) -> Rendering:
        def about_ticket(r: TerminalRenderer, view: DeskView | None, viewer: Actor, event: Any) -> list[str]:
            if view is None:
                raise DeliveryError(f"{cls.__name__} without a ticket", permanent=True)
            return render(r, view, viewer, event)

        RENDERINGS[cls] = about_ticket
        return about_ticket

    return add


def _notice(r: TerminalRenderer, view: DeskView, text: str) -> list[str]:
    return [r.t("terminal_desk.notice", number=view.ticket.number, text=text)]


def _ping(r: TerminalRenderer, text: str) -> list[str]:
    return [r.t("terminal_desk.ping", text=text)]


@rendering(ev.TicketHandedOff)
def _handed_off(r: TerminalRenderer, view: DeskView, viewer: Actor, e: ev.TicketHandedOff) -> list[str]:
    reason = r.text_or(f"card.reason.{e.reason.value}", e.reason.value)
    offered = " · ".join(choice.command for choice, _ in action_choices(r, view.ticket, viewer))
    lines = [r.t("terminal_desk.new_ticket", reason=reason), *r.card(view)]
    said = [m for m in view.customer_messages if m.kind == InboundKind.TEXT.value and m.text.strip()]
    if len(said) > 1:  # more than the description: what the customer added before the hand-off
        lines.append(r.t("terminal_desk.customer_wrote"))
        lines += [f"  > {clean(m.text)}" for m in said]
    if offered:
        lines.append(f"{r.t('terminal_desk.actions')} {offered}")
    lines.append(r.t("terminal_desk.open_hint", number=view.ticket.number))
    return lines


@rendering(ev.CustomerAdded)
def _customer_added(r: TerminalRenderer, view: DeskView, viewer: Actor, e: ev.CustomerAdded) -> list[str]:
    if not view.ticket.handoff_reason and not view.ticket.owner_id:
        return []  # not on the desk: kept in the database, shown when the ticket is opened
    text = clean(e.text)
    if e.attachment is not None:
        said = r.attachment(e.attachment) + (f" {text}" if text.strip() else "")
    elif e.message is InboundKind.CONTACT:
        said = r.t("thread.customer_contact", contact=clean(mask_contact(e.text)))
    elif e.message is InboundKind.EDIT:
        said = r.t("thread.customer_edit", text=text)
    elif e.message is InboundKind.UNSUPPORTED:
        said = r.t("thread.customer_other", kind=r.text_or(f"media.{e.unsupported_type or 'other'}", r.t("media.other")))
    else:
        said = r.t("thread.customer", text=text)
    return [r.t("terminal_desk.customer_says", number=view.ticket.number, text=said)]


@rendering(ev.TicketClaimed)
def _claimed(r: TerminalRenderer, view: DeskView, viewer: Actor, e: ev.TicketClaimed) -> list[str]:
    return _notice(r, view, r.t("thread.claimed", by=clean(e.by)))


@rendering(ev.TicketTransferred)
def _transferred(r: TerminalRenderer, view: DeskView, viewer: Actor, e: ev.TicketTransferred) -> list[str]:
    return _notice(r, view, r.t("thread.transferred", from_=clean(str(e.previous_owner or "-")), to=clean(e.new_owner)))


@rendering(ev.TicketEscalated)
def _escalated(r: TerminalRenderer, view: DeskView, viewer: Actor, e: ev.TicketEscalated) -> list[str]:
    return _notice(r, view, r.t("thread.escalated", by=clean(e.by)))


@rendering(ev.CategoryChanged)
def _category_changed(r: TerminalRenderer, view: DeskView, viewer: Actor, e: ev.CategoryChanged) -> list[str]:
    return _notice(r, view, r.t("thread.category", to=r.category_name(e.category)))


@rendering(ev.SeverityChanged)
def _severity_changed(r: TerminalRenderer, view: DeskView, viewer: Actor, e: ev.SeverityChanged) -> list[str]:
    return _notice(r, view, r.t("thread.severity", from_=r.severity(e.previous), to=r.severity(e.severity)))


@rendering(ev.SeverityRaised)
def _severity_raised(r: TerminalRenderer, view: DeskView, viewer: Actor, e: ev.SeverityRaised) -> list[str]:
    return _notice(r, view, r.t("thread.upgraded", to=r.severity(e.severity), why=r.why(e.reason, e.days)))


@rendering(ev.JoinedHotIssue)
def _joined_hot_issue(r: TerminalRenderer, view: DeskView, viewer: Actor, e: ev.JoinedHotIssue) -> list[str]:
    return _notice(r, view, r.t("thread.joined_hot_issue", term=clean(e.term)))


@rendering(ev.TicketReopened)
def _reopened(r: TerminalRenderer, view: DeskView, viewer: Actor, e: ev.TicketReopened) -> list[str]:
    lines = _notice(r, view, r.t("thread.reopened", reason=r.t(f"thread.reason_{e.reason.value}")))
    if e.owner:  # the owner hears of it (first-contact ownership)
        lines.append(r.t("terminal_desk.reopened_owner", owner=clean(view.ticket.owner_name or e.owner)))
    return lines


@rendering(ev.CrisisDeclared)
def _crisis_declared(r: TerminalRenderer, view: DeskView, viewer: Actor, e: ev.CrisisDeclared) -> list[str]:
    return _notice(r, view, r.t("thread.crisis", by=clean(e.by)))


@rendering(ev.TicketResolved)
def _resolved(r: TerminalRenderer, view: DeskView, viewer: Actor, e: ev.TicketResolved) -> list[str]:
    return _notice(r, view, r.t("thread.resolved", by=clean(e.by)))


@rendering(ev.TicketClosed)
def _closed(r: TerminalRenderer, view: DeskView, viewer: Actor, e: ev.TicketClosed) -> list[str]:
    rating = r.t("card.rating", rating=e.rating, comment=clean(e.comment or "")) if e.rating else ""
    return _notice(r, view, r.t("thread.closed", rating=rating).strip())


@rendering(ev.DeadlineReminder)
def _deadline(r: TerminalRenderer, view: DeskView, viewer: Actor, e: ev.DeadlineReminder) -> list[str]:
    owner = f"{clean(view.ticket.owner_name or e.owner)}: " if e.owner else ""
    key = "thread.breached" if e.breached else "thread.reminder"
    return _notice(r, view, r.t(key, owner=owner, timer=r.timer(e.timer.value), due=r.when(e.due)))


@rendering(ev.CardText)
def _card_text(r: TerminalRenderer, view: DeskView, viewer: Actor, e: ev.CardText) -> list[str]:
    return [r.t("terminal_desk.card_text", number=view.ticket.number, text=clean(e.text))]


@rendering(ev.CardPhoto)
def _card_photo(r: TerminalRenderer, view: DeskView, viewer: Actor, e: ev.CardPhoto) -> list[str]:
    return _notice(r, view, r.attachment(e.attachment))


@rendering(ev.CardHistory)
def _card_history(r: TerminalRenderer, view: DeskView, viewer: Actor, e: ev.CardHistory) -> list[str]:
    said = [
        m for m in view.customer_messages
        if m.kind == InboundKind.TEXT.value and m.text.strip() and (e.until is None or (m.created_at and m.created_at <= e.until))
    ]  # fmt: skip
    return [r.t("thread.history"), *(f"  > {clean(m.text)}" for m in said)] if said else []


@rendering(ev.UrgentTicketPing)
def _urgent(r: TerminalRenderer, view: DeskView, viewer: Actor, e: ev.UrgentTicketPing) -> list[str]:
    return _ping(r, r.t(f"ping.severity_{e.severity.value}", link=r.link(view.ticket)))


@rendering(ev.HotIssuePing)
def _hot_issue(r: TerminalRenderer, view: DeskView, viewer: Actor, e: ev.HotIssuePing) -> list[str]:
    tickets = ", ".join(clean(n) for n in e.tickets)
    return _ping(r, r.t("ping.hot_issue", term=clean(e.term), count=len(e.tickets), tickets=tickets, category=r.category(view.ticket)))


@rendering(ev.UpgradedPing)
def _upgraded(r: TerminalRenderer, view: DeskView, viewer: Actor, e: ev.UpgradedPing) -> list[str]:
    return _ping(r, r.t(f"ping.upgraded_{e.severity.value}", link=r.link(view.ticket), why=r.why(e.reason, e.days)))


@rendering(ev.ReopenedPing)
def _reopened_ping(r: TerminalRenderer, view: DeskView, viewer: Actor, e: ev.ReopenedPing) -> list[str]:
    return _ping(r, r.t(f"ping.reopened_{e.reason.value}", link=r.link(view.ticket)))


@rendering(ev.DeadlineMissedPing)
def _deadline_missed(r: TerminalRenderer, view: DeskView, viewer: Actor, e: ev.DeadlineMissedPing) -> list[str]:
    return _ping(r, r.t("ping.sla_breach", link=r.link(view.ticket), timer=r.timer(e.timer.value), due=r.when(e.due)))


@rendering(ev.EscalatedPing)
def _escalated_ping(r: TerminalRenderer, view: DeskView, viewer: Actor, e: ev.EscalatedPing) -> list[str]:
    return _ping(r, r.t("ping.agent_escalated", link=r.link(view.ticket), by=clean(e.by), note=clean(e.note)).strip())


@rendering(ev.CrisisPing)
def _crisis_ping(r: TerminalRenderer, view: DeskView, viewer: Actor, e: ev.CrisisPing) -> list[str]:
    return _ping(r, r.t("ping.crisis", link=r.link(view.ticket), by=clean(e.by)))


@rendering(ev.PinPing)
def _pin(r: TerminalRenderer, view: DeskView, viewer: Actor, e: ev.PinPing) -> list[str]:
    return [r.t("terminal_desk.pinned", number=view.ticket.number)]


def _digest(r: TerminalRenderer, view: DeskView | None, viewer: Actor, e: ev.DigestDue) -> list[str]:
    since, until = (f"{m.astimezone(r.timezone):%Y-%m-%dT%H:%M}" for m in (e.since, e.until))
    return [r.t("terminal_desk.digest", period=e.key, since=since, until=until)]


RENDERINGS[ev.DigestDue] = _digest


class TerminalDeskSender:
    """Prints desk outbox items (an :class:`flows.outbox.Sender`): every event, supervisors'
    pings included, since the terminal that holds the desk's events is the desk's one screen."""

    def __init__(self, service: ComplaintService, renderer: TerminalRenderer, screen: Screen, viewer: Actor) -> None:
        self.service = service
        self.renderer = renderer
        self.screen = screen
        self.viewer = viewer

    async def lines(self, item: OutboxItem) -> list[str]:
        event = desk_event(item)
        render = RENDERINGS.get(type(event))
        if render is None:
            raise DeliveryError(f"no terminal rendering for {type(event).__name__}", permanent=True)
        view = None
        if event.ticket_id is not None:
            view = await self.service.desk_view(event.ticket_id)
            if view is None:
                raise DeliveryError(f"ticket {event.ticket_id} not found", permanent=True)
        return render(self.renderer, view, self.viewer, event)

    async def send(self, item: OutboxItem) -> None:
        self.screen.show(await self.lines(item))


class LiveEvents:
    """Shows the desk's events in this terminal while it holds :data:`flows.desk_presence.DESK_LEASE`
    (taken and renewed every ``check_every`` seconds); stands by while another terminal
    desk holds it, and takes over when that one stops."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        sender: TerminalDeskSender,
        clock: Callable[[], datetime],
        owner: str,
        *,
        interval: float = 0.5,
        check_every: float = 3.0,
    ) -> None:
        self.uow_factory = uow_factory
        self.sender = sender
        self.clock = clock
        self.owner = owner
        self.interval = interval
        self.check_every = check_every
        self.screen = DeskScreen(uow_factory, owner)

    def _say(self, key: str, **params: object) -> None:
        self.sender.screen.show([self.sender.renderer.t(key, **params)])

    async def _take(self) -> bool | None:
        """True: this terminal holds the lease; False: another does; None: the database did not answer."""
        try:
            return await self.screen.take(self.clock())
        except Exception:
            logger.exception("the terminal desk's lease could not be taken")
            return None

    async def _holder(self) -> str:
        return await self.screen.holder(self.clock()) or "-"

    async def run(self, stop: asyncio.Event) -> None:
        relay_stop = asyncio.Event()
        relay_task: asyncio.Task[None] | None = None
        shown: str | None = None
        try:
            while not stop.is_set():
                held = await self._take()
                if held and relay_task is None:
                    self._say("terminal_desk.events_taken_over" if shown == "elsewhere" else "terminal_desk.events_here")
                    shown = "here"
                    relay_stop = asyncio.Event()
                    relay = OutboxRelay(self.uow_factory, DESK_CHANNEL, self.sender, self.clock, lease=LEASE_SECONDS)
                    relay_task = asyncio.create_task(relay.run(relay_stop, self.interval), name="terminal-desk-outbox")
                elif held is False:
                    if relay_task is not None:
                        relay_stop.set()
                        await relay_task
                        relay_task = None
                    if shown != "elsewhere":
                        self._say("terminal_desk.events_elsewhere", holder=clean(await self._holder()))
                        shown = "elsewhere"
                await pause(stop, self.check_every)
        finally:
            if relay_task is not None:
                relay_stop.set()
                await asyncio.gather(relay_task, return_exceptions=True)
            try:
                await self.screen.release()
            except Exception:
                logger.warning("the terminal desk's lease was not given back; it expires in %s s", LEASE_SECONDS)




# ---------------------------------------------------------------------- the agent's commands
Handler = Callable[["DeskConsole", str], Awaitable[None]]
COMMANDS: dict[str, Handler] = {}


def command(*names: str) -> Callable[[Handler], Handler]:
    def add(handler: Handler) -> Handler:
        for name in names:
            COMMANDS[name] = handler
        return handler

    return add


def distance(a: str, b: str) -> int:
    """How many letters to add, drop, change or swap with a neighbour to make ``a`` into ``b``."""
    before: list[int] | None = None
    row = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            current[j] = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + (a[i - 1] != b[j - 1]))
            if before is not None and i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], before[j - 2] + 1)
        before, row = row, current
    return row[len(b)]


def meant_command(word: str) -> str | None:
    """The command a mistyped word stands for: a command name of 4 or more letters one
    letter off (``claimm``, ``hepl``), or two off when it has 6 or more (``reslove``)."""
    word = word.lower().lstrip("/")
    best: tuple[int, str] | None = None
    for name in COMMANDS:
        if len(name) < 4 or name == word:
            continue
        off = distance(word, name)
        if off <= (2 if len(name) >= 6 else 1) and (best is None or off < best[0]):
            best = (off, name)
    return best[1] if best else None


def not_a_reply(text: str) -> str | None:
    """Why a line that is no command is not sent to the customer as a reply: its first
    word looks like a mistyped command (``reslove 已退款``), or it is one English word
    alone (``frobnicate``). None: a sentence, sent as a reply. The key of the text that
    says so, with ``{command}``/``{word}``."""
    word, _, rest = text.partition(" ")
    if not _ASCII_WORD.fullmatch(word):
        return None  # Chinese, a number, a word with punctuation: a sentence
    if meant_command(word) is not None:
        return "terminal_desk.did_you_mean"
    if not rest.strip():
        return "terminal_desk.not_sent"
    return None


#: the commands that act on the open ticket and need a text; asked for when picked by number
_ASK = {"reply": "terminal_desk.ask_reply", "note": "terminal_desk.ask_note", "transfer": "terminal_desk.ask_transfer", "resolve": "terminal_desk.ask_resolve"}


class DeskConsole:
    """Reads an agent's commands and acts through the application service."""

    def __init__(
        self,
        service: ComplaintService,
        renderer: TerminalRenderer,
        screen: Screen,
        actor: Actor,
        colleague: Callable[[str], Actor],
        stdin: TextIO | None = None,
    ) -> None:
        self.service = service
        self.renderer = renderer
        self.screen = screen
        self.actor = actor
        self.colleague = colleague  # a name typed after ``transfer`` -> the agent it names
        self.stdin = stdin or sys.stdin
        self.current: int | None = None  # the open ticket
        self.choices: list[Choice] = []
        self.asking: str | None = None  # a command picked by number, waiting for its text
        self.confirming: Callable[[], Awaitable[None]] | None = None  # done when the agent says yes
        self.vocabulary = Vocabulary(renderer.texts)

    def t(self, key: str, **params: object) -> str:
        return self.renderer.t(key, **params)

    def say(self, *lines: str) -> None:
        self.screen.show(list(lines))

    async def run(self) -> None:
        """Work until end of input (Ctrl-D), Ctrl-C at the prompt, or ``quit``."""
        # one command a line, also when pasted; the prompt is the screen's (news is printed above it)
        reader = LineReader(self.stdin, None, line_editing=False, joins_pastes=False)
        reader.catch_interrupt()
        role = self.t("terminal_desk.role_supervisor" if self.actor.is_supervisor else "terminal_desk.role_agent")
        self.say(self.t("terminal_desk.welcome", agent=self.actor.display, role=role))
        try:
            await self._work(reader)
        finally:
            reader.close()
        self.say(self.t("terminal_desk.bye"))

    async def _work(self, reader: LineReader) -> None:
        while True:
            self.screen.ask()
            line, _ = await reader.read()
            self.screen.waiting = False
            if not line:
                if reader.interrupted:
                    self.screen.out.write("\n")  # below the "desk> " prompt
                break
            if line.strip().lower().lstrip("/") in ("quit", "exit"):
                break
            try:
                await self.handle(line)
            except Exception as exc:  # a bug or the database: said, and the desk goes on
                logger.exception("desk command %r failed", line.strip()[:40])
                self.say(self.t("terminal_desk.failed", error=exc.__class__.__name__))

    async def handle(self, line: str) -> None:
        text = line.rstrip("\r\n").strip()
        if self.confirming is not None:
            then, self.confirming = self.confirming, None
            if text == "1" or self.vocabulary.means(norm(text), (Words.YES,)):
                await then()
            else:
                self.say(self.t("terminal_desk.cancelled"))
            return
        if self.asking is not None:
            asked, self.asking = self.asking, None
            word, _, rest = text.partition(" ")
            if word.lower().lstrip("/") == asked:  # "transfer bob" typed after "transfer" asked whom
                text = rest.strip()
            if text or asked == "resolve":
                await COMMANDS[asked](self, text)
            else:
                self.say(self.t("terminal_desk.cancelled"))
            return
        if not text:
            return
        if text.isdigit():
            await self._pick(int(text))
            return
        word, _, rest = text.partition(" ")
        handler = COMMANDS.get(word.lower().lstrip("/"))
        if handler is not None:
            await handler(self, rest.strip())
        elif _TICKET_WORD.fullmatch(word) and not rest:
            await self.open(word)
        elif self.current is not None and (why := not_a_reply(text)) is not None:
            self.say(self.t(why, command=meant_command(word) or "", word=clean(word)))
        elif self.current is not None:
            await self.reply(text)  # a line that is no command: a reply to the open ticket's customer
        else:
            self.say(self.t("terminal_desk.unknown_command", command=word), self.t("terminal_desk.no_ticket"))

    async def _pick(self, number: int) -> None:
        if not 1 <= number <= len(self.choices):
            self.say(self.t("terminal_desk.no_choice", number=number))
            return
        choice = self.choices[number - 1]
        if not choice.arg and choice.command in _ASK:
            self.asking = choice.command
            self.say(self.t(_ASK[choice.command]))
            return
        await COMMANDS[choice.command](self, choice.arg)

    def confirm(self, question: str, then: Callable[[], Awaitable[None]]) -> None:
        """Ask a yes/no question; ``then`` runs when the next line says yes, else nothing changes."""
        self.confirming = then
        self.choices = []
        self.say(question, f"  [1] {self.t('terminal_desk.confirm_yes')}", f"  [2] {self.t('terminal_desk.confirm_no')}")

    def _numbered(self, entries: Sequence[tuple[Choice, str]]) -> list[str]:
        self.choices = [choice for choice, _ in entries]
        return [f"  [{i}] {label}" for i, (_, label) in enumerate(entries, 1)]

    # -- lists and the card
    async def list_tickets(self, tickets: Sequence[Ticket], header: str) -> None:
        if not tickets:
            self.say(header, self.t("slash.none"))
            return
        self.say(header, *self._numbered([(Choice("open", t.number or str(t.id)), self.renderer.line(t)) for t in tickets]))

    async def open(self, ref: str) -> None:
        ticket = await self.service.find_ticket(ref) if ref else None
        view = await self.service.desk_view(ticket.id) if ticket is not None and ticket.id is not None else None
        if view is None:
            self.say(self.t("desk.refusal.unknown_ticket", ref=clean(ref or "-")))
            return
        self.current = view.ticket.id
        self.say(*self.renderer.card(view), *self.renderer.history(view), *self._actions(view.ticket))

    def _actions(self, ticket: Ticket) -> list[str]:
        offered = action_choices(self.renderer, ticket, self.actor)
        if not offered:
            self.choices = []
            return [self.t("terminal_desk.actions_none")]
        return [self.t("terminal_desk.actions"), *self._numbered([(c, f"{label} ({c.command})") for c, label in offered])]

    async def _act(self, act: Callable[[int], Awaitable[DeskOutcome]]) -> None:
        """Run an action on the open ticket and say what came of it (the service's reason when refused)."""
        if self.current is None:
            self.say(self.t("terminal_desk.no_ticket"))
            return
        outcome = await act(self.current)
        lines = [outcome.message]
        if outcome.ok and outcome.ticket is not None:
            lines += self._actions(outcome.ticket)
        self.say(*lines)

    async def reply(self, text: str) -> None:
        await self._act(lambda ticket_id: self.service.reply(ticket_id, self.actor, text))


@command("help", "?")
async def _help(desk: DeskConsole, arg: str) -> None:
    desk.say(desk.t("terminal_desk.help"))


@command("queue")
async def _queue(desk: DeskConsole, arg: str) -> None:
    await desk.list_tickets(await desk.service.queue(), desk.t("slash.queue"))


@command("mine")
async def _mine(desk: DeskConsole, arg: str) -> None:
    await desk.list_tickets(await desk.service.owned_by(desk.actor.id), desk.t("slash.mine"))


@command("open", "show")
async def _open(desk: DeskConsole, arg: str) -> None:
    await desk.open(arg)


@command("claim")
async def _claim(desk: DeskConsole, arg: str) -> None:
    await desk._act(lambda ticket_id: desk.service.claim(ticket_id, desk.actor))


async def _needs_text(desk: DeskConsole, name: str, arg: str) -> bool:
    """True when ``arg`` is there; else the text is asked for (on the open ticket)."""
    if arg:
        return True
    if desk.current is None:
        desk.say(desk.t("terminal_desk.no_ticket"))
    else:
        desk.asking = name
        desk.say(desk.t(_ASK[name]))
    return False


@command("reply", "r")
async def _reply(desk: DeskConsole, arg: str) -> None:
    if await _needs_text(desk, "reply", arg):
        await desk.reply(arg)


@command("note", "n")
async def _note(desk: DeskConsole, arg: str) -> None:
    if await _needs_text(desk, "note", arg):
        await desk._act(lambda ticket_id: desk.service.note(ticket_id, desk.actor, arg))


@command("transfer")
async def _transfer(desk: DeskConsole, arg: str) -> None:
    if not await _needs_text(desk, "transfer", arg):
        return
    to = desk.colleague(arg)

    async def transfer() -> None:
        await desk._act(lambda ticket_id: desk.service.transfer(ticket_id, desk.actor, to))

    if desk.current is not None and not to.is_supervisor and not await desk.service.worked_at_desk(to.id):
        desk.confirm(desk.t("terminal_desk.new_colleague", name=clean(to.display)), transfer)  # a typo or a newcomer?
        return
    await transfer()


@command("escalate")
async def _escalate(desk: DeskConsole, arg: str) -> None:
    await desk._act(lambda ticket_id: desk.service.escalate(ticket_id, desk.actor, arg))


@command("resolve")
async def _resolve(desk: DeskConsole, arg: str) -> None:
    await desk._act(lambda ticket_id: desk.service.resolve(ticket_id, desk.actor, arg))


@command("crisis")
async def _crisis(desk: DeskConsole, arg: str) -> None:
    await desk._act(lambda ticket_id: desk.service.declare_crisis(ticket_id, desk.actor))


@command("category")
async def _category(desk: DeskConsole, arg: str) -> None:
    categories = desk.renderer.categories
    if not arg:
        if desk.current is None:
            desk.say(desk.t("terminal_desk.no_ticket"))
            return
        entries = [(Choice("category", c.id), f"{desk.renderer.category_name(c.id)} ({c.id})") for c in categories]
        desk.say(desk.t("terminal_desk.categories"), *desk._numbered(entries))
        return
    wanted = arg.strip().lower()
    if wanted.isdigit() and 1 <= int(wanted) <= len(categories):
        category = categories[int(wanted) - 1].id
    else:
        named = (c.id for c in categories if wanted in {c.id.lower(), *(n.lower() for n in c.names.values())})
        category = next(named, arg.strip())  # an unknown name: the service says there is no such category
    await desk._act(lambda ticket_id: desk.service.change_category(ticket_id, desk.actor, category))


@command("severity")
async def _severity(desk: DeskConsole, arg: str) -> None:
    levels = list(Severity)
    if not arg:
        if desk.current is None:
            desk.say(desk.t("terminal_desk.no_ticket"))
            return
        entries = [(Choice("severity", s.value), f"{desk.renderer.severity(s)} ({s.value})") for s in levels]
        desk.say(desk.t("terminal_desk.severities"), *desk._numbered(entries))
        return
    wanted = arg.strip().lower()
    names = {desk.renderer.texts.text(lang, f"severity_name.{s.value}").lower(): s for lang in desk.renderer.texts.languages for s in levels}
    severity = (
        levels[int(wanted) - 1] if wanted.isdigit() and 1 <= int(wanted) <= len(levels)
        else next((s for s in levels if s.value == wanted), names.get(wanted))
    )  # fmt: skip
    if severity is None:
        desk.say(desk.t("terminal_desk.unknown_severity", severity=clean(arg)))
        return
    await desk._act(lambda ticket_id: desk.service.change_severity(ticket_id, desk.actor, severity))
