"""Slack payloads → the application service: what agents write in card threads, the
card's buttons and their modals, the ``/complaint`` command.

Listeners (listeners.py) turn Slack's untyped payload into :class:`ThreadMessage` or
:class:`ButtonPress` and call :class:`SlackDesk`; who may do what is decided in
``flows`` (flows/ownership.py), and :class:`Directory` only says who a Slack user is.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from flows.domain import Actor, OutboxItem, Severity
from flows.formatting import shorten
from flows.ownership import check_desk_member
from flows.service import ComplaintService, DeskOutcome, DeskView
from handlers.slack.blocks import (
    CLAIM,
    ESCALATE,
    REGRADE,
    REGRADE_VIEW,
    RESOLVE,
    RESOLVE_VIEW,
    TRANSFER,
    TRANSFER_VIEW,
    CardRenderer,
)
from handlers.slack.directory import Directory
from handlers.slack.markup import (
    card_ref,
    escape,
    parse_card_ref,
    plain_text,
    slack_date,
)
from handlers.slack.settings import DeskSettings

logger = logging.getLogger(__name__)

CustomerDelivery = Callable[[Sequence[OutboxItem]], Awaitable[bool]]  # True: it went out now


@dataclass(frozen=True, slots=True)
class ThreadMessage:
    """A message an agent wrote in a card's thread."""

    channel: str
    ts: str
    thread_ts: str
    user: str
    text: str
    has_files: bool = False
    event_id: str | None = None
    edited: str | None = None  # an edit of the message ``ts``: when it was edited

    @property
    def update_key(self) -> str:
        """What the message is kept once by: the message itself (its channel and ``ts``,
        and for an edit the edit's time), whichever event delivered it. Slack's retries
        repeat the event id, but the same message also comes again under a new event id
        (after a Socket Mode reconnect, or to a second subscription of the app)."""
        key = f"message:{self.channel}:{self.ts}"
        return f"{key}:edited:{self.edited}" if self.edited else key

    @classmethod
    def from_event(cls, event: Mapping[str, Any], event_id: str | None) -> ThreadMessage | None:
        """None for what is not a person's message in a thread, new or edited (bots,
        joins, unfurls...)."""
        subtype = event.get("subtype")
        if subtype == "message_changed":
            return cls._edit(event, event_id)
        if subtype not in (None, "file_share", "thread_broadcast") or event.get("bot_id"):
            return None
        thread_ts, user = event.get("thread_ts"), event.get("user")
        if not thread_ts or not user or thread_ts == event.get("ts"):
            return None
        return cls(
            channel=str(event.get("channel")),
            ts=str(event.get("ts")),
            thread_ts=str(thread_ts),
            user=str(user),
            text=str(event.get("text") or ""),
            has_files=bool(event.get("files")),
            event_id=event_id,
        )

    @classmethod
    def _edit(cls, event: Mapping[str, Any], event_id: str | None) -> ThreadMessage | None:
        """A person's edit of their thread message (its text changed; Slack also sends
        ``message_changed`` for link previews, without ``edited``)."""
        message, before = event.get("message"), event.get("previous_message")
        if not isinstance(message, Mapping) or not isinstance(message.get("edited"), Mapping):
            return None
        if message.get("bot_id") or message.get("subtype") not in (None, "file_share", "thread_broadcast"):
            return None
        if isinstance(before, Mapping) and before.get("text") == message.get("text"):
            return None
        edited = cls.from_event({**message, "channel": event.get("channel")}, event_id)
        if edited is None:
            return None
        return replace(edited, edited=str(message["edited"].get("ts") or event.get("event_ts") or ""))


@dataclass(frozen=True, slots=True)
class ButtonPress:
    """A press on a card button."""

    action: str
    ticket_id: int | None
    user: str
    channel: str | None
    trigger_id: str | None

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> ButtonPress:
        action = (body.get("actions") or [{}])[0]
        value = str(action.get("value") or "")
        return cls(
            action=str(action.get("action_id") or ""),
            ticket_id=int(value) if value.isdigit() else None,
            user=str((body.get("user") or {}).get("id") or ""),
            channel=(body.get("channel") or {}).get("id"),
            trigger_id=body.get("trigger_id"),
        )


@dataclass(frozen=True, slots=True)
class ModalSubmission:
    """A submitted card modal (transfer, re-grade, resolve) and what was filled in."""

    callback_id: str
    ticket_id: int
    user: str
    values: Mapping[str, Any]  # ``view.state.values``, read with :func:`_selected`

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> ModalSubmission | None:
        """None for a view that is not about a ticket."""
        view = body.get("view") or {}
        metadata = str(view.get("private_metadata") or "")
        if not metadata.isdigit():
            return None
        return cls(
            callback_id=str(view.get("callback_id")),
            ticket_id=int(metadata),
            user=str((body.get("user") or {}).get("id")),
            values=(view.get("state") or {}).get("values") or {},
        )


@dataclass
class SlackDesk:
    """What the listeners call: the service, who is who, and how Slack is answered."""

    service: ComplaintService
    client: AsyncWebClient
    settings: DeskSettings
    directory: Directory
    renderer: CardRenderer
    deliver_to_customer: CustomerDelivery
    pending: set[asyncio.Task[Any]] = field(default_factory=set)

    async def _tell(self, user: str, text: str, channel: str | None = None, thread_ts: str | None = None) -> None:
        """An ephemeral answer only ``user`` sees."""
        try:
            await self.client.chat_postEphemeral(
                channel=channel or self.settings.agents_channel, user=user, text=text, thread_ts=thread_ts
            )
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            logger.warning("ephemeral answer to %s not shown: %s", user, exc)

    async def _done(self, outcome: DeskOutcome) -> bool:
        """Send the customer what the action produced; True when it went out now."""
        if outcome.ok and outcome.replies:
            return await self.deliver_to_customer(outcome.replies)
        return False

    # -- thread messages: stored before Slack's acknowledgement, answered after it
    async def thread_message(self, message: ThreadMessage) -> Callable[[], Awaitable[None]] | None:
        """Keep what an agent wrote in a card's thread (a reply to the customer, a note,
        or an internal message when they may not answer); returns what is left to do on
        Slack and Telegram once the event is acknowledged."""
        ticket = await self.service.ticket_at_desk_ref(card_ref(message.channel, message.thread_ts))
        if ticket is None or ticket.id is None:
            return None  # a thread that is not a ticket card
        actor = await self.directory.actor(message.user)
        prefix = self.settings.note_prefix
        text = message.text.strip()
        if text.startswith(prefix):
            await self.service.note(ticket.id, actor, text[len(prefix) :].strip() or text, event_id=message.update_key)
            return None
        if message.has_files and not text:
            return lambda: self._tell(message.user, self.renderer.t("hint.files"), message.channel, message.thread_ts)
        outcome = await self.service.thread_message(
            ticket.id,
            actor,
            await plain_text(text, self.directory.name),
            internal_text=text,
            event_id=message.update_key,
            correction=message.edited is not None,
        )
        if outcome.duplicate:
            logger.info("message %s in %s came again (event %s): kept once", message.ts, message.channel, message.event_id)
            return None
        if not outcome.ok:  # first-contact ownership: the message stayed internal
            if outcome.refusal is not None and outcome.refusal.code == "claim_first":
                hint = self.renderer.t("hint.claim_first", prefix=prefix)
            else:
                owner_id = (outcome.ticket or ticket).owner_id
                hint = self.renderer.t("hint.not_owner", owner=f"<@{owner_id}>" if owner_id else "-")
            return lambda: self._tell(message.user, hint, message.channel, message.thread_ts)

        async def afterwards() -> None:
            delivered = await self._done(outcome)
            if message.has_files:
                await self._tell(message.user, self.renderer.t("hint.files"), message.channel, message.thread_ts)
            if not delivered:
                return  # it waits in the outbox; no ✉️ until it has gone out
            try:
                await self.client.reactions_add(channel=message.channel, timestamp=message.ts, name="incoming_envelope")
            except (SlackApiError, aiohttp.ClientError, TimeoutError):
                logger.debug("no reaction on %s", message.ts)

        return afterwards

    # -- buttons: what changes a ticket is committed before the acknowledgement
    async def press(self, press: ButtonPress) -> Callable[[], Awaitable[None]] | None:
        """Claim and escalate are decided and stored here; modals are opened (Slack's
        trigger lasts seconds) and everything else is returned for after the ack."""
        if press.ticket_id is None:
            return lambda: self._tell(press.user, self.renderer.t("desk.refusal.unknown_ticket", ref="?"), press.channel)
        actor = await self.directory.actor(press.user)
        if press.action in (TRANSFER, REGRADE, RESOLVE):
            await self._open_modal(press, actor)
            return None
        if press.action == CLAIM:
            outcome = await self.service.claim(press.ticket_id, actor)
        elif press.action == ESCALATE:
            outcome = await self.service.escalate(press.ticket_id, actor)
        else:
            return lambda: self._tell(press.user, self.renderer.t("button.unknown"), press.channel)

        async def afterwards() -> None:
            await self._done(outcome)
            await self._tell(press.user, outcome.message, press.channel)

        return afterwards

    async def _open_modal(self, press: ButtonPress, actor: Actor) -> None:
        ticket = await self.service.find_ticket(press.ticket_id or 0)
        if ticket is None:
            await self._tell(press.user, self.renderer.t("desk.refusal.unknown_ticket", ref=str(press.ticket_id)), press.channel)
            return
        refusal = check_desk_member(actor)
        if refusal is not None:
            await self._tell(press.user, self.renderer.t(f"desk.refusal.{refusal.code}", **refusal.params), press.channel)
            return
        view = {
            TRANSFER: self.renderer.transfer_modal,
            REGRADE: self.renderer.regrade_modal,
            RESOLVE: self.renderer.resolve_modal,
        }[press.action](ticket)
        try:
            await self.client.views_open(trigger_id=press.trigger_id, view=view)
        except SlackApiError as exc:  # e.g. an expired trigger: the press was too slow to arrive
            logger.warning("modal for %s not opened: %s", ticket.number, exc)
            await self._tell(press.user, self.renderer.t("button.stale"), press.channel)

    # -- modal submissions: decided before the acknowledgement (one transaction), so a
    # refusal shows in the modal; telling the customer and the agent happens after it
    async def submit(
        self, submission: ModalSubmission
    ) -> tuple[dict[str, str] | None, Callable[[], Awaitable[None]] | None]:
        """(errors for the modal or None, the work to do after acknowledging)."""
        callback_id, ticket_id, user, values = submission.callback_id, submission.ticket_id, submission.user, submission.values
        actor = await self.directory.actor(user)
        if callback_id == TRANSFER_VIEW:
            target = _selected(values, "to", "user")
            if not target:
                return {"to": self.renderer.t("desk.refusal.transfer_target_not_agent", target="-")}, None
            outcome, block = await self.service.transfer(ticket_id, actor, await self.directory.actor(target)), "to"
        elif callback_id == RESOLVE_VIEW:
            outcome, block = await self.service.resolve(ticket_id, actor, _selected(values, "note", "text") or ""), "note"
        elif callback_id == REGRADE_VIEW:
            severity = _selected(values, "severity", "value")
            outcome = await self.service.regrade(
                ticket_id,
                actor,
                category=_selected(values, "category", "value"),
                severity=Severity(severity) if severity else None,
                crisis="crisis" in (_selected(values, "crisis", "value", multiple=True) or []),
            )
            block = (outcome.refusal.field if outcome.refusal else None) or "category"
        else:
            return None, None
        if not outcome.ok:
            return {block: outcome.message}, None

        async def afterwards() -> None:
            await self._done(outcome)
            await self._tell(user, outcome.message)

        return None, afterwards

    # -- the slash command
    async def command(self, user: str, text: str) -> str:
        """``/complaint <number>``, or a word that lists tickets (``slash.mine_words``,
        ``slash.queue_words`` in the catalogues): the answer only the caller sees."""
        words = text.split()
        if not words:
            return self.renderer.t("slash.usage")
        word = words[0].lower()
        if word in self.renderer.words("slash.mine_words"):
            tickets = await self.service.owned_by(user)
            header = self.renderer.t("slash.mine")
        elif word in self.renderer.words("slash.queue_words"):
            tickets = await self.service.queue()
            header = self.renderer.t("slash.queue")
        else:
            ticket = await self.service.find_ticket(word)
            if ticket is None:
                return self.renderer.t("desk.refusal.unknown_ticket", ref=escape(words[0]))
            view = await self.service.desk_view(ticket.id or 0)
            assert view is not None
            return self._summary(view)
        lines = [self.renderer.line(t) for t in tickets] or [self.renderer.t("slash.none")]
        return "\n".join([header, *lines])

    def _summary(self, view: DeskView) -> str:
        ticket = view.ticket
        owner = f"<@{ticket.owner_id}>" if ticket.owner_id else self.renderer.t("card.unclaimed")
        lines = [
            f"*{escape(self.renderer.title(ticket))}*",
            f"{self.renderer.t('card.state')}: {escape(self.renderer.state(ticket))} · {self.renderer.t('card.owner')}: {owner}",
            f"{self.renderer.t('card.first_due')}: {slack_date(ticket.first_response_due, '-')} · {self.renderer.t('card.resolution_due')}: {slack_date(ticket.resolution_due, '-')}",
            escape(shorten(ticket.description, 500)),
        ]
        ref = parse_card_ref(ticket.desk_ref)
        if ref:
            lines.append(f"<https://slack.com/app_redirect?channel={ref[0]}&message_ts={ref[1]}|{self.renderer.t('ping.link', number=ticket.number, category=self.renderer.category(ticket))}>")
        return "\n".join(lines)


def _selected(values: Mapping[str, Any], block: str, action: str, *, multiple: bool = False) -> Any:
    """The value of an input in a submitted modal (``view.state.values``)."""
    element = (values.get(block) or {}).get(action) or {}
    if multiple:
        return [o.get("value") for o in element.get("selected_options") or []]
    for key in ("selected_user", "value"):
        if element.get(key):
            return element[key]
    option = element.get("selected_option")
    return option.get("value") if option else None
