#!/usr/bin/env python3
"""The two quick-start commands; needs nothing but Python 3.11+.

    python3 dev.py run      install into .venv and start the bot (terminal chat without tokens)
    python3 dev.py test     install with test extras into .venv and run the whole test suite

Extra arguments go to the bot or to pytest: ``python3 dev.py run --config c.toml -v``,
``python3 dev.py test -k console -x``.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")


def _stamp(extras: str) -> str:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    return digest[:16]


def ensure_installed(extras: str = "") -> None:
    """Create .venv and install the project (editable) unless it is already up to date."""
    if sys.version_info < (3, 11):
        sys.exit(f"Python 3.11 or newer is needed, this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        print(f"creating {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    marker = VENV / f".installed{'-' + extras if extras else ''}"
    stamp = _stamp(extras)
    if marker.exists() and marker.read_text() == stamp:
        return
    target = f".[{extras}]" if extras else "."
    print(f"installing {target} into {VENV} ...", flush=True)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", "-e", target], check=True, cwd=ROOT)
    marker.write_text(stamp)


def bot_command(argv: list[str], program: str = sys.argv[0]) -> tuple[list[str], dict[str, str]]:
    """The ``complaint-bot`` command line and environment for ``python3 dev.py ARGS``.

    The arguments go to the bot as they were given (the bot's options work before and
    after ``run``), and the bot learns how it was started (``program`` is this script as
    it was typed), so that its goodbye names a command that works: ``complaint-bot`` is
    not on PATH, ``python3 dev.py run`` is."""
    environ = dict(os.environ)
    environ["COMPLAINT_BOT_LAUNCHER"] = f"{_python()} {shlex.quote(program or 'dev.py')}"
    return [str(BIN / "complaint-bot"), *argv], environ


def _python() -> str:
    """This Python as the user can type it: a name PATH finds it by (``python3`` when that
    is a version manager's shim), else its path."""
    this = Path(sys.executable).resolve()
    for name in ("python3", "python", Path(sys.executable).name):
        found = shutil.which(name)
        if found and Path(found).resolve() == this:
            return name
    return "python3" if shutil.which("python3") else shlex.quote(sys.executable)


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    if command != "test" and "run" in argv:  # "run ...", or the bot's options first: "-v run"
        ensure_installed()
        args, environ = bot_command(argv)
        return subprocess.call(args, env=environ)
    if command == "test":
        ensure_installed("test")
        return subprocess.call([str(PYTHON), "-m", "pytest", *argv[1:]], cwd=ROOT)
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
