"""Desk outbox items → Slack calls: the ticket's card (posted, then updated in place),
what goes into its thread, the supervisors' pings and digest.

Raises :class:`DeliveryError` so the outbox retries (or, for what retrying cannot fix,
gives up); the texts come from :mod:`handlers.slack.render`.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from flows import events as ev
from flows.domain import Attachment, InboundKind, OutboxItem, Ticket
from flows.formatting import mask_contact
from flows.outbox import DeliveryError
from flows.report import ReportSource, format_text
from flows.service import ComplaintService, DeskView, desk_event
from handlers.charts import render_chart
from handlers.slack.blocks import CardRenderer
from handlers.slack.markup import SECTION_LIMIT, card_ref, escape, parse_card_ref
from handlers.slack.render import NOTICES, PINGS, notice_text, ping_text
from handlers.slack.settings import DeskSettings

logger = logging.getLogger(__name__)

FileFetcher = Callable[[str], Awaitable[bytes]]
# errors that retrying the same call cannot fix
PERMANENT_ERRORS = frozenset({"invalid_blocks", "msg_too_long", "no_text", "invalid_arguments", "message_not_found"})


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
        event = desk_event(item)
        step = STEPS.get(type(event))
        if step is None:
            raise DeliveryError(f"no Slack rendering for {type(event).__name__}", permanent=True)
        await step(self, item, event)

    async def _view(self, item: OutboxItem, event: ev.DeskEvent) -> DeskView | None:
        """The event's ticket as the desk shows it (None: an item without a ticket, dropped)."""
        if event.ticket_id is None:
            logger.warning("desk item %s without a ticket: %s", item.id, event.kind)
            return None
        view = await self.service.desk_view(event.ticket_id)
        if view is None:
            raise DeliveryError(f"ticket {event.ticket_id} not found", permanent=True)
        return view

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

    async def _post_card(self, view: DeskView, handed_off: ev.TicketHandedOff) -> None:
        await self._card(view)

    def _thread_steps(self, view: DeskView) -> list[ev.DeskEvent]:
        """What the card cannot hold, for its thread, one step each: the full description,
        the photos, and what the customer added after submitting and before the hand-off."""
        ticket = view.ticket
        steps: list[ev.DeskEvent] = []
        if len(ticket.description) > SECTION_LIMIT - 40:
            for start in range(0, len(ticket.description), SECTION_LIMIT):
                steps.append(ev.CardText(ticket.id, text=ticket.description[start : start + SECTION_LIMIT]))
        steps += [ev.CardPhoto(ticket.id, attachment=photo) for photo in ticket.photos]
        if any(m.kind == InboundKind.TEXT and m.text.strip() for m in view.customer_messages):
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
                if m.kind == InboundKind.TEXT and m.text.strip() and (until is None or (m.created_at and m.created_at <= until))
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
        notice = notice_text(self.renderer, event)
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

    async def _reminder(self, view: DeskView, reminder: ev.DeskEvent) -> None:
        """A deadline is near (or passed): said in the card's thread, to the owner if any."""
        ref = parse_card_ref(view.ticket.desk_ref)
        if ref is None:
            return  # not on the desk: the scheduler hands a ticket off before reminding
        text = notice_text(self.renderer, reminder)
        if text:
            await self.client.chat_postMessage(channel=ref[0], thread_ts=ref[1], text=text)

    async def _relay(self, view: DeskView, added: ev.CustomerAdded) -> None:
        """What the customer sent after submitting, into the card's thread."""
        ref = parse_card_ref(view.ticket.desk_ref)
        if ref is None:
            if not view.ticket.handoff_reason:
                return  # not handed off: kept in the database, shown in the thread if it ever is
            await self._card(view)
            return  # the new card's thread replays the customer's messages
        channel, ts = ref
        kind = added.message
        text = added.text
        if added.attachment is not None:
            await self._upload(view.ticket, added.attachment, channel, ts)
            if text.strip():
                await self.client.chat_postMessage(channel=channel, thread_ts=ts, text=self._t("thread.customer", text=escape(text)))
            return
        if kind is InboundKind.CONTACT:
            message = self._t("thread.customer_contact", contact=escape(mask_contact(text)))
        elif kind is InboundKind.EDIT:
            message = self._t("thread.customer_edit", text=escape(text))
        elif kind is InboundKind.UNSUPPORTED:
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

    async def _ping(self, view: DeskView, ping: ev.DeskEvent) -> None:
        ticket = view.ticket
        permalink = None
        ref = parse_card_ref(ticket.desk_ref)
        if ref is not None:
            try:
                permalink = (await self.client.chat_getPermalink(channel=ref[0], message_ts=ref[1])).get("permalink")
            except SlackApiError as exc:
                logger.info("no permalink for %s: %s", ticket.number, exc)
        text = ping_text(self.renderer, ping, self.renderer.link(ticket, permalink), escape(self.renderer.category(ticket)))
        mention = f"<!subteam^{self.settings.supervisor_group}> " if self.settings.supervisor_group else ""
        if isinstance(ping, ev.CrisisPing):
            mention = "<!channel> " + mention
        response = await self.client.chat_postMessage(channel=self.settings.supervisors_channel, text=mention + text, unfurl_links=False)
        if isinstance(ping, ev.CrisisPing):  # pinned in a step of its own: a failure never repeats the @channel ping
            channel, ts = str(response.get("channel") or self.settings.supervisors_channel), str(response["ts"])
            await self.service.crisis_pinged(ticket.id or 0, card_ref(channel, ts))

    async def _pin(self, view: DeskView, pin: ev.PinPing) -> None:
        ref = parse_card_ref(pin.ref)
        if ref:
            await self.client.pins_add(channel=ref[0], timestamp=ref[1])

    async def _unpin_crisis(self, view: DeskView) -> None:
        for crisis_ping in view.crisis_ping_refs:
            ref = parse_card_ref(crisis_ping)
            if ref:
                try:
                    await self.client.pins_remove(channel=ref[0], timestamp=ref[1])
                except SlackApiError as exc:
                    logger.info("crisis ping of ticket %s not unpinned: %s", view.ticket.number, exc)


E = TypeVar("E", bound=ev.DeskEvent)
Step = Callable[[SlackDeskSender, OutboxItem, Any], Awaitable[None]]  # (sender, the outbox item, its event)


def _about_its_ticket(deliver: Callable[[SlackDeskSender, DeskView, E], Awaitable[object]]) -> Step:
    """A step about the event's ticket: ``deliver`` is given the ticket as the desk shows it."""

    async def step(sender: SlackDeskSender, item: OutboxItem, event: E) -> None:
        view = await sender._view(item, event)
        if view is None:
            return
        try:
            await deliver(sender, view, event)
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            raise _delivery_error(exc) from exc

    return step


def _about_no_ticket(deliver: Callable[[SlackDeskSender, E], Awaitable[object]]) -> Step:
    """A step about no ticket (the digest): no ticket is read."""

    async def step(sender: SlackDeskSender, item: OutboxItem, event: E) -> None:
        try:
            await deliver(sender, event)
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            raise _delivery_error(exc) from exc

    return step


_update = _about_its_ticket(SlackDeskSender._update)
_reminder = _about_its_ticket(SlackDeskSender._reminder)
_ping = _about_its_ticket(SlackDeskSender._ping)
#: the sender's step for each event class, the one place :meth:`SlackDeskSender.send` looks:
#: an event class without one is not delivered ("no Slack rendering", permanently). A thread
#: notice or a supervisors' ping has a step for each class render.py has a text for.
STEPS: Mapping[type[ev.DeskEvent], Step] = {
    ev.TicketHandedOff: _about_its_ticket(SlackDeskSender._post_card),
    ev.CustomerAdded: _about_its_ticket(SlackDeskSender._relay),
    ev.CardText: _about_its_ticket(SlackDeskSender._thread_step),
    ev.CardPhoto: _about_its_ticket(SlackDeskSender._thread_step),
    ev.CardHistory: _about_its_ticket(SlackDeskSender._thread_step),
    ev.PinPing: _about_its_ticket(SlackDeskSender._pin),
    ev.DigestDue: _about_no_ticket(SlackDeskSender._digest),
    **{cls: _update for cls in NOTICES if cls.delivery is ev.Delivery.UPDATE},
    **{cls: _reminder for cls in NOTICES if cls.delivery is ev.Delivery.REMINDER},
    **{cls: _ping for cls in PINGS if cls.delivery is ev.Delivery.PING},
}
