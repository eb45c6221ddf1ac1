"""The Telegram channel: translating between python-telegram-bot and the bot's core.

Every update becomes a neutral :class:`flows.domain.Inbound` (``inbound_from``) and every
outbox reply a Bot API call (:class:`TelegramSender`, plain text, split at Telegram's
limit). Updates arrive by long polling (:class:`TelegramUpdates`, driven by
:class:`flows.polling.Poller`) or by webhook (:func:`webhook_handler`); either way they are
committed to the inbox (:mod:`flows.inbox`) before Telegram is told they arrived, and
handled afterwards in order per chat. :class:`TelegramChannel` is what the inbox calls
back: decode a stored update, deliver what handling it produced, and — while the
database is down — tell the customer once that the message is safe.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from telegram import BotCommand, Message, Update
from telegram.constants import ChatType, MessageEntityType, MessageLimit
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ExtBot

from flows.domain import Attachment, Inbound, InboundKind, InboxEntry, OutboxItem, Reply, UserRef
from flows.inbox import DatabaseUnavailable, Inbox
from flows.outbox import DeliveryError, OutboxRelay
from flows.service import Outcome
from flows.texts import Catalogue
from handlers.telegram_http import AiohttpRequest, JsonBotApi

logger = logging.getLogger(__name__)

CHANNEL = "telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
COMMANDS = ("start", "complain", "status", "cancel", "human", "help", "lang")
UNSUPPORTED_TYPES = (
    "sticker", "voice", "audio", "video", "video_note", "animation", "location",
    "venue", "poll", "dice", "game", "story",
)  # fmt: skip
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
        # the share-my-number button sends the sender's own card; a forwarded card of
        # someone else has another user_id, or none when they are not on Telegram
        own = message.contact.user_id is not None and message.contact.user_id == user.id
        return Inbound(kind=InboundKind.CONTACT, contact=phone, text=phone, own_contact=own, **base)
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


def reply_markup(reply: Reply) -> dict[str, Any] | None:
    """The Bot API's reply_markup (as python-telegram-bot's markup objects would give it):
    inline buttons; or, when the contact is requested, a reply keyboard with the
    platform's share-contact button plus the other choices as text buttons (Telegram's
    contact button only exists on reply keyboards)."""
    if reply.request_contact:
        rows: list[list[dict[str, Any]]] = [[{"text": reply.request_contact, "request_contact": True}]]
        rows += [[{"text": b.label} for b in row] for row in reply.buttons]
        return {"keyboard": rows, "resize_keyboard": True, "one_time_keyboard": True}
    if reply.buttons:
        return {"inline_keyboard": [[{"text": b.label, "callback_data": b.data} for b in row] for row in reply.buttons]}
    if reply.remove_keyboard:
        return {"remove_keyboard": True}
    return None


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


_to_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode  # built once, not per call
_NO_PREVIEW = {"is_disabled": True}


class TelegramSender:
    """Delivers outbox replies with the Bot API (plain text: nothing a customer typed
    can break the formatting), splitting texts longer than Telegram allows.

    ``sendMessage`` goes the thin way (:class:`handlers.telegram_http.JsonBotApi`: the
    parameters as JSON on the bot's session, through its rate limiter, only the
    answer's status read); errors are python-telegram-bot's, mapped as below."""

    def __init__(self, bot: ExtBot[Any]) -> None:
        self.bot = bot
        self.api = JsonBotApi(bot)

    async def send(self, item: OutboxItem) -> None:
        reply = Reply.from_payload(item.payload)
        pieces = split_text(reply.text)
        markup = reply_markup(reply)
        chat_id = int(item.target)
        last = len(pieces) - 1
        try:
            for index, piece in enumerate(pieces):
                params: dict[str, Any] = {"chat_id": chat_id, "text": piece, "link_preview_options": _NO_PREVIEW}
                if markup is not None and index == last:
                    params["reply_markup"] = markup
                await self.api.call("sendMessage", _to_json(params).encode(), chat_id)
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
class TelegramChannel:
    """Telegram as the inbox sees it (:class:`flows.inbox.InboundChannel`): updates in,
    replies out. It never touches the database itself."""

    name = CHANNEL

    def __init__(self, bot: ExtBot[Any], texts: Catalogue) -> None:
        self.bot = bot
        self.texts = texts
        self.api = JsonBotApi(bot)  # answerCallbackQuery the thin way
        self.relay: OutboxRelay | None = None  # set by the composition root (bot/)
        self._answered: set[str] = set()  # callback queries answered in a webhook response

    def entry(self, update: Update, payload: dict[str, Any] | None = None) -> InboxEntry | None:
        """What to store for an update (None: nothing to answer, e.g. a channel post):
        ``payload``, the update's JSON object as it came (a webhook's body), or else the
        update's own dict; the entry carries its Inbound, read once here."""
        inbound = inbound_from(update, self.bot.username, self.bot.id)
        if inbound is None:
            return None
        stored = payload if payload is not None else update.to_dict()
        return InboxEntry(CHANNEL, str(update.update_id), inbound.chat_id, update.update_id, stored, inbound=inbound)

    def entry_to_keep(self, update: Update, payload: dict[str, Any] | None = None) -> InboxEntry | None:
        """:meth:`entry`, or for an update Telegram sent that this code cannot read, the
        update as it came: stored all the same, its handling fails, is counted and set aside."""
        try:
            return self.entry(update, payload)
        except Exception:
            logger.exception("update %s could not be read; stored as it came", update.update_id)
            stored = payload if payload is not None else update.to_dict()
            return InboxEntry(CHANNEL, str(update.update_id), "unreadable", update.update_id, stored)

    def entry_from_json(self, data: dict[str, Any]) -> InboxEntry | None:
        """The entry of a webhook body's update (:func:`read_body`), stored as it came:
        the two updates nearly every customer sends read straight from the JSON
        (:func:`quick_inbound`), anything else through python-telegram-bot's objects,
        which raise for what is not an update."""
        inbound = quick_inbound(data)
        if inbound is not None:
            return InboxEntry(CHANNEL, str(data["update_id"]), inbound.chat_id, data["update_id"], data, inbound=inbound)
        update = Update.de_json(data, self.bot)
        if update is None:
            raise ValueError("empty update")
        return self.entry_to_keep(update, data)

    def decode(self, entry: InboxEntry) -> Inbound | None:
        update = Update.de_json(entry.payload, self.bot)
        return inbound_from(update, self.bot.username, self.bot.id) if update is not None else None

    def answer_in_response(self, entry: InboxEntry) -> dict[str, Any] | None:
        """The Bot API call that answers a pressed button's callback query in the
        webhook's HTTP response (Telegram carries it out; no request of our own), for an
        update handled before the response goes; None for anything else. ``handled``
        then leaves the spinner alone. Only that answer goes this way: a reply must be
        confirmed before it is marked sent, and a call in a webhook response never is."""
        query_id = (entry.payload.get("callback_query") or {}).get("id")
        if not query_id:
            return None
        self._answered.add(str(query_id))
        return {"method": "answerCallbackQuery", "callback_query_id": str(query_id)}

    async def handled(self, entry: InboxEntry, inbound: Inbound, outcome: Outcome) -> None:
        """Stop a pressed button's spinner, then send the replies (in order for the chat)."""
        if inbound.kind is InboundKind.BUTTON:
            query_id = (entry.payload.get("callback_query") or {}).get("id")
            if query_id and str(query_id) in self._answered:  # answered in the webhook's response
                self._answered.discard(str(query_id))
            elif query_id:
                try:
                    await self.api.call("answerCallbackQuery", _to_json({"callback_query_id": str(query_id)}).encode())
                except TelegramError:
                    logger.debug("callback query %s could not be answered (too old?)", query_id)
        if self.relay is None:
            return
        if outcome.claimed:
            await self.relay.deliver(outcome.replies)
        elif outcome.replies:  # older replies still wait for this chat: they go first
            await self.relay.deliver_target(inbound.chat_id)

    async def reassure(self, entry: InboxEntry) -> None:
        """The database is down: say once that the message is safe (outside the outbox)."""
        inbound = self.decode(entry)
        language = self.texts.language_for(inbound.user.language_code if inbound else None)
        await self.bot.send_message(int(entry.chat), self.texts.text(language, "error.saved_for_later"))


class TelegramUpdates:
    """Long polling with the Bot API (:class:`flows.polling.UpdateSource`)."""

    def __init__(self, channel: TelegramChannel, allowed_updates: Sequence[str] = Update.ALL_TYPES) -> None:
        self.channel = channel
        self.allowed_updates = list(allowed_updates)

    async def prepare(self) -> None:
        await self.channel.bot.delete_webhook(drop_pending_updates=False)

    async def fetch(self, offset: int | None, timeout: float) -> list[tuple[int, InboxEntry | None]]:
        updates = await self.channel.bot.get_updates(
            offset=offset, timeout=int(timeout), allowed_updates=self.allowed_updates
        )
        return [(update.update_id, self._entry(update)) for update in updates]

    def _entry(self, update: Update) -> InboxEntry | None:
        return self.channel.entry_to_keep(update)

    async def confirm(self, offset: int) -> None:
        await self.channel.bot.get_updates(offset=offset, timeout=0, limit=1, allowed_updates=self.allowed_updates)


# ---------------------------------------------------------------------- wiring
def command_menu(texts: Catalogue, language: str) -> list[BotCommand]:
    """The command menu in one language."""
    return [BotCommand(name, texts.text(language, f"menu.{name}")) for name in COMMANDS]


def build_application(
    token: str,
    *,
    base_url: str | None = None,
    base_file_url: str | None = None,
    max_messages_per_second: float = 30.0,
) -> Application[Any, Any, Any, Any, Any, Any]:
    """python-telegram-bot's Application, used for its bot (requests, rate limits,
    files); updates reach the inbox through :class:`TelegramUpdates` or
    :func:`webhook_handler`, not through the Application's own queue."""
    # the rate limiter changes the bot's type (ExtBot[None] -> ExtBot[int])
    builder: ApplicationBuilder[ExtBot[Any], Any, Any, Any, Any, Any] = (
        ApplicationBuilder()
        .token(token)
        .updater(None)
        .request(AiohttpRequest(connection_pool_size=16))
        .get_updates_request(AiohttpRequest(connection_pool_size=1))
    )
    if max_messages_per_second > 0:
        # throttle only: a 429 goes back to the outbox, which waits Retry-After and resends
        builder = builder.rate_limiter(AIORateLimiter(overall_max_rate=max_messages_per_second, max_retries=0))
    if base_url:
        builder = builder.base_url(base_url.rstrip("/") + ("" if base_url.rstrip("/").endswith("/bot") else "/bot"))
    if base_file_url:
        builder = builder.base_file_url(base_file_url)
    elif base_url:
        builder = builder.base_file_url(base_url.rstrip("/").removesuffix("/bot") + "/file/bot")
    return builder.build()


async def set_command_menu(bot: ExtBot[Any], texts: Catalogue, default_language: str) -> None:
    """The "/" menu in every catalogue language (Telegram picks by the user's language)."""
    await bot.set_my_commands(command_menu(texts, default_language))
    for language in texts.languages:
        await bot.set_my_commands(command_menu(texts, language), language_code=language)


MAX_UPDATE_ID = 2**63 - 1  # the inbox keeps it as a 64-bit integer


def read_body(body: bytes) -> dict[str, Any]:
    """The JSON object of a webhook body; ValueError for anything that is not a JSON
    object with a whole update_id from 0 to 2^63-1."""
    data = json.loads(body)
    if not isinstance(data, dict):
        raise ValueError(f"a JSON {type(data).__name__}, not an object")
    update_id = data.get("update_id")
    if type(update_id) is not int or not 0 <= update_id <= MAX_UPDATE_ID:
        raise ValueError("update_id is not a whole number from 0 to 2^63-1")
    return data


def _user(data: Any) -> UserRef | None:
    """A private chat's sender as python-telegram-bot's User would give it, if plainly one."""
    if not isinstance(data, dict) or data.get("is_bot") is not False:
        return None
    user_id, first, last, language = data.get("id"), data.get("first_name"), data.get("last_name"), data.get("language_code")
    if type(user_id) is not int or not isinstance(first, str) or not isinstance(last, str | None) or not isinstance(language, str | None):
        return None
    return UserRef(str(user_id), f"{first} {last}" if last else first, language)


def _private_chat(data: Any) -> str | None:
    if not isinstance(data, dict) or data.get("type") != "private" or type(data.get("id")) is not int:
        return None
    return str(data["id"])


def quick_inbound(data: dict[str, Any]) -> Inbound | None:
    """The Inbound of the two updates nearly every customer sends, read from the JSON
    object without python-telegram-bot's objects (building them cost more than all
    the rest of receiving an update): a plain text message without entities (no
    command, no link) in a private chat, and a button pressed in one. Exactly what
    :func:`inbound_from` makes of them (tests/adapters/test_telegram_quick.py); None for
    anything else, which goes the whole way."""
    update_id = data["update_id"]
    if len(data) != 2:
        return None
    message, query = data.get("message"), data.get("callback_query")
    if isinstance(message, dict):
        text, message_id, date = message.get("text"), message.get("message_id"), message.get("date")
        if not isinstance(text, str) or type(message_id) is not int or type(date) is not int or "entities" in message:
            return None
        if any(key in message for key in _NOT_PLAIN):
            return None
        return _private_inbound(update_id, message.get("chat"), message.get("from"), kind=InboundKind.TEXT, text=text,
                                message_id=str(message_id), sent_at=datetime.fromtimestamp(date, UTC))  # fmt: skip
    if isinstance(query, dict):
        pressed = query.get("data")
        on = query.get("message")
        if not isinstance(pressed, str) or not isinstance(query.get("id"), str) or not isinstance(on, dict):
            return None
        return _private_inbound(update_id, on.get("chat"), query.get("from"), kind=InboundKind.BUTTON, button=pressed)
    return None


def _private_inbound(update_id: int, chat_data: Any, user_data: Any, **fields: Any) -> Inbound | None:
    chat, user = _private_chat(chat_data), _user(user_data)
    if chat is None or user is None:
        return None
    return Inbound(channel=CHANNEL, chat_id=chat, user=user, update_id=str(update_id), private_chat=True, **fields)


# what makes a message more than plain text (python-telegram-bot reads these)
_NOT_PLAIN = frozenset({"contact", "photo", "document", "caption", "edit_date", "forward_origin", "via_bot"})


def _problem(exc: BaseException) -> str:
    """One short line on what was wrong (no customer text, no traceback)."""
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    text = " ".join(str(exc).split())
    return f"{exc.__class__.__name__}: {text[:160]}" if text else exc.__class__.__name__


def webhook_handler(
    channel: TelegramChannel, inbox: Inbox, secret: str
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """An aiohttp handler for Telegram's webhook POSTs: the secret is checked, the update
    committed to the inbox, and only then answered 200. When the database cannot take
    it the answer is 503, so Telegram delivers it again later."""

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            logger.warning("webhook request without the right secret token from %s", request.remote)
            return web.Response(status=403, text="forbidden")
        body = await request.read()  # a body over aiohttp's size limit is answered 413 here
        try:
            entry = channel.entry_from_json(read_body(body))
        except Exception as exc:  # noqa: BLE001 - whatever reading it raised: it is not an update
            logger.warning("malformed webhook update from %s: %s", request.remote, _problem(exc))
            return web.Response(status=400, text="malformed update")
        if entry is None:
            return web.Response(text="ok")  # nothing to answer (a channel post, a bot...)
        try:
            handled = await inbox.receive(CHANNEL, [entry], deliver=False)
        except DatabaseUnavailable:
            return web.Response(status=503, text="database unavailable; deliver again later")
        # handled on arrival: a pressed button's spinner stops with the answer to this
        # request, then the replies go out as ever (after the commit, through the outbox)
        answer = next((a for done in handled if (a := channel.answer_in_response(done.entry))), None)
        inbox.deliver_soon(handled)
        if answer is not None:
            return web.json_response(answer)
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
