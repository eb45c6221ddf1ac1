"""The agents' desk on Slack (slack-bolt, asyncio): ticket cards, thread relay, pings.

- :class:`SlackDeskSender` delivers the desk's outbox items: a Block Kit card per
  handed-off ticket in the agents' channel (updated in place as the ticket moves), what
  the customer sends afterwards in the card's thread, and pings to the supervisors.
- :func:`register` adds the listeners: messages in card threads (the owner's replies go
  to the customer, notes and everyone else's messages stay internal), the card's
  buttons and their modals, and the ``/complaint`` command. Listeners are short: they
  turn Slack's payload into a small dataclass and call :class:`SlackDesk`, which calls
  the application service.

Customer text shown in Slack is escaped (:func:`escape`): no ``<!channel>``, mention or
disguised link can come in through a complaint. Who may do what (first-contact
ownership, agents, supervisors) is decided in ``flows``; :class:`Directory` only says
who a Slack user is.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from flows.domain import Actor, Attachment, OutboxItem, Severity, Ticket
from flows import events as ev
from flows.explain import explaining_words
from flows.formatting import mask_contact, shorten
from flows.intake import severity_reason
from flows.outbox import DeliveryError
from flows.report import ReportSource, format_text
from flows.service import ComplaintService, DeskOutcome, DeskView
from flows.ownership import DeskAction, check_desk_member
from flows.texts import Catalogue
from handlers.charts import render_chart

logger = logging.getLogger(__name__)

CLAIM, TRANSFER, ESCALATE, REGRADE, RESOLVE = (
    "ticket_claim", "ticket_transfer", "ticket_escalate", "ticket_regrade", "ticket_resolve",
)  # fmt: skip
TRANSFER_VIEW, REGRADE_VIEW, RESOLVE_VIEW = "ticket_transfer_view", "ticket_regrade_view", "ticket_resolve_view"
ICONS = {Severity.GENERAL: "📝", Severity.IMPORTANT: "⚠️", Severity.HOT: "🔥", Severity.MAJOR: "⛔"}
SECTION_LIMIT = 2900  # Slack allows 3,000 characters in a section
FileFetcher = Callable[[str], Awaitable[bytes]]
CustomerDelivery = Callable[[Sequence[OutboxItem]], Awaitable[bool]]  # True: it went out now
# errors that retrying the same call cannot fix
PERMANENT_ERRORS = frozenset({"invalid_blocks", "msg_too_long", "no_text", "invalid_arguments", "message_not_found"})


def escape(text: str) -> str:
    """Customer text for mrkdwn: ``&``, ``<`` and ``>`` escaped, so ``<!channel>``,
    ``<@U123>`` and ``<http://evil|innocent>`` arrive as plain text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_SLACK_TOKEN = re.compile(r"<([^<>]*)>")


async def plain_text(text: str, names: Callable[[str], Awaitable[str]]) -> str:
    """What an agent wrote in Slack, as the customer should read it: ``<@U1>`` → "@Alice",
    ``<#C1|general>`` → "#general", ``<https://x|label>`` → "label (https://x)",
    ``<!here>`` → "@here", and ``&lt;`` ``&gt;`` ``&amp;`` back to ``<`` ``>`` ``&``."""
    parts: list[str] = []
    last = 0
    for match in _SLACK_TOKEN.finditer(text):
        parts.append(text[last : match.start()])
        last = match.end()
        target, _, label = match.group(1).partition("|")
        if target.startswith("@"):
            parts.append("@" + (label or await names(target[1:])))
        elif target.startswith("#"):
            parts.append("#" + (label or target[1:]))
        elif target.startswith("!"):
            special = target[1:].split("^", 1)[0]
            parts.append(label or f"@{special}")
        elif target.startswith("mailto:"):
            parts.append(label or target.removeprefix("mailto:"))
        elif label and label != target:
            parts.append(f"{label} ({target})")
        else:
            parts.append(target)
    parts.append(text[last:])
    return "".join(parts).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def card_ref(channel: str, ts: str) -> str:
    """How a ticket remembers its card: ``"C0123:1700000000.000100"``."""
    return f"{channel}:{ts}"


def parse_card_ref(ref: str | None) -> tuple[str, str] | None:
    if not ref or ":" not in ref:
        return None
    channel, _, ts = ref.partition(":")
    return channel, ts


# ---------------------------------------------------------------------- settings and people
@dataclass(frozen=True)
class DeskSettings:
    agents_channel: str
    supervisors_channel: str
    supervisor_group: str | None = None
    agent_group: str | None = None
    agents: frozenset[str] = frozenset()
    supervisors: frozenset[str] = frozenset()
    note_prefix: str = "//"
    language: str = "zh"


class Directory:
    """Who a Slack user is: their name, and whether they are an agent or a supervisor
    (configured user ids, or members of the configured user groups, re-read every minute;
    when Slack cannot be asked, the last answer stands)."""

    def __init__(self, client: AsyncWebClient, settings: DeskSettings, ttl: float = 60.0) -> None:
        self.client = client
        self.settings = settings
        self.ttl = ttl
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}
        self._names: dict[str, tuple[float, str]] = {}

    async def _members(self, group: str | None) -> frozenset[str]:
        if not group:
            return frozenset()
        cached = self._groups.get(group)
        if cached and time.monotonic() - cached[0] < self.ttl:
            return cached[1]
        try:
            response = await self.client.usergroups_users_list(usergroup=group)
            members = frozenset(response.get("users") or ())
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            logger.warning("could not read user group %s: %s", group, exc)
            return cached[1] if cached else frozenset()
        self._groups[group] = (time.monotonic(), members)
        return members

    async def name(self, user_id: str) -> str:
        cached = self._names.get(user_id)
        if cached and time.monotonic() - cached[0] < self.ttl * 60:
            return cached[1]
        try:
            user = (await self.client.users_info(user=user_id)).get("user") or {}
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            logger.warning("could not read user %s: %s", user_id, exc)
            return cached[1] if cached else user_id
        profile = user.get("profile") or {}
        name = profile.get("display_name") or user.get("real_name") or user.get("name") or user_id
        self._names[user_id] = (time.monotonic(), name)
        return str(name)

    async def actor(self, user_id: str) -> Actor:
        supervisors = self.settings.supervisors | await self._members(self.settings.supervisor_group)
        agents = self.settings.agents | await self._members(self.settings.agent_group)
        return Actor(
            id=user_id,
            name=await self.name(user_id),
            is_agent=user_id in agents,
            is_supervisor=user_id in supervisors,
        )


# ---------------------------------------------------------------------- what Slack shows
def hot_issue_term(view: DeskView) -> str | None:
    """The term of the hot issue the ticket joined, from its events."""
    for event in reversed(view.events):
        if event.kind == "hot_issue" and event.data:
            return str(event.data.get("term") or "") or None
    return None


def _date(when: datetime | None, fallback: str) -> str:
    """A deadline in each reader's own time zone (Slack's date formatting)."""
    if when is None:
        return fallback
    epoch = int(when.timestamp())
    return f"<!date^{epoch}^{{date_short_pretty}} {{time}}|{when:%Y-%m-%d %H:%M} UTC>"


class CardRenderer:
    """Block Kit for tickets, in the desk's language."""

    def __init__(self, texts: Catalogue, service: ComplaintService, language: str) -> None:
        self.texts = texts
        self.service = service
        self.language = language

    def t(self, key: str, **params: object) -> str:
        return self.texts.text(self.language, key, **params)

    def text_or(self, key: str, fallback: str, **params: object) -> str:
        """The text for ``key`` if the catalogue has one, else ``fallback``."""
        return self.t(key, **params) if self.texts.has(self.language, key) else fallback

    def category(self, ticket: Ticket) -> str:
        return self.service.category_name(ticket.category, self.language)

    def severity(self, severity: Severity) -> str:
        return self.t(f"severity_name.{severity.value}")

    def state(self, ticket: Ticket) -> str:
        return self.t(f"ticket_state.{ticket.state.value}")

    def title(self, ticket: Ticket) -> str:
        icon = "🚨" if ticket.crisis else ICONS[ticket.severity]
        return self.t("card.title", icon=icon, number=ticket.number, category=self.category(ticket), severity=self.severity(ticket.severity))

    def fallback(self, ticket: Ticket) -> str:
        """The notification text of the card."""
        return self.t(
            "card.fallback",
            number=ticket.number,
            category=self.category(ticket),
            severity=self.severity(ticket.severity),
            state=self.state(ticket),
        )

    def link(self, ticket: Ticket, permalink: str | None) -> str:
        text = self.t("ping.link", number=ticket.number, category=self.category(ticket))
        return f"<{permalink}|{escape(text)}>" if permalink else escape(text)

    def _why(self, ticket: Ticket) -> tuple[str, str]:
        cues = (ticket.classification or {}).get("cues", {})
        words = explaining_words(cues, ticket.category)
        reasons = [severity_reason(c, self.language) for c in cues.get("severity", [])]
        none = self.t("card.none")
        return escape("、".join(words) or none), escape("；".join(dict.fromkeys(reasons)) or none)

    def blocks(self, view: DeskView) -> list[dict[str, Any]]:
        ticket, customer = view.ticket, view.customer
        none = self.t("card.none")
        why_category, why_severity = self._why(ticket)
        owner = f"<@{ticket.owner_id}>" if ticket.owner_id else self.t("card.unclaimed")
        fields = [
            (self.t("card.state"), escape(self.state(ticket))),
            (self.t("card.owner"), owner),
            (self.t("card.customer"), escape(customer.display_name or customer.external_id)),
            (self.t("card.contact"), escape(mask_contact(ticket.contact)) if ticket.contact else none),
            (self.t("card.order"), escape(ticket.order_number or none)),
            (self.t("card.when"), escape(ticket.occurred or none)),
            (self.t("card.first_due"), _date(ticket.first_response_due, none)),
            (self.t("card.resolution_due"), _date(ticket.resolution_due, none)),
            (self.t("card.why_category"), why_category),
            (self.t("card.why_severity"), why_severity),
        ]
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": shorten(self.title(ticket), 150), "emoji": True}},
        ]
        if ticket.crisis:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*{self.t('card.crisis')}*"}})
        blocks.append({"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{v}"} for k, v in fields]})
        description = escape(shorten(ticket.description, SECTION_LIMIT - 40))
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*{self.t('card.description')}*\n{description}"}})
        context = []
        if ticket.handoff_reason:
            reason = self.text_or(f"card.reason.{ticket.handoff_reason}", ticket.handoff_reason)
            context.append(self.t("card.handoff", reason=reason))
        if ticket.photos:
            context.append(f"{self.t('card.photos')}: {len(ticket.photos)}")
        if ticket.reopen_count:
            context.append(self.t("card.reopened", count=ticket.reopen_count))
        if ticket.rating is not None:
            context.append(self.t("card.rating", rating=ticket.rating, comment=escape(ticket.feedback or "")))
        term = hot_issue_term(view)
        if term:
            context.append(self.t("card.hot_issue", term=escape(term)))
        if context:
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(context)}]})
        buttons = self._buttons(ticket, view.actions)
        if buttons:
            blocks.append({"type": "actions", "block_id": "ticket_actions", "elements": buttons})
        return blocks

    def _buttons(self, ticket: Ticket, actions: Sequence[DeskAction]) -> list[dict[str, Any]]:
        value = str(ticket.id)

        def button(action: str, key: str, style: str | None = None, confirm: str | None = None) -> dict[str, Any]:
            element: dict[str, Any] = {
                "type": "button",
                "action_id": action,
                "value": value,
                "text": {"type": "plain_text", "text": self.t(key), "emoji": True},
            }
            if style:
                element["style"] = style
            if confirm:
                element["confirm"] = {
                    "title": {"type": "plain_text", "text": self.t(key)},
                    "text": {"type": "plain_text", "text": confirm},
                    "confirm": {"type": "plain_text", "text": self.t("card.confirm_yes")},
                    "deny": {"type": "plain_text", "text": self.t("card.confirm_no")},
                }
            return element

        shown = {
            DeskAction.CLAIM: lambda: button(CLAIM, "card.claim", "primary"),
            DeskAction.TRANSFER: lambda: button(TRANSFER, "card.transfer"),
            DeskAction.ESCALATE: lambda: button(
                ESCALATE, "card.escalate", "danger", self.t("card.escalate_confirm", number=ticket.number)
            ),
            DeskAction.REGRADE: lambda: button(REGRADE, "card.regrade"),
            DeskAction.RESOLVE: lambda: button(RESOLVE, "card.resolve", "primary"),
        }
        return [shown[action]() for action in actions if action in shown]

    def why(self, reason: ev.UpgradeReason, days: int | None) -> str:
        """An automatic upgrade's reason in words."""
        return self.t(f"upgrade_reason.{reason.value}", days=days if days is not None else "-")

    def timer(self, kind: str) -> str:
        return self.text_or(f"timer.{kind}", kind)

    def line(self, ticket: Ticket) -> str:
        """One ticket in a ``/complaint mine`` or ``queue`` list."""
        return self.t(
            "slash.line",
            number=ticket.number,
            severity=self.severity(ticket.severity),
            category=self.category(ticket),
            state=self.state(ticket),
            description=escape(shorten(ticket.description.replace("\n", " "), 60)),
        )

    # -- modals
    def transfer_modal(self, ticket: Ticket) -> dict[str, Any]:
        return self._modal(TRANSFER_VIEW, ticket, "modal.transfer_title", [
            {"type": "input", "block_id": "to", "label": {"type": "plain_text", "text": self.t("modal.transfer_label")},
             "element": {"type": "users_select", "action_id": "user"}},
        ])

    def resolve_modal(self, ticket: Ticket) -> dict[str, Any]:
        return self._modal(RESOLVE_VIEW, ticket, "modal.resolve_title", [
            {"type": "input", "block_id": "note", "optional": True,
             "label": {"type": "plain_text", "text": self.t("modal.resolve_note")},
             "element": {"type": "plain_text_input", "action_id": "text", "multiline": True, "max_length": 2000}},
        ])

    def regrade_modal(self, ticket: Ticket) -> dict[str, Any]:
        def option(text: str, value: str) -> dict[str, Any]:
            return {"text": {"type": "plain_text", "text": shorten(text, 75)}, "value": value}

        categories = [option(c.name(self.language), c.id) for c in self.service.categories]
        severities = [option(self.severity(s), s.value) for s in Severity]
        current_category = next((o for o in categories if o["value"] == ticket.category), categories[0])
        current_severity = next(o for o in severities if o["value"] == ticket.severity.value)
        crisis = option(self.t("modal.regrade_crisis"), "crisis")
        return self._modal(REGRADE_VIEW, ticket, "modal.regrade_title", [
            {"type": "input", "block_id": "category", "label": {"type": "plain_text", "text": self.t("modal.regrade_category")},
             "element": {"type": "static_select", "action_id": "value", "options": categories, "initial_option": current_category}},
            {"type": "input", "block_id": "severity", "label": {"type": "plain_text", "text": self.t("modal.regrade_severity")},
             "element": {"type": "static_select", "action_id": "value", "options": severities, "initial_option": current_severity}},
            {"type": "input", "block_id": "crisis", "optional": True, "label": {"type": "plain_text", "text": " "},
             "element": {"type": "checkboxes", "action_id": "value", "options": [crisis]}},
        ])

    def _modal(self, callback_id: str, ticket: Ticket, title: str, blocks: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": str(ticket.id),
            "title": {"type": "plain_text", "text": shorten(self.t(title), 24)},
            "submit": {"type": "plain_text", "text": self.t("modal.submit")},
            "close": {"type": "plain_text", "text": self.t("modal.cancel")},
            "blocks": [
                {"type": "context", "elements": [{"type": "plain_text", "text": shorten(self.title(ticket), 150)}]},
                *blocks,
            ],
        }


# ---------------------------------------------------------------------- outbox -> Slack
def _delivery_error(exc: Exception) -> DeliveryError:
    if isinstance(exc, SlackApiError):
        status = exc.response.status_code
        error = str(exc.response.get("error", ""))
        if status == 429:
            retry_after = float(exc.response.headers.get("Retry-After", exc.response.headers.get("retry-after", 1)))
            return DeliveryError(f"slack rate limit: {error}", retry_after=retry_after)
        return DeliveryError(f"slack: {error or status}", permanent=error in PERMANENT_ERRORS)
    return DeliveryError(f"slack unreachable: {exc.__class__.__name__}: {exc}")


async def _read_local(path: str) -> bytes:
    """The terminal chat's "file id" is the path of the file."""
    return await asyncio.to_thread(lambda: open(path, "rb").read())


class SlackDeskSender:
    """Delivers desk outbox items; raises :class:`DeliveryError` so the outbox retries."""

    def __init__(
        self,
        client: AsyncWebClient,
        service: ComplaintService,
        settings: DeskSettings,
        renderer: CardRenderer,
        files: Mapping[str, FileFetcher] | None = None,
        reports: ReportSource | None = None,
    ) -> None:
        self.client = client
        self.service = service
        self.settings = settings
        self.renderer = renderer
        self.files = {"console": _read_local, **(files or {})}
        self.reports = reports

    async def send(self, item: OutboxItem) -> None:
        try:
            event = ev.decode(item.ticket_id, item.payload)
        except ev.UnknownEvent as exc:
            raise DeliveryError(f"desk item {item.id}: {exc}", permanent=True) from exc
        if isinstance(event, ev.DigestDue):
            try:
                await self._digest(event)
            except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
                raise _delivery_error(exc) from exc
            return
        if event.ticket_id is None:
            logger.warning("desk item %s without a ticket: %s", item.id, event.kind)
            return
        view = await self.service.desk_view(event.ticket_id)
        if view is None:
            raise DeliveryError(f"ticket {event.ticket_id} not found", permanent=True)
        try:
            await self._deliver(event, view)
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            raise _delivery_error(exc) from exc

    async def _deliver(self, event: ev.DeskEvent, view: DeskView) -> None:
        delivery = event.delivery
        if delivery is ev.Delivery.CARD:
            await self._card(view)
        elif delivery is ev.Delivery.UPDATE:
            await self._update(view, event)
        elif isinstance(event, ev.CustomerAdded):
            await self._relay(view, event)
        elif delivery is ev.Delivery.PING:
            await self._ping(view, event)
        elif isinstance(event, ev.DeadlineReminder):
            await self._reminder(view, event)
        elif isinstance(event, (ev.CardText, ev.CardPhoto, ev.CardHistory)):
            await self._thread_step(view, event)
        elif isinstance(event, ev.PinPing):
            ref = parse_card_ref(event.ref)
            if ref:
                await self.client.pins_add(channel=ref[0], timestamp=ref[1])
        else:
            raise DeliveryError(f"no Slack rendering for {type(event).__name__}", permanent=True)

    def _t(self, key: str, **params: object) -> str:
        return self.renderer.t(key, **params)

    async def _card(self, view: DeskView) -> tuple[str, str]:
        """Post the card (or refresh it, when the ticket already has one); returns (channel, ts)."""
        ticket = view.ticket
        existing = parse_card_ref(ticket.desk_ref)
        blocks = self.renderer.blocks(view)
        text = self.renderer.fallback(ticket)
        if existing:
            await self.client.chat_update(channel=existing[0], ts=existing[1], text=text, blocks=blocks)
            return existing
        channel = self.settings.agents_channel
        response = await self.client.chat_postMessage(channel=channel, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False)
        ts = str(response["ts"])
        channel = str(response.get("channel") or channel)
        await self.service.card_posted(ticket.id or 0, card_ref(channel, ts), self._thread_steps(view))
        return channel, ts

    def _thread_steps(self, view: DeskView) -> list[ev.DeskEvent]:
        """What the card cannot hold, for its thread, one step each: the full description,
        the photos, and what the customer added after submitting and before the hand-off."""
        ticket = view.ticket
        steps: list[ev.DeskEvent] = []
        if len(ticket.description) > SECTION_LIMIT - 40:
            for start in range(0, len(ticket.description), SECTION_LIMIT):
                steps.append(ev.CardText(ticket.id, text=ticket.description[start : start + SECTION_LIMIT]))
        steps += [ev.CardPhoto(ticket.id, attachment=photo) for photo in ticket.photos]
        if any(m.kind == "text" and m.text.strip() for m in view.customer_messages):
            until = max((m.created_at for m in view.customer_messages if m.created_at), default=None)
            steps.append(ev.CardHistory(ticket.id, until=until))
        return steps

    async def _thread_step(self, view: DeskView, step: ev.CardText | ev.CardPhoto | ev.CardHistory) -> None:
        channel, ts = await self._card_location(view)
        if isinstance(step, ev.CardText):
            await self.client.chat_postMessage(channel=channel, thread_ts=ts, text=escape(step.text))
        elif isinstance(step, ev.CardPhoto):
            await self._upload(view.ticket, step.attachment, channel, ts)
        else:  # the customer's messages up to the card, not those relayed since
            until = step.until
            earlier = [
                m for m in view.customer_messages
                if m.kind == "text" and m.text.strip() and (until is None or (m.created_at and m.created_at <= until))
            ]
            if earlier:
                lines = "\n".join(f"> {escape(m.text)}" for m in earlier)
                await self.client.chat_postMessage(channel=channel, thread_ts=ts, text=f"{self._t('thread.history')}\n{lines}"[:39000])

    async def _card_location(self, view: DeskView) -> tuple[str, str]:
        return parse_card_ref(view.ticket.desk_ref) or await self._card(view)

    async def _update(self, view: DeskView, event: ev.DeskEvent) -> None:
        channel, ts = await self._card_location(view)
        ticket = view.ticket
        await self.client.chat_update(channel=channel, ts=ts, text=self.renderer.fallback(ticket), blocks=self.renderer.blocks(view))
        notice = self._notice(event)
        if notice:
            await self.client.chat_postMessage(channel=channel, thread_ts=ts, text=notice)
        if isinstance(event, ev.TicketClosed):
            await self._unpin_crisis(view)

    async def _digest(self, due: ev.DigestDue) -> None:
        """The weekly summary for the supervisors: the report's tables and its chart."""
        if self.reports is None:
            raise DeliveryError("no report source configured", permanent=True)
        since, until = due.since, due.until
        report = await self.reports(since, until)
        language = self.renderer.language
        names = {c.id: c.name(language) for c in self.service.categories}
        text = format_text(report, self.renderer.texts, language, names)
        channel = self.settings.supervisors_channel
        mention = f"<!subteam^{self.settings.supervisor_group}> " if self.settings.supervisor_group else ""
        response = await self.client.chat_postMessage(
            channel=channel, text=f"{mention}{self._t('digest.title')}\n```{escape(text)[:38000]}```", unfurl_links=False
        )
        chart = io.BytesIO()
        fallback = {c.id: c.name("en") for c in self.service.categories}
        await asyncio.to_thread(
            render_chart, report, chart, language=language, category_names=names, texts=self.renderer.texts,
            fallback_category_names=fallback,
        )
        await self.client.files_upload_v2(
            channel=str(response.get("channel") or channel), thread_ts=str(response["ts"]),
            file=chart.getvalue(), filename=f"report-{since:%Y%m%d}-{until:%Y%m%d}.png", title=self._t("digest.title"),
        )

    async def _reminder(self, view: DeskView, reminder: ev.DeadlineReminder) -> None:
        """A deadline is near (or passed): said in the card's thread, to the owner if any."""
        ref = parse_card_ref(view.ticket.desk_ref)
        if ref is None:
            return  # not on the desk: the scheduler hands a ticket off before reminding
        owner = f"<@{reminder.owner}> " if reminder.owner else ""
        key = "thread.breached" if reminder.breached else "thread.reminder"
        text = self._t(key, owner=owner, timer=self.renderer.timer(reminder.timer.value), due=_date(reminder.due, "-"))
        await self.client.chat_postMessage(channel=ref[0], thread_ts=ref[1], text=text)

    def _notice(self, event: ev.DeskEvent) -> str | None:
        """What the card's thread says about a change."""
        t, r = self._t, self.renderer
        if isinstance(event, ev.SeverityRaised):
            return t("thread.upgraded", to=r.severity(event.severity), why=r.why(event.reason, event.days))
        if isinstance(event, ev.JoinedHotIssue):
            return t("thread.joined_hot_issue", term=escape(event.term))
        if isinstance(event, ev.TicketReopened):
            notice = t("thread.reopened", reason=t(f"thread.reason_{event.reason.value}"))
            if event.owner:  # the owner hears of it (first-contact ownership)
                notice += "\n" + t("thread.reopened_owner", owner=event.owner)
            return notice
        if isinstance(event, ev.TicketClaimed):
            return t("thread.claimed", by=escape(event.by))
        if isinstance(event, ev.TicketTransferred):
            return t("thread.transferred", from_=escape(str(event.previous_owner)), to=escape(event.new_owner))
        if isinstance(event, ev.TicketEscalated):
            return t("thread.escalated", by=escape(event.by))
        if isinstance(event, ev.CategoryChanged):
            return t("thread.category", to=escape(self.service.category_name(event.category, r.language)))
        if isinstance(event, ev.SeverityChanged):
            return t("thread.severity", from_=r.severity(event.previous), to=r.severity(event.severity))
        if isinstance(event, ev.CrisisDeclared):
            return t("thread.crisis", by=escape(event.by))
        if isinstance(event, ev.TicketResolved):
            return t("thread.resolved", by=escape(event.by))
        if isinstance(event, ev.TicketClosed):
            rating = t("card.rating", rating=event.rating, comment=escape(event.comment or "")) if event.rating else ""
            return t("thread.closed", rating=rating)
        return None

    async def _relay(self, view: DeskView, added: ev.CustomerAdded) -> None:
        """What the customer sent after submitting, into the card's thread."""
        ref = parse_card_ref(view.ticket.desk_ref)
        if ref is None:
            if not view.ticket.handoff_reason:
                return  # not handed off: kept in the database, shown in the thread if it ever is
            await self._card(view)
            return  # the new card's thread replays the customer's messages
        channel, ts = ref
        kind = added.message.value
        text = added.text
        if added.attachment is not None:
            await self._upload(view.ticket, added.attachment, channel, ts)
            if text.strip():
                await self.client.chat_postMessage(channel=channel, thread_ts=ts, text=self._t("thread.customer", text=escape(text)))
            return
        if kind == "contact":
            message = self._t("thread.customer_contact", contact=escape(mask_contact(text)))
        elif kind == "edit":
            message = self._t("thread.customer_edit", text=escape(text))
        elif kind == "unsupported":
            label = self.renderer.text_or(f"media.{added.unsupported_type or 'other'}", self._t("media.other"))
            message = self._t("thread.customer_other", kind=label)
        else:
            message = self._t("thread.customer", text=escape(text))
        await self.client.chat_postMessage(channel=channel, thread_ts=ts, text=message[:39000], unfurl_links=False, unfurl_media=False)

    async def _upload(self, ticket: Ticket, attachment: Attachment, channel: str, ts: str) -> None:
        fetch = self.files.get(ticket.channel)
        name = attachment.file_name or f"{ticket.number}-{attachment.file_unique_id or 'photo'}.jpg"
        label = self.renderer.text_or(f"media.{attachment.kind}", attachment.kind)
        if fetch is None:
            await self.client.chat_postMessage(channel=channel, thread_ts=ts, text=self._t("thread.customer_file", kind=label, name=escape(name)))
            return
        try:
            content = await fetch(attachment.file_id)
        except Exception as exc:  # the customer's platform could not give the file: say so, keep going
            logger.warning("file %s of ticket %s not fetched: %s", attachment.file_id, ticket.number, exc)
            await self.client.chat_postMessage(channel=channel, thread_ts=ts, text=self._t("thread.customer_file", kind=label, name=escape(name)))
            return
        await self.client.files_upload_v2(channel=channel, thread_ts=ts, file=content, filename=name, title=name)

    def _ping_text(self, ping: ev.DeskEvent, link: str, category: str) -> str:
        t, r = self._t, self.renderer
        if isinstance(ping, ev.UrgentTicketPing):
            return t(f"ping.severity_{ping.severity.value}", link=link)
        if isinstance(ping, ev.HotIssuePing):
            tickets = ", ".join(escape(n) for n in ping.tickets)
            return t("ping.hot_issue", term=escape(ping.term), count=len(ping.tickets), tickets=tickets, category=category)
        if isinstance(ping, ev.UpgradedPing):
            return t(f"ping.upgraded_{ping.severity.value}", link=link, why=r.why(ping.reason, ping.days))
        if isinstance(ping, ev.ReopenedPing):
            return t(f"ping.reopened_{ping.reason.value}", link=link)
        if isinstance(ping, ev.DeadlineMissedPing):
            return t("ping.sla_breach", link=link, timer=r.timer(ping.timer.value), due=_date(ping.due, "-"))
        if isinstance(ping, ev.EscalatedPing):
            return t("ping.agent_escalated", link=link, by=escape(ping.by), note=escape(ping.note))
        if isinstance(ping, ev.CrisisPing):
            return t("ping.crisis", link=link, by=escape(ping.by))
        raise DeliveryError(f"no Slack rendering for {type(ping).__name__}", permanent=True)

    async def _ping(self, view: DeskView, ping: ev.DeskEvent) -> None:
        ticket = view.ticket
        permalink = None
        ref = parse_card_ref(ticket.desk_ref)
        if ref is not None:
            try:
                permalink = (await self.client.chat_getPermalink(channel=ref[0], message_ts=ref[1])).get("permalink")
            except SlackApiError as exc:
                logger.info("no permalink for %s: %s", ticket.number, exc)
        text = self._ping_text(ping, self.renderer.link(ticket, permalink), escape(self.renderer.category(ticket)))
        mention = f"<!subteam^{self.settings.supervisor_group}> " if self.settings.supervisor_group else ""
        if isinstance(ping, ev.CrisisPing):
            mention = "<!channel> " + mention
        response = await self.client.chat_postMessage(channel=self.settings.supervisors_channel, text=mention + text, unfurl_links=False)
        if isinstance(ping, ev.CrisisPing):  # pinned in a step of its own: a failure never repeats the @channel ping
            channel, ts = str(response.get("channel") or self.settings.supervisors_channel), str(response["ts"])
            await self.service.crisis_pinged(ticket.id or 0, card_ref(channel, ts))

    async def _unpin_crisis(self, view: DeskView) -> None:
        for event in view.events:
            if event.kind == "crisis_pinned" and event.data:
                ref = parse_card_ref(str(event.data.get("ref")))
                if ref:
                    try:
                        await self.client.pins_remove(channel=ref[0], timestamp=ref[1])
                    except SlackApiError as exc:
                        logger.info("crisis ping of ticket %s not unpinned: %s", view.ticket.number, exc)


# ---------------------------------------------------------------------- Slack -> service
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

    @classmethod
    def from_event(cls, event: Mapping[str, Any], event_id: str | None) -> ThreadMessage | None:
        """None for what is not a person's new message in a thread (bots, edits, joins...)."""
        subtype = event.get("subtype")
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
            await self.service.note(ticket.id, actor, text[len(prefix) :].strip() or text, event_id=message.event_id)
            return None
        if message.has_files and not text:
            return lambda: self._tell(message.user, self.renderer.t("hint.files"), message.channel, message.thread_ts)
        outcome = await self.service.thread_message(
            ticket.id, actor, await plain_text(text, self.directory.name), internal_text=text, event_id=message.event_id
        )
        if outcome.duplicate:
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
        self, callback_id: str, ticket_id: int, user: str, values: Mapping[str, Any]
    ) -> tuple[dict[str, str] | None, Callable[[], Awaitable[None]] | None]:
        """(errors for the modal or None, the work to do after acknowledging)."""
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
        words = text.split()
        if not words:
            return self.renderer.t("slash.usage")
        word = words[0].lower()
        if word in ("mine", "我的"):
            tickets = await self.service.owned_by(user)
            header = self.renderer.t("slash.mine")
        elif word in ("queue", "队列"):
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
            f"{self.renderer.t('card.first_due')}: {_date(ticket.first_response_due, '-')} · {self.renderer.t('card.resolution_due')}: {_date(ticket.resolution_due, '-')}",
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


# ---------------------------------------------------------------------- listeners
def http_handler(app: AsyncApp) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The aiohttp endpoint for Events API, interactivity and slash-command requests
    (bolt verifies the signature and the timestamp: forged or stale requests get 401)."""

    async def receive(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    return receive


async def authorize_once(client: AsyncWebClient) -> AuthorizeResult:
    """``auth.test`` at start-up; raises :class:`SlackApiError` for a bad token."""
    response = await client.auth_test()
    return AuthorizeResult.from_auth_test_response(auth_test_response=response, bot_token=client.token)


def build_app(client: AsyncWebClient, auth: AuthorizeResult, signing_secret: str | None) -> AsyncApp:
    """The bolt app, authorised once at start-up with ``auth.test`` (not on every request,
    so a Slack hiccup on that call can never make bolt drop an event)."""

    async def authorize(**_: Any) -> AuthorizeResult:
        return auth

    # bolt takes the token from ``authorize``; a client carrying one too only earns a warning
    tokenless = AsyncWebClient(base_url=client.base_url, retry_handlers=client.retry_handlers)
    return AsyncApp(
        client=tokenless,
        authorize=authorize,
        signing_secret=signing_secret or "",
        request_verification_enabled=bool(signing_secret),
        raise_error_for_unhandled_request=False,
        # acknowledge once the listener has committed what the event changes (Socket Mode
        # and HTTP alike); the slow parts run after the acknowledgement (``background``)
        process_before_response=True,
    )


def register(app: AsyncApp, desk: SlackDesk) -> None:
    """Add the desk's listeners to ``app``."""

    def background(coroutine: Awaitable[None]) -> None:
        """Slow work after the acknowledgement (Slack wants an answer within 3 seconds)."""
        task = asyncio.ensure_future(coroutine)
        desk.pending.add(task)
        task.add_done_callback(desk.pending.discard)
        task.add_done_callback(_log_failure)

    async def on_message(event: dict[str, Any], body: dict[str, Any]) -> None:
        """Messages in the agents' channel: replies in card threads. Stored before bolt
        acknowledges (``process_before_response``): if that fails, Slack delivers the
        event again (same event id, so it is kept once)."""
        message = ThreadMessage.from_event(event, body.get("event_id"))
        if message is not None and message.channel == desk.settings.agents_channel:
            afterwards = await desk.thread_message(message)
            if afterwards is not None:
                background(afterwards())

    async def on_button(ack: AsyncAck, body: dict[str, Any]) -> None:
        """A card button: its change committed, then acknowledged, then told."""
        afterwards = await desk.press(ButtonPress.from_body(body))
        await ack()
        if afterwards is not None:
            background(afterwards())

    async def on_submit(ack: AsyncAck, body: dict[str, Any]) -> None:
        """A modal: refusals are shown in the modal itself."""
        view = body.get("view") or {}
        metadata = str(view.get("private_metadata") or "")
        if not metadata.isdigit():
            await ack()
            return
        user = str((body.get("user") or {}).get("id"))
        errors, afterwards = await desk.submit(str(view.get("callback_id")), int(metadata), user, (view.get("state") or {}).get("values") or {})
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        if afterwards is not None:
            background(afterwards())

    async def on_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        """``/complaint <number> | mine | queue``, answered to the caller only."""
        await ack(text=await desk.command(str(command.get("user_id")), str(command.get("text") or "")))

    async def ignore(body: dict[str, Any]) -> None:
        """Other events the app receives (edits, joins...): acknowledged and dropped."""

    app.event("message")(on_message)
    for action in (CLAIM, TRANSFER, ESCALATE, REGRADE, RESOLVE):
        app.action(action)(on_button)
    for callback in (TRANSFER_VIEW, REGRADE_VIEW, RESOLVE_VIEW):
        app.view(callback)(on_submit)
    app.command("/complaint")(on_command)
    app.event(re.compile(".*"))(ignore)


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("desk work failed", exc_info=task.exception())
