"""`complaint-bot run` that cannot start: a clean error naming the setting (exit code 2),
no traceback, no secret echoed, and every HTTP client session closed (no "Unclosed client
session" from aiohttp). Run as subprocesses against the emulated Bot API and Slack."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.fakes.slack_api import FakeSlack
from tests.fakes.telegram_api import FakeTelegram

SCRIPT = Path(sys.executable).with_name("complaint-bot")
WELL_FORMED = "987654321:AAH-another_bots_token_0123456789abc"
_OWN_ENV = ("DATABASE_URL", "TELEGRAM_BOT_TOKEN", "TELEGRAM_API_BASE_URL", "TELEGRAM_WEBHOOK_SECRET",
            "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL", "COMPLAINT_BOT_CONFIG")


async def run_bot(cwd: Path, *args: str, **env: str) -> tuple[int, str, str]:
    """``complaint-bot run`` (or ``args``) in ``cwd``; the event loop keeps serving the fakes meanwhile."""
    environment = {k: v for k, v in os.environ.items() if k not in _OWN_ENV}
    environment.update(env)
    process = await asyncio.create_subprocess_exec(
        str(SCRIPT), *(args or ("run",)), cwd=cwd, env=environment,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(process.communicate(), 60)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def assert_clean_failure(code: int, err: str, setting: str, *secrets: str, kind: str = "cannot start") -> None:
    """The error is the last line; before it at most warnings (slack-bolt warns that
    $SLACK_BOT_TOKEN is left to the client it was given) and the note that the bot
    created its new SQLite database. ``kind``: "configuration error" for a setting that
    is wrong, "cannot start" when Telegram, Slack or the port failed."""
    assert code == 2, err
    *before, last = err.strip().splitlines()
    assert last.startswith(f"complaint-bot: {kind}: {setting}: "), err
    before = [line for line in before if not line.startswith("complaint-bot: created a new database at ")]
    assert all(" WARNING " in line for line in before), err
    assert "Traceback" not in err and "Unclosed" not in err, err
    for secret in secrets:
        assert secret not in err


async def test_a_malformed_telegram_token_is_named_and_not_echoed(tmp_path: Path) -> None:
    for token in ("hello", "123456789:short", "123456789:AAH-well_formed token_with_a_space"):
        code, _, err = await run_bot(tmp_path, TELEGRAM_BOT_TOKEN=token, TELEGRAM_API_BASE_URL="http://127.0.0.1:1/")
        assert_clean_failure(code, err, "TELEGRAM_BOT_TOKEN", token, kind="configuration error")
        assert "TELEGRAM_API_BASE_URL" not in err
        assert "@BotFather" in err
    assert not (tmp_path / "complaint-bot.db").exists(), "stopped before touching the database"


async def test_a_token_the_bot_api_rejects_closes_every_session(tmp_path: Path) -> None:
    async with FakeTelegram() as fake:  # knows another bot's token: answers 401 to this one
        code, _, err = await run_bot(tmp_path, TELEGRAM_BOT_TOKEN=WELL_FORMED, TELEGRAM_API_BASE_URL=fake.url)
    assert_clean_failure(code, err, "TELEGRAM_BOT_TOKEN", WELL_FORMED, WELL_FORMED.split(":")[1])
    assert "Telegram rejected the token" in err


async def test_a_bot_api_that_drops_connections_closes_every_session(tmp_path: Path) -> None:
    async with FakeTelegram() as fake:
        fake.outage, fake.outage_drop = True, True
        code, _, err = await run_bot(tmp_path, TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_BASE_URL=fake.url)
    assert_clean_failure(code, err, "TELEGRAM_API_BASE_URL", fake.token)
    assert f"cannot reach the Telegram Bot API at {fake.url}" in err


async def test_a_refused_bot_api_closes_every_session(tmp_path: Path) -> None:
    async with FakeTelegram() as fake:
        url = fake.url
    code, _, err = await run_bot(tmp_path, TELEGRAM_BOT_TOKEN=WELL_FORMED, TELEGRAM_API_BASE_URL=url)
    assert_clean_failure(code, err, "TELEGRAM_API_BASE_URL", WELL_FORMED)


async def test_slack_refusing_the_tokens_closes_every_session(tmp_path: Path) -> None:
    config = tmp_path / "bot.toml"
    config.write_text('[slack]\nagents_channel = "C0AGENTS"\nagent_group = "S0AGENTS"\n', encoding="utf-8")
    async with FakeSlack() as slack:
        # a revoked bot token: auth.test fails
        slack.revoke_token(slack.bot_token)
        code, _, err = await run_bot(
            tmp_path, "--config", str(config), "run",
            SLACK_BOT_TOKEN=slack.bot_token, SLACK_APP_TOKEN=slack.app_token, SLACK_API_URL=slack.api_url,
        )  # fmt: skip
        assert_clean_failure(code, err, "SLACK_BOT_TOKEN", slack.bot_token)
    async with FakeSlack() as slack:
        # Socket Mode with an app token Slack does not know: apps.connections.open fails
        code, _, err = await run_bot(
            tmp_path, "--config", str(config), "run",
            SLACK_BOT_TOKEN=slack.bot_token, SLACK_APP_TOKEN="xapp-1-A0NOPE-unknown", SLACK_API_URL=slack.api_url,
        )  # fmt: skip
        assert_clean_failure(code, err, "SLACK_APP_TOKEN", "xapp-1-A0NOPE-unknown")
        assert "Slack refused it (invalid_auth)" in err


async def test_a_failure_after_telegram_started_closes_its_sessions(tmp_path: Path) -> None:
    """Telegram is up when Slack refuses the token, or when the port is taken: what was
    started is shut down on the way out."""
    import socket

    config = tmp_path / "bot.toml"
    async with FakeTelegram() as fake, FakeSlack() as slack:
        slack.revoke_token(slack.bot_token)
        config.write_text('[slack]\nagents_channel = "C0AGENTS"\nagent_group = "S0AGENTS"\n', encoding="utf-8")
        code, _, err = await run_bot(
            tmp_path, "--config", str(config), "run",
            TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_BASE_URL=fake.url,
            SLACK_BOT_TOKEN=slack.bot_token, SLACK_SIGNING_SECRET="0123456789abcdef", SLACK_API_URL=slack.api_url,
        )  # fmt: skip
        assert_clean_failure(code, err, "SLACK_BOT_TOKEN", fake.token, slack.bot_token)
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            config.write_text(
                f'[telegram]\nmode = "webhook"\nwebhook_url = "http://127.0.0.1:{port}/telegram"\n'
                f'[server]\nlisten = "127.0.0.1"\nport = {port}\n',
                encoding="utf-8",
            )
            code, _, err = await run_bot(
                tmp_path, "--config", str(config), "run", TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_API_BASE_URL=fake.url
            )
        assert_clean_failure(code, err, "server.port", fake.token)
