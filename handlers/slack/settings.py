"""Where the desk lives in Slack and who works there (from the config file)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DeskSettings:
    agents_channel: str
    supervisors_channel: str
    supervisor_group: str | None = None
    agent_group: str | None = None
    agents: frozenset[str] = frozenset()
    supervisors: frozenset[str] = frozenset()
    note_prefix: str = "//"
    language: str = "zh"
