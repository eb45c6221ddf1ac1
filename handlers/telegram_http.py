"""python-telegram-bot's network layer on aiohttp instead of httpx.

python-telegram-bot lets an application bring its own :class:`telegram.request.BaseRequest`.
Its default (httpx) spent about 2 ms of CPU per Bot API call in ``benchmarks/telegram.py``
(connection-pool bookkeeping); aiohttp, which the bot already uses for its web server and
Slack, spends about 0.2 ms. Behaviour is the same: form-encoded parameters, multipart
uploads, per-call timeouts, and python-telegram-bot's own error types.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

if TYPE_CHECKING:
    # the type of BaseRequest.do_request's timeouts: seconds, None, or "not passed"
    from telegram._utils.types import ODVInput

    Timeout = ODVInput[float]

_DEFAULT = type(BaseRequest.DEFAULT_NONE)  # "not passed": use this request's own default
_FORM = {"Content-Type": "application/x-www-form-urlencoded"}


class AiohttpRequest(BaseRequest):
    """A :class:`~telegram.request.BaseRequest` over one ``aiohttp.ClientSession``."""

    __slots__ = ("_connect_timeout", "_pool_size", "_pool_timeout", "_read_timeout", "_session", "_write_timeout")

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
        # aiohttp's "connect" covers waiting for a pooled connection as well
        acquire = None if connect is None and pool is None else (connect or 0) + (pool or 0)
        timeout = aiohttp.ClientTimeout(total=None, connect=acquire, sock_connect=connect, sock_read=read)
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
