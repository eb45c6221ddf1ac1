"""Render the Slack ticket card the bot posts to docs/card.png (for the README).

    .venv/bin/python docs/render_card.py [--language zh|en] [--out docs/card.png]

A customer files a real complaint through the application service (temporary SQLite
file), the card's Block Kit comes from handlers/slack/blocks.py's CardRenderer, and a small
HTML preview of those blocks, styled like Slack, is screenshotted with headless Chromium
(Debian package ``chromium``; not needed by the bot or its tests).
"""

from __future__ import annotations

import argparse
import asyncio
import html
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flows.domain import Actor, Attachment, Inbound, InboundKind, UserRef  # noqa: E402
from flows.service import ComplaintService  # noqa: E402
from handlers.slack import CardRenderer  # noqa: E402
from nlp import default_classifier  # noqa: E402
from storage.database import Database, sqlite_url  # noqa: E402
from storage.migrate import upgrade  # noqa: E402

COMPLAINTS = {
    "zh": "昨天在你们店买的酸奶，打开发现已经过期三天了，孩子喝了两口就开始拉肚子，已经去医院看过了。",
    "en": "The yoghurt I bought yesterday was three days past its date; my son drank some and got diarrhoea, we went to see a doctor.",
}
NAMES = {"U0ALICE": "Alice"}


async def sample_blocks(language: str) -> list[dict[str, Any]]:
    folder = Path(tempfile.mkdtemp(prefix="card-"))
    database = Database.from_url(sqlite_url(folder / "card.db"))
    await upgrade(database.engine)
    service = ComplaintService(database.unit_of_work, default_classifier(), desk_language=language)
    user = UserRef("10001", "李女士" if language == "zh" else "Mrs Li", "zh-hans" if language == "zh" else "en")
    counter = iter(range(1, 100))

    async def send(kind: InboundKind, **fields: Any) -> Any:
        n = next(counter)
        return await service.handle(Inbound("telegram", "10001", user, kind, update_id=str(n), message_id=str(n), **fields))

    def button(outcome: Any, action: str) -> str:
        for item in reversed(outcome.replies):
            for row in item.payload.get("buttons", ()):
                for _label, data in row:
                    if data.split(":")[1] == action:
                        return str(data)
        raise RuntimeError(f"no {action} button")

    out = await send(InboundKind.TEXT, text=COMPLAINTS[language])
    out = await send(InboundKind.BUTTON, button=button(out, "confirm"))
    out = await send(InboundKind.TEXT, text="JD-2026-1127-0042")
    out = await send(InboundKind.TEXT, text="昨天下午" if language == "zh" else "yesterday afternoon")
    out = await send(InboundKind.TEXT, text="13812345678")
    out = await send(InboundKind.PHOTO, attachment=Attachment("photo", "AgACAgIAAx-1", width=1280, height=960))
    out = await send(InboundKind.BUTTON, button=button(out, "done"))
    out = await send(InboundKind.BUTTON, button=button(out, "submit"))
    ticket = out.ticket
    await service.claim(ticket.id, Actor("U0ALICE", "Alice", is_agent=True))
    view = await service.desk_view(ticket.id)
    await database.dispose()
    assert view is not None
    return CardRenderer(service.texts, service, language).blocks(view)


def mrkdwn(text: str) -> str:
    """Enough of Slack's mrkdwn for the preview: entities, *bold*, mentions, dates, newlines."""
    text = re.sub(r"<!date\^\d+\^[^|]*\|([^>]*)>", r"\1", text)
    text = re.sub(r"<@(U[A-Z0-9]+)>", lambda m: f"@{NAMES.get(m.group(1), m.group(1))}", text)
    text = html.unescape(text)
    text = html.escape(text)
    text = re.sub(r"\*([^*\n]+)\*", r"<b>\1</b>", text)
    return text.replace("\n", "<br>")


def page(blocks: list[dict[str, Any]]) -> str:
    parts = []
    for block in blocks:
        kind = block["type"]
        if kind == "header":
            parts.append(f'<div class="header">{html.escape(block["text"]["text"])}</div>')
        elif kind == "section" and "fields" in block:
            cells = "".join(f'<div class="field">{mrkdwn(f["text"])}</div>' for f in block["fields"])
            parts.append(f'<div class="fields">{cells}</div>')
        elif kind == "section":
            parts.append(f'<div class="section">{mrkdwn(block["text"]["text"])}</div>')
        elif kind == "context":
            parts.append(f'<div class="context">{" ".join(mrkdwn(e["text"]) for e in block["elements"])}</div>')
        elif kind == "actions":
            buttons = "".join(
                f'<span class="button {e.get("style", "")}">{html.escape(e["text"]["text"])}</span>' for e in block["elements"]
            )
            parts.append(f'<div class="actions">{buttons}</div>')
    return f"""<!doctype html><meta charset="utf-8"><style>
body {{ font-family: "Noto Sans CJK SC", "Noto Sans", Lato, sans-serif; background: #fff; margin: 0; padding: 18px; width: 720px; }}
.message {{ display: flex; gap: 10px; }}
.avatar {{ width: 36px; height: 36px; border-radius: 6px; background: #2c3e50; color: #fff; font-weight: bold; display: flex; align-items: center; justify-content: center; }}
.name {{ font-weight: 900; font-size: 15px; }} .app {{ font-size: 10px; background: #eee; color: #555; padding: 1px 4px; border-radius: 3px; margin-left: 4px; }}
.time {{ color: #616061; font-size: 12px; margin-left: 6px; }}
.header {{ font-size: 18px; font-weight: 900; margin: 6px 0 8px; }}
.fields {{ display: grid; grid-template-columns: 1fr 1fr; gap: 8px 24px; font-size: 15px; line-height: 1.4; margin-bottom: 10px; }}
.section {{ font-size: 15px; line-height: 1.45; margin-bottom: 10px; }}
.context {{ font-size: 12px; color: #616061; margin-bottom: 10px; }}
.actions {{ display: flex; gap: 8px; flex-wrap: wrap; }}
.button {{ border: 1px solid #bbb; border-radius: 4px; padding: 5px 12px; font-size: 14px; font-weight: bold; }}
.primary {{ background: #007a5a; color: #fff; border-color: #007a5a; }}
.danger {{ color: #e01e5a; border-color: #e01e5a; }}
</style><div class="message"><div class="avatar">CD</div><div>
<div><span class="name">complaint-desk</span><span class="app">APP</span><span class="time">14:58</span></div>
{''.join(parts)}</div></div>"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--language", choices=("zh", "en"), default="zh")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "card.png")
    args = parser.parse_args()
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        sys.exit("headless Chromium is needed: apt-get install chromium fonts-noto-cjk")
    blocks = asyncio.run(sample_blocks(args.language))
    folder = Path(tempfile.mkdtemp(prefix="card-page-"))
    (folder / "card.html").write_text(page(blocks), encoding="utf-8")
    subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={folder / 'profile'}",
         "--hide-scrollbars", "--window-size=760,500", f"--screenshot={args.out.resolve()}", (folder / "card.html").as_uri()],
        check=True, capture_output=True, timeout=120,
    )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
