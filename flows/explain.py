"""The words that explain a category suggestion, to customers and to agents.

A suggestion's ``cues`` (``Suggestion.to_dict()["cues"]``, stored with the draft and
the ticket) list every keyword the classifier counted, in text order, each with its
category and weight. With a learnt lexicon a category's cues include weak, common
words ("一样", "快") next to the words that decided it, so the explanation shows the
strongest words only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

STRENGTH_SHARE = 0.5  # a word is shown if its weight is at least this share of the strongest
# A single character ("送", "用") says little on its own: shown only when it weighs this
# much ("慢", "贵", "脏" do); otherwise the suggestion is given without reasons.
ONE_CHARACTER_MIN = 1.5


def explaining_words(cues: Mapping[str, Any], category: str | None, limit: int = 3) -> list[str]:
    """The distinct words counted for ``category``, strongest first, at most ``limit``.

    Only words weighing at least half as much as the strongest one are kept, so a
    3.0 cue is not shown next to a 0.3 one, and a single character only when it is a
    strong cue by itself (``ONE_CHARACTER_MIN``). Equal weights keep text order; a word
    found twice counts with its larger weight; a cue without a numeric weight counts
    as 0.
    """
    best: dict[str, float] = {}
    for cue in cues.get("category") or ():
        if not isinstance(cue, Mapping) or cue.get("category") != category:
            continue
        word = cue.get("word")
        if not isinstance(word, str) or not word:
            continue
        weight = cue.get("weight")
        value = float(weight) if isinstance(weight, (int, float)) and not isinstance(weight, bool) else 0.0
        best[word] = max(best.get(word, value), value)
    if not best or limit <= 0:
        return []
    floor = max(best.values()) * STRENGTH_SHARE
    ranked = sorted(best, key=lambda word: -best[word])  # stable: ties keep text order
    return [
        word
        for word in ranked
        if best[word] >= floor and (len(word) > 1 or best[word] >= ONE_CHARACTER_MIN)
    ][:limit]
