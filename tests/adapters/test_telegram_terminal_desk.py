"""A small team without Slack: Telegram customers (`complaint-bot run`'s code against the
emulated Bot API) and agents at `complaint-bot desk` in a terminal, on one SQLite file."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from bot.config import Settings
from tests.adapters.test_telegram import RunningBot, fake, settings  # noqa: F401 - fixtures
from tests.e2e.test_desk_console import Terminal, en
from tests.fakes.telegram_api import FakeTelegram

NOT_CONNECTED = "No agent is connected"


async def wait_for_line(terminal: Terminal, wanted: str, timeout: float = 30.0) -> str:
    return await asyncio.to_thread(terminal.expect, wanted, timeout)


async def test_telegram_customers_hear_agents_are_there_while_a_terminal_desk_runs(
    fake: FakeTelegram, settings: Settings, tmp_path: Path  # noqa: F811
) -> None:
    bot = await RunningBot(settings).start(fake)
    desk: Terminal | None = None
    try:
        early = fake.user(first_name="Ann", language_code="en")
        early.send_text("/human")
        await early.wait_for_bot_message(lambda m: NOT_CONNECTED in m["text"])  # nobody at a desk yet

        (tmp_path / "desk.toml").write_text(f'[bot]\ndesk_language = "en"\n[database]\nsqlite_file = "{settings.sqlite_file.name}"\n')
        desk = Terminal(["--config", "desk.toml", "desk", "--agent", "alice", "--no-prompt"], tmp_path, "desk")
        await wait_for_line(desk, en("terminal_desk.events_here"))
        await asyncio.sleep(5)  # the bot looks for a terminal desk every 2 s

        bob = fake.user(first_name="Bob", language_code="en")
        bob.send_text("/human")
        handed = await bob.wait_for_bot_message(lambda m: bool(re.search(r"T\d{6}", m["text"])))
        number = re.search(r"T\d{6}", handed["text"])
        assert number
        bob.send_text("/status")
        await bob.wait_for_bot_message(lambda m: en("status.header") in m["text"])
        assert not any(NOT_CONNECTED in text for text in bob.bot_texts())
        await wait_for_line(desk, number.group(0))  # bob's card reaches the terminal desk

        desk.type(f"open {number.group(0)}", "claim", "Hello Bob, Alice here.")
        await wait_for_line(desk, en("desk.done.replied", number=number.group(0)))
        said = await bob.wait_for_bot_message(lambda m: "Hello Bob, Alice here." in m["text"], timeout=10)
        assert said["text"] == en("agent.says", agent="alice", text="Hello Bob, Alice here.")
        desk.type("quit")
        assert await asyncio.to_thread(desk.close) == 0
    finally:
        if desk is not None and desk.process.poll() is None:
            desk.process.kill()
        await bot.stop()
