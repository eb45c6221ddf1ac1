"""``complaint-bot classify [FILE ...]``: classify messages into JSON lines.

Input (each FILE, or stdin when no FILE or FILE is ``-``):

- plain text, one message per line; its id is the line number;
- JSON lines ``{"id": ..., "text": ...}`` (a line starting with ``{``); without an
  ``id`` the line number is used;
- a JSON array of such objects (a file whose content starts with ``[``), e.g. the
  labelled dev set.

Output: one JSON line per message, ``{"id", "text", "category", "severity", "scores",
"cues"}`` (``Suggestion.to_dict()``), plus ``"source"`` when several inputs are given.
Blank lines are skipped. A malformed line yields ``{"id": <line no>, "error": "..."}``
and a message on stderr, and processing continues.

Exit code: 0 when every message was classified, 1 when some input failed, 2 when the
lexicon files are invalid.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from nlp import Classifier, LexiconError, default_classifier

STDIN = "-"


@dataclass(frozen=True, slots=True)
class _Message:
    id: Any
    text: str


@dataclass(frozen=True, slots=True)
class _Problem:
    id: Any
    error: str


def run(
    inputs: list[str],
    output: TextIO,
    categories: Path | None = None,
    severity: Path | None = None,
    userdict: Path | None = None,
) -> int:
    """Classify every message of ``inputs`` and write JSON lines to ``output``."""
    try:
        if categories or severity or userdict:
            classifier = Classifier.load(categories, severity, userdict)
        else:
            classifier = default_classifier()
    except LexiconError as exc:
        print(f"complaint-bot classify: {exc}", file=sys.stderr)
        return 2
    sources = inputs or [STDIN]
    failed = False
    for source in sources:
        label = "<stdin>" if source == STDIN else source
        try:
            content = _read(source)
        except (OSError, UnicodeDecodeError) as exc:
            _report(output, label, _Problem(None, f"cannot read {label}: {exc}"), sources)
            failed = True
            continue
        for item in _messages(content):
            if isinstance(item, _Problem):
                _report(output, label, item, sources)
                failed = True
                continue
            record: dict[str, Any] = {"id": item.id, "text": item.text}
            if len(sources) > 1:
                record["source"] = label
            record.update(classifier.classify(item.text).to_dict())
            output.write(json.dumps(record, ensure_ascii=False) + "\n")
    return 1 if failed else 0


def _read(source: str) -> str:
    if source == STDIN:
        return sys.stdin.read()
    return Path(source).read_text(encoding="utf-8-sig")


def _report(output: TextIO, label: str, problem: _Problem, sources: list[str]) -> None:
    where = f"{label}:{problem.id}" if problem.id is not None else label
    print(f"complaint-bot classify: {where}: {problem.error}", file=sys.stderr)
    record: dict[str, Any] = {"id": problem.id, "error": problem.error}
    if len(sources) > 1:
        record["source"] = label
    output.write(json.dumps(record, ensure_ascii=False) + "\n")


def _messages(content: str) -> Iterator[_Message | _Problem]:
    """Messages (or problems) of one input, in order."""
    if content.lstrip().startswith("["):
        yield from _array_messages(content)
        return
    for number, line in enumerate(content.splitlines(), 1):
        if not line.strip():
            continue
        if line.lstrip().startswith("{"):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield _Problem(number, f"malformed JSON: {exc}")
                continue
            yield _from_object(obj, number)
        else:
            yield _Message(number, line)


def _array_messages(content: str) -> Iterator[_Message | _Problem]:
    try:
        items = json.loads(content)
    except json.JSONDecodeError as exc:
        yield _Problem(exc.lineno, f"malformed JSON array: {exc}")
        return
    if not isinstance(items, list):
        yield _Problem(1, "expected a JSON array of messages")
        return
    for index, item in enumerate(items, 1):
        if isinstance(item, str):
            yield _Message(index, item)
        else:
            yield _from_object(item, index)


def _from_object(obj: object, fallback_id: int) -> _Message | _Problem:
    if not isinstance(obj, dict):
        return _Problem(fallback_id, "expected a JSON object with a 'text' field")
    text = obj.get("text")
    message_id = obj.get("id", fallback_id)
    if not isinstance(text, str):
        return _Problem(message_id, "the 'text' field is missing or not a string")
    return _Message(message_id, text)
