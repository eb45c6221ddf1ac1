"""No log line carries a token or the database password: messages, arguments,
exception texts and tracebacks go through the redacting filter and formatter
(bot.logs.install_redaction, which `complaint-bot` installs at start)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from bot.logs import environment_secrets, install_redaction

TELEGRAM_TOKEN = "7301234567:AAF-fake_token_for_the_tests_only_x9"
SLACK_BOT_TOKEN = "xoxb-111-222-FakeBotTokenForTests"
SLACK_APP_TOKEN = "xapp-1-A111-222-fakeapptoken"
SIGNING_SECRET = "0123456789abcdef0123456789abcdef"  # looks like nothing: only the exact value finds it
DB_PASSWORD = "pg-Pa55/word"  # with a character that URLs percent-encode
DATABASE_URL = "postgresql://bot:pg-Pa55%2Fword@db.internal:5432/bot"
ENVIRONMENT = {
    "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
    "SLACK_BOT_TOKEN": SLACK_BOT_TOKEN,
    "SLACK_APP_TOKEN": SLACK_APP_TOKEN,
    "SLACK_SIGNING_SECRET": SIGNING_SECRET,
    "DATABASE_URL": DATABASE_URL,
}
SECRETS = (TELEGRAM_TOKEN, "AAF-fake_token_for_the_tests_only_x9", SLACK_BOT_TOKEN, SLACK_APP_TOKEN,
           SIGNING_SECRET, DB_PASSWORD, "pg-Pa55%2Fword")


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    """What a handler on the root logger writes, with the redaction installed on it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    install_redaction(environment_secrets(ENVIRONMENT), handlers=[handler])
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def _assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def test_a_token_in_a_log_argument_is_not_written(output: io.StringIO) -> None:
    logging.getLogger("httpx").info(
        'HTTP Request: %s %s "%s"', "POST", f"https://api.telegram.org/bot{TELEGRAM_TOKEN}/getUpdates", "HTTP/1.1 200 OK"
    )
    logging.getLogger("complaint_bot").warning("slack said %r with %s", {"token": SLACK_BOT_TOKEN}, SLACK_APP_TOKEN)
    written = output.getvalue()
    _assert_clean(written)
    assert "INFO httpx: HTTP Request: POST https://api.telegram.org/bot***/getUpdates" in written
    assert written.count("***") >= 3


def test_a_token_in_an_exception_and_its_traceback_is_not_written(output: io.StringIO) -> None:
    def deliver() -> None:
        url = f"https://api.telegram.org/bot{TELEGRAM_TOKEN}/sendMessage"
        raise ConnectionError(f"cannot reach {url} (signed with {SIGNING_SECRET})")

    try:
        deliver()
    except ConnectionError:
        logging.getLogger("handlers.telegram").exception("delivering to %s failed", "chat 42")
    written = output.getvalue()
    _assert_clean(written)
    assert "Traceback (most recent call last)" in written
    assert "ConnectionError: cannot reach https://api.telegram.org/bot***/sendMessage (signed with ***)" in written


def test_a_database_password_in_a_message_is_not_written(output: io.StringIO) -> None:
    logging.getLogger("storage").error("cannot connect to %s", DATABASE_URL)
    logging.getLogger("storage").error("password was %s", DB_PASSWORD)  # not in a URL: found as the exact value
    written = output.getvalue()
    _assert_clean(written)
    assert "postgresql://bot:***@db.internal:5432/bot" in written


def test_stack_info_is_redacted(output: io.StringIO) -> None:
    def with_token_in_a_local_name(token: str = TELEGRAM_TOKEN) -> None:
        logging.getLogger("x").warning("here %s", token, stack_info=True)

    with_token_in_a_local_name()
    _assert_clean(output.getvalue())


def test_installing_again_adds_secrets_without_stacking_filters() -> None:
    handler = logging.StreamHandler(io.StringIO())
    first = install_redaction(["first-secret"], handlers=[handler])
    second = install_redaction(["second-secret"], handlers=[handler])
    assert first is second
    assert len(handler.filters) == 1
    assert {"first-secret", "second-secret"} <= set(first.secrets)


def test_a_url_password_that_is_not_in_the_environment_is_not_written(output: io.StringIO) -> None:
    """A URL from the config file or the command line: its password is found by its place
    in the URL, a / or an @ in it included (#11 point 16)."""
    url = "ftp://hook:pa55/w0rd@home@bot.example.com/telegram"
    logging.getLogger("complaint_bot").info("Telegram: webhook %s (served at %s)", url, "/telegram")
    try:
        raise RuntimeError(f"cannot open postgresql:/bot:pa55/w0rd@db/bot or '{url}'")
    except RuntimeError:
        logging.getLogger("complaint_bot").exception("unexpected")
    written = output.getvalue()
    assert "Telegram: webhook ftp://hook:***@bot.example.com/telegram (served at /telegram)" in written
    assert "RuntimeError: cannot open postgresql:/bot:***@db/bot or 'ftp://hook:***@bot.example.com/telegram'" in written
    assert "pa55" not in written and "w0rd" not in written
