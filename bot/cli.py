"""``complaint-bot``: the command line.

    complaint-bot run                 start the configured channels (terminal chat without tokens)
    complaint-bot chat                the customer chat in this terminal
    complaint-bot classify [FILE...]  classify lines or JSON lines, one JSON line out per input
    complaint-bot diagram             write the state machine diagrams (mermaid)
    complaint-bot db upgrade          apply database migrations
    complaint-bot report              the supervisors' report for a period (text, CSV, chart)
    complaint-bot lexicon fit         learn keyword weights from labelled messages and desk corrections
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import IO

from bot.config import ConfigError, Settings, load_settings
from bot.logs import environment_secrets, install_redaction, redact_for_output

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

    report = sub.add_parser(
        "report",
        help="the supervisors' report for a period: text, optionally CSV and a PNG chart",
        description="Tickets submitted in [--since, --until): counts, service promises met, "
        "median times, satisfaction, hot issues, key terms. Dates are in the bot's time zone "
        "(bot.timezone); --until is exclusive: --since 2026-11-01 --until 2026-12-01 is November.",
    )
    report.add_argument("--since", metavar="DATE", help="start, YYYY-MM-DD or YYYY-MM-DDTHH:MM (default: 7 days before --until)")
    report.add_argument("--until", metavar="DATE", help="end, exclusive, same formats (default: now)")
    report.add_argument("--csv", type=Path, metavar="FILE", help="also write the figures as CSV (section,key,metric,value)")
    report.add_argument("--chart", type=Path, metavar="FILE", help="also draw a PNG chart")
    report.add_argument("--lang", choices=("zh", "en"), default=None, help="language (default: bot.desk_language)")
    report.add_argument("--top", type=_count, default=10, metavar="N", help="key terms to list (default: 10)")

    lexicon = sub.add_parser("lexicon", help="the classifier's lexicon")
    lexicon_sub = lexicon.add_subparsers(dest="lexicon_command", metavar="ACTION")
    fit = lexicon_sub.add_parser(
        "fit",
        help="learn keyword weights from labelled messages and desk corrections",
        description="Learn the keyword weights of a lexicon from labelled messages (JSON "
        "arrays or JSON lines with text, category, severity) and, with --from-desk, from "
        "the corrections agents made on the desk; write the new lexicon files to --out and "
        "print what would change. The running bot is not touched.",
    )
    fit.add_argument("--labelled", type=Path, nargs="+", default=[], metavar="FILE", help="labelled messages")
    fit.add_argument("--from-desk", action="store_true", help="also learn from the desk's corrections (configured database)")
    fit.add_argument(
        "--base",
        type=Path,
        metavar="DIR",
        help="base lexicon folder (default: with --from-desk the lexicon the bot runs, "
        "i.e. the configured [classifier] files or the packaged ones; else the seed nlp/seed)",
    )
    fit.add_argument("--unlabelled", type=Path, metavar="FILE", help="unlabelled texts (JSON lines, .gz ok) for self-training")
    fit.add_argument("--accept-severity-cues", action="store_true", help="add the proposed severity cues to their rules")
    fit.add_argument("--cv", type=int, default=0, metavar="K", help="also print K-fold cross-validated figures")
    fit.add_argument("--out", type=Path, required=True, metavar="DIR", help="folder for the new lexicon files")
    fit.add_argument("--force", action="store_true", help="overwrite a lexicon already in --out")

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
    # no log line carries a token or the database password (secrets come from the environment)
    install_redaction(environment_secrets(os.environ))
    if args.command is None:
        parser.print_help()
        return 2
    try:
        if args.command == "classify":
            return _classify(args)
        if args.command == "diagram":
            return _diagram(args)
        if args.command == "lexicon":
            return _lexicon(args, parser, argv)
        settings = load_settings(args.config)
        if args.command == "db":
            return asyncio.run(_db(settings, args.db_command, parser))
        if args.command == "chat":
            return asyncio.run(_chat(settings, args.user, args.lang, not args.no_prompt))
        if args.command == "run":
            return asyncio.run(_run(settings))
        if args.command == "report":
            return _report(settings, args)
    except ConfigError as exc:
        print(redact_for_output(f"complaint-bot: configuration error: {exc}", os.environ), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception:
        # through the log, so that the traceback is redacted like every other line
        logger.critical("complaint-bot stopped by an unexpected error", exc_info=True)
        return 1
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


def _lexicon(args: argparse.Namespace, parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> int:
    from bot import lexicon_command
    from nlp import LexiconError
    from nlp.fit import BaseFiles

    if args.lexicon_command != "fit":
        parser.error("lexicon needs an action: fit")
    if args.cv == 1 or args.cv < 0:
        parser.error("--cv needs at least 2 folds")
    try:
        base = BaseFiles.folder(args.base) if args.base is not None else BaseFiles()
    except LexiconError as exc:
        print(f"complaint-bot lexicon fit: --base {exc.file}: {exc.problem}", file=sys.stderr)
        return 2
    desk: list[dict[str, object]] = []
    if args.from_desk:
        settings = load_settings(args.config)
        if args.base is None:
            # the lexicon the bot runs: the taxonomy the desk's corrections were made in
            base = BaseFiles(settings.categories_file, settings.severity_file, settings.userdict_file, packaged=True)
        problem = _read_corrections(settings, desk)
        if problem:
            print(f"complaint-bot lexicon fit: cannot read the desk's corrections: {problem}", file=sys.stderr)
            return 2
    request = lexicon_command.FitRequest(
        labelled=tuple(args.labelled),
        out=args.out,
        base=base,
        desk=tuple(desk),
        from_desk=args.from_desk,
        unlabelled=args.unlabelled,
        accept_severity=args.accept_severity_cues,
        folds=args.cv,
        force=args.force,
    )
    try:
        return lexicon_command.run(request, sys.stdout, list(sys.argv[1:] if argv is None else argv))
    except lexicon_command.FitCommandError as exc:
        print(f"complaint-bot lexicon fit: {exc}", file=sys.stderr)
        return 2


def _read_corrections(settings: Settings, into: list[dict[str, object]]) -> str | None:
    """Append the desk's corrections to ``into``; a problem as text, else ``None``."""
    from storage.corrections import export_corrections
    from storage.database import DatabaseURLError

    from bot.bootstrap import database_url

    try:
        into.extend(export_corrections(database_url(settings)))
    except DatabaseURLError as exc:
        return redact_for_output(str(exc), os.environ)
    except Exception as exc:  # noqa: BLE001 - any database failure: say it and stop
        first = redact_for_output(str(exc).splitlines()[0], os.environ)
        return f"{first} (is the database reachable and migrated? complaint-bot db upgrade)"
    return None


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
    from bot.bootstrap import DATABASE_ERRORS, database_error, open_database
    from storage.migrate import current_revision, head_revision, upgrade

    # migrations may rightly take longer than the bot's statement timeout
    database = open_database(settings, long_statements=True)
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
    except DATABASE_ERRORS as exc:
        raise database_error(exc, database, settings) from exc
    finally:
        await database.dispose()


async def _chat(settings: Settings, user: str | None, lang: str | None, prompt: bool, *, wait_for_db: bool = False) -> int:
    from bot.bootstrap import build
    from flows.outbox import OutboxRelay
    from handlers.console import CHANNEL, ConsoleChat, ConsoleSender

    app = await build(settings, wait_for_db=wait_for_db)
    try:
        sender = ConsoleSender(sys.stdout)
        relay = OutboxRelay(app.database.unit_of_work, CHANNEL, sender, app.clock)
        chat = ConsoleChat(
            app.service,
            sender,
            relay,
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
        from bot.bootstrap import StoppedWaitingForDatabase
        from bot.runner import run

        try:
            return await run(settings)
        except StoppedWaitingForDatabase:
            print("stopped while waiting for the database", file=sys.stderr)
            return 0
    where = settings.database_url and "DATABASE_URL" or str(settings.sqlite_file)
    print("No chat platform is configured, so the bot starts the terminal chat.")
    for line in settings.describe_channels():
        print(f"  {line}")
    print(f"  Database: {where}")
    print("Type your complaint; numbers pick the choices shown; /help lists commands; Ctrl-D quits.\n")
    return await _chat(settings, None, None, True, wait_for_db=True)


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return value


class _BadPeriod(ValueError):
    """--since / --until cannot be understood."""


def _moment(option: str, text: str, zone: tzinfo) -> datetime:
    """A date (its midnight) or a date and time, in ``zone`` unless it names an offset."""
    text = text.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), tzinfo=zone)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _BadPeriod(f"{option} {text!r} is not a date: use YYYY-MM-DD or YYYY-MM-DDTHH:MM") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def _period(since: str | None, until: str | None, zone: tzinfo) -> tuple[datetime, datetime]:
    end = _moment("--until", until, zone) if until else datetime.now(zone)
    start = _moment("--since", since, zone) if since else end - timedelta(days=7)
    if start >= end:
        raise _BadPeriod(
            f"--since ({start:%Y-%m-%d %H:%M}) must be before --until ({end:%Y-%m-%d %H:%M}, exclusive)"
        )
    return start, end


def _report(settings: Settings, args: argparse.Namespace) -> int:
    try:
        since, until = _period(args.since, args.until, settings.timezone)
    except _BadPeriod as exc:
        print(f"complaint-bot report: error: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(_write_report(settings, args, since, until))


async def _write_report(settings: Settings, args: argparse.Namespace, since: datetime, until: datetime) -> int:
    from bot.bootstrap import ensure_schema, load_classifier, open_database
    from flows.report import format_csv, format_text
    from flows.texts import default_catalogue
    from storage.reports import build_report

    if settings.uses_embedded_database and not Path(settings.sqlite_file).exists():
        raise ConfigError(
            "database.sqlite_file",
            f"there is no database at {settings.sqlite_file}, so nothing to report",
            "Run the report where the bot keeps its data, or point database.sqlite_file / DATABASE_URL at it.",
        )
    language = args.lang or settings.desk_language
    taxonomy = load_classifier(settings).taxonomy
    names = {lang: {c.id: c.name(lang) for c in taxonomy} for lang in (language, "en")}
    texts = default_catalogue()
    database = open_database(settings, long_statements=True)  # a long period may take a while
    try:
        await ensure_schema(database, settings)
        report = await build_report(database, since, until, top_terms=args.top)
    finally:
        await database.dispose()

    sys.stdout.write(format_text(report, texts, language, names[language]))
    try:
        if args.csv:
            # with a byte-order mark, so that spreadsheet programs read the Chinese right
            with _private_file(args.csv) as out:
                out.write(format_csv(report).encode("utf-8-sig"))
            print(f"wrote {args.csv}", file=sys.stderr)
        if args.chart:
            from handlers.charts import render_chart

            with _private_file(args.chart) as out:
                drawn = render_chart(
                    report,
                    out,
                    language=language,
                    category_names=names[language],
                    texts=texts,
                    fallback_category_names=names["en"],
                )
            note = " (no CJK font installed: labels in English)" if drawn != language else ""
            print(f"wrote {args.chart}{note}", file=sys.stderr)
    except OSError as exc:
        print(f"complaint-bot report: cannot write: {exc}", file=sys.stderr)
        return 1
    return 0


def _private_file(path: Path) -> IO[bytes]:
    """``path`` opened for writing, created with mode 0600: reports hold customers' data.

    An existing file is truncated and keeps its mode (the operator chose it)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    return os.fdopen(fd, "wb")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
