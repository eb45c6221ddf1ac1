"""The desk's slack-bolt listeners: short, each turns Slack's payload into a small
dataclass and delegates to :class:`SlackDesk`; slow work runs after the acknowledgement."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from handlers.slack.blocks import BUTTONS, REGRADE_VIEW, RESOLVE_VIEW, TRANSFER_VIEW
from handlers.slack.desk import ButtonPress, ModalSubmission, SlackDesk, ThreadMessage

logger = logging.getLogger(__name__)


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
        submission = ModalSubmission.from_body(body)
        errors, afterwards = await desk.submit(submission) if submission is not None else (None, None)
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
    for action in BUTTONS.values():
        app.action(action)(on_button)
    for callback in (TRANSFER_VIEW, REGRADE_VIEW, RESOLVE_VIEW):
        app.view(callback)(on_submit)
    app.command("/complaint")(on_command)
    app.event(re.compile(".*"))(ignore)


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("desk work failed", exc_info=task.exception())

