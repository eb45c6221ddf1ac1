"""The settings are declared once (bot/config/): the file's keys, their checks and the
typed Settings come from the same declarations. These cases pin what loading does, error
message for error message (they were recorded from the loader before the declarations)."""

from __future__ import annotations

import logging
import re
from dataclasses import fields
from datetime import date, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import ENV_SECRETS, RETIRED, SCHEMA, ConfigError, Settings, load_settings
from flows.domain import Severity
from flows.grading import HandoffPolicy
from flows.sla import BusinessHours, Promises, ServiceLevels

ROOT = Path(__file__).resolve().parents[2]


def _load(tmp_path: Path, toml: str, environ: dict[str, str] | None = None) -> Settings:
    path = tmp_path / "complaint-bot.toml"
    path.write_text(toml, encoding="utf-8")
    return load_settings(path, environ or {})


ERRORS = [
    ('nonsense = 1\n', {}, 'nonsense: unknown setting. Known settings: bot, classifier, database, desk, handoff, hot_issues, reports, server, sla, slack, telegram.'),
    ('[bots]\nlanguage = "zh"\n', {}, "bots: unknown setting. Did you mean 'bot'?"),
    ('bot = 3\n', {}, 'bot: must be a table. Write it as [bot] followed by its settings.'),
    ('[bot]\nlanguage = "fr"\n', {}, "bot.language: unsupported language 'fr'. Use one of zh, en."),
    ('[bot]\nlanguage = ""\n', {}, "bot.language: '' is not a non-empty string. Put the value in quotes."),
    ('[bot]\nlanguage = 5\n', {}, 'bot.language: 5 is not a non-empty string. Put the value in quotes.'),
    ('[bot]\ndesk_language = "de"\n', {}, "bot.desk_language: unsupported language 'de'. Use one of zh, en."),
    ('[bot]\ntimezone = "Mars/Base"\n', {}, 'bot.timezone: unknown time zone \'Mars/Base\'. Use an IANA name such as "Asia/Shanghai".'),
    ('[bot]\nlangauge = "zh"\n', {}, "bot.langauge: unknown setting. Did you mean 'language'?"),
    ('[bot]\nxyzzy = "zh"\n', {}, 'bot.xyzzy: unknown setting. Known settings: desk_language, language, timezone.'),
    ('[database]\nsqlite_file = ""\n', {}, "database.sqlite_file: '' is not a non-empty string. Put the value in quotes."),
    ('[database]\nconnect_timeout = true\n', {}, 'database.connect_timeout: True is not a duration. Write it like "5s".'),
    ('[database]\npool_timeout = "-1s"\n', {}, 'database.pool_timeout: \'-1s\' is not a duration. Write it like "10s".'),
    ('[database]\nbusy_timeout = "0s"\n', {}, 'database.busy_timeout: \'0s\' is not more than 0. Write it like "10s".'),
    ('[database]\nretry_every = 3\n', {}, 'database.retry_every: 3 has no unit. Write it with its unit, like "5s".'),
    ('[classifier]\nseverity_file = 3\n', {}, 'classifier.severity_file: 3 is not a non-empty string. Put the value in quotes.'),
    ('[handoff]\nevery_ticket = "yes"\n', {}, "handoff.every_ticket: 'yes' is not true or false. Write every_ticket = true or false."),
    ('[handoff]\nmin_severity = "urgent"\n', {}, "handoff.min_severity: unknown severity 'urgent'. Use one of general, important, hot, major."),
    ('[handoff]\nmin_severity = 3\n', {}, 'handoff.min_severity: 3 is not a non-empty string. Put the value in quotes.'),
    ('[sla]\nfirst_response = 3\n', {}, 'sla.first_response: must be a table of severity = duration. Write [sla.first_response] with lines like general = "2h".'),
    ('[sla.first_response]\nurgent = "2h"\n', {}, "sla.first_response.urgent: unknown severity 'urgent'. Use one of general, important, hot, major."),
    ('[sla.first_response]\ngeneral = "soon"\n', {}, 'sla.first_response.general: \'soon\' is not a duration. Write it like "2h", "30m" or "1d".'),
    ('[sla.substantive_reply]\ngeneral = true\n', {}, 'sla.substantive_reply.general: True is not a duration. Write it like "2h", "30m" or "1d".'),
    ('[sla.resolution]\nmajor = "1x"\n', {}, 'sla.resolution.major: \'1x\' is not a duration. Write it like "2h", "30m" or "1d".'),
    ('[sla]\nremind_at = 1\n', {}, 'sla.remind_at: 1 is not a share between 0 and 1. Use 0.75 to remind when three quarters of the time have passed, 0 for no reminders.'),
    ('[sla]\nremind_at = true\n', {}, 'sla.remind_at: True is not a share between 0 and 1. Use 0.75 to remind when three quarters of the time have passed, 0 for no reminders.'),
    ('[sla]\nremind_at = "half"\n', {}, "sla.remind_at: 'half' is not a share between 0 and 1. Use 0.75 to remind when three quarters of the time have passed, 0 for no reminders."),
    ('[sla]\nbusiness_hours = 3\n', {}, 'sla.business_hours: must be a table. Write [sla.business_hours] with opens = "09:00" and closes = "18:00".'),
    ('[sla.business_hours]\nopens = "09:00"\n', {}, 'sla.business_hours: needs both opens and closes, opens before closes. Write opens = "09:00" and closes = "18:00".'),
    ('[sla.business_hours]\nopens = "19:00"\ncloses = "18:00"\n', {}, 'sla.business_hours: needs both opens and closes, opens before closes. Write opens = "09:00" and closes = "18:00".'),
    ('[sla.business_hours]\nopens = "9am"\ncloses = "18:00"\n', {}, 'sla.business_hours.opens: \'9am\' is not a time of day. Write it like "09:00".'),
    ('[sla.business_hours]\nopens = "09:00"\ncloses = "18:00"\nworkdays = ["monday"]\n', {}, 'sla.business_hours.workdays: [\'monday\'] is not a list of weekdays. Write workdays = ["mon", "tue", "wed", "thu", "fri"].'),
    ('[sla.business_hours]\nopens = "09:00"\ncloses = "18:00"\nworkdays = []\n', {}, 'sla.business_hours.workdays: [] is not a list of weekdays. Write workdays = ["mon", "tue", "wed", "thu", "fri"].'),
    ('[sla.business_hours]\nopens = "09:00"\ncloses = "18:00"\nholidays = "2026-10-01"\n', {}, 'sla.business_hours.holidays: must be a list of dates. Write holidays = ["2026-10-01", "2026-10-02"].'),
    ('[sla.business_hours]\nopens = "09:00"\ncloses = "18:00"\nholidays = ["2026-13-01"]\n', {}, 'sla.business_hours.holidays: \'2026-13-01\' is not a date. Write dates like "2026-10-01".'),
    ('[sla.business_hours]\nopen = "09:00"\n', {}, "sla.business_hours.open: unknown setting. Did you mean 'opens'?"),
    ('[sla]\nupgrade_hot_after = "a week"\n', {}, 'sla.upgrade_hot_after: \'a week\' is not a duration. Write it like "2h", "30m" or "1d".'),
    ('[sla]\nupgrade_major_after = false\n', {}, 'sla.upgrade_major_after: False is not a duration. Write it like "2h", "30m" or "1d".'),
    ('[sla]\nfollow_up_after = "x"\n', {}, 'sla.follow_up_after: \'x\' is not a duration. Write it like "2h", "30m" or "1d".'),
    ('[sla]\nrepeat_window = "y"\n', {}, 'sla.repeat_window: \'y\' is not a duration. Write it like "2h", "30m" or "1d".'),
    ('[sla]\nrepeat_windo = "1d"\n', {}, "sla.repeat_windo: unknown setting. Did you mean 'repeat_window'?"),
    ('[hot_issues]\ncustomers = 1\n', {}, "hot_issues.customers: 1 is not a whole number >= 2. DESIGN.md's rule is 3 different customers."),
    ('[hot_issues]\ncustomers = true\n', {}, "hot_issues.customers: True is not a whole number >= 2. DESIGN.md's rule is 3 different customers."),
    ('[hot_issues]\ncustomers = 2.5\n', {}, "hot_issues.customers: 2.5 is not a whole number >= 2. DESIGN.md's rule is 3 different customers."),
    ('[hot_issues]\nwindow = "month"\n', {}, 'hot_issues.window: \'month\' is not a duration. Write it like "2h", "30m" or "1d".'),
    ('[sla]\nrepeat_window = "y"\n[hot_issues]\nwindow = "z"\ncustomers = 1\n', {}, "hot_issues.customers: 1 is not a whole number >= 2. DESIGN.md's rule is 3 different customers."),
    ('[sla]\nremind_at = 2\n[hot_issues]\ncustomers = 1\n[sla.first_response]\ngeneral = "x"\n', {}, 'sla.first_response.general: \'x\' is not a duration. Write it like "2h", "30m" or "1d".'),
    ('[reports]\ndigest = "someday 09:00"\n', {}, 'reports.digest: \'someday 09:00\' does not start with a weekday. Write it like "mon 09:00", or "off".'),
    ('[reports]\ndigest = "mon 9"\n', {}, 'reports.digest: \'9\' is not a time of day. Write it like "09:00".'),
    ('[reports]\ndigest = 5\n', {}, 'reports.digest: 5 is not a non-empty string. Put the value in quotes.'),
    ('[telegram]\nmode = "push"\n', {}, 'telegram.mode: unknown mode \'push\'. Use "polling" or "webhook".'),
    ('[telegram]\nwebhook_url = "ftp://x"\n', {}, "telegram.webhook_url: 'ftp://x' is not an https:// URL. Telegram delivers webhooks to public https:// URLs only."),
    ('[telegram]\nwebhook_path = "telegram"\n', {}, 'telegram.webhook_path: \'telegram\' does not start with /. Write it like "/telegram".'),
    ('[telegram]\nmax_messages_per_second = -1\n', {}, "telegram.max_messages_per_second: -1 is not a number >= 0. Use 30 (Telegram's limit) or 0 to switch the limiter off."),
    ('[telegram]\nmax_messages_per_second = "fast"\n', {}, "telegram.max_messages_per_second: 'fast' is not a number >= 0. Use 30 (Telegram's limit) or 0 to switch the limiter off."),
    ('[telegram]\nspool_file = "x"\nmode = "push"\n', {}, 'telegram.mode: unknown mode \'push\'. Use "polling" or "webhook".'),
    ('[telegram]\nspool_file = "x"\n[slack]\nnote_prefix = ""\n', {}, "slack.note_prefix: '' is not a non-empty string. Put the value in quotes."),
    ('[telegram]\nmode = "webhook"\n', {'TELEGRAM_BOT_TOKEN': '123456789:AAH-well_formed_token_for_the_tests0'}, 'telegram.webhook_url: webhook mode needs the public URL Telegram should deliver to. Set webhook_url = "https://your.host/telegram" under [telegram], or use mode = "polling".'),
    ('', {'TELEGRAM_BOT_TOKEN': 'hello'}, "TELEGRAM_BOT_TOKEN: is not a Telegram bot token (it should look like 123456789:AAH..., the bot's number, a colon and about 35 letters, digits, '_' or '-'). Copy the token again from @BotFather (/mybots → API Token), without quotes or spaces."),
    ('', {'TELEGRAM_BOT_TOKEN': '1:abc'}, "TELEGRAM_BOT_TOKEN: is not a Telegram bot token (it should look like 123456789:AAH..., the bot's number, a colon and about 35 letters, digits, '_' or '-'). Copy the token again from @BotFather (/mybots → API Token), without quotes or spaces."),
    ('', {'TELEGRAM_BOT_TOKEN': '123456789:AAH-well_formed token_for_the_tests0'}, "TELEGRAM_BOT_TOKEN: is not a Telegram bot token (it should look like 123456789:AAH..., the bot's number, a colon and about 35 letters, digits, '_' or '-'). Copy the token again from @BotFather (/mybots → API Token), without quotes or spaces."),
    ('', {'TELEGRAM_BOT_TOKEN': "'123456789:AAH-well_formed_token_for_the_tests0'"}, "TELEGRAM_BOT_TOKEN: is not a Telegram bot token (it should look like 123456789:AAH..., the bot's number, a colon and about 35 letters, digits, '_' or '-'). Copy the token again from @BotFather (/mybots → API Token), without quotes or spaces."),
    ('', {'TELEGRAM_BOT_TOKEN': 'bot123456789:AAH-well_formed_token_for_the_tests0'}, "TELEGRAM_BOT_TOKEN: is not a Telegram bot token (it should look like 123456789:AAH..., the bot's number, a colon and about 35 letters, digits, '_' or '-'). Copy the token again from @BotFather (/mybots → API Token), without quotes or spaces."),
    ('', {'SLACK_BOT_TOKEN': 'xoxb-1 2'}, "SLACK_BOT_TOKEN: is not a bot token (xoxb-...). Use the Bot User OAuth Token from the app's OAuth & Permissions page."),
    ('', {'SLACK_APP_TOKEN': 'hello'}, 'SLACK_APP_TOKEN: is not an app-level token (xapp-...). Create one with the connections:write scope under Basic Information → App-Level Tokens.'),
    ('', {'TELEGRAM_WEBHOOK_SECRET': 'bad secret!'}, "TELEGRAM_WEBHOOK_SECRET: may contain only letters, digits, '_' and '-' (1-256 characters). Choose another secret; Telegram rejects other characters."),
    ('[slack]\nagents_channel = "general"\n', {}, 'slack.agents_channel: \'general\' is not a Slack id. Use the id, not the name (like "C0123456789": channel details or the user group\'s "Copy ID").'),
    ('[slack]\nsupervisors_channel = "#sup"\n', {}, 'slack.supervisors_channel: \'#sup\' is not a Slack id. Use the id, not the name (like "C0123456789": channel details or the user group\'s "Copy ID").'),
    ('[slack]\nsupervisor_group = "G1"\n', {}, 'slack.supervisor_group: \'G1\' is not a Slack id. Use the id, not the name (like "S0123456789": channel details or the user group\'s "Copy ID").'),
    ('[slack]\nagent_group = "sx"\n', {}, 'slack.agent_group: \'sx\' is not a Slack id. Use the id, not the name (like "S0123456789": channel details or the user group\'s "Copy ID").'),
    ('[slack]\nagents = ["bob"]\n', {}, 'slack.agents: [\'bob\'] is not a list of Slack user ids. Write it like ["U0123456789", "U0987654321"].'),
    ('[slack]\nsupervisors = "U123"\n', {}, 'slack.supervisors: \'U123\' is not a list of Slack user ids. Write it like ["U0123456789", "U0987654321"].'),
    ('[desk]\nsupervisors = "sue"\n', {}, 'desk.supervisors: \'sue\' is not a list of names. Write it like ["sue", "li.wei"].'),
    ('[slack]\nnote_prefix = 3\n', {}, 'slack.note_prefix: 3 is not a non-empty string. Put the value in quotes.'),
    ('[slack]\nevents_path = "events"\n', {}, 'slack.events_path: \'events\' does not start with /. Write it like "/slack/events".'),
    ('[slack]\nagent_channel = "C123"\n', {}, "slack.agent_channel: unknown setting. Did you mean 'agents_channel'?"),
    ('', {'SLACK_BOT_TOKEN': 'xoxp-1'}, "SLACK_BOT_TOKEN: is not a bot token (xoxb-...). Use the Bot User OAuth Token from the app's OAuth & Permissions page."),
    ('', {'SLACK_BOT_TOKEN': 'xoxb-1', 'SLACK_APP_TOKEN': 'xoxa-2'}, 'SLACK_APP_TOKEN: is not an app-level token (xapp-...). Create one with the connections:write scope under Basic Information → App-Level Tokens.'),
    ('', {'SLACK_BOT_TOKEN': 'xoxb-1'}, 'SLACK_APP_TOKEN / SLACK_SIGNING_SECRET: neither is set, so Slack cannot send the bot anything. Set SLACK_APP_TOKEN for Socket Mode, or SLACK_SIGNING_SECRET for HTTP events (Basic Information → Signing Secret).'),
    ('', {'SLACK_BOT_TOKEN': 'xoxb-1', 'SLACK_APP_TOKEN': 'xapp-2'}, 'slack.agents_channel: is required with SLACK_BOT_TOKEN. Add agents_channel = "C0123456789" under [slack] (the channel where ticket cards go).'),
    ('[slack]\nagents_channel = "C123"\n', {'SLACK_BOT_TOKEN': 'xoxb-1', 'SLACK_SIGNING_SECRET': 's'}, 'slack.agents: nobody is configured as an agent or supervisor, so nobody could claim a ticket. Set agent_group = "S..." (a user group) or agents = ["U...", ...] under [slack].'),
    ('[server]\nport = 70000\n', {}, 'server.port: 70000 is not a port number. Use a whole number from 1 to 65535.'),
    ('[server]\nport = "80"\n', {}, "server.port: '80' is not a port number. Use a whole number from 1 to 65535."),
    ('[server]\nport = true\n', {}, 'server.port: True is not a port number. Use a whole number from 1 to 65535.'),
    ('[server]\nlisten = ""\n', {}, "server.listen: '' is not a non-empty string. Put the value in quotes."),
    ('[bot]\nlanguage = "en"\n[database]\nconnect_timeout = "x"\n', {}, 'database.connect_timeout: \'x\' is not a duration. Write it like "5s".'),
    ('language = "en"\n', {}, 'language: unknown setting. Known settings: bot, classifier, database, desk, handoff, hot_issues, reports, server, sla, slack, telegram.'),
]


@pytest.mark.parametrize(("toml", "environ", "message"), ERRORS)
def test_every_error_names_the_setting_and_the_fix(tmp_path: Path, toml: str, environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        _load(tmp_path, toml, environ)
    assert str(raised.value) == message
    assert message.startswith(f"{raised.value.setting}: ")


def test_a_file_that_is_not_toml_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        _load(tmp_path, "[bot\n")
    assert raised.value.setting == str(tmp_path / "complaint-bot.toml")
    assert str(raised.value).endswith(
        ": not valid TOML (Expected ']' at the end of a table declaration (at line 1, column 5)). Fix the syntax at the position shown."
    )


def test_a_missing_classifier_file_is_named_with_its_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        _load(tmp_path, '[classifier]\ncategories_file = "missing.txt"\n')
    assert str(raised.value) == (
        f"classifier.categories_file: file {tmp_path / 'missing.txt'} does not exist. "
        "Fix the path (relative paths are relative to the config file)."
    )


def test_the_defaults_without_a_file_or_secrets(tmp_path: Path) -> None:
    settings = _load(tmp_path, "")
    local = settings.timezone  # the machine's time zone, for the file and the business hours
    expected = Settings(
        config_file=tmp_path / "complaint-bot.toml", timezone=local, promises=Promises(hours=BusinessHours(timezone=local))
    )
    assert settings == expected


FULL = """
[bot]
language = "en"
desk_language = "en"
timezone = "Asia/Shanghai"
[database]
sqlite_file = "data/bot.db"
connect_timeout = "2s"
statement_timeout = "off"
pool_timeout = "3s"
busy_timeout = "4s"
retry_every = "1m"
[classifier]
categories_file = "cats.txt"
[handoff]
every_ticket = true
min_severity = "hot"
[sla]
remind_at = 0.5
upgrade_hot_after = "6d"
upgrade_major_after = 600
follow_up_after = "2d"
repeat_window = "30m"
[sla.first_response]
general = "3h"
[sla.substantive_reply]
major = "90s"
[sla.resolution]
hot = 12
[sla.business_hours]
opens = "09:00"
closes = "18:00"
workdays = ["mon", "tue"]
holidays = ["2026-10-01", 2026-10-02]
[hot_issues]
customers = 4
window = "10d"
[reports]
digest = "fri 17:30"
[telegram]
mode = "webhook"
webhook_url = "https://example.invalid/tg"
webhook_path = "/tg"
max_messages_per_second = 10
[slack]
agents_channel = "C0123"
supervisors_channel = "G0456"
supervisor_group = "S0789"
agent_group = "S0999"
agents = ["U01", "W02"]
supervisors = ["U03"]
note_prefix = "!!"
events_path = "/se"
[server]
listen = "127.0.0.1"
port = 9000
"""

ENVIRON = {
    "DATABASE_URL": " postgresql://u:p@h/db ",
    "TELEGRAM_BOT_TOKEN": "123456789:AAH-well_formed_token_for_the_tests0",
    "TELEGRAM_API_BASE_URL": "http://127.0.0.1:1/bot",
    "TELEGRAM_WEBHOOK_SECRET": "ok_secret-1",
    "SLACK_BOT_TOKEN": "xoxb-1",
    "SLACK_APP_TOKEN": "xapp-2",
    "SLACK_SIGNING_SECRET": "sig",
    "SLACK_API_URL": "http://127.0.0.1:2/api/",
}


def test_every_setting_is_read_into_its_field(tmp_path: Path) -> None:
    (tmp_path / "cats.txt").write_text("x", encoding="utf-8")
    settings = _load(tmp_path, FULL, ENVIRON)
    shanghai = ZoneInfo("Asia/Shanghai")
    levels = ServiceLevels()
    assert settings == Settings(
        language="en",
        desk_language="en",
        timezone=shanghai,
        database_url="postgresql://u:p@h/db",
        sqlite_file=tmp_path / "data/bot.db",
        database_connect_timeout=2.0,
        database_statement_timeout=None,
        database_pool_timeout=3.0,
        sqlite_busy_timeout=4.0,
        database_retry_every=60.0,
        categories_file=tmp_path / "cats.txt",
        handoff=HandoffPolicy(every_ticket=True, min_severity=Severity.HOT),
        promises=Promises(
            levels=ServiceLevels(
                first_response={**levels.first_response, Severity.GENERAL: timedelta(hours=3)},
                substantive_reply={**levels.substantive_reply, Severity.MAJOR: timedelta(seconds=90)},
                resolution={**levels.resolution, Severity.HOT: timedelta(hours=12)},
            ),
            hours=BusinessHours(
                timezone=shanghai, opens=time(9), closes=time(18), workdays=frozenset({0, 1}),
                holidays=frozenset({date(2026, 10, 1), date(2026, 10, 2)}),
            ),  # fmt: skip
            remind_at=0.5,
            upgrade_hot_after=timedelta(days=6),
            upgrade_major_after=timedelta(hours=600),
            follow_up_after=timedelta(days=2),
            repeat_window=timedelta(minutes=30),
            hot_issue_window=timedelta(days=10),
            hot_issue_customers=4,
        ),
        digest=(4, time(17, 30)),
        telegram_mode="webhook",
        telegram_webhook_url="https://example.invalid/tg",
        telegram_webhook_path="/tg",
        telegram_max_messages_per_second=10.0,
        slack_agents_channel="C0123",
        slack_supervisors_channel="G0456",
        slack_supervisor_group="S0789",
        slack_agent_group="S0999",
        slack_agents=frozenset({"U01", "W02"}),
        slack_supervisors=frozenset({"U03"}),
        slack_note_prefix="!!",
        slack_events_path="/se",
        listen="127.0.0.1",
        port=9000,
        telegram_token="123456789:AAH-well_formed_token_for_the_tests0",
        telegram_api_base_url="http://127.0.0.1:1/bot",
        telegram_webhook_secret="ok_secret-1",
        slack_bot_token="xoxb-1",
        slack_app_token="xapp-2",
        slack_signing_secret="sig",
        slack_api_url="http://127.0.0.1:2/api/",
        config_file=tmp_path / "complaint-bot.toml",
    )


def test_a_retired_key_is_accepted_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.config"):
        _load(tmp_path, '[telegram]\nspool_file = "spool.jsonl"\n')
    assert [r.getMessage() for r in caplog.records] == [RETIRED["telegram.spool_file"]]


def test_the_secrets_come_from_the_environment_only() -> None:
    assert set(ENV_SECRETS) == set(ENVIRON)
    for section in SCHEMA.values():
        assert not any(name.isupper() for name in section)


def test_every_field_but_the_file_name_is_declared_with_its_source() -> None:
    assert [f.name for f in fields(Settings) if not f.metadata] == ["config_file"]


def _documented_keys() -> set[str]:
    """``section.key`` of every setting the example file shows, set or commented out."""
    keys: set[str] = set()
    section = ""
    for line in (ROOT / "docs" / "complaint-bot.example.toml").read_text("utf-8").splitlines():
        if header := re.match(r"^#?\s*\[([a-z_.]+)\]", line):
            section = header.group(1)
            if "." in section:  # a table-valued setting, such as [sla.first_response]
                keys.add(section)
        elif (key := re.match(r"^#?\s*([a-z_]+)\s*=", line)) and section:
            keys.add(f"{section}.{key.group(1)}")
    return keys


def test_the_example_file_shows_the_declared_settings() -> None:
    declared = {f"{section}.{key}" for section, names in SCHEMA.items() for key in names} - set(RETIRED)
    documented = {key for key in _documented_keys() if key.count(".") == 1}
    # the keys inside table-valued settings ([sla.first_response] general = ...) are left out
    assert documented - declared == set(), "the example shows settings that are not declared"
    assert declared - documented == set(), "declared settings missing from docs/complaint-bot.example.toml"
