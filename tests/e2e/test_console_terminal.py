"""The terminal chat at a real terminal: `complaint-bot chat` on a pseudo-terminal (and
through pipes) — long pasted lines, paths of files that do not exist, a restart."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import sqlite3
import struct
import subprocess
import termios
import time
from pathlib import Path
from typing import IO

from flows.texts import default_catalogue
from tests.e2e.test_console_chat import SCRIPT, installed, run_bot  # noqa: F401 - the fixture checks the install

TEXTS = default_catalogue()
# a pasted complaint of 9,600 characters (28,800 bytes in UTF-8): the terminal's canonical
# mode passes on 4,095 bytes of a line, 1,365 of these characters
LONG = ("网上买的台灯收到就是坏的，开关按了没反应。" * 500)[:9600]


def _environment(**extra: str) -> dict[str, str]:
    drop = ("DATABASE_URL", "TELEGRAM_BOT_TOKEN", "SLACK_BOT_TOKEN", "COMPLAINT_BOT_CONFIG", "COMPLAINT_BOT_LAUNCHER")
    environment = {k: v for k, v in os.environ.items() if k not in drop}
    environment.update(TERM="dumb", LANG="C.UTF-8", LC_ALL="C.UTF-8", **extra)
    return environment


class Terminal:
    """`complaint-bot ARGS` with a pseudo-terminal as its stdin (and as its stdout, unless
    ``stdout_to_pipe``), typed into as a person at a terminal types."""

    def __init__(self, args: list[str], cwd: Path, *, stdout_to_pipe: bool = False) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        self.shown = bytearray()  # what the terminal shows (echo, and the output unless piped)
        self.process = subprocess.Popen(
            [str(SCRIPT), *args],
            stdin=slave,
            stdout=subprocess.PIPE if stdout_to_pipe else slave,
            stderr=subprocess.PIPE if stdout_to_pipe else slave,
            cwd=cwd,
            env=_environment(),
            start_new_session=True,
            preexec_fn=_controlling_terminal,  # so that Ctrl-C is a SIGINT, as at a real terminal
        )
        os.close(slave)

    def _pump(self, timeout: float, pending: bytes = b"") -> bytes:
        """Show what the terminal has to show; type as much of ``pending`` as it takes."""
        writers = [self.master] if pending else []
        readable, writable, _ = select.select([self.master], writers, [], timeout)
        if readable:
            try:
                self.shown += os.read(self.master, 65536)
            except OSError:  # the program ended and closed the terminal
                pass
        if writable:
            pending = pending[os.write(self.master, pending[:1024]) :]
        return pending

    def type(self, text: str) -> None:
        pending = text.encode()
        deadline = time.monotonic() + 60
        while pending:
            assert time.monotonic() < deadline, "the terminal stopped taking input"
            pending = self._pump(0.5, pending)

    def wait_for(self, text: str, after: int = 0) -> int:
        """Wait until ``text`` is shown (after position ``after``); where it ends."""
        wanted = text.encode()
        deadline = time.monotonic() + 60
        while (found := self.shown.find(wanted, after)) < 0:
            assert time.monotonic() < deadline, f"{text!r} not shown; the terminal shows:\n{self.screen()[-3000:]}"
            self._pump(0.5)
        return found + len(wanted)

    def screen(self) -> str:
        return self.shown.decode(errors="replace")

    def finish(self) -> tuple[str, str]:
        """Ctrl-D (at the prompt: wait for it first, or the terminal may lose it when readline
        takes over); what went to stdout and stderr when they were pipes."""
        self.type("\x04")
        deadline = time.monotonic() + 60
        while self.process.poll() is None:
            assert time.monotonic() < deadline, "Ctrl-D did not end the chat"
            self._pump(0.2)
        os.close(self.master)
        return _read(self.process.stdout), _read(self.process.stderr)


def _controlling_terminal() -> None:
    """In the child, a session leader by now: its stdin (the pty) becomes its controlling terminal."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _read(stream: IO[bytes] | None) -> str:
    return stream.read().decode() if stream is not None else ""


def _typed_texts(folder: Path) -> list[str]:
    db = sqlite3.connect(folder / "complaint-bot.db")
    return [row[0] for row in db.execute("select text from messages where direction='in' and kind='text' order by id")]


def test_a_long_line_typed_at_a_terminal_arrives_whole(tmp_path: Path) -> None:
    terminal = Terminal(["chat", "--user", "tao"], tmp_path)
    prompt = terminal.wait_for("you> ")
    terminal.type(LONG + "\r")
    answered = terminal.wait_for(TEXTS.text("zh", "describe.thanks"), prompt)
    terminal.wait_for("you> ", answered)
    terminal.finish()
    assert "Bye." in terminal.screen()
    assert _typed_texts(tmp_path) == [LONG]
    assert TEXTS.text("zh", "console.line_cut", kept=1365)[:8] not in terminal.screen()


def test_a_long_line_through_a_pipe_arrives_whole(tmp_path: Path) -> None:
    result = run_bot(["chat", "--user", "tao", "--no-prompt"], [LONG], tmp_path)
    assert result.returncode == 0, result.stderr
    assert _typed_texts(tmp_path) == [LONG]


def test_a_line_the_terminal_cut_is_saved_and_the_customer_told(tmp_path: Path) -> None:
    """Output redirected, so no readline: the terminal's line limit applies, and is said."""
    terminal = Terminal(["chat", "--user", "tao", "--no-prompt"], tmp_path, stdout_to_pipe=True)
    terminal.type(LONG + "\r")
    out, err = terminal.finish()
    [kept] = _typed_texts(tmp_path)
    assert 0 < len(kept) < len(LONG) and LONG.startswith(kept), "the terminal cuts the line (canonical mode)"
    assert TEXTS.text("zh", "console.line_cut", kept=len(kept)) in out, out + err
    assert TEXTS.text("zh", "describe.thanks") in out, "what arrived is the description"


def test_a_path_to_a_missing_file_is_answered_file_not_found_and_not_added(tmp_path: Path) -> None:
    photo = tmp_path / "lamp.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    missing = [str(tmp_path / "nothere.jpg"), "~/no-such-folder-here/receipt.png", "./gone.pdf", "invoice.pdf"]
    typed = [
        "网上买的台灯收到就是坏的，开关按了没反应",
        *missing,  # at the question "is it 商品质量?": the buttons stay as they are
        "1",  # [1] yes
        f"/photo {tmp_path / 'also-missing.jpg'}",
        f"'{photo}'",  # dragged into the terminal: quoted, and it exists
    ]
    result = run_bot(["chat", "--user", "ming", "--no-prompt"], typed, tmp_path)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    for path in [*missing, str(tmp_path / "also-missing.jpg")]:
        assert TEXTS.text("zh", "console.file_not_found", path=path) in out
    assert "不认识命令" not in out
    assert TEXTS.text("zh", "details.order") in out, "1 still answered the category question"
    db = sqlite3.connect(tmp_path / "complaint-bot.db")
    stored = [row[0] for row in db.execute("select text from messages where direction='in'")]
    assert not any("gone" in text or "missing" in text or "nothere" in text for text in stored)
    assert _typed_texts(tmp_path) == [typed[0]]
    kinds = [row[0] for row in db.execute("select kind from messages where direction='in' order by id")]
    assert kinds[-1] == "photo", "the quoted path of an existing file is a photo"


def test_file_not_found_in_the_customers_language(tmp_path: Path) -> None:
    result = run_bot(["chat", "--user", "amy", "--lang", "en", "--no-prompt"], ["/tmp/no/such/photo.jpg"], tmp_path)
    assert TEXTS.text("en", "console.file_not_found", path="/tmp/no/such/photo.jpg") in result.stdout
    assert "File not found: /tmp/no/such/photo.jpg" in result.stdout


def test_a_restart_shows_only_the_pending_question_with_its_own_numbers(tmp_path: Path) -> None:
    run_bot(["chat", "--user", "kim", "--no-prompt"], ["外卖送错了，不是我点的菜"], tmp_path)
    second = run_bot(["chat", "--user", "kim", "--no-prompt"], ["1"], tmp_path)
    out = second.stdout
    assert second.returncode == 0, second.stderr
    assert out.startswith("bot> " + TEXTS.text("zh", "welcome_back")), out
    assert TEXTS.text("zh", "welcome")[:10] not in out and "我要投诉" not in out
    assert "[1] ✅ 是的   [2] 选择其他类型" in out
    assert TEXTS.text("zh", "details.order") in out, "typing 1 confirmed the category"


def test_a_restart_at_a_terminal_resumes_where_it_was(tmp_path: Path) -> None:
    first = Terminal(["chat", "--user", "kim"], tmp_path)
    first.type("外卖送错了，不是我点的菜\r")
    first.wait_for("you> ", first.wait_for("[2] 选择其他类型"))
    first.finish()
    second = Terminal(["chat", "--user", "kim"], tmp_path)
    prompt = second.wait_for("you> ")
    second.type("1\r")
    second.wait_for("you> ", second.wait_for(TEXTS.text("zh", "details.order"), prompt))
    second.finish()
    assert "我要投诉" not in second.screen() and "[1] ✅ 是的" in second.screen()
