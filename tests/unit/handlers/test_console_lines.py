"""What a typed line of the terminal chat is: a path of a file (sent, or "file not found"),
a command, a number on screen, or words for the flow."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from flows.domain import InboundKind, UserRef
from handlers.console import NotSent, file_path, parse_line

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
        assert parsed == NotSent("file_not_found", typed.removeprefix("/photo ")), typed


def test_an_existing_file_is_sent_and_the_rest_unchanged(tmp_path: Path) -> None:
    photo = tmp_path / "My Photos" / "lamp.jpg"
    photo.parent.mkdir()
    photo.write_bytes(b"\xff\xd8")
    sent = parse_line(f"'{photo}'\n", USER, "lin", [], NOW)
    assert not isinstance(sent, NotSent) and sent.kind is InboundKind.PHOTO
    assert sent.attachment is not None and sent.attachment.file_id == str(photo.resolve())
    a_path_too_long = "/" + "长" * 5000 + "/x.jpg"
    assert parse_line(a_path_too_long, USER, "lin", [], NOW) == NotSent("file_not_found", a_path_too_long)
    command = parse_line("/help\n", USER, "lin", [], NOW)
    assert not isinstance(command, NotSent) and command.kind is InboundKind.COMMAND
    words = parse_line("我把发票拍下来了，文件名是fapiao.jpg\n", USER, "lin", ["x"], NOW)
    assert not isinstance(words, NotSent) and words.kind is InboundKind.TEXT


def test_a_path_in_the_home_folder_is_sent_bare_or_after_photo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "x.png").write_bytes(b"\x89PNG")
    for typed in ("~/x.png", "/photo ~/x.png", "'~/x.png'"):
        sent = parse_line(typed + "\n", USER, "lin", [], NOW)
        assert not isinstance(sent, NotSent) and sent.kind is InboundKind.PHOTO, typed
        assert sent.attachment is not None and sent.attachment.file_id == str(tmp_path / "x.png")


def test_a_folder_is_said_to_be_a_folder(tmp_path: Path) -> None:
    for typed in (str(tmp_path), f"/photo {tmp_path}", f"{tmp_path}/"):
        assert parse_line(typed, USER, "lin", [], NOW) == NotSent("folder", typed.removeprefix("/photo ")), typed


def test_photo_without_a_path_is_answered_with_how_to_use_it() -> None:
    for typed in ("/photo", "/photo   ", "/PHOTO"):
        assert parse_line(typed + "\n", USER, "lin", [], NOW) == NotSent("photo_usage")


def test_a_file_that_is_no_image_is_a_document(tmp_path: Path) -> None:
    text = tmp_path / "notimage.txt"
    text.write_text("not an image")
    sent = parse_line(str(text), USER, "lin", [], NOW)
    assert not isinstance(sent, NotSent) and sent.kind is InboundKind.DOCUMENT
    assert sent.attachment is not None and sent.attachment.kind == "document"


def test_lines_pasted_together_are_words_whatever_the_first_line_looks_like(tmp_path: Path) -> None:
    for pasted in (f"{tmp_path}/a.jpg\n台灯坏了", "1\n2", "/help\n我要投诉"):
        parsed = parse_line(pasted + "\n", USER, "lin", ["x", "y"], NOW)
        assert not isinstance(parsed, NotSent) and parsed.kind is InboundKind.TEXT and parsed.text == pasted
