"""What every part of the intake works with: texts, categories, the machine, the ticket."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from flows import buttons
from flows import conversation as machine
from flows.domain import Attachment, Button, Conversation, Draft, Severity, Ticket
from flows.grading import HandoffPolicy
from flows.sla import Promises
from flows.steps import STEPS, Step
from flows.texts import Catalogue
from flows.turn import Turn
from flows.words import Vocabulary
from nlp import Classifier, Suggestion


class IntakeContext:
    """The customer side's services and the small helpers all of its parts share."""

    def __init__(
        self,
        classifier: Classifier,
        texts: Catalogue,
        promises: Promises,
        handoff: HandoffPolicy,
        *,
        desk_connected: bool,
        timezone: ZoneInfo,
    ) -> None:
        self.classifier = classifier
        self.texts = texts
        self.promises = promises
        self.handoff = handoff
        self.desk_connected = desk_connected
        self.timezone = timezone
        self.vocabulary = Vocabulary(texts)
        self._categories = {c.id: c for c in classifier.taxonomy}

    # ------------------------------------------------------------------ wording
    def t(self, turn: Turn, key: str, **params: object) -> str:
        """The text ``key`` in the customer's language."""
        return self.texts.text(turn.language, key, **params)

    def category_name(self, turn: Turn, category_id: str | None) -> str:
        return self.category_name_in(category_id, turn.language)

    def attachment_word(self, turn: Turn, attachment: Attachment) -> str:
        """What one attachment is: a photo, or a file (a document is not a photo)."""
        return self.t(turn, "attachments.photo" if attachment.kind == "photo" else "attachments.file")

    def attachments_received(self, turn: Turn, attachments: Sequence[Attachment]) -> str:
        """The attachments received so far, photos and files counted apart ("2 张照片、1 个文件")."""
        photos = sum(1 for attachment in attachments if attachment.kind == "photo")
        files = len(attachments) - photos
        said = [self.t(turn, "attachments.count_photos", count=photos)] if photos or not files else []
        if files:
            said.append(self.t(turn, "attachments.count_files", count=files))
        return self.t(turn, "attachments.joiner").join(said)

    def category_name_in(self, category_id: str | None, language: str) -> str:
        category = self._categories.get(category_id or "")
        return category.name(language) if category else (category_id or "-")

    def due(self, turn: Turn, when: datetime | None) -> str:
        """A promised time as the customer reads it ("今天 14:00" or the date)."""
        if when is None:
            return "-"
        local = when.astimezone(self.timezone)
        today = turn.now.astimezone(self.timezone).date()
        if local.date() == today:
            return self.t(turn, "time.today", time=local.strftime("%H:%M"))
        return local.strftime("%Y-%m-%d %H:%M")

    def _button(self, turn: Turn, key: str, action: str, arg: str | None = None) -> Button:
        return buttons.make(self.t(turn, key), turn.conversation, action, arg)

    # ------------------------------------------------------------------ the conversation
    def _step(self, turn: Turn) -> Step | None:
        """The step the conversation is at; None without an active conversation."""
        return STEPS.get(turn.conversation.state) if turn.conversation is not None else None

    async def _new_conversation(self, turn: Turn) -> Conversation:
        assert turn.customer.id is not None
        conv = Conversation(
            id=None,
            customer_id=turn.customer.id,
            channel=turn.channel,
            chat_id=turn.chat_id,
            created_at=turn.now,
            updated_at=turn.now,
        )
        conv = await turn.uow.conversations.add(conv)
        turn.conversation = conv
        return conv

    def _fire(self, turn: Turn, event: str, **kwargs: object) -> bool:
        assert turn.conversation is not None
        return machine.fire(turn.conversation, event, **kwargs)

    async def _ticket(self, turn: Turn) -> Ticket | None:
        """The conversation's ticket, loaded once per turn (later changes go to the same object)."""
        conv = turn.conversation
        if conv is None or conv.ticket_id is None:
            return None
        if turn.ticket is None or turn.ticket.id != conv.ticket_id:
            turn.ticket = await turn.uow.tickets.get(conv.ticket_id, lock=True)
        return turn.ticket

    # ------------------------------------------------------------------ the description
    def _classify(self, turn: Turn, draft: Draft) -> Suggestion:
        suggestion = self.classifier.classify(draft.description)
        draft.suggestion = suggestion.to_dict()
        draft.suggested_category = suggestion.category
        draft.severity = Severity(draft.severity).at_least(suggestion.severity).value
        return suggestion

    def _terms(self, conv: Conversation) -> tuple[str, ...]:
        """Key terms of what the customer described (only a real description has any)."""
        if conv.draft.suggestion is None:
            return ()  # "/human" before describing anything: the placeholder text is not theirs
        return self.classifier.key_terms(conv.draft.description)

    def _category_by_name(self, word: str) -> str | None:
        """The category a typed word names: its id or a name in any language (its number
        picks it only where the list is shown: a numbered step's button)."""
        if not word:
            return None
        for category in self._categories.values():
            if word in (category.id, *(n.casefold() for n in category.names.values())):
                return category.id
        return None
