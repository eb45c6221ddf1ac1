"""The desk's words for a ticket, in the desk's language: what every desk channel (Slack's
cards, the terminal desk) calls a category, a severity, a state, a timer, an automatic
upgrade's reason, and one ticket's line in a list.

A channel subclasses :class:`DeskWords` and says how customer text is made safe for its
screen (:meth:`DeskWords.safe`: Slack escapes mrkdwn, the terminal strips control
characters).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from flows import events as ev
from flows.domain import Severity, Ticket
from flows.formatting import shorten
from flows.texts import Catalogue
from nlp import Category


ICONS = {Severity.GENERAL: "📝", Severity.IMPORTANT: "⚠️", Severity.HOT: "🔥", Severity.MAJOR: "⛔"}
"""A ticket's severity at a glance (a crisis shows 🚨)."""


class Taxonomy(Protocol):
    """What the desk's words need of the application service: the categories and their names."""

    @property
    def categories(self) -> Sequence[Category]: ...

    def category_name(self, category_id: str, language: str) -> str: ...


class DeskWords:
    """Texts of the catalogue in the desk's language; of ``taxonomy`` (the application
    service) only the categories and the function that names one are kept."""

    def __init__(self, texts: Catalogue, taxonomy: Taxonomy, language: str) -> None:
        self.texts = texts
        self.language = language
        self.categories: tuple[Category, ...] = tuple(taxonomy.categories)
        self._category_name: Callable[[str, str], str] = taxonomy.category_name

    def safe(self, text: str) -> str:
        """Customer text made safe for the channel's screen (as it is, here)."""
        return text

    def t(self, key: str, **params: object) -> str:
        return self.texts.text(self.language, key, **params)

    def text_or(self, key: str, fallback: str, **params: object) -> str:
        """The text for ``key`` if the catalogue has one, else ``fallback``."""
        return self.t(key, **params) if self.texts.has(self.language, key) else fallback

    def category_name(self, category_id: str) -> str:
        return self._category_name(category_id, self.language)

    def category(self, ticket: Ticket) -> str:
        return self.category_name(ticket.category)

    def severity(self, severity: Severity) -> str:
        return self.t(f"severity_name.{severity.value}")

    def state(self, ticket: Ticket) -> str:
        return self.t(f"ticket_state.{ticket.state.value}")

    def title(self, ticket: Ticket) -> str:
        icon = "🚨" if ticket.crisis else ICONS[ticket.severity]
        return self.t("card.title", icon=icon, number=ticket.number, category=self.category(ticket), severity=self.severity(ticket.severity))

    def timer(self, kind: str) -> str:
        return self.text_or(f"timer.{kind}", kind)

    def why(self, reason: ev.UpgradeReason, days: int | None) -> str:
        """An automatic upgrade's reason in words."""
        return self.t(f"upgrade_reason.{reason.value}", days=days if days is not None else "-")

    def line(self, ticket: Ticket) -> str:
        """One ticket in a list (the queue, one's own tickets)."""
        return self.t(
            "slash.line",
            number=ticket.number,
            severity=self.severity(ticket.severity),
            category=self.category(ticket),
            state=self.state(ticket),
            description=self.safe(shorten(ticket.description.replace("\n", " "), 60)),
        )
