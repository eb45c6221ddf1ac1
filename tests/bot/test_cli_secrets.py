"""`complaint-bot` never prints a token or the database password: not in a configuration
error, not in a log line, not in the traceback of an unexpected error; and the report
files it writes with customers' data are readable by their owner only."""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import stat
import pytest
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.cli import _write_report
from bot.config import Settings
from tests.e2e.test_console_chat import run_bot

PASSWORD = "S3cret-Pa55word"
TELEGRAM_TOKEN = "7301234567:AAF-fake_token_for_the_tests_only_x9"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_db_commands_fail_fast_and_do_not_print_the_password(tmp_path: Path) -> None:
    port = _closed_port()
    for action in ("current", "upgrade"):
        result = run_bot(["-vv", "db", action], [], tmp_path, DATABASE_URL=f"postgresql://bot:{PASSWORD}@127.0.0.1:{port}/bot")
        assert result.returncode == 2, result.stderr
        assert (
            f"complaint-bot db {action}: DATABASE_URL: cannot reach the database at "
            f"postgresql://bot:***@127.0.0.1:{port}/bot (ConnectionRefusedError: "
        ) in result.stderr
        assert PASSWORD not in result.stderr + result.stdout


def test_an_unparseable_database_url_is_not_echoed_with_its_password(tmp_path: Path) -> None:
    result = run_bot(["db", "current"], [], tmp_path, DATABASE_URL=f"mysql://bot:{PASSWORD}@127.0.0.1/bot")
    assert result.returncode == 2
    assert "unsupported database 'mysql'" in result.stderr
    assert PASSWORD not in result.stderr


def test_log_lines_and_unexpected_errors_are_redacted(tmp_path: Path) -> None:
    # the CLI's own set-up (basicConfig + redaction) with a command that logs the token
    # and then fails with it in the exception's text
    program = f"""
import logging, sys
import bot.cli as cli

def diagram(args):
    logging.getLogger("httpx").warning("HTTP Request: POST %s", "https://api.telegram.org/bot{TELEGRAM_TOKEN}/getMe")
    raise RuntimeError("Bot API at https://api.telegram.org/bot{TELEGRAM_TOKEN}/getMe refused")

cli._diagram = diagram
sys.exit(cli.main(["diagram", "--stdout"]))
"""
    environment = {k: v for k, v in os.environ.items() if k != "COMPLAINT_BOT_CONFIG"}
    environment["TELEGRAM_BOT_TOKEN"] = TELEGRAM_TOKEN
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, cwd=tmp_path, env=environment, timeout=60
    )
    assert result.returncode == 1
    assert "WARNING httpx: HTTP Request: POST https://api.telegram.org/bot***/getMe" in result.stderr
    assert "CRITICAL complaint_bot: complaint-bot stopped by an unexpected error" in result.stderr
    assert "RuntimeError: Bot API at https://api.telegram.org/bot***/getMe refused" in result.stderr
    assert TELEGRAM_TOKEN not in result.stderr + result.stdout
    assert "AAF-fake_token_for_the_tests_only_x9" not in result.stderr


async def test_report_files_are_created_readable_by_their_owner_only(tmp_path: Path, sqlite_template: Path) -> None:
    shutil.copy(sqlite_template, tmp_path / "bot.db")
    settings = Settings(sqlite_file=tmp_path / "bot.db")
    args = argparse.Namespace(csv=tmp_path / "week.csv", chart=tmp_path / "week.png", lang="en", top=3, due_within=4.0)
    old_umask = os.umask(0o022)  # would give 0644
    try:
        code = await _write_report(settings, args, datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 8, tzinfo=UTC))
    finally:
        os.umask(old_umask)
    assert code == 0
    for path in (args.csv, args.chart):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert args.csv.read_text(encoding="utf-8-sig").startswith("section,key,metric,value")
    assert args.chart.read_bytes().startswith(b"\x89PNG")


# ---------------------------------------------------------------- #11 point 14: db commands
def _one_clean_line(result: subprocess.CompletedProcess[str], heading: str = "complaint-bot: configuration error: ") -> str:
    """The command failed with one error line under ``heading`` and no traceback."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(heading), result.stderr
    return lines[0]


def _cannot(result: subprocess.CompletedProcess[str], heading: str) -> str:
    """One clean line "<heading>: <error>" (the database or a platform failed, not a
    setting: "complaint-bot: cannot start", "complaint-bot db upgrade"); the error."""
    return _one_clean_line(result, f"{heading}: ").removeprefix(f"{heading}: ")


def test_db_commands_on_a_sqlite_file_in_a_missing_folder(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "folder" / "bot.db"
    config = tmp_path / "bot.toml"
    config.write_text(f'[database]\nsqlite_file = "{missing}"\n', encoding="utf-8")
    line = _one_clean_line(run_bot(["--config", str(config), "db", "current"], [], tmp_path))
    assert line == (
        f"complaint-bot: configuration error: database.sqlite_file: there is no database at {missing}. "
        "Point it at the bot's database file, or create one with `complaint-bot db upgrade`."
    )
    assert not (tmp_path / "no").exists(), "reading the revision created nothing"
    line = _one_clean_line(run_bot(["db", "current"], [], tmp_path, DATABASE_URL=f"sqlite:///{missing}"))
    assert line.startswith(f"complaint-bot: configuration error: DATABASE_URL: there is no database at {missing}.")
    # upgrade creates it, as `run` does with the embedded database
    upgraded = run_bot(["--config", str(config), "db", "upgrade"], [], tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert missing.exists()
    current = run_bot(["--config", str(config), "db", "current"], [], tmp_path)
    assert current.returncode == 0 and current.stdout.startswith(f"database {missing}: current 0"), current


def test_db_commands_on_a_sqlite_file_whose_folder_cannot_be_made_give_runs_error(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder", encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'a-file' / 'bot.db'}"
    current = _one_clean_line(run_bot(["db", "current"], [], tmp_path, DATABASE_URL=url))
    upgrade = _cannot(run_bot(["db", "upgrade"], [], tmp_path, DATABASE_URL=url), "complaint-bot db upgrade")
    chat = run_bot(["chat", "--user", "x", "--no-prompt"], [], tmp_path, DATABASE_URL=url)
    assert upgrade == _cannot(chat, "complaint-bot: cannot start"), "one definition of the error, whichever command"
    assert "there is no database at" in current
    assert f"cannot open the database at {url} (" in upgrade


def _postgresql(database: str, password: str | None = None) -> str:
    """The test server's URL for another database (and with a password; the test server
    trusts local connections, so any password is accepted)."""
    from sqlalchemy.engine import make_url

    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("TEST_DATABASE_URL is not set")
    parsed = make_url(url).set(database=database)
    if password is not None:
        parsed = parsed.set(password=password)
    return parsed.render_as_string(hide_password=False)


def test_db_commands_on_a_postgresql_database_that_does_not_exist(tmp_path: Path) -> None:
    url = _postgresql("no_such_database_ops", PASSWORD)
    for action in ("current", "upgrade"):
        line = _cannot(run_bot(["db", action], [], tmp_path, DATABASE_URL=url), f"complaint-bot db {action}")
        assert "cannot open the database at postgresql://" in line
        assert ':***@' in line and 'database "no_such_database_ops" does not exist' in line
        assert PASSWORD not in line
    chat = run_bot(["chat", "--user", "x", "--no-prompt"], [], tmp_path, DATABASE_URL=url)
    assert _cannot(chat, "complaint-bot: cannot start") == line, "the same error as the bot itself gives"


# ---------------------------------------------------------------- #11 point 16: passwords
SLASHED = "pa55/w0rd@home"  # a / and an @ in the password, as people type them into URLs


def test_an_unreadable_database_url_does_not_echo_a_password_with_a_slash(tmp_path: Path) -> None:
    for url in (f"postgresql://bot:{SLASHED}@127.0.0.1:notaport/bot", f"mysql://bot:{SLASHED}@127.0.0.1/bot"):
        line = _one_clean_line(run_bot(["db", "current"], [], tmp_path, DATABASE_URL=url))
        assert "bot:***@" in line
        for part in ("pa55", "w0rd"):
            assert part not in line


def test_a_database_url_given_as_the_config_file_is_masked(tmp_path: Path) -> None:
    line = _one_clean_line(run_bot(["--config", f"postgresql://bot:{PASSWORD}@db/bot", "db", "current"], [], tmp_path))
    assert line.startswith("complaint-bot: configuration error: --config: file postgresql:/bot:***@db/bot does not exist.")
    assert PASSWORD not in line


def test_a_password_in_the_config_file_is_masked(tmp_path: Path) -> None:
    config = tmp_path / "bot.toml"
    config.write_text(f'[telegram]\nwebhook_url = "ftp://hook:{SLASHED}@bot.example.com/telegram"\n', encoding="utf-8")
    line = _one_clean_line(run_bot(["--config", str(config), "db", "current"], [], tmp_path))
    assert line.startswith("complaint-bot: configuration error: telegram.webhook_url: 'ftp://hook:***@bot.example.com/telegram'")
    assert "pa55" not in line and "w0rd" not in line


def test_db_current_names_the_database_without_its_password(tmp_path: Path) -> None:
    from storage.migrate import head_revision

    url = _postgresql("postgres", PASSWORD)  # on every server, and never migrated: no revision
    result = run_bot(["db", "current"], [], tmp_path, DATABASE_URL=url)
    assert result.returncode == 1, result.stderr
    assert result.stdout == f"database {url.replace(PASSWORD, '***')}: current none, head {head_revision()}\n"
    assert PASSWORD not in result.stdout + result.stderr


def test_the_terminal_banner_names_the_database_without_its_password(tmp_path: Path) -> None:
    """`run` without tokens: the banner shows which database, then it waits for it."""
    import signal
    import time

    port = _closed_port()
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TELEGRAM_BOT_TOKEN", "SLACK_BOT_TOKEN", "COMPLAINT_BOT_CONFIG")}
    environment["DATABASE_URL"] = f"postgresql://bot:pa55/w0rd@127.0.0.1:{port}/bot"
    script = Path(sys.executable).with_name("complaint-bot")
    process = subprocess.Popen(
        [str(script), "run"], cwd=tmp_path, env=environment, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        deadline = time.monotonic() + 30
        waiting = ""
        while "waiting for the database" not in waiting and time.monotonic() < deadline:
            waiting = process.stderr.readline()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert f"  Database: postgresql://bot:***@127.0.0.1:{port}/bot (DATABASE_URL)" in out
    assert f"waiting for the database at postgresql://bot:***@127.0.0.1:{port}/bot" in waiting
    for part in ("pa55", "w0rd"):
        assert part not in out + waiting + err


def test_db_commands_with_libpq_url_options_give_one_line(tmp_path: Path) -> None:
    port = _closed_port()
    for action in ("current", "upgrade"):
        result = run_bot(["db", action], [], tmp_path, DATABASE_URL=f"postgresql://bot:{PASSWORD}@127.0.0.1:{port}/bot?sslmode=require")
        assert "cannot reach the database at" in _cannot(result, f"complaint-bot db {action}")
        result = run_bot(["db", action], [], tmp_path, DATABASE_URL=f"postgresql://bot:{PASSWORD}@127.0.0.1:{port}/bot?sslmode=prefer&application_name=bot")
        assert "unknown option application_name in" in _one_clean_line(result)
        assert PASSWORD not in result.stderr
