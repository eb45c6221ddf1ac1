"""Small text helpers for what the bot shows: masking, shortening, ticket numbers."""

from __future__ import annotations

import re

TICKET_PREFIX = "T"
_TICKET_RE = re.compile(r"^\s*#?\s*T?-?\s*0*(\d{1,12})\s*$", re.IGNORECASE)


def ticket_number(ticket_id: int) -> str:
    """The number customers and agents quote: ``T000042``."""
    return f"{TICKET_PREFIX}{ticket_id:06d}"


def parse_ticket_number(text: str) -> int | None:
    """The ticket id in "T000042", "t42", "#42" or "42"; None if it is not one."""
    match = _TICKET_RE.match(text)
    return int(match.group(1)) if match else None


def mask_contact(contact: str | None) -> str:
    """Hide the middle of a phone number or the local part of an e-mail address."""
    if not contact:
        return "-"
    contact = contact.strip()
    if "@" in contact:
        local, _, domain = contact.partition("@")
        return f"{local[:1]}***@{domain}"
    digits = [i for i, ch in enumerate(contact) if ch.isdigit()]
    if len(digits) < 7:
        return "*" * len(contact)
    keep = set(digits[:3] + digits[-4:])
    return "".join(ch if (i in keep or not ch.isdigit()) else "*" for i, ch in enumerate(contact))


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending with an ellipsis when cut."""
    text = text.strip()
    return text if len(text) <= limit else text[: max(limit - 1, 0)].rstrip() + "…"
