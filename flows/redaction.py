"""Secrets out of text: what is logged or stored never carries a token or a password.

Bot API URLs carry the bot token (``https://api.telegram.org/bot123:ABC.../sendMessage``),
database URLs may carry a password, Slack tokens look like ``xoxb-...``. :func:`redact`
replaces each with ``***`` and keeps the rest readable.
"""

from __future__ import annotations

import re

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Telegram bot tokens: "<bot id>:<35 characters>" (also inside /bot<token>/ URLs, and
    # percent-encoded, "<bot id>%3A...", in a query string or an encoded URL)
    (re.compile(r"\b(bot)?\d{5,}(?::|%3[Aa])[A-Za-z0-9_-]{20,}"), r"\1***"),
    # Slack tokens (bot, user, app-level, refresh, config)
    (re.compile(r"\bx(?:ox[abposre]|app)-[A-Za-z0-9-]+"), "x***"),
    # passwords in URLs: scheme://user:password@host (up to the last @ before the host,
    # for a password with an unencoded @ in it)
    (re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)[^\s/]*@"), r"\1***@"),
    # passwords as key=value: libpq connection strings, query strings ("password=...")
    (re.compile(r"(\bpassword\s*=\s*)(?:'[^']*'|\"[^\"]*\"|[^\s&;,)'\"]+)", re.IGNORECASE), r"\1***"),
)


def redact(text: str, *secrets: str | None) -> str:
    """``text`` without tokens, URL passwords and the given ``secrets`` (exact strings)."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
