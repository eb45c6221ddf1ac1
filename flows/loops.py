"""The background loops' one shape: do a round, wait, until asked to stop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Stopped(Exception):
    """``stop`` was set before the work finished (the work was cancelled)."""


async def every(interval: float, stop: asyncio.Event, round_: Callable[[], Awaitable[object]], name: str) -> None:
    """Run ``round_`` every ``interval`` seconds until ``stop`` is set. A failing round is
    logged and the loop goes on (a database or a platform may come back)."""
    while not stop.is_set():
        try:
            await round_()
        except Exception:
            logger.exception("%s: round failed; next in %s s", name, interval)
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            pass


async def unless_stopped(stop: asyncio.Event | None, work: Awaitable[T]) -> T:
    """``work``'s result; if ``stop`` is set first, ``work`` is cancelled and
    :class:`Stopped` raised (a long poll or a wait for the database cut short)."""
    if stop is None:
        return await work
    if stop.is_set():
        if asyncio.iscoroutine(work):
            work.close()
        raise Stopped
    task = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    if task.cancelled():
        raise Stopped
    return task.result()


async def pause(stop: asyncio.Event, seconds: float) -> None:
    """Wait ``seconds``, or less if ``stop`` is set meanwhile."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass
