"""python-telegram-bot's network layer on aiohttp instead of httpx.

python-telegram-bot lets an application bring its own :class:`telegram.request.BaseRequest`.
Its default (httpx) spent about 2 ms of CPU per Bot API call in ``benchmarks/telegram.py``
(connection-pool bookkeeping); aiohttp, which the bot already uses for its web server and
Slack, spends about 0.2 ms. Behaviour is the same: form-encoded parameters, multipart
uploads, per-call timeouts, and python-telegram-bot's own error types.

:class:`JsonBotApi` is a thinner path for the calls made for nearly every update
(``sendMessage``, ``answerCallbackQuery``): prepared JSON POSTed on the same session,
through the bot's own rate limiter, with only ``ok``, ``error_code``, ``description`` and
``parameters`` of the answer read. python-telegram-bot builds request objects for each
call and a ``Message`` from each answer, which cost more than the HTTP call itself.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, cast

import aiohttp
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import ExtBot
from telegram.request import BaseRequest, RequestData
from yarl import URL

if TYPE_CHECKING:
    # the type of BaseRequest.do_request's timeouts: seconds, None, or "not passed"
    from telegram._utils.types import ODVInput

    Timeout = ODVInput[float]

_DEFAULT = type(BaseRequest.DEFAULT_NONE)  # "not passed": use this request's own default
_FORM = {"Content-Type": "application/x-www-form-urlencoded"}
_JSON = {"Content-Type": "application/json"}


class AiohttpRequest(BaseRequest):
    """A :class:`~telegram.request.BaseRequest` over one ``aiohttp.ClientSession``."""

    __slots__ = (
        "_connect_timeout", "_default_timeout", "_pool_size", "_pool_timeout", "_read_timeout", "_session", "_write_timeout",
    )  # fmt: skip

    def __init__(
        self,
        connection_pool_size: int = 16,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 10.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._default_timeout = self._timeout(read_timeout, connect_timeout, pool_timeout)
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._pool_size, keepalive_timeout=60)
            self._session = aiohttp.ClientSession(connector=connector, headers={"User-Agent": self.USER_AGENT})

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    @staticmethod
    def _timeout(read: float | None, connect: float | None, pool: float | None) -> aiohttp.ClientTimeout:
        # aiohttp's "connect" covers waiting for a pooled connection as well
        acquire = None if connect is None and pool is None else (connect or 0) + (pool or 0)
        return aiohttp.ClientTimeout(total=None, connect=acquire, sock_connect=connect, sock_read=read)

    @staticmethod
    def _value(given: Timeout, default: float | None) -> float | None:
        # _DEFAULT is the class DefaultValue itself: anything else is seconds or None
        return default if isinstance(given, _DEFAULT) else cast("float | None", given)

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Timeout = BaseRequest.DEFAULT_NONE,
        write_timeout: Timeout = BaseRequest.DEFAULT_NONE,
        connect_timeout: Timeout = BaseRequest.DEFAULT_NONE,
        pool_timeout: Timeout = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """See :meth:`telegram.request.BaseRequest.do_request`."""
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        read = self._value(read_timeout, self._read_timeout)
        write = self._value(write_timeout, self._write_timeout)
        connect = self._value(connect_timeout, self._connect_timeout)
        pool = self._value(pool_timeout, self._pool_timeout)
        timeout = self._timeout(read, connect, pool)
        data: Any = None
        headers: dict[str, str] | None = None
        if request_data is not None:
            files = request_data.multipart_data
            if files:
                form = aiohttp.FormData(quote_fields=False)
                for name, value in request_data.json_parameters.items():
                    form.add_field(name, value)
                for name, part in files.items():
                    filename, content, mime = (part + (None,))[:3] if isinstance(part, tuple) else (None, part, None)
                    form.add_field(name, content, filename=filename, content_type=mime)
                data = form
            else:
                # encoded here: aiohttp's FormData costs more than the whole request otherwise
                data = request_data.url_encoded_parameters().encode()
                headers = _FORM
        try:
            async with self._session.request(method, url, data=data, headers=headers, timeout=timeout) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut(f"no answer within the time limit (write {write} s, read {read} s)") from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{exc.__class__.__name__}: {exc}") from exc

    async def post_json(self, url: URL, body: bytes) -> bool:
        """POST ``body`` (JSON) to a Bot API method with this request's default timeouts;
        True when the answer is ok, else python-telegram-bot's error for it
        (:func:`raise_for_answer`)."""
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        try:
            async with self._session.post(url, data=body, headers=_JSON, timeout=self._default_timeout) as response:
                status, payload = response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut(f"no answer within the time limit (write {self._write_timeout} s, read {self._read_timeout} s)") from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{exc.__class__.__name__}: {exc}") from exc
        raise_for_answer(status, payload)
        return True


def raise_for_answer(status: int, payload: bytes) -> None:
    """Nothing for an ok answer of the Bot API; otherwise the error python-telegram-bot's
    own requests raise for it (``telegram.request.BaseRequest._request_wrapper``): by the
    answer's ``parameters`` (``retry_after``: :class:`RetryAfter`, ``migrate_to_chat_id``:
    :class:`ChatMigrated`), else by the HTTP status with the answer's ``description``."""
    try:
        answer = json.loads(payload)
    except ValueError:  # also UnicodeDecodeError
        answer = None
    if not isinstance(answer, dict):
        answer = None
    if HTTPStatus.OK <= status <= 299:
        if answer is not None and answer.get("ok") is True:
            return
        raise TelegramError("Invalid server response")
    try:
        message = f"{HTTPStatus(status).phrase} ({status})"
    except ValueError:
        message = f"Unknown HTTPError ({status})"
    if answer is None:
        message += f". Parsing the server response {payload!r} failed"
    else:
        message = answer.get("description") or message
        parameters = answer.get("parameters")
        if parameters:
            if parameters.get("migrate_to_chat_id"):
                raise ChatMigrated(parameters["migrate_to_chat_id"])
            if parameters.get("retry_after"):
                raise RetryAfter(parameters["retry_after"])
            message += f". The server response contained unknown parameters: {parameters}"
    if status == HTTPStatus.FORBIDDEN:
        raise Forbidden(message)
    if status in (HTTPStatus.NOT_FOUND, HTTPStatus.UNAUTHORIZED):
        raise InvalidToken(message)
    if status == HTTPStatus.BAD_REQUEST:
        raise BadRequest(message)
    if status == HTTPStatus.CONFLICT:
        raise Conflict(message)
    raise NetworkError(message)


class JsonBotApi:
    """Bot API calls with prepared JSON parameters on the bot's own session (its
    :class:`AiohttpRequest`), throttled by the bot's own rate limiter the way
    python-telegram-bot throttles its calls (the overall limit for calls to a chat, the
    per-group limit for groups; none without a limiter). The answer is only checked:
    errors are python-telegram-bot's types (:func:`raise_for_answer`)."""

    def __init__(self, bot: ExtBot[Any]) -> None:
        request = bot.request
        if not isinstance(request, AiohttpRequest):
            raise TypeError("the bot's requests must be an AiohttpRequest (handlers.telegram.build_application)")
        self._request = request
        self._limiter = bot.rate_limiter
        self._base = bot.base_url
        self._urls: dict[str, URL] = {}

    def url(self, method: str) -> URL:
        url = self._urls.get(method)
        if url is None:
            url = self._urls[method] = URL(f"{self._base}/{method}")
        return url

    async def call(self, method: str, body: bytes, chat_id: int | None = None) -> None:
        """POST ``body`` to ``method``; ``chat_id`` is the chat the call sends to (what
        the rate limiter counts)."""
        url = self._urls.get(method) or self.url(method)
        if self._limiter is None:
            await self._request.post_json(url, body)
            return
        await self._limiter.process_request(
            callback=self._request.post_json,
            args=(url, body),
            kwargs={},
            endpoint=method,
            data={} if chat_id is None else {"chat_id": chat_id},
            rate_limit_args=None,
        )
