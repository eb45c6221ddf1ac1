"""The real bot as a subprocess, for crash tests and the crash benchmark.

``complaint-bot run`` is started with ``subprocess.Popen`` against a
:class:`~tests.fakes.telegram_api.FakeTelegram` that runs in the caller's event loop, so
it can be killed with SIGKILL at any moment, stopped with SIGTERM and started again, like
an operator (or the kernel's OOM killer) would::

    async with FakeTelegram() as fake:
        bot = BotProcess(fake, tmp_path)                      # polling, SQLite file in tmp_path
        await bot.start()                                     # waits for "complaint-bot is running"
        fake.user(first_name="Ann").send_text("hello")
        bot.kill()                                            # kill -9
        await bot.start()
        assert await bot.terminate() == 0                     # SIGTERM, waits for the exit

Everything listens on and connects to 127.0.0.1 only. Also here:

- :class:`WebhookBalancer`: several webhook processes behind one URL. The fake delivers
  webhooks to one URL, as Telegram does; in production a load balancer (nginx) spreads
  them over the processes. This one takes turns (round robin), passes a request to the
  next process when one refuses the connection (nginx's ``proxy_next_upstream error``),
  and answers 502 when a process dies with the request in its hands (nginx does not
  resend a POST that reached an upstream), so Telegram delivers it again later. It also
  records every request it passed on (:attr:`WebhookBalancer.forwarded`), which is how a
  test sees that an update reached a process and is not answered yet.
- :class:`TcpProxy`: a TCP proxy in front of PostgreSQL that forwards, refuses
  connections (as a server that is down) or stalls (accepts, then never answers), to
  show what the bot does while the database is in trouble.
- :class:`DatabaseLock`: holds the database (SQLite's file lock, PostgreSQL table locks)
  so that the bot has an update in its hands and cannot commit it yet.
- :func:`create_database` / :func:`drop_database`: a PostgreSQL database of its own for a
  run (the bot takes its database from ``DATABASE_URL``, where asyncpg cannot be given a
  ``search_path``), migrated by ``complaint-bot db upgrade``.
- :func:`read_ledger`: what the database holds (customer messages, replies, outbox
  rows) next to what the fake received, each chat's deliveries matched against its
  replies in order: stored once? answered? delivered twice?

Set ``BOT_PROCESS_ROOT`` to run another checkout of the bot (e.g. an older commit in a
scratch clone, to see a test fail on it); the default is this repository.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from aiohttp import web

if TYPE_CHECKING:
    from tests.fakes.telegram_api import FakeTelegram

ROOT = Path(os.environ.get("BOT_PROCESS_ROOT") or Path(__file__).resolve().parents[2])
READY_LINE = "complaint-bot is running"
#: A request the fake reads up to this long after a kill may have been sent by the killed
#: process (the fake and the kill share the caller's event loop, which may be busy).
KILL_GRACE = 0.3
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
#: Environment variables of the caller that must not reach the bot (it gets its own).
_OWN_ENV = ("DATABASE_URL", "TELEGRAM_BOT_TOKEN", "TELEGRAM_API_BASE_URL", "TELEGRAM_WEBHOOK_SECRET",
            "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL",
            "COMPLAINT_BOT_CONFIG")


def free_port() -> int:
    """A TCP port of 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class BotExited(RuntimeError):
    """The bot process ended when it should not have (its log is in the message)."""


class BotProcess:
    """One ``complaint-bot run`` process, restartable; see the module docs.

    ``database_url``: PostgreSQL (already migrated); otherwise the SQLite file
    ``sqlite_file`` (default ``<workdir>/bot.db``), which the bot migrates itself.
    ``mode``: "polling" or "webhook"; in webhook mode the bot listens on ``port``
    (default: a free one) at ``/telegram`` and registers ``webhook_url`` with the fake
    (default: its own :attr:`endpoint`; give a :class:`WebhookBalancer`'s URL to put several
    processes behind one URL, and the same ``webhook_secret`` to all of them).
    ``config``: extra TOML appended to the generated file.
    """

    def __init__(
        self,
        fake: FakeTelegram,
        workdir: Path,
        *,
        name: str = "bot",
        mode: str = "polling",
        database_url: str | None = None,
        sqlite_file: Path | None = None,
        port: int | None = None,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        busy_timeout: str = "30s",
        config: str = "",
        env: dict[str, str] | None = None,
        root: Path = ROOT,
        python: str = sys.executable,
    ) -> None:
        self.fake = fake
        self.workdir = Path(workdir)
        self.name = name
        self.mode = mode
        self.database_url = database_url
        self.sqlite_file = Path(sqlite_file) if sqlite_file is not None else self.workdir / "bot.db"
        self.port = port or free_port()
        self.webhook_url = webhook_url or self.endpoint
        self.webhook_secret = webhook_secret
        self.busy_timeout = busy_timeout
        self.extra_config = config
        self.extra_env = dict(env or {})
        self.root = Path(root)
        self.python = python
        self.config_path = self.workdir / f"{name}.toml"
        self.log_path = self.workdir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self._log_offset = 0  # where the current run's output begins in the log

    @property
    def endpoint(self) -> str:
        """Where this process itself receives webhook updates."""
        return f"http://127.0.0.1:{self.port}/telegram"

    # ------------------------------------------------------------------ set-up
    def write_config(self) -> Path:
        """The TOML file the bot runs with (rewritten at each start)."""
        lines = [
            "[database]",
            f'sqlite_file = "{self.sqlite_file}"',
            f'busy_timeout = "{self.busy_timeout}"',
            'retry_every = "0.5s"',  # a restart while the database is down tries it often
            "",
            "[telegram]",
            f'mode = "{self.mode}"',
            "max_messages_per_second = 0",
        ]
        if self.mode == "webhook":
            lines += [f'webhook_url = "{self.webhook_url}"', 'webhook_path = "/telegram"']
        lines += ["", "[server]", 'listen = "127.0.0.1"', f"port = {self.port}", "", "[reports]", 'digest = "off"', ""]
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text("\n".join(lines) + "\n" + self.extra_config)
        return self.config_path

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _OWN_ENV}
        env.update(
            TELEGRAM_BOT_TOKEN=self.fake.token,
            TELEGRAM_API_BASE_URL=self.fake.url,
            PYTHONUNBUFFERED="1",
            PYTHONPATH=os.pathsep.join([str(self.root), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
            PTB_TIMEDELTA="1",
        )
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        if self.webhook_secret:
            env["TELEGRAM_WEBHOOK_SECRET"] = self.webhook_secret
        env.update(self.extra_env)
        return env

    # ------------------------------------------------------------------ life cycle
    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    async def start(self, *, wait: bool = True, timeout: float = 60.0) -> BotProcess:
        """Start the process; with ``wait`` return once it says it is running.

        Raises :class:`BotExited` when it ends before that, ``TimeoutError`` (after
        killing it) when it does not get there within ``timeout`` seconds."""
        if self.running:
            raise RuntimeError(f"{self.name} is already running (pid {self.pid})")
        self.write_config()
        with self.log_path.open("ab") as log:
            log.write(f"===== start {self.starts + 1} of {self.name} at {time.strftime('%H:%M:%S')} =====\n".encode())
            self._log_offset = log.tell()
            self.process = subprocess.Popen(
                [self.python, "-m", "bot.cli", "--config", str(self.config_path), "-v", "run"],
                cwd=self.root,
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.starts += 1
        if wait:
            await self.wait_ready(timeout)
        return self

    async def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait until the current run prints that it is running (see :meth:`start`)."""
        deadline = time.monotonic() + timeout
        while True:
            if READY_LINE in self.output():
                return
            if not self.running:
                raise BotExited(f"{self.name} exited with {self._returncode()} before it was ready:\n{self.tail()}")
            if time.monotonic() > deadline:
                self.kill()
                raise TimeoutError(f"{self.name} not ready within {timeout} s:\n{self.tail()}")
            await asyncio.sleep(0.05)

    def kill(self) -> None:
        """``kill -9``: no clean-up of any kind; returns once the process is gone."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self._note(f"killed (SIGKILL) at {time.strftime('%H:%M:%S')}")

    async def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM, and wait for the exit; returns the exit code (SIGKILL and
        ``TimeoutError`` when the clean stop takes longer than ``timeout``)."""
        if self.process is None:
            raise RuntimeError(f"{self.name} was never started")
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self.process.poll() is None:
            if time.monotonic() > deadline:
                self.kill()
                raise TimeoutError(f"{self.name} did not stop within {timeout} s of SIGTERM:\n{self.tail()}")
            await asyncio.sleep(0.05)
        self._note(f"exited with {self.process.returncode} after SIGTERM")
        return self.process.returncode

    async def restart(self, *, wait: bool = True, timeout: float = 60.0) -> BotProcess:
        """``kill -9`` (when still running), then start again."""
        self.kill()
        return await self.start(wait=wait, timeout=timeout)

    async def close(self) -> None:
        """Make sure the process is gone (for fixtures' clean-up)."""
        if self.running:
            self.kill()

    # ------------------------------------------------------------------ output
    def output(self) -> str:
        """What the current run wrote so far (stdout and stderr)."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(self._log_offset)
                return log.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def log(self) -> str:
        """Everything every run of this process wrote."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def _returncode(self) -> int | None:
        return self.process.returncode if self.process is not None else None

    def _note(self, text: str) -> None:
        with self.log_path.open("a") as log:
            log.write(f"===== {self.name} {text} =====\n")


# ---------------------------------------------------------------------- load balancer
@dataclass
class Forward:
    """One webhook request passed on by :class:`WebhookBalancer`."""

    update_id: int | None
    backend: int  # index in ``backends``
    started: float
    status: int | None = None  # None while in flight, 0 when the process died with it
    finished: float | None = None

    @property
    def in_flight(self) -> bool:
        return self.status is None


@dataclass
class WebhookBalancer:
    """Round robin over several webhook processes behind one URL (see the module docs)."""

    backends: list[str] = field(default_factory=list)  # e.g. http://127.0.0.1:PORT/telegram
    forwarded: list[Forward] = field(default_factory=list)
    timeout: float = 60.0

    def __post_init__(self) -> None:
        self._next = 0
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._changed = asyncio.Event()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/telegram"

    async def start(self) -> WebhookBalancer:
        app = web.Application()
        app.router.add_post("/telegram", self._forward)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> WebhookBalancer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_until(self, condition: Callable[[], Any], timeout: float, what: str = "condition") -> Any:
        """``condition()``'s first truthy value, re-checked whenever a request starts or ends."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not (found := condition()):
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"WebhookBalancer: {what} not met within {timeout} s (forwarded: {self.forwarded[-5:]})")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return found

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        if self.url in self.backends:
            raise RuntimeError("WebhookBalancer: a backend is the balancer itself (use BotProcess.endpoint)")
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() in ("content-type", SECRET_HEADER.lower())}
        try:
            update_id = int(json.loads(body)["update_id"])
        except Exception:  # noqa: BLE001 - only for the record
            update_id = None
        for _ in range(len(self.backends)):
            index = self._next % len(self.backends)
            self._next += 1
            forward = Forward(update_id, index, time.monotonic())
            self.forwarded.append(forward)
            self._notify()
            try:
                async with self._session.post(self.backends[index], data=body, headers=headers) as resp:
                    text = await resp.read()
                    forward.status, forward.finished = resp.status, time.monotonic()
                    self._notify()
                    return web.Response(status=resp.status, body=text)
            except aiohttp.ClientConnectorError:  # refused: nothing reached it, the next one may take it
                forward.status, forward.finished = 0, time.monotonic()
                self._notify()
                continue
            except (aiohttp.ClientError, asyncio.TimeoutError):  # died with it: Telegram tries again later
                forward.status, forward.finished = 0, time.monotonic()
                self._notify()
                return web.Response(status=502, text="upstream went away")
        return web.Response(status=502, text="no upstream answers")


# ---------------------------------------------------------------------- database faults
class TcpProxy:
    """A TCP proxy on 127.0.0.1 in front of ``target`` (host, port) with three modes:

    - ``forward``: passes bytes both ways;
    - ``refuse``: like a server that is down: existing connections are cut, new ones are
      refused (the listening socket is closed and opened again on the same port later);
    - ``stall``: like a server that hangs: connections stay open, nothing passes either
      way, new connections are accepted and never answered; when forwarding resumes
      what was held goes through.
    """

    def __init__(self, target: tuple[str, int], port: int = 0) -> None:
        self.target = target
        self.port = port
        self.mode = "forward"
        self._server: asyncio.Server | None = None
        self._open = asyncio.Event()
        self._open.set()
        self._connections: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.accepted = 0

    def url_for(self, database_url: str) -> str:
        """``database_url`` with its host and port replaced by this proxy's."""
        parts = urlsplit(database_url)
        user = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
        return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{self.port}"))

    async def start(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        await self._close_server()
        self._cut_all()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _close_server(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
            self._server = None

    def _cut_all(self) -> None:
        for writer in list(self._connections):
            transport = writer.transport
            with contextlib.suppress(Exception):
                transport.abort()
        self._connections.clear()

    async def set_mode(self, mode: str) -> None:
        """Switch to ``forward``, ``refuse`` or ``stall`` (see the class docs)."""
        if mode not in ("forward", "refuse", "stall"):
            raise ValueError(mode)
        self.mode = mode
        if mode == "refuse":
            self._open.set()  # stalled pipes wake up and find their connections cut
            await self._close_server()
            self._cut_all()
        elif mode == "stall":
            self._open.clear()
            if self._server is None:
                await self.start()
        else:
            if self._server is None:
                await self.start()
            self._open.set()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._connections.add(writer)
        upstream_writer: asyncio.StreamWriter | None = None
        try:
            await self._open.wait()  # stalled: the client waits for the server's greeting forever
            if self.mode == "refuse":
                return
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
            self._connections.add(upstream_writer)
            await asyncio.gather(self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer))
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            for w in (writer, upstream_writer):
                if w is not None:
                    self._connections.discard(w)
                    with contextlib.suppress(Exception):
                        w.transport.abort()
            self._tasks.discard(task)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self._open.wait()
                if self.mode == "refuse" or writer.transport.is_closing():
                    break
                writer.write(data)
                await writer.drain()
        finally:
            with contextlib.suppress(Exception):
                writer.transport.abort()


# ---------------------------------------------------------------------- PostgreSQL
class DatabaseLock:
    """Holds the bot's database so that storing an update waits, as a slow or busy
    database would: on SQLite the file's write lock (``BEGIN EXCLUSIVE``; the bot waits
    up to its ``busy_timeout``, and its event loop with it, since its SQLite statements
    run on the loop's thread); on PostgreSQL ``ACCESS EXCLUSIVE`` locks on the tables an
    update is written to first (the bot waits up to its statement timeout, its loop
    running on). ``async with DatabaseLock(url_or_sqlite_file): ...``"""

    TABLES = ("inbox", "processed_updates", "customers", "messages")

    def __init__(self, database: str | Path) -> None:
        self.database = database
        self._sqlite: Any = None
        self._pg: Any = None

    @property
    def postgresql(self) -> bool:
        return isinstance(self.database, str) and self.database.startswith("postgres")

    async def acquire(self) -> DatabaseLock:
        if self.postgresql:
            import asyncpg

            self._pg = await asyncpg.connect(_plain(str(self.database)))
            present = [r[0] for r in await self._pg.fetch(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
                " AND table_name = ANY($1::text[])", list(self.TABLES))]
            await self._pg.execute("BEGIN")
            await self._pg.execute(f"LOCK TABLE {', '.join(sorted(present))} IN ACCESS EXCLUSIVE MODE")
        else:
            import sqlite3

            self._sqlite = sqlite3.connect(self.database, isolation_level=None)
            self._sqlite.execute("BEGIN EXCLUSIVE")
        return self

    async def release(self) -> None:
        if self._pg is not None:
            with contextlib.suppress(Exception):
                await self._pg.execute("ROLLBACK")
            await self._pg.close()
            self._pg = None
        if self._sqlite is not None:
            self._sqlite.execute("ROLLBACK")
            self._sqlite.close()
            self._sqlite = None

    async def __aenter__(self) -> DatabaseLock:
        return await self.acquire()

    async def __aexit__(self, *exc: object) -> None:
        await self.release()


async def create_database(admin_url: str, prefix: str = "cb_crash", *, root: Path = ROOT) -> str:
    """A new database next to ``admin_url``'s, migrated by ``complaint-bot db upgrade``
    of the bot in ``root``; returns its URL."""
    import asyncpg

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    connection = await asyncpg.connect(_plain(admin_url))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    url = urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
    env = {k: v for k, v in os.environ.items() if k not in _OWN_ENV}
    env.update(DATABASE_URL=url, PYTHONPATH=str(root))
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "migrate.toml"
        config.write_text("")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "--config", str(config), "db", "upgrade",
            cwd=root, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
    if process.returncode != 0:
        await drop_database(url)
        raise RuntimeError(f"complaint-bot db upgrade failed ({process.returncode}):\n{output.decode(errors='replace')}")
    return url


async def drop_database(url: str) -> None:
    """Drop the database of ``url`` (made by :func:`create_database`), connections and all."""
    import asyncpg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    connection = await asyncpg.connect(_plain(urlunsplit(parts._replace(path="/postgres"))))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def _plain(url: str) -> str:
    """A libpq-style URL for asyncpg (no SQLAlchemy driver suffix)."""
    scheme, rest = url.split("://", 1)
    return "postgresql://" + rest if scheme.startswith("postgres") else url


# ---------------------------------------------------------------------- what happened
@dataclass
class Sent:
    """One reply the fake received (a successful sendMessage)."""

    call: int  # index in FakeTelegram.calls
    at: float  # time.time() of the request
    text: str


@dataclass
class ChatLedger:
    """One chat as the database and the fake saw it."""

    chat: str
    inbound: list[tuple[int, str]] = field(default_factory=list)  # (messages.id, platform message id) in id order
    replies_of: dict[str, list[int]] = field(default_factory=dict)  # platform message id -> its outbox ids
    outbox: dict[int, tuple[str, str]] = field(default_factory=dict)  # outbox id -> (status, text)
    delivered: dict[int, Sent] = field(default_factory=dict)  # outbox id -> its first delivery
    duplicates: list[tuple[int, Sent]] = field(default_factory=list)  # (outbox id, the repeated delivery)
    unexpected: list[Sent] = field(default_factory=list)  # deliveries matching no reply in order
    reassured: list[Sent] = field(default_factory=list)  # "your message is safe" (outside the outbox)

    def stored(self, message_id: str) -> int:
        """How many times the customer's message is in the messages table."""
        return sum(1 for _, m in self.inbound if m == message_id)

    def answered(self, message_id: str) -> bool:
        """Stored, with at least one reply, each reply marked sent and delivered."""
        replies = self.replies_of.get(message_id) or []
        return bool(replies) and all(self.outbox.get(r, ("", ""))[0] == "sent" and r in self.delivered for r in replies)

    @property
    def in_order(self) -> bool:
        """Handled in the order the customer sent them (message ids ascending)."""
        ids = [int(m) for _, m in self.inbound if m and m.isdigit()]
        return ids == sorted(ids)

    @property
    def pending(self) -> list[int]:
        return [i for i, (status, _) in self.outbox.items() if status != "sent"]


@dataclass
class Ledger:
    """Every chat's inbound messages, replies and deliveries (see :func:`read_ledger`)."""

    chats: dict[str, ChatLedger] = field(default_factory=dict)

    def chat(self, chat_id: int | str) -> ChatLedger:
        return self.chats.get(str(chat_id)) or ChatLedger(str(chat_id))

    @property
    def duplicates(self) -> list[tuple[int, Sent]]:
        return [d for c in self.chats.values() for d in c.duplicates]

    @property
    def unexpected(self) -> list[Sent]:
        return [u for c in self.chats.values() for u in c.unexpected]

    @property
    def pending(self) -> list[int]:
        return [i for c in self.chats.values() for i in c.pending]

    @property
    def inbound_count(self) -> int:
        return sum(len(c.inbound) for c in self.chats.values())


def reassurance_texts() -> frozenset[str]:
    """The "your message is safe" texts the bot sends outside the outbox while the database is down."""
    from flows.texts import default_catalogue

    texts = default_catalogue()
    return frozenset(texts.text(language, "error.saved_for_later") for language in texts.languages)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, (str, bytes)) else value


async def _rows(database: str | Path, queries: Sequence[str]) -> list[list[tuple[Any, ...]]]:
    """Run read-only ``queries`` on a PostgreSQL URL or a SQLite file."""
    if isinstance(database, str) and database.startswith("postgres"):
        import asyncpg

        connection = await asyncpg.connect(_plain(database), timeout=10)
        try:
            return [[tuple(r) for r in await connection.fetch(q)] for q in queries]
        finally:
            await connection.close()
    import sqlite3

    connection = sqlite3.connect(database, timeout=30)  # only reads (WAL: the bot's writes go on)
    try:
        return [connection.execute(q).fetchall() for q in queries]
    finally:
        connection.close()


def _match(entry: ChatLedger, sends: list[Sent], stops: Sequence[float] = ()) -> None:
    """Match a chat's deliveries with its replies (outbox order).

    Each delivery is the next reply, or a repetition of a reply already delivered (a
    relay that died before marking what it sent sends it again), or unexpected (out of
    order, or unknown). Replies often share a text ("added to your description"), so the
    reading chosen is the one with the fewest unexpected deliveries and undelivered
    replies, then the fewest repetitions, taking a delivery as the next reply when both
    fit. With ``stops`` (``time.time()`` of kills) a delivery is a repetition only if a
    stop came between an earlier delivery of the same text and it (allowing
    :data:`KILL_GRACE` for a request of the killed process that the fake read after
    the kill)."""
    texts = [text for _, (_, text) in entry.outbox.items()]
    ids = list(entry.outbox)
    actual = [s.text for s in sends]
    n, m = len(actual), len(texts)
    repeatable = [
        any(actual[j] == actual[i] and (not stops or any(sends[j].at - KILL_GRACE < t <= sends[i].at for t in stops))
            for j in range(i))
        for i in range(n)
    ]
    MISS = 1000  # an unexpected delivery or an undelivered reply costs more than any number of repetitions
    best = [[0] * (m + 1) for _ in range(n + 1)]
    for p in range(m + 1):
        best[n][p] = (m - p) * MISS
    for i in range(n - 1, -1, -1):
        for p in range(m + 1):
            options = [MISS + best[i + 1][p]]
            if p < m and texts[p] == actual[i]:
                options.append(best[i + 1][p + 1])
            if repeatable[i] and actual[i] in texts[:p]:
                options.append(1 + best[i + 1][p])
            best[i][p] = min(options)
    p = 0
    repeated: set[int] = set()
    for i, sent in enumerate(sends):
        if p < m and texts[p] == actual[i] and best[i][p] == best[i + 1][p + 1]:
            entry.delivered[ids[p]] = sent
            p += 1
        elif repeatable[i] and actual[i] in texts[:p] and best[i][p] == 1 + best[i + 1][p]:
            # the latest such reply not repeated yet: a dead relay's unmarked replies are its last ones
            candidates = [k for k in range(p) if texts[k] == actual[i] and (
                not stops or any(entry.delivered[ids[k]].at - KILL_GRACE < t <= sent.at for t in stops))] or \
                [k for k in range(p) if texts[k] == actual[i]]
            fresh = [k for k in candidates if ids[k] not in repeated] or candidates
            repeated.add(ids[fresh[-1]])
            entry.duplicates.append((ids[fresh[-1]], sent))
        else:
            entry.unexpected.append(sent)


async def read_ledger(database: str | Path, fake: FakeTelegram, stops: Sequence[float] = ()) -> Ledger:
    """What the database holds for the Telegram chats (inbound messages, replies and
    their outbox rows) next to what the fake received, each chat's deliveries matched
    against its replies in order: a delivery of a reply already delivered is a
    duplicate, one that matches nothing is unexpected (out of order, or unknown).
    ``stops``: ``time.time()`` of each kill, for telling repetitions apart exactly."""
    messages, outbox = await _rows(database, [
        "SELECT id, chat_id, direction, platform_message_id, data FROM messages WHERE channel = 'telegram' ORDER BY id",
        "SELECT id, target, status, payload FROM outbox WHERE channel = 'telegram' AND kind = 'reply' ORDER BY id",
    ])
    ledger = Ledger()
    for row_id, chat, direction, platform_id, data in messages:
        entry = ledger.chats.setdefault(str(chat), ChatLedger(str(chat)))
        if direction == "in":  # a customer's message names the outbox rows of its replies
            entry.inbound.append((int(row_id), str(platform_id)))
            replies = entry.replies_of.setdefault(str(platform_id), [])
            replies.extend(int(i) for i in (_json(data) or {}).get("replies", []))
    for outbox_id, target, status, payload in outbox:
        entry = ledger.chats.setdefault(str(target), ChatLedger(str(target)))
        entry.outbox[int(outbox_id)] = (str(status), str((_json(payload) or {}).get("text", "")))
    safe = reassurance_texts()
    sent_by_chat: dict[str, list[Sent]] = {}
    for call in fake.calls_to("sendMessage"):
        if call.status == 200:
            sent_by_chat.setdefault(str(call.params.get("chat_id")), []).append(
                Sent(call.index, call.time, str(call.params.get("text", ""))))
    for chat, sends in sent_by_chat.items():
        entry = ledger.chats.setdefault(chat, ChatLedger(chat))
        _match(entry, [s for s in sends if s.text not in safe], stops)
        entry.reassured = [s for s in sends if s.text in safe]
    return ledger


__all__ = [
    "BotExited",
    "BotProcess",
    "ChatLedger",
    "KILL_GRACE",
    "DatabaseLock",
    "Ledger",
    "Sent",
    "Forward",
    "TcpProxy",
    "WebhookBalancer",
    "create_database",
    "drop_database",
    "free_port",
    "read_ledger",
    "reassurance_texts",
]
