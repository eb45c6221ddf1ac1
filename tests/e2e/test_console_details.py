"""Details in the first message are not asked again: `complaint-bot chat` in a subprocess."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.e2e.test_console_chat import installed, run_bot

__all__ = ["installed"]  # the fixture that checks the command exists


def test_the_order_number_in_the_first_message_is_not_asked_again(tmp_path: Path) -> None:
    result = run_bot(
        ["chat", "--user", "mei", "--no-prompt"],
        [
            "快递一直没到，订单号是 DD20261127001，电话 13912345678，花了299元",  # description
            "1",  # [1] yes, that category
            "前天",  # when: the only detail question left
            "1",  # [1] no photos
            "1",  # [1] submit
        ],
        tmp_path,
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "如果有订单号，请发给我" not in out, out
    assert "方便留一个联系方式吗" not in out, out
    assert "我从您的描述里记下了：订单号 DD20261127001，联系方式 139****5678，支付金额 ¥299" in out, out
    assert "问题是什么时候发生的" in out
    assert "支付金额：¥299" in out and "联系方式：139****5678" in out, "the review shows the amount, the phone masked"
    assert "工单号是 T" in out

    db = sqlite3.connect(tmp_path / "complaint-bot.db")
    row = db.execute("select order_number, contact, occurred, amount from tickets").fetchone()
    assert row == ("DD20261127001", "13912345678", "前天", "¥299")
