"""Who a Slack user is (their name; agent, supervisor or neither)."""

from __future__ import annotations

import logging
import time

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from flows.domain import Actor
from handlers.slack.settings import DeskSettings

logger = logging.getLogger(__name__)


class Directory:
    """Who a Slack user is: their name, and whether they are an agent or a supervisor
    (configured user ids, or members of the configured user groups, re-read every minute;
    when Slack cannot be asked, the last answer stands)."""

    def __init__(self, client: AsyncWebClient, settings: DeskSettings, ttl: float = 60.0) -> None:
        self.client = client
        self.settings = settings
        self.ttl = ttl
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}
        self._names: dict[str, tuple[float, str]] = {}

    async def _members(self, group: str | None) -> frozenset[str]:
        if not group:
            return frozenset()
        cached = self._groups.get(group)
        if cached and time.monotonic() - cached[0] < self.ttl:
            return cached[1]
        try:
            response = await self.client.usergroups_users_list(usergroup=group)
            members = frozenset(response.get("users") or ())
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            logger.warning("could not read user group %s: %s", group, exc)
            return cached[1] if cached else frozenset()
        self._groups[group] = (time.monotonic(), members)
        return members

    async def name(self, user_id: str) -> str:
        cached = self._names.get(user_id)
        if cached and time.monotonic() - cached[0] < self.ttl * 60:
            return cached[1]
        try:
            user = (await self.client.users_info(user=user_id)).get("user") or {}
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            logger.warning("could not read user %s: %s", user_id, exc)
            return cached[1] if cached else user_id
        profile = user.get("profile") or {}
        name = profile.get("display_name") or user.get("real_name") or user.get("name") or user_id
        self._names[user_id] = (time.monotonic(), name)
        return str(name)

    async def actor(self, user_id: str) -> Actor:
        supervisors = self.settings.supervisors | await self._members(self.settings.supervisor_group)
        agents = self.settings.agents | await self._members(self.settings.agent_group)
        return Actor(
            id=user_id,
            name=await self.name(user_id),
            is_agent=user_id in agents,
            is_supervisor=user_id in supervisors,
        )

