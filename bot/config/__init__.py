"""Settings: secrets from the environment, everything else from one TOML file.

The file is optional; every setting has a default. A missing or wrong setting stops
the bot at start-up with the setting's name and how to fix it (:class:`ConfigError`).
See ``docs/complaint-bot.example.toml`` for every option.

Each setting is declared once, on its :class:`Settings` field: where it comes from (a
key of the file, several keys building one value, or an environment variable) and how
its value is read and checked. The keys the file may hold (:data:`SCHEMA`) and the
loading (:func:`load_settings`) are derived from those declarations.
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import MISSING, dataclass, field, fields
from datetime import time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.config.values import (
    CannotStart,
    ConfigError,
    _boolean,
    _business_hours,
    _check_keys,
    _customers,
    _digest_schedule,
    _file,
    _language,
    _names,
    _local_timezone,
    _port,
    _rate,
    _seconds,
    _severity,
    _share,
    _sla_table,
    _slack_app_token,
    _slack_bot_token,
    _slack_id,
    _slack_users,
    _string,
    _telegram_mode,
    _telegram_token,
    _timezone,
    _url_path,
    _webhook_url,
    parse_duration,
)
from flows.domain import Severity
from flows.grading import HandoffPolicy
from flows.sla import BusinessHours, Promises, ServiceLevels

CONFIG_ENV = "COMPLAINT_BOT_CONFIG"
DEFAULT_CONFIG_FILE = "complaint-bot.toml"

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------------- declarations
@dataclass(frozen=True)
class Context:
    """What reading a setting may need besides its value."""

    raw: Mapping[str, Any]  # the parsed file
    base: Path  # relative paths are relative to the config file's folder
    environ: Mapping[str, str]
    values: Mapping[str, Any]  # the settings read so far (earlier fields)


_ABSENT: Any = object()  # the file leaves a setting out: the field keeps its default
Parser = Callable[[str, Any, Context], Any]


def plain(parse: Callable[[str, Any], Any]) -> Parser:
    """A parser of the setting's name and value only."""
    return lambda setting, value, _context: parse(setting, value)


@dataclass(frozen=True)
class Key:
    """One key of the file (``"section.name"``) read by ``parse``; ``absent`` gives the
    value when the file leaves it out (by default the field's own default)."""

    key: str
    parse: Parser
    absent: Callable[[Context], Any] | None = None

    def keys(self) -> Iterator[str]:
        yield self.key

    def read(self, context: Context) -> Any:
        section, _, name = self.key.partition(".")
        table = context.raw.get(section, {})
        if name in table:
            return self.parse(self.key, table[name], context)
        return _ABSENT if self.absent is None else self.absent(context)


@dataclass(frozen=True)
class Group:
    """One value built from several parts (keyword arguments of ``build``), always built:
    parts the file leaves out are left to ``build``'s defaults. Parts are read in order."""

    build: Callable[..., Any]
    parts: Mapping[str, Key | Group]

    def keys(self) -> Iterator[str]:
        for part in self.parts.values():
            yield from part.keys()

    def read(self, context: Context) -> Any:
        values = {name: part.read(context) for name, part in self.parts.items()}
        return self.build(**{name: value for name, value in values.items() if value is not _ABSENT})


@dataclass(frozen=True)
class Env:
    """A secret or endpoint from the environment (never from the file); blank is unset.
    ``check`` (the variable's name, its value) raises :class:`ConfigError` for a value
    that cannot be right; its error never repeats the value (it may be a secret)."""

    name: str
    check: Callable[[str, str], None] | None = None

    def keys(self) -> Iterator[str]:
        return iter(())

    def read(self, context: Context) -> Any:
        value = context.environ.get(self.name, "").strip() or None
        if value is not None and self.check is not None:
            self.check(self.name, value)
        return value


Source = Key | Group | Env
_SOURCE = "complaint_bot.source"


def setting(source: Source, default: Any = MISSING, *, default_factory: Any = MISSING) -> Any:
    """A :class:`Settings` field read from ``source``."""
    return field(default=default, default_factory=default_factory, metadata={_SOURCE: source})


def _seconds_key(key: str, example: str, *, can_be_off: bool = False) -> Key:
    return Key(key, lambda setting, value, _context: _seconds(setting, value, example, can_be_off=can_be_off))


def _file_key(key: str) -> Key:
    return Key(key, lambda setting, value, context: _file(setting, value, context.base))


def _sqlite_file(setting: str, value: Any, context: Context) -> Path:
    path = Path(_string(setting, value)).expanduser()
    return path if path.is_absolute() else context.base / path


def _sla_key(name: str) -> Key:
    default: dict[Severity, timedelta] = getattr(ServiceLevels(), name)
    return Key(f"sla.{name}", lambda setting, value, _context: _sla_table(setting, value, default))


def _duration_key(key: str) -> Key:
    return Key(key, plain(parse_duration))


# ---------------------------------------------------------------------- the settings
@dataclass(frozen=True)
class Settings:
    """Every setting, with where it comes from. Fields are read in this order, so a
    setting may depend on an earlier one (business hours on the time zone)."""

    # [bot]
    language: str = setting(Key("bot.language", plain(_language)), "zh")
    desk_language: str = setting(Key("bot.desk_language", plain(_language)), "zh")
    timezone: ZoneInfo = setting(
        Key("bot.timezone", plain(_timezone), absent=lambda _context: _local_timezone()),
        default_factory=lambda: ZoneInfo("UTC"),
    )
    # [database]
    database_url: str | None = setting(Env("DATABASE_URL"), None)
    sqlite_file: Path = setting(Key("database.sqlite_file", _sqlite_file), Path("complaint-bot.db"))
    # seconds: a database that stalls is an error after this long, not a hang
    # PostgreSQL: opening a connection
    database_connect_timeout: float = setting(_seconds_key("database.connect_timeout", "5s"), 5.0)
    # PostgreSQL: one statement; None = off
    database_statement_timeout: float | None = setting(
        _seconds_key("database.statement_timeout", "10s", can_be_off=True), 10.0
    )
    # PostgreSQL: waiting for a free pooled connection
    database_pool_timeout: float = setting(_seconds_key("database.pool_timeout", "10s"), 10.0)
    # SQLite: waiting for another process's lock on the file
    sqlite_busy_timeout: float = setting(_seconds_key("database.busy_timeout", "10s"), 10.0)
    # `run` waits for a database that is down, trying this often
    database_retry_every: float = setting(_seconds_key("database.retry_every", "5s"), 5.0)
    # [classifier]
    categories_file: Path | None = setting(_file_key("classifier.categories_file"), None)
    severity_file: Path | None = setting(_file_key("classifier.severity_file"), None)
    userdict_file: Path | None = setting(_file_key("classifier.userdict_file"), None)
    # [handoff]
    handoff: HandoffPolicy = setting(
        Group(
            HandoffPolicy,
            {
                "every_ticket": Key("handoff.every_ticket", plain(_boolean)),
                "min_severity": Key("handoff.min_severity", plain(_severity)),
            },
        ),
        default_factory=HandoffPolicy,
    )
    # [sla], [hot_issues]
    promises: Promises = setting(
        Group(
            Promises,
            {
                "levels": Group(
                    ServiceLevels,
                    {name: _sla_key(name) for name in ("first_response", "substantive_reply", "resolution")},
                ),
                "remind_at": Key("sla.remind_at", plain(_share)),
                "hot_issue_customers": Key("hot_issues.customers", plain(_customers)),
                "hours": Key(
                    "sla.business_hours",
                    lambda _setting, value, context: _business_hours(value, context.values["timezone"]),
                    absent=lambda context: BusinessHours(timezone=context.values["timezone"]),
                ),
                "upgrade_hot_after": _duration_key("sla.upgrade_hot_after"),
                "upgrade_major_after": _duration_key("sla.upgrade_major_after"),
                "follow_up_after": _duration_key("sla.follow_up_after"),
                "repeat_window": _duration_key("sla.repeat_window"),
                "hot_issue_window": _duration_key("hot_issues.window"),
            },
        ),
        default_factory=Promises,
    )
    # [reports]: weekly digest to the supervisors, (weekday 0=Monday, time) or None
    digest: tuple[int, time] | None = setting(Key("reports.digest", plain(_digest_schedule)), (0, time(9, 0)))
    # [telegram]
    telegram_mode: str = setting(Key("telegram.mode", plain(_telegram_mode)), "polling")
    telegram_webhook_url: str | None = setting(Key("telegram.webhook_url", plain(_webhook_url)), None)
    telegram_webhook_path: str | None = setting(Key("telegram.webhook_path", plain(_url_path("/telegram"))), None)
    telegram_max_messages_per_second: float = setting(Key("telegram.max_messages_per_second", plain(_rate)), 30.0)
    # [slack]
    slack_agents_channel: str | None = setting(
        Key("slack.agents_channel", plain(_slack_id(r"[CG][A-Z0-9]{2,}", "C0123456789"))), None
    )
    slack_supervisors_channel: str | None = setting(
        Key("slack.supervisors_channel", plain(_slack_id(r"[CG][A-Z0-9]{2,}", "C0123456789"))), None
    )
    slack_supervisor_group: str | None = setting(
        Key("slack.supervisor_group", plain(_slack_id(r"S[A-Z0-9]{2,}", "S0123456789"))), None
    )
    slack_agent_group: str | None = setting(
        Key("slack.agent_group", plain(_slack_id(r"S[A-Z0-9]{2,}", "S0123456789"))), None
    )
    slack_agents: frozenset[str] = setting(Key("slack.agents", plain(_slack_users)), frozenset())
    slack_supervisors: frozenset[str] = setting(Key("slack.supervisors", plain(_slack_users)), frozenset())
    slack_note_prefix: str = setting(Key("slack.note_prefix", plain(_string)), "//")
    slack_events_path: str = setting(Key("slack.events_path", plain(_url_path("/slack/events"))), "/slack/events")
    # [desk]: the terminal desk (`complaint-bot desk --agent NAME`): who is a supervisor there
    desk_supervisors: frozenset[str] = setting(Key("desk.supervisors", plain(_names)), frozenset())
    # [server]: the bot's own HTTP endpoint (Telegram webhook, Slack events)
    listen: str = setting(Key("server.listen", plain(_string)), "0.0.0.0")
    port: int = setting(Key("server.port", plain(_port)), 8080)
    # secrets and endpoints (environment only)
    telegram_token: str | None = setting(Env("TELEGRAM_BOT_TOKEN", _telegram_token), None)
    telegram_api_base_url: str | None = setting(Env("TELEGRAM_API_BASE_URL"), None)
    telegram_webhook_secret: str | None = setting(Env("TELEGRAM_WEBHOOK_SECRET"), None)
    slack_bot_token: str | None = setting(Env("SLACK_BOT_TOKEN", _slack_bot_token), None)
    slack_app_token: str | None = setting(Env("SLACK_APP_TOKEN", _slack_app_token), None)
    slack_signing_secret: str | None = setting(Env("SLACK_SIGNING_SECRET"), None)
    slack_api_url: str | None = setting(Env("SLACK_API_URL"), None)
    config_file: Path | None = None

    @property
    def uses_embedded_database(self) -> bool:
        return self.database_url is None

    def describe_channels(self) -> list[str]:
        """Which settings start which channel, for the start-up banner."""
        lines = []
        if self.telegram_token:
            lines.append(f"Telegram: on ({self.telegram_mode}).")
        else:
            lines.append("Telegram: off. Set TELEGRAM_BOT_TOKEN (from @BotFather) to start the Telegram bot.")
        if self.slack_bot_token:
            mode = "Socket Mode" if self.slack_app_token else f"HTTP events at {self.slack_events_path}"
            lines.append(f"Slack: on ({mode}), ticket cards in {self.slack_agents_channel}.")
        else:
            lines.append(
                "Slack: off. Set SLACK_BOT_TOKEN plus SLACK_APP_TOKEN (Socket Mode) or "
                "SLACK_SIGNING_SECRET (HTTP events) to hand complaints to agents in Slack."
            )
        return lines


def _sources() -> Iterator[tuple[str, Source]]:
    for f in fields(Settings):
        source = f.metadata.get(_SOURCE)
        if source is not None:
            yield f.name, source


# keys that were settings once: accepted, with a warning that they do nothing now
RETIRED = {
    "telegram.spool_file": "telegram.spool_file is no longer used and can be removed: updates are confirmed "
    "to Telegram only once they are in the database, so Telegram keeps them meanwhile",
}


def _schema() -> dict[str, set[str]]:
    schema: dict[str, set[str]] = {}
    for key in [*(k for _name, source in _sources() for k in source.keys()), *RETIRED]:
        section, _, name = key.partition(".")
        schema.setdefault(section, set()).add(name)
    return schema


SCHEMA = _schema()  # section -> the keys it may hold
ENV_SECRETS = tuple(source.name for _name, source in _sources() if isinstance(source, Env))


def _check_slack(settings: Settings) -> None:
    """With SLACK_BOT_TOKEN set, the rest of what Slack needs must be there too."""
    if not settings.slack_bot_token:
        return
    if not settings.slack_app_token and not settings.slack_signing_secret:
        raise ConfigError(
            "SLACK_APP_TOKEN / SLACK_SIGNING_SECRET",
            "neither is set, so Slack cannot send the bot anything",
            "Set SLACK_APP_TOKEN for Socket Mode, or SLACK_SIGNING_SECRET for HTTP events (Basic Information → Signing Secret).",
        )
    if not settings.slack_agents_channel:
        raise ConfigError("slack.agents_channel", "is required with SLACK_BOT_TOKEN", 'Add agents_channel = "C0123456789" under [slack] (the channel where ticket cards go).')
    if not (settings.slack_agent_group or settings.slack_agents or settings.slack_supervisor_group or settings.slack_supervisors):
        raise ConfigError(
            "slack.agents",
            "nobody is configured as an agent or supervisor, so nobody could claim a ticket",
            'Set agent_group = "S..." (a user group) or agents = ["U...", ...] under [slack].',
        )


# ---------------------------------------------------------------------- loading
def find_config_file(explicit: str | Path | None, environ: Mapping[str, str]) -> Path | None:
    """The config file to read: ``--config``, else $COMPLAINT_BOT_CONFIG, else ./complaint-bot.toml if present."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError("--config", f"file {path} does not exist", "Give the path of an existing TOML file.")
        return path
    if environ.get(CONFIG_ENV):
        path = Path(environ[CONFIG_ENV]).expanduser()
        if not path.is_file():
            raise ConfigError(CONFIG_ENV, f"file {path} does not exist", "Point it at an existing TOML file or unset it.")
        return path
    default = Path(DEFAULT_CONFIG_FILE)
    return default if default.is_file() else None


def _read_file(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"not valid TOML ({exc})", "Fix the syntax at the position shown.") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), f"cannot be read ({exc})", "Check the file's permissions and encoding (UTF-8).") from exc


def _warn_retired(raw: Mapping[str, Any], section: str) -> None:
    for key, message in RETIRED.items():
        where, _, name = key.partition(".")
        if where == section and name in raw.get(section, {}):
            logger.warning(message)


def load_settings(config_file: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read the environment and the config file; raise :class:`ConfigError` on anything wrong."""
    env = os.environ if environ is None else environ
    path = find_config_file(config_file, env)
    raw = _read_file(path)
    _check_keys("", raw, set(SCHEMA))
    for section, table in raw.items():
        if not isinstance(table, Mapping):
            raise ConfigError(section, "must be a table", f"Write it as [{section}] followed by its settings.")
        _check_keys(section, table, SCHEMA[section])
    values: dict[str, Any] = {"config_file": path}
    context = Context(raw, path.parent if path else Path.cwd(), env, values)
    sources = list(_sources())
    # a retired key is reported once its section has been read (as the section's last key)
    section_ends = {key.partition(".")[0]: index for index, (_name, source) in enumerate(sources) for key in source.keys()}
    for index, (name, source) in enumerate(sources):
        value = source.read(context)
        if value is not _ABSENT:
            values[name] = value
        for section in sorted(section for section, end in section_ends.items() if end == index):
            _warn_retired(raw, section)
    settings = Settings(**values)
    _check_slack(settings)
    if settings.telegram_token and settings.telegram_mode == "webhook" and not settings.telegram_webhook_url:
        raise ConfigError(
            "telegram.webhook_url",
            "webhook mode needs the public URL Telegram should deliver to",
            'Set webhook_url = "https://your.host/telegram" under [telegram], or use mode = "polling".',
        )
    if settings.telegram_webhook_secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", settings.telegram_webhook_secret):
        raise ConfigError(
            "TELEGRAM_WEBHOOK_SECRET",
            "may contain only letters, digits, '_' and '-' (1-256 characters)",
            "Choose another secret; Telegram rejects other characters.",
        )
    return settings
