"""[database] timeouts in the config file: defaults, units, and errors that say how to fix them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings


def _load(tmp_path: Path, toml: str, **environ: str) -> Settings:
    path = tmp_path / "complaint-bot.toml"
    path.write_text(toml, encoding="utf-8")
    return load_settings(path, environ)


def test_defaults(tmp_path: Path) -> None:
    settings = _load(tmp_path, "")
    assert settings.database_connect_timeout == 5.0
    assert settings.database_statement_timeout == 10.0
    assert settings.database_pool_timeout == 10.0
    assert settings.sqlite_busy_timeout == 10.0
    assert settings.database_retry_every == 5.0


def test_values_with_units(tmp_path: Path) -> None:
    settings = _load(
        tmp_path,
        '[database]\nconnect_timeout = "2s"\nstatement_timeout = "1m"\npool_timeout = "0.5s"\n'
        'busy_timeout = "3s"\nretry_every = "10s"\n',
    )
    assert settings.database_connect_timeout == 2.0
    assert settings.database_statement_timeout == 60.0
    assert settings.database_pool_timeout == 0.5
    assert settings.sqlite_busy_timeout == 3.0
    assert settings.database_retry_every == 10.0


def test_the_statement_timeout_can_be_switched_off(tmp_path: Path) -> None:
    assert _load(tmp_path, '[database]\nstatement_timeout = "off"\n').database_statement_timeout is None


@pytest.mark.parametrize(
    ("line", "message"),
    [
        # a bare number means hours elsewhere in this file: here it is refused
        ("connect_timeout = 5", 'database.connect_timeout: 5 has no unit. Write it with its unit, like "5s".'),
        ('connect_timeout = "soon"', "database.connect_timeout: 'soon' is not a duration. Write it like \"5s\"."),
        ('connect_timeout = "off"', "database.connect_timeout: 'off' is not a duration. Write it like \"5s\"."),
        ('statement_timeout = "0s"', "database.statement_timeout: '0s' is not more than 0. Write \"off\" to switch it off."),
        ("statement_timeout = 10", 'database.statement_timeout: 10 has no unit. Write it with its unit, like "10s", or "off".'),
        ('busy_timout = "5s"', "database.busy_timout: unknown setting. Did you mean 'busy_timeout'?"),
    ],
)
def test_errors_name_the_setting_and_the_fix(tmp_path: Path, line: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        _load(tmp_path, f"[database]\n{line}\n")
    assert str(raised.value) == message


def test_a_config_error_never_carries_a_url_password() -> None:
    error = ConfigError("DATABASE_URL", "cannot use postgresql://bot:hunter22@db/bot", "Fix it.")
    assert "hunter22" not in str(error)
    assert "postgresql://bot:***@db/bot" in str(error)
