"""Block Kit for the desk: a ticket's card (its buttons come from ``DeskView.actions``,
never from the ticket's state), its modals, and the words the desk shows for a ticket.

Customer text is escaped (:func:`escape`) wherever it appears.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flows.domain import Severity, Ticket
from flows.explain import explaining_words
from flows.formatting import mask_contact, shorten
from flows.intake import severity_reason
from flows.ownership import DeskAction
from flows.service import DeskView
from flows.desk_words import DeskWords
from handlers.slack.markup import SECTION_LIMIT, escape, slack_date

# action ids of the card's buttons, and callback ids of their modals
CLAIM, TRANSFER, ESCALATE, REGRADE, RESOLVE = (
    "ticket_claim", "ticket_transfer", "ticket_escalate", "ticket_regrade", "ticket_resolve",
)  # fmt: skip
TRANSFER_VIEW, REGRADE_VIEW, RESOLVE_VIEW = "ticket_transfer_view", "ticket_regrade_view", "ticket_resolve_view"
#: the button of each action the card can offer (a reply and a note are thread messages)
BUTTONS: dict[DeskAction, str] = {
    DeskAction.CLAIM: CLAIM,
    DeskAction.TRANSFER: TRANSFER,
    DeskAction.ESCALATE: ESCALATE,
    DeskAction.REGRADE: REGRADE,
    DeskAction.RESOLVE: RESOLVE,
}
STYLES = {DeskAction.CLAIM: "primary", DeskAction.ESCALATE: "danger", DeskAction.RESOLVE: "primary"}


class CardRenderer(DeskWords):
    """Block Kit for tickets, in the desk's language.

    The words themselves (category, severity, state, title, a ticket's line) are
    :class:`flows.desk_words.DeskWords`; Slack escapes customer text (:meth:`safe`)."""

    def safe(self, text: str) -> str:
        return escape(text)

    def fallback(self, ticket: Ticket) -> str:
        """The notification text of the card."""
        return self.t(
            "card.fallback",
            number=ticket.number,
            category=self.category(ticket),
            severity=self.severity(ticket.severity),
            state=self.state(ticket),
        )

    def link(self, ticket: Ticket, permalink: str | None) -> str:
        text = self.t("ping.link", number=ticket.number, category=self.category(ticket))
        return f"<{permalink}|{escape(text)}>" if permalink else escape(text)

    def _why(self, ticket: Ticket) -> tuple[str, str]:
        cues = (ticket.classification or {}).get("cues", {})
        words = explaining_words(cues, ticket.category)
        reasons = [severity_reason(c, self.language) for c in cues.get("severity", [])]
        none = self.t("card.none")
        cues_joined = self.t("category.cue_joiner").join(words)
        reasons_joined = self.t("severity.reason_joiner").join(dict.fromkeys(reasons))
        return escape(cues_joined or none), escape(reasons_joined or none)

    def blocks(self, view: DeskView) -> list[dict[str, Any]]:
        ticket, customer = view.ticket, view.customer
        none = self.t("card.none")
        why_category, why_severity = self._why(ticket)
        owner = f"<@{ticket.owner_id}>" if ticket.owner_id else self.t("card.unclaimed")
        fields = [
            (self.t("card.state"), escape(self.state(ticket))),
            (self.t("card.owner"), owner),
            (self.t("card.customer"), escape(customer.display_name or customer.external_id)),
            (self.t("card.contact"), escape(mask_contact(ticket.contact)) if ticket.contact else none),
            (self.t("card.order"), escape(ticket.order_number or none)),
            (self.t("card.when"), escape(ticket.occurred or none)),
            (self.t("card.first_due"), slack_date(ticket.first_response_due, none)),
            (self.t("card.resolution_due"), slack_date(ticket.resolution_due, none)),
            (self.t("card.why_category"), why_category),
            (self.t("card.why_severity"), why_severity),
        ]
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": shorten(self.title(ticket), 150), "emoji": True}},
        ]
        if ticket.crisis:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*{self.t('card.crisis')}*"}})
        blocks.append({"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{k}*\n{v}"} for k, v in fields]})
        description = escape(shorten(ticket.description, SECTION_LIMIT - 40))
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*{self.t('card.description')}*\n{description}"}})
        context = []
        if ticket.handoff_reason:
            reason = self.text_or(f"card.reason.{ticket.handoff_reason}", ticket.handoff_reason)
            context.append(self.t("card.handoff", reason=reason))
        if ticket.amount:  # in the context: a section holds at most 10 fields
            context.append(f"{self.t('card.amount')}: {escape(ticket.amount)}")
        if ticket.photos:
            context.append(f"{self.t('card.photos')}: {len(ticket.photos)}")
        if ticket.reopen_count:
            context.append(self.t("card.reopened", count=ticket.reopen_count))
        if ticket.rating is not None:
            context.append(self.t("card.rating", rating=ticket.rating, comment=escape(ticket.feedback or "")))
        if view.hot_issue_term:
            context.append(self.t("card.hot_issue", term=escape(view.hot_issue_term)))
        if context:
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(context)}]})
        buttons = self._buttons(ticket, view.actions)
        if buttons:
            blocks.append({"type": "actions", "block_id": "ticket_actions", "elements": buttons})
        return blocks

    def _buttons(self, ticket: Ticket, actions: Sequence[DeskAction]) -> list[dict[str, Any]]:
        """A button for each action the card offers, in the order given."""
        return [self._button(ticket, action) for action in actions if action in BUTTONS]

    def _button(self, ticket: Ticket, action: DeskAction) -> dict[str, Any]:
        label = self.t(f"card.{action.value}")
        element: dict[str, Any] = {
            "type": "button",
            "action_id": BUTTONS[action],
            "value": str(ticket.id),
            "text": {"type": "plain_text", "text": label, "emoji": True},
        }
        style = STYLES.get(action)
        if style:
            element["style"] = style
        if action is DeskAction.ESCALATE:  # it pings every supervisor: asked once more
            element["confirm"] = {
                "title": {"type": "plain_text", "text": label},
                "text": {"type": "plain_text", "text": self.t("card.escalate_confirm", number=ticket.number)},
                "confirm": {"type": "plain_text", "text": self.t("card.confirm_yes")},
                "deny": {"type": "plain_text", "text": self.t("card.confirm_no")},
            }
        return element

    def words(self, key: str) -> frozenset[str]:
        """Command words (``slash.mine_words``...): every language's, comma-separated, lower-cased."""
        texts = self.texts
        return frozenset(
            w.strip().lower() for language in texts.languages for w in texts.text(language, key).split(",") if w.strip()
        )

    # -- modals
    def transfer_modal(self, ticket: Ticket) -> dict[str, Any]:
        return self._modal(TRANSFER_VIEW, ticket, "modal.transfer_title", [
            {"type": "input", "block_id": "to", "label": {"type": "plain_text", "text": self.t("modal.transfer_label")},
             "element": {"type": "users_select", "action_id": "user"}},
        ])

    def resolve_modal(self, ticket: Ticket) -> dict[str, Any]:
        return self._modal(RESOLVE_VIEW, ticket, "modal.resolve_title", [
            {"type": "input", "block_id": "note", "optional": True,
             "label": {"type": "plain_text", "text": self.t("modal.resolve_note")},
             "element": {"type": "plain_text_input", "action_id": "text", "multiline": True, "max_length": 2000}},
        ])

    def regrade_modal(self, ticket: Ticket) -> dict[str, Any]:
        def option(text: str, value: str) -> dict[str, Any]:
            return {"text": {"type": "plain_text", "text": shorten(text, 75)}, "value": value}

        categories = [option(c.name(self.language), c.id) for c in self.categories]
        severities = [option(self.severity(s), s.value) for s in Severity]
        current_category = next((o for o in categories if o["value"] == ticket.category), categories[0])
        current_severity = next(o for o in severities if o["value"] == ticket.severity.value)
        crisis = option(self.t("modal.regrade_crisis"), "crisis")
        return self._modal(REGRADE_VIEW, ticket, "modal.regrade_title", [
            {"type": "input", "block_id": "category", "label": {"type": "plain_text", "text": self.t("modal.regrade_category")},
             "element": {"type": "static_select", "action_id": "value", "options": categories, "initial_option": current_category}},
            {"type": "input", "block_id": "severity", "label": {"type": "plain_text", "text": self.t("modal.regrade_severity")},
             "element": {"type": "static_select", "action_id": "value", "options": severities, "initial_option": current_severity}},
            {"type": "input", "block_id": "crisis", "optional": True, "label": {"type": "plain_text", "text": " "},
             "element": {"type": "checkboxes", "action_id": "value", "options": [crisis]}},
        ])

    def _modal(self, callback_id: str, ticket: Ticket, title: str, blocks: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": str(ticket.id),
            "title": {"type": "plain_text", "text": shorten(self.t(title), 24)},
            "submit": {"type": "plain_text", "text": self.t("modal.submit")},
            "close": {"type": "plain_text", "text": self.t("modal.cancel")},
            "blocks": [
                {"type": "context", "elements": [{"type": "plain_text", "text": shorten(self.title(ticket), 150)}]},
                *blocks,
            ],
        }
