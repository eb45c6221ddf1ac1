"""The bolt app and its HTTP endpoint (Socket Mode is wired in bot/runner.py)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.web.async_client import AsyncWebClient

logger = logging.getLogger(__name__)


def http_handler(app: AsyncApp) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The aiohttp endpoint for Events API, interactivity and slash-command requests
    (bolt verifies the signature and the timestamp: forged or stale requests get 401)."""

    async def receive(request: web.Request) -> web.Response:
        if not _readable_timestamp(request.headers.get(TIMESTAMP_HEADER)):
            # bolt's signature check would fail on int() and answer 500, which Slack retries
            logger.warning("Slack request without a readable %s from %s", TIMESTAMP_HEADER, request.remote)
            return web.json_response({"error": "invalid request"}, status=401)
        try:
            bolt_request = await to_bolt_request(request)  # parses the body
        except Exception as exc:  # noqa: BLE001 - a body bolt cannot read is not Slack's
            logger.warning("unreadable Slack request from %s (%s)", request.remote, exc.__class__.__name__)
            return web.json_response({"error": "invalid request"}, status=400)
        return await to_aiohttp_response(await app.async_dispatch(bolt_request))

    return receive


TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"


def _readable_timestamp(value: str | None) -> bool:
    """Seconds since the epoch in ASCII digits, as Slack sends them (bolt checks the age)."""
    return value is not None and 0 < len(value) <= 12 and value.isascii() and value.isdigit()


async def authorize_once(client: AsyncWebClient) -> AuthorizeResult:
    """``auth.test`` at start-up; raises :class:`SlackApiError` for a bad token."""
    response = await client.auth_test()
    return AuthorizeResult.from_auth_test_response(auth_test_response=response, bot_token=client.token)


def build_app(client: AsyncWebClient, auth: AuthorizeResult, signing_secret: str | None) -> AsyncApp:
    """The bolt app, authorised once at start-up with ``auth.test`` (not on every request,
    so a Slack hiccup on that call can never make bolt drop an event)."""

    async def authorize(**_: Any) -> AuthorizeResult:
        return auth

    # bolt takes the token from ``authorize``; a client carrying one too only earns a warning
    tokenless = AsyncWebClient(base_url=client.base_url, retry_handlers=client.retry_handlers)
    return AsyncApp(
        client=tokenless,
        authorize=authorize,
        signing_secret=signing_secret or "",
        request_verification_enabled=bool(signing_secret),
        raise_error_for_unhandled_request=False,
        # acknowledge once the listener has committed what the event changes (Socket Mode
        # and HTTP alike); the slow parts run after the acknowledgement (``background``)
        process_before_response=True,
    )

