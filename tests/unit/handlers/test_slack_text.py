"""What agents write in Slack reaches customers as plain text, and customer text reaches
Slack escaped."""

from __future__ import annotations

from handlers.slack import escape, plain_text

NAMES = {"U0ALICE": "Alice"}


async def name(user_id: str) -> str:
    return NAMES.get(user_id, user_id)


async def test_slack_markup_becomes_plain_text_for_the_customer() -> None:
    text = "Hi! <@U0ALICE> will call you; see <https://shop.example/refund|our refund page> or <https://x.example> &amp; reply 1 &lt; 2"
    assert await plain_text(text, name) == (
        "Hi! @Alice will call you; see our refund page (https://shop.example/refund) or https://x.example & reply 1 < 2"
    )
    assert await plain_text("<#C0123|complaints> <!here> <mailto:a@b.cn|a@b.cn>", name) == "#complaints @here a@b.cn"


def test_customer_text_cannot_mention_or_disguise_links_in_slack() -> None:
    assert escape("<!channel> <@U1> <http://evil|bank> a & b") == "&lt;!channel&gt; &lt;@U1&gt; &lt;http://evil|bank&gt; a &amp; b"
