"""What a typed line of the terminal chat is: a path of a file (sent, or "file not found"),
a command, a number on screen, or words for the flow."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from flows.domain import InboundKind, UserRef
from handlers.console import MissingFile, file_path, parse_line

USER = UserRef(external_id="lin", display_name="lin")
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "typed",
    [
        "/tmp/receipt.jpg",
        "/home/lin/My Photos/lamp.png",  # a space in a folder name
        "/a.pdf",
        "~/Pictures/lamp.jpg",
        "./lamp",
        "../lamp.jpeg",
        "lamp.JPG",
        "小票.png",
        "'/home/lin/My Photos/lamp.png'",  # dragged into a terminal: quoted
        "/home/lin/My\\ Photos/lamp.png",  # or with the space escaped
    ],
)
def test_paths_of_files(typed: str) -> None:
    assert file_path(typed) is not None


@pytest.mark.parametrize(
    "typed",
    [
        "/help",
        "/lang en",
        "/complain 我的快递/包裹丢了",
        "/photo lamp.jpg",  # the command, which takes a path
        "台灯坏了",
        "我把发票拍下来了，文件名是fapiao.jpg",  # a sentence that names a file
        "see photo.jpg please",
        "It's broken",
        "",
    ],
)
def test_not_paths(typed: str) -> None:
    assert file_path(typed) is None


def test_a_missing_file_is_not_sent(tmp_path: Path) -> None:
    for typed in (f"{tmp_path}/gone.jpg", f"/photo {tmp_path}/gone.jpg", "./gone.pdf", "~/gone/x.png"):
        parsed = parse_line(typed + "\n", USER, "lin", [], NOW)
        assert isinstance(parsed, MissingFile), typed
        assert parsed.path == typed.removeprefix("/photo ")


def test_an_existing_file_is_sent_and_the_rest_unchanged(tmp_path: Path) -> None:
    photo = tmp_path / "My Photos" / "lamp.jpg"
    photo.parent.mkdir()
    photo.write_bytes(b"\xff\xd8")
    sent = parse_line(f"'{photo}'\n", USER, "lin", [], NOW)
    assert not isinstance(sent, MissingFile) and sent.kind is InboundKind.PHOTO
    assert sent.attachment is not None and sent.attachment.file_id == str(photo.resolve())
    a_path_too_long = "/" + "长" * 5000 + "/x.jpg"
    assert isinstance(parse_line(a_path_too_long, USER, "lin", [], NOW), MissingFile)
    command = parse_line("/help\n", USER, "lin", [], NOW)
    assert not isinstance(command, MissingFile) and command.kind is InboundKind.COMMAND
    words = parse_line("我把发票拍下来了，文件名是fapiao.jpg\n", USER, "lin", ["x"], NOW)
    assert not isinstance(words, MissingFile) and words.kind is InboundKind.TEXT
