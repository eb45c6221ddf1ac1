"""The Slack app manifest asks for exactly what the desk uses."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
# Web API methods the desk calls -> the bot scope each needs (None: no scope needed)
SCOPES = {
    "chat_postMessage": "chat:write",
    "chat_update": "chat:write",
    "chat_postEphemeral": "chat:write",
    "chat_getPermalink": None,
    "users_info": "users:read",
    "usergroups_users_list": "usergroups:read",
    "files_upload_v2": "files:write",
    "pins_add": "pins:write",
    "pins_remove": "pins:write",
    "reactions_add": "reactions:write",
    "views_open": None,
    "auth_test": None,
}


def test_manifest_scopes_cover_every_method_the_desk_calls_and_no_more() -> None:
    manifest = yaml.safe_load((ROOT / "docs" / "slack-app-manifest.yml").read_text("utf-8"))
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    source = "\n".join(p.read_text("utf-8") for p in sorted((ROOT / "handlers" / "slack").glob("*.py")))
    called = set(re.findall(r"client\.([a-z_A-Z0-9]+)\(", source))
    assert called <= set(SCOPES), f"add the new method's scope to this test and the manifest: {called - set(SCOPES)}"
    needed = {SCOPES[m] for m in called if SCOPES[m]} | {"commands", "channels:history", "groups:history"}
    assert scopes == needed


def test_manifest_subscribes_to_thread_messages_and_declares_the_command() -> None:
    manifest = yaml.safe_load((ROOT / "docs" / "slack-app-manifest.yml").read_text("utf-8"))
    settings = manifest["settings"]
    assert set(settings["event_subscriptions"]["bot_events"]) == {"message.channels", "message.groups"}
    assert settings["interactivity"]["is_enabled"] is True
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == ["/complaint"]
