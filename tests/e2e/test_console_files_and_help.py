"""The terminal chat's own answers, as a newcomer meets them in `complaint-bot chat`: paths
in the home folder, folders, `/photo` alone, documents counted as documents, the contact
hint and the terminal's lines of /help in the customer's language."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from flows.texts import default_catalogue
from tests.e2e.test_console_chat import installed, run_bot  # noqa: F401 - the fixture checks the install

TEXTS = default_catalogue()
DESCRIPTION = "网上买的台灯收到就是坏的，开关按了没反应"


def zh(key: str, **params: object) -> str:
    return TEXTS.text("zh", key, **params)


def test_a_bare_path_in_the_home_folder_is_sent_like_after_photo(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "x.png").write_bytes(b"\x89PNG not really")
    result = run_bot(["chat", "--user", "lin", "--no-prompt"], [DESCRIPTION, "~/x.png", "/photo ~/x.png"], tmp_path, HOME=str(home))
    assert result.returncode == 0, result.stderr
    assert "找不到文件" not in result.stdout
    photos = zh("attachments.count_photos", count=2)
    assert zh("photos.received", what=zh("attachments.photo"), received=photos) in result.stdout


def test_photo_alone_says_how_and_a_folder_is_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "rv"
    folder.mkdir()
    result = run_bot(["chat", "--user", "lin", "--no-prompt"], ["/photo", str(folder), f"/photo {folder}"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert zh("console.photo_usage") in result.stdout
    assert "不认识命令" not in result.stdout
    assert result.stdout.count(zh("console.folder", path=str(folder))) == 2
    assert "找不到文件" not in result.stdout
    db = sqlite3.connect(tmp_path / "complaint-bot.db")
    assert db.execute("select count(*) from messages where direction='in' and kind != 'command'").fetchone() == (0,)


def test_a_text_file_is_a_document_not_a_photo(tmp_path: Path) -> None:
    photo = tmp_path / "lamp.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    text = tmp_path / "notimage.txt"
    text.write_text("not an image")
    typed = [DESCRIPTION, "1", "1", "1", "1", str(photo), str(text)]  # category, order, when, contact skipped
    result = run_bot(["chat", "--user", "lin", "--no-prompt"], typed, tmp_path)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    both = zh("attachments.count_photos", count=1) + zh("attachments.joiner") + zh("attachments.count_files", count=1)
    assert zh("details.photos_more", received=both) in out, out
    assert "2 张照片" not in out
    typed += ["1"]  # done: the review counts them apart too
    review = run_bot(["chat", "--user", "lin2", "--no-prompt"], typed, tmp_path)
    assert f"照片和文件：{both}" in review.stdout, review.stdout
    db = sqlite3.connect(tmp_path / "complaint-bot.db")
    kinds = [row[0] for row in db.execute("select kind from messages where direction='in' order by id")]
    assert kinds.count("document") == 2 and kinds.count("photo") == 2
    [draft] = [json.loads(row[0]) for row in db.execute("select draft from conversations where draft like '%notimage%' limit 1")]
    assert [p["kind"] for p in draft["photos"]] == ["photo", "document"]


def test_the_contact_hint_is_in_the_customers_language(tmp_path: Path) -> None:
    typed = [DESCRIPTION, "1", "1", "1"]  # at the contact step
    chinese = run_bot(["chat", "--user", "lin", "--no-prompt"], typed, tmp_path)
    assert zh("console.contact_hint") in chinese.stdout
    assert "type your phone number" not in chinese.stdout
    english = run_bot(["chat", "--user", "amy", "--lang", "en", "--no-prompt"], ["The lamp I bought arrived broken", "1", "1", "1"], tmp_path)
    assert TEXTS.text("en", "console.contact_hint") in english.stdout, english.stdout


def test_help_in_the_terminal_says_how_to_send_a_photo_press_a_button_and_leave(tmp_path: Path) -> None:
    chinese = run_bot(["chat", "--user", "lin", "--no-prompt"], ["/help"], tmp_path)
    assert zh("help").splitlines()[0] in chinese.stdout
    terminal_help = zh("console.help")
    assert all(line in chinese.stdout for line in terminal_help.splitlines()), chinese.stdout
    assert "/photo" in terminal_help and "Ctrl-C" in terminal_help
    english = run_bot(["chat", "--user", "amy", "--lang", "en", "--no-prompt"], ["/help"], tmp_path)
    assert all(line in english.stdout for line in TEXTS.text("en", "console.help").splitlines())
