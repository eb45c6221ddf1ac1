"""Keys and pastes at a real terminal: Ctrl-C leaves `complaint-bot chat` and
`complaint-bot desk` like Ctrl-D, and a multi-line paste arrives as one message."""

from __future__ import annotations

import os
import select
import sqlite3
import termios
import time
from pathlib import Path

from flows.texts import default_catalogue
from tests.e2e.test_console_chat import installed, run_bot  # noqa: F401 - the fixture checks the install
from tests.e2e.test_console_terminal import Terminal

TEXTS = default_catalogue()
BYE = "Bye. Your conversation is saved"


def _ended(terminal: Terminal, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while terminal.process.poll() is None:
        assert time.monotonic() < deadline, f"still running; the terminal shows:\n{terminal.screen()[-2000:]}"
        terminal._pump(0.2)
    return terminal.process.returncode


def _inbound(folder: Path) -> list[tuple[str, str]]:
    db = sqlite3.connect(folder / "complaint-bot.db")
    return [(kind, text) for kind, text in db.execute("select kind, text from messages where direction='in' order by id")]


def test_ctrl_c_at_the_chat_prompt_says_goodbye_and_ends(tmp_path: Path) -> None:
    terminal = Terminal(["chat", "--user", "tao"], tmp_path)
    prompt = terminal.wait_for("you> ")
    terminal.type("外卖送错了，不是我点的菜\r")
    terminal.wait_for("you> ", terminal.wait_for("[2] 选择其他类型", prompt))
    terminal.type("\x03")
    assert _ended(terminal) in (0, 130)
    assert BYE in terminal.screen()
    lflag = termios.tcgetattr(terminal.master)[3]
    assert lflag & termios.ICANON and lflag & termios.ECHO, "the terminal's line mode and echo are back"
    assert ("text", "外卖送错了，不是我点的菜") in _inbound(tmp_path), "the conversation is saved"
    again = run_bot(["chat", "--user", "tao", "--no-prompt"], ["1"], tmp_path)
    assert TEXTS.text("zh", "details.order") in again.stdout, "and goes on where it was"


def test_ctrl_c_with_the_output_redirected_ends_too(tmp_path: Path) -> None:
    terminal = Terminal(["chat", "--user", "tao", "--no-prompt"], tmp_path, stdout_to_pipe=True)
    assert terminal.process.stdout is not None
    out = terminal.process.stdout.fileno()
    printed = b""
    deadline = time.monotonic() + 60
    while "我要投诉".encode() not in printed:  # the welcome is printed: the chat waits for a line
        assert time.monotonic() < deadline, printed.decode(errors="replace")
        if select.select([out], [], [], 0.5)[0]:
            printed += os.read(out, 65536)
    terminal.type("\x03")
    assert _ended(terminal) in (0, 130), terminal.process.stderr.read().decode()
    assert BYE in (printed + terminal.process.stdout.read()).decode()


def test_ctrl_c_at_the_desk_prompt_says_goodbye_and_ends(tmp_path: Path) -> None:
    (tmp_path / "complaint-bot.toml").write_text('[bot]\ndesk_language = "en"\n')
    run_bot(["chat", "--user", "tao", "--no-prompt"], ["外卖送错了，不是我点的菜"], tmp_path)
    terminal = Terminal(["desk", "--agent", "ann"], tmp_path)
    prompt = terminal.wait_for("desk> ")
    terminal.type("queue\r")
    terminal.wait_for("desk> ", prompt)
    terminal.type("\x03")
    assert _ended(terminal) in (0, 130)
    assert TEXTS.text("en", "terminal_desk.bye") in terminal.screen()


def test_a_multi_line_paste_is_one_message_and_typed_lines_stay_separate(tmp_path: Path) -> None:
    terminal = Terminal(["chat", "--user", "tao"], tmp_path)
    prompt = terminal.wait_for("you> ")
    pasted = ["网上买的台灯收到就是坏的，", "开关按了没反应，", "订单号是 JD-2026-0001。"]
    terminal.type("\r".join(pasted) + "\r")  # one write: as a terminal passes on a paste
    asked = terminal.wait_for("[2] 选择其他类型", prompt)
    terminal.wait_for("you> ", asked)
    time.sleep(0.5)
    assert terminal.screen().count("[2] 选择其他类型") == 1, "the category is asked once"
    assert TEXTS.text("zh", "photos.text_added")[:6] not in terminal.screen()
    terminal.type("补充一下：是昨天收到的\r")
    terminal.wait_for("you> ", terminal.wait_for("bot> ", asked))
    terminal.finish()
    texts = [text for kind, text in _inbound(tmp_path) if kind == "text"]
    assert texts == ["\n".join(pasted), "补充一下：是昨天收到的"]


def test_lines_through_a_pipe_stay_one_message_each(tmp_path: Path) -> None:
    result = run_bot(["chat", "--user", "tao", "--no-prompt"], ["外卖送错了，不是我点的菜", "还洒了一半"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert [text for kind, text in _inbound(tmp_path) if kind == "text"] == ["外卖送错了，不是我点的菜", "还洒了一半"]
