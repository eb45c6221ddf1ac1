"""``complaint-bot run`` with tokens: every configured channel in one process and one loop.

Starts, in order: the database and the service (``bootstrap.build``), the inbox (inbound
updates, flows/inbox.py), the Telegram bot (polling, or webhook behind the bot's own HTTP
server), Slack, the outbox relays and the scheduler, and waits for SIGINT / SIGTERM; then
lets every loop finish what it holds (nothing confirmed that is not committed, nothing
sent that is not marked) and stops everything in reverse.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
import signal
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo
from urllib.parse import urlparse

from aiohttp import web
from telegram.error import InvalidToken, NetworkError

from bot.bootstrap import App, StoppedWaitingForDatabase, build
from bot.config import CannotStart, Settings
from flows.domain import DESK_CHANNEL, OutboxItem
from flows.inbox import Inbox
from flows.polling import Poller
from flows.loops import every
from flows.outbox import OutboxRelay
from flows.redaction import redact
from handlers import telegram as tg
from flows.desk_presence import watch_desk
from storage.database import database_unavailable, mask_url
from storage.reports import build_report

logger = logging.getLogger(__name__)

OUTBOX_LEASE = 15.0  # seconds an outbox claim lasts unless renewed (a dead process's items wait this long)
STOP_TIMEOUT = 10.0  # seconds the loops get to finish at SIGTERM


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
            raise CannotStart("server.port", f"cannot listen on {self.listen}:{self.port} ({exc.strerror})", "Choose a free port under [server].") from exc
        logger.info("HTTP endpoint listening on %s:%s", self.listen, self.port)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()


def platform_unreachable(platform: str, setting: str, url: str | None, default_host: str, exc: BaseException) -> CannotStart:
    """The error for a chat platform's API that cannot be reached. It names the setting
    of its address only when the operator set it; else the platform's own host, and the
    network or proxy to check (python-telegram-bot's httpx and slack-sdk's aiohttp read
    HTTPS_PROXY)."""
    detail = redact(str(exc).strip()) or exc.__class__.__name__
    if url:
        return CannotStart(
            setting, f"cannot reach the {platform} at {mask_url(url)} ({detail})",
            "Check that address (or unset it to use the real one) and that the server there is running.",
        )  # fmt: skip
    return CannotStart(
        None, f"cannot reach the {platform} ({default_host}): {detail}",
        "Check this machine's network connection and DNS, and the proxy if it needs one (HTTPS_PROXY).",
    )  # fmt: skip


@dataclass
class Started:
    """What starting a channel left running."""

    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    relays: list[OutboxRelay] = field(default_factory=list)  # run until the other loops have stopped
    after_server_start: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


async def start_telegram(
    app: App, settings: Settings, stack: AsyncExitStack, server: WebServer, stop: asyncio.Event, customers: CustomerChannels, inbox: Inbox
) -> Started:
    """Initialise the Telegram bot, its outbox relay, and polling (standing by while
    another process polls the same token) or the webhook route on ``server``."""
    assert settings.telegram_token
    application = tg.build_application(
        settings.telegram_token,
        base_url=settings.telegram_api_base_url,
        max_messages_per_second=settings.telegram_max_messages_per_second,
    )
    channel = tg.TelegramChannel(application.bot, app.service.texts)
    try:
        try:
            await application.initialize()
        except BaseException:
            # the HTTP sessions were opened before getMe failed: closed here, since
            # Application.shutdown does nothing for an application that never started
            await application.bot.shutdown()
            raise
    except InvalidToken as exc:
        raise CannotStart("TELEGRAM_BOT_TOKEN", "Telegram rejected the token", "Copy the token again from @BotFather (/mybots → API Token).") from exc
    except NetworkError as exc:
        raise platform_unreachable("Telegram Bot API", "TELEGRAM_API_BASE_URL", settings.telegram_api_base_url, "api.telegram.org", exc) from exc
    stack.push_async_callback(application.shutdown)
    await tg.set_command_menu(application.bot, app.service.texts, settings.language)
    channel.relay = customers.add(
        tg.CHANNEL,
        OutboxRelay(app.database.unit_of_work, tg.CHANNEL, tg.TelegramSender(application.bot), app.clock, mark_delay=tg.MARK_DELAY, lease=OUTBOX_LEASE),
        tg.TelegramFiles(application.bot).fetch,
    )
    inbox.register(channel)
    inbox.ride_along(channel.relay.write_marks)  # the replies' sent marks go with the next arrivals' commit
    started = Started()
    if settings.telegram_mode == "webhook":
        assert settings.telegram_webhook_url
        url = settings.telegram_webhook_url
        secret = settings.telegram_webhook_secret or secrets.token_urlsafe(32)
        path = settings.telegram_webhook_path or urlparse(url).path or "/"
        server.add_post(path, tg.webhook_handler(channel, inbox, secret))
        started.after_server_start.append(lambda: tg.start_webhook(application, url, secret))
        logger.info("Telegram: webhook %s (served at %s)", url, path)
    else:
        poller = Poller(inbox, tg.CHANNEL, tg.TelegramUpdates(channel), f"poller:telegram:{application.bot.id}")
        started.tasks.append(asyncio.create_task(poller.run(stop), name="telegram-poller"))
        logger.info("Telegram: long polling as @%s (one process per token; others stand by)", application.bot.username)
    started.relays.append(channel.relay)
    return started


def next_digest(now: datetime, weekday: int, at: time, timezone: ZoneInfo) -> datetime:
    """The next weekly digest time after ``now`` (``weekday`` 0 = Monday, local ``at``)."""
    local = now.astimezone(timezone)
    days = (weekday - local.weekday()) % 7
    candidate = datetime.combine(local.date() + timedelta(days=days), at, tzinfo=timezone)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=days + 7), at, tzinfo=timezone)
    return candidate.astimezone(UTC)


async def send_digests(app: App, settings: Settings, stop: asyncio.Event) -> None:
    """Queue the supervisors' weekly digest at its hour (once per week, whichever process)."""
    assert settings.digest is not None
    weekday, at = settings.digest
    while not stop.is_set():
        due = next_digest(app.clock(), weekday, at, settings.timezone)
        wait = max((due - app.clock()).total_seconds(), 0.0)
        try:
            await asyncio.wait_for(stop.wait(), timeout=wait)
            return
        except TimeoutError:
            pass
        key = f"{due.astimezone(settings.timezone):%G-W%V}"
        try:
            if await app.service.schedule_digest(key, due - timedelta(days=7), due):
                logger.info("weekly digest %s queued", key)
        except Exception:
            logger.exception("weekly digest %s not queued", key)


async def keep_promises(app: App, stop: asyncio.Event, interval: float = 10.0) -> None:
    """The scheduler loop: act on due ticket timers (reminders, breaches, upgrades,
    follow-up closing) until ``stop``; several processes may run it on one PostgreSQL."""

    async def round_() -> None:
        handled = await app.service.run_due_timers()
        if handled:
            logger.info("acted on %s due timers", handled)

    await every(interval, stop, round_, "scheduler")


class CustomerChannels:
    """The outbox relays of the customer channels running in this process, so that a
    desk action's replies (an agent's answer) go out at once."""

    def __init__(self) -> None:
        self.relays: dict[str, OutboxRelay] = {}
        self.files: dict[str, Callable[[str], Awaitable[bytes]]] = {}

    def add(self, channel: str, relay: OutboxRelay, files: Callable[[str], Awaitable[bytes]]) -> OutboxRelay:
        self.relays[channel] = relay
        self.files[channel] = files
        return relay

    async def deliver(self, items: Sequence[OutboxItem]) -> bool:
        """Send now; True when everything went out (else it waits in the outbox)."""
        delivered = True
        for channel, target in dict.fromkeys((item.channel, item.target) for item in items):
            relay = self.relays.get(channel)
            if relay is None:
                logger.warning("no %s channel runs here: the reply waits in the outbox", channel)
                delivered = False
                continue
            try:
                sent = await relay.deliver_target(target)
            except Exception:  # the periodic drain retries
                logger.exception("delivering to %s %s failed", channel, target)
                delivered = False
                continue
            delivered = delivered and sent > 0
        return delivered


async def start_slack(
    app: App, settings: Settings, stack: AsyncExitStack, server: WebServer, stop: asyncio.Event, customers: CustomerChannels
) -> Started:
    """auth.test, the bolt app and its listeners, the desk relay; Socket Mode or HTTP events."""
    assert settings.slack_bot_token and settings.slack_agents_channel
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
    from slack_sdk.errors import SlackApiError
    from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
    from slack_sdk.web.async_client import AsyncWebClient

    from handlers import slack

    base_url = settings.slack_api_url or AsyncWebClient.BASE_URL
    # listeners answer people: a 429 is waited out once; the outbox client leaves retries to the outbox
    client = AsyncWebClient(token=settings.slack_bot_token, base_url=base_url, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)])
    outbox_client = AsyncWebClient(token=settings.slack_bot_token, base_url=base_url, retry_handlers=[])
    try:
        auth = await slack.authorize_once(client)
    except SlackApiError as exc:
        raise CannotStart("SLACK_BOT_TOKEN", f"Slack refused it ({exc.response.get('error')})", "Reinstall the app and copy the Bot User OAuth Token again.") from exc
    except (OSError, TimeoutError) as exc:
        raise platform_unreachable("Slack API", "SLACK_API_URL", settings.slack_api_url, "slack.com", exc) from exc
    desk_settings = slack.DeskSettings(
        agents_channel=settings.slack_agents_channel,
        supervisors_channel=settings.slack_supervisors_channel or settings.slack_agents_channel,
        supervisor_group=settings.slack_supervisor_group,
        agent_group=settings.slack_agent_group,
        agents=settings.slack_agents,
        supervisors=settings.slack_supervisors,
        note_prefix=settings.slack_note_prefix,
        language=settings.desk_language,
    )
    renderer = slack.CardRenderer(app.service.texts, app.service, settings.desk_language)
    desk = slack.SlackDesk(app.service, client, desk_settings, slack.Directory(client, desk_settings), renderer, customers.deliver)
    bolt = slack.build_app(client, auth, settings.slack_signing_secret)
    slack.register(bolt, desk)
    reports = functools.partial(build_report, app.database)
    sender = slack.SlackDeskSender(outbox_client, app.service, desk_settings, renderer, customers.files, reports)
    relay = OutboxRelay(app.database.unit_of_work, DESK_CHANNEL, sender, app.clock, base_delay=2.0, lease=OUTBOX_LEASE)
    started = Started(relays=[relay])
    if settings.digest is not None:
        started.tasks.append(asyncio.create_task(send_digests(app, settings, stop), name="digest"))
    if settings.slack_app_token:
        handler = AsyncSocketModeHandler(bolt, settings.slack_app_token, web_client=client)
        stack.push_async_callback(handler.close_async)  # its session, even if connecting fails
        try:
            # the first connection URL asked for here: slack-sdk would retry a refused
            # app token for ever, logging a traceback every few seconds
            opened = await client.apps_connections_open(app_token=settings.slack_app_token)
        except SlackApiError as exc:
            raise CannotStart("SLACK_APP_TOKEN", f"Slack refused it ({exc.response.get('error')})", "Create a new app-level token with the connections:write scope under Basic Information → App-Level Tokens.") from exc
        except (OSError, TimeoutError) as exc:
            raise platform_unreachable("Slack API", "SLACK_API_URL", settings.slack_api_url, "slack.com", exc) from exc
        handler.client.wss_uri = opened["url"]
        await handler.connect_async()
        logger.info("Slack: Socket Mode as %s", auth.bot_user_id)
    else:
        server.add_post(settings.slack_events_path, slack.http_handler(bolt))
        logger.info("Slack: HTTP events at %s", settings.slack_events_path)

    async def finish_listeners() -> None:
        await asyncio.gather(*desk.pending, return_exceptions=True)

    stack.push_async_callback(finish_listeners)
    return started


async def _finish(tasks: Sequence[asyncio.Task[None]]) -> None:
    """Wait for loops told to stop; cancel those still running after STOP_TIMEOUT."""
    if not tasks:
        return
    _, late = await asyncio.wait(tasks, timeout=STOP_TIMEOUT)
    for task in late:
        logger.warning("%s did not stop within %s s", task.get_name(), STOP_TIMEOUT)
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def run(settings: Settings, stop: asyncio.Event | None = None, ready: asyncio.Event | None = None) -> int:
    """Run until SIGINT/SIGTERM (or ``stop``); ``ready`` is set once everything listens.

    Raises :class:`ConfigError` for settings that cannot work.
    """
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    try:
        app = await build(settings, desk_connected=bool(settings.slack_bot_token), wait_for_db=True, stop=stop)
    except StoppedWaitingForDatabase:
        return 0
    started: list[Started] = []
    customers = CustomerChannels()
    inbox = Inbox(
        app.database.unit_of_work,
        app.service,
        app.clock,
        reply_claim=timedelta(seconds=OUTBOX_LEASE),
        is_outage=database_unavailable,
        fence=app.database.engine.dialect.name != "sqlite",  # SQLite: one process only
    )
    stop_inbox, stop_relays = asyncio.Event(), asyncio.Event()
    async with AsyncExitStack() as stack:
        stack.push_async_callback(app.close)
        server = WebServer(settings.listen, settings.port)
        if settings.telegram_token:
            started.append(await start_telegram(app, settings, stack, server, stop, customers, inbox))
        if settings.slack_bot_token:
            started.append(await start_slack(app, settings, stack, server, stop, customers))
        started.append(Started(tasks=[asyncio.create_task(keep_promises(app, stop), name="promises")]))
        if not settings.slack_bot_token:  # agents may work at a terminal desk (complaint-bot desk)
            presence = watch_desk(app.service, app.database.unit_of_work, app.clock, stop)
            started.append(Started(tasks=[asyncio.create_task(presence, name="terminal-desk-presence")]))
        inbox_task = asyncio.create_task(inbox.run(stop_inbox), name="inbox")
        relay_tasks = [
            asyncio.create_task(relay.run(stop_relays), name=f"{relay.channel}-outbox")
            for channel in started
            for relay in channel.relays
        ]
        try:
            if server.has_routes:
                await server.start()
                stack.push_async_callback(server.stop)
            for channel in started:
                for after in channel.after_server_start:
                    await after()
            for line in settings.describe_channels():
                print(line, flush=True)
            if settings.slack_bot_token and not settings.telegram_token:
                print("No customer channel runs in this process: agents' replies wait in the outbox.", flush=True)
            print("complaint-bot is running; Ctrl-C stops it.", flush=True)
            if ready is not None:
                ready.set()
            await stop.wait()
            print("stopping ...", flush=True)
            await server.stop()  # no new webhook requests; those in progress have been answered
            tasks = [task for channel in started for task in channel.tasks]
            # in order: what takes updates in (the poller confirms what was committed), then
            # the inbox (the updates in hand are finished, the leases given back), then the
            # relays (what those produced goes out and is marked sent)
            await _finish(tasks)
            stop_inbox.set()
            await _finish([inbox_task])
            stop_relays.set()
            await _finish(relay_tasks)
        finally:  # a failed start: nothing keeps running behind the exit
            for event in (stop, stop_inbox, stop_relays):
                event.set()
            leftover = [t for t in (*[t for c in started for t in c.tasks], inbox_task, *relay_tasks) if not t.done()]
            for task in leftover:
                task.cancel()
            await asyncio.gather(*leftover, return_exceptions=True)
    return 0
