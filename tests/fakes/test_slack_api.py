"""The Slack emulator, driven by the real slack_sdk AsyncWebClient and a real slack_bolt AsyncApp."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack_api import (
    FakeSlack,
    app_mention_event,
    block_actions_payload,
    block_texts,
    events_api_request,
    interactivity_request,
    message_event,
    post_signed,
    slash_command_payload,
    slash_command_request,
    url_verification_request,
)

CHANNEL = "C0SUPPORT1"
AGENT = "U0AGENT001"
CUSTOMER_AGENT = "U0AGENT002"


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as f:
        f.add_channel(CHANNEL, "support")
        f.add_user(AGENT, "alice", "Alice Agent", tz="Europe/Berlin", email="alice@example.com")
        f.add_user(CUSTOMER_AGENT, "bob", "Bob Agent")
        yield f


@pytest.fixture
def client(fake: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=fake.bot_token, base_url=fake.api_url, retry_handlers=[])


def make_app(fake: FakeSlack, **kwargs: Any) -> AsyncApp:
    return AsyncApp(
        signing_secret=fake.signing_secret,
        client=AsyncWebClient(token=fake.bot_token, base_url=fake.api_url),
        **kwargs,
    )


async def wait(event: asyncio.Event, timeout: float = 5.0) -> None:
    await asyncio.wait_for(event.wait(), timeout)


# ------------------------------------------------------------------ Web API


async def test_auth_test_and_auth_errors(fake: FakeSlack, client: AsyncWebClient) -> None:
    assert fake.api_url.startswith("http://127.0.0.1:") and fake.api_url.endswith("/api/")
    resp = await client.auth_test()
    assert resp["user_id"] == fake.bot_user_id
    assert resp["bot_id"] == fake.bot_id
    assert resp["team_id"] == fake.team_id
    assert resp.headers["X-OAuth-Scopes"]

    bad = AsyncWebClient(token="xoxb-nope", base_url=fake.api_url)
    with pytest.raises(SlackApiError) as err:
        await bad.auth_test()
    assert err.value.response.status_code == 200
    assert err.value.response["error"] == "invalid_auth"

    with pytest.raises(SlackApiError) as err:
        await client.api_call("chat.doesNotExist")
    assert err.value.response["error"] == "unknown_method"

    with pytest.raises(SlackApiError) as err:
        await AsyncWebClient(base_url=fake.api_url).auth_test()
    assert err.value.response["error"] == "not_authed"

    fake.revoke_token(fake.bot_token)
    with pytest.raises(SlackApiError) as err:
        await client.auth_test()
    assert err.value.response["error"] == "token_revoked"
    assert [c.error for c in fake.calls_to("auth.test")] == [None, "invalid_auth", "not_authed", "token_revoked"]


async def test_post_message_and_thread_reply(fake: FakeSlack, client: AsyncWebClient) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Ticket #1*"}}]
    first = await client.chat_postMessage(channel=CHANNEL, text="Ticket #1", blocks=blocks)
    assert first["channel"] == CHANNEL
    assert first["ts"].startswith("1700000000.") and len(first["ts"].split(".")[1]) == 6
    message = first["message"]
    assert message["type"] == "message" and message["text"] == "Ticket #1"
    assert message["user"] == fake.bot_user_id and message["bot_id"] == fake.bot_id
    assert message["blocks"] == blocks and message["ts"] == first["ts"]

    reply = await client.chat_postMessage(channel=CHANNEL, text="details", thread_ts=first["ts"])
    assert reply["message"]["thread_ts"] == first["ts"]
    assert float(reply["ts"]) > float(first["ts"])

    replies = await client.conversations_replies(channel=CHANNEL, ts=first["ts"])
    assert [m["text"] for m in replies["messages"]] == ["Ticket #1", "details"]
    assert replies["messages"][0]["reply_count"] == 1
    assert [m["text"] for m in fake.messages(CHANNEL)] == ["Ticket #1"]  # replies stay in the thread
    assert [m["text"] for m in fake.thread(CHANNEL, first["ts"])] == ["Ticket #1", "details"]
    assert block_texts(fake.messages(CHANNEL)[0]["blocks"]) == ["*Ticket #1*"]

    call = fake.calls_to("chat.postMessage")[0]
    assert call.params["blocks"] == blocks and call.token == fake.bot_token and call.ok

    link = await client.chat_getPermalink(channel=CHANNEL, message_ts=reply["ts"])
    assert link["permalink"].endswith(f"?thread_ts={first['ts']}&cid={CHANNEL}")

    info = await client.conversations_info(channel=CHANNEL)
    assert info["channel"]["name"] == "support"

    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel="C0UNKNOWN", text="x")
    assert err.value.response["error"] == "channel_not_found"


async def test_form_encoded_blocks_are_decoded_and_dm_by_user_id(fake: FakeSlack, client: AsyncWebClient) -> None:
    blocks = [{"type": "section", "text": {"type": "plain_text", "text": "hi"}}]
    resp = await client.api_call(
        "chat.postMessage", data={"channel": AGENT, "text": "hi", "blocks": json.dumps(blocks)}
    )
    assert resp["channel"] == fake.dm_channel(AGENT) and resp["channel"].startswith("D")
    assert fake.calls_to("chat.postMessage")[0].params["blocks"] == blocks
    assert fake.messages(AGENT)[0]["blocks"] == blocks


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
async def test_validation_errors(fake: FakeSlack, client: AsyncWebClient) -> None:
    async def error_of(**kwargs: Any) -> str:
        with pytest.raises(SlackApiError) as err:
            await client.chat_postMessage(channel=CHANNEL, **kwargs)
        return str(err.value.response["error"])

    assert await error_of(text="x" * 40_001) == "msg_too_long"
    assert await error_of(text="x", blocks=[{"type": "divider"}] * 51) == "invalid_blocks"
    assert await error_of(text="") == "no_text"
    await client.chat_postMessage(channel=CHANNEL, text="x" * 40_000, blocks=[{"type": "divider"}] * 50)
    assert len(fake.messages(CHANNEL)) == 1


async def test_chat_update_and_delete(fake: FakeSlack, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel=CHANNEL, text="status: open")
    updated = await client.chat_update(
        channel=CHANNEL, ts=posted["ts"], text="status: closed", blocks=[{"type": "divider"}]
    )
    assert updated["ts"] == posted["ts"] and updated["message"]["text"] == "status: closed"
    (message,) = fake.messages(CHANNEL)
    assert message["text"] == "status: closed" and message["blocks"] == [{"type": "divider"}]
    assert "edited" in message

    with pytest.raises(SlackApiError) as err:
        await client.chat_update(channel=CHANNEL, ts="1.000001", text="x")
    assert err.value.response["error"] == "message_not_found"

    theirs = fake.add_message(CHANNEL, AGENT, "agent wrote this")
    with pytest.raises(SlackApiError) as err:
        await client.chat_update(channel=CHANNEL, ts=theirs["ts"], text="x")
    assert err.value.response["error"] == "cant_update_message"

    await client.chat_delete(channel=CHANNEL, ts=posted["ts"])
    assert [m["text"] for m in fake.messages(CHANNEL)] == ["agent wrote this"]


async def test_post_ephemeral(fake: FakeSlack, client: AsyncWebClient) -> None:
    resp = await client.chat_postEphemeral(channel=CHANNEL, user=AGENT, text="only you can see this")
    assert resp["message_ts"]
    (eph,) = fake.ephemerals(AGENT)
    assert eph["channel"] == CHANNEL and eph["text"] == "only you can see this"
    assert eph["message_ts"] == resp["message_ts"]
    assert fake.ephemerals(CUSTOMER_AGENT) == []
    assert fake.messages(CHANNEL) == []


async def test_users_and_usergroups(fake: FakeSlack, client: AsyncWebClient) -> None:
    user = (await client.users_info(user=AGENT))["user"]
    assert user["real_name"] == "Alice Agent" and user["tz"] == "Europe/Berlin"
    assert user["is_bot"] is False and user["profile"]["email"] == "alice@example.com"
    assert isinstance(user["tz_offset"], int) and user["tz_label"]
    assert (await client.users_info(user=fake.bot_user_id))["user"]["is_bot"] is True
    with pytest.raises(SlackApiError) as err:
        await client.users_info(user="U0NOBODY")
    assert err.value.response["error"] == "user_not_found"
    assert (await client.users_lookupByEmail(email="alice@example.com"))["user"]["id"] == AGENT

    fake.add_usergroup("S0AGENTS01", "agents", [AGENT, CUSTOMER_AGENT])
    resp = await client.usergroups_users_list(usergroup="S0AGENTS01")
    assert resp["users"] == [AGENT, CUSTOMER_AGENT]
    with pytest.raises(SlackApiError) as err:
        await client.usergroups_users_list(usergroup="S0NONE")
    assert err.value.response["error"] == "no_such_subteam"


async def test_files_upload_v2_into_thread(fake: FakeSlack, client: AsyncWebClient) -> None:
    parent = await client.chat_postMessage(channel=CHANNEL, text="Ticket #7")
    resp = await client.files_upload_v2(
        channel=CHANNEL,
        thread_ts=parent["ts"],
        content=b"%PDF-1.4 fake invoice",
        filename="invoice.pdf",
        title="Invoice",
        initial_comment="customer attachment",
    )
    file_id = resp["file"]["id"]
    assert resp["file"]["title"] == "Invoice"
    assert fake.files[file_id].content == b"%PDF-1.4 fake invoice"
    assert [c.method for c in fake.calls] == [
        "chat.postMessage",
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]

    thread = fake.thread(CHANNEL, parent["ts"])
    assert len(thread) == 2
    shared = thread[1]
    assert shared["text"] == "customer attachment" and shared["thread_ts"] == parent["ts"]
    assert [f["id"] for f in shared["files"]] == [file_id]
    assert shared["files"][0]["mimetype"] == "application/pdf"

    # url_private serves the bytes to the bot token
    async with aiohttp.ClientSession() as session:
        url = shared["files"][0]["url_private"]
        async with session.get(url, headers={"Authorization": f"Bearer {fake.bot_token}"}) as r:
            assert await r.read() == b"%PDF-1.4 fake invoice"


async def test_views_and_triggers(fake: FakeSlack, client: AsyncWebClient) -> None:
    view = {
        "type": "modal",
        "callback_id": "close_ticket",
        "private_metadata": "ticket=7",
        "title": {"type": "plain_text", "text": "Close"},
        "blocks": [],
    }
    opened = await client.views_open(trigger_id="1.2.abc", view=view)
    view_id = opened["view"]["id"]
    assert fake.views[view_id]["callback_id"] == "close_ticket"
    with pytest.raises(SlackApiError) as err:
        await client.views_open(trigger_id="1.2.abc", view=view)
    assert err.value.response["error"] == "exchanged_trigger_id"
    fake.expire_trigger("9.9.old")
    with pytest.raises(SlackApiError) as err:
        await client.views_open(trigger_id="9.9.old", view=view)
    assert err.value.response["error"] == "expired_trigger_id"

    updated = await client.views_update(view_id=view_id, view={**view, "private_metadata": "ticket=8"})
    assert updated["view"]["id"] == view_id and fake.views[view_id]["private_metadata"] == "ticket=8"
    payload = fake.view_submission_for(view_id, AGENT, {"reason": {"input": "solved"}})
    assert payload["view"]["state"]["values"]["reason"]["input"]["value"] == "solved"
    assert payload["view"]["private_metadata"] == "ticket=8"


# ------------------------------------------------------------------ faults


async def test_429_is_surfaced_without_a_retry_handler(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.rate_limit_next("chat.postMessage", retry_after=7)
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel=CHANNEL, text="hello")
    assert err.value.response.status_code == 429
    assert err.value.response["error"] == "ratelimited"
    assert err.value.response.headers["Retry-After"] == "7"
    assert fake.messages(CHANNEL) == []
    # only the next call was limited
    await client.chat_postMessage(channel=CHANNEL, text="hello")
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [429, 200]


async def test_rate_limit_retry_handler_retries(fake: FakeSlack) -> None:
    client = AsyncWebClient(
        token=fake.bot_token,
        base_url=fake.api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
    )
    fake.rate_limit_next("chat.postMessage", retry_after=0, count=1)
    resp = await client.chat_postMessage(channel=CHANNEL, text="eventually")
    assert resp["ok"]
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [429, 200]
    assert [m["text"] for m in fake.messages(CHANNEL)] == ["eventually"]


async def test_fail_next_and_outage(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.fail_next("chat.postMessage", status=503)
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel=CHANNEL, text="x")
    assert err.value.response.status_code == 503

    fake.fail_next("*", drop=True)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await client.auth_test()
    assert fake.calls[-1].status == 0 and fake.calls[-1].response is None

    fake.outage = "error"
    with pytest.raises(SlackApiError) as err:
        await client.users_info(user=AGENT)
    assert err.value.response.status_code == 503
    fake.outage = "drop"
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await client.users_info(user=AGENT)
    fake.outage = None
    assert (await client.users_info(user=AGENT))["ok"]


async def test_default_client_retries_a_dropped_connection_once(fake: FakeSlack) -> None:
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)  # default retry handlers
    fake.fail_next("chat.postMessage", drop=True)
    resp = await client.chat_postMessage(channel=CHANNEL, text="after reconnect")
    assert resp["ok"]
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [0, 200]


async def test_wait_for_call_and_timeouts(fake: FakeSlack, client: AsyncWebClient) -> None:
    mark = len(fake.calls)
    task = asyncio.create_task(client.chat_postMessage(channel=CHANNEL, text="later"))
    call = await fake.wait_for_call("chat.postMessage", lambda c: c.params.get("text") == "later", since=mark)
    await task
    assert call.ok and call.response is not None and call.response["ts"]
    with pytest.raises(TimeoutError, match="views.open"):
        await fake.wait_for_call("views.open", timeout=0.05)


# ------------------------------------------------------------------ Bolt, HTTP mode


def test_signed_requests_verify_with_slack_sdk() -> None:
    secret = "s3cr3t"
    verifier = SignatureVerifier(secret)
    for req in (
        events_api_request(secret, message_event(AGENT, "hi", CHANNEL)),
        interactivity_request(secret, block_actions_payload(AGENT, "close", "7", CHANNEL, "1.000100")),
        slash_command_request(secret, "/ticket", "close 7", AGENT, CHANNEL),
        url_verification_request(secret, "abc"),
    ):
        assert verifier.is_valid_request(req.body, req.headers)
        assert not SignatureVerifier("other").is_valid_request(req.body, req.headers)
    retry = events_api_request(secret, {"type": "app_mention"}, retry_num=1, retry_reason="http_timeout")
    assert retry.headers["X-Slack-Retry-Num"] == "1" and retry.headers["X-Slack-Retry-Reason"] == "http_timeout"


async def test_bolt_dispatch_of_signed_event_and_forged_signature(fake: FakeSlack) -> None:
    app = make_app(fake)
    seen: list[dict[str, Any]] = []
    handled = asyncio.Event()

    @app.event("message")
    async def on_message(event: dict[str, Any], say: Any, request: AsyncBoltRequest) -> None:
        seen.append({"event": event, "retry": request.headers.get("x-slack-retry-num")})
        await say(text=f"got: {event['text']}", thread_ts=event["ts"])
        handled.set()

    event = message_event(AGENT, "my parcel is late", CHANNEL)
    req = events_api_request(fake.signing_secret, event, event_id="Ev0000001")
    resp = await app.async_dispatch(AsyncBoltRequest(body=req.body, headers=req.headers))
    assert resp.status == 200
    await wait(handled)
    assert seen[0]["event"]["text"] == "my parcel is late" and seen[0]["retry"] is None
    reply = await fake.wait_for_message(CHANNEL, thread_ts=event["ts"])
    assert reply["text"] == "got: my parcel is late"
    assert fake.calls_to("auth.test"), "bolt authorizes with auth.test before running listeners"

    # Slack's redelivery of the same event: bolt runs the listener again, retry headers visible
    handled.clear()
    retry = events_api_request(
        fake.signing_secret, event, event_id="Ev0000001", retry_num=1, retry_reason="http_timeout"
    )
    assert (await app.async_dispatch(retry.to_bolt_request())).status == 200
    await wait(handled)
    assert seen[1]["retry"] == ["1"]

    forged = events_api_request("wrong-secret", event)
    assert (await app.async_dispatch(forged.to_bolt_request())).status == 401
    tampered = req.with_signature("v0=" + "0" * 64)
    assert (await app.async_dispatch(tampered.to_bolt_request())).status == 401
    stale = events_api_request(fake.signing_secret, event, timestamp=1_000_000_000)
    assert (await app.async_dispatch(stale.to_bolt_request())).status == 401
    assert len(seen) == 2


async def test_bolt_over_http_url_verification_and_block_actions(fake: FakeSlack) -> None:
    app = make_app(fake)
    clicked = asyncio.Event()

    @app.action("close_ticket")
    async def on_close(ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        await respond(replace_original=True, text=f"closed by <@{body['user']['id']}>")
        clicked.set()

    runner = web.AppRunner(app.web_app(path="/slack/events"))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
        status, text, _ = await post_signed(url, url_verification_request(fake.signing_secret, "chal-123"))
        assert status == 200 and json.loads(text) == {"challenge": "chal-123"}

        posted = await app.client.chat_postMessage(channel=CHANNEL, text="Ticket #9 open")
        payload = block_actions_payload(
            AGENT,
            "close_ticket",
            "9",
            CHANNEL,
            posted["ts"],
            message=fake.message(CHANNEL, posted["ts"]),
            response_url=fake.response_url(CHANNEL, AGENT, posted["ts"]),
        )
        status, _, _ = await post_signed(url, interactivity_request(fake.signing_secret, payload))
        assert status == 200
        await wait(clicked)
        await fake.wait_until(lambda: fake.response_url_posts, description="respond()")
        assert fake.message(CHANNEL, posted["ts"])["text"] == f"closed by <@{AGENT}>"

        status, _, _ = await post_signed(url, interactivity_request("forged", payload))
        assert status == 401
    finally:
        await runner.cleanup()


async def test_bolt_slash_command_ack_body(fake: FakeSlack) -> None:
    app = make_app(fake)

    @app.command("/ticket")
    async def on_ticket(ack: Any, command: dict[str, Any]) -> None:
        await ack(f"ticket {command['text']} noted")

    req = slash_command_request(fake.signing_secret, "/ticket", "close 7", AGENT, CHANNEL)
    resp = await app.async_dispatch(req.to_bolt_request())
    assert resp.status == 200 and resp.body == "ticket close 7 noted"


# ------------------------------------------------------------------ Bolt, Socket Mode


async def test_socket_mode_handler_receives_event_acks_and_closes(fake: FakeSlack) -> None:
    app = make_app(fake)
    got = asyncio.Event()
    received: list[dict[str, Any]] = []

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any], request: AsyncBoltRequest) -> None:
        received.append({"event": event, "headers": dict(request.headers)})
        got.set()

    @app.command("/ticket")
    async def on_ticket(ack: Any, command: dict[str, Any]) -> None:
        await ack(f"noted: {command['text']}")

    @app.action("take_ticket")
    async def on_take(ack: Any) -> None:
        await ack()

    handler = AsyncSocketModeHandler(app, app_token=fake.app_token)
    await handler.connect_async()
    try:
        await fake.wait_for_socket_connection()
        assert fake.calls_to("apps.connections.open")[0].token == fake.app_token

        event = app_mention_event(AGENT, f"<@{fake.bot_user_id}> help", CHANNEL)
        envelope_id = await fake.socket_send_event(event)
        ack = await fake.wait_for_ack(envelope_id)
        assert ack == {"envelope_id": envelope_id}
        await wait(got)
        assert received[0]["event"]["text"].endswith("help")
        # bolt turns the envelope's retry_attempt=0 / retry_reason="" into headers
        assert received[0]["headers"]["x-slack-retry-num"] == ["0"]

        command_envelope = await fake.socket_send_slash_command(
            slash_command_payload("/ticket", "close 7", AGENT, CHANNEL)
        )
        assert (await fake.wait_for_ack(command_envelope))["payload"] == {"text": "noted: close 7"}

        clicked = await fake.socket_send_interactive(
            block_actions_payload(AGENT, "take_ticket", "7", CHANNEL, fake.next_ts())
        )
        assert await fake.wait_for_ack(clicked) == {"envelope_id": clicked}
    finally:
        await handler.close_async()
    await fake.wait_until(lambda: fake.socket_connection_count == 0, description="socket closed")


async def test_socket_mode_reconnects_on_disconnect_message(fake: FakeSlack) -> None:
    app = make_app(fake)
    got = asyncio.Event()

    @app.event("app_mention")
    async def on_mention() -> None:
        got.set()

    handler = AsyncSocketModeHandler(app, app_token=fake.app_token)
    await handler.connect_async()
    try:
        await fake.wait_for_socket_connection()
        await fake.socket_disconnect("refresh_requested")
        await fake.wait_until(
            lambda: fake.socket_connects == 2 and fake.socket_connection_count == 1, description="reconnect"
        )
        assert len(fake.calls_to("apps.connections.open")) == 2
        envelope_id = await fake.socket_send_event(app_mention_event(AGENT, "hi", CHANNEL))
        await fake.wait_for_ack(envelope_id)
        await wait(got)
    finally:
        await handler.close_async()
    await fake.wait_until(lambda: fake.socket_connection_count == 0, description="socket closed")


async def test_apps_connections_open_needs_app_token(fake: FakeSlack, client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as err:
        await client.apps_connections_open(app_token=fake.bot_token)
    assert err.value.response["error"] == "not_allowed_token_type"
    url = (await client.apps_connections_open(app_token=fake.app_token))["url"]
    assert url.startswith(f"ws://127.0.0.1:{fake.port}/socket-mode?")
    with pytest.raises(SlackApiError) as err:
        await AsyncWebClient(token=fake.app_token, base_url=fake.api_url).chat_postMessage(channel=CHANNEL, text="x")
    assert err.value.response["error"] == "not_allowed_token_type"


async def test_socket_mode_unhandled_envelope_is_not_acked(fake: FakeSlack) -> None:
    app = make_app(fake, raise_error_for_unhandled_request=True)
    unhandled_seen = asyncio.Event()

    @app.error
    async def on_error(error: Exception) -> None:
        unhandled_seen.set()

    @app.event("app_mention")
    async def on_mention() -> None:
        pass

    handler = AsyncSocketModeHandler(app, app_token=fake.app_token)
    await handler.connect_async()
    try:
        unhandled = await fake.socket_send_event({"type": "reaction_added", "user": AGENT, "reaction": "eyes"})
        await wait(unhandled_seen)  # bolt answered 404 right after this handler returned
        handled = await fake.socket_send_event(app_mention_event(AGENT, "hi", CHANNEL))
        await fake.wait_for_ack(handled)
        assert unhandled not in fake.socket_acks  # Slack would redeliver it
    finally:
        await handler.close_async()
    await fake.wait_until(lambda: fake.socket_connection_count == 0, description="socket closed")


# ------------------------------------------------------------------ bolt quirks the adapter must live with


async def test_bolt_http_slash_command_text_containing_payload_is_parsed_as_empty(fake: FakeSlack) -> None:
    """slack_bolt's form parser looks for the substring "payload" in the raw body (HTTP mode only)."""
    ok = slash_command_request(fake.signing_secret, "/ticket", "close 7", AGENT, CHANNEL).to_bolt_request()
    assert ok.body["text"] == "close 7"
    broken = slash_command_request(fake.signing_secret, "/ticket", "show payload", AGENT, CHANNEL).to_bolt_request()
    assert broken.body == {}


async def test_bolt_drops_events_when_first_auth_test_fails(fake: FakeSlack) -> None:
    """AsyncSingleTeamAuthorization answers 200 + an apology text when auth.test fails: no listener runs."""
    app = make_app(fake)
    ran = asyncio.Event()

    @app.event("app_mention")
    async def on_mention() -> None:
        ran.set()

    fake.outage = "error"
    req = events_api_request(fake.signing_secret, app_mention_event(AGENT, "hi", CHANNEL))
    resp = await app.async_dispatch(req.to_bolt_request())
    assert resp.status == 200 and "apologize" in resp.body
    assert not ran.is_set()

    fake.outage = None
    req = events_api_request(fake.signing_secret, app_mention_event(AGENT, "hi", CHANNEL))
    resp = await app.async_dispatch(req.to_bolt_request())
    assert resp.status == 200
    await wait(ran)
    # the successful auth.test result is cached: later outages no longer block dispatch
    fake.outage = "error"
    ran.clear()
    req = events_api_request(fake.signing_secret, app_mention_event(AGENT, "again", CHANNEL))
    resp = await app.async_dispatch(req.to_bolt_request())
    assert resp.status == 200
    await wait(ran)
    assert len(fake.calls_to("auth.test")) == 2


async def test_latency_and_pagination(fake: FakeSlack, client: AsyncWebClient) -> None:
    parent = await client.chat_postMessage(channel=CHANNEL, text="p")
    for i in range(4):
        await client.chat_postMessage(channel=CHANNEL, text=f"r{i}", thread_ts=parent["ts"])
    page1 = await client.conversations_replies(channel=CHANNEL, ts=parent["ts"], limit=3)
    assert [m["text"] for m in page1["messages"]] == ["p", "r0", "r1"] and page1["has_more"]
    cursor = page1["response_metadata"]["next_cursor"]
    page2 = await client.conversations_replies(channel=CHANNEL, ts=parent["ts"], limit=3, cursor=cursor)
    assert [m["text"] for m in page2["messages"]] == ["r2", "r3"] and not page2["has_more"]

    fake.set_latency(0.05, "auth.test")
    loop = asyncio.get_running_loop()
    started = loop.time()
    await client.auth_test()
    assert loop.time() - started >= 0.05
