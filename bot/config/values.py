"""How each kind of setting is read and checked, with the error that names it and says
how to fix it (:class:`ConfigError`). The settings themselves are declared in
:mod:`bot.config`."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from datetime import date, time, timedelta
from difflib import get_close_matches
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flows.domain import Severity
from flows.redaction import redact
from flows.sla import BusinessHours

class ConfigError(Exception):
    """A setting is missing or wrong; the message names it and says how to fix it."""

    kind = "configuration error"  # how the command line introduces it

    def __init__(self, setting: str | None, problem: str, fix: str) -> None:
        # printed at start-up and logged: never with a token or a URL's password in it
        problem = redact(problem)
        super().__init__(f"{setting}: {problem}. {fix}" if setting else f"{problem}. {fix}")
        self.setting = setting
        self.problem = problem
        self.fix = fix


class CannotStart(ConfigError):
    """The settings look right, but what they point at failed: a database that does not
    answer or refuses the connection, a chat platform that rejects the token or cannot be
    reached, a port already in use. Printed as "cannot start", not as a configuration
    error; the message names the setting to check, if one is involved (``setting`` None:
    nothing the operator set, e.g. the default Telegram Bot API address)."""

    kind = "cannot start"


# ---------------------------------------------------------------------- parsing helpers
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
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


def _boolean(setting: str, value: Any) -> bool:
    if not isinstance(value, bool):
        name = setting.rpartition(".")[2]
        raise ConfigError(setting, f"{value!r} is not true or false", f"Write {name} = true or false.")
    return value


def _share(setting: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ConfigError(setting, f"{value!r} is not a share between 0 and 1", "Use 0.75 to remind when three quarters of the time have passed, 0 for no reminders.")
    return float(value)


def _customers(setting: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 2:
        raise ConfigError(setting, f"{value!r} is not a whole number >= 2", "DESIGN.md's rule is 3 different customers.")
    return value


def _telegram_mode(setting: str, value: Any) -> str:
    mode = _string(setting, value)
    if mode not in ("polling", "webhook"):
        raise ConfigError(setting, f"unknown mode {mode!r}", 'Use "polling" or "webhook".')
    return mode


def _webhook_url(setting: str, value: Any) -> str:
    url = _string(setting, value)
    if not url.startswith("https://") and not url.startswith("http://127.0.0.1"):
        raise ConfigError(setting, f"{url!r} is not an https:// URL", "Telegram delivers webhooks to public https:// URLs only.")
    return url


def _url_path(example: str) -> Callable[[str, Any], str]:
    def parse(setting: str, value: Any) -> str:
        path = _string(setting, value)
        if not path.startswith("/"):
            raise ConfigError(setting, f"{path!r} does not start with /", f'Write it like "{example}".')
        return path

    return parse


def _rate(setting: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ConfigError(setting, f"{value!r} is not a number >= 0", "Use 30 (Telegram's limit) or 0 to switch the limiter off.")
    return float(value)


def _slack_id(pattern: str, example: str) -> Callable[[str, Any], str]:
    def parse(setting: str, value: Any) -> str:
        text = _string(setting, value)
        if not re.fullmatch(pattern, text):
            raise ConfigError(
                setting,
                f"{text!r} is not a Slack id",
                f'Use the id, not the name (like "{example}": channel details or the user group\'s "Copy ID").',
            )
        return text

    return parse


def _slack_users(setting: str, value: Any) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(m, str) and re.fullmatch(r"[UW][A-Z0-9]{2,}", m) for m in value):
        raise ConfigError(setting, f"{value!r} is not a list of Slack user ids", 'Write it like ["U0123456789", "U0987654321"].')
    return frozenset(value)


def _port(setting: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise ConfigError(setting, f"{value!r} is not a port number", "Use a whole number from 1 to 65535.")
    return value


def _names(setting: str, value: Any) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(m, str) and m.strip() for m in value):
        raise ConfigError(setting, f"{value!r} is not a list of names", 'Write it like ["sue", "li.wei"].')
    return frozenset(m.strip() for m in value)


# ---------------------------------------------------------------------- secrets' shapes
# Their errors say what the value should look like, never what it is.
_TELEGRAM_TOKEN = re.compile(r"\d{1,20}:[A-Za-z0-9_-]{30,60}")
_SLACK_TOKEN = re.compile(r"[A-Za-z0-9-]+")


def _telegram_token(setting: str, value: str) -> None:
    """@BotFather's tokens: the bot's numeric id, a colon, 35 letters, digits, _ or -."""
    if not _TELEGRAM_TOKEN.fullmatch(value):
        raise ConfigError(
            setting,
            "is not a Telegram bot token (it should look like 123456789:AAH..., the bot's "
            "number, a colon and about 35 letters, digits, '_' or '-')",
            "Copy the token again from @BotFather (/mybots → API Token), without quotes or spaces.",
        )


def _slack_bot_token(setting: str, value: str) -> None:
    if not value.startswith("xoxb-") or not _SLACK_TOKEN.fullmatch(value):
        raise ConfigError(setting, "is not a bot token (xoxb-...)", "Use the Bot User OAuth Token from the app's OAuth & Permissions page.")


def _slack_app_token(setting: str, value: str) -> None:
    if not value.startswith("xapp-") or not _SLACK_TOKEN.fullmatch(value):
        raise ConfigError(setting, "is not an app-level token (xapp-...)", "Create one with the connections:write scope under Basic Information → App-Level Tokens.")
