"""--config and -v before or after the command, at every level; the chat's goodbye names a
command that works (``python3 dev.py run`` when dev.py started the bot)."""

from __future__ import annotations

import importlib.util
import os
import re
import sqlite3
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

from bot.cli import _global_options, _parser
from tests.e2e.test_console_chat import SCRIPT, installed, run_bot  # noqa: F401 - the fixture checks the install

ROOT = Path(__file__).resolve().parents[2]
ENGLISH_WELCOME = "Hello! I'm the complaints and after-sales assistant."


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """English, and a database file of its own: a run that read it shows both."""
    path = tmp_path / "settings" / "c.toml"
    path.parent.mkdir()
    path.write_text(f'[bot]\nlanguage = "en"\n\n[database]\nsqlite_file = "{tmp_path / "other.db"}"\n')
    return path


def _without_path_to_the_script() -> str:
    return os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if Path(p) != SCRIPT.parent)


def test_run_with_config_and_verbose_after_the_command(tmp_path: Path, config: Path) -> None:
    result = run_bot(["run", "--config", str(config), "-v"], ["/help"], tmp_path, PATH=_without_path_to_the_script())
    assert result.returncode == 0, result.stderr
    assert ENGLISH_WELCOME in result.stdout
    assert " INFO " in result.stderr, "-v after the command turns on info logging"
    assert (tmp_path / "other.db").exists() and not (tmp_path / "complaint-bot.db").exists()
    # complaint-bot is not on PATH here: the goodbye names the program as it was started
    assert f"run `{SCRIPT} run --config {config} -v` again to continue" in result.stdout


def test_chat_with_config_after_the_command(tmp_path: Path, config: Path) -> None:
    result = run_bot(
        ["chat", "--user", "amy", "--config", str(config), "--no-prompt"], [], tmp_path, PATH=f"{SCRIPT.parent}{os.pathsep}{os.environ['PATH']}"
    )
    assert result.returncode == 0, result.stderr
    assert ENGLISH_WELCOME in result.stdout and " INFO " not in result.stderr
    # on PATH, it is named by its name
    assert f"run `complaint-bot chat --user amy --config {config} --no-prompt` again" in result.stdout


def test_db_and_report_with_config_after_the_command(tmp_path: Path, config: Path) -> None:
    upgraded = run_bot(["db", "upgrade", "--config", str(config)], [], tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    assert sqlite3.connect(tmp_path / "other.db").execute("select version_num from alembic_version").fetchone()
    current = run_bot(["db", "--config", str(config), "current", "-vv"], [], tmp_path)
    assert current.returncode == 0, current.stderr
    # -vv after the command: alembic's set-up lines (at -v they are left out)
    assert ": current 0" in current.stdout and " INFO alembic.runtime.migration: Context impl" in current.stderr
    before = run_bot(["--config", str(config), "db", "current"], [], tmp_path)
    assert before.returncode == 0 and before.stdout == current.stdout, "before the command, as always"
    report = run_bot(["report", "--config", str(config), "--since", "2026-11-01"], [], tmp_path)
    assert report.returncode == 0, report.stderr
    assert not (tmp_path / "complaint-bot.db").exists()


def test_a_missing_config_after_the_command_is_reported(tmp_path: Path) -> None:
    result = run_bot(["chat", "--config", "nope.toml"], [], tmp_path)
    assert result.returncode == 2
    assert "--config: file nope.toml does not exist" in result.stderr


@pytest.mark.parametrize(
    ("argv", "config", "verbose"),
    [
        (["run"], None, 0),
        (["--config", "a.toml", "-v", "run"], "a.toml", 1),
        (["run", "--config", "a.toml", "-vv"], "a.toml", 2),
        (["-v", "run", "-v"], None, 2),
        (["--config", "a.toml", "chat", "--config", "b.toml"], "b.toml", 0),
        (["db", "-v", "current", "--config", "c.toml", "-v"], "c.toml", 2),
        (["lexicon", "fit", "--out", "x", "--config", "d.toml"], "d.toml", 0),
        (["report", "--since", "2026-11-01", "-v", "--config", "e.toml"], "e.toml", 1),
    ],
)
def test_global_options_anywhere(argv: list[str], config: str | None, verbose: int) -> None:
    args = _global_options(_parser().parse_args(argv))
    assert (args.config, args.verbose) == (config, verbose)
    assert not [key for key in vars(args) if re.fullmatch(r"(config|verbose)_\d+", key)]


def _dev() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dev", ROOT / "dev.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dev_py_passes_options_and_names_itself_in_the_goodbye(tmp_path: Path, config: Path) -> None:
    """What ``python3 dev.py run --config c.toml -v`` runs, with the venv already in place."""
    dev = _dev()
    argv = ["run", "--config", str(config), "-v"]
    command, environ = dev.bot_command(argv, program="dev.py")
    assert command == [str(dev.BIN / "complaint-bot"), *argv]
    launcher = environ["COMPLAINT_BOT_LAUNCHER"]
    assert re.fullmatch(r"\S*python3?(\.\d+)? dev\.py", launcher), launcher
    environ = {k: v for k, v in environ.items() if k not in ("DATABASE_URL", "TELEGRAM_BOT_TOKEN", "SLACK_BOT_TOKEN")}
    result = subprocess.run(
        [str(SCRIPT), *command[1:]], input="/help\n", capture_output=True, text=True, cwd=tmp_path, env=environ, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert ENGLISH_WELCOME in result.stdout and " INFO " in result.stderr
    assert f"run `{launcher} run --config {config} -v` again to continue" in result.stdout
