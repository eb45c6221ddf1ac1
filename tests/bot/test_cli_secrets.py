"""`complaint-bot` never prints a token or the database password: not in a configuration
error, not in a log line, not in the traceback of an unexpected error; and the report
files it writes with customers' data are readable by their owner only."""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import stat
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
            f"complaint-bot: configuration error: DATABASE_URL: cannot reach the database at "
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
