"""Labelled messages and how well a classifier judges them.

The labelled files (``../shared/data/complaints_*.json``, desk corrections exported by
``complaint-bot lexicon fit --from-desk``) are JSON arrays or JSON lines of objects with
``text``, ``category``, ``severity`` and optionally ``id`` and ``also_ok`` (other
categories the message clearly also complains about).

The figures follow the data's README: category accuracy counts a suggestion equal to
``category`` or in ``also_ok`` as right; macro-F1 is over the primary ``category``;
"serious" is hot or major (recall and precision); "important" recall is the share of
messages labelled important that were suggested important or higher.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from nlp.types import Severity, Suggestion

SEVERITIES = tuple(s.value for s in Severity)
SERIOUS = frozenset({Severity.HOT.value, Severity.MAJOR.value})


class LabelledDataError(ValueError):
    """A labelled file is missing, unreadable or malformed (names file and item)."""


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled message."""

    text: str
    category: str
    severity: str = Severity.GENERAL.value
    also_ok: tuple[str, ...] = ()
    id: str = ""

    def accepts(self, category: str) -> bool:
        """True when ``category`` is the label or one of ``also_ok``."""
        return category == self.category or category in self.also_ok


def read_examples(path: Path, categories: Iterable[str] | None = None) -> list[Example]:
    """The labelled messages of a JSON array or JSON-lines file.

    Raises :class:`LabelledDataError` naming the file and the item for anything
    malformed: no ``text`` or ``category``, an unknown severity, or (when
    ``categories`` is given) a category the taxonomy does not have.
    """
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise LabelledDataError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise LabelledDataError(f"{path}: not UTF-8 text") from exc
    stripped = raw.lstrip()
    objects: list[tuple[str, object]] = []
    if stripped.startswith("["):
        try:
            objects = [(f"item {i}", obj) for i, obj in enumerate(json.loads(raw))]
        except json.JSONDecodeError as exc:
            raise LabelledDataError(f"{path}: not JSON: {exc}") from exc
    else:
        # only line feeds end a line: JSON strings may hold U+2028 and U+0085 raw
        for number, line in enumerate(raw.split("\n"), 1):
            if not line.strip():
                continue
            try:
                objects.append((f"line {number}", json.loads(line)))
            except json.JSONDecodeError as exc:
                raise LabelledDataError(f"{path}: line {number}: not JSON: {exc.msg}") from exc
    known = frozenset(categories) if categories is not None else None
    examples = []
    for where, obj in objects:
        if not isinstance(obj, dict):
            raise LabelledDataError(f"{path}: {where}: expected an object with text and category")
        text, category = obj.get("text"), obj.get("category")
        severity = obj.get("severity") or Severity.GENERAL.value
        also_ok = obj.get("also_ok") or []
        if not isinstance(text, str) or not text.strip():
            raise LabelledDataError(f"{path}: {where}: 'text' must be a non-empty string")
        if not isinstance(category, str) or not category:
            raise LabelledDataError(f"{path}: {where}: 'category' must be a category id")
        if severity not in SEVERITIES:
            raise LabelledDataError(
                f"{path}: {where}: unknown severity {severity!r} (expected one of "
                f"{', '.join(SEVERITIES)})"
            )
        if not isinstance(also_ok, list) or not all(isinstance(c, str) for c in also_ok):
            raise LabelledDataError(f"{path}: {where}: 'also_ok' must be a list of category ids")
        if known is not None:
            for cid in (category, *also_ok):
                if cid not in known:
                    raise LabelledDataError(
                        f"{path}: {where}: unknown category {cid!r} (the taxonomy has "
                        f"{', '.join(sorted(known))})"
                    )
        examples.append(
            Example(text, category, severity, tuple(also_ok), str(obj.get("id", where)))
        )
    return examples


@dataclass(frozen=True, slots=True)
class CategoryScore:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True, slots=True)
class Scores:
    """Quality figures of one set of suggestions."""

    size: int
    accuracy: float
    macro_f1: float
    per_category: dict[str, CategoryScore]
    confusion: dict[str, dict[str, int]]  # true severity -> suggested severity -> count
    serious_recall: float
    serious_precision: float
    important_recall: float

    def per_severity(self) -> dict[str, tuple[float, float, int]]:
        """Precision, recall and support of each exact severity grade."""
        result = {}
        for grade in SEVERITIES:
            support = sum(self.confusion[grade].values())
            said = sum(self.confusion[t][grade] for t in SEVERITIES)
            hit = self.confusion[grade][grade]
            result[grade] = (hit / said if said else 0.0, hit / support if support else 0.0, support)
        return result


def score(
    examples: Sequence[Example], suggestions: Sequence[Suggestion], categories: Sequence[str]
) -> Scores:
    """Accuracy, macro-F1, per-category P/R/F1, severity confusion and recalls."""
    right = 0
    tp = dict.fromkeys(categories, 0)
    fp = dict.fromkeys(categories, 0)
    fn = dict.fromkeys(categories, 0)
    confusion = {t: dict.fromkeys(SEVERITIES, 0) for t in SEVERITIES}
    s_tp = s_fp = s_fn = 0
    important = important_found = 0
    for example, suggestion in zip(examples, suggestions, strict=True):
        predicted = suggestion.category
        right += example.accepts(predicted)
        if predicted == example.category:
            tp[predicted] = tp.get(predicted, 0) + 1
        else:
            fp[predicted] = fp.get(predicted, 0) + 1
            fn[example.category] = fn.get(example.category, 0) + 1
        said = suggestion.severity.value
        confusion[example.severity][said] += 1
        truly_serious = example.severity in SERIOUS
        said_serious = said in SERIOUS
        s_tp += truly_serious and said_serious
        s_fp += said_serious and not truly_serious
        s_fn += truly_serious and not said_serious
        if example.severity == Severity.IMPORTANT.value:
            important += 1
            important_found += suggestion.severity.rank >= Severity.IMPORTANT.rank
    per_category = {}
    for cid in dict.fromkeys([*categories, *tp, *fn]):
        t, f_p, f_n = tp.get(cid, 0), fp.get(cid, 0), fn.get(cid, 0)
        p = t / (t + f_p) if t + f_p else 0.0
        r = t / (t + f_n) if t + f_n else 0.0
        per_category[cid] = CategoryScore(p, r, 2 * p * r / (p + r) if p + r else 0.0, t + f_n)
    present = [s.f1 for s in per_category.values() if s.support > 0]
    return Scores(
        size=len(examples),
        accuracy=right / len(examples) if examples else 0.0,
        macro_f1=sum(present) / len(present) if present else 0.0,
        per_category=per_category,
        confusion=confusion,
        serious_recall=s_tp / (s_tp + s_fn) if s_tp + s_fn else 0.0,
        serious_precision=s_tp / (s_tp + s_fp) if s_tp + s_fp else 0.0,
        important_recall=important_found / important if important else 0.0,
    )


def read_texts(path: Path) -> list[str]:
    """Unlabelled texts: JSON lines with a ``text`` field (gzip-compressed when the
    name ends in ``.gz``, like ``unlabelled_reviews.jsonl.gz``) or plain lines."""
    import gzip

    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rt", encoding="utf-8") as stream:
                lines = stream.read().split("\n")
        else:
            lines = path.read_text(encoding="utf-8-sig").split("\n")
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise LabelledDataError(f"{path}: cannot read: {exc}") from exc
    texts = []
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line:
            continue
        if line.startswith('{"'):  # a JSON object; "{笑}快递慢" is a plain line
            try:
                text = json.loads(line).get("text")
            except (json.JSONDecodeError, AttributeError) as exc:
                raise LabelledDataError(f"{path}: line {number}: not a JSON object: {exc}") from exc
            if not isinstance(text, str):
                raise LabelledDataError(f"{path}: line {number}: no 'text' string")
            line = text
        texts.append(line)
    return texts
