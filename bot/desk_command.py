"""``complaint-bot desk``: the agents' desk in this terminal (handlers/desk_console.py).

The person at the terminal is an agent named ``--agent`` (default: the login name), a
supervisor with ``--supervisor`` or when ``[desk] supervisors`` names them. Without
Slack the terminal is the desk channel: it shows the desk's events (while it holds the
terminal desk's lease) and runs the promise timers (reminders, overdue, follow-up
closing), so a customer's ``complaint-bot chat`` in another terminal gets the whole
loop. With Slack configured, Slack shows the events; the terminal works on tickets.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys

from bot.bootstrap import build
from bot.config import Settings
from flows.domain import Actor
from flows.loops import every
from handlers.desk_console import DeskConsole, LiveEvents, Screen, TerminalDeskSender, TerminalRenderer

TIMERS_EVERY = 5.0  # seconds between rounds of due promise timers


async def run_desk(settings: Settings, agent: str, supervisor: bool, prompt: bool) -> int:
    app = await build(settings, desk_connected=True)
    supervisors = settings.desk_supervisors
    actor = Actor(agent, agent, is_agent=True, is_supervisor=supervisor or agent in supervisors)

    def colleague(name: str) -> Actor:
        """Whom ``transfer NAME`` names: an agent of the terminal desk."""
        return Actor(name, name, is_agent=True, is_supervisor=name in supervisors)

    renderer = TerminalRenderer(app.service.texts, app.service, settings.desk_language, settings.timezone)
    screen = Screen(sys.stdout, "desk> " if prompt else None)
    console = DeskConsole(app.service, renderer, screen, actor, colleague)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(every(TIMERS_EVERY, stop, app.service.run_due_timers, "scheduler"), name="timers")]
    if settings.slack_bot_token:
        screen.show([renderer.t("terminal_desk.events_slack")])
    else:
        sender = TerminalDeskSender(app.service, renderer, screen, actor)
        owner = f"{agent}@{socket.gethostname()}:{os.getpid()}"
        events = LiveEvents(app.database.unit_of_work, sender, app.clock, owner)
        tasks.append(asyncio.create_task(events.run(stop), name="desk-events"))
    try:
        await console.run()
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await app.close()
    return 0
