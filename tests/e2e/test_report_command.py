"""`complaint-bot report` as a supervisor runs it: in a subprocess, on a real SQLite file."""

from __future__ import annotations

import csv
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.e2e.test_console_chat import SCRIPT, run_bot

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module", autouse=True)
def installed() -> None:
    if not SCRIPT.exists():
        pytest.fail(f"{SCRIPT} is missing: install the project (pip install -e .) before running the tests")


def _at(text: str) -> str:
    """A UTC time as the SQLite columns store it."""
    return datetime.fromisoformat(text).strftime("%Y-%m-%d %H:%M:%S.%f")


def _plus(text: str, **delta: float) -> str:
    return _at((datetime.fromisoformat(text) + timedelta(**delta)).isoformat())


def _seed(db_path: Path) -> None:
    """Four tickets around the week 2026-11-01..07 in Shanghai (UTC+8): two inside it."""
    db = sqlite3.connect(db_path)
    db.execute(
        "insert into customers (id, channel, external_id, display_name, language, created_at) "
        "values (1, 'telegram', '1', 'Lily', 'zh', ?), (2, 'telegram', '2', 'Sam', 'en', ?)",
        (_at("2026-10-01T00:00"), _at("2026-10-01T00:00")),
    )
    db.execute(
        "insert into hot_issues (id, category, term, created_at) values (1, 'safety', '炸鸡', ?)",
        (_at("2026-11-03T04:00"),),
    )

    def ticket(n: int, customer: int, category: str, severity: str, state: str, created: str, **extra: object) -> None:
        row: dict[str, object] = dict(
            id=n, number=f"T{n:06d}", customer_id=customer, channel="telegram", chat_id=str(customer),
            category=category, severity=severity, state=state, description="", escalated=0, crisis=0,
            reopen_count=0, language="zh", created_at=_at(created), updated_at=_at(created), **extra,
        )
        db.execute(
            f"insert into tickets ({', '.join(row)}) values ({', '.join('?' for _ in row)})", tuple(row.values())
        )
        db.execute(
            "insert into ticket_terms (ticket_id, customer_id, category, term, created_at) values (?, ?, ?, ?, ?)",
            (n, customer, category, "炸鸡" if category == "safety" else "耳机", _at(created)),
        )

    first = "2026-10-31T16:00"  # 2026-11-01 00:00 in Shanghai: the first moment of the period
    ticket(1, 1, "delivery", "general", "closed", first, rating=5,
           first_response_due=_plus(first, hours=2), first_response_at=_plus(first, hours=1),
           reply_due=_plus(first, hours=24), first_reply_at=_plus(first, hours=3),
           resolution_due=_plus(first, days=7), resolved_at=_plus(first, days=1), closed_at=_plus(first, days=2))
    last = "2026-11-07T15:59:59"  # 2026-11-07 23:59:59 in Shanghai: the last second of the period
    ticket(2, 2, "safety", "hot", "new", last, hot_issue_id=1,
           first_response_due=_plus(last, hours=1), reply_due=_plus(last, hours=12), resolution_due=_plus(last, days=3))
    ticket(3, 2, "delivery", "general", "new", "2026-11-07T16:00")  # 2026-11-08 00:00: after the period
    ticket(4, 1, "delivery", "major", "new", "2026-10-31T15:59:59")  # before it
    db.commit()
    db.close()


def test_weekly_report_with_csv_and_chart(tmp_path: Path) -> None:
    (tmp_path / "complaint-bot.toml").write_text('[bot]\ntimezone = "Asia/Shanghai"\ndesk_language = "zh"\n')
    upgrade = run_bot(["db", "upgrade"], [], tmp_path)
    assert upgrade.returncode == 0, upgrade.stderr
    _seed(tmp_path / "complaint-bot.db")

    result = run_bot(
        ["report", "--since", "2026-11-01", "--until", "2026-11-08", "--lang", "en", "--top", "5",
         "--csv", "week.csv", "--chart", "charts/week.png"],
        [],
        tmp_path,
    )
    # the chart's folder does not exist: the text is printed, then a clear error
    assert result.returncode == 1
    assert "cannot write" in result.stderr and "week.png" in result.stderr
    (tmp_path / "charts").mkdir()
    result = run_bot(
        ["report", "--since", "2026-11-01", "--until", "2026-11-08", "--lang", "en", "--top", "5",
         "--csv", "week.csv", "--chart", "charts/week.png"],
        [],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("Complaint report 2026-11-01 00:00 – 2026-11-08 00:00 (CST, UTC+08:00)\n")
    assert "Tickets: 2\n" in out
    by_category = out.split("By category\n", 1)[1].splitlines()
    assert by_category[2].split() == ["Delivery", "1", "50.0%"]
    assert by_category[3].split() == ["Safety", "and", "hygiene", "1", "50.0%"]
    promises = out.split("Service promises\n", 1)[1].splitlines()
    assert promises[2].split() == ["General", "First", "response", "1", "0", "0", "0", "100.0%"]
    assert promises[8].split() == ["Hot", "First", "response", "0", "0", "1", "0", "0.0%"]  # overdue by now
    assert "Average 5.00 / 5 from 1 ratings" in out
    assert "炸鸡" in out.split("Hot issues opened in the period\n", 1)[1].splitlines()[2]
    assert "wrote week.csv" in result.stderr and "wrote charts/week.png" in result.stderr

    with open(tmp_path / "week.csv", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["section", "key", "metric", "value"]
    data = {(s, k, m): v for s, k, m, v in rows[1:]}
    assert data[("period", "since", "")] == "2026-11-01T00:00:00+08:00"
    assert data[("total", "tickets", "")] == "2"
    assert data[("category", "delivery", "tickets")] == "1"
    assert data[("sla", "all/first_response", "met_percent")] == "50.0"
    assert data[("median_seconds", "general", "resolution")] == "86400"
    assert [(r[1], r[3]) for r in rows if r[0] == "term"] == [("炸鸡", "1"), ("耳机", "1")]  # ties: by term

    chart = (tmp_path / "charts" / "week.png").read_bytes()
    assert chart.startswith(PNG_SIGNATURE) and len(chart) > 20_000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "2026-02-30"], "--since '2026-02-30' is not a date"),
        (["--until", "last week"], "--until 'last week' is not a date"),
        (["--since", "2026-11-08", "--until", "2026-11-01"], "--since (2026-11-08 00:00) must be before --until"),
        (["--since", "2026-11-01", "--until", "2026-11-01"], "must be before --until"),
    ],
)
def test_bad_dates_are_refused_with_exit_code_2(tmp_path: Path, args: list[str], message: str) -> None:
    result = run_bot(["report", *args], [], tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert not (tmp_path / "complaint-bot.db").exists()


def test_no_database_yet(tmp_path: Path) -> None:
    result = run_bot(["report"], [], tmp_path)
    assert result.returncode == 2
    assert f"database.sqlite_file: there is no database at {tmp_path}/complaint-bot.db" in result.stderr
    assert not (tmp_path / "complaint-bot.db").exists()  # a report does not create one


def test_no_database_at_the_database_url(tmp_path: Path) -> None:
    result = run_bot(["report"], [], tmp_path, DATABASE_URL=f"sqlite:///{tmp_path}/elsewhere.db")
    assert result.returncode == 2
    assert f"DATABASE_URL: there is no database at {tmp_path}/elsewhere.db" in result.stderr
    assert not (tmp_path / "elsewhere.db").exists()


def test_complaint_filed_in_the_terminal_shows_in_the_default_report(tmp_path: Path) -> None:
    chat = run_bot(
        ["chat", "--user", "lily", "--no-prompt"],
        ["快递一个星期了还没到", "1", "1", "1", "1", "1", "1"],
        tmp_path,
    )
    assert chat.returncode == 0, chat.stderr
    result = run_bot(["report"], [], tmp_path)  # the last 7 days, in the desk's language (zh)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("投诉报告 ")
    assert "工单数：1\n" in result.stdout
    assert "物流配送" in result.stdout


def _file_complaints(tmp_path: Path, users: list[str]) -> None:
    """Each user files a delivery complaint in the terminal chat (real tickets, real timers)."""
    for user in users:
        chat = run_bot(["chat", "--user", user, "--no-prompt"], ["快递一个星期了还没到", "1", "1", "1", "1", "1", "1"], tmp_path)
        assert chat.returncode == 0, chat.stderr


def _backdate(db_path: Path, ticket_id: int, hours: float) -> None:
    """As if the ticket had been submitted ``hours`` earlier: its times and its timers' move back."""
    db = sqlite3.connect(db_path)
    for table, key in (("tickets", "id"), ("timers", "ticket_id")):
        columns = [row[1] for row in db.execute(f"pragma table_info({table})") if row[1].endswith(("_at", "_due"))]
        for row in db.execute(f"select rowid, {', '.join(columns)} from {table} where {key} = ?", (ticket_id,)).fetchall():
            moved = {c: _plus(datetime.fromisoformat(v).isoformat(), hours=-hours) for c, v in zip(columns, row[1:]) if v}
            if moved:
                db.execute(f"update {table} set {', '.join(f'{c} = ?' for c in moved)} where rowid = ?", (*moved.values(), row[0]))
    db.commit()
    db.close()


def test_three_open_tickets_show_what_needs_action(tmp_path: Path) -> None:
    """Three complaints filed in the terminal, one of them 30 hours ago: the report, its CSV
    and its chart show the open tickets by age, the overdue promises with their ticket
    number and the promises due within 4 hours."""
    _file_complaints(tmp_path, ["lily", "sam", "bo"])
    _backdate(tmp_path / "complaint-bot.db", 1, hours=30)

    result = run_bot(["report", "--lang", "en", "--csv", "now.csv", "--chart", "now.png"], [], tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "): 3 open tickets, 2 promises overdue, 2 due within 4 h\n" in out
    ages = out.split("Open tickets by severity and age (time since submission)\n", 1)[1].splitlines()
    assert ages[2].split() == ["General", "2", "1", "0", "0", "3"]  # two under a day, one 1-3 days old
    oldest = out.split("Oldest open tickets (3)\n", 1)[1].splitlines()
    assert [line.split()[0] for line in oldest[2:5]] == ["T000001", "T000002", "T000003"]
    pending = out.split("Promises of open tickets\n", 1)[1].splitlines()
    assert pending[2].split() == ["General", "First", "response", "1", "2", "0"]
    assert pending[3].split() == ["Substantive", "reply", "1", "0", "2"]
    assert pending[4].split() == ["Resolution", "0", "0", "3"]
    overdue = out.split("Overdue promises, to act on first (2 of 2 shown, most severe first)\n", 1)[1].splitlines()
    assert overdue[2].split()[:6] == ["T000001", "General", "Delivery", "First", "response", overdue[2].split()[5]]
    assert overdue[2].split()[-3:] == ["1d", "4h", "-"]  # late by 28 hours, nobody owns it
    assert overdue[3].split()[:5] == ["T000001", "General", "Delivery", "Substantive", "reply"]
    due = out.split("Promises due within 4 h (2 of 2 shown, most severe first)\n", 1)[1].splitlines()
    assert [line.split()[0] for line in due[2:4]] == ["T000002", "T000003"]
    trend = out.split("Tickets per day by category\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert trend[0].split() == ["Day", "Total", "Delivery"]
    assert sum(int(line.split()[1]) for line in trend[2:]) == 3

    with open(tmp_path / "now.csv", encoding="utf-8-sig", newline="") as f:
        data = {(s, k, m): v for s, k, m, v in list(csv.reader(f))[1:]}
    assert data[("open", "all", "tickets")] == "3" and data[("open", "general", "1d_3d")] == "1"
    assert data[("pending", "all/first_response", "overdue")] == "1"
    assert data[("pending", "all/first_response", "due_soon")] == "2"
    assert data[("overdue", "T000001/substantive_reply", "severity")] == "general"
    assert data[("due_soon", "T000003/first_response", "category")] == "delivery"
    assert data[("trend", "unit", "")] == "day"

    assert "wrote now.png" in result.stderr and "English" not in result.stderr  # the packaged font: Chinese works
    chart = (tmp_path / "now.png").read_bytes()
    assert chart.startswith(PNG_SIGNATURE) and len(chart) > 20_000

    # a shorter look-ahead: the first responses (due in about 2 hours) are no longer "due soon"
    shorter = run_bot(["report", "--lang", "en", "--due-within", "0.5"], [], tmp_path)
    assert shorter.returncode == 0, shorter.stderr
    assert "): 3 open tickets, 2 promises overdue, 0 due within 0.5 h\n" in shorter.stdout


@pytest.mark.parametrize("hours", ["0", "-1", "soon"])
def test_bad_look_ahead_is_refused(tmp_path: Path, hours: str) -> None:
    result = run_bot(["report", "--due-within", hours], [], tmp_path)
    assert result.returncode == 2
    assert "--due-within: expected a number of hours above 0" in result.stderr


def test_chart_falls_back_to_english_and_says_so_without_a_chinese_font(tmp_path: Path) -> None:
    from matplotlib import font_manager

    from handlers.charts import CJK_FONTS

    if any(font.name in CJK_FONTS for font in font_manager.fontManager.ttflist):
        pytest.skip("a CJK font is installed on this machine: the chart never needs the fallback")
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    # the font package cannot be imported (this module comes first on the path)
    (hidden / "pylopdf_fonts_zh_cn.py").write_text("raise ImportError('hidden for the test')\n")
    _file_complaints(tmp_path, ["lily"])
    result = run_bot(["report", "--chart", "zh.png"], [], tmp_path, PYTHONPATH=str(hidden))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("投诉报告 ")  # the text is in Chinese all the same
    assert "wrote zh.png (labels in English: no Chinese font found;" in result.stderr
    assert "pylopdf-fonts-zh-cn" in result.stderr
    assert (tmp_path / "zh.png").read_bytes().startswith(PNG_SIGNATURE)
