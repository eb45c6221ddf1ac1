"""The rule modules are pure: no ``await``, no unit of work, no turn. They take state and
return decisions; the reading and writing around them is flows/lifecycle.py (and the
desk, the scheduler, the intake)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

FLOWS = Path(__file__).resolve().parents[3] / "flows"
RULES = ("hot_issues.py", "sla.py", "grading.py", "ownership.py", "steps.py", "ticket.py")
#: What a rule module must not reach for: the transaction and what it reads and writes.
IO_MODULES = ("flows.turn", "flows.ports", "flows.service", "flows.lifecycle")


@pytest.mark.parametrize("name", RULES)
def test_a_rule_module_awaits_nothing_and_holds_no_unit_of_work(name: str) -> None:
    tree = ast.parse((FLOWS / name).read_text(encoding="utf-8"), name)
    for node in ast.walk(tree):
        assert not isinstance(node, (ast.AsyncFunctionDef, ast.Await, ast.AsyncFor, ast.AsyncWith)), (
            f"{name}:{node.lineno}: I/O belongs in flows/lifecycle.py, next to the other load-decide-write code"
        )
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            imported = {module} | {f"{module}.{alias.name}" for alias in node.names}
            assert not imported & set(IO_MODULES), f"{name}:{node.lineno} imports {module}"
        elif isinstance(node, ast.Import):
            assert not {alias.name for alias in node.names} & set(IO_MODULES), f"{name}:{node.lineno}"
        elif isinstance(node, ast.Attribute):
            assert node.attr != "uow", f"{name}:{node.lineno}: a unit of work in a rule module"
