"""A `transitions` machine shared by every conversation (or ticket) of one kind.

The state lives in the database row. For each event the flow builds a small subject
object holding the current state and fires the shared machine's event on it; nothing
stays attached to the machine, so memory does not grow with the number of stored
conversations (the transitions FAQ warns against a machine per model).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Any, Generic, TypeVar

from transitions import Machine, MachineError

S = TypeVar("S", bound=StrEnum)

logger = logging.getLogger(__name__)


class IllegalEvent(Exception):
    """An event that the machine does not allow in the current state."""

    def __init__(self, machine: str, event: str, state: str) -> None:
        super().__init__(f"{machine}: event {event!r} is not allowed in state {state!r}")
        self.machine = machine
        self.event = event
        self.state = state


class Subject:
    """What the shared machine drives for one event.

    Conditions named in a transition table are methods of a subclass; they receive the
    event's keyword arguments.
    """

    def __init__(self, state: StrEnum) -> None:
        self.state = state


def transition(
    trigger: str,
    source: StrEnum | Sequence[StrEnum],
    dest: StrEnum | None,
    *,
    conditions: str | Sequence[str] = (),
    unless: str | Sequence[str] = (),
) -> dict[str, Any]:
    """One row of a transition table; ``dest=None`` declares an internal transition."""
    sources = [source] if isinstance(source, StrEnum) else list(source)
    row: dict[str, Any] = {"trigger": trigger, "source": sources, "dest": dest}
    if conditions:
        row["conditions"] = conditions
    if unless:
        row["unless"] = unless
    return row


class SharedMachine(Generic[S]):
    """One transitions ``Machine`` per kind, applied to one subject at a time."""

    def __init__(
        self,
        name: str,
        states: type[S],
        table: Iterable[Mapping[str, Any]],
        initial: S,
    ) -> None:
        self.name = name
        self.states = states
        self.initial = initial
        self.table = [dict(row) for row in table]
        self._machine = Machine(
            model=None,
            states=list(states),
            transitions=[dict(row) for row in self.table],
            initial=initial,
            auto_transitions=False,
            name=name,
        )
        self.events = frozenset(row["trigger"] for row in self.table)

    def fire(self, subject: Subject, event: str, **kwargs: Any) -> bool:
        """Apply ``event`` to ``subject``; False when every matching transition's guard said no.

        Raises :class:`IllegalEvent` when the event is unknown or not allowed in the
        subject's current state.
        """
        if event not in self.events:
            raise IllegalEvent(self.name, event, subject.state.value)
        state_before = subject.state
        try:
            # The shared Event drives the subject directly: the same transitions,
            # guards and state change as after ``add_model``, without binding the
            # machine's ~50 convenience methods onto every subject (which cost more
            # than the rest of a message's handling) and without a registry to clean up.
            return bool(self._machine.events[event].trigger(subject, **kwargs))
        except MachineError as exc:
            raise IllegalEvent(self.name, event, state_before.value) from exc

    def allowed_events(self, state: S) -> frozenset[str]:
        """Events that have at least one transition out of ``state``."""
        return frozenset(
            row["trigger"] for row in self.table if state in row["source"]
        )

    def mermaid(self, title: str | None = None, include_internal: bool = False) -> str:
        """The machine as a mermaid ``stateDiagram-v2``, from transitions' diagram support.

        Internal transitions (self-loops that record something without changing state)
        are left out unless ``include_internal``; the styling lines that highlight the
        "current" state of the throwaway diagram model are dropped.
        """
        from transitions.extensions.diagrams import GraphMachine

        class _Model:
            pass

        model = _Model()
        graph_machine = GraphMachine(
            model=model,
            states=list(self.states),
            transitions=[
                dict(row) for row in self.table if include_internal or row["dest"] is not None
            ],
            initial=self.initial,
            auto_transitions=False,
            graph_engine="mermaid",
            show_conditions=True,
            title=title or self.name,
        )
        graph = graph_machine.get_graph()
        lines = [
            line.rstrip()
            for line in str(graph.source).splitlines()
            if not line.strip().startswith(("classDef ", "Class ", "class "))
        ]
        return "\n".join(line for line in lines if line) + "\n"
