"""The agents' desk: the real slack-bolt app, run by `complaint-bot run`'s code, against
the emulated Slack Web API, receiving signed Events API, interactivity and slash-command
requests over HTTP; customers on the emulated Telegram Bot API."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from flows.domain import TicketState
from flows.texts import default_catalogue
from handlers.slack import card_ref
from storage.database import Database, sqlite_url
from tests.adapters.test_telegram import RunningBot, free_port
from tests.fakes.slack_api import (
    FakeSlack,
    block_actions_payload,
    block_texts,
    events_api_request,
    interactivity_request,
    message_event,
    post_signed,
    slash_command_request,
)
from tests.fakes.telegram_api import FakeTelegram, FakeUser

TEXTS = default_catalogue()
AGENTS, SUPS = "C0AGENTS", "C0SUPS"
ALICE, BOB, SUE, OLGA = "U0ALICE", "U0BOB", "U0SUE", "U0OLGA"
AGENT_GROUP, SUP_GROUP = "S0AGENTS", "S0SUPS"
SECRET = "test-signing-secret"


def en(key: str, **params: object) -> str:
    return TEXTS.text("en", key, **params)


class Desk:
    """The Slack side as agents use it: signed requests to the bot, results in the fake."""

    def __init__(self, slack: FakeSlack, url: str) -> None:
        self.slack = slack
        self.url = url
        self.events = 0

    async def post(self, request: Any) -> int:
        status, body, _ = await post_signed(self.url, request)
        assert status in (200, 401, 404), body
        return status

    def card(self, number: str) -> dict[str, Any]:
        for message in self.slack.messages(AGENTS):
            if message.get("blocks") and number in " ".join(block_texts(message["blocks"])):
                return message
        raise AssertionError(f"no card for {number} in {[m.get('text') for m in self.slack.messages(AGENTS)]}")

    async def wait_card(self, number: str | None = None) -> dict[str, Any]:
        def find() -> dict[str, Any] | None:
            for message in self.slack.messages(AGENTS):
                if message.get("blocks") and (number is None or number in " ".join(block_texts(message["blocks"]))):
                    return message
            return None

        return await self.slack.wait_until(find, timeout=10)

    async def press(self, user: str, action: str, card: dict[str, Any]) -> None:
        """Press a button of the card as it is now (cards change as tickets move)."""
        card = self.slack.message(AGENTS, card["ts"]) or card
        ticket_id = next(
            e["value"] for b in card["blocks"] if b["type"] == "actions" for e in b["elements"] if e["action_id"] == action
        )
        payload = block_actions_payload(user, action, ticket_id, AGENTS, card["ts"], message=card)
        assert await self.post(interactivity_request(SECRET, payload)) == 200

    async def submit(self, user: str, callback_id: str, values: dict[str, Any]) -> dict[str, Any]:
        view_id = await self.slack.wait_until(
            lambda: next((v for v, view in reversed(self.slack.views.items()) if view["callback_id"] == callback_id), None)
        )
        payload = self.slack.view_submission_for(view_id, user, values)
        status, body, _ = await post_signed(self.url, interactivity_request(SECRET, payload))
        assert status == 200
        return {} if not body else __import__("json").loads(body)

    async def reply_in_thread(self, user: str, text: str, card: dict[str, Any], *, event_id: str | None = None, retry_num: int | None = None) -> str:
        self.events += 1
        event_id = event_id or f"Ev{self.events:08d}"
        event = message_event(user, text, AGENTS, thread_ts=card["ts"])
        self.slack.add_message(AGENTS, user, text, ts=event["ts"], thread_ts=card["ts"])
        assert await self.post(events_api_request(SECRET, event, event_id=event_id, retry_num=retry_num)) == 200
        return event_id

    async def command(self, user: str, text: str) -> str:
        status, body, _ = await post_signed(self.url, slash_command_request(SECRET, "/complaint", text, user, AGENTS))
        assert status == 200
        return body

    async def ephemeral_for(self, user: str, contains: str) -> dict[str, Any]:
        return await self.slack.wait_until(
            lambda: next((e for e in self.slack.ephemerals(user) if contains in e.get("text", "")), None), timeout=10
        )


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(signing_secret=SECRET) as server:
        server.add_channel(AGENTS, "complaints")
        server.add_channel(SUPS, "supervisors")
        for uid, name in ((ALICE, "alice"), (BOB, "bob"), (SUE, "sue"), (OLGA, "olga")):
            server.add_user(uid, name, name.title(), display_name=name.title())
        server.add_usergroup(AGENT_GROUP, "agents", [ALICE, BOB])
        server.add_usergroup(SUP_GROUP, "supervisors", [SUE])
        yield server


@pytest.fixture
def settings(tmp_path: Path, telegram: FakeTelegram, slack: FakeSlack) -> Settings:
    return Settings(
        sqlite_file=tmp_path / "bot.db",
        telegram_token=telegram.token,
        telegram_api_base_url=telegram.url,
        listen="127.0.0.1",
        port=free_port(),
        desk_language="en",
        slack_bot_token=slack.bot_token,
        slack_signing_secret=SECRET,
        slack_api_url=slack.api_url,
        slack_agents_channel=AGENTS,
        slack_supervisors_channel=SUPS,
        slack_agent_group=AGENT_GROUP,
        slack_supervisor_group=SUP_GROUP,
        sqlite_busy_timeout=0.5,
    )


@pytest.fixture
async def bot(settings: Settings) -> AsyncIterator[RunningBot]:
    running = await RunningBot(settings).start()
    yield running
    with contextlib.suppress(Exception):
        await running.stop()


@pytest.fixture
def desk(slack: FakeSlack, settings: Settings, bot: RunningBot) -> Desk:
    return Desk(slack, f"http://127.0.0.1:{settings.port}{settings.slack_events_path}")


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[Database]:
    db = Database.from_url(sqlite_url(settings.sqlite_file))
    yield db
    await db.dispose()


async def human(customer: FakeUser) -> str:
    """The customer asks for a person; returns the ticket number."""
    customer.send_text("/human")
    answer = await customer.wait_for_bot_message(lambda m: re.search(r"T\d{6}", m["text"]) is not None)
    match = re.search(r"T\d{6}", answer["text"])
    assert match
    return match.group(0)


async def hot_complaint(customer: FakeUser, text: str = "I got food poisoning from your chicken salad, the whole night vomiting") -> str:
    customer.send_text(text)
    await customer.wait_for_bot_message()
    for label in (en("button.yes_category"), en("button.skip"), en("button.skip")):
        customer.press(label)
        await customer.wait_for_bot_message()
    customer.send_text(en("button.skip"))  # what the contact keyboard's skip button sends
    await customer.wait_for_bot_message(lambda m: m["text"] == en("contact.why_urgent"))  # urgent: asked once more
    customer.send_text(en("button.skip"))
    await customer.wait_for_bot_message(lambda m: m["text"] == en("details.photos"))
    customer.press(en("button.no_photos"))
    await customer.wait_for_bot_message(lambda m: "Submit" in str(m.get("reply_markup")))
    customer.press(en("button.submit"))
    answer = await customer.wait_for_bot_message(lambda m: re.search(r"T\d{6}", m["text"]) is not None)
    match = re.search(r"T\d{6}", answer["text"])
    assert match
    return match.group(0)


async def test_hand_off_posts_the_card_and_pings_supervisors_for_a_hot_complaint(
    telegram: FakeTelegram, desk: Desk, slack: FakeSlack
) -> None:
    mia = telegram.user(first_name="Mia", language_code="en")
    number = await hot_complaint(mia)
    card = await desk.wait_card(number)
    texts = " ".join(block_texts(card["blocks"]))
    assert number in texts and en("severity_name.hot") in texts and "Safety" in texts
    assert "food poisoning" in texts  # the description, and the cue behind the severity
    actions = [e["action_id"] for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert actions == ["ticket_claim", "ticket_transfer", "ticket_escalate", "ticket_regrade"]
    ping = await slack.wait_for_message(SUPS, lambda m: number in m.get("text", ""))
    assert ping["text"].startswith(f"<!subteam^{SUP_GROUP}>") and "|" in ping["text"], "mentions the group, links the card"


async def test_claim_updates_the_card_and_tells_the_customer(
    telegram: FakeTelegram, desk: Desk, slack: FakeSlack, database: Database
) -> None:
    nina = telegram.user(first_name="Nina", language_code="en")
    number = await human(nina)
    card = await desk.wait_card(number)
    await desk.press(ALICE, "ticket_claim", card)
    joined = await nina.wait_for_bot_message(lambda m: "has taken over" in m["text"], after=0)
    assert "Alice" in joined["text"] and number in joined["text"]
    updated = await slack.wait_until(lambda: (m := slack.message(AGENTS, card["ts"])) and f"<@{ALICE}>" in " ".join(block_texts(m["blocks"])) and m)
    assert "ticket_claim" not in str(updated["blocks"]), "no claim button once it is owned"
    notice = await slack.wait_for_message(AGENTS, lambda m: "claimed" in m.get("text", ""), thread_ts=card["ts"])
    assert "Alice" in notice["text"]
    async with database() as uow:
        ticket = await uow.tickets.by_number(number)
    assert ticket is not None and ticket.state is TicketState.CLAIMED and ticket.owner_id == ALICE


async def test_only_agents_may_claim_and_a_second_claim_is_refused(telegram: FakeTelegram, desk: Desk) -> None:
    omar = telegram.user(first_name="Omar", language_code="en")
    card = await desk.wait_card(await human(omar))
    await desk.press(OLGA, "ticket_claim", card)
    await desk.ephemeral_for(OLGA, en("desk.refusal.not_agent"))
    await desk.press(ALICE, "ticket_claim", card)
    await desk.ephemeral_for(ALICE, "You now own")
    await desk.press(BOB, "ticket_claim", card)
    refusal = await desk.ephemeral_for(BOB, "owns this ticket")
    assert "Alice" in refusal["text"]


async def test_owner_reply_reaches_the_customer_and_notes_and_others_do_not(
    telegram: FakeTelegram, desk: Desk, slack: FakeSlack, database: Database
) -> None:
    pia = telegram.user(first_name="Pia", language_code="en")
    number = await human(pia)
    card = await desk.wait_card(number)
    await desk.reply_in_thread(BOB, "Hi, I'm looking at it", card)  # before anyone claimed
    await desk.ephemeral_for(BOB, "press “Claim”")
    await desk.press(ALICE, "ticket_claim", card)
    await pia.wait_for_bot_message(lambda m: "has taken over" in m["text"], after=0)
    await desk.reply_in_thread(ALICE, "// customer sounds upset, offer a voucher", card)
    await desk.reply_in_thread(BOB, "I can take this one", card)
    await desk.ephemeral_for(BOB, "owns the ticket")
    await desk.reply_in_thread(ALICE, "Sorry about this! Could you send a photo of the receipt?", card)
    relayed = await pia.wait_for_bot_message(lambda m: "receipt" in m["text"], after=0)
    assert relayed["text"] == en("agent.says", agent="Alice", text="Sorry about this! Could you send a photo of the receipt?")
    texts = pia.bot_texts()
    assert not any("voucher" in t or "take this one" in t or "looking at it" in t for t in texts)
    async with database() as uow:
        ticket = await uow.tickets.by_number(number)
        assert ticket is not None
        kinds = [e.kind for e in await uow.events.for_ticket(ticket.id or 0)]
    assert kinds.count("internal_message") == 2 and "note" in kinds and "agent_reply" in kinds

    # and the customer's answer appears in the card's thread
    pia.send_text("Here it is <!channel> <https://evil.example|your bank>")
    relayed_back = await slack.wait_for_message(AGENTS, lambda m: "Here it is" in m.get("text", ""), thread_ts=card["ts"])
    assert "<!channel>" not in relayed_back["text"] and "&lt;!channel&gt;" in relayed_back["text"]
    assert "<https://evil.example|" not in relayed_back["text"]


async def test_customer_photo_is_uploaded_into_the_thread(telegram: FakeTelegram, desk: Desk, slack: FakeSlack) -> None:
    quinn = telegram.user(first_name="Quinn", language_code="en")
    card = await desk.wait_card(await human(quinn))
    quinn.send_photo(caption="the broken lid", data=b"\xff\xd8\xffjpeg-bytes")
    uploaded = await slack.wait_until(
        lambda: next((f for f in slack.files.values() if f.content == b"\xff\xd8\xffjpeg-bytes" and f.completed), None), timeout=10
    )
    assert [(channel, thread) for channel, _, thread in uploaded.shares] == [(AGENTS, card["ts"])]
    await slack.wait_for_message(AGENTS, lambda m: "broken lid" in m.get("text", ""), thread_ts=card["ts"])


async def test_transfer_escalate_regrade_and_resolve(
    telegram: FakeTelegram, desk: Desk, slack: FakeSlack, database: Database
) -> None:
    rui = telegram.user(first_name="Rui", language_code="en")
    number = await human(rui)
    card = await desk.wait_card(number)
    await desk.press(ALICE, "ticket_claim", card)
    await desk.ephemeral_for(ALICE, "You now own")

    await desk.press(ALICE, "ticket_transfer", card)
    await desk.submit(ALICE, "ticket_transfer_view", {"to": {"user": {"type": "users_select", "selected_user": BOB}}})
    told = await rui.wait_for_bot_message(lambda m: "has been handed to agent" in m["text"], after=0)
    assert "Bob" in told["text"]

    await desk.press(BOB, "ticket_escalate", card)
    ping = await slack.wait_for_message(SUPS, lambda m: "escalated" in m.get("text", ""))
    assert number in ping["text"] and f"<!subteam^{SUP_GROUP}>" in ping["text"]

    # an agent may raise severity but not lower it; a supervisor may
    await desk.press(BOB, "ticket_regrade", card)
    await desk.submit(BOB, "ticket_regrade_view", {
        "category": {"value": {"type": "static_select", "selected_option": {"value": "after_sales"}}},
        "severity": {"value": {"type": "static_select", "selected_option": {"value": "hot"}}},
    })
    await slack.wait_until(lambda: "Returns and after-sales" in " ".join(block_texts(slack.message(AGENTS, card["ts"])["blocks"])) or None)
    await desk.press(BOB, "ticket_regrade", card)
    refused = await desk.submit(BOB, "ticket_regrade_view", {
        "category": {"value": {"type": "static_select", "selected_option": {"value": "after_sales"}}},
        "severity": {"value": {"type": "static_select", "selected_option": {"value": "general"}}},
    })
    assert refused.get("response_action") == "errors" and "supervisors" in refused["errors"]["severity"]
    await desk.press(SUE, "ticket_regrade", card)
    await desk.submit(SUE, "ticket_regrade_view", {
        "category": {"value": {"type": "static_select", "selected_option": {"value": "after_sales"}}},
        "severity": {"value": {"type": "static_select", "selected_option": {"value": "important"}}},
    })
    async with database() as uow:
        ticket = await uow.tickets.by_number(number)
    assert ticket is not None and ticket.category == "after_sales" and ticket.severity.value == "important"

    await desk.press(BOB, "ticket_resolve", card)
    await desk.submit(BOB, "ticket_resolve_view", {"note": {"text": {"type": "plain_text_input", "value": "Refund of 30 yuan sent"}}})
    resolved = await rui.wait_for_bot_message(lambda m: "marked ticket" in m["text"], after=0)
    assert "Refund of 30 yuan sent" in resolved["text"]
    await rui.wait_for_bot_message(lambda m: "inline_keyboard" in m.get("reply_markup", {}) and en("button.solved_yes") in str(m["reply_markup"]), after=0)
    rui.press(en("button.solved_yes"))
    await rui.wait_for_bot_message(lambda m: m["text"] == en("feedback.rate"))
    rui.press("5")
    await rui.wait_for_bot_message()
    rui.press(en("button.skip"))
    await rui.wait_for_bot_message(lambda m: "closed" in m["text"])
    closed_card = await slack.wait_until(lambda: (m := slack.message(AGENTS, card["ts"])) and not any(b["type"] == "actions" for b in m["blocks"]) and m)
    assert "5/5" in " ".join(block_texts(closed_card["blocks"]))


async def test_a_forged_request_is_refused_and_changes_nothing(
    telegram: FakeTelegram, desk: Desk, slack: FakeSlack, database: Database
) -> None:
    sam = telegram.user(first_name="Sam", language_code="en")
    number = await human(sam)
    card = await desk.wait_card(number)
    ticket_id = next(e["value"] for b in card["blocks"] if b["type"] == "actions" for e in b["elements"])
    payload = block_actions_payload(OLGA, "ticket_claim", ticket_id, AGENTS, card["ts"], message=card)
    assert await desk.post(interactivity_request("not-the-secret", payload)) == 401
    assert await desk.post(interactivity_request(SECRET, payload).with_signature("v0=" + "0" * 64)) == 401
    stale = interactivity_request(SECRET, payload, timestamp=1_600_000_000)
    assert await desk.post(stale) == 401
    async with database() as uow:
        ticket = await uow.tickets.by_number(number)
    assert ticket is not None and ticket.owner_id is None and ticket.state is TicketState.NEW


async def test_a_retried_event_is_handled_once(telegram: FakeTelegram, desk: Desk, slack: FakeSlack) -> None:
    tao = telegram.user(first_name="Tao", language_code="en")
    card = await desk.wait_card(await human(tao))
    await desk.press(ALICE, "ticket_claim", card)
    await tao.wait_for_bot_message(lambda m: "has taken over" in m["text"], after=0)
    # a retry is the same event again: same event id, same message (its ts)
    event = message_event(ALICE, "We will call you today", AGENTS, thread_ts=card["ts"])
    slack.add_message(AGENTS, ALICE, event["text"], ts=event["ts"], thread_ts=card["ts"])
    event_id = "EvRETRIED01"
    assert await desk.post(events_api_request(SECRET, event, event_id=event_id)) == 200
    await tao.wait_for_bot_message(lambda m: "call you today" in m["text"], after=0)
    for retry in (1, 2):
        assert await desk.post(events_api_request(SECRET, event, event_id=event_id, retry_num=retry, retry_reason="http_timeout")) == 200
    await desk.reply_in_thread(ALICE, "marker", card)
    await tao.wait_for_bot_message(lambda m: "marker" in m["text"], after=0)
    assert sum("call you today" in t for t in tao.bot_texts()) == 1


async def test_a_thread_reply_the_database_cannot_take_is_not_acknowledged_and_slacks_retry_relays_it_once(
    telegram: FakeTelegram, desk: Desk, slack: FakeSlack, settings: Settings
) -> None:
    """Slack events are acknowledged only once what they change is committed: while the
    database is locked the event gets a 5xx, and Slack's retry (same event id) is kept once."""
    import sqlite3

    una = telegram.user(first_name="Una", language_code="en")
    card = await desk.wait_card(await human(una))
    await desk.press(ALICE, "ticket_claim", card)
    await una.wait_for_bot_message(lambda m: "has taken over" in m["text"], after=0)
    event = message_event(ALICE, "Your refund is on its way", AGENTS, thread_ts=card["ts"])
    slack.add_message(AGENTS, ALICE, event["text"], ts=event["ts"], thread_ts=card["ts"])
    blocker = sqlite3.connect(settings.sqlite_file, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another writer holds the file: the bot's transactions wait, then fail
    try:
        status, _, _ = await post_signed(desk.url, events_api_request(SECRET, event, event_id="EvLOCKED001"))
        assert status == 500, "not acknowledged: Slack will deliver it again"
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert not any("refund" in t for t in una.bot_texts())
    assert await desk.post(events_api_request(SECRET, event, event_id="EvLOCKED001", retry_num=1, retry_reason="http_error")) == 200
    await una.wait_for_bot_message(lambda m: "refund is on its way" in m["text"], after=0)
    assert await desk.post(events_api_request(SECRET, event, event_id="EvLOCKED001", retry_num=2, retry_reason="http_error")) == 200
    await desk.reply_in_thread(ALICE, "marker", card)
    await una.wait_for_bot_message(lambda m: "marker" in m["text"], after=0)
    assert sum("refund is on its way" in t for t in una.bot_texts()) == 1


async def test_a_rate_limited_card_is_posted_after_retry_after(telegram: FakeTelegram, desk: Desk, slack: FakeSlack) -> None:
    slack.rate_limit_next("chat.postMessage", retry_after=1)
    uma = telegram.user(first_name="Uma", language_code="en")
    number = await human(uma)
    card = await desk.wait_card(number)
    posts = slack.calls_to("chat.postMessage")
    assert posts[0].status == 429 and card


async def test_slack_outage_delays_the_card_without_losing_it(telegram: FakeTelegram, desk: Desk, slack: FakeSlack) -> None:
    slack.outage = "error"
    vic = telegram.user(first_name="Vic", language_code="en")
    number = await human(vic)
    await slack.wait_for_call("chat.postMessage", lambda c: c.status == 503, timeout=10)
    slack.outage = None
    assert await desk.wait_card(number)


async def test_slash_command_shows_a_ticket_mine_and_the_queue(telegram: FakeTelegram, desk: Desk) -> None:
    wen = telegram.user(first_name="Wen", language_code="en")
    first = await human(wen)
    xia = telegram.user(first_name="Xia", language_code="en")
    second = await human(xia)
    card = await desk.wait_card(first)
    await desk.wait_card(second)
    await desk.press(ALICE, "ticket_claim", card)
    await desk.ephemeral_for(ALICE, "You now own")
    shown = await desk.command(ALICE, first)
    assert first in shown and f"<@{ALICE}>" in shown
    mine = await desk.command(ALICE, "mine")
    assert first in mine and second not in mine
    queue = await desk.command(BOB, "queue")
    assert second in queue and first not in queue
    assert "Usage" in await desk.command(BOB, "")
    assert "No ticket" in await desk.command(BOB, "T999999")


async def test_socket_mode_receives_thread_replies(
    telegram: FakeTelegram, slack: FakeSlack, settings: Settings
) -> None:
    socket_settings = replace(settings, slack_signing_secret=None, slack_app_token=slack.app_token)
    running = await RunningBot(socket_settings).start()
    try:
        await slack.wait_for_socket_connection()
        yan = telegram.user(first_name="Yan", language_code="en")
        number = await human(yan)
        desk = Desk(slack, "unused")
        card = await desk.wait_card(number)
        ticket_id = next(e["value"] for b in card["blocks"] if b["type"] == "actions" for e in b["elements"])
        envelope = await slack.socket_send_interactive(block_actions_payload(ALICE, "ticket_claim", ticket_id, AGENTS, card["ts"], message=card))
        await slack.wait_for_ack(envelope)
        await yan.wait_for_bot_message(lambda m: "has taken over" in m["text"], after=0)
        event = message_event(ALICE, "Hello from Socket Mode", AGENTS, thread_ts=card["ts"])
        envelope = await slack.socket_send_event(event, event_id="EvSOCKET0001")
        await slack.wait_for_ack(envelope)
        await yan.wait_for_bot_message(lambda m: "Socket Mode" in m["text"], after=0)
    finally:
        await running.stop()


async def test_only_supervisors_declare_a_crisis_which_pings_everyone_and_stays_pinned(
    telegram: FakeTelegram, desk: Desk, slack: FakeSlack, database: Database
) -> None:
    zoe = telegram.user(first_name="Zoe", language_code="en")
    number = await human(zoe)
    card = await desk.wait_card(number)
    crisis = {
        "category": {"value": {"type": "static_select", "selected_option": {"value": "safety"}}},
        "severity": {"value": {"type": "static_select", "selected_option": {"value": "major"}}},
        "crisis": {"value": {"type": "checkboxes", "selected_options": [{"value": "crisis"}]}},
    }
    await desk.press(ALICE, "ticket_regrade", card)
    refused = await desk.submit(ALICE, "ticket_regrade_view", crisis)
    assert refused.get("response_action") == "errors" and "crisis" in refused["errors"]
    async with database() as uow:
        untouched = await uow.tickets.by_number(number)
    assert untouched is not None and (untouched.category, untouched.severity.value) == ("other", "general"), (
        "a refused part leaves the others unapplied"
    )
    await desk.press(SUE, "ticket_regrade", card)
    assert await desk.submit(SUE, "ticket_regrade_view", crisis) == {}
    ping = await slack.wait_for_message(SUPS, lambda m: "Crisis" in m.get("text", ""))
    assert ping["text"].startswith("<!channel>") and number in ping["text"]
    await slack.wait_until(lambda: SUPS in (slack.message(SUPS, ping["ts"]) or {}).get("pinned_to", []) or None)
    card_now = slack.message(AGENTS, card["ts"])
    assert card_now and "Crisis" in " ".join(block_texts(card_now["blocks"]))


async def test_a_request_with_an_unreadable_timestamp_or_body_is_refused_with_401(
    telegram: FakeTelegram, desk: Desk, slack: FakeSlack
) -> None:
    """slack-bolt answered 500 (int("abc") in its signature check); a request that cannot
    be verified is refused like a forged one, and the desk keeps working."""
    from tests.fakes.slack_api import SignedRequest, _signed, sign

    event = message_event(ALICE, "hello", AGENTS)
    good = events_api_request(SECRET, event, event_id="EvTIME0001")
    for timestamp in ("abc", "", " ", "1e9", "-1", "12345678901234567890123", "１２３"):
        headers = {**good.headers, "X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": sign(SECRET, timestamp, good.body)}
        status, _, _ = await post_signed(desk.url, SignedRequest(good.body, headers))
        assert status == 401, repr(timestamp)
    for missing in ("X-Slack-Request-Timestamp", "X-Slack-Signature"):
        headers = {k: v for k, v in good.headers.items() if k != missing}
        status, _, _ = await post_signed(desk.url, SignedRequest(good.body, headers))
        assert status == 401, missing
    # signed, but not a body bolt can read: 400, not bolt's 500 (which Slack would retry)
    for body, content_type in (("not json", "application/json"), ("[]", "application/json"), ("null", "application/json"), ("payload=%7Bbad", "application/x-www-form-urlencoded"), ("payload=null", "application/x-www-form-urlencoded")):
        status, _, _ = await post_signed(desk.url, _signed(SECRET, body, content_type, None))
        assert status == 400, body
    ivy = telegram.user(first_name="Ivy", language_code="en")
    assert await desk.wait_card(await human(ivy))


async def test_the_same_thread_message_under_a_new_event_id_reaches_the_customer_once(
    telegram: FakeTelegram, desk: Desk, slack: FakeSlack, database: Database
) -> None:
    """Slack may deliver one message again under another event id (a Socket Mode
    reconnect, a second subscription): it is kept once by its channel and ts. The same
    words sent again as a new message (another ts) go out again."""
    vic = telegram.user(first_name="Vic", language_code="en")
    card = await desk.wait_card(await human(vic))
    await desk.press(ALICE, "ticket_claim", card)
    await vic.wait_for_bot_message(lambda m: "has taken over" in m["text"], after=0)
    event = message_event(ALICE, "Your parcel left the depot", AGENTS, thread_ts=card["ts"])
    slack.add_message(AGENTS, ALICE, event["text"], ts=event["ts"], thread_ts=card["ts"])
    for event_id in ("EvFIRST0001", "EvAGAIN0002"):
        assert await desk.post(events_api_request(SECRET, event, event_id=event_id)) == 200
    await desk.reply_in_thread(ALICE, "marker one", card)
    await vic.wait_for_bot_message(lambda m: "marker one" in m["text"], after=0)
    assert sum("parcel left the depot" in t for t in vic.bot_texts()) == 1
    # a note delivered twice is kept once as well
    note = message_event(ALICE, "// called the depot", AGENTS, thread_ts=card["ts"])
    for event_id in ("EvNOTE00001", "EvNOTE00002"):
        assert await desk.post(events_api_request(SECRET, note, event_id=event_id)) == 200
    # the same words as a new message (its own ts) are a new reply
    await desk.reply_in_thread(ALICE, "Your parcel left the depot", card)
    await desk.reply_in_thread(ALICE, "marker two", card)
    await vic.wait_for_bot_message(lambda m: "marker two" in m["text"], after=0)
    assert sum("parcel left the depot" in t for t in vic.bot_texts()) == 2
    async with database() as uow:
        ticket = await uow.tickets.by_desk_ref(card_ref(AGENTS, card["ts"]))
        assert ticket is not None and ticket.id is not None
        notes = [e for e in await uow.events.for_ticket(ticket.id) if e.kind == "note"]
    assert len(notes) == 1


async def test_an_edited_reply_reaches_the_customer_as_a_correction_once(
    telegram: FakeTelegram, desk: Desk, slack: FakeSlack
) -> None:
    """An agent corrects their reply in the thread: the customer gets the corrected text,
    marked as a correction, once however often Slack delivers the edit; a second edit is
    a new correction; a link preview (message_changed without "edited") is nothing."""
    wen = telegram.user(first_name="Wen", language_code="en")
    card = await desk.wait_card(await human(wen))
    await desk.press(ALICE, "ticket_claim", card)
    await wen.wait_for_bot_message(lambda m: "has taken over" in m["text"], after=0)
    original = message_event(ALICE, "We refund 50 yuan", AGENTS, thread_ts=card["ts"])
    slack.add_message(AGENTS, ALICE, original["text"], ts=original["ts"], thread_ts=card["ts"])
    assert await desk.post(events_api_request(SECRET, original, event_id="EvORIGINAL1")) == 200
    await wen.wait_for_bot_message(lambda m: "refund 50 yuan" in m["text"], after=0)

    def edit(text: str, before: str, edited_ts: str | None) -> dict[str, Any]:
        message = {k: original[k] for k in ("type", "user", "ts", "thread_ts")}
        changed = {**message, "text": text, **({"edited": {"user": ALICE, "ts": edited_ts}} if edited_ts else {})}
        return {"type": "message", "subtype": "message_changed", "hidden": True, "channel": AGENTS,
                "message": changed, "previous_message": {**message, "text": before}, "ts": edited_ts or "1.1", "event_ts": edited_ts or "1.1"}

    first = edit("We refund 500 yuan", "We refund 50 yuan", "1700000001.000200")
    for event_id in ("EvEDIT00001", "EvEDIT00002"):
        assert await desk.post(events_api_request(SECRET, first, event_id=event_id)) == 200
    correction = en("agent.corrects", agent="Alice", text="We refund 500 yuan")
    await wen.wait_for_bot_message(lambda m: m["text"] == correction, after=0)
    second = edit("We refund 500 yuan today", "We refund 500 yuan", "1700000002.000300")
    assert await desk.post(events_api_request(SECRET, second, event_id="EvEDIT00003")) == 200
    await wen.wait_for_bot_message(lambda m: "500 yuan today" in m["text"], after=0)
    preview = edit("We refund 500 yuan today", "We refund 500 yuan today", None)
    assert await desk.post(events_api_request(SECRET, preview, event_id="EvUNFURL001")) == 200
    await desk.reply_in_thread(ALICE, "marker", card)
    await wen.wait_for_bot_message(lambda m: "marker" in m["text"], after=0)
    texts = wen.bot_texts()
    assert texts.count(correction) == 1
    assert sum("refund 50" in t for t in texts) == 3, texts  # the reply, its correction, the second correction
