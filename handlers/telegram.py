"""The Telegram channel: python-telegram-bot handlers over the application service.

Every update becomes a neutral :class:`flows.domain.Inbound` (``inbound_from``); the
application service decides what it means and writes the replies to the outbox in the
same transaction; :class:`TelegramSender` delivers them through the Bot API, in order
per chat, with retries (an outage delays replies, never drops them).

Wiring (``build_application``) reads like python-telegram-bot's examples: one small
callback per kind of update, then one function that registers them. Updates of one chat
are processed in order, different chats in parallel (:class:`PerChatUpdateProcessor`).
Polling is python-telegram-bot's own; for webhooks :func:`webhook_handler` is an aiohttp
handler that checks the secret token and queues the update (the server itself is built
in ``bot/``, where the Slack endpoint joins it).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    LinkPreviewOptions,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ChatType, MessageEntityType, MessageLimit
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    CallbackContext,
    CallbackQueryHandler,
    ContextTypes,
    ExtBot,
    MessageHandler,
    filters,
)

from flows.locks import KeyedLocks
from flows.loops import every
from flows.domain import Attachment, Inbound, InboundKind, OutboxItem, Reply, UserRef
from flows.outbox import DeliveryError, OutboxRelay
from flows.service import ComplaintService, Outcome
from flows.texts import Catalogue
from handlers.telegram_http import AiohttpRequest

logger = logging.getLogger(__name__)

CHANNEL = "telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
COMMANDS = ("start", "complain", "status", "cancel", "human", "help", "lang")
UNSUPPORTED_TYPES = (
    "sticker", "voice", "audio", "video", "video_note", "animation", "location",
    "venue", "poll", "dice", "game", "story",
)  # fmt: skip
HANDLE_ATTEMPTS = 3  # the database may be restarting: retry a little before spooling
SPOOL_ATTEMPTS = 100  # replays (every 10 s) before a spooled update goes to the dead-letter file
CLAIM = timedelta(minutes=2)  # replies sent right after handling; others take over after this
MARK_DELAY = 0.02  # sent replies are marked in batches: one transaction per 20 ms, not per reply


# ---------------------------------------------------------------------- update -> Inbound
def _command(message: Message, bot_username: str) -> tuple[str, str] | None:
    """``("start", "args")`` when the message is a command (addressed to this bot)."""
    entity = next(iter(message.entities), None)
    if entity is None or entity.type != MessageEntityType.BOT_COMMAND or entity.offset != 0:
        return None
    text = message.text or ""
    word = text[1 : entity.length]
    name, _, target = word.partition("@")
    if target and target.casefold() != bot_username.casefold():
        return None  # "/start@other_bot" in a group
    return name.lower(), text[entity.length :].strip()


def _addressed_to_bot(message: Message, bot_username: str, bot_id: int) -> bool:
    """In a group: a mention of the bot or a reply to one of its messages."""
    if message.reply_to_message and message.reply_to_message.from_user:
        if message.reply_to_message.from_user.id == bot_id:
            return True
    text = message.text or message.caption or ""
    return f"@{bot_username}".casefold() in text.casefold()


def _attachment(message: Message) -> Attachment | None:
    if message.photo:
        photo = message.photo[-1]  # the largest size
        return Attachment(
            kind="photo",
            file_id=photo.file_id,
            file_unique_id=photo.file_unique_id,
            mime_type="image/jpeg",
            file_size=photo.file_size,
            width=photo.width,
            height=photo.height,
        )
    if message.document:
        doc = message.document
        kind = "photo" if (doc.mime_type or "").startswith("image/") else "document"
        return Attachment(
            kind=kind,
            file_id=doc.file_id,
            file_unique_id=doc.file_unique_id,
            mime_type=doc.mime_type,
            file_size=doc.file_size,
            file_name=doc.file_name,
        )
    return None


def _unsupported_type(message: Message) -> str:
    for name in UNSUPPORTED_TYPES:
        if getattr(message, name, None):
            return name
    return "other"


def inbound_from(update: Update, bot_username: str, bot_id: int) -> Inbound | None:
    """The neutral event for an update, or None for updates the bot does not answer."""
    chat = update.effective_chat
    user = update.effective_user
    if chat is None or user is None or user.is_bot:
        return None
    base: dict[str, Any] = {
        "channel": CHANNEL,
        "chat_id": str(chat.id),
        "user": UserRef(str(user.id), user.full_name, user.language_code),
        "update_id": str(update.update_id),
        "private_chat": chat.type == ChatType.PRIVATE,
    }
    query = update.callback_query
    if query is not None:
        return Inbound(kind=InboundKind.BUTTON, button=query.data or "", **base)
    edited = update.edited_message
    if edited is not None:
        if not base["private_chat"]:
            return None
        return Inbound(
            kind=InboundKind.EDIT,
            text=edited.text or edited.caption or "",
            message_id=str(edited.message_id),
            sent_at=edited.edit_date or edited.date,
            **base,
        )
    message = update.message
    if message is None:
        return None  # channel posts, membership changes, reactions...
    base.update(message_id=str(message.message_id), sent_at=message.date)
    command = _command(message, bot_username)
    if not base["private_chat"]:
        # in a group only commands and messages addressed to the bot get the "go private" answer
        if command is None and not _addressed_to_bot(message, bot_username, bot_id):
            return None
        return Inbound(kind=InboundKind.TEXT, text=message.text or "", **base)
    if command is not None:
        return Inbound(kind=InboundKind.COMMAND, command=command[0], text=command[1], **base)
    if message.contact is not None:
        phone = message.contact.phone_number
        return Inbound(kind=InboundKind.CONTACT, contact=phone, text=phone, **base)
    attachment = _attachment(message)
    if attachment is not None:
        kind = InboundKind.PHOTO if attachment.kind == "photo" else InboundKind.DOCUMENT
        return Inbound(kind=kind, attachment=attachment, text=message.caption or "", **base)
    if message.text is not None:
        return Inbound(kind=InboundKind.TEXT, text=message.text, **base)
    return Inbound(
        kind=InboundKind.UNSUPPORTED,
        unsupported_type=_unsupported_type(message),
        text=message.caption or "",
        **base,
    )


# ---------------------------------------------------------------------- Reply -> Bot API
def split_text(text: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, cut at line breaks where possible."""
    text = text if text.strip() else "…"
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        if cut < limit // 2:
            cut = text.rfind(" ", 0, limit)
        if cut < limit // 2:
            cut = limit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip("\n")
    pieces.append(text)
    return [p for p in pieces if p] or ["…"]


def reply_markup(reply: Reply) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None:
    """Inline buttons; or, when the contact is requested, a reply keyboard with the
    platform's share-contact button plus the other choices as text buttons (Telegram's
    contact button only exists on reply keyboards)."""
    if reply.request_contact:
        rows = [[KeyboardButton(reply.request_contact, request_contact=True)]]
        rows += [[KeyboardButton(b.label) for b in row] for row in reply.buttons]
        return ReplyKeyboardMarkup(rows, resize_keyboard=True, one_time_keyboard=True)
    if reply.buttons:
        return InlineKeyboardMarkup(
            [[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in reply.buttons]
        )
    if reply.remove_keyboard:
        return ReplyKeyboardRemove()
    return None


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramSender:
    """Delivers outbox replies with the Bot API (plain text: nothing a customer typed
    can break the formatting), splitting texts longer than Telegram allows."""

    def __init__(self, bot: ExtBot[Any]) -> None:
        self.bot = bot

    async def send(self, item: OutboxItem) -> None:
        reply = Reply.from_payload(item.payload)
        pieces = split_text(reply.text)
        markup = reply_markup(reply)
        try:
            for index, piece in enumerate(pieces):
                await self.bot.send_message(
                    chat_id=int(item.target),
                    text=piece,
                    reply_markup=markup if index == len(pieces) - 1 else None,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                )
        except RetryAfter as exc:
            raise DeliveryError(f"rate limited: {exc}", retry_after=_seconds(exc.retry_after)) from exc
        except Forbidden as exc:  # the customer blocked the bot or deleted the chat
            raise DeliveryError(f"forbidden: {exc}", permanent=True) from exc
        except BadRequest as exc:  # retrying the same request cannot help
            raise DeliveryError(f"bad request: {exc}", permanent=True) from exc
        except TelegramError as exc:  # NetworkError, TimedOut, 5xx: try again later
            raise DeliveryError(f"{exc.__class__.__name__}: {exc}") from exc


class TelegramFiles:
    """Fetches the bytes of a file a customer sent (for agents on the desk)."""

    def __init__(self, bot: ExtBot[Any]) -> None:
        self.bot = bot

    async def fetch(self, file_id: str) -> bytes:
        file = await self.bot.get_file(file_id)
        return bytes(await file.download_as_bytearray())


# ---------------------------------------------------------------------- the channel
class UpdateSpool:
    """Updates that could not be handled yet (the database was down), kept in a file in
    arrival order until they can be: nothing a customer said is lost.

    Every change rewrites the file atomically, and an entry leaves it only once handled,
    so a crash at worst replays an update the service then recognises as a duplicate.
    After :data:`SPOOL_ATTEMPTS` failed replays an update moves to the dead-letter file
    beside it (``*.dead.jsonl``), kept for a person to look at, and is logged as an error.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.dead_path = path.with_name(path.stem + ".dead.jsonl")
        self.entries: list[dict[str, Any]] = self._read()

    def _read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        entries = []
        for line in self.path.read_text("utf-8").splitlines():
            if line.strip():
                try:
                    entries.append(json.loads(line))
                except ValueError:
                    logger.error("unreadable line in the update spool %s kept in %s", self.path, self.dead_path)
                    self._bury_raw(line)
        return entries

    def _write(self) -> None:
        if not self.entries:
            self.path.unlink(missing_ok=True)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fresh = self.path.with_suffix(".writing")
        fresh.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in self.entries), "utf-8")
        fresh.replace(self.path)

    def _bury_raw(self, line: str) -> None:
        self.dead_path.parent.mkdir(parents=True, exist_ok=True)
        with self.dead_path.open("a", encoding="utf-8") as dead:
            dead.write(line.rstrip("\n") + "\n")

    @property
    def chats(self) -> set[int]:
        """Chats with updates waiting: their newer updates wait behind them."""
        return {int(e["chat"]) for e in self.entries}

    def add(self, update: Update, chat_id: int) -> None:
        self.entries.append({"chat": chat_id, "attempts": 0, "update": update.to_dict()})
        self._write()

    def handled(self, entry: dict[str, Any]) -> None:
        self.entries.remove(entry)
        self._write()

    def failed(self, entry: dict[str, Any]) -> None:
        entry["attempts"] = int(entry.get("attempts", 0)) + 1
        if entry["attempts"] >= SPOOL_ATTEMPTS:
            logger.error("update %s could not be handled after %s tries; kept in %s",
                         entry["update"].get("update_id"), entry["attempts"], self.dead_path)
            self._bury_raw(json.dumps(entry, ensure_ascii=False))
            self.entries.remove(entry)
        self._write()


class TelegramChannel:
    """What the callbacks need: the service, the outbox relay and the texts."""

    def __init__(
        self,
        service: ComplaintService,
        texts: Catalogue,
        spool: UpdateSpool,
        *,
        retry_delay: float = 0.5,
    ) -> None:
        self.service = service
        self.texts = texts
        self.spool = spool
        self.retry_delay = retry_delay
        self.relay: OutboxRelay | None = None  # set once the bot exists (build_application)

    async def handle(self, update: Update, bot: ExtBot[Any]) -> None:
        """Hand the update to the service, then deliver what it answered."""
        inbound = inbound_from(update, bot.username, bot.id)
        if inbound is None:
            return
        chat = int(inbound.chat_id)
        if chat in self.spool.chats:  # earlier updates of this chat wait: this one waits behind them
            self.spool.add(update, chat)
            return
        for attempt in range(1, HANDLE_ATTEMPTS + 1):
            try:
                outcome = await self.service.handle(inbound, claim_replies=CLAIM)
                break
            except Exception:
                logger.exception("update %s: handling failed (attempt %s)", update.update_id, attempt)
                if attempt == HANDLE_ATTEMPTS:
                    self.spool.add(update, chat)
                    await self._apologise(bot, inbound)
                    return
                await asyncio.sleep(self.retry_delay * attempt)
        await self._deliver(outcome, inbound)

    async def _deliver(self, outcome: Outcome, inbound: Inbound) -> None:
        if outcome.duplicate or self.relay is None:
            return
        if outcome.claimed:
            await self.relay.deliver(outcome.replies)
        else:  # older replies still wait for this chat: they go first
            await self.relay.deliver_target(inbound.chat_id)

    async def _apologise(self, bot: ExtBot[Any], inbound: Inbound) -> None:
        """Once per chat's backlog, best effort, outside the outbox (the database is what failed)."""
        language = self.texts.language_for(inbound.user.language_code)
        try:
            await bot.send_message(int(inbound.chat_id), self.texts.text(language, "error.saved_for_later"))
        except TelegramError:
            logger.warning("could not tell chat %s about the delay", inbound.chat_id)

    async def replay_spool(self, bot: ExtBot[Any]) -> int:
        """Handle waiting updates, each chat's in arrival order; returns how many were handled.

        A chat whose oldest waiting update fails again keeps the rest waiting; the pass
        repeats while it makes progress (updates may join the spool meanwhile)."""
        handled = 0
        progress = True
        while progress:
            progress = False
            blocked: set[int] = set()
            for entry in list(self.spool.entries):
                chat = int(entry["chat"])
                if chat in blocked:
                    continue
                update = Update.de_json(entry["update"], bot)
                inbound = inbound_from(update, bot.username, bot.id) if update else None
                if inbound is None:
                    self.spool.handled(entry)
                    continue
                try:
                    outcome = await self.service.handle(inbound, claim_replies=CLAIM)
                except Exception:
                    logger.warning("spooled update %s still fails", update.update_id, exc_info=True)
                    self.spool.failed(entry)
                    blocked.add(chat)
                    continue
                self.spool.handled(entry)
                handled += 1
                progress = True
                await self._deliver(outcome, inbound)
        return handled


class BotContext(CallbackContext[ExtBot[Any], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """Typed access to the channel instead of digging through ``bot_data``."""

    @property
    def channel(self) -> TelegramChannel:
        return self.application.bot_data["channel"]  # type: ignore[no-any-return]


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Updates of one chat one after another, in arrival order; chats in parallel."""

    def __init__(self, max_concurrent_updates: int = 512) -> None:
        super().__init__(max_concurrent_updates)
        self._chats = KeyedLocks()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        async with self._chats.hold(chat.id):
            await coroutine

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to free."""


# ---------------------------------------------------------------------- callbacks
async def on_message(update: Update, context: BotContext) -> None:
    """Messages, edits, photos, stickers...: all go to the service as they are."""
    await context.channel.handle(update, context.bot)


async def on_button(update: Update, context: BotContext) -> None:
    """A button press: always answered (the spinner stops), then handled like a message.

    Old keyboards stay on screen: a press on one is recognised by its step and explained
    ("that button belongs to an earlier step"), which costs nothing per press, whereas
    editing every pressed message away would cost a Bot API call each time.
    """
    query = update.callback_query
    assert query is not None
    try:
        await query.answer()
    except TelegramError:
        logger.debug("callback query %s could not be answered (too old?)", query.id)
    await context.channel.handle(update, context.bot)


async def on_error(update: object, context: BotContext) -> None:
    """Errors outside the service (it has its own retries and spool): log them."""
    logger.error("error while processing %r", update, exc_info=context.error)


# ---------------------------------------------------------------------- wiring
def command_menu(texts: Catalogue, language: str) -> list[BotCommand]:
    """The command menu in one language."""
    return [BotCommand(name, texts.text(language, f"menu.{name}")) for name in COMMANDS]


def build_application(
    token: str,
    channel: TelegramChannel,
    *,
    base_url: str | None = None,
    base_file_url: str | None = None,
    max_messages_per_second: float = 30.0,
    clock: Callable[[], Any],
) -> Application[Any, Any, Any, Any, Any, Any]:
    """The python-telegram-bot Application with every handler registered."""
    builder = (
        ApplicationBuilder()
        .token(token)
        .context_types(ContextTypes(context=BotContext))
        .concurrent_updates(PerChatUpdateProcessor())
        .request(AiohttpRequest(connection_pool_size=16))
        .get_updates_request(AiohttpRequest(connection_pool_size=1))
    )
    if max_messages_per_second > 0:
        # throttle only: a 429 goes back to the outbox, which waits Retry-After and resends
        builder = builder.rate_limiter(AIORateLimiter(overall_max_rate=max_messages_per_second, max_retries=0))
    if base_url:
        builder = builder.base_url(base_url.rstrip("/") + ("" if base_url.rstrip("/").endswith("/bot") else "/bot"))
    if base_file_url or base_url:
        file_url = base_file_url or base_url.rstrip("/").removesuffix("/bot") + "/file/bot"  # type: ignore[union-attr]
        builder = builder.base_file_url(file_url)
    application = builder.build()
    channel.relay = OutboxRelay(
        channel.service.uow_factory, CHANNEL, TelegramSender(application.bot), clock, mark_delay=MARK_DELAY
    )
    application.bot_data["channel"] = channel
    application.add_handler(CallbackQueryHandler(on_button))
    application.add_handler(MessageHandler(filters.ALL, on_message))
    application.add_error_handler(on_error)
    return application


async def set_command_menu(application: Application[Any, Any, Any, Any, Any, Any], default_language: str) -> None:
    """The "/" menu in every catalogue language (Telegram picks by the user's language)."""
    channel: TelegramChannel = application.bot_data["channel"]
    bot = application.bot
    await bot.set_my_commands(command_menu(channel.texts, default_language))
    for language in channel.texts.languages:
        await bot.set_my_commands(command_menu(channel.texts, language), language_code=language)


def webhook_handler(
    application: Application[Any, Any, Any, Any, Any, Any], secret: str
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """An aiohttp handler for Telegram's webhook POSTs: secret checked, update queued."""

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            logger.warning("webhook request without the right secret token from %s", request.remote)
            return web.Response(status=403, text="forbidden")
        try:
            data = await request.json()
            update = Update.de_json(data, application.bot)
        except (ValueError, TypeError, KeyError) as exc:
            logger.warning("malformed webhook update: %s", exc)
            return web.Response(status=400, text="malformed update")
        await application.update_queue.put(update)
        return web.Response(text="ok")

    return receive


async def start_webhook(
    application: Application[Any, Any, Any, Any, Any, Any],
    public_url: str,
    secret: str,
    allowed_updates: Sequence[str] = Update.ALL_TYPES,
) -> None:
    """Tell Telegram where to deliver updates (the route is served by bot/'s web server)."""
    await application.bot.set_webhook(
        url=public_url, secret_token=secret, allowed_updates=list(allowed_updates), drop_pending_updates=False
    )


async def replay_spool_periodically(
    application: Application[Any, Any, Any, Any, Any, Any], stop: asyncio.Event, interval: float = 10.0
) -> None:
    """Retry spooled updates until ``stop`` is set."""
    channel: TelegramChannel = application.bot_data["channel"]

    async def round_() -> None:
        if channel.spool.entries and (replayed := await channel.replay_spool(application.bot)):
            logger.info("handled %s spooled updates", replayed)

    await every(interval, stop, round_, "update spool")
