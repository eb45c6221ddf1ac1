"""The terminal chat as a newcomer uses it: `complaint-bot chat` in a subprocess."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).with_name("complaint-bot")


def run_bot(args: list[str], typed: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TELEGRAM_BOT_TOKEN", "SLACK_BOT_TOKEN", "COMPLAINT_BOT_CONFIG")}
    environment.update(env)
    return subprocess.run(
        [str(SCRIPT), *args],
        input="".join(line + "\n" for line in typed),
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environment,
        timeout=60,
    )


@pytest.fixture(scope="module", autouse=True)
def installed() -> None:
    if not SCRIPT.exists():
        pytest.fail(f"{SCRIPT} is missing: install the project (pip install -e .) before running the tests")


def test_file_a_whole_complaint_in_the_terminal(tmp_path: Path) -> None:
    photo = tmp_path / "box.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    result = run_bot(
        ["chat", "--user", "lily", "--no-prompt"],
        [
            "网上买的台灯收到就是坏的，开关按了没反应",  # description
            "1",  # [1] yes, that category
            "JD-2026-0001",  # order number
            "1",  # [1] skip the time
            "13912345678",  # contact
            str(photo),  # a photo, by path
            "1",  # [1] done
            "1",  # [1] submit
        ],
        tmp_path,
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "商品质量" in out and "[1] ✅ 是的" in out
    assert "139****5678" in out
    number = re.search(r"工单号是 (T\d{6})", out)
    assert number, out
    assert "Bye." in out

    db = sqlite3.connect(tmp_path / "complaint-bot.db")
    row = db.execute("select number, category, state, order_number, contact, photos, description from tickets").fetchone()
    assert row[0] == number.group(1)
    assert row[1:5] == ("product_quality", "new", "JD-2026-0001", "13912345678")
    assert json.loads(row[5])[0]["file_id"] == str(photo.resolve())
    assert row[6].startswith("网上买的台灯")
    inbound = db.execute("select count(*) from messages where direction='in'").fetchone()[0]
    assert inbound == 9  # the automatic /start and the eight typed lines
    pending = db.execute("select count(*) from outbox where channel='console' and status!='sent'").fetchone()[0]
    assert pending == 0, "every reply was printed and marked sent"


def test_human_hand_off_without_slack_says_so_and_stays_queued(tmp_path: Path) -> None:
    result = run_bot(["chat", "--user", "sam", "--lang", "en", "--no-prompt"], ["/human"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "No agent is connected right now" in result.stdout
    db = sqlite3.connect(tmp_path / "complaint-bot.db")
    assert db.execute("select handoff_reason, state from tickets").fetchone() == ("customer_request", "new")
    assert db.execute("select kind, status from outbox where channel='desk'").fetchone() == ("ticket_card", "pending")


def test_conversation_survives_a_restart(tmp_path: Path) -> None:
    run_bot(["chat", "--user", "kim", "--no-prompt"], ["外卖送错了，不是我点的菜", "1"], tmp_path)
    second = run_bot(["chat", "--user", "kim", "--no-prompt"], ["A-1"], tmp_path)
    assert "问题是什么时候发生的" in second.stdout, second.stdout


def test_run_without_tokens_starts_the_terminal_chat(tmp_path: Path) -> None:
    result = run_bot(["run"], ["/help"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "TELEGRAM_BOT_TOKEN" in result.stdout and "SLACK_BOT_TOKEN" in result.stdout
    assert "/complain" in result.stdout


def test_bad_config_is_reported_with_the_setting(tmp_path: Path) -> None:
    (tmp_path / "complaint-bot.toml").write_text('[handoff]\nmin_severty = "hot"\n')
    result = run_bot(["chat"], [], tmp_path)
    assert result.returncode == 2
    assert "handoff.min_severty: unknown setting. Did you mean 'min_severity'?" in result.stderr


def test_classify_from_stdin(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(SCRIPT), "classify"], input='{"id": "a", "text": "快递丢了"}\n吃了拉肚子\n',
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(x["id"], x["category"]) for x in lines] == [("a", "delivery"), (2, "safety")]
    assert lines[1]["severity"] == "hot"


def test_diagram_command_writes_mermaid(tmp_path: Path) -> None:
    result = run_bot(["diagram", "--out", str(tmp_path)], [], tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "conversation.mmd").read_text().lstrip("-\n").count("stateDiagram-v2") == 1
    assert "CLAIMED --> RESOLVED: resolve" in (tmp_path / "ticket.mmd").read_text()
