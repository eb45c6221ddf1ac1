"""An emulated Slack platform on 127.0.0.1 for tests and benchmarks.

`FakeSlack` is an aiohttp server that answers the Slack Web API the way Slack
does (HTTP 200 + ``{"ok": ...}`` JSON, tokens in ``Authorization: Bearer``,
form-urlencoded, query-string or JSON arguments), keeps state (channels,
messages, threads, ephemerals, users, user groups, views, files), records every
call, can inject faults (429 with ``Retry-After``, 5xx, dropped connections,
outages, latency) and serves a Socket Mode WebSocket endpoint from which the
test pushes envelopes and on which it collects the client's acks.

Module-level helpers build what Slack *sends* to an app in HTTP mode: the exact
body and signed headers of Events API, interactivity, slash command and
url_verification requests (`SignedRequest`), and realistic payloads
(`message_event`, `block_actions_payload`, `view_submission_payload`...).

Usage::

    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient
    from tests.fakes.slack_api import FakeSlack, events_api_request, message_event

    async def test_reply() -> None:
        async with FakeSlack() as fake:
            fake.add_channel("C0SUPPORT", "support")
            fake.add_user("U0AGENT", "agent", "Agent Smith", tz="Europe/Berlin")

            client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
            posted = await client.chat_postMessage(channel="C0SUPPORT", text="New ticket #1")
            await client.chat_postMessage(channel="C0SUPPORT", thread_ts=posted["ts"], text="details")
            assert [m["text"] for m in fake.thread("C0SUPPORT", posted["ts"])] == ["New ticket #1", "details"]

            # HTTP mode: a signed Events API request dispatched into a real Bolt app
            app = AsyncApp(signing_secret=fake.signing_secret, client=client)
            req = events_api_request(fake.signing_secret, message_event("U0AGENT", "hi", "C0SUPPORT"))
            resp = await app.async_dispatch(req.to_bolt_request())

            # Socket Mode: AsyncSocketModeHandler(app, app_token=fake.app_token); then
            #   envelope_id = await fake.socket_send_event(message_event(...))
            #   ack = await fake.wait_for_ack(envelope_id)

Nothing here sleeps to wait for something: ``wait_for_call``, ``wait_for_ack``,
``wait_for_message`` and ``wait_until`` wake up on every state change.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import itertools
import json
import mimetypes
import secrets
import time as _time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar
from urllib.parse import parse_qsl, urlencode

import aiohttp
from aiohttp import WSCloseCode, WSMsgType, web

if TYPE_CHECKING:
    from slack_bolt.request.async_request import AsyncBoltRequest

__all__ = [
    "DEFAULT_APP_ID",
    "DEFAULT_BOT_ID",
    "DEFAULT_BOT_USER_ID",
    "DEFAULT_TEAM_DOMAIN",
    "DEFAULT_TEAM_ID",
    "DEFAULT_VERIFICATION_TOKEN",
    "Call",
    "FakeSlack",
    "ResponseUrlPost",
    "SignedRequest",
    "SlackError",
    "UploadedFile",
    "app_mention_event",
    "block_actions_payload",
    "block_texts",
    "events_api_body",
    "events_api_request",
    "interactivity_request",
    "message_event",
    "post_signed",
    "sign",
    "slash_command_payload",
    "slash_command_request",
    "url_verification_request",
    "view_submission_payload",
]

DEFAULT_TEAM_ID = "T0FAKE0001"
DEFAULT_TEAM_DOMAIN = "fake-workspace"
DEFAULT_TEAM_NAME = "Fake Workspace"
DEFAULT_APP_ID = "A0FAKE0001"
DEFAULT_BOT_USER_ID = "U0FAKEBOT1"
DEFAULT_BOT_ID = "B0FAKEBOT1"
DEFAULT_BOT_NAME = "complaint-bot"
DEFAULT_BOT_TOKEN = "xoxb-0000000001-fake-bot-token"
DEFAULT_APP_TOKEN = "xapp-1-A0FAKE0001-fake-app-token"
DEFAULT_SIGNING_SECRET = "fake-signing-secret"
DEFAULT_VERIFICATION_TOKEN = "fake-verification-token"
DEFAULT_BOT_SCOPES = (
    "chat:write,chat:write.public,channels:history,groups:history,im:history,im:write,"
    "users:read,users:read.email,usergroups:read,files:read,files:write,reactions:write,commands"
)

#: Slack truncates nothing: text above this is refused with ``msg_too_long``.
MAX_TEXT_LENGTH = 40_000
#: A message may carry at most this many blocks (``invalid_blocks`` above).
MAX_MESSAGE_BLOCKS = 50
#: A modal / home view may carry at most this many blocks.
MAX_VIEW_BLOCKS = 100

#: Arguments that slack_sdk sends JSON-encoded inside form / query parameters.
_JSON_ARGUMENTS = frozenset({"blocks", "attachments", "view", "files", "metadata", "unfurls"})
#: An address that refuses connections at once: default ``response_url`` of the module helpers,
#: so a bot answering a payload built without a `FakeSlack` never reaches the internet.
_UNREACHABLE_RESPONSE_URL = "http://127.0.0.1:1/response-url/unbound"

T = TypeVar("T")
OutageMode = Literal["error", "drop"]


class SlackError(Exception):
    """Raised inside a method handler: becomes ``{"ok": false, "error": error, **extra}``."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


@dataclass
class Call:
    """One request the fake received on ``/api/<method>``.

    ``params`` merges query string and body (form or JSON); ``blocks``, ``attachments``,
    ``view``, ``files``, ``metadata`` sent as JSON strings are decoded. ``token`` comes from
    the ``Authorization: Bearer`` header (or a ``token`` argument). ``time`` is a
    `time.monotonic` arrival timestamp. ``status`` is the HTTP status returned (0 when the
    connection was dropped) and ``response`` the JSON body (None when dropped).
    """

    method: str
    params: dict[str, Any]
    token: str | None
    http_method: str
    time: float
    status: int = 200
    response: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """True when Slack would have answered ``{"ok": true}``."""
        return self.status == 200 and bool(self.response and self.response.get("ok"))

    @property
    def error(self) -> str | None:
        """The ``error`` field of the answer, if any."""
        return None if self.response is None else self.response.get("error")


@dataclass
class ResponseUrlPost:
    """A POST the app made to a ``response_url`` issued by `FakeSlack.response_url`."""

    url: str
    body: dict[str, Any]
    channel: str | None
    user: str | None
    message_ts: str | None
    time: float


@dataclass
class UploadedFile:
    """A file known to the fake: uploaded through the v2 flow or added by the test."""

    id: str
    filename: str
    title: str
    length: int
    user: str
    created: int
    content: bytes | None = None
    alt_txt: str | None = None
    snippet_type: str | None = None
    completed: bool = False
    shares: list[tuple[str, str, str | None]] = field(default_factory=list)  # (channel, ts, thread_ts)

    def to_slack(self, base_url: str, team_domain: str) -> dict[str, Any]:
        """The file object as Slack returns it (``files.info``, message ``files``)."""
        mimetype = mimetypes.guess_type(self.filename)[0] or "application/octet-stream"
        ext = self.filename.rsplit(".", 1)[-1].lower() if "." in self.filename else "binary"
        shares: dict[str, dict[str, list[dict[str, str]]]] = {}
        for channel, ts, thread_ts in self.shares:
            share = {"ts": ts, **({"thread_ts": thread_ts} if thread_ts else {})}
            shares.setdefault("public", {}).setdefault(channel, []).append(share)
        return {
            "id": self.id,
            "created": self.created,
            "timestamp": self.created,
            "name": self.filename,
            "title": self.title,
            "mimetype": mimetype,
            "filetype": ext,
            "pretty_type": ext.upper(),
            "user": self.user,
            "size": len(self.content) if self.content is not None else self.length,
            "mode": "hosted",
            "is_external": False,
            "is_public": True,
            "url_private": f"{base_url}/files/{self.id}/{self.filename}",
            "url_private_download": f"{base_url}/files/{self.id}/download/{self.filename}",
            "permalink": f"https://{team_domain}.slack.com/files/{self.user}/{self.id}/{self.filename}",
            "channels": sorted({c for c, _, _ in self.shares}),
            "shares": shares,
            **({"alt_txt": self.alt_txt} if self.alt_txt else {}),
        }


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _as_bool(value: Any) -> bool:
    return value is True or value == 1 or (isinstance(value, str) and value.lower() in ("1", "true"))


def _tz_offset(tz: str) -> tuple[int, str]:
    try:
        from zoneinfo import ZoneInfo

        now = datetime.now(ZoneInfo(tz))
        offset = now.utcoffset()
        return int(offset.total_seconds()) if offset else 0, now.tzname() or tz
    except Exception:  # unknown zone or no tz database: Slack would say UTC
        return 0, tz


def _random_trigger_id() -> str:
    return f"{secrets.randbelow(10**13)}.{secrets.randbelow(10**13)}.{secrets.token_hex(16)}"


def _new_event_id() -> str:
    return "Ev" + secrets.token_hex(5).upper()


def _now_ts() -> str:
    return f"{_time.time():.6f}"


# --------------------------------------------------------------------------------------------
# The fake platform
# --------------------------------------------------------------------------------------------


class FakeSlack:
    """Slack Web API + Socket Mode emulator bound to 127.0.0.1 on an ephemeral port.

    Use as ``async with FakeSlack() as fake:`` or ``await fake.start()`` / ``await fake.stop()``.
    Point clients at it with ``AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)``;
    Socket Mode handlers need ``app_token=fake.app_token`` and a web client on `api_url`.

    State is created by the test (`add_channel`, `add_user`, `add_usergroup`, `add_message`,
    `add_file`) and by the app's calls; it is read back with `messages`, `thread`,
    `ephemerals`, `calls`, `calls_to`, `views`, `files`, `response_url_posts`.
    """

    def __init__(
        self,
        *,
        bot_token: str = DEFAULT_BOT_TOKEN,
        app_token: str = DEFAULT_APP_TOKEN,
        signing_secret: str = DEFAULT_SIGNING_SECRET,
        team_id: str = DEFAULT_TEAM_ID,
        team_domain: str = DEFAULT_TEAM_DOMAIN,
        team_name: str = DEFAULT_TEAM_NAME,
        app_id: str = DEFAULT_APP_ID,
        bot_user_id: str = DEFAULT_BOT_USER_ID,
        bot_id: str = DEFAULT_BOT_ID,
        bot_name: str = DEFAULT_BOT_NAME,
        auto_create_channels: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """Configure the workspace; nothing listens before `start`.

        ``auto_create_channels``: any ``C``/``G``/``D`` id the app posts to becomes a known
        channel (otherwise unknown ids answer ``channel_not_found``).
        """
        self.bot_token = bot_token
        self.app_token = app_token
        self.signing_secret = signing_secret
        self.team_id = team_id
        self.team_domain = team_domain
        self.team_name = team_name
        self.app_id = app_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.bot_name = bot_name
        self.bot_scopes = DEFAULT_BOT_SCOPES
        self.auto_create_channels = auto_create_channels
        self._host = host
        self._port = port

        # records
        self.calls: list[Call] = []
        self.socket_envelopes: list[dict[str, Any]] = []
        self.socket_received: list[dict[str, Any]] = []
        self.socket_acks: dict[str, dict[str, Any]] = {}
        self.socket_connects = 0
        self.response_url_posts: list[ResponseUrlPost] = []

        # workspace state
        self._channels: dict[str, dict[str, Any]] = {}
        self._users: dict[str, dict[str, Any]] = {}
        self._usergroups: dict[str, dict[str, Any]] = {}
        self._dms: dict[str, str] = {}  # user id -> D... channel id
        self._history: dict[str, list[dict[str, Any]]] = {}  # channel -> top-level messages
        self._replies: dict[tuple[str, str], list[dict[str, Any]]] = {}  # (channel, thread_ts)
        self._by_ts: dict[tuple[str, str], dict[str, Any]] = {}  # (channel, ts) -> message
        self._ephemerals: list[dict[str, Any]] = []
        self.views: dict[str, dict[str, Any]] = {}
        self.home_views: dict[str, dict[str, Any]] = {}
        self.files: dict[str, UploadedFile] = {}
        self._response_urls: dict[str, dict[str, str | None]] = {}
        self._used_triggers: set[str] = set()
        self._expired_triggers: set[str] = set()
        self._revoked_tokens: set[str] = set()

        # faults
        self._rate_limits: dict[str, list[int]] = {}
        self._failures: dict[str, list[tuple[int, bool, str | None]]] = {}
        self._outage: OutageMode | None = None
        self.outage_status = 503
        self.latency = 0.0
        self._method_latency: dict[str, float] = {}

        # machinery
        self._ts_counter = itertools.count(1)
        self._id_counter = itertools.count(1)
        self._tickets: set[str] = set()
        self._sockets: list[web.WebSocketResponse] = []
        self._changed: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self.base_url = ""

        self._methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "api.test": self._api_test,
            "auth.test": self._auth_test,
            "apps.connections.open": self._apps_connections_open,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.info": self._conversations_info,
            "conversations.open": self._conversations_open,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "usergroups.list": self._usergroups_list,
            "usergroups.users.list": self._usergroups_users_list,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "pins.add": self._pins_add,
            "pins.remove": self._pins_remove,
            "reactions.add": self._reactions_add,
            "reactions.remove": self._reactions_remove,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
            "files.info": self._files_info,
        }
        self.add_user(bot_user_id, bot_name, bot_name, is_bot=True)

    # ---------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Bind 127.0.0.1 on an ephemeral port (unless one was given) and serve."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/upload/v1/{file_id}", self._handle_upload)
        app.router.add_get("/files/{file_id}/{tail:.*}", self._handle_file_download)
        app.router.add_post("/response-url/{url_id}", self._handle_response_url)
        app.router.add_get("/socket-mode", self._handle_socket)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self._port = port
        self.base_url = f"http://{host}:{port}"

    async def stop(self) -> None:
        """Close the Socket Mode connections (close code 1001) and stop serving.

        Close Socket Mode handlers first (``await handler.close_async()``): a client still
        running auto-reconnects on the close frame and then logs connection errors forever.
        """
        for ws in list(self._sockets):
            await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def api_url(self) -> str:
        """``http://127.0.0.1:PORT/api/``: the ``base_url`` for slack_sdk clients."""
        return f"{self.base_url}/api/"

    @property
    def port(self) -> int:
        """The bound TCP port (after `start`)."""
        return self._port

    # ---------------------------------------------------------------- workspace setup

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        is_private: bool = False,
        is_member: bool = True,
        topic: str = "",
        purpose: str = "",
    ) -> dict[str, Any]:
        """Register a channel; ``is_member=False`` makes posts answer ``not_in_channel``."""
        channel = {
            "id": channel_id,
            "name": name,
            "name_normalized": name,
            "is_channel": not is_private,
            "is_group": False,
            "is_im": False,
            "is_mpim": False,
            "is_private": is_private,
            "is_archived": False,
            "is_general": False,
            "is_shared": False,
            "is_ext_shared": False,
            "is_org_shared": False,
            "is_member": is_member,
            "created": int(_time.time()),
            "creator": "",
            "context_team_id": self.team_id,
            "topic": {"value": topic, "creator": "", "last_set": 0},
            "purpose": {"value": purpose, "creator": "", "last_set": 0},
            "previous_names": [],
        }
        self._channels[channel_id] = channel
        self._history.setdefault(channel_id, [])
        return channel

    def add_user(
        self,
        user_id: str,
        name: str,
        real_name: str | None = None,
        is_bot: bool = False,
        tz: str = "UTC",
        *,
        email: str | None = None,
        display_name: str | None = None,
        is_admin: bool = False,
        deleted: bool = False,
    ) -> dict[str, Any]:
        """Register a user (what ``users.info`` returns); returns the Slack user object."""
        real = real_name if real_name is not None else name
        offset, label = _tz_offset(tz)
        profile: dict[str, Any] = {
            "real_name": real,
            "real_name_normalized": real,
            "display_name": display_name if display_name is not None else name,
            "display_name_normalized": display_name if display_name is not None else name,
            "team": self.team_id,
            "image_48": f"https://avatars.invalid/{user_id}_48.png",
        }
        if email:
            profile["email"] = email
        if is_bot and user_id == self.bot_user_id:
            profile["bot_id"] = self.bot_id
        user = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "real_name": real,
            "deleted": deleted,
            "tz": tz,
            "tz_label": label,
            "tz_offset": offset,
            "is_bot": is_bot,
            "is_app_user": False,
            "is_admin": is_admin,
            "is_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "updated": int(_time.time()),
            "profile": profile,
        }
        self._users[user_id] = user
        return user

    def add_usergroup(
        self, usergroup_id: str, handle: str, users: Sequence[str], *, name: str | None = None
    ) -> dict[str, Any]:
        """Register a user group (``S...``) with its member ids."""
        group = {
            "id": usergroup_id,
            "team_id": self.team_id,
            "is_usergroup": True,
            "name": name or handle,
            "handle": handle,
            "description": "",
            "date_delete": 0,
            "users": list(users),
            "user_count": len(users),
        }
        self._usergroups[usergroup_id] = group
        return group

    def dm_channel(self, user_id: str) -> str:
        """The id of the bot's DM (``D...``) with a user, created on first use."""
        if user_id not in self._dms:
            channel_id = self._new_id("D")
            self._dms[user_id] = channel_id
            self._channels[channel_id] = {
                "id": channel_id,
                "is_im": True,
                "is_channel": False,
                "is_group": False,
                "is_mpim": False,
                "is_private": True,
                "is_archived": False,
                "is_org_shared": False,
                "is_user_deleted": False,
                "is_member": True,
                "user": user_id,
                "created": int(_time.time()),
                "context_team_id": self.team_id,
            }
            self._history.setdefault(channel_id, [])
        return self._dms[user_id]

    def add_message(
        self,
        channel: str,
        user: str,
        text: str,
        *,
        ts: str | None = None,
        thread_ts: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
        files: list[dict[str, Any]] | None = None,
        bot_id: str | None = None,
    ) -> dict[str, Any]:
        """Store a message written by someone else (e.g. an agent) as Slack would have it.

        Useful so that ``conversations.replies``/``chat.getPermalink`` know it; send the
        matching event yourself with ``message_event(user, text, channel, msg["ts"])``.
        """
        channel_id = self._resolve_channel(channel)
        message: dict[str, Any] = {
            "type": "message",
            "user": user,
            "text": text,
            "ts": ts or self.next_ts(),
            "team": self.team_id,
            "client_msg_id": str(uuid.uuid4()),
            "blocks": blocks or [],
        }
        if files:
            message["files"] = files
            message["upload"] = False
        if bot_id:
            message["bot_id"] = bot_id
        return copy.deepcopy(self._store_message(channel_id, message, thread_ts))

    def add_file(self, filename: str, content: bytes, *, user: str, title: str | None = None) -> dict[str, Any]:
        """Create a file (as if a user uploaded it); returns its Slack file object.

        ``url_private`` serves the bytes to requests bearing a valid token.
        """
        f = UploadedFile(
            id=self._new_id("F"),
            filename=filename,
            title=title or filename,
            length=len(content),
            user=user,
            created=int(_time.time()),
            content=content,
            completed=True,
        )
        self.files[f.id] = f
        return f.to_slack(self.base_url, self.team_domain)

    def revoke_token(self, token: str) -> None:
        """Make every later call with this token answer ``token_revoked``."""
        self._revoked_tokens.add(token)

    def expire_trigger(self, trigger_id: str) -> None:
        """Make ``views.open``/``views.push`` with this trigger answer ``expired_trigger_id``."""
        self._expired_triggers.add(trigger_id)

    def next_ts(self) -> str:
        """A fresh message timestamp: unique, increasing, ``"1700000000.000100"`` format."""
        micros = 1_700_000_000_000_000 + next(self._ts_counter) * 100
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def response_url(
        self,
        channel: str | None,
        user: str | None,
        message_ts: str | None = None,
    ) -> str:
        """Issue a ``response_url`` served by the fake, bound to a channel/user/message.

        POSTs to it are recorded in `response_url_posts` and applied: ``delete_original`` /
        ``replace_original`` act on the bound message, ``response_type="in_channel"`` posts a
        new message (honouring ``thread_ts``), anything else becomes an ephemeral to ``user``.
        """
        url_id = secrets.token_hex(8)
        self._response_urls[url_id] = {"channel": channel, "user": user, "message_ts": message_ts}
        return f"{self.base_url}/response-url/{url_id}"

    # ---------------------------------------------------------------- inspection

    def calls_to(self, method: str) -> list[Call]:
        """Every recorded call to ``method`` (failed ones included), oldest first."""
        return [c for c in self.calls if c.method == method]

    def clear_calls(self) -> None:
        """Forget recorded calls (state is kept)."""
        self.calls.clear()

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Top-level messages of a channel (id, ``#name`` or user id for the DM), oldest first.

        Thread replies are not included unless posted with ``reply_broadcast``.
        """
        channel_id = self._lookup_channel(channel)
        if channel_id is None:
            return []
        return copy.deepcopy(self._history.get(channel_id, []))

    def thread(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """Parent (when known) followed by the replies, as ``conversations.replies`` orders them."""
        channel_id = self._lookup_channel(channel)
        if channel_id is None:
            return []
        parent = self._by_ts.get((channel_id, ts))
        if parent is not None and parent.get("thread_ts") not in (None, ts):
            ts = parent["thread_ts"]
            parent = self._by_ts.get((channel_id, ts))
        out = [parent] if parent is not None else []
        return copy.deepcopy(out + self._replies.get((channel_id, ts), []))

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """One message (top-level or reply) by channel and ts."""
        channel_id = self._lookup_channel(channel)
        found = self._by_ts.get((channel_id or "", ts))
        return copy.deepcopy(found) if found is not None else None

    def ephemerals(self, user: str | None = None) -> list[dict[str, Any]]:
        """Ephemeral messages posted (``chat.postEphemeral`` and ephemeral response_url posts).

        Each is ``{"channel", "user", "text", "blocks", "attachments", "thread_ts", "message_ts"}``.
        """
        return copy.deepcopy([e for e in self._ephemerals if user is None or e["user"] == user])

    @property
    def socket_connection_count(self) -> int:
        """How many Socket Mode connections are open now."""
        return len([ws for ws in self._sockets if not ws.closed])

    # ---------------------------------------------------------------- waiting

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    async def wait_until(
        self, condition: Callable[[], T], timeout: float = 5.0, description: str | None = None
    ) -> T:
        """Wait until ``condition()`` is truthy (re-checked on every change); return its value.

        Raises `TimeoutError` naming ``description`` and the last calls after ``timeout``.
        """
        try:
            async with asyncio.timeout(timeout):
                while True:
                    value = condition()
                    if value:
                        return value
                    if self._changed is None:
                        self._changed = asyncio.Event()
                    await self._changed.wait()
        except TimeoutError:
            recent = ", ".join(f"{c.method}->{c.status}/{c.error or 'ok'}" for c in self.calls[-8:])
            raise TimeoutError(
                f"FakeSlack: {description or 'condition'} not met within {timeout}s (last calls: {recent or 'none'})"
            ) from None

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        timeout: float = 5.0,
        *,
        since: int = 0,
    ) -> Call:
        """The first call to ``method`` matching ``predicate`` among ``calls[since:]``, waiting for it.

        Pass ``since=len(fake.calls)`` to ignore calls made before now.
        """

        def find() -> Call | None:
            for call in self.calls[since:]:
                if call.method == method and (predicate is None or predicate(call)):
                    return call
            return None

        return await self.wait_until(find, timeout, f"a call to {method}")

    async def wait_for_message(
        self,
        channel: str,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        *,
        thread_ts: str | None = None,
        timeout: float = 5.0,
    ) -> dict[str, Any]:
        """The first message in the channel (or in the thread ``thread_ts``) matching ``predicate``."""

        def find() -> dict[str, Any] | None:
            pool = self.thread(channel, thread_ts) if thread_ts else self.messages(channel)
            return next((m for m in pool if predicate is None or predicate(m)), None)

        return await self.wait_until(find, timeout, f"a message in {channel}")

    async def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """The ack the Socket Mode client sent for ``envelope_id``: ``{"envelope_id", "payload"?}``."""
        return await self.wait_until(lambda: self.socket_acks.get(envelope_id), timeout, f"ack of {envelope_id}")

    async def wait_for_socket_connection(self, count: int = 1, timeout: float = 5.0) -> None:
        """Wait until ``count`` connections have said hello in total and one is open."""
        await self.wait_until(
            lambda: self.socket_connects >= count and self.socket_connection_count > 0,
            timeout,
            f"{count} socket mode connection(s)",
        )

    # ---------------------------------------------------------------- fault injection

    def rate_limit_next(self, method: str, retry_after: int = 1, count: int = 1) -> None:
        """The next ``count`` calls to ``method`` (``"*"``: any) get HTTP 429 + ``Retry-After``.

        Body: ``{"ok": false, "error": "ratelimited"}`` as Slack sends it.
        """
        self._rate_limits.setdefault(method, []).extend([retry_after] * count)

    def fail_next(
        self,
        method: str,
        status: int = 503,
        count: int = 1,
        *,
        drop: bool = False,
        error: str | None = None,
    ) -> None:
        """The next ``count`` calls to ``method`` (``"*"``: any) fail.

        With HTTP ``status`` and ``{"ok": false, "error": error}`` (default ``service_unavailable``
        for 503, ``internal_error`` otherwise), or, with ``drop=True``, by closing the
        connection without an answer (aiohttp raises ``ServerDisconnectedError``).
        """
        self._failures.setdefault(method, []).extend([(status, drop, error)] * count)

    @property
    def outage(self) -> OutageMode | None:
        """None (healthy), ``"error"`` (every Web API call answers `outage_status`, default 503)
        or ``"drop"`` (every Web API call has its connection closed). New Socket Mode
        connections are refused during an outage; open ones are left alone (see `socket_drop`)."""
        return self._outage

    @outage.setter
    def outage(self, mode: OutageMode | None) -> None:
        if mode not in (None, "error", "drop"):
            raise ValueError(f"outage must be None, 'error' or 'drop', not {mode!r}")
        self._outage = mode

    def set_latency(self, seconds: float, method: str | None = None) -> None:
        """Delay answers by ``seconds``: every Web API call, or only ``method``."""
        if method is None:
            self.latency = seconds
        else:
            self._method_latency[method] = seconds

    # ---------------------------------------------------------------- socket mode (push side)

    async def socket_send(
        self,
        envelope_type: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool = False,
        envelope_id: str | None = None,
        extra: Mapping[str, Any] | None = None,
        timeout: float = 5.0,
    ) -> str:
        """Send one envelope on the newest open connection (waiting for one); return its id."""
        await self.wait_until(lambda: self.socket_connection_count > 0, timeout, "an open socket mode connection")
        envelope_id = envelope_id or str(uuid.uuid4())
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "payload": payload,
            "type": envelope_type,
            "accepts_response_payload": accepts_response_payload,
            **(extra or {}),
        }
        ws = [w for w in self._sockets if not w.closed][-1]
        self.socket_envelopes.append(envelope)
        await ws.send_str(json.dumps(envelope))
        return envelope_id

    async def socket_send_event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
        envelope_id: str | None = None,
        timeout: float = 5.0,
    ) -> str:
        """Push an ``events_api`` envelope wrapping ``event`` in an ``event_callback`` body.

        Like Slack, first deliveries carry ``retry_attempt: 0, retry_reason: ""``.
        """
        body = events_api_body(
            event, event_id=event_id, team_id=self.team_id, api_app_id=self.app_id, bot_user_id=self.bot_user_id
        )
        return await self.socket_send(
            "events_api",
            body,
            envelope_id=envelope_id,
            extra={"retry_attempt": retry_attempt, "retry_reason": retry_reason},
            timeout=timeout,
        )

    async def socket_send_interactive(
        self, payload: dict[str, Any], *, envelope_id: str | None = None, timeout: float = 5.0
    ) -> str:
        """Push an ``interactive`` envelope (block_actions, view_submission, shortcut...)."""
        accepts = payload.get("type") in ("view_submission", "block_suggestion", "view_closed")
        return await self.socket_send(
            "interactive", payload, accepts_response_payload=accepts, envelope_id=envelope_id, timeout=timeout
        )

    async def socket_send_slash_command(
        self, form: Mapping[str, str], *, envelope_id: str | None = None, timeout: float = 5.0
    ) -> str:
        """Push a ``slash_commands`` envelope; ``form`` as built by `slash_command_payload`."""
        return await self.socket_send(
            "slash_commands", dict(form), accepts_response_payload=True, envelope_id=envelope_id, timeout=timeout
        )

    async def socket_disconnect(self, reason: str = "refresh_requested") -> None:
        """Send ``{"type": "disconnect", "reason": ...}`` on every open connection.

        slack_sdk answers by opening a new connection (``apps.connections.open``) and closing
        the old one.
        """
        message = json.dumps({"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake-1"}})
        for ws in [w for w in self._sockets if not w.closed]:
            await ws.send_str(message)

    async def socket_drop(self, code: int = WSCloseCode.GOING_AWAY) -> None:
        """Close every open Socket Mode connection from the server side."""
        for ws in list(self._sockets):
            await ws.close(code=code, message=b"dropped by FakeSlack")

    # ---------------------------------------------------------------- HTTP plumbing

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._id_counter):09d}"

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            ctype = request.content_type
            if ctype == "application/json":
                raw = await request.read()
                body = json.loads(raw) if raw.strip() else {}
                if not isinstance(body, dict):
                    raise SlackError("invalid_json")
                params.update(body)
            elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                for key, value in form.items():
                    params[key] = value if isinstance(value, str) else value.file.read()
            else:
                raw_text = (await request.read()).decode("utf-8", "replace")
                params.update(dict(parse_qsl(raw_text, keep_blank_values=True)))
        for key in _JSON_ARGUMENTS & params.keys():
            value = params[key]
            if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
                try:
                    params[key] = json.loads(value)
                except json.JSONDecodeError:
                    raise SlackError("invalid_json" if key != "blocks" else "invalid_blocks_format") from None
        return params

    def _json(self, body: dict[str, Any], status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
        return web.json_response(body, status=status, headers=dict(headers or {}))

    @staticmethod
    def _drop(request: web.Request) -> None:
        if request.transport is not None:
            request.transport.close()
        raise asyncio.CancelledError  # aiohttp treats it as a vanished client: nothing is written

    def _take(self, queue: dict[str, list[T]], method: str) -> T | None:
        for key in (method, "*"):
            pending = queue.get(key)
            if pending:
                return pending.pop(0)
        return None

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        arrived = _time.monotonic()
        token: str | None = None
        auth = request.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            token = auth[7:].strip() or None
        call = Call(method=method, params={}, token=token, http_method=request.method, time=arrived)
        try:
            call.params = await self._read_params(request)
        except SlackError as e:
            return self._finish(call, {"ok": False, "error": e.error})
        if token is None and isinstance(call.params.get("token"), str):
            call.token = token = call.params.pop("token")

        delay = self._method_latency.get(method, self.latency)
        if delay > 0:
            await asyncio.sleep(delay)

        if self._outage == "drop":
            self._finish(call, None, status=0)
            self._drop(request)
        if self._outage == "error":
            return self._finish(call, {"ok": False, "error": "service_unavailable"}, status=self.outage_status)
        retry_after = self._take(self._rate_limits, method)
        if retry_after is not None:
            return self._finish(
                call, {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(retry_after)}
            )
        failure = self._take(self._failures, method)
        if failure is not None:
            status, drop, error = failure
            if drop:
                self._finish(call, None, status=0)
                self._drop(request)
            default_error = "service_unavailable" if status == 503 else "internal_error"
            return self._finish(call, {"ok": False, "error": error or default_error}, status=status)

        handler = self._methods.get(method)
        if handler is None:
            return self._finish(call, {"ok": False, "error": "unknown_method", "req_method": method})
        auth_error = self._check_token(method, token)
        if auth_error is not None:
            return self._finish(call, {"ok": False, "error": auth_error})
        try:
            result = handler(call.params)
        except SlackError as e:
            return self._finish(call, {"ok": False, "error": e.error, **e.extra})
        headers = {"X-OAuth-Scopes": self.bot_scopes} if token == self.bot_token else {}
        return self._finish(call, {"ok": True, **result}, headers=headers)

    def _finish(
        self,
        call: Call,
        body: dict[str, Any] | None,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> web.Response:
        call.status = status
        call.response = body
        self.calls.append(call)
        self._notify()
        return self._json(body or {}, status=status, headers=headers)

    def _check_token(self, method: str, token: str | None) -> str | None:
        if not token:
            return "not_authed"
        if token in self._revoked_tokens:
            return "token_revoked"
        if token == self.app_token:
            return None if method in ("apps.connections.open", "api.test") else "not_allowed_token_type"
        if token == self.bot_token:
            return "not_allowed_token_type" if method == "apps.connections.open" else None
        return "invalid_auth"

    # ---------------------------------------------------------------- channel / message internals

    def _lookup_channel(self, channel: str) -> str | None:
        if channel in self._channels:
            return channel
        if channel.startswith("#"):
            return next((cid for cid, c in self._channels.items() if c.get("name") == channel[1:]), None)
        if channel in self._users:
            return self._dms.get(channel)
        return None

    def _resolve_channel(self, channel: Any) -> str:
        """A known channel id for ``channel`` (id, ``#name``, user id -> DM) or channel_not_found."""
        if not isinstance(channel, str) or not channel:
            raise SlackError("channel_not_found")
        found = self._lookup_channel(channel)
        if found is not None:
            return found
        if channel in self._users:
            return self.dm_channel(channel)
        if self.auto_create_channels and channel[:1] in ("C", "G", "D"):
            self.add_channel(channel, channel.lower(), is_private=channel[0] == "G")
            return channel
        raise SlackError("channel_not_found")

    def _check_member(self, channel_id: str) -> None:
        if not self._channels[channel_id].get("is_member", True):
            raise SlackError("not_in_channel")

    @staticmethod
    def _validate_content(params: Mapping[str, Any], *, require: bool = True) -> None:
        text = params.get("text")
        blocks = params.get("blocks")
        attachments = params.get("attachments")
        if text is not None and not isinstance(text, str):
            text = str(text)
        if text and len(text) > MAX_TEXT_LENGTH:
            raise SlackError("msg_too_long")
        if blocks is not None:
            if not isinstance(blocks, list) or not all(isinstance(b, dict) and b.get("type") for b in blocks):
                raise SlackError("invalid_blocks", errors=["must be an array of block objects with a type"])
            if len(blocks) > MAX_MESSAGE_BLOCKS:
                raise SlackError("invalid_blocks", errors=[f"no more than {MAX_MESSAGE_BLOCKS} items allowed"])
        if require and not text and not blocks and not attachments:
            raise SlackError("no_text")

    def _bot_message(self, params: Mapping[str, Any], ts: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "text": str(params.get("text") or ""),
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "ts": ts,
            "blocks": params.get("blocks") or [],
            "bot_profile": {
                "id": self.bot_id,
                "app_id": self.app_id,
                "name": self.bot_name,
                "team_id": self.team_id,
                "deleted": False,
                "icons": {},
            },
        }
        for key in ("attachments", "metadata", "username", "icon_emoji", "icon_url"):
            if params.get(key):
                message[key] = params[key]
        return message

    def _store_message(self, channel_id: str, message: dict[str, Any], thread_ts: str | None = None) -> dict[str, Any]:
        ts = message["ts"]
        if thread_ts and thread_ts != ts:
            message["thread_ts"] = thread_ts
            parent = self._by_ts.get((channel_id, thread_ts))
            if parent is not None:
                message["parent_user_id"] = parent.get("user", "")
                parent["thread_ts"] = thread_ts
                parent["reply_count"] = parent.get("reply_count", 0) + 1
                users = parent.setdefault("reply_users", [])
                if message.get("user") and message["user"] not in users:
                    users.append(message["user"])
                parent["reply_users_count"] = len(users)
                parent["latest_reply"] = ts
            replies = self._replies.setdefault((channel_id, thread_ts), [])
            replies.append(message)
            replies.sort(key=lambda m: float(m["ts"]))
            if message.get("subtype") == "thread_broadcast":
                self._history.setdefault(channel_id, []).append(message)
        else:
            history = self._history.setdefault(channel_id, [])
            history.append(message)
            history.sort(key=lambda m: float(m["ts"]))
        self._by_ts[(channel_id, ts)] = message
        self._notify()
        return message

    def _find_message(self, channel_id: str, ts: Any) -> dict[str, Any]:
        message = self._by_ts.get((channel_id, str(ts))) if ts else None
        if message is None:
            raise SlackError("message_not_found")
        return message

    def _remove_message(self, channel_id: str, message: dict[str, Any]) -> None:
        ts = message["ts"]
        self._by_ts.pop((channel_id, ts), None)
        history = self._history.get(channel_id, [])
        if message in history:
            history.remove(message)
        thread_ts = message.get("thread_ts")
        if thread_ts and thread_ts != ts:
            replies = self._replies.get((channel_id, thread_ts), [])
            if message in replies:
                replies.remove(message)
            parent = self._by_ts.get((channel_id, thread_ts))
            if parent is not None:
                parent["reply_count"] = max(0, parent.get("reply_count", 1) - 1)
        self._notify()

    @staticmethod
    def _paginate(items: list[T], params: Mapping[str, Any], default_limit: int) -> tuple[list[T], str]:
        limit = int(params.get("limit") or default_limit) or default_limit
        cursor = str(params.get("cursor") or "")
        start = int(cursor.removeprefix("offset_")) if cursor.startswith("offset_") else 0
        page = items[start : start + limit]
        next_cursor = f"offset_{start + limit}" if start + limit < len(items) else ""
        return page, next_cursor

    # ---------------------------------------------------------------- Web API methods

    def _api_test(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("error"):
            raise SlackError(str(params["error"]))
        return {"args": {k: v for k, v in params.items() if k != "token"}}

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team_name,
            "user": self.bot_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _apps_connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        ticket = uuid.uuid4().hex
        self._tickets.add(ticket)
        ws_base = self.base_url.replace("http://", "ws://", 1)
        return {"url": f"{ws_base}/socket-mode?ticket={ticket}&app_id={self.app_id}"}

    def _chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel_id = self._resolve_channel(params.get("channel"))
        self._check_member(channel_id)
        self._validate_content(params)
        thread_ts = str(params["thread_ts"]) if params.get("thread_ts") else None
        message = self._bot_message(params, self.next_ts())
        if thread_ts and _as_bool(params.get("reply_broadcast")):
            message["subtype"] = "thread_broadcast"
        stored = self._store_message(channel_id, message, thread_ts)
        return {"channel": channel_id, "ts": stored["ts"], "message": copy.deepcopy(stored)}

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel_id = self._resolve_channel(params.get("channel"))
        message = self._find_message(channel_id, params.get("ts"))
        if message.get("user") != self.bot_user_id and message.get("bot_id") != self.bot_id:
            raise SlackError("cant_update_message")
        self._validate_content(params)
        if "text" in params:
            message["text"] = str(params.get("text") or "")
        if "blocks" in params:
            message["blocks"] = params.get("blocks") or []
        for key in ("attachments", "metadata"):
            if params.get(key):
                message[key] = params[key]
            elif key in params:
                message.pop(key, None)
        message["edited"] = {"user": self.bot_user_id, "ts": self.next_ts()}
        self._notify()
        return {
            "channel": channel_id,
            "ts": message["ts"],
            "text": message["text"],
            "message": copy.deepcopy(message),
        }

    def _chat_delete(self, params: dict[str, Any]) -> dict[str, Any]:
        channel_id = self._resolve_channel(params.get("channel"))
        message = self._find_message(channel_id, params.get("ts"))
        if message.get("user") != self.bot_user_id and message.get("bot_id") != self.bot_id:
            raise SlackError("cant_delete_message")
        self._remove_message(channel_id, message)
        return {"channel": channel_id, "ts": message["ts"]}

    def _chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel_id = self._resolve_channel(params.get("channel"))
        user = params.get("user")
        if not user or user not in self._users:
            raise SlackError("user_not_in_channel")
        self._validate_content(params)
        message_ts = self.next_ts()
        self._ephemerals.append(
            {
                "channel": channel_id,
                "user": user,
                "text": str(params.get("text") or ""),
                "blocks": params.get("blocks") or [],
                "attachments": params.get("attachments"),
                "thread_ts": str(params["thread_ts"]) if params.get("thread_ts") else None,
                "message_ts": message_ts,
            }
        )
        self._notify()
        return {"message_ts": message_ts}

    def _chat_get_permalink(self, params: dict[str, Any]) -> dict[str, Any]:
        channel_id = self._resolve_channel(params.get("channel"))
        message = self._find_message(channel_id, params.get("message_ts"))
        link = f"https://{self.team_domain}.slack.com/archives/{channel_id}/p{message['ts'].replace('.', '')}"
        thread_ts = message.get("thread_ts")
        if thread_ts and thread_ts != message["ts"]:
            link += f"?thread_ts={thread_ts}&cid={channel_id}"
        return {"channel": channel_id, "permalink": link}

    def _conversations_info(self, params: dict[str, Any]) -> dict[str, Any]:
        channel_id = self._resolve_channel(params.get("channel"))
        return {"channel": copy.deepcopy(self._channels[channel_id])}

    def _conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("channel"):
            channel_id = self._resolve_channel(params["channel"])
            return {"channel": copy.deepcopy(self._channels[channel_id])}
        users = [u for u in str(params.get("users") or "").split(",") if u]
        if not users:
            raise SlackError("users_list_not_supplied")
        for user in users:
            if user not in self._users:
                raise SlackError("user_not_found")
        if len(users) > 1:
            raise SlackError("not_implemented", detail="multi-person DMs are not emulated")
        channel_id = self.dm_channel(users[0])
        channel = self._channels[channel_id]
        if _as_bool(params.get("return_im")):
            return {"channel": copy.deepcopy(channel)}
        return {"no_op": True, "already_open": True, "channel": {"id": channel_id}}

    def _conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        channel_id = self._resolve_channel(params.get("channel"))
        newest_first = list(reversed(self._history.get(channel_id, [])))
        if params.get("oldest"):
            newest_first = [m for m in newest_first if float(m["ts"]) >= float(params["oldest"])]
        if params.get("latest"):
            newest_first = [m for m in newest_first if float(m["ts"]) <= float(params["latest"])]
        page, cursor = self._paginate(newest_first, params, 100)
        return {
            "messages": copy.deepcopy(page),
            "has_more": bool(cursor),
            "pin_count": 0,
            "response_metadata": {"next_cursor": cursor},
        }

    def _conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        channel_id = self._resolve_channel(params.get("channel"))
        ts = params.get("ts")
        if not ts:
            missing = {"messages": ["[ERROR] missing required field: ts"]}
            raise SlackError("invalid_arguments", response_metadata=missing)
        messages = self.thread(channel_id, str(ts))
        if not messages:
            raise SlackError("thread_not_found")
        page, cursor = self._paginate(messages, params, 1000)
        return {"messages": page, "has_more": bool(cursor), "response_metadata": {"next_cursor": cursor}}

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self._users.get(str(params.get("user") or ""))
        if user is None:
            raise SlackError("user_not_found")
        return {"user": copy.deepcopy(user)}

    def _users_lookup_by_email(self, params: dict[str, Any]) -> dict[str, Any]:
        email = str(params.get("email") or "").lower()
        for user in self._users.values():
            if user["profile"].get("email", "").lower() == email and email:
                return {"user": copy.deepcopy(user)}
        raise SlackError("users_not_found")

    def _usergroups_list(self, params: dict[str, Any]) -> dict[str, Any]:
        include_users = _as_bool(params.get("include_users"))
        groups = []
        for group in self._usergroups.values():
            g = copy.deepcopy(group)
            if not include_users:
                g.pop("users")
            groups.append(g)
        return {"usergroups": groups}

    def _usergroups_users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        group = self._usergroups.get(str(params.get("usergroup") or ""))
        if group is None:
            raise SlackError("no_such_subteam")
        return {"users": list(group["users"])}

    def _consume_trigger(self, params: Mapping[str, Any]) -> str:
        trigger_id = params.get("trigger_id")
        if not trigger_id:
            raise SlackError("invalid_arguments", response_metadata={"messages": ["[ERROR] missing trigger_id"]})
        trigger_id = str(trigger_id)
        if trigger_id in self._expired_triggers:
            raise SlackError("expired_trigger_id")
        if trigger_id in self._used_triggers:
            raise SlackError("exchanged_trigger_id")
        self._used_triggers.add(trigger_id)
        return trigger_id

    def _make_view(self, raw: Any, *, view_id: str | None = None, previous: str | None = None) -> dict[str, Any]:
        if not isinstance(raw, dict) or raw.get("type") not in ("modal", "home"):
            raise SlackError("invalid_arguments", response_metadata={"messages": ["[ERROR] view.type required"]})
        if raw["type"] == "modal" and not raw.get("title"):
            raise SlackError("invalid_arguments", response_metadata={"messages": ["[ERROR] view.title required"]})
        blocks = raw.get("blocks") or []
        if len(blocks) > MAX_VIEW_BLOCKS:
            raise SlackError("invalid_arguments", response_metadata={"messages": ["[ERROR] too many blocks"]})
        view_id = view_id or self._new_id("V")
        view = {
            "id": view_id,
            "team_id": self.team_id,
            "type": raw["type"],
            "blocks": copy.deepcopy(blocks),
            "private_metadata": raw.get("private_metadata", ""),
            "callback_id": raw.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(_time.time())}.{secrets.token_hex(4)}",
            "title": raw.get("title"),
            "close": raw.get("close"),
            "submit": raw.get("submit"),
            "clear_on_close": bool(raw.get("clear_on_close", False)),
            "notify_on_close": bool(raw.get("notify_on_close", False)),
            "external_id": raw.get("external_id", ""),
            "root_view_id": view_id,
            "previous_view_id": previous,
            "app_id": self.app_id,
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }
        return view

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        self._consume_trigger(params)
        view = self._make_view(params.get("view"))
        self.views[view["id"]] = view
        self._notify()
        return {"view": copy.deepcopy(view)}

    def _views_push(self, params: dict[str, Any]) -> dict[str, Any]:
        self._consume_trigger(params)
        view = self._make_view(params.get("view"))
        self.views[view["id"]] = view
        self._notify()
        return {"view": copy.deepcopy(view)}

    def _views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        current: dict[str, Any] | None = None
        if params.get("view_id"):
            current = self.views.get(str(params["view_id"]))
        elif params.get("external_id"):
            current = next((v for v in self.views.values() if v["external_id"] == params["external_id"]), None)
        if current is None:
            raise SlackError("not_found")
        if params.get("hash") and params["hash"] != current["hash"]:
            raise SlackError("hash_conflict")
        view = self._make_view(params.get("view"), view_id=current["id"], previous=current["previous_view_id"])
        view["root_view_id"] = current["root_view_id"]
        self.views[view["id"]] = view
        self._notify()
        return {"view": copy.deepcopy(view)}

    def _views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = str(params.get("user_id") or "")
        if user_id not in self._users:
            raise SlackError("user_not_found")
        view = self._make_view(params.get("view"))
        self.home_views[user_id] = view
        self._notify()
        return {"view": copy.deepcopy(view)}

    def _pins_add(self, params: dict[str, Any]) -> dict[str, Any]:
        channel_id = self._resolve_channel(params.get("channel"))
        message = self._by_ts.get((channel_id, str(params.get("timestamp") or "")))
        if message is None:
            raise SlackError("message_not_found")
        if channel_id in message.setdefault("pinned_to", []):
            raise SlackError("already_pinned")
        message["pinned_to"].append(channel_id)
        self._notify()
        return {}

    def _pins_remove(self, params: dict[str, Any]) -> dict[str, Any]:
        channel_id = self._resolve_channel(params.get("channel"))
        message = self._by_ts.get((channel_id, str(params.get("timestamp") or "")))
        if message is None or channel_id not in message.get("pinned_to", []):
            raise SlackError("not_pinned")
        message["pinned_to"].remove(channel_id)
        self._notify()
        return {}

    def _reactions_add(self, params: dict[str, Any]) -> dict[str, Any]:
        channel_id = self._resolve_channel(params.get("channel"))
        name = str(params.get("name") or "")
        if not name:
            raise SlackError("invalid_name")
        message = self._by_ts.get((channel_id, str(params.get("timestamp") or "")))
        if message is not None:
            reactions = message.setdefault("reactions", [])
            reaction = next((r for r in reactions if r["name"] == name), None)
            if reaction is None:
                reactions.append({"name": name, "users": [self.bot_user_id], "count": 1})
            elif self.bot_user_id in reaction["users"]:
                raise SlackError("already_reacted")
            else:
                reaction["users"].append(self.bot_user_id)
                reaction["count"] += 1
            self._notify()
        return {}

    def _reactions_remove(self, params: dict[str, Any]) -> dict[str, Any]:
        channel_id = self._resolve_channel(params.get("channel"))
        name = str(params.get("name") or "")
        message = self._by_ts.get((channel_id, str(params.get("timestamp") or "")))
        reactions = message.get("reactions", []) if message is not None else []
        reaction = next((r for r in reactions if r["name"] == name and self.bot_user_id in r["users"]), None)
        if reaction is None:
            raise SlackError("no_reaction")
        reaction["users"].remove(self.bot_user_id)
        reaction["count"] -= 1
        if reaction["count"] == 0:
            reactions.remove(reaction)
        self._notify()
        return {}

    def _files_get_upload_url_external(self, params: dict[str, Any]) -> dict[str, Any]:
        filename = params.get("filename")
        length = params.get("length")
        if not filename or length in (None, ""):
            raise SlackError(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] filename and length are required"]}
            )
        try:
            length_int = int(length)
        except (TypeError, ValueError):
            raise SlackError("invalid_arguments") from None
        f = UploadedFile(
            id=self._new_id("F"),
            filename=str(filename),
            title=str(filename),
            length=length_int,
            user=self.bot_user_id,
            created=int(_time.time()),
            alt_txt=params.get("alt_txt"),
            snippet_type=params.get("snippet_type"),
        )
        self.files[f.id] = f
        return {"upload_url": f"{self.base_url}/upload/v1/{f.id}", "file_id": f.id}

    def _files_complete_upload_external(self, params: dict[str, Any]) -> dict[str, Any]:
        specs = params.get("files")
        if not isinstance(specs, list) or not specs:
            raise SlackError("invalid_arguments", response_metadata={"messages": ["[ERROR] files is required"]})
        uploads: list[UploadedFile] = []
        for spec in specs:
            f = self.files.get(str(spec.get("id") if isinstance(spec, dict) else ""))
            if f is None or f.content is None:
                raise SlackError("file_not_found")
            if spec.get("title"):
                f.title = str(spec["title"])
            uploads.append(f)
        channel_ids: list[str] = []
        if params.get("channel_id"):
            channel_ids.append(self._resolve_channel(params["channel_id"]))
        for channel in str(params.get("channels") or "").split(","):
            if channel:
                channel_ids.append(self._resolve_channel(channel))
        thread_ts = str(params["thread_ts"]) if params.get("thread_ts") else None
        for f in uploads:
            f.completed = True
        for channel_id in channel_ids:
            self._check_member(channel_id)
            ts = self.next_ts()
            for f in uploads:
                f.shares.append((channel_id, ts, thread_ts))
            message = self._bot_message({"text": params.get("initial_comment") or ""}, ts)
            message["files"] = [f.to_slack(self.base_url, self.team_domain) for f in uploads]
            message["upload"] = True
            message["display_as_bot"] = False
            self._store_message(channel_id, message, thread_ts)
        return {"files": [f.to_slack(self.base_url, self.team_domain) for f in uploads]}

    def _files_info(self, params: dict[str, Any]) -> dict[str, Any]:
        f = self.files.get(str(params.get("file") or ""))
        if f is None or not f.completed:
            raise SlackError("file_not_found")
        return {"file": f.to_slack(self.base_url, self.team_domain), "comments": [], "response_metadata": {}}

    # ---------------------------------------------------------------- other endpoints

    async def _handle_upload(self, request: web.Request) -> web.Response:
        f = self.files.get(request.match_info["file_id"])
        if f is None:
            return web.Response(status=404, text="file not found", content_type="text/plain")
        if self._outage == "drop":
            self._drop(request)
        if self._outage == "error":
            return web.Response(status=self.outage_status, text="service unavailable", content_type="text/plain")
        if request.content_type == "multipart/form-data":
            form = await request.post()
            part = next(iter(form.values()), b"")
            data = part if isinstance(part, bytes) else part.encode() if isinstance(part, str) else part.file.read()
        else:
            data = await request.read()
        f.content = data
        self._notify()
        return web.Response(text=f"OK - {len(data)}", content_type="text/plain")

    async def _handle_file_download(self, request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        f = self.files.get(request.match_info["file_id"])
        if token != self.bot_token or token in self._revoked_tokens:
            # Slack answers an HTML login page with 200 here; a 302-free stand-in
            return web.Response(status=200, text="<html>login</html>", content_type="text/html")
        if f is None or f.content is None:
            return web.Response(status=404, text="not found", content_type="text/plain")
        mimetype = mimetypes.guess_type(f.filename)[0] or "application/octet-stream"
        return web.Response(body=f.content, content_type=mimetype)

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        binding = self._response_urls.get(request.match_info["url_id"])
        if binding is None:
            return web.Response(status=404, text="no_such_url", content_type="text/plain")
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            body = dict(parse_qsl(raw.decode("utf-8", "replace")))
            if "payload" in body:
                body = json.loads(body["payload"])
        post = ResponseUrlPost(
            url=str(request.url),
            body=body,
            channel=binding["channel"],
            user=binding["user"],
            message_ts=binding["message_ts"],
            time=_time.monotonic(),
        )
        self.response_url_posts.append(post)
        self._apply_response_url(post)
        self._notify()
        return web.json_response({"ok": True})

    def _apply_response_url(self, post: ResponseUrlPost) -> None:
        body, channel_id = post.body, post.channel
        original = self._by_ts.get((channel_id, post.message_ts)) if channel_id and post.message_ts else None
        if _as_bool(body.get("delete_original")):
            if original is not None:
                self._remove_message(channel_id or "", original)
            return
        if _as_bool(body.get("replace_original")) and original is not None:
            if "text" in body:
                original["text"] = body.get("text") or ""
            if "blocks" in body:
                original["blocks"] = body.get("blocks") or []
            return
        if channel_id is None or channel_id not in self._channels:
            return
        if body.get("response_type") == "in_channel":
            message = self._bot_message(body, self.next_ts())
            self._store_message(channel_id, message, body.get("thread_ts"))
        elif post.user:
            self._ephemerals.append(
                {
                    "channel": channel_id,
                    "user": post.user,
                    "text": body.get("text") or "",
                    "blocks": body.get("blocks") or [],
                    "attachments": body.get("attachments"),
                    "thread_ts": body.get("thread_ts"),
                    "message_ts": self.next_ts(),
                }
            )

    async def _handle_socket(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if self._outage is not None:
            return web.Response(status=503, text="service unavailable")
        if ticket not in self._tickets:
            return web.Response(status=401, text="invalid ticket")
        self._tickets.discard(ticket)
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        self.socket_connects += 1
        await ws.send_str(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": self.socket_connection_count,
                    "debug_info": {
                        "host": "applink-fake-1",
                        "build_number": 1,
                        "approximate_connection_time": 18060,
                    },
                    "connection_info": {"app_id": self.app_id},
                }
            )
        )
        self._notify()
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    try:
                        data = json.loads(msg.data)
                    except json.JSONDecodeError:
                        data = {"raw": msg.data}
                    self.socket_received.append(data)
                    if isinstance(data, dict) and data.get("envelope_id"):
                        self.socket_acks[str(data["envelope_id"])] = data
                    self._notify()
        finally:
            if ws in self._sockets:
                self._sockets.remove(ws)
            self._notify()
        return ws

    # ---------------------------------------------------------------- payloads bound to this fake

    def view_submission_for(
        self, view_id: str, user_id: str, values: Mapping[str, Mapping[str, Any]]
    ) -> dict[str, Any]:
        """A ``view_submission`` payload for a view the app opened (callback_id, metadata kept)."""
        view = self.views[view_id]
        return view_submission_payload(
            user_id,
            view["callback_id"],
            values,
            view_id=view_id,
            private_metadata=view["private_metadata"],
            team_id=self.team_id,
            api_app_id=self.app_id,
            view_hash=view["hash"],
            blocks=view["blocks"],
            title=(view.get("title") or {}).get("text", ""),
        )


# --------------------------------------------------------------------------------------------
# What Slack sends to an app: payload builders and signed HTTP requests
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedRequest:
    """An HTTP request exactly as Slack sends it to the app's Request URL.

    Use ``AsyncBoltRequest(body=req.body, headers=req.headers)`` (or `to_bolt_request`) with
    ``await app.async_dispatch(...)``, or POST it: ``session.post(url, data=req.body,
    headers=req.headers)`` / `post_signed`.
    """

    body: str
    headers: dict[str, str]

    def to_bolt_request(self) -> AsyncBoltRequest:
        """The same request as slack_bolt's `AsyncBoltRequest` (HTTP mode)."""
        from slack_bolt.request.async_request import AsyncBoltRequest

        return AsyncBoltRequest(body=self.body, headers=dict(self.headers))

    def with_signature(self, signature: str) -> SignedRequest:
        """A copy with another ``X-Slack-Signature`` (to test forged requests)."""
        return SignedRequest(self.body, {**self.headers, "X-Slack-Signature": signature})


def sign(secret: str, timestamp: int | str, body: str) -> str:
    """``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}`` keyed by the signing secret."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def _signed(
    secret: str,
    body: str,
    content_type: str,
    timestamp: int | None,
    extra_headers: Mapping[str, str] | None = None,
) -> SignedRequest:
    ts = int(_time.time()) if timestamp is None else int(timestamp)
    headers = {
        "Content-Type": content_type,
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        "Accept": "application/json,*/*",
        "Accept-Encoding": "gzip,deflate",
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": sign(secret, ts, body),
        **dict(extra_headers or {}),
    }
    return SignedRequest(body=body, headers=headers)


def events_api_body(
    event: Mapping[str, Any],
    *,
    event_id: str | None = None,
    team_id: str = DEFAULT_TEAM_ID,
    api_app_id: str = DEFAULT_APP_ID,
    bot_user_id: str = DEFAULT_BOT_USER_ID,
    event_time: int | None = None,
) -> dict[str, Any]:
    """The outer ``event_callback`` body Slack wraps around an event."""
    return {
        "token": DEFAULT_VERIFICATION_TOKEN,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": api_app_id,
        "event": dict(event),
        "type": "event_callback",
        "event_id": event_id or _new_event_id(),
        "event_time": int(_time.time()) if event_time is None else event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": "4-" + secrets.token_urlsafe(24),
    }


def events_api_request(
    secret: str,
    event: Mapping[str, Any],
    event_id: str | None = None,
    team_id: str = DEFAULT_TEAM_ID,
    retry_num: int | None = None,
    retry_reason: str | None = None,
    timestamp: int | None = None,
    *,
    api_app_id: str = DEFAULT_APP_ID,
    bot_user_id: str = DEFAULT_BOT_USER_ID,
) -> SignedRequest:
    """A signed Events API delivery (JSON body).

    ``retry_num``/``retry_reason`` add ``X-Slack-Retry-Num``/``X-Slack-Retry-Reason`` as on
    Slack's redeliveries (reasons: ``http_timeout``, ``http_error``, ``too_many_requests``...).
    Reuse ``event_id`` to model a redelivery of the same event.
    """
    body = json.dumps(
        events_api_body(event, event_id=event_id, team_id=team_id, api_app_id=api_app_id, bot_user_id=bot_user_id),
        separators=(",", ":"),
    )
    extra: dict[str, str] = {}
    if retry_num is not None:
        extra["X-Slack-Retry-Num"] = str(retry_num)
    if retry_reason is not None:
        extra["X-Slack-Retry-Reason"] = retry_reason
    return _signed(secret, body, "application/json", timestamp, extra)


def url_verification_request(secret: str, challenge: str | None = None, timestamp: int | None = None) -> SignedRequest:
    """The signed ``url_verification`` handshake; the app must echo ``challenge``."""
    body = json.dumps(
        {
            "token": DEFAULT_VERIFICATION_TOKEN,
            "challenge": challenge or secrets.token_urlsafe(32),
            "type": "url_verification",
        },
        separators=(",", ":"),
    )
    return _signed(secret, body, "application/json", timestamp)


def interactivity_request(secret: str, payload: Mapping[str, Any], timestamp: int | None = None) -> SignedRequest:
    """A signed interactivity request: form-encoded ``payload=<json>``."""
    body = urlencode({"payload": json.dumps(payload, separators=(",", ":"))})
    return _signed(secret, body, "application/x-www-form-urlencoded", timestamp)


def slash_command_payload(
    command: str,
    text: str,
    user_id: str,
    channel_id: str,
    *,
    user_name: str = "someone",
    channel_name: str = "general",
    team_id: str = DEFAULT_TEAM_ID,
    team_domain: str = DEFAULT_TEAM_DOMAIN,
    api_app_id: str = DEFAULT_APP_ID,
    response_url: str | None = None,
    trigger_id: str | None = None,
) -> dict[str, str]:
    """The form fields of a slash command invocation (also the Socket Mode payload)."""
    return {
        "token": DEFAULT_VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url or _UNREACHABLE_RESPONSE_URL,
        "trigger_id": trigger_id or _random_trigger_id(),
    }


def slash_command_request(
    secret: str,
    command: str,
    text: str,
    user_id: str,
    channel_id: str,
    *,
    timestamp: int | None = None,
    **fields: Any,
) -> SignedRequest:
    """A signed slash command request (form-encoded); ``fields`` as in `slash_command_payload`."""
    body = urlencode(slash_command_payload(command, text, user_id, channel_id, **fields))
    return _signed(secret, body, "application/x-www-form-urlencoded", timestamp)


def message_event(
    user: str,
    text: str,
    channel: str,
    ts: str | None = None,
    thread_ts: str | None = None,
    *,
    channel_type: str = "channel",
    team: str = DEFAULT_TEAM_ID,
    subtype: str | None = None,
    bot_id: str | None = None,
    files: list[dict[str, Any]] | None = None,
    blocks: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A ``message`` event as delivered by the Events API (``ts`` defaults to now)."""
    ts = ts or _now_ts()
    event: dict[str, Any] = {
        "type": "message",
        "user": user,
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "channel": channel,
        "channel_type": channel_type,
        "team": team,
        "client_msg_id": str(uuid.uuid4()),
        "blocks": blocks
        if blocks is not None
        else [
            {
                "type": "rich_text",
                "block_id": secrets.token_hex(2),
                "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}],
            }
        ],
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    if subtype:
        event["subtype"] = subtype
    if bot_id:
        event["bot_id"] = bot_id
        event.pop("client_msg_id")
    if files:
        event["files"] = files
        event["upload"] = False
        event.setdefault("subtype", "file_share")
    return event


def app_mention_event(
    user: str, text: str, channel: str, ts: str | None = None, thread_ts: str | None = None
) -> dict[str, Any]:
    """An ``app_mention`` event (``text`` should contain ``<@BOTUSERID>``)."""
    event = message_event(user, text, channel, ts, thread_ts)
    event["type"] = "app_mention"
    event.pop("channel_type")
    return event


def _user_block(user_id: str, user_name: str, team_id: str) -> dict[str, str]:
    return {"id": user_id, "username": user_name, "name": user_name, "team_id": team_id}


def block_actions_payload(
    user_id: str,
    action_id: str,
    value: str | None,
    channel_id: str,
    message_ts: str,
    *,
    block_id: str | None = None,
    action_type: str = "button",
    text: str = "Button",
    message: Mapping[str, Any] | None = None,
    thread_ts: str | None = None,
    user_name: str = "someone",
    team_id: str = DEFAULT_TEAM_ID,
    team_domain: str = DEFAULT_TEAM_DOMAIN,
    api_app_id: str = DEFAULT_APP_ID,
    bot_user_id: str = DEFAULT_BOT_USER_ID,
    response_url: str | None = None,
    trigger_id: str | None = None,
    selected_option: Mapping[str, Any] | None = None,
    state_values: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``block_actions`` payload for a click on a message's button (or select).

    ``message`` defaults to a bot message at ``message_ts``; pass the real one (e.g.
    ``fake.message(channel, ts)``) to let the app read its blocks. ``response_url`` defaults to
    a refused local address: use `FakeSlack.response_url` to capture ``respond()`` calls.
    """
    block_id = block_id or secrets.token_hex(3)
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id,
        "type": action_type,
        "action_ts": _now_ts(),
    }
    if action_type == "button":
        action["text"] = {"type": "plain_text", "text": text, "emoji": True}
        if value is not None:
            action["value"] = value
    elif selected_option is not None:
        action["selected_option"] = dict(selected_option)
    elif value is not None:
        action["value"] = value
    msg = dict(message) if message is not None else {
        "type": "message",
        "user": bot_user_id,
        "text": "",
        "ts": message_ts,
        "team": team_id,
        "blocks": [],
    }
    if thread_ts:
        msg.setdefault("thread_ts", thread_ts)
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": message_ts,
        "channel_id": channel_id,
        "is_ephemeral": False,
    }
    if thread_ts:
        container["thread_ts"] = thread_ts
    return {
        "type": "block_actions",
        "user": _user_block(user_id, user_name, team_id),
        "api_app_id": api_app_id,
        "token": DEFAULT_VERIFICATION_TOKEN,
        "container": container,
        "trigger_id": trigger_id or _random_trigger_id(),
        "team": {"id": team_id, "domain": team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": "channel"},
        "message": msg,
        "state": {"values": dict(state_values or {})},
        "response_url": response_url or _UNREACHABLE_RESPONSE_URL,
        "actions": [action],
    }


def view_submission_payload(
    user_id: str,
    callback_id: str,
    values: Mapping[str, Mapping[str, Any]],
    *,
    view_id: str | None = None,
    private_metadata: str = "",
    user_name: str = "someone",
    team_id: str = DEFAULT_TEAM_ID,
    team_domain: str = DEFAULT_TEAM_DOMAIN,
    api_app_id: str = DEFAULT_APP_ID,
    bot_id: str = DEFAULT_BOT_ID,
    view_hash: str | None = None,
    blocks: list[dict[str, Any]] | None = None,
    title: str = "Modal",
    trigger_id: str | None = None,
) -> dict[str, Any]:
    """A ``view_submission`` payload.

    ``values`` is ``{block_id: {action_id: state}}``; a plain string state becomes
    ``{"type": "plain_text_input", "value": s}``.
    """
    state: dict[str, dict[str, Any]] = {}
    for block_id, actions in values.items():
        state[block_id] = {
            action_id: ({"type": "plain_text_input", "value": v} if isinstance(v, str) else dict(v))
            for action_id, v in actions.items()
        }
    view_id = view_id or "V" + secrets.token_hex(5).upper()
    return {
        "type": "view_submission",
        "team": {"id": team_id, "domain": team_domain},
        "user": _user_block(user_id, user_name, team_id),
        "api_app_id": api_app_id,
        "token": DEFAULT_VERIFICATION_TOKEN,
        "trigger_id": trigger_id or _random_trigger_id(),
        "view": {
            "id": view_id,
            "team_id": team_id,
            "type": "modal",
            "blocks": list(blocks or []),
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": state},
            "hash": view_hash or f"{int(_time.time())}.{secrets.token_hex(4)}",
            "title": {"type": "plain_text", "text": title, "emoji": True},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": None,
            "submit": {"type": "plain_text", "text": "Submit", "emoji": True},
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": api_app_id,
            "external_id": "",
            "app_installed_team_id": team_id,
            "bot_id": bot_id,
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


async def post_signed(url: str, request: SignedRequest, *, timeout: float = 5.0) -> tuple[int, str, dict[str, str]]:
    """POST a `SignedRequest` to an app's HTTP endpoint; returns (status, body text, headers)."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        async with session.post(url, data=request.body.encode(), headers=request.headers) as resp:
            return resp.status, await resp.text(), dict(resp.headers)


def block_texts(blocks: Iterable[Mapping[str, Any]]) -> list[str]:
    """The texts of section/header blocks and of context/rich-text elements (for assertions)."""
    found: list[str] = []
    for block in blocks:
        text = block.get("text")
        if isinstance(text, Mapping) and isinstance(text.get("text"), str):
            found.append(text["text"])
        for field_ in block.get("fields", []) or []:
            if isinstance(field_, Mapping) and isinstance(field_.get("text"), str):
                found.append(field_["text"])
        for element in block.get("elements", []) or []:
            if isinstance(element, Mapping) and isinstance(element.get("text"), str):
                found.append(element["text"])
    return found
