"""flows.redaction: tokens and passwords out of text, the rest left readable."""

from __future__ import annotations

import pytest

from flows.redaction import redact

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


@pytest.mark.parametrize(
    ("text", "secret_part", "kept"),
    [
        (f"POST https://api.telegram.org/bot{TOKEN}/sendMessage failed", TOKEN, "/sendMessage failed"),
        (f"GET https://api.telegram.org/file/bot{TOKEN}/photos/1.jpg", TOKEN, "/photos/1.jpg"),
        (f"token={TOKEN.replace(':', '%3A')}&x=1", "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "&x=1"),
        ("Authorization: Bearer xoxb-1234-5678-AbCdEfGhIjKl", "xoxb-1234-5678-AbCdEfGhIjKl", "Authorization: Bearer"),
        ("app token xapp-1-A0123-456-abcdef", "xapp-1-A0123-456-abcdef", "app token"),
        ("postgresql://bot:hunter22@db:5432/bot", "hunter22", "postgresql://bot:***@db:5432/bot"),
        ("postgresql://bot:p@ss:w0rd@db/bot", "ss:w0rd", "@db/bot"),  # an unencoded @ in the password
        ("host=db user=bot password='two words' dbname=bot", "two words", "dbname=bot"),
        ("postgresql://db/bot?user=bot&password=hunter22&ssl=true", "hunter22", "&ssl=true"),
        ("cannot parse 'postgresql://bot:pa55/w0rd@db:x/bot'", "pa55/w0rd", "@db:x/bot'"),  # a / in the password
        ("file postgresql:/bot:hunter22@db/bot does not exist", "hunter22", "@db/bot does not exist"),  # through a Path
    ],
)
def test_secrets_are_replaced_and_the_rest_kept(text: str, secret_part: str, kept: str) -> None:
    redacted = redact(text)
    assert secret_part not in redacted
    assert "***" in redacted
    assert kept in redacted


def test_exact_secrets_are_replaced_wherever_they_appear() -> None:
    signing_secret = "8f14e45fceea167a5a36dedd4bea2543"
    assert redact(f"bad signature with {signing_secret}!", signing_secret) == "bad signature with ***!"


def test_short_or_missing_secrets_do_not_eat_the_text() -> None:
    assert redact("a b c", None, "", "b") == "a b c"


@pytest.mark.parametrize(
    "text",
    [
        "sqlite+aiosqlite:////var/lib/bot/complaint-bot.db",
        "http://127.0.0.1:8081/bot/getMe",
        "ticket #12345: 水壶漏水 at 10:30",
        "user 987654321 said hello",
    ],
)
def test_text_without_secrets_is_unchanged(text: str) -> None:
    assert redact(text) == text


def test_url_passwords_finds_each_password_whole() -> None:
    from flows.redaction import url_passwords

    text = "a postgresql://bot:pa55/w0rd@db/bot and 'https://u:p@ss@host/x' but not http://127.0.0.1:8081/bot/getMe"
    assert url_passwords(text) == ["pa55/w0rd", "p@ss"]
