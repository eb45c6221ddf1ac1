"""The background loops' one shape: do a round, wait, until asked to stop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)


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
