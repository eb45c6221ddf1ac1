"""The bolt app and its HTTP endpoint (Socket Mode is wired in bot/runner.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.web.async_client import AsyncWebClient


def http_handler(app: AsyncApp) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The aiohttp endpoint for Events API, interactivity and slash-command requests
    (bolt verifies the signature and the timestamp: forged or stale requests get 401)."""

    async def receive(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    return receive


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

