"""``complaint-bot classify``: plain lines, JSON lines, JSON arrays, stdin, bad lines."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from bot.classify_command import run


def records(output: io.StringIO) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in output.getvalue().splitlines()]


def test_plain_text_file(tmp_path: Path) -> None:
    path = tmp_path / "messages.txt"
    path.write_text("送餐太慢了\n\n吃完拉肚子了\n   \n前台态度很差\n", encoding="utf-8")
    output = io.StringIO()
    assert run([str(path)], output) == 0
    result = records(output)
    assert [r["id"] for r in result] == [1, 3, 5]  # blank lines skipped, ids = line numbers
    assert [r["category"] for r in result] == ["delivery", "safety", "service"]
    assert [r["severity"] for r in result] == ["general", "hot", "general"]
    assert result[0]["text"] == "送餐太慢了"
    assert set(result[0]) == {"id", "text", "category", "severity", "scores", "cues"}
    assert result[1]["cues"]["severity"][0]["rule"] == "health_harm"
    assert "拉肚子" in output.getvalue()  # ensure_ascii=False


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("发错货了\nThe parcel arrived broken\n"))
    output = io.StringIO()
    assert run([], output) == 0
    assert [r["category"] for r in records(output)] == ["delivery", "product_quality"]


def test_dash_means_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("多收了我20块钱\n"))
    output = io.StringIO()
    assert run(["-"], output) == 0
    assert records(output)[0]["category"] == "billing"


def test_json_lines_keep_their_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [
        json.dumps({"id": "t-17", "text": "退款申请了一周还没退"}, ensure_ascii=False),
        json.dumps({"id": 99, "text": "我要起诉你们"}, ensure_ascii=False),
        json.dumps({"text": "没有id的消息，饭菜凉了"}, ensure_ascii=False),
        "衣服和图片不一样",
    ]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(lines) + "\n"))
    output = io.StringIO()
    assert run([], output) == 0
    result = records(output)
    assert [r["id"] for r in result] == ["t-17", 99, 3, 4]
    assert [result[i]["category"] for i in (0, 2, 3)] == ["after_sales", "delivery", "misleading"]
    assert result[1]["severity"] == "hot"  # "我要起诉你们": a legal threat


def test_malformed_lines_are_reported_and_skipped(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = '送错了\n{"id": 2, "text": \n{"id": "x"}\n["not an object"]\n{"text": 5}\n太贵了\n'
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    output = io.StringIO()
    assert run([], output) == 1
    result = records(output)
    assert result[0]["category"] == "delivery"
    assert result[1]["id"] == 2 and "malformed JSON" in result[1]["error"]
    assert result[2] == {"id": "x", "error": "the 'text' field is missing or not a string"}
    assert result[3]["id"] == 4 and result[3]["category"] == "other"  # plain text line
    assert result[4]["id"] == 5 and "error" in result[4]
    assert result[5]["id"] == 6 and result[5]["category"] == "billing"
    err = capsys.readouterr().err
    assert "<stdin>:2: malformed JSON" in err
    assert "<stdin>:x:" in err


def test_json_array_file(tmp_path: Path) -> None:
    items = [
        {"id": "c1", "text": "快递员把箱子摔坏了", "category": "delivery"},
        {"id": "c2", "text": "吃出一只苍蝇"},
        "纯文本也可以：房间很脏",
        {"id": "c4"},
    ]
    path = tmp_path / "dev.json"
    path.write_text(json.dumps(items, ensure_ascii=False, indent=1), encoding="utf-8")
    output = io.StringIO()
    assert run([str(path)], output) == 1
    result = records(output)
    assert [r["id"] for r in result] == ["c1", "c2", 3, "c4"]
    assert result[1]["category"] == "safety" and result[1]["severity"] == "hot"
    assert result[2]["category"] == "product_quality"
    assert "error" in result[3]


def test_broken_json_array(tmp_path: Path) -> None:
    path = tmp_path / "dev.json"
    path.write_text('[\n{"id": 1, "text": "送错了"},\n{oops}\n]', encoding="utf-8")
    output = io.StringIO()
    assert run([str(path)], output) == 1
    (only,) = records(output)
    assert only["id"] == 3 and "malformed JSON array" in only["error"]


def test_several_files_and_a_missing_one(tmp_path: Path) -> None:
    first = tmp_path / "a.txt"
    first.write_text("送错了\n", encoding="utf-8")
    second = tmp_path / "b.txt"
    second.write_text("太贵了\n", encoding="utf-8")
    missing = tmp_path / "missing.txt"
    output = io.StringIO()
    assert run([str(first), str(missing), str(second)], output) == 1
    result = records(output)
    assert [r.get("source") for r in result] == [str(first), str(missing), str(second)]
    assert "cannot read" in result[1]["error"]
    assert [result[0]["category"], result[2]["category"]] == ["delivery", "billing"]


def test_custom_lexicon_and_lexicon_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    categories = tmp_path / "cats.txt"
    categories.write_text("[noise]\n吵 2\n[other]\n", encoding="utf-8")
    messages = tmp_path / "m.txt"
    messages.write_text("楼上太吵\n", encoding="utf-8")
    output = io.StringIO()
    assert run([str(messages)], output, categories=categories) == 0
    assert records(output)[0]["category"] == "noise"

    broken = tmp_path / "broken.txt"
    broken.write_text("[noise]\n吵 loud\n[other]\n", encoding="utf-8")
    output = io.StringIO()
    assert run([str(messages)], output, categories=broken) == 2
    assert output.getvalue() == ""
    assert f"{broken}:2: weight 'loud' is not a number" in capsys.readouterr().err
