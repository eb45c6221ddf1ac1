"""The whole loop in two terminals: `complaint-bot chat` plays the customer and
`complaint-bot desk` the agent, as subprocesses on one SQLite file."""

from __future__ import annotations

import json
import os
import queue
import re
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from flows.texts import default_catalogue
from tests.e2e.test_console_chat import SCRIPT, run_bot

TEXTS = default_catalogue()
HOT = "吃了你们店的外卖全家拉肚子，要去医院了"  # health harm: hot, handed to a person at once


def en(key: str, **params: object) -> str:
    return TEXTS.text("en", key, **params)


class Terminal:
    """A command in a terminal: lines typed into it, lines read from it with a timeout."""

    def __init__(self, args: list[str], cwd: Path, name: str, **env: str) -> None:
        environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TELEGRAM_BOT_TOKEN", "SLACK_BOT_TOKEN", "COMPLAINT_BOT_CONFIG")}
        environment.update(env, PYTHONUNBUFFERED="1")
        self.name = name
        self.stderr = open(cwd / f"{name}.stderr", "w")  # noqa: SIM115 - closed in close()
        self.process = subprocess.Popen(
            [str(SCRIPT), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr,
            text=True, cwd=cwd, env=environment, bufsize=1,
        )  # fmt: skip
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def type(self, *lines: str) -> None:
        assert self.process.stdin is not None
        for line in lines:
            self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def expect(self, wanted: str | Callable[[str], bool], timeout: float = 30.0) -> str:
        """The next line that contains ``wanted`` (or satisfies it); fails after ``timeout`` seconds."""
        match = (lambda line: wanted in line) if isinstance(wanted, str) else wanted
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                line = self.lines.get(timeout=max(left, 0.01))
            except queue.Empty:
                line = ""
                left = 0
            if line is None or left <= 0:
                pytest.fail(f"{self.name} never printed {wanted!r}; it printed:\n" + "\n".join(self.seen) + self._errors())
            self.seen.append(line)
            if match(line):
                return line

    def _errors(self) -> str:
        self.stderr.flush()
        return "\nstderr:\n" + Path(self.stderr.name).read_text()

    def output(self) -> str:
        return "\n".join(self.seen)

    def close(self, timeout: float = 20.0) -> int:
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()
        try:
            code = self.process.wait(timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
            self.stderr.close()
        while (line := self.lines.get(timeout=5)) is not None:
            self.seen.append(line)
        return code


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    opened: list[Terminal] = []
    yield opened
    for terminal in opened:
        if terminal.process.poll() is None:
            terminal.process.kill()
            terminal.process.wait()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "complaint-bot.toml").write_text('[bot]\ndesk_language = "en"\n')
    return tmp_path


def open_terminal(terminals: list[Terminal], args: list[str], cwd: Path, name: str, **env: str) -> Terminal:
    terminal = Terminal(args, cwd, name, **env)
    terminals.append(terminal)
    return terminal


def test_a_hot_complaint_goes_round_the_whole_loop(folder: Path, terminals: list[Terminal]) -> None:
    photo = folder / "receipt.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    desk = open_terminal(terminals, ["desk", "--agent", "alice", "--supervisor", "--no-prompt"], folder, "desk")
    desk.expect(en("terminal_desk.welcome", agent="alice", role=en("terminal_desk.role_supervisor")))
    desk.expect(en("terminal_desk.events_here"))

    chat = open_terminal(terminals, ["chat", "--user", "lily", "--lang", "en", "--no-prompt"], folder, "chat")
    chat.expect("/complain")
    chat.type(HOT, "1", "1", "1", "13912345678", str(photo), "1", "1")  # yes the category, no order, no time, contact, photo, done, submit
    number = re.search(r"T\d{6}", chat.expect(lambda line: bool(re.search(r"T\d{6}", line))))
    assert number and number.group(0) == "T000001"

    # the desk shows the card (its photo by path) and the supervisors' ping
    desk.expect(lambda line: line.startswith("🆕"))
    desk.expect("T000001")
    desk.expect(str(photo.resolve()))
    offered = desk.expect(en("terminal_desk.actions"))
    assert "claim" in offered and "resolve" not in offered and "reply" not in offered
    ping = desk.expect(lambda line: line.startswith(en("terminal_desk.ping", text="")))
    assert "T000001" in ping

    desk.type("open T000001", "claim")
    desk.expect(en("desk.done.claimed", number="T000001"))
    chat.expect("alice")  # the customer hears who took the ticket
    desk.type("Sorry, we are calling you right now.")  # a line that is no command: a reply
    desk.expect(en("desk.done.replied", number="T000001"))
    chat.expect(en("agent.says", agent="alice", text="Sorry, we are calling you right now."))
    chat.type("We are at the hospital now")  # what the customer adds reaches the desk
    added = desk.expect("We are at the hospital now")
    assert added.startswith("💬 T000001")

    desk.type("resolve Refunded in full")
    desk.expect(en("desk.done.resolved", number="T000001"))
    chat.expect("Refunded in full")
    chat.expect(en("feedback.solved_question"))
    chat.type("1")  # [1] solved
    chat.expect(en("feedback.rate"))
    chat.type("5")  # [5] very happy
    chat.expect(en("feedback.comment"))
    chat.type("Quick and kind")
    chat.expect(en("feedback.thanks", number="T000001"))

    closed = desk.expect("🔒")
    assert "T000001" in closed and "5/5" in closed and "Quick and kind" in closed
    desk.type("quit")
    chat.type("/quit")
    assert desk.close() == 0 and chat.close() == 0
    assert "No agent is connected" not in chat.output()  # a terminal desk ran: agents were reachable

    db = sqlite3.connect(folder / "complaint-bot.db")
    assert db.execute("select state, owner_id, rating from tickets").fetchone() == ("closed", "alice", 5)
    unsent = db.execute("select channel, kind from outbox where status != 'sent'").fetchall()
    assert unsent == [], "every reply and desk event was printed and marked sent"


def test_a_wrong_action_gets_its_reason(folder: Path) -> None:
    filed = run_bot(["chat", "--user", "sam", "--lang", "en", "--no-prompt"], [HOT, "1", "1", "1", "13912345678", "1", "1"], folder)
    assert filed.returncode == 0, filed.stderr
    result = run_bot(
        ["desk", "--agent", "bob", "--no-prompt"],
        ["reply hello", "open T000001", "reply hello", "severity general", "resolve", "crisis", "transfer", "", "help"],
        folder,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert en("terminal_desk.no_ticket") in lines  # nothing open yet
    assert lines.count(en("desk.refusal.claim_first")) == 2  # reply, resolve before claiming
    assert lines.count(en("desk.refusal.supervisor_only")) == 2  # lowering the severity, a crisis
    assert en("terminal_desk.ask_transfer") in lines and en("terminal_desk.cancelled") in lines
    assert "Traceback" not in result.stdout + result.stderr
    assert en("terminal_desk.help").splitlines()[1] in lines
    db = sqlite3.connect(folder / "complaint-bot.db")
    assert db.execute("select state, owner_id, severity from tickets").fetchone() == ("new", None, "hot")


def test_with_slack_configured_the_desk_works_on_tickets_and_leaves_the_events_to_slack(folder: Path) -> None:
    filed = run_bot(["chat", "--user", "sam", "--lang", "en", "--no-prompt"], ["/human"], folder)
    assert filed.returncode == 0, filed.stderr
    (folder / "complaint-bot.toml").write_text(
        '[bot]\ndesk_language = "en"\n[slack]\nagents_channel = "C0AGENTS"\nagents = ["U0ALICE"]\n'
    )
    result = run_bot(
        ["desk", "--agent", "alice", "--no-prompt"], ["queue", "1", "claim"], folder,
        SLACK_BOT_TOKEN="xoxb-not-used", SLACK_APP_TOKEN="xapp-not-used",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert en("terminal_desk.events_slack") in result.stdout
    assert "T000001" in result.stdout and en("desk.done.claimed", number="T000001") in result.stdout
    db = sqlite3.connect(folder / "complaint-bot.db")
    pending = db.execute("select count(*) from outbox where channel = 'desk' and status = 'pending'").fetchone()[0]
    assert pending >= 2, "the desk's events wait for Slack"


def test_a_second_desk_terminal_stands_by_and_takes_over(folder: Path, terminals: list[Terminal]) -> None:
    first = open_terminal(terminals, ["desk", "--agent", "alice", "--no-prompt"], folder, "first")
    first.expect(en("terminal_desk.events_here"))
    second = open_terminal(terminals, ["desk", "--agent", "bob", "--no-prompt"], folder, "second")
    standing_by = second.expect("alice@")
    assert standing_by == en("terminal_desk.events_elsewhere", holder=standing_by.split("(")[1].split(")")[0])
    first.type("quit")
    assert first.close() == 0
    second.expect(en("terminal_desk.events_taken_over"), timeout=20)
    second.type("quit")
    assert second.close() == 0


def _to_customer(folder: Path) -> list[str]:
    """The texts queued for the customer's terminal chat, in order."""
    db = sqlite3.connect(folder / "complaint-bot.db")
    rows = db.execute("select payload from outbox where channel = 'console' order by id").fetchall()
    return [str(json.loads(payload).get("text", "")) for (payload,) in rows]


def test_new_user_slips_at_the_desk_send_nothing_to_the_customer(folder: Path) -> None:
    """A repeated command word after a prompt, a transfer to a name never seen here, a
    mistyped command, a lone word: each is caught before it reaches the customer."""
    filed = run_bot(["chat", "--user", "sam", "--lang", "en", "--no-prompt"], [HOT, "1", "1", "1", "13912345678", "1", "1"], folder)
    assert filed.returncode == 0, filed.stderr
    before = _to_customer(folder)
    result = run_bot(
        ["desk", "--agent", "bob", "--no-prompt"],
        ["open T000001", "claim", "transfer", "transfer nobody_xyz", "2", "reslove 已退款", "frobnicate", "我们已经退款了"],
        folder,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert en("terminal_desk.ask_transfer") in lines
    assert en("terminal_desk.new_colleague", name="nobody_xyz") in lines and en("terminal_desk.cancelled") in lines
    assert en("terminal_desk.did_you_mean", command="resolve") in lines
    assert en("terminal_desk.not_sent", word="frobnicate") in lines
    db = sqlite3.connect(folder / "complaint-bot.db")
    assert db.execute("select state, owner_id from tickets").fetchone() == ("claimed", "bob")
    sent = _to_customer(folder)[len(before):]
    assert not any("reslove" in text or "frobnicate" in text or "transfer" in text.lower() for text in sent), sent
    assert sent[-1].endswith("我们已经退款了"), sent
    # a supervisor steps in with a reply on bob's ticket, as the refusal text says she may
    supervisor = run_bot(["desk", "--agent", "alice", "--supervisor", "--no-prompt"], ["open T000001", "reply 我们再看看"], folder)
    assert supervisor.returncode == 0, supervisor.stderr
    assert "owns this ticket" not in supervisor.stdout
    assert _to_customer(folder)[-1].endswith("我们再看看")
    assert db.execute("select owner_id from tickets").fetchone() == ("bob",)
