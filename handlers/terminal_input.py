"""Reading what a person types at the terminal, for the chat and the desk.

Lines are read in a daemon thread (``input()`` through GNU readline blocks, and only the
main thread sees signals), so that:

* Ctrl-C at the prompt leaves like Ctrl-D: the pending read ends with "end of input", the
  program says goodbye and exits; the thread still waiting in ``input()`` does not keep the
  process alive, and the terminal's mode (which readline changed while waiting) is put
  back. A second Ctrl-C stops at once (KeyboardInterrupt).
* On a terminal a paste arrives whole: lines that are already waiting within
  ``PASTE_WINDOW`` seconds after a line (nobody types that fast) are joined to it into one
  message. Typed lines stay separate, and from a pipe or a file every line is its own
  message.

Without readline the lines are read from the file descriptor itself, not through
``sys.stdin``'s buffer (a daemon thread holding that buffer's lock would make the
interpreter's shutdown fail).
"""

from __future__ import annotations

import asyncio
import os
import select
import signal
import sys
import threading
from typing import Any, TextIO

try:
    import termios
except ImportError:  # Windows
    termios = None  # type: ignore[assignment]

PASTE_WINDOW = 0.04
"""Seconds after a line within which more waiting input counts as the same paste."""
TTY_LINE_LIMIT = 4095
"""Bytes of one line a terminal in canonical mode passes on (Linux); the rest is dropped."""

Read = tuple[str, bool]  # the text with its newline ("" at the end), and whether it may be cut


class LineReader:
    """Typed lines, read whole.

    When both stdin and stdout are the terminal (and ``line_editing``), lines are read with
    ``input()`` through GNU readline (imported here), which reads a line of any length and
    gives line editing and history. Otherwise lines are read as they come; from a pipe or a
    file a line is never cut, but from a terminal whose output is redirected the terminal's
    canonical mode keeps only the first 4095 bytes of a line, and such a line is reported
    as cut.
    """

    def __init__(self, stdin: TextIO, out: TextIO | None, *, line_editing: bool = True, joins_pastes: bool = True) -> None:
        self.stdin = stdin
        self.out = out
        self.on_terminal = _isatty(stdin)
        self.through_readline = (
            line_editing
            and stdin is sys.stdin
            and out is sys.stdout
            and self.on_terminal
            and _isatty(out)
            and _readline_loaded()
        )
        self.joins_pastes = joins_pastes and self.on_terminal
        self.interrupted = False  # Ctrl-C was pressed
        self._at_end = False  # end of input was read (maybe while looking for more of a paste)
        self._fd = _fileno(stdin)
        self._bytes = b""  # read from the descriptor, not yet a whole line
        self._mode = _terminal_mode(self._fd) if self.on_terminal else None
        self._waiting: asyncio.Future[Read] | None = None
        self._in_thread = False  # a thread is blocked reading
        self._catching: asyncio.AbstractEventLoop | None = None

    async def read(self, prompt: str = "") -> Read:
        """The next message with its newline ("" at end of input or after Ctrl-C), and
        whether the terminal may have cut it."""
        if self.interrupted or self._at_end:
            return "", False
        loop = asyncio.get_running_loop()
        self.catch_interrupt()
        waiting: asyncio.Future[Read] = loop.create_future()
        self._waiting = waiting

        def work() -> None:
            self._in_thread = True
            try:
                result: Read | BaseException = self._read_message(prompt)
            except Exception as exc:  # noqa: BLE001 - handed to the waiting coroutine
                result = exc
            finally:
                self._in_thread = False
            try:
                loop.call_soon_threadsafe(_settle, waiting, result)
            except RuntimeError:  # the loop is closed: the program is leaving
                pass

        threading.Thread(target=work, name="terminal-input", daemon=True).start()
        try:
            return await waiting
        finally:
            self._waiting = None

    def close(self) -> None:
        """Stop catching Ctrl-C; if a read is still blocked (Ctrl-C), give the terminal its mode back."""
        if self._catching is not None:
            try:
                self._catching.remove_signal_handler(signal.SIGINT)
            except (RuntimeError, ValueError):  # the loop is closed
                pass
            self._catching = None
        if self._in_thread and self._mode is not None and termios is not None and self._fd is not None:
            try:
                termios.tcsetattr(self._fd, termios.TCSADRAIN, self._mode)
            except (termios.error, OSError):
                pass

    # ------------------------------------------------------------------ Ctrl-C
    def catch_interrupt(self) -> None:
        """From now on (until ``close``) Ctrl-C ends the input instead of stopping the program
        in the middle of a reply (called by ``read``; call it early to cover the start too)."""
        loop = asyncio.get_running_loop()
        if self._catching is not None or threading.current_thread() is not threading.main_thread():
            return
        try:
            loop.add_signal_handler(signal.SIGINT, self._interrupt)
        except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not the main thread
            return
        self._catching = loop

    def _interrupt(self) -> None:
        """Ctrl-C: the pending read (or the next one) ends the input; a second Ctrl-C stops at once."""
        self.interrupted = True
        if self._catching is not None:
            self._catching.remove_signal_handler(signal.SIGINT)  # back to KeyboardInterrupt
            self._catching = None
        if self._waiting is not None:
            _settle(self._waiting, ("", False))

    # ------------------------------------------------------------------ in the reading thread
    def _read_message(self, prompt: str) -> Read:
        line, cut = self._read_line(prompt)
        if not self.joins_pastes:
            return line, cut
        lines = [line]
        while line.endswith("\n") and self._more_waiting():
            line, more_cut = self._read_line("")
            if not line:
                break
            lines.append(line)
            cut = cut or more_cut
        return "".join(lines), cut

    def _more_waiting(self) -> bool:
        if b"\n" in self._bytes:
            return True
        if self._fd is None:
            return False
        try:
            readable, _, _ = select.select([self._fd], [], [], PASTE_WINDOW)
        except (OSError, ValueError):
            return False
        return bool(readable)

    def _read_line(self, prompt: str) -> Read:
        if self.through_readline:
            try:
                return input(prompt) + "\n", False
            except EOFError:
                self._at_end = True
                return "", False
        if prompt and self.out is not None:
            self.out.write(prompt)
            self.out.flush()
        if self._fd is None:  # not a file (a test's StringIO)
            line = self.stdin.readline()
            self._at_end = not line
            return line, False
        while b"\n" not in self._bytes:
            try:
                chunk = os.read(self._fd, 65536)
            except OSError:  # the terminal went away
                chunk = b""
            if not chunk:
                self._at_end = True
                raw, self._bytes = self._bytes, b""
                return self._decode(raw), False
            self._bytes += chunk
        raw, _, self._bytes = self._bytes.partition(b"\n")
        cut = self.on_terminal and len(raw.rstrip(b"\r")) >= TTY_LINE_LIMIT - 1
        return self._decode(raw + b"\n"), cut

    def _decode(self, raw: bytes) -> str:
        return raw.decode(getattr(self.stdin, "encoding", None) or "utf-8", errors="replace")


def _settle(waiting: asyncio.Future[Read], result: Read | BaseException) -> None:
    if waiting.done():
        return
    if isinstance(result, BaseException):
        waiting.set_exception(result)
    else:
        waiting.set_result(result)


def _isatty(stream: TextIO | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):  # no such method, or a closed stream
        return False


def _fileno(stream: TextIO) -> int | None:
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError):  # io.StringIO, or closed
        return None


def _terminal_mode(fd: int | None) -> list[Any] | None:
    if termios is None or fd is None:
        return None
    try:
        return termios.tcgetattr(fd)
    except (termios.error, OSError):
        return None


def _readline_loaded() -> bool:
    """Load GNU readline (or libedit) so that ``input()`` uses it; False where there is none."""
    try:
        import readline  # noqa: F401 - importing it is what makes input() use it
    except ImportError:  # Windows
        return False
    return True
