"""What an operator reads (#11, operator review): a database or a platform that fails is
"cannot start" (or the db command's name), not a configuration error; hints fit the
backend; the default Telegram address is not blamed on a setting nobody set; the database
is shown as it was given; a new SQLite database is announced; -v is not flooded with
alembic's set-up lines. Subprocesses of the installed ``complaint-bot``; nothing but
127.0.0.1 is contacted."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
from pathlib import Path

from telegram.error import NetworkError

from bot.runner import platform_unreachable
from tests.e2e.test_console_chat import run_bot


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _last_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result.stderr.strip().splitlines()[-1]


# ---------------------------------------------------------------- 1: cannot start, not a config error
def test_a_database_that_is_down_cannot_start_and_is_no_configuration_error(tmp_path: Path) -> None:
    url = f"postgresql://bot@127.0.0.1:{_closed_port()}/bot"
    for command, heading in ((["chat", "--no-prompt"], "complaint-bot: cannot start: "),
                             (["desk", "--no-prompt"], "complaint-bot: cannot start: "),
                             (["db", "upgrade"], "complaint-bot db upgrade: "),
                             (["db", "current"], "complaint-bot db current: ")):  # fmt: skip
        line = _last_line(run_bot(command, [], tmp_path, DATABASE_URL=url))
        assert line.startswith(f"{heading}DATABASE_URL: cannot reach the database at {url} (ConnectionRefusedError"), line
        assert "configuration error" not in line
    # a real mistake in the settings still is one
    line = _last_line(run_bot(["chat"], [], tmp_path, DATABASE_URL="mysql://bot@127.0.0.1/bot"))
    assert line.startswith("complaint-bot: configuration error: DATABASE_URL: unsupported database 'mysql'"), line


def test_a_bot_api_that_refuses_cannot_start(tmp_path: Path) -> None:
    """3, the address set: TELEGRAM_API_BASE_URL is named, and the address it holds."""
    url = f"http://127.0.0.1:{_closed_port()}/"
    token = "987654321:AAH-another_bots_token_0123456789abc"
    line = _last_line(run_bot(["run"], [], tmp_path, TELEGRAM_BOT_TOKEN=token, TELEGRAM_API_BASE_URL=url))
    assert line.startswith(f"complaint-bot: cannot start: TELEGRAM_API_BASE_URL: cannot reach the Telegram Bot API at {url} ("), line
    assert "Check that address" in line and token not in line


# ---------------------------------------------------------------- 3: the default address names no setting
def test_the_default_bot_api_unreachable_blames_no_setting() -> None:
    failure = NetworkError("httpx.ConnectError: [Errno -3] Temporary failure in name resolution")
    error = platform_unreachable("Telegram Bot API", "TELEGRAM_API_BASE_URL", None, "api.telegram.org", failure)
    assert error.kind == "cannot start" and error.setting is None
    assert "TELEGRAM_API_BASE_URL" not in str(error)
    assert str(error).startswith("cannot reach the Telegram Bot API (api.telegram.org): ")
    assert "Temporary failure in name resolution" in str(error) and "proxy" in str(error)
    # with the address set, that setting and its address are named, password masked
    named = platform_unreachable("Telegram Bot API", "TELEGRAM_API_BASE_URL", "http://u:pw@10.0.0.9:8081/", "api.telegram.org", failure)
    assert str(named).startswith("TELEGRAM_API_BASE_URL: cannot reach the Telegram Bot API at http://u:***@10.0.0.9:8081/ (")


# ---------------------------------------------------------------- 2: hints that fit the backend
def test_sqlite_errors_say_nothing_of_a_server(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder", encoding="utf-8")
    unusable = tmp_path / "a-file" / "bot.db"
    not_a_database = tmp_path / "notes.db"
    not_a_database.write_text("these are my notes, not a database\n" * 100, encoding="utf-8")
    for path in (unusable, not_a_database):
        config = tmp_path / "bot.toml"
        config.write_text(f'[database]\nsqlite_file = "{path}"\n', encoding="utf-8")
        line = _last_line(run_bot(["--config", str(config), "chat", "--no-prompt"], [], tmp_path))
        assert line.startswith(f"complaint-bot: cannot start: database.sqlite_file: cannot open the database at {path} ("), line
        assert "server" not in line and "sqlite+aiosqlite" not in line
        assert "folder" in line and "SQLite database" in line


def test_a_locked_sqlite_file_is_busy_not_an_unreachable_server(tmp_path: Path) -> None:
    database = tmp_path / "bot.db"
    assert run_bot(["db", "upgrade"], [], tmp_path, DATABASE_URL=f"sqlite:///{database}").returncode == 0
    config = tmp_path / "bot.toml"
    config.write_text(f'[database]\nsqlite_file = "{database}"\nbusy_timeout = "1s"\n', encoding="utf-8")
    holder = sqlite3.connect(database, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")  # another program holds the file
        line = _last_line(run_bot(["--config", str(config), "chat", "--no-prompt"], [], tmp_path))
    finally:
        holder.close()
    assert line.startswith(f"complaint-bot: cannot start: database.sqlite_file: the database file {database} is busy ("), line
    assert "server" not in line and "locked" in line


def test_postgresql_errors_point_at_the_server_and_the_url(tmp_path: Path) -> None:
    line = _last_line(run_bot(["db", "current"], [], tmp_path, DATABASE_URL=f"postgresql://bot@127.0.0.1:{_closed_port()}/bot"))
    assert line.endswith("Check that the database server is running and reachable at that address."), line


# ---------------------------------------------------------------- 4 and 5: the database as given, new ones said
def test_db_commands_show_the_database_as_it_was_given(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    result = run_bot(["db", "upgrade"], [], tmp_path, DATABASE_URL="sqlite:///data/bot.db")
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("database sqlite:///data/bot.db at revision " + result.stdout.rsplit(" ", 1)[-1])
    current = run_bot(["db", "current"], [], tmp_path, DATABASE_URL="sqlite:///data/bot.db")
    assert current.stdout.startswith("database sqlite:///data/bot.db: current "), current.stdout
    config = tmp_path / "bot.toml"
    config.write_text('[database]\nsqlite_file = "data/bot.db"\n', encoding="utf-8")
    current = run_bot(["--config", str(config), "db", "current"], [], tmp_path)
    assert current.stdout.startswith(f"database {folder / 'bot.db'}: current "), current.stdout
    assert "aiosqlite" not in result.stdout + current.stdout


def test_db_upgrade_says_it_created_a_new_database_and_its_folder(tmp_path: Path) -> None:
    typo = tmp_path / "dta" / "bot.db"
    config = tmp_path / "bot.toml"
    config.write_text(f'[database]\nsqlite_file = "{typo}"\n', encoding="utf-8")
    first = run_bot(["--config", str(config), "db", "upgrade"], [], tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[0] == (
        f"created a new database at {typo} (its folder {typo.parent} did not exist: created too)"
    )
    again = run_bot(["--config", str(config), "db", "upgrade"], [], tmp_path)
    assert "created" not in again.stdout and again.stdout.startswith(f"database {typo} at revision ")
    beside = tmp_path / "beside.db"  # in a folder that exists: the file only
    result = run_bot(["db", "upgrade"], [], tmp_path, DATABASE_URL=f"sqlite:///{beside}")
    assert result.stdout.splitlines()[0] == f"created a new database at {beside}"


def test_the_bot_says_it_created_a_new_database_too(tmp_path: Path) -> None:
    result = run_bot(["chat", "--user", "lily", "--no-prompt"], [], tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"complaint-bot: created a new database at {tmp_path / 'complaint-bot.db'}" in result.stderr
    again = run_bot(["chat", "--user", "lily", "--no-prompt"], [], tmp_path)
    assert "created" not in again.stderr


# ---------------------------------------------------------------- 6: -v without alembic's set-up chatter
def test_verbose_shows_the_migrations_and_leaves_alembics_setup_to_vv(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    verbose = run_bot(["-v", "db", "upgrade"], [], tmp_path, DATABASE_URL=url)
    assert verbose.returncode == 0, verbose.stderr
    assert "Running upgrade  -> 0001" in verbose.stderr  # what -v is for
    for chatter in ("alembic.runtime.plugins", "setup plugin", "Context impl", "Will assume"):
        assert chatter not in verbose.stderr, chatter
    debug = run_bot(["db", "current", "-vv"], [], tmp_path, DATABASE_URL=url)
    assert "INFO alembic.runtime.plugins: setup plugin" in debug.stderr
    assert "Context impl SQLiteImpl" in debug.stderr


# ---------------------------------------------------------------- 7: the chart file is what its name says
def test_report_chart_is_written_in_the_format_of_its_suffix(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    assert run_bot(["db", "upgrade"], [], tmp_path, DATABASE_URL=url).returncode == 0
    result = run_bot(["report", "--lang", "en", "--chart", "week.jpg"], [], tmp_path, DATABASE_URL=url)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "week.jpg").read_bytes().startswith(b"\xff\xd8\xff")  # JPEG, not PNG data
    refused = run_bot(["report", "--lang", "en", "--chart", "week.gif"], [], tmp_path, DATABASE_URL=url)
    assert refused.returncode == 2
    assert refused.stderr.startswith("complaint-bot report: error: --chart week.gif: the suffix '.gif' names no picture format"), refused.stderr
    assert refused.stdout == "" and not (tmp_path / "week.gif").exists()  # refused before any work
