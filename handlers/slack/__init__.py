"""The agents' desk on Slack (slack-bolt, asyncio): ticket cards, thread relay, pings.

- :class:`SlackDeskSender` (sender.py) delivers the desk's outbox items: a Block Kit
  card per handed-off ticket in the agents' channel (blocks.py; updated in place as the
  ticket moves), what the customer sends afterwards in the card's thread, and pings to
  the supervisors; every text comes from one renderer per event class (render.py).
- :func:`register` (listeners.py) adds the listeners: messages in card threads (the
  owner's replies go to the customer, notes and everyone else's messages stay internal),
  the card's buttons and their modals, and the ``/complaint`` command. Listeners are
  short: they turn Slack's payload into a small dataclass and call :class:`SlackDesk`
  (desk.py), which calls the application service.
- :func:`build_app`, :func:`authorize_once`, :func:`http_handler` (app.py): the bolt app.

Customer text shown in Slack is escaped (:func:`escape`): no ``<!channel>``, mention or
disguised link can come in through a complaint. Who may do what (first-contact
ownership, agents, supervisors) and which buttons a card offers are decided in
``flows`` (flows/ownership.py); :class:`Directory` only says who a Slack user is.
"""

from handlers.slack.app import authorize_once, build_app, http_handler
from flows.desk_words import ICONS
from handlers.slack.blocks import (
    BUTTONS,
    CLAIM,
    ESCALATE,
    REGRADE,
    REGRADE_VIEW,
    RESOLVE,
    RESOLVE_VIEW,
    TRANSFER,
    TRANSFER_VIEW,
    CardRenderer,
)
from handlers.slack.desk import (
    ButtonPress,
    CustomerDelivery,
    ModalSubmission,
    SlackDesk,
    ThreadMessage,
)
from handlers.slack.directory import Directory
from handlers.slack.listeners import register
from handlers.slack.markup import (
    SECTION_LIMIT,
    card_ref,
    escape,
    parse_card_ref,
    plain_text,
    slack_date,
)
from handlers.slack.sender import PERMANENT_ERRORS, FileFetcher, SlackDeskSender
from handlers.slack.settings import DeskSettings

__all__ = [
    "BUTTONS",
    "CLAIM",
    "ESCALATE",
    "ICONS",
    "PERMANENT_ERRORS",
    "REGRADE",
    "REGRADE_VIEW",
    "RESOLVE",
    "RESOLVE_VIEW",
    "SECTION_LIMIT",
    "TRANSFER",
    "TRANSFER_VIEW",
    "ButtonPress",
    "CardRenderer",
    "CustomerDelivery",
    "DeskSettings",
    "Directory",
    "FileFetcher",
    "ModalSubmission",
    "SlackDesk",
    "SlackDeskSender",
    "ThreadMessage",
    "authorize_once",
    "build_app",
    "card_ref",
    "escape",
    "http_handler",
    "parse_card_ref",
    "plain_text",
    "register",
    "slack_date",
]
