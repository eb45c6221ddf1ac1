"""The conversation's rules in the terminal chat (issue #11, points 2–4): `complaint-bot chat`
in a subprocess, typed lines in, the printed answers and the SQLite file checked."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from flows.texts import default_catalogue
from tests.e2e.test_console_chat import installed, run_bot  # noqa: F401  (the fixture checks the script)

ZH = default_catalogue()
DELIVERY = "快递三天了还没送到，物流信息也不更新"
SKIP_TO_SUBMIT = ["1", "1", "1", "1", "1"]  # skip order, time, contact; no photos; submit


def zh(key: str, **params: object) -> str:
    return ZH.text("zh", key, **params)


def said_about_tickets(tmp_path: Path) -> list[tuple[str, str]]:
    """(ticket number, text) of every typed message stored as said about a ticket."""
    db = sqlite3.connect(tmp_path / "complaint-bot.db")
    return db.execute(
        "select t.number, m.text from messages m join tickets t on t.id = m.ticket_id"
        " where m.direction = 'in' and m.kind = 'text' order by m.id"
    ).fetchall()


def test_a_number_not_on_screen_is_not_a_category(tmp_path: Path) -> None:
    result = run_bot(["chat", "--user", "ann", "--no-prompt"], [DELIVERY, "7", "1", *SKIP_TO_SUBMIT], tmp_path)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "[1] ✅ 是的   [2] 选择其他类型" in out
    assert zh("choice.two") in out, out
    db = sqlite3.connect(tmp_path / "complaint-bot.db")
    assert db.execute("select category, description from tickets").fetchall() == [("delivery", DELIVERY)]


def test_blank_lines_after_submitting_are_not_added(tmp_path: Path) -> None:
    result = run_bot(
        ["chat", "--user", "ben", "--no-prompt"],
        [DELIVERY, "1", *SKIP_TO_SUBMIT, "", "   ", "\u200b", "快递员电话也打不通"],
        tmp_path,
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert out.count(zh("empty.again")) == 3, out
    assert out.count(zh("info.added", number="T000001")) == 1, "only the real message is added"
    assert said_about_tickets(tmp_path) == [("T000001", "快递员电话也打不通")]


def test_after_cancel_a_new_complaint_is_not_added_to_the_old_ticket(tmp_path: Path) -> None:
    charged = "I was charged twice for my order #A-556"
    result = run_bot(
        ["chat", "--user", "cat", "--no-prompt"],
        [DELIVERY, "1", *SKIP_TO_SUBMIT, "/complain", "/cancel", charged, "2"],
        tmp_path,
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert zh("held.which", number="T000001") in out, out
    assert "[1] 补充到 T000001   [2] 作为新的投诉" in out
    assert zh("held.new", number="T000001") in out
    assert "费用" in out.split(zh("held.new", number="T000001"))[1], "the new complaint's category is suggested"
    assert said_about_tickets(tmp_path) == [], "the delivery ticket did not get it"
    db = sqlite3.connect(tmp_path / "complaint-bot.db")
    drafts = [row[0] for row in db.execute("select draft from conversations where state = 'confirming_category'")]
    assert len(drafts) == 1 and charged in drafts[0]


def test_the_customer_may_add_it_to_the_ticket_all_the_same(tmp_path: Path) -> None:
    charged = "I was charged twice for my order #A-556"
    result = run_bot(["chat", "--user", "dan", "--no-prompt"], [DELIVERY, "1", *SKIP_TO_SUBMIT, charged, "1"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert zh("held.which", number="T000001") in result.stdout
    assert zh("info.added", number="T000001") in result.stdout
    assert said_about_tickets(tmp_path) == [("T000001", charged)]
