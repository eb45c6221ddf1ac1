"""Secrets out of text: what is logged or stored never carries a token or a password.

Bot API URLs carry the bot token (``https://api.telegram.org/bot123:ABC.../sendMessage``),
database URLs may carry a password, Slack tokens look like ``xoxb-...``. :func:`redact`
replaces each with ``***`` and keeps the rest readable.
"""

from __future__ import annotations

import re

# the password of a URL runs to the last @ before a space or a quote, so that an
# unencoded @ or / in it is masked too (a port and path followed by an @ are masked as
# well: better too much than a password); "scheme:/user:..." is a URL that went through
# a file path (--config postgresql://...)
_URL_PASSWORD = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*:/{1,2}[^\s:/@'\"]*:)([^\s'\"]*)@")

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Telegram bot tokens: "<bot id>:<35 characters>" (also inside /bot<token>/ URLs, and
    # percent-encoded, "<bot id>%3A...", in a query string or an encoded URL)
    (re.compile(r"\b(bot)?\d{5,}(?::|%3[Aa])[A-Za-z0-9_-]{20,}"), r"\1***"),
    # Slack tokens (bot, user, app-level, refresh, config)
    (re.compile(r"\bx(?:ox[abposre]|app)-[A-Za-z0-9-]+"), "x***"),
    # passwords in URLs: scheme://user:password@host
    (_URL_PASSWORD, r"\1***@"),
    # passwords as key=value: libpq connection strings, query strings ("password=...")
    (re.compile(r"(\bpassword\s*=\s*)(?:'[^']*'|\"[^\"]*\"|[^\s&;,)'\"]+)", re.IGNORECASE), r"\1***"),
)


def url_passwords(text: str) -> list[str]:
    """The passwords of the URLs in ``text`` (``scheme://user:password@host``)."""
    return [match.group(2) for match in _URL_PASSWORD.finditer(text) if match.group(2)]


def redact(text: str, *secrets: str | None) -> str:
    """``text`` without tokens, URL passwords and the given ``secrets`` (exact strings)."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
