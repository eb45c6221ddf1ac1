"""The real python-telegram-bot application, run by `complaint-bot run`'s code, against
the emulated Bot API on 127.0.0.1: whole complaints, commands, media, duplicates,
restarts, outages, webhook delivery."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest

from bot.config import Settings
from bot.runner import run
from flows.domain import TicketState
from flows.formatting import mask_contact
from flows.texts import default_catalogue
from handlers.telegram import split_text
from storage.database import Database, sqlite_url
from tests.fakes.telegram_api import FakeTelegram, FakeUser

TEXTS = default_catalogue()


def zh(key: str, **params: object) -> str:
    return TEXTS.text("zh", key, **params)


def en(key: str, **params: object) -> str:
    return TEXTS.text("en", key, **params)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RunningBot:
    """`bot.runner.run` in a task; stop() ends it like SIGTERM would."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stop_event = asyncio.Event()
        self.task: asyncio.Task[int] | None = None

    async def start(self, fake: FakeTelegram | None = None) -> RunningBot:
        self.stop_event = asyncio.Event()
        ready = asyncio.Event()
        self.task = asyncio.create_task(run(self.settings, self.stop_event, ready))
        waiter = asyncio.create_task(ready.wait())
        done, _ = await asyncio.wait({self.task, waiter}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        if self.task in done:
            waiter.cancel()
            self.task.result()  # raises what stopped it
            raise AssertionError("the bot stopped right after starting")
        assert waiter in done, "the bot did not get ready within 30 s"
        return self

    async def stop(self) -> None:
        self.stop_event.set()
        if self.task is not None:
            assert await asyncio.wait_for(self.task, 15) == 0


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
def settings(tmp_path: Path, fake: FakeTelegram) -> Settings:
    return Settings(
        sqlite_file=tmp_path / "bot.db",
        telegram_token=fake.token,
        telegram_api_base_url=fake.url,
        listen="127.0.0.1",
        port=free_port(),
    )


@pytest.fixture
async def bot(settings: Settings, fake: FakeTelegram) -> AsyncIterator[RunningBot]:
    running = await RunningBot(settings).start(fake)
    yield running
    with contextlib.suppress(Exception):
        await running.stop()


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[Database]:
    db = Database.from_url(sqlite_url(settings.sqlite_file))
    yield db
    await db.dispose()


async def say(user: FakeUser, text: str) -> str:
    user.send_text(text)
    return str((await user.wait_for_bot_message())["text"])


async def press(user: FakeUser, label: str) -> str:
    user.press(label)
    return str((await user.wait_for_bot_message())["text"])


async def settle(user: FakeUser) -> list[str]:
    """Everything the bot answered to the user's last action (a /status marker ends it)."""
    before = len(user.bot_texts())
    user.send_text("/status")
    await user.wait_for_bot_message(lambda m: "T0" in m.get("text", "") or zh("status.none") in m.get("text", "")
                                    or en("status.none") in m.get("text", ""))
    return user.bot_texts()[before:]


async def test_a_whole_complaint_from_start_to_ticket_number(
    fake: FakeTelegram, bot: RunningBot, database: Database
) -> None:
    alice = fake.user(first_name="Alice", language_code="zh-hans")
    welcome = await say(alice, "/start")
    assert welcome == zh("welcome")
    await press(alice, zh("button.complain"))
    await alice.wait_for_bot_message(lambda m: m["text"] == zh("describe.ask"), after=0)
    suggestion = await say(alice, "买的台灯收到就是坏的，开关按了没反应")
    assert "商品质量" in suggestion and zh("describe.thanks") in suggestion
    assert await press(alice, zh("button.yes_category")) == zh("details.order")
    assert await say(alice, "JD-2026-0001") == zh("details.when")
    contact_prompt = await press(alice, zh("button.skip"))
    assert contact_prompt == zh("details.contact")
    keyboard = alice.reply_keyboard
    assert keyboard and keyboard["keyboard"][0][0]["request_contact"] is True
    alice.press(zh("button.share_contact"))  # Telegram's own share-contact button
    noted = await alice.wait_for_bot_message()
    assert noted["text"] == zh("contact.noted", contact=mask_contact("+8613800138000"))
    assert alice.reply_keyboard is None, "the contact keyboard is taken away"
    photos = await alice.wait_for_bot_message(lambda m: m["text"] == zh("details.photos"))
    assert photos["reply_markup"]["inline_keyboard"]
    alice.send_photo(caption="开关")
    await alice.wait_for_bot_message(lambda m: "1" in m["text"])
    await alice.wait_for_bot_message(lambda m: "inline_keyboard" in m.get("reply_markup", {}))
    review = await press(alice, zh("button.done"))
    assert "商品质量" in review and "JD-2026-0001" in review
    submitted = await press(alice, zh("button.submit"))
    number = re.search(r"T\d{6}", submitted)
    assert number, submitted

    # every button press was answered
    assert len(fake.calls_to("answerCallbackQuery")) == 5
    assert all(call.status == 200 for call in fake.calls_to("answerCallbackQuery"))
    async with database() as uow:
        ticket = await uow.tickets.by_number(number.group(0))
    assert ticket is not None and ticket.category == "product_quality" and ticket.state is TicketState.NEW
    assert ticket.order_number == "JD-2026-0001" and ticket.contact and ticket.contact.endswith("8000")
    assert len(ticket.photos) == 1 and ticket.photos[0].file_id and ticket.photos[0].width
    assert fake.calls_to("setMyCommands"), "the command menu is set"
    languages = {c.params.get("language_code") for c in fake.calls_to("setMyCommands")}
    assert {"zh", "en", None} <= languages


async def test_someone_elses_contact_card_is_asked_about(fake: FakeTelegram, bot: RunningBot, database: Database) -> None:
    """Only the card the share-my-number button sends (the sender's own user_id) is taken
    as the customer's; another user's card or one without a Telegram account is asked about."""
    dora = fake.user(first_name="Dora", language_code="zh-hans")
    await say(dora, "快递三天了还没送到，物流也不更新")
    assert await press(dora, zh("button.yes_category")) == zh("details.order")
    await press(dora, zh("button.skip"))
    assert await press(dora, zh("button.skip")) == zh("details.contact")

    dora.send_contact("+8613911112222", own=False, user_id=dora.user_id + 1)  # a friend's card
    asked = await dora.wait_for_bot_message()
    assert asked["text"] == zh("contact.whose", contact=mask_contact("+8613911112222"))
    assert await press(dora, zh("button.contact_other")) == zh("contact.not_used")
    await dora.wait_for_bot_message(lambda m: m["text"] == zh("details.contact"))

    dora.send_contact("+8613933334444", own=False)  # a card of someone without Telegram
    asked = await dora.wait_for_bot_message()
    assert asked["text"] == zh("contact.whose", contact=mask_contact("+8613933334444"))
    async with database() as uow:
        conversation = await uow.conversations.active_for_chat("telegram", str(dora.id))
    assert conversation is not None and conversation.draft.contact is None, "not stored before they say so"
    dora.press(zh("button.contact_use"))
    await dora.wait_for_bot_message(lambda m: m["text"] == zh("details.photos"))
    async with database() as uow:
        conversation = await uow.conversations.active_for_chat("telegram", str(dora.id))
    assert conversation is not None and conversation.draft.contact == "+8613933334444"


async def test_status_lists_the_customers_tickets_with_their_promise(fake: FakeTelegram, bot: RunningBot) -> None:
    bob = fake.user(first_name="Bob", language_code="en")
    assert await say(bob, "/status") == en("status.none")
    bob.send_text("/human")
    await bob.wait_for_bot_message(lambda m: "No agent is connected" in m["text"])
    status = await say(bob, "/status")
    assert re.search(r"T\d{6}", status) and en("ticket_state.new") in status


async def test_cancel_mid_way(fake: FakeTelegram, bot: RunningBot, database: Database) -> None:
    carol = fake.user(first_name="Carol", language_code="zh-hans")
    await say(carol, "外卖送错了，不是我点的")
    await press(carol, zh("button.yes_category"))
    assert await say(carol, "/cancel") == zh("cancel.done")
    async with database() as uow:
        assert await uow.conversations.active_for_chat("telegram", str(carol.id)) is None


async def test_sticker_gets_a_polite_answer_and_is_stored(fake: FakeTelegram, bot: RunningBot, database: Database) -> None:
    dave = fake.user(first_name="Dave", language_code="zh-hans")
    dave.send_sticker()
    answer = await dave.wait_for_bot_message()
    assert answer["text"] == zh("unsupported.message", kind=zh("media.sticker"))
    dave.send_voice()
    assert (await dave.wait_for_bot_message())["text"] == zh("unsupported.message", kind=zh("media.voice"))
    stored = await _all_messages(database)
    assert stored.count(("in", "unsupported")) == 2


async def _all_messages(database: Database) -> list[tuple[str, str]]:
    from sqlalchemy import select

    from storage.models import MessageRow

    async with database.sessions() as session:
        rows = await session.execute(select(MessageRow.direction, MessageRow.kind).order_by(MessageRow.id))
        return [(d, k) for d, k in rows]


async def test_a_duplicated_update_is_handled_once(fake: FakeTelegram, bot: RunningBot) -> None:
    erin = fake.user(first_name="Erin", language_code="zh-hans")
    erin.send_text("快递一直没送到")
    await erin.wait_for_bot_message()
    answers = len(erin.bot_texts())
    fake.enqueue_duplicate(fake.updates[-1]["update_id"])
    after = await settle(erin)
    assert len(after) == 1, f"only the /status marker was answered, not the duplicate: {after}"
    assert len(erin.bot_texts()) == answers + 1


async def test_restart_in_the_middle_of_a_conversation_resumes_it(
    fake: FakeTelegram, settings: Settings
) -> None:
    first = await RunningBot(settings).start(fake)
    frank = fake.user(first_name="Frank", language_code="zh-hans")
    await say(frank, "收到的衣服颜色和图片完全不一样")
    await press(frank, zh("button.yes_category"))
    await first.stop()
    second = await RunningBot(settings).start(fake)
    try:
        assert await say(frank, "A-1001") == zh("details.when")
    finally:
        await second.stop()


async def test_bot_api_outage_delays_the_reply_without_losing_it(fake: FakeTelegram, bot: RunningBot) -> None:
    grace = fake.user(first_name="Grace", language_code="zh-hans")
    fake.outage = True
    grace.send_text("买的牛奶过期了")
    await fake.wait_for_call("sendMessage", lambda c: c.status != 200, timeout=10)
    assert grace.bot_texts() == []
    fake.outage = False
    answer = await grace.wait_for_bot_message(timeout=15)
    assert zh("describe.thanks") in answer["text"]


async def test_rate_limit_waits_retry_after_and_resends(fake: FakeTelegram, bot: RunningBot) -> None:
    heidi = fake.user(first_name="Heidi", language_code="en")
    fake.rate_limit_next("sendMessage", retry_after=1)
    heidi.send_text("/help")
    answer = await heidi.wait_for_bot_message(timeout=15)
    assert answer["text"] == en("help")
    attempts = [c for c in fake.calls_to("sendMessage") if c.params.get("chat_id") == heidi.id]
    assert [c.status for c in attempts] == [429, 200]


async def test_photo_and_document_become_evidence(fake: FakeTelegram, bot: RunningBot, database: Database) -> None:
    ivan = fake.user(first_name="Ivan", language_code="zh-hans")
    ivan.send_photo(caption="包装破了，里面的杯子碎了")
    answer = await ivan.wait_for_bot_message()
    assert zh("describe.thanks") in answer["text"]
    async with database() as uow:
        conv = await uow.conversations.active_for_chat("telegram", str(ivan.id))
    assert conv is not None and len(conv.draft.photos) == 1
    assert conv.draft.description == "包装破了，里面的杯子碎了"


async def test_edited_description_updates_the_draft(fake: FakeTelegram, bot: RunningBot, database: Database) -> None:
    judy = fake.user(first_name="Judy", language_code="zh-hans")
    message = judy.send_text("快递慢")
    await judy.wait_for_bot_message()
    judy.edit(message, "快递慢，而且盒子压坏了")
    assert (await judy.wait_for_bot_message())["text"] == zh("edit.description_updated")
    async with database() as uow:
        conv = await uow.conversations.active_for_chat("telegram", str(judy.id))
    assert conv is not None and conv.draft.description == "快递慢，而且盒子压坏了"


async def test_group_chats_are_sent_to_a_private_chat(fake: FakeTelegram, bot: RunningBot) -> None:
    group = fake.group("Neighbours")
    mallory = fake.user(first_name="Mallory", language_code="zh-hans").in_chat(group)
    mallory.send_text("大家好")  # not addressed to the bot: ignored
    mallory.send_text("/complain@" + fake.bot_user["username"])
    answer = await mallory.wait_for_bot_message()
    assert answer["text"] == zh("group.private_only")
    assert len(mallory.bot_texts()) == 1


async def test_stale_and_forged_buttons_are_explained(fake: FakeTelegram, bot: RunningBot) -> None:
    oscar = fake.user(first_name="Oscar", language_code="en")
    await say(oscar, "My parcel never arrived")
    first_question = oscar.last_bot_message()
    other = [b["callback_data"] for row in first_question["reply_markup"]["inline_keyboard"] for b in row][1]
    await press(oscar, en("button.yes_category"))
    # a press on a button of the earlier question, still on screen
    fake._callback_query(oscar.user, oscar._state, first_question, other)
    stale = await oscar.wait_for_bot_message()
    assert stale["text"] == en("button.stale")
    fake._callback_query(oscar.user, oscar._state, first_question, "not-our-data")
    unknown = await oscar.wait_for_bot_message(lambda m: m["text"] == en("button.unknown"))
    assert unknown
    assert all(c.status == 200 for c in fake.calls_to("answerCallbackQuery")), "every press is answered"


async def test_long_replies_are_split_at_telegrams_limit() -> None:
    text = ("一二三四五六七八九十" * 100 + "\n") * 10
    pieces = split_text(text)
    assert all(len(p) <= 4096 for p in pieces) and len(pieces) == 3
    assert "".join(pieces).replace("\n", "") == text.replace("\n", "")


def webhook_settings(settings: Settings) -> Settings:
    """The bot in webhook mode on its test port, with the secret "s3cret-token"."""
    return replace(
        settings,
        telegram_mode="webhook",
        telegram_webhook_url=f"http://127.0.0.1:{settings.port}/telegram",
        telegram_webhook_secret="s3cret-token",
    )


async def test_webhook_mode_checks_the_secret_and_handles_updates(
    fake: FakeTelegram, settings: Settings
) -> None:
    running = await RunningBot(webhook_settings(settings)).start(fake)
    try:
        call = fake.calls_to("setWebhook")[-1]
        assert call.params["url"].endswith("/telegram") and call.params["secret_token"] == "s3cret-token"
        kim = fake.user(first_name="Kim", language_code="en")
        assert await say(kim, "/help") == en("help")
        assert any(d.ok for d in fake.delivered)
        async with aiohttp.ClientSession() as session:
            forged = await session.post(f"http://127.0.0.1:{settings.port}/telegram", json={"update_id": 1})
            assert forged.status == 403
            wrong = await session.post(
                f"http://127.0.0.1:{settings.port}/telegram",
                json={"update_id": 1},
                headers={"X-Telegram-Bot-Api-Secret-Token": "guess"},
            )
            assert wrong.status == 403
    finally:
        await running.stop()


async def test_webhook_answers_a_pressed_button_in_its_response(fake: FakeTelegram, settings: Settings) -> None:
    """Issue 12: a button press handled as it arrives has its spinner stopped by the
    webhook's answer itself (Telegram carries out the call), not by a request of the
    bot's; the replies still go through the Bot API (their delivery is confirmed)."""
    running = await RunningBot(webhook_settings(settings)).start(fake)
    try:
        lee = fake.user(first_name="Lee", language_code="en")
        await say(lee, "My parcel never arrived and tracking has not moved")
        await press(lee, en("button.yes_category"))
        answers = fake.calls_to("answerCallbackQuery")
        assert [c.http_method for c in answers] == ["WEBHOOK"], "answered in the webhook's response only"
        assert answers[0].status == 200 and answers[0].params["callback_query_id"]
        assert all(c.http_method == "POST" for c in fake.calls_to("sendMessage")), "replies through the Bot API"
        assert lee.last_bot_message()["text"] != en("button.yes_category")
    finally:
        await running.stop()


class FlakyDatabase:
    """The real database behind a switch: while ``down``, opening a transaction fails
    the way a lost connection does."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.down = False

    def __call__(self):  # type: ignore[no-untyped-def]
        if self.down:
            raise ConnectionError("database unavailable")
        return self.database.unit_of_work()


async def test_database_outage_confirms_nothing_and_answers_in_order_later(
    fake: FakeTelegram, settings: Settings
) -> None:
    """Long polling while the database refuses: Telegram keeps the updates (no offset
    moves past them), the customer is told once that the message is safe, and both
    messages are answered in order once the database is back."""
    from flows.inbox import Inbox
    from flows.polling import Poller
    from flows.outbox import OutboxRelay
    from flows.service import ComplaintService, utcnow
    from handlers import telegram as tg
    from nlp import default_classifier
    from storage.migrate import upgrade

    database = Database.from_url(sqlite_url(settings.sqlite_file))
    await upgrade(database.engine)
    flaky = FlakyDatabase(database)
    service = ComplaintService(flaky, default_classifier())
    application = tg.build_application(fake.token, base_url=fake.url)
    channel = tg.TelegramChannel(application.bot, TEXTS)
    await application.initialize()
    channel.relay = OutboxRelay(flaky, tg.CHANNEL, tg.TelegramSender(application.bot), utcnow)
    inbox = Inbox(flaky, service, utcnow, sweep_interval=0.05)
    inbox.register(channel)
    poller = Poller(inbox, tg.CHANNEL, tg.TelegramUpdates(channel), "poller:test", poll_timeout=1, retry_delay=0.05, max_retry_delay=0.1)
    stop = asyncio.Event()
    flaky.down = True
    poller.polling = True  # the poller's lease needs the database too; it polled before the outage
    tasks = [asyncio.create_task(poller.run(stop)), asyncio.create_task(inbox.run(stop))]
    try:
        peggy = fake.user(first_name="Peggy", language_code="zh-hans")
        peggy.send_text("快递三天了还没到，电话也打不通")
        apology = await peggy.wait_for_bot_message()
        assert apology["text"] == zh("error.saved_for_later")
        peggy.send_text("是顺丰寄的")
        await fake.wait_until(lambda: len(fake.calls_to("getUpdates")) >= 6 or None)
        assert fake.pending_update_count == 2, "nothing is confirmed while the database is down"
        assert peggy.bot_texts() == [zh("error.saved_for_later")], "one apology for the whole outage"
        flaky.down = False
        answer = await peggy.wait_for_bot_message(lambda m: zh("describe.added") in m["text"], after=0)
        assert answer, "handled in order: the description, then the addition to it"
        await fake.wait_until(lambda: fake.pending_update_count == 0 or None)
        assert peggy.bot_texts().count(zh("error.saved_for_later")) == 1
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        await application.shutdown()
        await database.dispose()


MALFORMED_UPDATES: list[tuple[str, bytes]] = [
    ("an array", b"[]"),
    ("an array of an update", b'[{"update_id": 5}]'),
    ("a string", b'"hello"'),
    ("null", b"null"),
    ("a number", b"42"),
    ("not JSON", b"{update_id: 5"),
    ("not UTF-8", b'{"update_id": 5, "x": "\xff\xfe"}'),
    ("deeply nested", b'{"update_id": 5, "message": ' + b'{"a": ' * 100_000 + b"1" + b"}" * 100_001),
    ("deeply nested arrays", b"[" * 100_000 + b"]" * 100_000),
    ("a text update_id", b'{"update_id": "abc"}'),
    ("a true update_id", b'{"update_id": true}'),
    ("a fractional update_id", b'{"update_id": 5.5}'),
    ("a negative update_id", b'{"update_id": -5}'),
    ("an update_id too large for the database", b'{"update_id": 99999999999999999999999}'),
    ("no update_id", b'{"message": {"message_id": 1}}'),
    ("a message that is a string", b'{"update_id": 5, "message": "hello"}'),
    ("a message without its fields", b'{"update_id": 5, "message": {"text": "hi"}}'),
    ("a chat that is a number", b'{"update_id": 5, "message": {"message_id": 1, "date": 0, "chat": 3, "text": "hi"}}'),
    ("a date that is text", b'{"update_id": 5, "message": {"message_id": 1, "date": "soon", "chat": {"id": 1, "type": "private"}, "text": "hi"}}'),
]


async def test_webhook_answers_malformed_updates_400_with_one_log_line(
    fake: FakeTelegram, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """With the right secret, a body that is not a Telegram update is refused (400) with one
    warning, no traceback, and the bot keeps answering real updates."""
    running = await RunningBot(webhook_settings(settings)).start(fake)
    url = f"http://127.0.0.1:{settings.port}/telegram"
    headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-token", "Content-Type": "application/json"}
    try:
        async with aiohttp.ClientSession() as session:
            for what, body in MALFORMED_UPDATES:
                caplog.clear()
                async with session.post(url, data=body, headers=headers) as response:
                    assert response.status == 400, what
                    assert await response.text() == "malformed update", what
                lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
                assert len(lines) == 1, (what, [r.getMessage() for r in lines])
                assert lines[0].getMessage().startswith("malformed webhook update"), what
                assert lines[0].exc_info is None, what
                assert len(lines[0].getMessage()) < 300, what
        kim = fake.user(first_name="Kim", language_code="en")
        assert await say(kim, "/help") == en("help")
    finally:
        await running.stop()
