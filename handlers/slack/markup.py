"""Slack's text conventions: customer text escaped for mrkdwn, an agent's mrkdwn read
back as plain text, dates in each reader's time zone, and where a card lives."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import datetime

SECTION_LIMIT = 2900  # Slack allows 3,000 characters in a section


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


def slack_date(when: datetime | None, fallback: str) -> str:
    """A deadline in each reader's own time zone (Slack's date formatting)."""
    if when is None:
        return fallback
    epoch = int(when.timestamp())
    return f"<!date^{epoch}^{{date_short_pretty}} {{time}}|{when:%Y-%m-%d %H:%M} UTC>"


def card_ref(channel: str, ts: str) -> str:
    """How a ticket remembers its card: ``"C0123:1700000000.000100"``."""
    return f"{channel}:{ts}"


def parse_card_ref(ref: str | None) -> tuple[str, str] | None:
    """``(channel, ts)`` of a :func:`card_ref`, None for no or a malformed reference."""
    if not ref or ":" not in ref:
        return None
    channel, _, ts = ref.partition(":")
    return channel, ts
