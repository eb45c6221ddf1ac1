"""The thin Telegram layer against the emulated Bot API.

Out: the Bot API path (handlers/telegram_http.py's JsonBotApi) behind TelegramSender and
the callback-query answer: what is sent (as python-telegram-bot's own objects would send
it), every failure mapped to the outbox's DeliveryError as python-telegram-bot's errors
were, and the bot's rate limit. In: a webhook's update is stored as it came, with the
Inbound read once when it arrived, the same as decoding the stored payload gives."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    LinkPreviewOptions,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder
from telegram.request import BaseRequest

from flows.domain import Button, Inbound, InboundKind, InboxEntry, OutboxItem, Reply, UserRef
from flows.outbox import DeliveryError
from flows.service import Outcome
from flows.texts import default_catalogue
from handlers import telegram as tg
from handlers.telegram_http import AiohttpRequest, raise_for_answer
from tests.fakes.telegram_api import FakeTelegram

App = Application[Any, Any, Any, Any, Any, Any]


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def application(fake: FakeTelegram) -> AsyncIterator[App]:
    """As bot/runner.py builds it (Telegram's 30 messages/s limit on)."""
    app = tg.build_application(fake.token, base_url=fake.url)
    await app.initialize()
    yield app
    await app.shutdown()


def item(chat_id: int, reply: Reply) -> OutboxItem:
    return OutboxItem(None, tg.CHANNEL, str(chat_id), "reply", reply.to_payload())


ROWS = ((Button("是", "7.2:confirm"), Button("不是", "7.2:change")), (Button("跳过", "7.2:skip"),))
MARKUPS: list[tuple[str, Reply, Any]] = [
    ("no buttons", Reply("您好"), None),
    (
        "inline buttons",
        Reply("类型对吗？", ROWS),
        InlineKeyboardMarkup([[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in ROWS]),
    ),
    (
        "the share-contact keyboard",
        Reply("联系方式？", ((Button("跳过", "7.4:skip"),),), request_contact="分享手机号"),
        ReplyKeyboardMarkup(
            [[KeyboardButton("分享手机号", request_contact=True)], [KeyboardButton("跳过")]],
            resize_keyboard=True,
            one_time_keyboard=True,
        ),
    ),
    ("the keyboard taken away", Reply("记下了", remove_keyboard=True), ReplyKeyboardRemove()),
]


@pytest.mark.parametrize(("what", "reply", "markup"), MARKUPS, ids=[m[0] for m in MARKUPS])
async def test_a_reply_is_sent_as_python_telegram_bots_objects_would_send_it(
    fake: FakeTelegram, application: App, what: str, reply: Reply, markup: Any
) -> None:
    alice = fake.user(language_code="zh-hans")
    await tg.TelegramSender(application.bot).send(item(alice.id, reply))
    (call,) = fake.calls_to("sendMessage")
    assert call.status == 200 and call.content_type == "application/json"
    expected: dict[str, Any] = {
        "chat_id": alice.id,
        "text": reply.text,
        "link_preview_options": LinkPreviewOptions(is_disabled=True).to_dict(),
    }
    if markup is not None:
        expected["reply_markup"] = markup.to_dict()
    assert call.params == expected
    assert alice.bot_texts() == [reply.text]


async def test_a_long_reply_is_split_with_the_buttons_under_its_last_piece(fake: FakeTelegram, application: App) -> None:
    alice = fake.user(language_code="zh-hans")
    text = ("一二三四五六七八九十" * 100 + "\n") * 5
    await tg.TelegramSender(application.bot).send(item(alice.id, Reply(text, ROWS)))
    calls = fake.calls_to("sendMessage")
    assert [c.params["text"] for c in calls] == tg.split_text(text) and len(calls) == 2
    assert "reply_markup" not in calls[0].params
    assert calls[1].params["reply_markup"]["inline_keyboard"][1] == [{"text": "跳过", "callback_data": "7.2:skip"}]


async def failure(application: App, chat_id: int) -> DeliveryError:
    with pytest.raises(DeliveryError) as info:
        await tg.TelegramSender(application.bot).send(item(chat_id, Reply("您好")))
    return info.value


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_429_is_retried_after_the_time_telegram_names(fake: FakeTelegram, application: App) -> None:
    alice = fake.user()
    fake.rate_limit_next("sendMessage", retry_after=7)
    error = await failure(application, alice.id)
    assert error.retry_after == 7.0 and not error.permanent
    assert str(error).startswith("rate limited:")
    assert [c.status for c in fake.calls_to("sendMessage")] == [429]


async def test_403_a_customer_who_blocked_the_bot_is_not_retried(fake: FakeTelegram, application: App) -> None:
    alice = fake.user()
    alice.block()
    error = await failure(application, alice.id)
    assert error.permanent and error.retry_after is None
    assert str(error) == "forbidden: Forbidden: bot was blocked by the user"


async def test_400_a_request_telegram_refuses_is_not_retried(fake: FakeTelegram, application: App) -> None:
    error = await failure(application, 987_654_321)  # no such chat
    assert error.permanent and error.retry_after is None
    assert str(error) == "bad request: Chat not found"


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_5xx_is_retried(fake: FakeTelegram, application: App, status: int) -> None:
    alice = fake.user()
    fake.fail_next("sendMessage", status=status)
    error = await failure(application, alice.id)
    assert not error.permanent and error.retry_after is None
    assert str(error).startswith("NetworkError:")
    await tg.TelegramSender(application.bot).send(item(alice.id, Reply("again")))
    assert alice.bot_texts() == ["again"]


async def test_a_dropped_connection_is_retried(fake: FakeTelegram, application: App) -> None:
    alice = fake.user()
    fake.fail_next("sendMessage", drop=True)
    error = await failure(application, alice.id)
    assert not error.permanent and str(error).startswith("NetworkError: aiohttp.")


async def test_a_refused_connection_is_retried() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = tg.build_application("123456:REFUSED", base_url=f"http://127.0.0.1:{port}")
    await app.bot.request.initialize()  # the session only: getMe would fail the same way
    try:
        error = await failure(app, 42)
    finally:
        await app.bot.request.shutdown()
    assert not error.permanent and error.retry_after is None
    assert str(error).startswith("NetworkError: aiohttp.ClientConnectorError")


async def test_no_answer_times_out_and_is_retried(fake: FakeTelegram) -> None:
    app = (
        ApplicationBuilder()
        .token(fake.token)
        .updater(None)
        .base_url(fake.url + "/bot")
        .request(AiohttpRequest(read_timeout=0.3))
        .build()
    )
    await app.initialize()
    try:
        alice = fake.user()
        fake.hang_next("sendMessage")
        error = await failure(app, alice.id)
        assert not error.permanent and error.retry_after is None
        assert str(error).startswith("TimedOut:")
        await fake.wait_for_call("sendMessage", lambda c: c.status == 499)  # the bot gave up on it
    finally:
        await app.shutdown()


async def test_the_bots_rate_limit_throttles_the_replies(fake: FakeTelegram) -> None:
    """At most ``rate`` sendMessage calls at once, then one every 1/rate s (python-telegram-bot's
    AIORateLimiter, whose bucket the replies share with the bot's own calls)."""
    rate, count = 10, 20
    app = tg.build_application(fake.token, base_url=fake.url, max_messages_per_second=rate)
    await app.initialize()
    try:
        alice = fake.user()
        sender = tg.TelegramSender(app.bot)
        start = time.time()  # the fake notes when each call arrived on the same clock
        await asyncio.gather(*(sender.send(item(alice.id, Reply(f"第 {n} 条"))) for n in range(count)))
    finally:
        await app.shutdown()
    times = sorted(c.time for c in fake.calls_to("sendMessage"))
    assert len(times) == count and all(c.status == 200 for c in fake.calls_to("sendMessage"))
    for k in range(rate, count):  # the k-th call waited for k - rate + 1 slots to free up (a slow machine only waits longer)
        assert times[k] - start >= (k - rate + 1) / rate, (k, times[k] - start)


def button_entry(query_id: str, chat_id: int) -> tuple[InboxEntry, Inbound]:
    inbound = Inbound(tg.CHANNEL, str(chat_id), UserRef(str(chat_id)), InboundKind.BUTTON, button="7.2:confirm")
    payload = {"update_id": 5, "callback_query": {"id": query_id}}
    return InboxEntry(tg.CHANNEL, "5", str(chat_id), 5, payload, 1, inbound=inbound), inbound


async def test_a_pressed_buttons_spinner_is_stopped(fake: FakeTelegram, application: App) -> None:
    alice = fake.user()
    message = await application.bot.send_message(alice.id, "类型对吗？", reply_markup=InlineKeyboardMarkup(
        [[InlineKeyboardButton("是", callback_data="7.2:confirm")]]))  # fmt: skip
    query = alice.press("是", message.message_id)
    channel = tg.TelegramChannel(application.bot, default_catalogue())
    entry, inbound = button_entry(query["id"], alice.id)
    await channel.handled(entry, inbound, Outcome())
    (call,) = fake.calls_to("answerCallbackQuery")
    assert call.status == 200 and call.params == {"callback_query_id": query["id"]}
    assert query["id"] in fake.callback_answers


async def test_a_query_telegram_no_longer_knows_is_only_noted(
    fake: FakeTelegram, application: App, caplog: pytest.LogCaptureFixture
) -> None:
    channel = tg.TelegramChannel(application.bot, default_catalogue())
    entry, inbound = button_entry("too-old", 42)
    with caplog.at_level(logging.DEBUG, logger="handlers.telegram"):
        await channel.handled(entry, inbound, Outcome())
    assert [c.status for c in fake.calls_to("answerCallbackQuery")] == [400]
    assert [r.levelno for r in caplog.records if r.name == "handlers.telegram"] == [logging.DEBUG]


async def test_an_update_is_stored_as_it_came_with_the_inbound_decoding_gives(fake: FakeTelegram, application: App) -> None:
    alice = fake.user(first_name="Alice", language_code="zh-hans")
    group = fake.group("Neighbours")
    bob = fake.user(first_name="Bob").in_chat(group)
    message = await application.bot.send_message(alice.id, "类型对吗？", reply_markup=InlineKeyboardMarkup(
        [[InlineKeyboardButton("是", callback_data="7.2:confirm")]]))  # fmt: skip
    sent = alice.send_text("快递三天了还没到")
    alice.send_text("/start")
    alice.press("是", message.message_id)
    alice.send_contact()
    alice.send_photo(caption="包装破了")
    alice.send_document()
    alice.send_sticker()
    alice.edit(sent, "快递五天了还没到")
    bob.send_text("/complain@" + fake.bot_user["username"])
    channel = tg.TelegramChannel(application.bot, default_catalogue())
    kinds = []
    for update in fake.updates:
        body = json.dumps(update, ensure_ascii=False).encode()
        entry = channel.entry_from_json(tg.read_body(body))  # as the webhook reads it
        assert entry is not None and entry.inbound is not None
        assert entry.payload == json.loads(body), "stored as it came"
        assert channel.decode(entry) == entry.inbound
        kinds.append(entry.inbound.kind)
    assert kinds == [InboundKind.TEXT, InboundKind.COMMAND, InboundKind.BUTTON, InboundKind.CONTACT, InboundKind.PHOTO,
                     InboundKind.DOCUMENT, InboundKind.UNSUPPORTED, InboundKind.EDIT, InboundKind.TEXT]  # fmt: skip


class Answering(BaseRequest):
    """python-telegram-bot's request with a canned HTTP answer: its own error handling
    (BaseRequest.post) then says what it makes of the answer."""

    def __init__(self, status: int, payload: bytes) -> None:
        self.answer = (status, payload)

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        return self.answer


ANSWERS: list[tuple[str, int, bytes]] = [
    ("ok", 200, b'{"ok":true,"result":{"message_id":1}}'),
    ("ok without a result", 200, b'{"ok":true,"result":true}'),
    ("a 200 that is not JSON", 200, b"<html>oops</html>"),
    ("rate limited", 429, b'{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 3","parameters":{"retry_after":3}}'),
    ("a group became a supergroup", 400, b'{"ok":false,"error_code":400,"description":"Bad Request: group chat was upgraded","parameters":{"migrate_to_chat_id":-1001}}'),
    ("blocked", 403, b'{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}'),
    ("bad request", 400, b'{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}'),
    ("bad token", 401, b'{"ok":false,"error_code":401,"description":"Unauthorized"}'),
    ("no such method", 404, b'{"ok":false,"error_code":404,"description":"Not Found"}'),
    ("conflict", 409, b'{"ok":false,"error_code":409,"description":"Conflict: terminated by other getUpdates request"}'),
    ("unknown parameters", 400, b'{"ok":false,"error_code":400,"description":"Bad Request: x","parameters":{"foo":1}}'),
    ("nginx's 502 page", 502, b"<html><head><title>502 Bad Gateway</title></head></html>"),
    ("a 500 with a description", 500, b'{"ok":false,"error_code":500,"description":"Internal Server Error"}'),
    ("an unknown status", 599, b""),
]


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
@pytest.mark.parametrize(("what", "status", "payload"), ANSWERS, ids=[a[0] for a in ANSWERS])
async def test_an_answer_means_what_it_means_to_python_telegram_bot(what: str, status: int, payload: bytes) -> None:
    theirs: Exception | None = None
    try:
        await Answering(status, payload).post("http://127.0.0.1/bot1:x/sendMessage")
    except TelegramError as exc:
        theirs = exc
    ours: Exception | None = None
    try:
        raise_for_answer(status, payload)
    except TelegramError as exc:
        ours = exc
    assert type(ours) is type(theirs), what
    assert str(ours) == str(theirs), what
