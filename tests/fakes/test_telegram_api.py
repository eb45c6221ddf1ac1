"""The emulated Bot API, driven by the real python-telegram-bot ``Bot`` and ``Application``."""

from __future__ import annotations

import asyncio
import datetime as dtm
import io
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from telegram import (Bot, BotCommand, BotCommandScopeChat, InlineKeyboardButton,
                      InlineKeyboardMarkup, KeyboardButton, Message, MessageEntity,
                      ReplyKeyboardMarkup, Update)
from telegram.constants import ParseMode
from telegram.error import (BadRequest, Conflict, EndPointNotFound, Forbidden, InvalidToken,
                            NetworkError, RetryAfter, TimedOut)
from telegram.ext import (Application, ApplicationBuilder, CallbackQueryHandler, CommandHandler,
                          ContextTypes)

from tests.fakes.telegram_api import FakeTelegram

KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("提交投诉", callback_data="complain"),
                                  InlineKeyboardButton("Help", url="https://example.com/help")]])


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    async with Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url) as b:
        yield b


def seconds(value: int | dtm.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


async def test_get_me(fake: FakeTelegram, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.is_bot and me.id == fake.bot_id and me.username == "complaint_test_bot"
    assert me.can_join_groups is True
    assert fake.calls_to("getMe")[-1].status == 200


async def test_send_message_with_inline_keyboard(fake: FakeTelegram, bot: Bot) -> None:
    alice = fake.user(first_name="Alice", language_code="zh-hans")
    msg = await bot.send_message(alice.id, "<b>您好</b> &amp; welcome", parse_mode=ParseMode.HTML,
                                 reply_markup=KEYBOARD)
    assert isinstance(msg, Message)
    assert msg.text == "您好 & welcome"
    assert msg.entities == (MessageEntity(MessageEntity.BOLD, 0, 2),)
    assert msg.from_user is not None and msg.from_user.id == fake.bot_id
    assert msg.from_user.is_bot
    assert msg.chat.id == alice.id and msg.chat.type == "private"
    assert abs(msg.date.timestamp() - time.time()) < 5 and msg.date.tzinfo is not None
    assert msg.reply_markup == KEYBOARD
    second = await bot.send_message(alice.id, "again")
    assert second.message_id == msg.message_id + 1

    call = fake.calls_to("sendMessage")[0]
    assert call.content_type == "application/x-www-form-urlencoded"
    assert call.params["chat_id"] == alice.id
    assert call.params["reply_markup"]["inline_keyboard"][0][0] == {
        "text": "提交投诉", "callback_data": "complain"}
    assert alice.bot_texts() == ["您好 & welcome", "again"]
    assert alice.last_bot_message()["message_id"] == second.message_id


async def test_reply_keyboard_request_contact(fake: FakeTelegram, bot: Bot) -> None:
    bob = fake.user(first_name="Bob")
    markup = ReplyKeyboardMarkup([[KeyboardButton("分享手机号", request_contact=True)]],
                                 one_time_keyboard=True)
    sent = await bot.send_message(bob.id, "请分享手机号", reply_markup=markup)
    assert sent.reply_markup is None  # Telegram echoes only inline keyboards
    assert bob.reply_keyboard is not None
    bob.press("分享手机号")
    [update] = await bot.get_updates(timeout=0)
    assert update.message is not None and update.message.contact is not None
    assert update.message.contact.user_id == bob.id
    assert bob.reply_keyboard is None  # one_time_keyboard


async def test_get_updates_offset_limit_and_long_poll(fake: FakeTelegram, bot: Bot) -> None:
    alice = fake.user(first_name="Alice", language_code="zh-hans", username="alice")
    alice.send_text("/start")
    alice.send_text("我要投诉")
    alice.send_text("third")
    first = await bot.get_updates(timeout=0, limit=2)
    assert [u.message.text for u in first if u.message] == ["/start", "我要投诉"]
    start = first[0].message
    assert start is not None and start.from_user is not None
    assert start.from_user.language_code == "zh-hans" and not start.from_user.is_bot
    assert start.entities == (MessageEntity(MessageEntity.BOT_COMMAND, 0, 6),)
    assert first[1].update_id == first[0].update_id + 1
    # without a new offset the unconfirmed updates come again
    assert len(await bot.get_updates(timeout=0)) == 3
    offset = first[-1].update_id + 1
    rest = await bot.get_updates(offset=offset, timeout=0)
    assert [u.message.text for u in rest if u.message] == ["third"]
    offset = rest[-1].update_id + 1
    assert await bot.get_updates(offset=offset, timeout=0) == ()
    assert fake.pending_update_count == 0

    # an update enqueued while the long poll waits is returned promptly
    index = len(fake.calls)
    poll = asyncio.create_task(bot.get_updates(offset=offset, timeout=30))
    await fake.wait_for_call("getUpdates", since=index, answered=False)
    began = time.monotonic()
    alice.send_text("hello")
    updates = await asyncio.wait_for(poll, 5)
    assert time.monotonic() - began < 2
    assert [u.message.text for u in updates if u.message] == ["hello"]

    # a short timeout with nothing to deliver returns an empty list
    empty = await bot.get_updates(offset=updates[-1].update_id + 1,
                                  timeout=dtm.timedelta(milliseconds=200))
    assert empty == ()


async def test_duplicate_update_is_delivered_again(fake: FakeTelegram, bot: Bot) -> None:
    alice = fake.user()
    alice.send_text("once")
    [update] = await bot.get_updates(timeout=0)
    assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == ()
    fake.enqueue_duplicate(update.update_id)
    [again] = await bot.get_updates(offset=update.update_id + 1, timeout=0)
    assert again.update_id == update.update_id and again.message == update.message
    assert await bot.get_updates(offset=again.update_id + 1, timeout=0) == ()


async def test_allowed_updates_filter(fake: FakeTelegram, bot: Bot) -> None:
    alice = fake.user()
    alice.send_text("text")
    alice.block()  # my_chat_member
    updates = await bot.get_updates(timeout=0, allowed_updates=["my_chat_member"])
    assert [u.my_chat_member is not None for u in updates] == [True]
    assert updates[0].my_chat_member is not None
    assert updates[0].my_chat_member.new_chat_member.status == "kicked"
    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_message(alice.id, "hi")


async def test_user_photo_get_file_and_download(fake: FakeTelegram, bot: Bot) -> None:
    alice = fake.user()
    alice.send_photo(caption="破损的包裹")
    [update] = await bot.get_updates(timeout=0)
    assert update.message is not None and update.message.caption == "破损的包裹"
    sizes = update.message.photo
    assert len(sizes) == 3 and sizes[-1].width > sizes[0].width
    assert len({s.file_id for s in sizes}) == 3
    file = await bot.get_file(sizes[-1].file_id)
    assert file.file_path is not None and file.file_path.startswith(fake.base_file_url)
    out = io.BytesIO()
    await file.download_to_memory(out)
    assert out.getvalue() == fake.file_bytes(sizes[-1].file_id)
    assert file.file_size == len(out.getvalue())


async def test_send_photo_upload_then_by_file_id(fake: FakeTelegram, bot: Bot) -> None:
    alice = fake.user()
    content = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    uploaded = await bot.send_photo(alice.id, photo=content, caption="<i>收据</i>",
                                    parse_mode=ParseMode.HTML, reply_markup=KEYBOARD)
    call = fake.calls_to("sendPhoto")[0]
    assert call.content_type == "multipart/form-data"
    assert call.files["photo"].data == content
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "complain"
    assert uploaded.caption == "收据" and uploaded.caption_entities[0].type == "italic"
    biggest = uploaded.photo[-1]
    assert biggest.file_size == len(content) and biggest.width and biggest.height

    again = await bot.send_photo(alice.id, photo=biggest.file_id)
    assert fake.calls_to("sendPhoto")[1].content_type == "application/x-www-form-urlencoded"
    assert again.photo[-1].file_unique_id == biggest.file_unique_id
    data = await (await bot.get_file(biggest.file_id)).download_as_bytearray()
    assert bytes(data) == content

    doc = await bot.send_document(alice.id, document=b"a,b\n1,2\n", filename="tickets.csv")
    assert doc.document is not None and doc.document.file_name == "tickets.csv"
    assert doc.document.mime_type == "text/csv"
    with pytest.raises(BadRequest, match="Wrong file identifier"):
        await bot.send_photo(alice.id, photo="AgACnonexistent")
    with pytest.raises(BadRequest, match="(?i)can't use file of type document as photo"):
        await bot.send_photo(alice.id, photo=doc.document.file_id)


async def test_other_user_content(fake: FakeTelegram, bot: Bot) -> None:
    alice = fake.user()
    alice.send_document("invoice.pdf", "application/pdf")
    alice.send_sticker()
    alice.send_voice()
    alice.send_video()
    alice.send_location()
    alice.send_poll()
    alice.send_contact("+8613800000000")
    sent = alice.send_text("typo")
    alice.edit(sent, "fixed")
    updates = await bot.get_updates(timeout=0)
    messages = [u.message for u in updates[:-1]]
    assert all(m is not None for m in messages)
    assert messages[0].document.file_name == "invoice.pdf"  # type: ignore[union-attr]
    assert messages[1].sticker is not None and messages[2].voice is not None
    assert messages[3].video is not None and messages[4].location is not None
    assert messages[5].poll is not None and messages[6].contact is not None
    edited = updates[-1].edited_message
    assert edited is not None and edited.text == "fixed" and edited.edit_date is not None
    assert edited.message_id == sent["message_id"]
    voice = await bot.get_file(messages[2].voice.file_id)  # type: ignore[union-attr]
    assert voice.file_path is not None and voice.file_path.endswith(".oga")


async def test_callback_query_and_answer(fake: FakeTelegram, bot: Bot) -> None:
    alice = fake.user()
    sent = await bot.send_message(alice.id, "选择", reply_markup=KEYBOARD)
    alice.press("提交投诉")
    [update] = await bot.get_updates(timeout=0)
    query = update.callback_query
    assert query is not None and query.data == "complain" and query.chat_instance
    assert query.from_user.id == alice.id
    assert query.message is not None and query.message.message_id == sent.message_id
    assert await bot.answer_callback_query(query.id, text="收到") is True
    assert fake.callback_answers[query.id]["text"] == "收到"
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(query.id)
    with pytest.raises(AssertionError, match="提交投诉"):
        alice.press("nonexistent")
    with pytest.raises(AssertionError, match="no callback_data"):
        alice.press("Help")
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="x" * 65)]])
    with pytest.raises(BadRequest, match="(?i)button_data_invalid"):
        await bot.send_message(alice.id, "bad", reply_markup=too_long)


async def test_edit_message_text(fake: FakeTelegram, bot: Bot) -> None:
    alice = fake.user()
    sent = await bot.send_message(alice.id, "处理中", reply_markup=KEYBOARD)
    edited = await bot.edit_message_text("已处理", chat_id=alice.id, message_id=sent.message_id)
    assert isinstance(edited, Message)
    assert edited.text == "已处理" and edited.edit_date is not None
    assert edited.reply_markup is None  # editing without reply_markup removes the keyboard
    assert alice.messages()[-1]["text"] == "已处理"
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("已处理", chat_id=alice.id, message_id=sent.message_id)
    again = await bot.edit_message_reply_markup(alice.id, sent.message_id, reply_markup=KEYBOARD)
    assert isinstance(again, Message) and again.reply_markup == KEYBOARD
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", chat_id=alice.id, message_id=999)
    user_msg = alice.send_text("mine")
    with pytest.raises(BadRequest, match="Message can't be edited"):
        await bot.edit_message_text("x", chat_id=alice.id, message_id=user_msg["message_id"])


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_rate_limit_is_retry_after(fake: FakeTelegram, bot: Bot) -> None:
    alice = fake.user()
    fake.rate_limit_next("sendMessage", retry_after=7)
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(alice.id, "hi")
    assert seconds(info.value.retry_after) == 7  # int, or timedelta with PTB_TIMEDELTA=1
    assert fake.calls_to("sendMessage")[0].status == 429
    assert (await bot.send_message(alice.id, "hi")).text == "hi"


async def test_faults_and_outage(fake: FakeTelegram, bot: Bot) -> None:
    alice = fake.user()
    fake.fail_next("sendMessage", status=502)
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(alice.id, "hi")
    fake.fail_next("*", drop=True)
    with pytest.raises(NetworkError):
        await bot.send_message(alice.id, "hi")
    fake.outage = True
    with pytest.raises(NetworkError):
        await bot.send_chat_action(alice.id, "typing")
    assert await bot.get_updates(timeout=0) == ()  # getUpdates is spared
    fake.outage = False
    assert await bot.send_chat_action(alice.id, "typing") is True
    assert alice.bot_texts() == []


async def test_a_hung_call_times_out_and_is_seen_given_up(fake: FakeTelegram, bot: Bot) -> None:
    alice = fake.user()
    fake.hang_next("sendMessage")
    with pytest.raises(TimedOut):
        await bot.send_message(alice.id, "hi", read_timeout=0.2)
    call = await fake.wait_for_call("sendMessage", lambda c: c.status == 499)
    assert call.error == "client closed the connection"
    assert (await bot.send_message(alice.id, "again")).text == "again"
    assert alice.bot_texts() == ["again"]


async def test_validation_errors(fake: FakeTelegram, bot: Bot) -> None:
    alice = fake.user()
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(alice.id, "长" * 4097)
    assert (await bot.send_message(alice.id, "长" * 4096)).text == "长" * 4096
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(alice.id, "   ")
    with pytest.raises(BadRequest, match='Can\'t parse entities: unsupported start tag "br"'):
        await bot.send_message(alice.id, "a<br>b", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="can't find end tag corresponding to start tag \"b\""):
        await bot.send_message(alice.id, "<b>x", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="reserved and must be escaped"):
        await bot.send_message(alice.id, "Ticket #1.", parse_mode=ParseMode.MARKDOWN_V2)
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(424242, "hi")
    with pytest.raises(BadRequest, match="Message to be replied not found"):
        await bot.send_message(alice.id, "hi", reply_to_message_id=999)


async def test_token_and_method_errors(fake: FakeTelegram, bot: Bot) -> None:
    with pytest.raises(InvalidToken, match="rejected by the server"):
        async with Bot("999:wrong", base_url=fake.base_url):
            pass
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod")
    assert fake.calls_to("noSuchMethod")[-1].status == 404
    assert fake.calls_to("getMe")[-1].status == 401


async def test_commands_descriptions_close(fake: FakeTelegram, bot: Bot) -> None:
    alice = fake.user()
    assert await bot.set_my_commands([BotCommand("start", "开始"), ("complain", "投诉")],
                                     language_code="zh")
    scoped = BotCommandScopeChat(alice.id)
    assert await bot.set_my_commands([BotCommand("agent", "Agent tools")], scope=scoped)
    assert [c.command for c in await bot.get_my_commands(language_code="zh")] == [
        "start", "complain"]
    assert [c.command for c in await bot.get_my_commands(scope=scoped)] == ["agent"]
    assert await bot.get_my_commands() == ()
    assert await bot.delete_my_commands(language_code="zh")
    assert await bot.get_my_commands(language_code="zh") == ()
    with pytest.raises(BadRequest):
        await bot.set_my_commands([BotCommand("Bad-Command", "x")])
    assert await bot.set_my_description("投诉机器人", language_code="zh")
    assert await bot.set_my_short_description("complaints")
    assert fake.descriptions["zh"] == "投诉机器人"
    assert await bot.close() and await bot.log_out()


async def test_conflict_when_webhook_is_set(fake: FakeTelegram, bot: Bot) -> None:
    assert await bot.set_webhook("http://127.0.0.1:9/hook")
    with pytest.raises(Conflict, match="can't use getUpdates method while webhook is active"):
        await bot.get_updates(timeout=0)
    assert await bot.delete_webhook()
    assert await bot.get_updates(timeout=0) == ()


async def test_webhook_delivery_with_secret_and_retry(fake: FakeTelegram, bot: Bot) -> None:
    received: list[tuple[str | None, dict]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"),
                         await request.json()))
        return web.Response(status=500 if len(received) == 1 else 200)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
        assert await bot.set_webhook(url, secret_token="s3cr3t-Token_1")
        alice = fake.user()
        alice.send_text("/start")
        alice.send_text("second")
        await fake.wait_for_delivery(lambda d: d.ok and d.update_id == fake.updates[-1]["update_id"])
        assert [d.status for d in fake.delivered] == [500, 200, 200]
        assert {secret for secret, _ in received} == {"s3cr3t-Token_1"}
        texts = [Update.de_json(body, bot).message.text for _, body in received]  # type: ignore
        assert texts == ["/start", "/start", "second"]  # retried in order, one at a time
        info = await bot.get_webhook_info()
        assert info.url == url and info.pending_update_count == 0
        assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
    finally:
        await runner.cleanup()


async def test_application_polling_echo(fake: FakeTelegram) -> None:
    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(" ".join(context.args or []) or "(empty)",
                                                  reply_markup=KEYBOARD)

    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer("ok")
        await update.callback_query.edit_message_text(f"pressed {update.callback_query.data}")

    app: Application = (ApplicationBuilder().token(fake.token).base_url(fake.base_url)
                        .base_file_url(fake.base_file_url).build())
    app.add_handler(CommandHandler("echo", echo))
    app.add_handler(CallbackQueryHandler(on_button))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(timeout=dtm.timedelta(seconds=30))
    try:
        alice = fake.user(first_name="小明", language_code="zh-hans")
        alice.send_text("/echo 你好 世界")
        reply = await alice.wait_for_bot_message()
        assert reply["text"] == "你好 世界"
        alice.press("提交投诉")
        edited = await alice.wait_for_bot_message(lambda m: m["text"].startswith("pressed"),
                                                  after=0)
        assert edited["text"] == "pressed complain" and "reply_markup" not in edited
        await fake.wait_for_call("answerCallbackQuery")

        group = fake.group("客服群")
        alice.in_chat(group).send_text("/echo@complaint_test_bot in group")
        assert (await group.wait_for_bot_message())["text"] == "in group"
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    assert fake.pending_update_count == 0  # the final getUpdates confirmed everything
    assert fake.calls_to("deleteWebhook")  # PTB bootstraps polling with deleteWebhook


async def test_second_poller_terminates_the_first(fake: FakeTelegram, bot: Bot) -> None:
    # PTB's getUpdates connection pool has size 1, so the rival is a second Bot (process).
    index = len(fake.calls)
    first = asyncio.create_task(bot.get_updates(timeout=30))
    await fake.wait_for_call("getUpdates", since=index, answered=False)
    async with Bot(fake.token, base_url=fake.base_url) as rival:
        second = asyncio.create_task(rival.get_updates(timeout=30))
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await asyncio.wait_for(first, 5)
        fake.user().send_text("for the survivor")
        assert len(await asyncio.wait_for(second, 5)) == 1


async def test_latency_and_instant_mode() -> None:
    async with FakeTelegram(latency=0.4) as slow, FakeTelegram(latency=0.4, instant=True) as fast:
        for fake, expected_slow in ((slow, True), (fast, False)):
            async with Bot(fake.token, base_url=fake.base_url) as bot:
                began = time.monotonic()
                await bot.get_me()
                assert (time.monotonic() - began >= 0.4) is expected_slow


async def test_webhook_gives_up_after_retries_and_reports(fake: FakeTelegram, bot: Bot) -> None:
    fake.webhook_retry_delays = (0.01, 0.01)
    assert await bot.set_webhook("http://127.0.0.1:9/unreachable")  # discard port: refused
    fake.user().send_text("x")
    update = fake.updates[-1]
    await fake.wait_until(lambda: update["update_id"] in fake.dropped_updates,
                          description="update dropped")
    attempts = [d for d in fake.delivered if d.update_id == update["update_id"]]
    assert [d.attempt for d in attempts] == [1, 2, 3] and not any(d.ok for d in attempts)
    info = await bot.get_webhook_info()
    assert info.last_error_message == "Connection refused" and info.last_error_date is not None


async def test_wait_helpers_time_out_with_context(fake: FakeTelegram, bot: Bot) -> None:
    alice = fake.user()
    await bot.send_message(alice.id, "earlier")
    alice.send_text("/start")
    with pytest.raises(TimeoutError, match="bot texts: \\['earlier'\\]"):
        await alice.wait_for_bot_message(timeout=0.05)
    with pytest.raises(TimeoutError, match="sendPhoto"):
        await fake.wait_for_call("sendPhoto", timeout=0.05)
    assert (await alice.wait_for_bot_message(after=0))["text"] == "earlier"
