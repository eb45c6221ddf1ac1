"""The state diagrams as mermaid text (``complaint-bot diagram``; README shows them)."""

from __future__ import annotations

from pathlib import Path

from flows.conversation import CONVERSATION_MACHINE
from flows.ticket import TICKET_MACHINE


def diagrams(include_internal: bool = False) -> dict[str, str]:
    """``{"conversation": mermaid, "ticket": mermaid}`` generated from the transition tables."""
    return {
        "conversation": CONVERSATION_MACHINE.mermaid("Customer conversation", include_internal),
        "ticket": TICKET_MACHINE.mermaid("Ticket lifecycle", include_internal=True),
    }


def write_diagrams(folder: Path, include_internal: bool = False) -> list[Path]:
    """Write ``conversation.mmd`` and ``ticket.mmd`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in diagrams(include_internal).items():
        path = folder / f"{name}.mmd"
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
