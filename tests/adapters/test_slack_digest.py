"""The weekly digest: queued once per week however many processes try, posted to the
supervisors with the report and its chart."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from slack_sdk.web.async_client import AsyncWebClient

from bot.runner import next_digest
from flows.domain import DESK_CHANNEL
from flows.events import DigestDue
from flows.service import ComplaintService, desk_item
from handlers import slack
from nlp import default_classifier
from storage.database import Database
from storage.reports import build_report
from tests.fakes.slack_api import FakeSlack
from tests.service.conftest import Clock, Customer

SUPS = "C0SUPS"


def test_next_digest_is_the_next_weekday_at_the_local_hour() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    wednesday = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)  # 11:00 in Shanghai
    assert next_digest(wednesday, 0, time(9), shanghai) == datetime(2026, 11, 30, 9, 0, tzinfo=shanghai)
    monday_morning = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)  # 08:30 in Shanghai
    assert next_digest(monday_morning, 0, time(9), shanghai) == datetime(2026, 11, 30, 9, 0, tzinfo=shanghai)
    assert next_digest(datetime(2026, 11, 30, 1, 0, tzinfo=UTC), 0, time(9), shanghai) == datetime(2026, 12, 7, 9, 0, tzinfo=shanghai)


async def test_the_digest_is_queued_once_per_key(service: ComplaintService, database: Database, clock: Clock) -> None:
    until = clock.now
    assert await service.schedule_digest("2026-W48", until - timedelta(days=7), until)
    assert not await service.schedule_digest("2026-W48", until - timedelta(days=7), until)
    async with database() as uow:
        items = await uow.outbox.pending(DESK_CHANNEL, "digest")
    assert [i.kind for i in items] == ["digest"]


async def test_the_digest_posts_the_report_and_its_chart_to_the_supervisors(
    database: Database, clock: Clock
) -> None:
    service = ComplaintService(database.unit_of_work, default_classifier(), clock=clock, desk_language="en")
    for n in range(3):
        customer = Customer(service, chat_id=f"40{n}")
        await customer.say("快递一直没到，电话也打不通")
        await customer.command("human")
    async with FakeSlack() as fake:
        fake.add_channel(SUPS, "supervisors")
        settings = slack.DeskSettings(agents_channel=SUPS, supervisors_channel=SUPS, supervisor_group="S0SUPS")
        renderer = slack.CardRenderer(service.texts, service, "en")
        sender = slack.SlackDeskSender(
            AsyncWebClient(token=fake.bot_token, base_url=fake.api_url), service, settings, renderer,
            reports=functools.partial(build_report, database, now=clock.now),
        )
        since, until = clock.now - timedelta(days=7), clock.now + timedelta(minutes=1)
        await sender.send(desk_item(DigestDue(None, since=since, until=until, key="2026-W47"), clock.now))
        post = fake.messages(SUPS)[-1]
        assert post["text"].startswith("<!subteam^S0SUPS> 📊 Weekly complaint report")
        assert "Tickets: 3" in post["text"]
        chart = next(f for f in fake.files.values() if f.completed)
        assert chart.content and chart.content.startswith(b"\x89PNG") and chart.shares[0][2] == post["ts"]
