"""Logging without secrets: no log line carries a token or a database password.

Bot API URLs carry the bot token (python-telegram-bot and httpx log them, exceptions
quote them), Slack tokens travel in headers and errors, DATABASE_URL may carry a
password. :func:`install_redaction` puts a filter and a formatter on the handlers that
write the log, so that every line they write, its message, its arguments, the formatted
exception and stack, went through :func:`flows.redaction.redact` with the configured
secrets as exact strings as well as the patterns redact knows.

``complaint-bot`` installs it right after ``logging.basicConfig`` (bot/cli.py); a test
or another entry point calls :func:`install_redaction` itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from urllib.parse import quote, unquote, urlsplit

from flows.redaction import redact, url_passwords

# the environment variables whose values must never be written anywhere
SECRET_VARIABLES = (
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_WEBHOOK_SECRET",
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
)


# the environment variables that hold URLs, which may carry a password
URL_VARIABLES = ("DATABASE_URL", "TELEGRAM_API_BASE_URL", "SLACK_API_URL")


def url_passwords_of(url: str | None) -> set[str]:
    """The password in ``url`` (``scheme://user:password@host/...``) as the URL parsers
    read it and as :func:`flows.redaction.url_passwords` does (a ``/`` or a space in a
    password splits them differently): every reading, so that none of it is printed."""
    if not url:
        return set()
    found = set(url_passwords(url))
    try:
        password = urlsplit(url.strip()).password
    except ValueError:
        password = None
    if password:
        found.add(password)
    return found


def _variants(secret: str) -> set[str]:
    """The secret as written, percent-decoded and percent-encoded (as it may appear in URLs)."""
    return {secret, unquote(secret), quote(secret, safe="")}


def environment_secrets(environ: Mapping[str, str]) -> list[str]:
    """The secret values set in ``environ``: tokens, signing secret, the passwords of
    DATABASE_URL and the API URLs."""
    found: set[str] = set()
    for name in SECRET_VARIABLES:
        value = environ.get(name, "").strip()
        if value:
            found |= _variants(value)
    for name in URL_VARIABLES:
        for password in url_passwords_of(environ.get(name)):
            found |= _variants(password)
    return sorted(found, key=len, reverse=True)  # longest first: no half-replaced secret


class Redactor:
    """:func:`redact` with a set of exact secrets that can grow."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self.secrets: list[str] = []
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        known = set(self.secrets)
        for secret in secrets:
            if secret and secret not in known:
                known.add(secret)
        self.secrets = sorted(known, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        return redact(text, *self.secrets)


class RedactingFilter(logging.Filter):
    """Redacts a record in place before any formatter sees it: the message is formatted
    with its arguments and redacted (args become None), the exception and stack texts
    are formatted and redacted into ``exc_text`` / ``stack_info``, which formatters use."""

    _exceptions = logging.Formatter()

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string: keep what was given, redacted
            message = f"{record.msg!s} {record.args!r}"
        record.msg = self.redactor(message)
        record.args = None
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            record.exc_text = self._exceptions.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redactor(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redactor(record.stack_info)
        return True


class RedactingFormatter(logging.Formatter):
    """Wraps a handler's formatter and redacts the line it produces (the last word, for
    whatever a formatter adds from the record on its own)."""

    def __init__(self, inner: logging.Formatter | None, redactor: Redactor) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter(logging.BASIC_FORMAT)
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        return self.redactor(self.inner.format(record))


def install_redaction(
    secrets: Iterable[str | None] = (),
    handlers: Iterable[logging.Handler] | None = None,
) -> Redactor:
    """Redact ``secrets`` (and every token or URL password :func:`redact` recognises)
    from what ``handlers`` write; default: the root logger's handlers (those
    ``logging.basicConfig`` made). Installing again adds the new secrets to the same
    redactor instead of stacking filters. Returns the redactor (``.add`` more later)."""
    targets = list(logging.getLogger().handlers if handlers is None else handlers)
    redactor: Redactor | None = None
    for handler in targets:
        for existing in handler.filters:
            if isinstance(existing, RedactingFilter):
                redactor = existing.redactor
    if redactor is None:
        redactor = Redactor()
    redactor.add(*secrets)
    for handler in targets:
        if not any(isinstance(f, RedactingFilter) and f.redactor is redactor for f in handler.filters):
            handler.addFilter(RedactingFilter(redactor))
        formatter = handler.formatter
        if not (isinstance(formatter, RedactingFormatter) and formatter.redactor is redactor):
            handler.setFormatter(RedactingFormatter(formatter, redactor))
    return redactor


def redact_for_output(text: str, environ: Mapping[str, str]) -> str:
    """``text`` fit to print (an error for the operator): secrets of ``environ`` removed."""
    return redact(text, *environment_secrets(environ))


# alembic's set-up chatter: which plugins it loaded, which dialect implementation and DDL
# mode it assumes. Useful when debugging (-vv), noise at -v, where the migrations it runs
# ("Running upgrade 0001 -> 0002") are what the operator wants to see.
_SETUP_LOGGERS = ("alembic.runtime.plugins",)
_SETUP_MESSAGES = {"alembic.runtime.migration": ("Context impl ", "Will assume ")}


class _DropSetupChatter(logging.Filter):
    def __init__(self, prefixes: tuple[str, ...]) -> None:
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.INFO or not str(record.msg).startswith(self.prefixes)


def quiet_library_setup(verbose: int) -> None:
    """Below -vv, keep libraries' set-up INFO lines (alembic's plugins and context) out of
    the log; their warnings and errors still show. Installing again is harmless."""
    if verbose >= 2:
        return
    for name in _SETUP_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name, prefixes in _SETUP_MESSAGES.items():
        target = logging.getLogger(name)
        if not any(isinstance(f, _DropSetupChatter) for f in target.filters):
            target.addFilter(_DropSetupChatter(prefixes))
