"""``complaint-bot``: the command line.

    complaint-bot run                 start the configured channels (terminal chat without tokens)
    complaint-bot chat                the customer chat in this terminal
    complaint-bot classify [FILE...]  classify lines or JSON lines, one JSON line out per input
    complaint-bot diagram             write the state machine diagrams (mermaid)
    complaint-bot db upgrade          apply database migrations
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.config import ConfigError, Settings, load_settings

logger = logging.getLogger("complaint_bot")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="complaint-bot", description="Chat-channel complaint bot.")
    parser.add_argument("--config", help="TOML config file (default: $COMPLAINT_BOT_CONFIG or ./complaint-bot.toml)")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    sub.add_parser("run", help="start the bot on the configured channels")

    chat = sub.add_parser("chat", help="file a complaint in this terminal (customer side)")
    chat.add_argument("--user", default=None, help="customer name to chat as (default: your login name)")
    chat.add_argument("--lang", choices=("zh", "en"), default=None, help="language for a new customer")
    chat.add_argument("--no-prompt", action="store_true", help="do not print the 'you>' prompt")

    classify = sub.add_parser("classify", help="classify messages from files or stdin into JSON lines")
    classify.add_argument("inputs", nargs="*", help="files of plain lines or JSON lines {id, text}; - or none for stdin")
    classify.add_argument("--categories", type=Path, help="categories lexicon (default: packaged)")
    classify.add_argument("--severity", type=Path, help="severity rules lexicon (default: packaged)")
    classify.add_argument("--userdict", type=Path, help="jieba user dictionary (default: packaged)")

    diagram = sub.add_parser("diagram", help="write the conversation and ticket state diagrams")
    diagram.add_argument("--out", type=Path, default=Path("docs"), help="folder for the .mmd files (default: docs)")
    diagram.add_argument("--stdout", action="store_true", help="print instead of writing files")
    diagram.add_argument("--internal", action="store_true", help="include internal (self-loop) transitions")

    db = sub.add_parser("db", help="database schema")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION")
    db_sub.add_parser("upgrade", help="apply all migrations")
    db_sub.add_parser("current", help="show the schema revision")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``complaint-bot`` console script."""
    # python-telegram-bot 22 reports RetryAfter as int with a deprecation warning, or as a
    # timedelta when opted in; handlers/telegram.py reads both, so opt in to the future.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    parser = _parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        if args.command == "classify":
            return _classify(args)
        if args.command == "diagram":
            return _diagram(args)
        settings = load_settings(args.config)
        if args.command == "db":
            return asyncio.run(_db(settings, args.db_command, parser))
        if args.command == "chat":
            return asyncio.run(_chat(settings, args.user, args.lang, not args.no_prompt))
        if args.command == "run":
            return asyncio.run(_run(settings))
    except ConfigError as exc:
        print(f"complaint-bot: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    parser.error(f"unknown command {args.command}")
    return 2


def _classify(args: argparse.Namespace) -> int:
    from bot import classify_command
    from nlp import LexiconError

    try:
        return classify_command.run(
            args.inputs, sys.stdout, categories=args.categories, severity=args.severity, userdict=args.userdict
        )
    except LexiconError as exc:
        print(f"complaint-bot: lexicon error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"complaint-bot: {exc}", file=sys.stderr)
        return 2


def _diagram(args: argparse.Namespace) -> int:
    from bot.diagrams import write_diagrams

    if args.stdout:
        from bot.diagrams import diagrams

        for name, text in diagrams(args.internal).items():
            print(f"%% {name}\n{text}")
        return 0
    for path in write_diagrams(args.out, args.internal):
        print(f"wrote {path}")
    return 0


async def _db(settings: Settings, action: str | None, parser: argparse.ArgumentParser) -> int:
    from bot.bootstrap import open_database
    from storage.migrate import current_revision, head_revision, upgrade

    database = open_database(settings)
    try:
        if action == "upgrade":
            await upgrade(database.engine)
            print(f"database at revision {await current_revision(database.engine)}")
            return 0
        if action == "current":
            current = await current_revision(database.engine)
            print(f"current {current or 'none'}, head {head_revision()}")
            return 0 if current == head_revision() else 1
        parser.error("db needs an action: upgrade or current")
        return 2
    finally:
        await database.dispose()


async def _chat(settings: Settings, user: str | None, lang: str | None, prompt: bool) -> int:
    from bot.bootstrap import build
    from handlers.console import ConsoleChat

    app = await build(settings)
    try:
        chat = ConsoleChat(
            app.service,
            app.database.unit_of_work,
            app.clock,
            user=user or getpass.getuser(),
            language=lang or settings.language,
            show_prompt=prompt,
        )
        await chat.run()
    finally:
        await app.close()
    return 0


async def _run(settings: Settings) -> int:
    if settings.telegram_token or settings.slack_bot_token:
        from bot.runner import run

        return await run(settings)
    where = settings.database_url and "DATABASE_URL" or str(settings.sqlite_file)
    print("No chat platform is configured, so the bot starts the terminal chat.")
    for line in settings.describe_channels():
        print(f"  {line}")
    print(f"  Database: {where}")
    print("Type your complaint; numbers pick the choices shown; /help lists commands; Ctrl-D quits.\n")
    return await _chat(settings, None, None, True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
