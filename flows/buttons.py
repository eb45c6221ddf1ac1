"""Button data: which conversation and step a button belongs to, and what it does.

Data looks like ``"12.5:cat:delivery"`` — conversation 12, step 5, action ``cat`` with
argument ``delivery`` — and stays well under Telegram's 64-byte callback-data limit.
A press whose conversation or step is not the current one is stale and is explained
instead of being applied.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flows.domain import Button, Conversation

_DATA_RE = re.compile(r"^(\d{1,12})\.(\d{1,9}):([a-z_]{1,16})(?::([A-Za-z0-9_\-]{1,32}))?$")

NO_CONVERSATION = 0


@dataclass(frozen=True, slots=True)
class ButtonPress:
    conversation_id: int
    step: int
    action: str
    arg: str | None = None


def make(label: str, conversation: Conversation | None, action: str, arg: str | None = None) -> Button:
    """A button bound to the conversation's current step."""
    conv_id = conversation.id if conversation and conversation.id else NO_CONVERSATION
    step = conversation.step if conversation else 0
    data = f"{conv_id}.{step}:{action}" + (f":{arg}" if arg else "")
    return Button(label, data)


def parse(data: str | None) -> ButtonPress | None:
    """The press encoded in ``data``; None for data this bot never produced."""
    if not data:
        return None
    match = _DATA_RE.match(data)
    if not match:
        return None
    conv_id, step, action, arg = match.groups()
    return ButtonPress(int(conv_id), int(step), action, arg)
