"""The webhook's quick reading of the two updates nearly every customer sends (issue 12):
a plain private text message and a pressed button become exactly the Inbound that
python-telegram-bot's objects give; anything else is left to them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from telegram import Update

from handlers import telegram as tg

BOT = "complaint_test_bot"
BOT_ID = 4242


def slow(data: dict[str, Any]) -> Any:
    update = Update.de_json(json.loads(json.dumps(data)), None)
    assert update is not None
    return tg.inbound_from(update, BOT, BOT_ID)


def user(**extra: Any) -> dict[str, Any]:
    return {"id": 777, "is_bot": False, "first_name": "Mei", **extra}


def private(**extra: Any) -> dict[str, Any]:
    return {"id": 777, "type": "private", "first_name": "Mei", **extra}


def text(body: str = "快递一直没到", **message: Any) -> dict[str, Any]:
    return {"update_id": 90001, "message": {"message_id": 12, "date": 1764561600, "chat": private(), "from": user(), "text": body, **message}}


def press(data: str = "5.2:confirm", **query: Any) -> dict[str, Any]:
    on = {"message_id": 11, "date": 1764561590, "chat": private(), "from": {"id": BOT_ID, "is_bot": True, "first_name": "Bot"},
          "text": "是快递物流的问题吗？", "reply_markup": {"inline_keyboard": [[{"text": "是", "callback_data": data}]]}}  # fmt: skip
    return {"update_id": 90002, "callback_query": {"id": "4382bfdwdsb323b2d9", "from": user(), "chat_instance": "-93", "message": on, "data": data, **query}}


QUICK = {
    "text": text(),
    "text with a surname and a language": text(message_id=13) | {"message": text()["message"] | {"from": user(last_name="Li", language_code="zh-hans")}},
    "a long rant": text("太差了！" * 2500),
    "emoji only": text("😡😡😡🤬"),
    "a button": press(),
    "a button of an English speaker": press("9.4:skip", **{"from": user(language_code="en", last_name="Wong")}),
}

SLOW = {
    "a command": text("/start", entities=[{"type": "bot_command", "offset": 0, "length": 6}]),
    "a link": text("see https://x.cn", entities=[{"type": "url", "offset": 4, "length": 12}]),
    "a photo": {"update_id": 1, "message": {"message_id": 1, "date": 1, "chat": private(), "from": user(), "photo": [{"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1}]}},
    "a contact": {"update_id": 1, "message": {"message_id": 1, "date": 1, "chat": private(), "from": user(), "contact": {"phone_number": "+8613800000000", "first_name": "Mei", "user_id": 777}}},
    "a sticker": {"update_id": 1, "message": {"message_id": 1, "date": 1, "chat": private(), "from": user(), "sticker": {"file_id": "s", "file_unique_id": "u", "width": 1, "height": 1, "is_animated": False, "is_video": False, "type": "regular"}}},
    "an edit": {"update_id": 1, "edited_message": text()["message"] | {"edit_date": 2}},
    "a group": text() | {"message": text()["message"] | {"chat": {"id": -100, "type": "group", "title": "G"}}},
    "a bot": text() | {"message": text()["message"] | {"from": {"id": 5, "is_bot": True, "first_name": "B"}}},
    "a button in a group": press() | {"callback_query": press()["callback_query"] | {"message": press()["callback_query"]["message"] | {"chat": {"id": -100, "type": "group", "title": "G"}}}},
    "a button without data": {"update_id": 1, "callback_query": {k: v for k, v in press()["callback_query"].items() if k != "data"}},
    "a channel post": {"update_id": 1, "channel_post": {"message_id": 1, "date": 1, "chat": {"id": -1, "type": "channel"}, "text": "hi"}},
    "a text that is not a string": text() | {"message": text()["message"] | {"text": 5}},
}


@pytest.mark.parametrize("name", QUICK)
def test_the_quick_reading_is_what_python_telegram_bot_gives(name: str) -> None:
    data = QUICK[name]
    quick = tg.quick_inbound(data)
    assert quick is not None, "read the quick way"
    assert quick == slow(data)


@pytest.mark.parametrize("name", SLOW)
def test_anything_else_goes_the_whole_way(name: str) -> None:
    assert tg.quick_inbound(SLOW[name]) is None
