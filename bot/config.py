"""Settings: secrets from the environment, everything else from one TOML file.

The file is optional; every setting has a default. A missing or wrong setting stops
the bot at start-up with the setting's name and how to fix it (:class:`ConfigError`).
See ``docs/complaint-bot.example.toml`` for every option.
"""

from __future__ import annotations

import logging

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from difflib import get_close_matches
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flows.domain import Severity
from flows.policy import HandoffPolicy, ServiceLevels
from flows.promises import BusinessHours, Promises
from flows.redaction import redact

CONFIG_ENV = "COMPLAINT_BOT_CONFIG"
DEFAULT_CONFIG_FILE = "complaint-bot.toml"
ENV_SECRETS = (
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_API_BASE_URL",
    "TELEGRAM_WEBHOOK_SECRET",
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_API_URL",
    "DATABASE_URL",
)

logger = logging.getLogger(__name__)


class ConfigError(Exception):
    """A setting is missing or wrong; the message names it and says how to fix it."""

    def __init__(self, setting: str, problem: str, fix: str) -> None:
        # printed at start-up and logged: never with a token or a URL's password in it
        problem = redact(problem)
        super().__init__(f"{setting}: {problem}. {fix}")
        self.setting = setting
        self.problem = problem
        self.fix = fix


@dataclass(frozen=True)
class Settings:
    # [bot]
    language: str = "zh"
    desk_language: str = "zh"
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    # [database]
    database_url: str | None = None
    sqlite_file: Path = Path("complaint-bot.db")
    # seconds: a database that stalls is an error after this long, not a hang
    database_connect_timeout: float = 5.0  # PostgreSQL: opening a connection
    database_statement_timeout: float | None = 10.0  # PostgreSQL: one statement; None = off
    database_pool_timeout: float = 10.0  # PostgreSQL: waiting for a free pooled connection
    sqlite_busy_timeout: float = 10.0  # SQLite: waiting for another process's lock on the file
    database_retry_every: float = 5.0  # `run` waits for a database that is down, trying this often
    # [classifier]
    categories_file: Path | None = None
    severity_file: Path | None = None
    userdict_file: Path | None = None
    # [handoff]
    handoff: HandoffPolicy = field(default_factory=HandoffPolicy)
    # [sla], [hot_issues]
    promises: Promises = field(default_factory=Promises)
    # [reports]: weekly digest to the supervisors, (weekday 0=Monday, time) or None
    digest: tuple[int, time] | None = (0, time(9, 0))
    # [telegram]
    telegram_mode: str = "polling"
    telegram_webhook_url: str | None = None
    telegram_webhook_path: str | None = None
    telegram_max_messages_per_second: float = 30.0
    # [slack]
    slack_agents_channel: str | None = None
    slack_supervisors_channel: str | None = None
    slack_supervisor_group: str | None = None
    slack_agent_group: str | None = None
    slack_agents: frozenset[str] = frozenset()
    slack_supervisors: frozenset[str] = frozenset()
    slack_note_prefix: str = "//"
    slack_events_path: str = "/slack/events"
    # [server]: the bot's own HTTP endpoint (Telegram webhook, Slack events)
    listen: str = "0.0.0.0"
    port: int = 8080
    # secrets and endpoints (environment only)
    telegram_token: str | None = None
    telegram_api_base_url: str | None = None
    telegram_webhook_secret: str | None = None
    slack_bot_token: str | None = None
    slack_app_token: str | None = None
    slack_signing_secret: str | None = None
    slack_api_url: str | None = None
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


# ---------------------------------------------------------------------- parsing helpers
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}

_SCHEMA: dict[str, set[str]] = {
    "bot": {"language", "desk_language", "timezone"},
    "database": {"sqlite_file", "connect_timeout", "statement_timeout", "pool_timeout", "busy_timeout", "retry_every"},
    "classifier": {"categories_file", "severity_file", "userdict_file"},
    "handoff": {"every_ticket", "min_severity"},
    "sla": {
        "first_response", "substantive_reply", "resolution", "remind_at", "business_hours",
        "upgrade_hot_after", "upgrade_major_after", "follow_up_after", "repeat_window",
    },
    "hot_issues": {"customers", "window"},
    "reports": {"digest"},
    "telegram": {"mode", "webhook_url", "webhook_path", "max_messages_per_second", "spool_file"},
    "server": {"listen", "port"},
    "slack": {
        "agents_channel", "supervisors_channel", "supervisor_group", "agent_group",
        "agents", "supervisors", "note_prefix", "events_path",
    },
}
_LANGUAGES = ("zh", "en")


def parse_duration(setting: str, value: Any) -> timedelta:
    """``"2h"``, ``"30m"``, ``"1d"``, ``"90s"`` (or a number of hours)."""
    if isinstance(value, bool):
        raise ConfigError(setting, f"{value!r} is not a duration", 'Write it like "2h", "30m" or "1d".')
    if isinstance(value, (int, float)):
        return timedelta(hours=value)
    if isinstance(value, str):
        match = _DURATION_RE.match(value)
        if match:
            return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})
    raise ConfigError(setting, f"{value!r} is not a duration", 'Write it like "2h", "30m" or "1d".')


def _seconds(setting: str, value: Any, example: str, *, can_be_off: bool = False) -> float | None:
    """A short duration with its unit (``"5s"``, ``"0.5s"``, ``"2m"``) in seconds; ``"off"`` is
    None where ``can_be_off``. A bare number is refused: elsewhere it means hours."""
    off = ', or "off"' if can_be_off else ""
    if can_be_off and isinstance(value, str) and value.strip().lower() == "off":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ConfigError(setting, f"{value!r} has no unit", f'Write it with its unit, like "{example}"{off}.')
    match = _DURATION_RE.match(value) if isinstance(value, str) else None
    if not match:
        raise ConfigError(setting, f"{value!r} is not a duration", f'Write it like "{example}"{off}.')
    seconds = timedelta(**{_UNITS[match.group(2)]: float(match.group(1))}).total_seconds()
    if seconds <= 0:
        fix = 'Write "off" to switch it off.' if can_be_off else f'Write it like "{example}".'
        raise ConfigError(setting, f"{value!r} is not more than 0", fix)
    return seconds


def _check_keys(where: str, table: Mapping[str, Any], allowed: set[str]) -> None:
    for key in table:
        if key not in allowed:
            hint = get_close_matches(key, sorted(allowed), n=1)
            fix = f"Did you mean {hint[0]!r}?" if hint else f"Known settings: {', '.join(sorted(allowed))}."
            raise ConfigError(f"{where}.{key}" if where else key, "unknown setting", fix)


def _string(setting: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(setting, f"{value!r} is not a non-empty string", "Put the value in quotes.")
    return value.strip()


def _language(setting: str, value: Any) -> str:
    code = _string(setting, value)
    if code not in _LANGUAGES:
        raise ConfigError(setting, f"unsupported language {code!r}", f"Use one of {', '.join(_LANGUAGES)}.")
    return code


def _timezone(setting: str, value: Any) -> ZoneInfo:
    name = _string(setting, value)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(setting, f"unknown time zone {name!r}", 'Use an IANA name such as "Asia/Shanghai".') from exc


def _severity(setting: str, value: Any) -> Severity:
    try:
        return Severity(_string(setting, value))
    except ValueError as exc:
        raise ConfigError(
            setting, f"unknown severity {value!r}", f"Use one of {', '.join(s.value for s in Severity)}."
        ) from exc


def _file(setting: str, value: Any, base: Path) -> Path:
    path = Path(_string(setting, value)).expanduser()
    path = path if path.is_absolute() else base / path
    if not path.is_file():
        raise ConfigError(setting, f"file {path} does not exist", "Fix the path (relative paths are relative to the config file).")
    return path


def _sla_table(setting: str, value: Any, default: dict[Severity, timedelta]) -> dict[Severity, timedelta]:
    if not isinstance(value, Mapping):
        raise ConfigError(setting, "must be a table of severity = duration", f'Write [{setting}] with lines like general = "2h".')
    table = dict(default)
    for key, duration in value.items():
        table[_severity(f"{setting}.{key}", key)] = parse_duration(f"{setting}.{key}", duration)
    return table


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _clock_time(setting: str, value: Any) -> time:
    text = _string(setting, value)
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise ConfigError(setting, f"{text!r} is not a time of day", 'Write it like "09:00".') from None


def _business_hours(table: Any, timezone: ZoneInfo) -> BusinessHours:
    """``[sla.business_hours]``: opens, closes, workdays, holidays; empty means round the clock."""
    if not isinstance(table, Mapping):
        raise ConfigError("sla.business_hours", "must be a table", 'Write [sla.business_hours] with opens = "09:00" and closes = "18:00".')
    _check_keys("sla.business_hours", table, {"opens", "closes", "workdays", "holidays"})
    if not table:
        return BusinessHours(timezone=timezone)
    opens = _clock_time("sla.business_hours.opens", table["opens"]) if "opens" in table else None
    closes = _clock_time("sla.business_hours.closes", table["closes"]) if "closes" in table else None
    if (opens is None) != (closes is None) or (opens and closes and opens >= closes):
        raise ConfigError("sla.business_hours", "needs both opens and closes, opens before closes", 'Write opens = "09:00" and closes = "18:00".')
    days = table.get("workdays", list(_WEEKDAYS))
    if not isinstance(days, list) or not days or any(d not in _WEEKDAYS for d in days):
        raise ConfigError("sla.business_hours.workdays", f"{days!r} is not a list of weekdays", 'Write workdays = ["mon", "tue", "wed", "thu", "fri"].')
    holidays = table.get("holidays", [])
    if not isinstance(holidays, list):
        raise ConfigError("sla.business_hours.holidays", "must be a list of dates", 'Write holidays = ["2026-10-01", "2026-10-02"].')
    parsed: set[date] = set()
    for day in holidays:
        try:
            parsed.add(day if isinstance(day, date) else date.fromisoformat(str(day)))
        except ValueError:
            raise ConfigError("sla.business_hours.holidays", f"{day!r} is not a date", 'Write dates like "2026-10-01".') from None
    return BusinessHours(
        timezone=timezone,
        opens=opens,
        closes=closes,
        workdays=frozenset(_WEEKDAYS.index(d) for d in days),
        holidays=frozenset(parsed),
    )


def _digest_schedule(setting: str, value: Any) -> tuple[int, time] | None:
    """``"mon 09:00"``, or ``"off"``."""
    text = _string(setting, value).lower()
    if text in ("off", "none", "no"):
        return None
    day, _, clock = text.partition(" ")
    if day not in _WEEKDAYS:
        raise ConfigError(setting, f"{value!r} does not start with a weekday", 'Write it like "mon 09:00", or "off".')
    return _WEEKDAYS.index(day), _clock_time(setting, clock.strip())


def _local_timezone() -> ZoneInfo:
    name = os.environ.get("TZ")
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    try:
        link = os.readlink("/etc/localtime")
        return ZoneInfo(link.split("zoneinfo/", 1)[1])
    except (OSError, IndexError, ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _check_slack(settings: Settings) -> None:
    """With SLACK_BOT_TOKEN set, the rest of what Slack needs must be there too."""
    if not settings.slack_bot_token:
        return
    if not settings.slack_bot_token.startswith("xoxb-"):
        raise ConfigError("SLACK_BOT_TOKEN", "is not a bot token (xoxb-...)", "Use the Bot User OAuth Token from the app's OAuth & Permissions page.")
    if settings.slack_app_token and not settings.slack_app_token.startswith("xapp-"):
        raise ConfigError("SLACK_APP_TOKEN", "is not an app-level token (xapp-...)", "Create one with the connections:write scope under Basic Information → App-Level Tokens.")
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


def load_settings(config_file: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read the environment and the config file; raise :class:`ConfigError` on anything wrong."""
    env = os.environ if environ is None else environ
    path = find_config_file(config_file, env)
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text("utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(str(path), f"not valid TOML ({exc})", "Fix the syntax at the position shown.") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(str(path), f"cannot be read ({exc})", "Check the file's permissions and encoding (UTF-8).") from exc
    _check_keys("", raw, set(_SCHEMA))
    for section, table in raw.items():
        if not isinstance(table, Mapping):
            raise ConfigError(section, "must be a table", f"Write it as [{section}] followed by its settings.")
        _check_keys(section, table, _SCHEMA[section])
    base = path.parent if path else Path.cwd()
    values: dict[str, Any] = {"config_file": path}

    bot = raw.get("bot", {})
    if "language" in bot:
        values["language"] = _language("bot.language", bot["language"])
    if "desk_language" in bot:
        values["desk_language"] = _language("bot.desk_language", bot["desk_language"])
    values["timezone"] = _timezone("bot.timezone", bot["timezone"]) if "timezone" in bot else _local_timezone()

    database = raw.get("database", {})
    if "sqlite_file" in database:
        sqlite_file = Path(_string("database.sqlite_file", database["sqlite_file"])).expanduser()
        values["sqlite_file"] = sqlite_file if sqlite_file.is_absolute() else base / sqlite_file
    for key, field_name, example, can_be_off in (
        ("connect_timeout", "database_connect_timeout", "5s", False),
        ("statement_timeout", "database_statement_timeout", "10s", True),
        ("pool_timeout", "database_pool_timeout", "10s", False),
        ("busy_timeout", "sqlite_busy_timeout", "10s", False),
        ("retry_every", "database_retry_every", "5s", False),
    ):
        if key in database:
            values[field_name] = _seconds(f"database.{key}", database[key], example, can_be_off=can_be_off)

    classifier = raw.get("classifier", {})
    for key in ("categories_file", "severity_file", "userdict_file"):
        if key in classifier:
            values[key] = _file(f"classifier.{key}", classifier[key], base)

    handoff = raw.get("handoff", {})
    every = handoff.get("every_ticket", False)
    if not isinstance(every, bool):
        raise ConfigError("handoff.every_ticket", f"{every!r} is not true or false", "Write every_ticket = true or false.")
    min_severity = _severity("handoff.min_severity", handoff["min_severity"]) if "min_severity" in handoff else Severity.IMPORTANT
    values["handoff"] = HandoffPolicy(every_ticket=every, min_severity=min_severity)

    sla = raw.get("sla", {})
    defaults = ServiceLevels()
    levels = ServiceLevels(
        first_response=_sla_table("sla.first_response", sla.get("first_response", {}), defaults.first_response),
        substantive_reply=_sla_table("sla.substantive_reply", sla.get("substantive_reply", {}), defaults.substantive_reply),
        resolution=_sla_table("sla.resolution", sla.get("resolution", {}), defaults.resolution),
    )
    hot = raw.get("hot_issues", {})
    promise_defaults = Promises()
    remind_at = sla.get("remind_at", promise_defaults.remind_at)
    if isinstance(remind_at, bool) or not isinstance(remind_at, (int, float)) or not 0 <= remind_at < 1:
        raise ConfigError("sla.remind_at", f"{remind_at!r} is not a share between 0 and 1", "Use 0.75 to remind when three quarters of the time have passed, 0 for no reminders.")
    customers = hot.get("customers", promise_defaults.hot_issue_customers)
    if isinstance(customers, bool) or not isinstance(customers, int) or customers < 2:
        raise ConfigError("hot_issues.customers", f"{customers!r} is not a whole number >= 2", "DESIGN.md's rule is 3 different customers.")

    def duration(section: str, table: Mapping[str, Any], key: str, default: timedelta) -> timedelta:
        return parse_duration(f"{section}.{key}", table[key]) if key in table else default

    values["promises"] = Promises(
        levels=levels,
        hours=_business_hours(sla.get("business_hours", {}), values["timezone"]),
        remind_at=float(remind_at),
        upgrade_hot_after=duration("sla", sla, "upgrade_hot_after", promise_defaults.upgrade_hot_after),
        upgrade_major_after=duration("sla", sla, "upgrade_major_after", promise_defaults.upgrade_major_after),
        follow_up_after=duration("sla", sla, "follow_up_after", promise_defaults.follow_up_after),
        repeat_window=duration("sla", sla, "repeat_window", promise_defaults.repeat_window),
        hot_issue_window=duration("hot_issues", hot, "window", promise_defaults.hot_issue_window),
        hot_issue_customers=customers,
    )

    reports = raw.get("reports", {})
    if "digest" in reports:
        values["digest"] = _digest_schedule("reports.digest", reports["digest"])

    telegram = raw.get("telegram", {})
    if "mode" in telegram:
        mode = _string("telegram.mode", telegram["mode"])
        if mode not in ("polling", "webhook"):
            raise ConfigError("telegram.mode", f"unknown mode {mode!r}", 'Use "polling" or "webhook".')
        values["telegram_mode"] = mode
    if "webhook_url" in telegram:
        url = _string("telegram.webhook_url", telegram["webhook_url"])
        if not url.startswith("https://") and not url.startswith("http://127.0.0.1"):
            raise ConfigError("telegram.webhook_url", f"{url!r} is not an https:// URL", "Telegram delivers webhooks to public https:// URLs only.")
        values["telegram_webhook_url"] = url
    if "webhook_path" in telegram:
        path_ = _string("telegram.webhook_path", telegram["webhook_path"])
        if not path_.startswith("/"):
            raise ConfigError("telegram.webhook_path", f"{path_!r} does not start with /", 'Write it like "/telegram".')
        values["telegram_webhook_path"] = path_
    if "max_messages_per_second" in telegram:
        rate = telegram["max_messages_per_second"]
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or rate < 0:
            raise ConfigError("telegram.max_messages_per_second", f"{rate!r} is not a number >= 0", "Use 30 (Telegram's limit) or 0 to switch the limiter off.")
        values["telegram_max_messages_per_second"] = float(rate)
    if "spool_file" in telegram:  # the spool file is gone: Telegram itself keeps what is not stored yet
        logger.warning("telegram.spool_file is no longer used and can be removed: updates are confirmed "
                       "to Telegram only once they are in the database, so Telegram keeps them meanwhile")

    slack = raw.get("slack", {})
    for key, pattern, example in (
        ("agents_channel", r"[CG][A-Z0-9]{2,}", "C0123456789"),
        ("supervisors_channel", r"[CG][A-Z0-9]{2,}", "C0123456789"),
        ("supervisor_group", r"S[A-Z0-9]{2,}", "S0123456789"),
        ("agent_group", r"S[A-Z0-9]{2,}", "S0123456789"),
    ):
        if key in slack:
            value = _string(f"slack.{key}", slack[key])
            if not re.fullmatch(pattern, value):
                raise ConfigError(
                    f"slack.{key}",
                    f"{value!r} is not a Slack id",
                    f'Use the id, not the name (like "{example}": channel details or the user group\'s "Copy ID").',
                )
            values[f"slack_{key}"] = value
    for key in ("agents", "supervisors"):
        if key in slack:
            members = slack[key]
            if not isinstance(members, list) or not all(
                isinstance(m, str) and re.fullmatch(r"[UW][A-Z0-9]{2,}", m) for m in members
            ):
                raise ConfigError(f"slack.{key}", f"{members!r} is not a list of Slack user ids", 'Write it like ["U0123456789", "U0987654321"].')
            values[f"slack_{key}"] = frozenset(members)
    if "note_prefix" in slack:
        values["slack_note_prefix"] = _string("slack.note_prefix", slack["note_prefix"])
    if "events_path" in slack:
        events_path = _string("slack.events_path", slack["events_path"])
        if not events_path.startswith("/"):
            raise ConfigError("slack.events_path", f"{events_path!r} does not start with /", 'Write it like "/slack/events".')
        values["slack_events_path"] = events_path

    server = raw.get("server", {})
    if "listen" in server:
        values["listen"] = _string("server.listen", server["listen"])
    if "port" in server:
        port = server["port"]
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ConfigError("server.port", f"{port!r} is not a port number", "Use a whole number from 1 to 65535.")
        values["port"] = port

    def secret(name: str) -> str | None:
        value = env.get(name, "").strip()
        return value or None

    values.update(
        database_url=secret("DATABASE_URL"),
        telegram_token=secret("TELEGRAM_BOT_TOKEN"),
        telegram_api_base_url=secret("TELEGRAM_API_BASE_URL"),
        telegram_webhook_secret=secret("TELEGRAM_WEBHOOK_SECRET"),
        slack_bot_token=secret("SLACK_BOT_TOKEN"),
        slack_app_token=secret("SLACK_APP_TOKEN"),
        slack_signing_secret=secret("SLACK_SIGNING_SECRET"),
        slack_api_url=secret("SLACK_API_URL"),
    )
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
