"""``complaint-bot run`` with tokens: every configured channel in one process and one loop.

Starts, in order: the database and the service (``bootstrap.build``), the Telegram
application (polling, or webhook behind the bot's own HTTP server), the outbox relays
and the spool replay, and waits for SIGINT / SIGTERM; then stops everything in reverse.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import signal
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from aiohttp import web
from telegram import Update
from telegram.error import InvalidToken, NetworkError

from bot.bootstrap import App, build
from bot.config import ConfigError, Settings
from handlers import telegram as tg

logger = logging.getLogger(__name__)


class WebServer:
    """The bot's HTTP endpoint: Telegram's webhook and (with Slack over HTTP) Slack's events."""

    def __init__(self, listen: str, port: int) -> None:
        self.listen = listen
        self.port = port
        self.app = web.Application()
        self.app.router.add_get("/healthz", self._health)
        self._runner: web.AppRunner | None = None
        self.has_routes = False

    @staticmethod
    async def _health(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    def add_post(self, path: str, handler: Any) -> None:
        self.app.router.add_post(path, handler)
        self.has_routes = True

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.listen, self.port)
        try:
            await site.start()
        except OSError as exc:
            raise ConfigError("server.port", f"cannot listen on {self.listen}:{self.port} ({exc.strerror})", "Choose a free port under [server].") from exc
        logger.info("HTTP endpoint listening on %s:%s", self.listen, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@dataclass
class Started:
    """What starting a channel left running."""

    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    after_server_start: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


async def start_telegram(
    app: App, settings: Settings, stack: AsyncExitStack, server: WebServer, stop: asyncio.Event
) -> Started:
    """Initialise and start the Telegram application (polling, or webhook routes on ``server``)."""
    assert settings.telegram_token
    channel = tg.TelegramChannel(app.service, app.service.texts, tg.UpdateSpool(settings.telegram_spool_file))
    application = tg.build_application(
        settings.telegram_token,
        channel,
        base_url=settings.telegram_api_base_url,
        max_messages_per_second=settings.telegram_max_messages_per_second,
        clock=app.clock,
    )
    try:
        await application.initialize()
    except InvalidToken as exc:
        raise ConfigError("TELEGRAM_BOT_TOKEN", "Telegram rejected the token", "Copy the token again from @BotFather (/mybots → API Token).") from exc
    except NetworkError as exc:
        where = settings.telegram_api_base_url or "api.telegram.org"
        raise ConfigError("TELEGRAM_API_BASE_URL", f"cannot reach the Bot API at {where} ({exc})", "Check the network, or the URL if you set one.") from exc
    stack.push_async_callback(application.shutdown)
    await tg.set_command_menu(application, settings.language)
    await application.start()
    stack.push_async_callback(application.stop)
    started = Started()
    if settings.telegram_mode == "webhook":
        assert settings.telegram_webhook_url
        url = settings.telegram_webhook_url
        secret = settings.telegram_webhook_secret or secrets.token_urlsafe(32)
        path = settings.telegram_webhook_path or urlparse(url).path or "/"
        server.add_post(path, tg.webhook_handler(application, secret))
        started.after_server_start.append(lambda: tg.start_webhook(application, url, secret))
        logger.info("Telegram: webhook %s (served at %s)", url, path)
    else:
        assert application.updater is not None
        await application.updater.start_polling(allowed_updates=Update.ALL_TYPES)
        stack.push_async_callback(application.updater.stop)
        logger.info("Telegram: long polling as @%s", application.bot.username)
    assert channel.relay is not None
    started.tasks += [
        asyncio.create_task(channel.relay.run(stop), name="telegram-outbox"),
        asyncio.create_task(tg.replay_spool_periodically(application, stop), name="telegram-spool"),
    ]
    return started


async def run(settings: Settings, stop: asyncio.Event | None = None) -> int:
    """Run until SIGINT/SIGTERM (or ``stop``). Raises :class:`ConfigError` for settings that cannot work."""
    if settings.slack_bot_token:
        raise ConfigError(
            "SLACK_BOT_TOKEN",
            "the Slack hand-off is not built yet (issue #4)",
            "Unset SLACK_BOT_TOKEN for now; handed-off tickets stay queued in the database.",
        )
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    app = await build(settings, desk_connected=False)
    started: list[Started] = []
    async with AsyncExitStack() as stack:
        stack.push_async_callback(app.close)
        server = WebServer(settings.listen, settings.port)
        if settings.telegram_token:
            started.append(await start_telegram(app, settings, stack, server, stop))
        if server.has_routes:
            await server.start()
            stack.push_async_callback(server.stop)
        for channel in started:
            for after in channel.after_server_start:
                await after()
        for line in settings.describe_channels():
            print(line, flush=True)
        print("complaint-bot is running; Ctrl-C stops it.", flush=True)
        await stop.wait()
        print("stopping ...", flush=True)
        tasks = [task for channel in started for task in channel.tasks]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return 0
