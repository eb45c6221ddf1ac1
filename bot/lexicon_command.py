"""``complaint-bot lexicon fit``: learn keyword weights from labelled messages.

    complaint-bot lexicon fit --labelled FILE... [--from-desk] [--base DIR]
                              [--unlabelled FILE] [--accept-severity-cues]
                              [--cv K] --out DIR [--force]

Reads labelled messages (JSON arrays or JSON lines with ``text``, ``category``,
``severity``, optionally ``also_ok``) and, with ``--from-desk``, the corrections agents
and supervisors made on the desk (the configured database). Fits the base lexicon's
keyword weights to them (see :mod:`nlp.fit`), writes the new lexicon files to
``--out`` and prints what would change: words added, re-weighted and dropped, and
accuracy before and after on the labelled files and on the desk's corrections.

Nothing changes in a running bot: a person points the ``[classifier]`` settings at the
new files (or copies them over the configured ones) and restarts the bot.

Exit codes: 0 written, 2 bad input (unreadable or malformed files, unknown
categories, an ``--out`` folder that already holds a lexicon without ``--force``).
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from nlp import Classifier, LexiconError
from nlp.evaluation import Example, LabelledDataError, Scores, read_examples, read_texts, score
from nlp.fit import FitOptions, cross_validate, fit, load_base, write_lexicon


class FitCommandError(Exception):
    """Bad input to ``lexicon fit``: the message says what and how to fix it."""


@dataclass(frozen=True, slots=True)
class FitRequest:
    labelled: tuple[Path, ...]
    out: Path
    base: Path | None = None
    desk: tuple[dict[str, Any], ...] = ()  # corrections, already exported
    unlabelled: Path | None = None
    accept_severity: bool = False
    folds: int = 0
    force: bool = False


def run(request: FitRequest, output: TextIO = sys.stdout, argv: Sequence[str] = ()) -> int:
    """Fit, write and report; raises :class:`FitCommandError` for bad input."""
    if request.base is not None and not request.base.is_dir():
        raise FitCommandError(f"--base {request.base}: no such folder")
    try:
        base = load_base(request.base)
    except LexiconError as exc:
        raise FitCommandError(f"base lexicon: {exc}") from exc
    categories = [c.id for c in base.taxonomy.categories]
    files: list[tuple[str, list[Example]]] = []
    for path in request.labelled:
        try:
            files.append((str(path), read_examples(path, categories)))
        except LabelledDataError as exc:
            raise FitCommandError(str(exc)) from exc
    desk = _desk_examples(request.desk, categories)
    labelled = [e for _, found in files for e in found]
    examples = labelled + desk
    if not examples:
        raise FitCommandError(
            "nothing to learn from: give --labelled FILE... and/or --from-desk "
            "(the desk has no corrections yet)"
        )
    if request.out.exists() and not request.out.is_dir():
        raise FitCommandError(f"--out {request.out} is a file; give a folder for the lexicon files")
    if (request.out / "categories.txt").exists() and not request.force:
        raise FitCommandError(
            f"{request.out} already holds a lexicon; choose another --out or add --force "
            "to overwrite it"
        )
    unlabelled: list[str] = []
    if request.unlabelled is not None:
        try:
            unlabelled = read_texts(request.unlabelled)
        except LabelledDataError as exc:
            raise FitCommandError(str(exc)) from exc
        known = {e.text for e in examples}
        unlabelled = [t for t in unlabelled if t not in known]

    def say(message: str) -> None:
        print(f"  {message}", file=output, flush=True)

    sources = ", ".join(f"{name} {len(found)}" for name, found in files)
    print(
        f"learning from {len(examples)} labelled messages ({sources or 'no files'}; "
        f"{len(desk)} desk corrections)"
        + (f" and {len(unlabelled)} unlabelled texts" if unlabelled else ""),
        file=output,
    )
    options = FitOptions(accept_severity=request.accept_severity)
    result = fit(examples, base, options, say, unlabelled)
    command = "complaint-bot " + " ".join(shlex.quote(a) for a in argv)
    try:
        written = write_lexicon(result, request.base, request.out, command.strip())
    except OSError as exc:
        raise FitCommandError(f"cannot write the lexicon to {request.out}: {exc}") from exc
    print("wrote " + ", ".join(str(p) for p in written), file=output)

    _print_changes(base, result, output)
    fitted = result.classifier()
    before = Classifier(base)
    print("\naccuracy before -> after (category accuracy, macro-F1, hot+major recall, "
          "important recall):", file=output)
    for name, found in [*files, ("desk corrections", desk)]:
        if not found:
            continue
        print(
            f"  {name} ({len(found)}): {_figures(before, found, categories)}  ->  "
            f"{_figures(fitted, found, categories)}",
            file=output,
        )
    if labelled:
        print("  (figures on messages the fit learnt from flatter it; --cv K measures "
              "on held-out folds)", file=output)
    if request.folds:
        print(f"\n{request.folds}-fold cross-validation (fit on all folds but one, "
              "judge that one; each in turn):", file=output)
        scores, _ = cross_validate(examples, base, request.folds, options, say, unlabelled)
        print(f"  {_line(scores)}", file=output)
    print(
        f"\nNothing changed in the running bot. To use the new lexicon, set in the "
        f"[classifier] section of the config:\n"
        f'  categories_file = "{request.out / "categories.txt"}"\n'
        f'  severity_file = "{request.out / "severity.txt"}"\n'
        f'  userdict_file = "{request.out / "userdict.txt"}"\n'
        "and restart the bot. Review proposals.txt for the new words and severity cues.",
        file=output,
    )
    return 0


def _desk_examples(rows: Sequence[dict[str, Any]], categories: list[str]) -> list[Example]:
    examples = []
    for row in rows:
        if row.get("category") not in categories:
            continue  # a category the base taxonomy no longer has
        examples.append(
            Example(row["text"], row["category"], row["severity"], (), str(row.get("id", "")))
        )
    return examples


def _figures(classifier: Classifier, examples: list[Example], categories: list[str]) -> str:
    scores = score(examples, [classifier.classify(e.text) for e in examples], categories)
    return _line(scores, short=True)


def _line(scores: Scores, short: bool = False) -> str:
    if short:
        return (
            f"{scores.accuracy:.3f} {scores.macro_f1:.3f} {scores.serious_recall:.3f} "
            f"{scores.important_recall:.3f}"
        )
    return (
        f"category accuracy {scores.accuracy:.3f}, macro-F1 {scores.macro_f1:.3f}, "
        f"hot+major recall {scores.serious_recall:.3f} at precision "
        f"{scores.serious_precision:.3f}, important recall {scores.important_recall:.3f}"
    )


def _print_changes(base: Any, result: Any, output: TextIO, show: int = 12) -> None:
    """Words added, re-weighted and dropped against the base lexicon."""
    old = {
        (k.pattern.text if k.negatable else "~" + k.pattern.text, k.category): k.weight
        for k in base.taxonomy.keywords
    }
    new = {(w.pattern, w.category): w for w in result.weights}
    added = [w for key, w in new.items() if key not in old]
    dropped = [key for key in old if key not in new]
    changed = [
        (w, old[key]) for key, w in new.items() if key in old and abs(w.weight - old[key]) >= 0.3
    ]
    print(
        f"\nchanges against the base lexicon: {len(added)} keyword lines added, "
        f"{len(changed)} re-weighted by 0.3 or more, {len(dropped)} dropped",
        file=output,
    )
    for w in sorted(added, key=lambda w: -w.support)[:show]:
        print(f"  + {w.pattern} [{w.category}] {w.weight:g}  ({w.agree} of {w.support} messages)", file=output)
    for w, was in sorted(changed, key=lambda item: -abs(item[0].weight - item[1]))[:show]:
        print(f"  ~ {w.pattern} [{w.category}] {was:g} -> {w.weight:g}  ({w.agree} of {w.support} messages)", file=output)
    for pattern, category in dropped[:show]:
        print(f"  - {pattern} [{category}] {old[(pattern, category)]:g}", file=output)
    proposals = result.severity_proposals
    verb = "added" if result.options.accept_severity else "proposed (add with --accept-severity-cues)"
    print(f"severity cues {verb}: {len(proposals)}", file=output)
    for p in proposals[:show]:
        print(
            f"  {p.word} -> {p.rule} ({p.grade.value}): {p.agree} of {p.support} messages at "
            f"{p.grade.value} or higher, {p.caught} not caught by the rules",
            file=output,
        )
