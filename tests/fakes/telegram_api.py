"""An emulated Telegram Bot API server on 127.0.0.1 for tests and benchmarks.

It speaks the wire protocol python-telegram-bot 22 expects (``{"ok": true, "result": ...}``,
dates in seconds, ``is_bot`` on users, ``chat_instance`` on callback queries, error codes and
descriptions like the real Bot API), keeps chats and messages, simulates users, long polling,
webhook delivery and faults.

Usage::

    from telegram.ext import ApplicationBuilder
    from tests.fakes.telegram_api import FakeTelegram

    async with FakeTelegram() as fake:
        app = (ApplicationBuilder().token(fake.token)
               .base_url(fake.base_url).base_file_url(fake.base_file_url).build())
        ...  # start polling (or setWebhook) as in production
        alice = fake.user(first_name="Alice", language_code="zh-hans")
        alice.send_text("/start")
        reply = await alice.wait_for_bot_message()          # first bot message after /start
        alice.press("Submit complaint")                     # callback_query for a button
        await fake.wait_for_call("answerCallbackQuery")
        fake.rate_limit_next("sendMessage", retry_after=3)  # next sendMessage -> 429
        fake.fail_next("sendMessage", status=502)           # next sendMessage -> 502 Bad Gateway
        fake.hang_next("sendMessage")                       # next sendMessage -> no answer at all

Only what a complaint bot uses is implemented; an unknown method answers 404 like Telegram.
Waiting helpers raise ``TimeoutError`` naming what they waited for and what was seen.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

__all__ = ["Call", "Delivery", "FakeChat", "FakeTelegram", "FakeUser", "TelegramApiError",
           "UploadedFile", "parse_html", "parse_markdown"]

JSON = dict[str, Any]
T = TypeVar("T")

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
ALL_UPDATE_TYPES = (
    "message", "edited_message", "channel_post", "edited_channel_post", "business_connection",
    "business_message", "edited_business_message", "deleted_business_messages",
    "message_reaction", "message_reaction_count", "inline_query", "chosen_inline_result",
    "callback_query", "shipping_query", "pre_checkout_query", "purchased_paid_media", "poll",
    "poll_answer", "my_chat_member", "chat_member", "chat_join_request", "chat_boost",
    "removed_chat_boost")
#: What Telegram sends when allowed_updates was never set (or set to []).
DEFAULT_UPDATE_TYPES = frozenset(ALL_UPDATE_TYPES) - {
    "chat_member", "message_reaction", "message_reaction_count"}
CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note"})
TOO_OLD_QUERY = "Bad Request: query is too old and response timeout expired or query ID is invalid"
NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message")
# Form fields that are plain strings even when they look like numbers or JSON.
_STRING_FIELDS = frozenset({
    "text", "caption", "parse_mode", "url", "secret_token", "callback_query_id", "file_id",
    "description", "short_description", "language_code", "action", "photo", "document",
    "sticker", "video", "voice", "audio", "animation", "ip_address", "inline_message_id",
    "title", "name", "emoji", "query", "question", "phone_number", "first_name", "last_name",
    "address", "custom_title", "business_connection_id", "message_effect_id"})
_FILE_ID_PREFIX = {"photo": "AgACAgIAAxkBAAI", "document": "BQACAgIAAxkBAAI",
                   "sticker": "CAACAgIAAxkBAAI", "voice": "AwACAgIAAxkBAAI",
                   "video": "BAACAgIAAxkBAAI"}
_NGINX_PAGE = ("<html>\r\n<head><title>{0} {1}</title></head>\r\n<body>\r\n<center><h1>{0} {1}"
               "</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n</body>\r\n</html>\r\n")


class TelegramApiError(Exception):
    """An error answer of the Bot API: HTTP ``status`` with ``description`` (and parameters)."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def _bad(description: str) -> TelegramApiError:
    return TelegramApiError(400, "Bad Request: " + description)


@dataclass
class UploadedFile:
    """A file part of a multipart request."""

    field: str
    filename: str | None
    content_type: str
    data: bytes


@dataclass
class Call:
    """One HTTP request to the API. ``params`` are decoded (numbers, booleans, JSON fields);
    uploaded files appear in ``params`` and ``files`` as :class:`UploadedFile`.
    ``status``/``result``/``error`` are filled in once the answer is known."""

    index: int
    method: str
    params: JSON
    time: float
    http_method: str = "POST"
    content_type: str = ""
    files: dict[str, UploadedFile] = field(default_factory=dict)
    status: int | None = None
    result: Any = None
    error: str | None = None

    @property
    def done(self) -> bool:
        """Whether the server has answered this call."""
        return self.status is not None


@dataclass
class Delivery:
    """One webhook POST attempt: ``status`` is ``None`` when the connection failed."""

    update_id: int
    url: str
    status: int | None
    error: str | None
    attempt: int
    time: float

    @property
    def ok(self) -> bool:
        """Whether the endpoint answered 2xx."""
        return self.status is not None and 200 <= self.status < 300


@dataclass
class _Fault:
    method: str  # lower-case method name or "*"
    remaining: int
    status: int
    description: str | None = None
    retry_after: int | None = None
    drop: bool = False
    hang: bool = False


@dataclass
class _Pending:
    update: JSON
    forced: bool = False  # a re-delivery that ignores the confirmation offset once
    delivered: bool = False
    attempts: int = 0


@dataclass
class _StoredFile:
    file_id: str
    unique_id: str
    kind: str
    data: bytes
    file_path: str
    media: Any  # what a message carries for this file (PhotoSize list for photos, else a dict)


@dataclass
class _ChatState:
    chat: JSON
    messages: dict[int, JSON] = field(default_factory=dict)
    next_message_id: int = 1
    cursor: int = 0  # highest message id at the time of the latest user action
    blocked: bool = False
    reply_keyboard: JSON | None = None


@dataclass
class _Webhook:
    url: str
    secret_token: str | None
    max_connections: int
    ip_address: str | None
    last_error_date: int | None = None
    last_error_message: str | None = None


# ----------------------------------------------------------------------------- text helpers


def _u16(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram entity offsets."""
    return len(text.encode("utf-16-le")) // 2


class _ParseError(Exception):
    pass


_ENTITY_RE = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});")
_HTML_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_TAGS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "tg-spoiler": "spoiler", "span": "spoiler", "a": "text_link", "code": "code", "pre": "pre",
    "blockquote": "blockquote", "tg-emoji": "custom_emoji"}


def parse_html(src: str) -> tuple[str, list[JSON]]:
    """Telegram's HTML parse mode: returns (plain text, entities) or raises ``TelegramApiError``
    with Telegram's "can't parse entities" descriptions (byte offsets are UTF-8 offsets)."""
    try:
        return _parse_html(src)
    except _ParseError as exc:
        raise _bad(f"can't parse entities: {exc}") from None


def _parse_html(src: str) -> tuple[str, list[JSON]]:
    out: list[str] = []
    pos = 0  # UTF-16 position in the output
    stack: list[tuple[str, dict[str, str], int]] = []
    entities: list[JSON] = []
    i, n = 0, len(src)

    def at(k: int) -> str:
        return f"at byte offset {len(src[:k].encode())}"

    while i < n:
        c = src[i]
        if c == "&":
            m = _ENTITY_RE.match(src, i)
            char = _html_char(m.group(1)) if m else None
            if m and char is not None:
                out.append(char)
                pos += _u16(char)
                i = m.end()
                continue
        if c != "<":
            out.append(c)
            pos += _u16(c)
            i += 1
            continue
        begin = i
        if src.startswith("</", i):
            j = src.find(">", i)
            if j < 0:
                raise _ParseError(f"Unclosed end tag {at(begin)}")
            name = src[i + 2:j].strip().lower()
            if not stack:
                raise _ParseError(f"Unexpected end tag {at(begin)}")
            tag, attrs, start = stack.pop()
            if name != tag:
                raise _ParseError(f'Unmatched end tag {at(begin)}, expected "</{tag}>", '
                                  f'found "</{name}>"')
            i = j + 1
            lang = attrs.get("class", "")
            if tag == "code" and lang.startswith("language-") and stack and stack[-1][0] == "pre":
                stack[-1][1]["_language"] = lang[len("language-"):]
                continue
            if pos > start and (tag != "a" or attrs.get("href")):
                entities.append(_html_entity(tag, attrs, start, pos - start))
            continue
        j = i + 1
        while j < n and not src[j].isspace() and src[j] != ">":
            j += 1
        name = src[i + 1:j].lower()
        if name not in _HTML_TAGS:
            raise _ParseError(f'Unsupported start tag "{name}" {at(begin)}')
        attrs: dict[str, str] = {}
        while True:
            while j < n and src[j].isspace():
                j += 1
            if j >= n:
                raise _ParseError(f"Unclosed start tag {at(begin)}")
            if src[j] == ">":
                j += 1
                break
            k = j
            while k < n and not src[k].isspace() and src[k] not in "=>":
                k += 1
            attr, value, j = src[j:k].lower(), "", k
            if not attr:
                raise _ParseError(f'Empty attribute name in the tag "{name}" {at(begin)}')
            while j < n and src[j].isspace():
                j += 1
            if j < n and src[j] == "=":
                j += 1
                while j < n and src[j].isspace():
                    j += 1
                if j < n and src[j] in "\"'":
                    k = src.find(src[j], j + 1)
                    if k < 0:
                        raise _ParseError(f"Unclosed start tag {at(begin)}")
                    value, j = src[j + 1:k], k + 1
                else:
                    k = j
                    while k < n and not src[k].isspace() and src[k] != ">":
                        k += 1
                    value, j = src[j:k], k
            attrs[attr] = _ENTITY_RE.sub(lambda m: _HTML_ENTITIES.get(m.group(1), m.group(0)),
                                         value)
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise _ParseError('Tag "span" must have class "tg-spoiler"')
        stack.append((name, attrs, pos))
        i = j
    if stack:
        raise _ParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return "".join(out), sorted(entities, key=lambda e: (e["offset"], -e["length"]))


def _html_char(name: str) -> str | None:
    """The character of ``&name;`` (numeric or one of the four named entities Telegram knows)."""
    try:
        if name[:2].lower() == "#x":
            return chr(int(name[2:], 16))
        if name.startswith("#"):
            return chr(int(name[1:]))
    except (ValueError, OverflowError):
        return None
    return _HTML_ENTITIES.get(name)


def _html_entity(tag: str, attrs: dict[str, str], offset: int, length: int) -> JSON:
    kind = _HTML_TAGS[tag]
    entity: JSON = {"offset": offset, "length": length, "type": kind}
    if tag == "a":
        entity["url"] = attrs.get("href", "")
    elif tag == "pre" and attrs.get("_language"):
        entity["language"] = attrs["_language"]
    elif tag == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    elif tag == "tg-emoji":
        entity["custom_emoji_id"] = attrs.get("emoji-id", "")
    return entity


_MD_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MD_NAMES = {"*": "Bold", "_": "Italic", "__": "Underline", "~": "Strikethrough",
             "||": "Spoiler", "`": "Code", "```": "Pre", "[": "TextUrl"}
_MD_TYPES = {"*": "bold", "_": "italic", "__": "underline", "~": "strikethrough",
             "||": "spoiler", "`": "code", "```": "pre", "[": "text_link"}


def parse_markdown(src: str, v2: bool = True) -> tuple[str, list[JSON]]:
    """MarkdownV2 (``v2=True``) or legacy Markdown, as Telegram parses them: unescaped reserved
    characters and unclosed entities raise ``TelegramApiError`` "can't parse entities"."""
    try:
        return _parse_markdown(src, v2)
    except _ParseError as exc:
        raise _bad(f"can't parse entities: {exc}") from None


def _parse_markdown(src: str, v2: bool) -> tuple[str, list[JSON]]:
    out: list[str] = []
    pos = 0
    stack: list[tuple[str, int, int]] = []  # marker, utf16 start, source index
    entities: list[JSON] = []
    i, n = 0, len(src)
    escapable = _MD_RESERVED | {"\\"} if v2 else frozenset("_*`[")

    def emit(text: str) -> None:
        nonlocal pos
        out.append(text)
        pos += _u16(text)

    def at(k: int) -> str:
        return f"at byte offset {len(src[:k].encode())}"

    while i < n:
        c = src[i]
        if c == "\\" and i + 1 < n and (src[i + 1] in escapable or v2 and ord(src[i + 1]) < 127):
            emit(src[i + 1])
            i += 2
            continue
        top = stack[-1][0] if stack else ""
        if top in ("`", "```"):  # inside code only the closing marker counts
            if not src.startswith(top, i):
                emit(c)
                i += 1
                continue
            _, start, _ = stack.pop()
            if pos > start:
                entities.append({"offset": start, "length": pos - start, "type": _MD_TYPES[top]})
            i += len(top)
            continue
        if c == "`":
            marker = "```" if src.startswith("```", i) else "`"
            stack.append((marker, pos, i))
            i += len(marker)
            m = re.match(r"([^\s`]+)\n", src[i:]) if marker == "```" else None
            if m:
                i += m.end()
                entities.append({"_language": m.group(1)})
            continue
        marker = ("__" if src.startswith("__", i) else "||" if src.startswith("||", i)
                  else c) if v2 else c
        if marker in ("*", "_", "__", "~", "||") and (v2 or marker in ("*", "_")):
            if top == marker:
                _, start, _ = stack.pop()
                if pos > start:
                    entities.append({"offset": start, "length": pos - start,
                                     "type": _MD_TYPES[marker]})
            elif v2 or not stack:
                stack.append((marker, pos, i))
            else:
                emit(c)
            i += len(marker)
            continue
        if c == "[" and (v2 or not stack):
            stack.append(("[", pos, i))
            i += 1
            continue
        if c == "]" and top == "[" and src.startswith("(", i + 1):
            url, j = [], i + 2
            while j < n and src[j] != ")":
                if src[j] == "\\" and j + 1 < n and v2:
                    j += 1
                url.append(src[j])
                j += 1
            if j >= n:
                raise _ParseError(f"Can't find end of a URL {at(i + 1)}")
            _, start, _ = stack.pop()
            if pos > start:
                entities.append({"offset": start, "length": pos - start, "type": "text_link",
                                 "url": "".join(url)})
            i = j + 1
            continue
        if v2 and c in _MD_RESERVED and not (c == ">" and (i == 0 or src[i - 1] == "\n")):
            raise _ParseError(f"Character '{c}' is reserved and must be escaped with the "
                              "preceding '\\'")
        emit(c)
        i += 1
    if stack:
        marker, _, where = stack[-1]
        if v2:
            raise _ParseError(f"Can't find end of {_MD_NAMES[marker]} entity {at(where)}")
        raise _ParseError(f"Can't find end of the entity starting {at(where)}")
    fixed: list[JSON] = []
    language = None
    for e in entities:  # a {"_language"} marker precedes the pre entity it belongs to
        if "_language" in e:
            language = e["_language"]
            continue
        if e["type"] == "pre" and language:
            e["language"], language = language, None
        fixed.append(e)
    return "".join(out), sorted(fixed, key=lambda e: (e["offset"], -e["length"]))


def _strip_text(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Telegram trims leading/trailing whitespace and moves entities accordingly."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead, total = _u16(text[:len(text) - len(text.lstrip())]), _u16(stripped)
    moved = []
    for e in entities:
        start, end = max(e["offset"] - lead, 0), min(e["offset"] + e["length"] - lead, total)
        if end > start:
            moved.append({**e, "offset": start, "length": end - start})
    return stripped, moved


_COMMAND_RE = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![^\s])")


def _command_entities(text: str) -> list[JSON]:
    """bot_command entities as Telegram computes them for user messages."""
    return [{"offset": _u16(text[:m.start()]), "length": _u16(m.group()), "type": "bot_command"}
            for m in _COMMAND_RE.finditer(text)]


def _decode_value(key: str, value: str) -> Any:
    """Decode a form value the way the Bot API interprets it (PTB JSON-encodes non-strings)."""
    if key in _STRING_FIELDS:
        return value
    if value in ("true", "false"):
        return value == "true"
    if re.fullmatch(r"-?\d+", value):
        return int(value)
    if re.fullmatch(r"-?\d+\.\d+", value):
        return float(value)
    if value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


# ----------------------------------------------------------------------------- chats and users


class FakeChat:
    """A chat as the test sees it: the messages the bot sent there."""

    def __init__(self, fake: FakeTelegram, state: _ChatState) -> None:
        self._fake = fake
        self._state = state

    @property
    def id(self) -> int:
        """The chat id."""
        return int(self._state.chat["id"])

    @property
    def chat(self) -> JSON:
        """The Chat object as it appears in updates."""
        return dict(self._state.chat)

    @property
    def reply_keyboard(self) -> JSON | None:
        """The reply keyboard the bot currently shows in this chat, if any."""
        return copy.deepcopy(self._state.reply_keyboard)

    def all_messages(self) -> list[JSON]:
        """Every message in the chat (user and bot), current state, oldest first."""
        return [copy.deepcopy(m) for m in self._state.messages.values()]

    def messages(self) -> list[JSON]:
        """The bot's messages in this chat (current state, i.e. after edits), oldest first."""
        return [copy.deepcopy(m) for m in self._state.messages.values()
                if m["from"]["id"] == self._fake.bot_id]

    def bot_texts(self) -> list[str]:
        """Text (or caption) of each bot message in this chat."""
        return [m.get("text", m.get("caption", "")) for m in self.messages()]

    def last_bot_message(self) -> JSON:
        """The latest bot message in this chat; AssertionError if there is none."""
        messages = self.messages()
        if not messages:
            raise AssertionError(f"the bot has sent no message to chat {self.id}")
        return messages[-1]

    async def wait_for_bot_message(self, predicate: Callable[[JSON], bool] | None = None,
                                   timeout: float = 5, *, after: int | None = None) -> JSON:
        """Wait for the first bot message with ``message_id > after`` (default: sent after the
        latest user action in this chat; ``after=0`` considers all) matching ``predicate``,
        evaluated on current message state (so edits count)."""
        floor = self._state.cursor if after is None else after

        def find() -> JSON | None:
            for m in self.messages():
                if m["message_id"] > floor and (predicate is None or predicate(m)):
                    return m
            return None

        try:
            return await self._fake.wait_until(find, timeout)
        except TimeoutError:
            raise TimeoutError(f"FakeTelegram: no bot message in chat {self.id} after "
                               f"#{floor} within {timeout}s; bot texts: {self.bot_texts()!r}"
                               ) from None


class FakeUser(FakeChat):
    """A simulated user acting in one chat (their private chat unless made via :meth:`in_chat`).
    ``send_*`` methods enqueue the update Telegram would produce and return its payload."""

    def __init__(self, fake: FakeTelegram, user: JSON, state: _ChatState) -> None:
        super().__init__(fake, state)
        self.user = user

    @property
    def user_id(self) -> int:
        """The user's id (equal to :attr:`id` in a private chat)."""
        return int(self.user["id"])

    def in_chat(self, chat: FakeChat) -> FakeUser:
        """The same user acting in another chat (e.g. a group from :meth:`FakeTelegram.group`)."""
        return FakeUser(self._fake, self.user, chat._state)

    def _message(self, **content: Any) -> JSON:
        state = self._state
        msg: JSON = {"message_id": state.next_message_id, "from": dict(self.user),
                     "chat": dict(state.chat), "date": int(time.time())}
        state.next_message_id += 1
        msg.update({k: v for k, v in content.items() if v is not None})
        state.messages[msg["message_id"]] = msg
        state.cursor = msg["message_id"]
        self._fake.enqueue({"message": copy.deepcopy(msg)})
        return copy.deepcopy(msg)

    def _file(self, kind: str, data: bytes | None, media: JSON) -> JSON:
        stored = self._fake._store_file(kind, data or secrets.token_bytes(256), media)
        return stored.media

    def send_text(self, text: str, *, reply_to: JSON | int | None = None) -> JSON:
        """A text message; commands get ``bot_command`` entities like Telegram computes them."""
        reply = None
        if reply_to is not None:
            mid = reply_to if isinstance(reply_to, int) else reply_to["message_id"]
            reply = copy.deepcopy(self._state.messages[mid])
            reply.pop("reply_to_message", None)
        return self._message(text=text, entities=_command_entities(text) or None,
                             reply_to_message=reply)

    def send_photo(self, caption: str = "", *, data: bytes | None = None) -> JSON:
        """A photo with three PhotoSizes (fresh file ids; each downloadable via getFile)."""
        payload = data or b"\xff\xd8\xff\xe0" + secrets.token_bytes(1024) + b"\xff\xd9"
        sizes = self._fake._photo_sizes(payload)
        return self._message(photo=sizes, caption=caption or None,
                             caption_entities=_command_entities(caption) or None)

    def send_document(self, file_name: str = "report.pdf", mime_type: str = "application/pdf",
                      *, data: bytes | None = None, caption: str = "") -> JSON:
        """A document (file)."""
        doc = self._file("document", data, {"file_name": file_name, "mime_type": mime_type})
        return self._message(document=doc, caption=caption or None)

    def send_sticker(self, emoji: str = "😀") -> JSON:
        """A regular static sticker."""
        sticker = self._file("sticker", None, {"width": 512, "height": 512, "emoji": emoji,
                                                "set_name": "FakeStickers", "is_animated": False,
                                                "is_video": False, "type": "regular"})
        return self._message(sticker=sticker)

    def send_voice(self, duration: int = 3) -> JSON:
        """A voice note (OGG/Opus)."""
        return self._message(voice=self._file("voice", None, {"duration": duration,
                                                              "mime_type": "audio/ogg"}))

    def send_video(self, duration: int = 5, width: int = 640, height: int = 360) -> JSON:
        """A video (MP4)."""
        return self._message(video=self._file("video", None, {
            "width": width, "height": height, "duration": duration, "mime_type": "video/mp4",
            "file_name": "video.mp4"}))

    def send_location(self, latitude: float = 31.2304, longitude: float = 121.4737) -> JSON:
        """A location."""
        return self._message(location={"latitude": latitude, "longitude": longitude})

    def send_poll(self, question: str = "Which option?",
                  options: Iterable[str] = ("Yes", "No")) -> JSON:
        """A (forwarded-style) anonymous regular poll."""
        opts = [{"text": o, "voter_count": 0, "persistent_id": str(i)}
                for i, o in enumerate(options)]
        return self._message(poll={
            "id": str(secrets.randbits(62)), "question": question, "options": opts,
            "total_voter_count": 0, "is_closed": False, "is_anonymous": True, "type": "regular",
            "allows_multiple_answers": False, "allows_revoting": False, "members_only": False})

    def send_contact(self, phone: str = "+8613800138000", *, own: bool = True, user_id: int | None = None) -> JSON:
        """A contact; ``own=True`` is what a ``request_contact`` button shares (with user_id);
        ``own=False`` a card without a Telegram account, or with ``user_id`` someone else's."""
        contact: JSON = {"phone_number": phone, "first_name": self.user["first_name"]}
        if self.user.get("last_name"):
            contact["last_name"] = self.user["last_name"]
        if own:
            contact["user_id"] = self.user_id
        elif user_id is not None:
            contact["user_id"] = user_id
        return self._message(contact=contact)

    def edit(self, message: JSON | int, new_text: str) -> JSON:
        """Edit one of the user's text messages: enqueues an ``edited_message`` update."""
        mid = message if isinstance(message, int) else message["message_id"]
        msg = self._state.messages[mid]
        msg["text"], msg["edit_date"] = new_text, int(time.time())
        msg.pop("entities", None)
        if entities := _command_entities(new_text):
            msg["entities"] = entities
        self._state.cursor = max(self._state.messages)
        self._fake.enqueue({"edited_message": copy.deepcopy(msg)})
        return copy.deepcopy(msg)

    def press(self, button: str, message: JSON | int | None = None) -> JSON:
        """Press a button, matched by text or callback_data. Inline keyboard of ``message`` (or of
        the latest bot message that has one) -> enqueues a ``callback_query`` and returns it;
        otherwise a button of the current reply keyboard -> sends its text (or the contact /
        location it requests) and returns that message. AssertionError lists what exists."""
        state = self._state
        if message is not None:
            mid = message if isinstance(message, int) else message["message_id"]
            candidates = [state.messages[mid]] if mid in state.messages else []
        else:
            candidates = [m for m in reversed(state.messages.values())
                          if m["from"]["id"] == self._fake.bot_id
                          and "inline_keyboard" in m.get("reply_markup", {})][:1]
        available: list[str] = []
        for msg in candidates:
            for row in msg.get("reply_markup", {}).get("inline_keyboard", []):
                for b in row:
                    available.append(f"{b['text']!r} -> {b.get('callback_data', b.get('url'))!r}")
                    if button not in (b["text"], b.get("callback_data")):
                        continue
                    if "callback_data" not in b:
                        raise AssertionError(f"button {b['text']!r} has no callback_data: {b}")
                    return self._fake._callback_query(self.user, state, msg, b["callback_data"])
        for row in (state.reply_keyboard or {}).get("keyboard", []):
            for b in row:
                b = {"text": b} if isinstance(b, str) else b
                available.append(f"{b['text']!r} (reply keyboard)")
                if b["text"] != button:
                    continue
                if state.reply_keyboard and state.reply_keyboard.get("one_time_keyboard"):
                    state.reply_keyboard = None
                if b.get("request_contact"):
                    return self.send_contact()
                if b.get("request_location"):
                    return self.send_location()
                return self.send_text(b["text"])
        raise AssertionError(f"no button {button!r} in chat {self.id}; available: {available}")

    def block(self) -> None:
        """Block the bot: sends fail with 403 and a ``my_chat_member`` (kicked) update arrives."""
        self._state.blocked = True
        self._fake._member_update(self.user, self._state, "member", "kicked")

    def unblock(self) -> None:
        """Unblock the bot (``my_chat_member`` back to member)."""
        self._state.blocked = False
        self._fake._member_update(self.user, self._state, "kicked", "member")


# ----------------------------------------------------------------------------- the server


class FakeTelegram:
    """The emulated Bot API server. Use ``async with FakeTelegram() as fake`` or
    ``await fake.start()`` / ``await fake.stop()``.

    ``latency`` delays every answer; ``instant=True`` (benchmarks) removes latency and webhook
    retry backoff (long polls still return as soon as an update arrives).
    ``webhook_retry_delays``: pauses between webhook attempts for one update; after the last
    failed attempt the update is dropped (real Telegram keeps trying for much longer).

    Public state: ``calls`` (every request, :class:`Call`), ``updates`` (every update enqueued),
    ``delivered`` (webhook attempts, :class:`Delivery`), ``dropped_updates``,
    ``callback_answers`` (query id -> answerCallbackQuery params), ``commands`` ((scope JSON,
    language_code) -> BotCommand dicts), ``descriptions`` / ``short_descriptions`` (by
    language_code), ``outage`` / ``outage_drop`` switches, ``latency``, ``bot_user``.
    """

    def __init__(self, token: str = "123456789:AAFakeTokenForTests_0123456789abcdef", *,
                 bot_username: str = "complaint_test_bot", bot_name: str = "Complaint Bot",
                 latency: float = 0.0, instant: bool = False,
                 webhook_retry_delays: tuple[float, ...] = (0.05, 0.1, 0.2),
                 webhook_timeout: float = 10.0) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_user: JSON = {"id": self.bot_id, "is_bot": True, "first_name": bot_name,
                               "username": bot_username}
        self.latency = latency
        self.instant = instant
        self.webhook_retry_delays = webhook_retry_delays
        self.webhook_timeout = webhook_timeout
        #: Switch on to answer every method except getUpdates with 502 (or drop connections).
        self.outage = False
        self.outage_drop = False
        self.calls: list[Call] = []
        self.updates: list[JSON] = []  # every update ever enqueued, in order
        self.delivered: list[Delivery] = []
        self.dropped_updates: list[int] = []  # webhook updates given up on
        self.callback_answers: dict[str, JSON] = {}
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.descriptions: dict[str, str] = {}
        self.short_descriptions: dict[str, str] = {}
        self._pending: list[_Pending] = []
        self._history: dict[int, JSON] = {}
        self._next_update_id = 700_000_001
        self._allowed: frozenset[str] = DEFAULT_UPDATE_TYPES
        self._webhook: _Webhook | None = None
        self._webhook_allowed: frozenset[str] = DEFAULT_UPDATE_TYPES
        self._webhook_generation = 0
        self._poll_generation = 0
        self._chats: dict[int, _ChatState] = {}
        self._files: dict[str, _StoredFile] = {}
        self._paths: dict[str, _StoredFile] = {}
        self._open_queries: set[str] = set()
        self._faults: list[_Fault] = []
        self._next_user_id = 10_001
        self._next_group_id = 1
        self._changed = asyncio.Event()
        self._stopping = False
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._worker: asyncio.Task[None] | None = None
        self._port = 0
        self._methods = {name[5:].lower(): (name[5:], getattr(self, name))
                         for name in dir(self) if name.startswith("_api_")}

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> FakeTelegram:
        """Listen on an ephemeral port of 127.0.0.1."""
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1.0,
                                     access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]
        self._session = aiohttp.ClientSession()
        self._worker = asyncio.create_task(self._webhook_worker(), name="FakeTelegram:webhook")
        return self

    async def stop(self) -> None:
        """Wake pending long polls, stop webhook delivery and close the server."""
        self._stopping = True
        self._notify()
        if self._worker:
            self._worker.cancel()
            try:
                await self._worker
            except asyncio.CancelledError:
                pass
        if self._session:
            await self._session.close()
        if self._runner:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeTelegram:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The TCP port (after start)."""
        return self._port

    @property
    def url(self) -> str:
        """Root URL, e.g. ``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self._port}"

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url()`` / ``Bot(base_url=)``: the token is appended."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``ApplicationBuilder().base_file_url()`` / ``Bot(base_file_url=)``."""
        return f"{self.url}/file/bot"

    # -- waiting -------------------------------------------------------------------------------

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_until(self, check: Callable[[], T | None], timeout: float) -> T | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = check()
            if found:
                return found
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            event = self._changed
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                pass

    async def wait_until(self, condition: Callable[[], T | None], timeout: float = 5.0,
                         description: str | None = None) -> T:
        """Wait until ``condition()`` is truthy (re-checked on every change: calls, updates,
        messages, deliveries) and return its value; ``TimeoutError`` after ``timeout``."""
        found = await self._wait_until(condition, timeout)
        if not found:
            recent = ", ".join(f"{c.method}->{c.status}" for c in self.calls[-10:])
            raise TimeoutError(f"FakeTelegram: {description or 'condition'} not met within "
                               f"{timeout}s (last calls: {recent or 'none'})")
        return found

    def calls_to(self, method: str) -> list[Call]:
        """Recorded calls of ``method`` (case-insensitive), oldest first."""
        return [c for c in self.calls if c.method.lower() == method.lower()]

    async def wait_for_call(self, method: str, predicate: Callable[[Call], bool] | None = None,
                            timeout: float = 5.0, *, since: int = 0,
                            answered: bool = True) -> Call:
        """The first call of ``method`` among ``calls[since:]`` matching ``predicate``, waiting
        for it (pass ``since=len(fake.calls)`` to ignore earlier calls). By default only answered
        calls count; ``answered=False`` returns as soon as the request arrived (e.g. a long poll
        that is now waiting)."""
        def find() -> Call | None:
            return next((c for c in self.calls[since:] if (c.done or not answered) and
                         c.method.lower() == method.lower() and
                         (predicate is None or predicate(c))), None)

        return await self.wait_until(find, timeout, f"a call to {method}")

    async def wait_for_delivery(self, predicate: Callable[[Delivery], bool] | None = None,
                                timeout: float = 5.0) -> Delivery:
        """The first webhook delivery attempt matching ``predicate`` (default: a successful one)."""
        pred = predicate or (lambda d: d.ok)
        return await self.wait_until(lambda: next((d for d in self.delivered if pred(d)), None),
                                     timeout, f"a webhook delivery (seen {self.delivered})")

    async def wait_until_confirmed(self, timeout: float = 5.0) -> None:
        """Wait until no update is pending (polled and confirmed, or delivered)."""
        await self.wait_until(lambda: not self._pending, timeout, "all updates confirmed")

    # -- users, chats, updates ---------------------------------------------------------------

    def user(self, id: int | None = None, first_name: str = "Alice", *,  # noqa: A002
             last_name: str | None = None, username: str | None = None,
             language_code: str | None = "en", is_premium: bool | None = None) -> FakeUser:
        """A simulated user (who has started the bot) acting in their private chat."""
        uid = id if id is not None else self._next_user_id
        self._next_user_id = max(self._next_user_id, uid) + 1
        user: JSON = {"id": uid, "is_bot": False, "first_name": first_name}
        chat: JSON = {"id": uid, "first_name": first_name}
        for key, value in (("last_name", last_name), ("username", username)):
            if value is not None:
                user[key] = chat[key] = value
        if language_code is not None:
            user["language_code"] = language_code
        if is_premium:
            user["is_premium"] = True
        chat["type"] = "private"
        state = self._chats.setdefault(uid, _ChatState(chat=chat))
        return FakeUser(self, user, state)

    def group(self, title: str = "Support group", *, id: int | None = None,  # noqa: A002
              type: str = "supergroup", username: str | None = None) -> FakeChat:  # noqa: A002
        """A group chat the bot is a member of; act in it with ``user.in_chat(group)``."""
        if id is None:
            id = (-1_001_000_000_000 if type == "supergroup" else -4_000_000_000) \
                - self._next_group_id
            self._next_group_id += 1
        chat: JSON = {"id": id, "title": title, "type": type}
        if username:
            chat["username"] = username
        return FakeChat(self, self._chats.setdefault(id, _ChatState(chat=chat)))

    def chat(self, chat_id: int) -> FakeChat:
        """Helper for an existing chat."""
        return FakeChat(self, self._chats[chat_id])

    def enqueue(self, update: JSON) -> JSON:
        """Queue a raw update (``update_id`` is assigned unless present) for polling/webhook."""
        update = dict(update)
        if "update_id" not in update:
            update["update_id"] = self._next_update_id
        self._next_update_id = max(self._next_update_id, update["update_id"]) + 1
        self._history[update["update_id"]] = update
        self.updates.append(update)
        self._pending.append(_Pending(update))
        self._notify()
        return update

    def enqueue_duplicate(self, update_id: int) -> JSON:
        """Deliver an earlier update again with the same update_id (as Telegram does when it
        was not confirmed); it is returned by the next getUpdates whatever its offset."""
        update = self._history[update_id]
        self._pending.append(_Pending(update, forced=True))
        self._notify()
        return update

    @property
    def pending_update_count(self) -> int:
        """Updates not yet confirmed (polling) or delivered (webhook)."""
        return len(self._pending)

    def _callback_query(self, user: JSON, state: _ChatState, msg: JSON, data: str) -> JSON:
        query_id = str(secrets.randbits(63))
        self._open_queries.add(query_id)
        state.cursor = max(state.messages)
        query = {"id": query_id, "from": dict(user), "message": copy.deepcopy(msg),
                 "chat_instance": str(-((abs(state.chat["id"]) * 7_919 + self.bot_id) % 2**62)),
                 "data": data}
        self.enqueue({"callback_query": query})
        return copy.deepcopy(query)

    def _member_update(self, user: JSON, state: _ChatState, old: str, new: str) -> None:
        def member(status: str) -> JSON:
            m: JSON = {"user": dict(self.bot_user), "status": status}
            return {**m, "until_date": 0} if status == "kicked" else m

        self.enqueue({"my_chat_member": {"chat": dict(state.chat), "from": dict(user),
                                         "date": int(time.time()), "old_chat_member": member(old),
                                         "new_chat_member": member(new)}})

    # -- files -------------------------------------------------------------------------------

    def _store_file(self, kind: str, data: bytes, media: JSON) -> _StoredFile:
        n = len(self._files) + 1
        file_id = _FILE_ID_PREFIX.get(kind, "BQACAgIAAxkBAAI") + secrets.token_urlsafe(40)
        unique = "AQAD" + secrets.token_urlsafe(12)
        ext = {"photo": "jpg", "sticker": "webp", "voice": "oga", "video": "mp4"}.get(kind)
        if ext is None:
            name = str(media.get("file_name") or "file")
            ext = name.rsplit(".", 1)[-1] if "." in name else "bin"
        folder = {"photo": "photos", "sticker": "stickers", "voice": "voice",
                  "video": "videos"}.get(kind, "documents")
        full = {"file_id": file_id, "file_unique_id": unique, **media, "file_size": len(data)}
        stored = _StoredFile(file_id, unique, kind, data, f"{folder}/file_{n}.{ext}", full)
        self._files[file_id] = self._paths[stored.file_path] = stored
        return stored

    def _photo_sizes(self, data: bytes) -> list[JSON]:
        sizes = [self._store_file("photo", data, {"width": w, "height": w * 3 // 4}).media
                 for w in (90, 320, 800)]
        for size in sizes:
            self._files[size["file_id"]].media = sizes
        return copy.deepcopy(sizes)

    def file_bytes(self, file_id: str) -> bytes:
        """Content of a stored file (uploaded by the bot or sent by a user)."""
        return self._files[file_id].data

    # -- fault injection -----------------------------------------------------------------------

    def fail_next(self, method: str, count: int = 1, status: int = 502, *,
                  description: str | None = None, drop: bool = False) -> None:
        """The next ``count`` calls of ``method`` (``"*"`` = any) fail with ``status`` (5xx as an
        nginx HTML page like Telegram's front-end, others as JSON), or with ``drop=True`` the
        connection is closed without an answer."""
        self._faults.append(_Fault(method.lower(), count, status, description, drop=drop))

    def rate_limit_next(self, method: str, retry_after: int = 1, count: int = 1) -> None:
        """The next ``count`` calls of ``method`` get 429 "Too Many Requests: retry after N"
        with ``parameters.retry_after`` (python-telegram-bot raises ``RetryAfter``)."""
        self._faults.append(_Fault(method.lower(), count, 429,
                                   f"Too Many Requests: retry after {retry_after}",
                                   retry_after=retry_after))

    def hang_next(self, method: str, count: int = 1) -> None:
        """The next ``count`` calls of ``method`` get no answer: the request is held until
        the client gives up (the call is then recorded with status 499) or the server stops."""
        self._faults.append(_Fault(method.lower(), count, 0, "no answer", hang=True))

    def _take_fault(self, method: str) -> _Fault | None:
        if self.outage and method != "getupdates":
            return _Fault("*", 1, 502, drop=self.outage_drop)
        for fault in self._faults:
            if fault.remaining > 0 and fault.method in ("*", method):
                fault.remaining -= 1
                if not fault.remaining:
                    self._faults.remove(fault)
                return fault
        return None

    # -- HTTP --------------------------------------------------------------------------------

    @staticmethod
    def _error_response(status: int, description: str | None = None,
                        parameters: JSON | None = None) -> web.Response:
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
        if status in (502, 503, 504) and description is None:
            return web.Response(status=status, text=_NGINX_PAGE.format(status, phrase),
                                content_type="text/html")
        body: JSON = {"ok": False, "error_code": status, "description": description or phrase}
        if parameters:
            body["parameters"] = parameters
        return web.json_response(body, status=status)

    async def _read_params(self, request: web.Request) -> tuple[JSON, dict[str, UploadedFile]]:
        params: JSON = {k: _decode_value(k, v) for k, v in request.query.items()}
        files: dict[str, UploadedFile] = {}
        if request.content_type == "application/json":
            body = await request.json() if request.can_read_body else None
            if isinstance(body, dict):
                params.update(body)
        elif request.can_read_body:
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    files[key] = params[key] = UploadedFile(
                        key, value.filename, value.content_type, value.file.read())
                else:
                    params[key] = _decode_value(key, str(value))
        return params, files

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["method"]
        canonical, handler = self._methods.get(name.lower(), (name, None))
        try:
            params, files = await self._read_params(request)
        except ValueError:
            params, files = {}, {}
        call = Call(len(self.calls), canonical, params, time.time(), request.method,
                    request.content_type, files)
        self.calls.append(call)
        self._notify()
        try:
            response = await self._answer(request, call, handler)
        except asyncio.CancelledError:
            call.status, call.error = 499, "client closed the connection"
            self._notify()
            raise
        self._notify()
        return response

    async def _answer(self, request: web.Request, call: Call,
                      handler: Callable[[JSON], Any] | None) -> web.StreamResponse:
        if self.latency and not self.instant:
            await asyncio.sleep(self.latency)
        if request.match_info["token"] != self.token:
            call.status, call.error = 401, "Unauthorized"
            return self._error_response(401, "Unauthorized")
        if handler is None:
            call.status, call.error = 404, "Not Found"
            return self._error_response(404, "Not Found")
        fault = self._take_fault(call.method.lower())
        if fault is not None and fault.hang:
            while not self._stopping:  # cancelled (499) when the client closes the connection
                await self._wait_until(lambda: self._stopping or None, 3600)
            return web.Response(status=503)
        if fault is not None:
            call.status, call.error = fault.status, fault.description or "injected fault"
            if fault.drop:
                call.status, call.error = 0, "connection dropped"
                assert request.transport is not None
                request.transport.abort()
                return web.Response(status=500)  # never reaches the client
            retry = {"retry_after": fault.retry_after} if fault.retry_after else None
            return self._error_response(fault.status, fault.description, retry)
        error = await self._invoke(call, handler)
        if error is not None:
            return self._error_response(error.status, error.description, error.parameters)
        return web.json_response({"ok": True, "result": call.result},
                                 dumps=lambda o: json.dumps(o, ensure_ascii=False))

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if self.latency and not self.instant:
            await asyncio.sleep(self.latency)
        if self.outage:
            return self._error_response(502)
        stored = self._paths.get(request.match_info["path"])
        if request.match_info["token"] != self.token or stored is None:
            return self._error_response(404, "Not Found")
        return web.Response(body=stored.data, content_type="application/octet-stream")

    # -- webhook delivery ----------------------------------------------------------------------

    async def _webhook_worker(self) -> None:
        while not self._stopping:
            await self._wait_until(
                lambda: self._stopping or bool(self._webhook and self._pending), 3600)
            if self._stopping:
                return
            webhook, entry, generation = self._webhook, self._pending[0], self._webhook_generation
            assert webhook is not None and self._session is not None
            if _update_type(entry.update) not in self._webhook_allowed:
                self._pending.remove(entry)
                continue
            entry.attempts += 1
            headers = {"Content-Type": "application/json"}
            if webhook.secret_token:
                headers["X-Telegram-Bot-Api-Secret-Token"] = webhook.secret_token
            status: int | None = None
            error: str | None = None
            try:
                async with self._session.post(
                        webhook.url, data=json.dumps(entry.update, ensure_ascii=False).encode(),
                        headers=headers,
                        timeout=aiohttp.ClientTimeout(total=self.webhook_timeout)) as resp:
                    status = resp.status
                    body = await resp.read()
                    if not 200 <= status < 300:
                        error = f"Wrong response from the webhook: {status} {resp.reason}"
                    elif resp.content_type == "application/json":
                        await self._call_from_webhook_response(body)
            except asyncio.TimeoutError:
                error = "Connection timed out"
            except aiohttp.ClientError as exc:
                error = "Connection refused" if isinstance(
                    exc, aiohttp.ClientConnectorError) else f"Connection error: {exc}"
            self.delivered.append(Delivery(entry.update["update_id"], webhook.url, status, error,
                                           entry.attempts, time.time()))
            if error is None:
                if entry in self._pending:
                    self._pending.remove(entry)
            else:
                webhook.last_error_date, webhook.last_error_message = int(time.time()), error
                if entry.attempts > len(self.webhook_retry_delays):
                    if entry in self._pending:
                        self._pending.remove(entry)
                    self.dropped_updates.append(entry.update["update_id"])
                elif not self.instant and generation == self._webhook_generation:
                    await asyncio.sleep(self.webhook_retry_delays[entry.attempts - 1])
            self._notify()

    async def _call_from_webhook_response(self, body: bytes) -> None:
        """Telegram carries out the Bot API call a webhook answers with ({"method": ...,
        params}) and tells the bot nothing of its result; recorded as a call
        (``http_method`` "WEBHOOK")."""
        try:
            params = json.loads(body)
        except ValueError:
            return
        if not isinstance(params, dict) or not isinstance(params.get("method"), str):
            return
        name = params.pop("method")
        canonical, handler = self._methods.get(name.lower(), (name, None))
        call = Call(len(self.calls), canonical, params, time.time(), "WEBHOOK", "application/json")
        self.calls.append(call)
        if handler is None:
            call.status, call.error = 404, "Not Found"
            return
        await self._invoke(call, handler)
        self._notify()

    @staticmethod
    async def _invoke(call: Call, handler: Callable[[JSON], Any]) -> TelegramApiError | None:
        """Run a method's handler for ``call`` and record its answer; the error it raised, if any."""
        try:
            result = handler(call.params)
            if asyncio.iscoroutine(result):
                result = await result
        except TelegramApiError as exc:
            call.status, call.error = exc.status, exc.description
            return exc
        call.status, call.result = 200, result
        return None

    # -- helpers for methods -------------------------------------------------------------------

    def _state_for(self, params: JSON, *, sending: bool = True) -> _ChatState:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _bad("chat_id is empty")
        state = None
        if isinstance(chat_id, int) or (isinstance(chat_id, str) and
                                        re.fullmatch(r"-?\d+", chat_id)):
            state = self._chats.get(int(chat_id))
        elif isinstance(chat_id, str) and chat_id.startswith("@"):
            state = next((s for s in self._chats.values()
                          if s.chat.get("username", "").lower() == chat_id[1:].lower()), None)
        if state is None:
            raise _bad("chat not found")
        if sending and state.blocked:
            raise TelegramApiError(403, "Forbidden: bot was blocked by the user")
        return state

    @staticmethod
    def _formatted(params: JSON, key: str, entities_key: str) -> tuple[str, list[JSON]]:
        text = params.get(key)
        text = "" if text is None else str(text)
        mode = str(params.get("parse_mode") or "").lower()
        if mode == "html":
            text, entities = parse_html(text)
        elif mode in ("markdownv2", "markdown"):
            text, entities = parse_markdown(text, v2=mode == "markdownv2")
        elif mode:
            raise _bad("unsupported parse_mode")
        else:
            entities = params.get(entities_key) or []
            if not isinstance(entities, list):
                raise _bad(f"can't parse {entities_key} JSON object")
        return _strip_text(text, entities)

    def _text(self, params: JSON) -> tuple[str, list[JSON]]:
        text, entities = self._formatted(params, "text", "entities")
        if not text:
            raise _bad("message text is empty")
        if len(text) > TEXT_LIMIT:
            raise _bad("message is too long")
        return text, entities

    def _caption(self, params: JSON) -> tuple[str, list[JSON]]:
        caption, entities = self._formatted(params, "caption", "caption_entities")
        if len(caption) > CAPTION_LIMIT:
            raise _bad("message caption is too long")
        return caption, entities

    @staticmethod
    def _markup(params: JSON) -> JSON | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad("can't parse inline keyboard button: field \"inline_keyboard\" of "
                           "the InlineKeyboardMarkup must be an Array of Arrays")
            for button in (b for row in rows for b in row):
                if not isinstance(button, dict) or not button.get("text"):
                    raise _bad("can't parse inline keyboard button: Text must be non-empty")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= CALLBACK_DATA_LIMIT:
                    raise _bad("BUTTON_DATA_INVALID")
                actions = set(button) - {"text", "style", "icon_custom_emoji_id"}
                if not actions or actions == {"callback_data"} and not data:
                    raise _bad("can't parse inline keyboard button: Text buttons are unallowed "
                               "in the inline keyboard")
        elif "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad("can't parse reply keyboard markup JSON object")
            for button in (b for row in rows for b in row):
                text = button if isinstance(button, str) else (
                    button.get("text") if isinstance(button, dict) else None)
                if not text:
                    raise _bad("can't parse keyboard button: Text must be non-empty")
        elif not ({"remove_keyboard", "force_reply"} & set(markup)):
            raise _bad("can't parse reply keyboard markup JSON object")
        return markup

    def _new_bot_message(self, state: _ChatState, params: JSON, content: JSON) -> JSON:
        markup = self._markup(params)
        reply = params.get("reply_parameters") or {}
        if not reply and params.get("reply_to_message_id"):
            reply = {"message_id": params["reply_to_message_id"],
                     "allow_sending_without_reply": params.get("allow_sending_without_reply")}
        msg: JSON = {"message_id": state.next_message_id, "from": dict(self.bot_user),
                     "chat": dict(state.chat), "date": int(time.time())}
        if reply:
            replied = state.messages.get(int(reply.get("message_id", 0)))
            if replied is not None:
                msg["reply_to_message"] = {k: copy.deepcopy(v) for k, v in replied.items()
                                           if k != "reply_to_message"}
            elif not reply.get("allow_sending_without_reply"):
                raise _bad("message to be replied not found")
        msg.update({k: v for k, v in content.items() if v})
        if markup and "inline_keyboard" in markup:
            msg["reply_markup"] = {"inline_keyboard": markup["inline_keyboard"]}
        elif markup and "keyboard" in markup:
            state.reply_keyboard = markup
        elif markup and markup.get("remove_keyboard"):
            state.reply_keyboard = None
        state.next_message_id += 1
        state.messages[msg["message_id"]] = msg
        return copy.deepcopy(msg)

    def _input_file(self, params: JSON, key: str, kind: str) -> _StoredFile:
        value = params.get(key)
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value[len("attach://"):])
        if isinstance(value, UploadedFile):
            if kind == "photo":
                return self._files[self._photo_sizes(value.data)[-1]["file_id"]]
            return self._store_file(kind, value.data, {
                "file_name": value.filename or kind,
                "mime_type": value.content_type or "application/octet-stream"})
        if not value:
            raise _bad(f"there is no {kind} in the request")
        value = str(value)
        if value.startswith(("http://", "https://")):
            name = value.rstrip("/").rsplit("/", 1)[-1] or kind
            if kind == "photo":
                return self._files[self._photo_sizes(b"\xff\xd8fetched\xff\xd9")[-1]["file_id"]]
            return self._store_file(kind, b"fetched:" + value.encode(), {"file_name": name})
        stored = self._files.get(value)
        if stored is None:
            raise _bad("wrong file identifier/HTTP URL specified")
        if stored.kind != kind:
            raise _bad(f"can't use file of type {stored.kind.capitalize()} as "
                       f"{kind.capitalize()}")
        return stored

    def _bot_message_to_edit(self, params: JSON) -> tuple[_ChatState, JSON]:
        if params.get("inline_message_id"):
            raise _bad("message to edit not found")
        state = self._state_for(params, sending=False)
        msg = state.messages.get(int(params.get("message_id") or 0))
        if msg is None:
            raise _bad("message to edit not found")
        if msg["from"]["id"] != self.bot_id:
            raise _bad("message can't be edited")
        return state, msg

    @staticmethod
    def _apply_edit(msg: JSON, changes: JSON) -> JSON:
        before = {k: msg.get(k) for k in changes}
        if all(before[k] == (v or None) for k, v in changes.items()):
            raise _bad(NOT_MODIFIED.removeprefix("Bad Request: "))
        for key, value in changes.items():
            if value:
                msg[key] = value
            else:
                msg.pop(key, None)
        msg["edit_date"] = int(time.time())
        return copy.deepcopy(msg)

    # -- Bot API methods (``_api_<MethodName>``; names are case-insensitive) -----------------

    def _api_getMe(self, params: JSON) -> JSON:
        return {**self.bot_user, "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False, "can_connect_to_business": False,
                "has_main_web_app": False}

    async def _api_getUpdates(self, params: JSON) -> list[JSON]:
        if self._webhook is not None:
            raise TelegramApiError(409, "Conflict: can't use getUpdates method while webhook is "
                                        "active; use deleteWebhook to delete the webhook first")
        self._poll_generation += 1
        generation = self._poll_generation
        offset = params.get("offset")
        if isinstance(offset, int) and offset < 0:
            keep = self._pending[offset:]
            self._pending = keep
        elif isinstance(offset, int) and offset:
            self._pending = [p for p in self._pending
                             if (p.update["update_id"] >= offset and not p.forced)
                             or (p.forced and not (p.delivered and offset > p.update["update_id"]))]
        if "allowed_updates" in params:
            allowed = params["allowed_updates"] or []
            self._allowed = frozenset(allowed) if allowed else DEFAULT_UPDATE_TYPES
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)

        def ready() -> bool:
            self._pending = [p for p in self._pending if _update_type(p.update) in self._allowed]
            return bool(self._pending) or self._stopping or generation != self._poll_generation \
                or self._webhook is not None

        if timeout:
            await self._wait_until(ready, timeout)
        else:
            ready()
        if generation != self._poll_generation:
            raise TelegramApiError(409, "Conflict: terminated by other getUpdates request; make "
                                        "sure that only one bot instance is running")
        batch = sorted(self._pending[:limit], key=lambda p: p.update["update_id"])
        for entry in batch:
            entry.delivered = True
        return [entry.update for entry in batch]

    def _api_setWebhook(self, params: JSON) -> bool:
        url = str(params.get("url") or "")
        if not url:
            return self._api_deleteWebhook(params)
        if not url.startswith(("http://", "https://")):
            raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise _bad("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._pending.clear()
        if "allowed_updates" in params:
            allowed = params["allowed_updates"] or []
            self._webhook_allowed = frozenset(allowed) if allowed else DEFAULT_UPDATE_TYPES
        old = self._webhook
        self._webhook = _Webhook(url, str(secret) if secret else None,
                                 int(params.get("max_connections") or 40),
                                 params.get("ip_address"))
        if old is not None and old.url == url:
            self._webhook.last_error_date = old.last_error_date
            self._webhook.last_error_message = old.last_error_message
        self._webhook_generation += 1
        self._notify()
        return True

    def _api_deleteWebhook(self, params: JSON) -> bool:
        if params.get("drop_pending_updates"):
            self._pending.clear()
        self._webhook = None
        self._webhook_generation += 1
        self._notify()
        return True

    def _api_getWebhookInfo(self, params: JSON) -> JSON:
        info: JSON = {"url": "", "has_custom_certificate": False,
                      "pending_update_count": len(self._pending)}
        if (wh := self._webhook) is not None:
            info.update(url=wh.url, max_connections=wh.max_connections)
            if wh.ip_address:
                info["ip_address"] = wh.ip_address
            if self._webhook_allowed != DEFAULT_UPDATE_TYPES:
                info["allowed_updates"] = sorted(self._webhook_allowed)
            if wh.last_error_date:
                info.update(last_error_date=wh.last_error_date,
                            last_error_message=wh.last_error_message)
        return info

    def _api_sendMessage(self, params: JSON) -> JSON:
        state = self._state_for(params)
        text, entities = self._text(params)
        return self._new_bot_message(state, params, {"text": text, "entities": entities})

    def _api_sendPhoto(self, params: JSON) -> JSON:
        state = self._state_for(params)
        caption, entities = self._caption(params)
        self._markup(params)
        stored = self._input_file(params, "photo", "photo")
        return self._new_bot_message(state, params, {
            "photo": copy.deepcopy(stored.media), "caption": caption,
            "caption_entities": entities})

    def _api_sendDocument(self, params: JSON) -> JSON:
        state = self._state_for(params)
        caption, entities = self._caption(params)
        self._markup(params)
        stored = self._input_file(params, "document", "document")
        return self._new_bot_message(state, params, {
            "document": copy.deepcopy(stored.media), "caption": caption,
            "caption_entities": entities})

    def _api_editMessageText(self, params: JSON) -> JSON:
        state, msg = self._bot_message_to_edit(params)
        if "text" not in msg:
            raise _bad("there is no text in the message to edit")
        text, entities = self._text(params)
        markup = self._markup(params)
        inline = {"inline_keyboard": markup["inline_keyboard"]} \
            if markup and "inline_keyboard" in markup else None
        return self._apply_edit(msg, {"text": text, "entities": entities, "reply_markup": inline})

    def _api_editMessageCaption(self, params: JSON) -> JSON:
        state, msg = self._bot_message_to_edit(params)
        if "text" in msg:
            raise _bad("there is no caption in the message to edit")
        caption, entities = self._caption(params)
        markup = self._markup(params)
        inline = {"inline_keyboard": markup["inline_keyboard"]} \
            if markup and "inline_keyboard" in markup else None
        return self._apply_edit(msg, {"caption": caption, "caption_entities": entities,
                                      "reply_markup": inline})

    def _api_editMessageReplyMarkup(self, params: JSON) -> JSON:
        state, msg = self._bot_message_to_edit(params)
        markup = self._markup(params)
        inline = {"inline_keyboard": markup["inline_keyboard"]} \
            if markup and "inline_keyboard" in markup else None
        return self._apply_edit(msg, {"reply_markup": inline})

    def _api_deleteMessage(self, params: JSON) -> bool:
        state = self._state_for(params, sending=False)
        if state.messages.pop(int(params.get("message_id") or 0), None) is None:
            raise _bad("message to delete not found")
        self._notify()
        return True

    def _api_answerCallbackQuery(self, params: JSON) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._open_queries:
            raise _bad(TOO_OLD_QUERY.removeprefix("Bad Request: "))
        if len(str(params.get("text") or "")) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        self._open_queries.discard(query_id)
        self.callback_answers[query_id] = params
        return True

    def _api_getFile(self, params: JSON) -> JSON:
        stored = self._files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise _bad("invalid file_id")
        return {"file_id": stored.file_id, "file_unique_id": stored.unique_id,
                "file_size": len(stored.data), "file_path": stored.file_path}

    def _api_sendChatAction(self, params: JSON) -> bool:
        self._state_for(params)
        if params.get("action") not in CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True

    @staticmethod
    def _commands_key(params: JSON) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    def _api_setMyCommands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _bad("command description must be non-empty")
        self.commands[self._commands_key(params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands]
        return True

    def _api_getMyCommands(self, params: JSON) -> list[JSON]:
        return copy.deepcopy(self.commands.get(self._commands_key(params), []))

    def _api_deleteMyCommands(self, params: JSON) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    def _api_setMyDescription(self, params: JSON) -> bool:
        self.descriptions[str(params.get("language_code") or "")] = str(
            params.get("description") or "")
        return True

    def _api_getMyDescription(self, params: JSON) -> JSON:
        return {"description": self.descriptions.get(str(params.get("language_code") or ""), "")}

    def _api_setMyShortDescription(self, params: JSON) -> bool:
        self.short_descriptions[str(params.get("language_code") or "")] = str(
            params.get("short_description") or "")
        return True

    def _api_getMyShortDescription(self, params: JSON) -> JSON:
        return {"short_description": self.short_descriptions.get(
            str(params.get("language_code") or ""), "")}

    def _api_close(self, params: JSON) -> bool:
        return True

    def _api_logOut(self, params: JSON) -> bool:
        return True


def _update_type(update: JSON) -> str:
    return next((k for k in update if k != "update_id"), "")
