"""The desk's corrections of the classifier: kept with the change, exported as labelled data."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.domain import Actor, Correction, Severity, Ticket
from flows.service import ComplaintService
from storage.corrections import export_corrections
from storage.database import Database, DatabaseURLError
from tests.service.conftest import Clock, Customer, Store, every_store

both_backends = pytest.mark.usefixtures("backend")

ALICE = Actor("U1", "Alice", is_agent=True)
SUE = Actor("U9", "Sue", is_supervisor=True)
TEXT = "衣服洗了一次就掉色了"


async def submitted(customer: Customer, text: str) -> Ticket:
    """A complaint described and submitted without details."""
    return await customer.submit(text)


async def current(service: ComplaintService, ticket: Ticket) -> Ticket:
    found = await service.find_ticket(ticket.number or "")
    assert found is not None
    return found


async def handed_off(customer: Customer, text: str = TEXT) -> Ticket:
    await customer.say(text)
    await customer.command("human")
    assert customer.last and customer.last.ticket and customer.last.ticket.number
    return customer.last.ticket


def suggested(ticket: Ticket) -> tuple[str, Severity]:
    assert ticket.classification is not None
    return ticket.classification["category"], Severity(ticket.classification["severity"])


def another_category(category: str) -> str:
    return "misleading" if category != "misleading" else "product_quality"


async def corrections(store: Store, ticket: Ticket) -> list[Correction]:
    assert ticket.id is not None
    async with store() as uow:
        return list(await uow.tickets.corrections(ticket.id))


def export(database: Database) -> list[dict[str, object]]:
    return export_corrections(database.url, search_path=database.options.get("search_path"))


@every_store
async def test_a_category_change_is_kept_with_the_suggestion_and_who_made_it(
    customer: Customer, service: ComplaintService, store: Store, clock: Clock
) -> None:
    ticket = await handed_off(customer)
    category, severity = suggested(ticket)
    target = another_category(category)
    clock.advance(minutes=5)
    changed = await service.change_category(ticket.number or "", ALICE, target)
    assert changed.ok

    [kept] = await corrections(store, ticket)
    assert kept.id is not None and kept.ticket_id == ticket.id
    assert kept.text == TEXT
    assert (kept.suggested_category, kept.suggested_severity) == (category, severity)
    assert (kept.previous_category, kept.previous_severity) == (ticket.category, ticket.severity)
    assert (kept.category, kept.severity) == (target, ticket.severity), "the unchanged label is the current one"
    assert (kept.actor_id, kept.actor_name, kept.actor_role) == ("U1", "Alice", "agent")
    assert kept.created_at == clock.now


@every_store
async def test_a_severity_change_is_kept(
    customer: Customer, service: ComplaintService, store: Store, clock: Clock
) -> None:
    ticket = await handed_off(customer)
    category, severity = suggested(ticket)
    assert (await service.change_severity(ticket.number or "", SUE, Severity.HOT)).ok

    [kept] = await corrections(store, ticket)
    assert (kept.suggested_category, kept.suggested_severity) == (category, severity)
    assert (kept.category, kept.severity) == (ticket.category, Severity.HOT)
    assert kept.previous_severity is ticket.severity
    assert (kept.actor_id, kept.actor_name, kept.actor_role) == ("U9", "Sue", "supervisor")


async def test_no_change_refusal_or_crisis_is_not_a_correction(
    customer: Customer, service: ComplaintService, store: Store
) -> None:
    ticket = await handed_off(customer)
    number = ticket.number or ""
    assert (await service.change_category(number, ALICE, ticket.category)).ok
    assert (await service.change_severity(number, ALICE, ticket.severity)).ok
    assert (await service.regrade(number, ALICE, category=ticket.category, severity=ticket.severity)).ok
    raised = await service.change_severity(number, ALICE, Severity.HOT)
    assert raised.ok
    refused = await service.change_severity(number, ALICE, Severity.GENERAL)
    assert not refused.ok, "only a supervisor lowers severity"
    assert not (await service.change_category(number, ALICE, "nonsense")).ok
    assert (await service.declare_crisis(number, SUE)).ok
    assert [(c.severity, c.actor_id) for c in await corrections(store, ticket)] == [(Severity.HOT, "U1")]


async def test_a_ticket_without_a_description_keeps_no_correction(
    customer: Customer, service: ComplaintService, store: Store
) -> None:
    await customer.command("human")  # nothing described: the classifier judged nothing
    assert customer.last and customer.last.ticket and customer.last.ticket.classification is None
    ticket = customer.last.ticket
    assert (await service.change_category(ticket.number or "", ALICE, another_category(ticket.category))).ok
    assert await corrections(store, ticket) == []


@both_backends
async def test_automatic_upgrades_are_not_corrections(
    customer: Customer, service: ComplaintService, database: Database, clock: Clock
) -> None:
    ticket = await handed_off(customer)
    number = ticket.number or ""
    clock.advance(days=7, minutes=1)
    await service.run_due_timers()  # unresolved 7 days: hot
    assert (await service.find_ticket(number)).severity is Severity.HOT  # type: ignore[union-attr]
    assert await corrections(database, ticket) == []

    # a repeat complaint (not solved after resolving) raises it too, on its own
    other = Customer(service, chat_id="200")
    repeat = await handed_off(other, "快递送错了，东西也没收到")
    await service.claim(repeat.number or "", ALICE)
    resolved = await service.resolve(repeat.number or "", ALICE)
    other.receive(resolved.replies)
    await other.press("没有解决")
    assert other.last and other.last.ticket and other.last.ticket.severity is Severity.IMPORTANT
    assert await corrections(database, repeat) == []
    assert export(database) == []


@both_backends
async def test_export_gives_the_final_labels_of_each_ticket_and_keeps_every_row(
    customer: Customer, service: ComplaintService, database: Database, clock: Clock
) -> None:
    first = await handed_off(customer)
    category, severity = suggested(first)
    target = another_category(category)
    number = first.number or ""
    assert (await service.change_category(number, ALICE, "other" if category != "other" else "delivery")).ok
    clock.advance(minutes=1)
    assert (await service.change_category(number, ALICE, target)).ok
    clock.advance(minutes=1)
    assert (await service.regrade(number, SUE, severity=Severity.IMPORTANT)).ok
    last_at = clock.now

    other = Customer(service, chat_id="200")
    second = await handed_off(other, "退款一直没到账")
    clock.advance(minutes=1)
    assert (await service.change_severity(second.number or "", ALICE, Severity.HOT)).ok

    untouched = Customer(service, chat_id="300")
    await handed_off(untouched, "快递送错了，东西也没收到")

    kept = await corrections(database, first)
    assert len(kept) == 3, "every change stays in the table"
    assert len(await corrections(database, second)) == 1

    exported = export(database)
    assert [e["ticket"] for e in exported] == [first.number, second.number]
    latest = exported[0]
    assert latest == {
        "id": f"desk-{kept[-1].id}",
        "text": TEXT,
        "category": target,
        "also_ok": [],
        "severity": "important",
        "suggested_category": category,
        "suggested_severity": severity.value,
        "by": "Sue",
        "at": last_at.isoformat(),
        "ticket": first.number,
    }
    assert exported[1]["text"] == "退款一直没到账"
    assert (exported[1]["category"], exported[1]["severity"], exported[1]["by"]) == (suggested(second)[0], "hot", "Alice")


KETTLE = "美的电水壶用了两天就坏了"


@both_backends
async def test_a_category_change_on_a_hot_issue_exports_the_suggested_severity(
    service: ComplaintService, database: Database, clock: Clock
) -> None:
    """Three customers with the same complaint make a hot issue: every ticket is raised to
    hot, which the text does not show. Re-filing one keeps that row (the ticket's current
    severity, hot), but the export's severity is the classifier's, not the upgrade's."""
    tickets = []
    for n in range(3):
        clock.advance(hours=1)
        tickets.append(await submitted(Customer(service, chat_id=f"20{n}"), KETTLE))
    first = await current(service, tickets[0])
    category, severity = suggested(first)
    assert severity is not Severity.HOT, "the text alone is not hot"
    assert first.severity is Severity.HOT and first.hot_issue_id is not None, "raised by the hot issue"

    target = another_category(category)
    clock.advance(minutes=5)
    assert (await service.change_category(first.number or "", ALICE, target)).ok
    [kept] = await corrections(database, first)
    assert (kept.category, kept.severity) == (target, Severity.HOT), "every row stored as the ticket was"
    assert kept.changes_category and not kept.changes_severity

    [exported] = export(database)
    assert exported["ticket"] == first.number and exported["text"] == KETTLE
    assert (exported["category"], exported["severity"]) == (target, severity.value)
    assert (exported["suggested_category"], exported["suggested_severity"]) == (category, severity.value)


@both_backends
async def test_a_category_change_after_an_overdue_upgrade_exports_the_suggested_severity(
    customer: Customer, service: ComplaintService, database: Database, clock: Clock
) -> None:
    ticket = await handed_off(customer)
    category, severity = suggested(ticket)
    clock.advance(days=7, minutes=1)
    await service.run_due_timers()  # unresolved 7 days: hot
    assert (await current(service, ticket)).severity is Severity.HOT
    assert (await service.change_category(ticket.number or "", ALICE, another_category(category))).ok
    [exported] = export(database)
    assert (exported["category"], exported["severity"]) == (another_category(category), severity.value)


@both_backends
async def test_a_severity_change_then_a_category_change_exports_both_labels_people_set(
    customer: Customer, service: ComplaintService, database: Database, clock: Clock
) -> None:
    """The latest severity change and the latest category change are different rows, and an
    automatic upgrade in between leaves the person's severity the label."""
    ticket = await handed_off(customer)
    category, severity = suggested(ticket)
    number = ticket.number or ""
    chosen = Severity.IMPORTANT if severity is not Severity.IMPORTANT else Severity.GENERAL
    clock.advance(minutes=1)
    assert (await service.change_severity(number, SUE, chosen)).ok
    clock.advance(days=7, minutes=1)
    await service.run_due_timers()  # unresolved 7 days: hot, automatically
    assert (await current(service, ticket)).severity is Severity.HOT
    clock.advance(minutes=1)
    target = another_category(category)
    assert (await service.change_category(number, ALICE, target)).ok
    last_at = clock.now

    first, last = await corrections(database, ticket)
    assert first.changes_severity and not first.changes_category
    assert last.changes_category and not last.changes_severity
    assert (last.category, last.severity) == (target, Severity.HOT), "the row keeps the ticket's severity"

    [exported] = export(database)
    assert (exported["category"], exported["severity"]) == (target, chosen.value)
    assert (exported["id"], exported["by"], exported["at"]) == (f"desk-{last.id}", "Alice", last_at.isoformat())

    # a later severity change by a person is the label again, whatever the ticket was raised to
    clock.advance(minutes=1)
    assert (await service.change_severity(number, SUE, Severity.MAJOR)).ok
    [exported] = export(database)
    assert (exported["category"], exported["severity"], exported["by"]) == (target, "major", "Sue")


def test_export_refuses_a_missing_sqlite_file(tmp_path: Path) -> None:
    missing = tmp_path / "nothing-here.db"
    with pytest.raises(DatabaseURLError, match="no SQLite database"):
        export_corrections(f"sqlite:///{missing}")
    assert not missing.exists()
