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

The base lexicon: ``--base DIR``; else, with ``--from-desk``, the lexicon the bot runs
(the files the config names in ``[classifier]``, else the packaged ones: the taxonomy
the desk's corrections were made in); else the hand-written seed ``nlp/seed``.

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
from nlp.evaluation import (
    SERIOUS,
    SEVERITIES,
    Example,
    LabelledDataError,
    Scores,
    read_examples,
    read_texts,
    score,
)
from nlp.fit_files import OUTPUT_FILES, BaseFiles, write_lexicon
from nlp.fit import (
    Fit,
    FitOptions,
    agreement,
    cross_validate,
    fit,
)
from nlp.lexicon import Lexicon


class FitCommandError(Exception):
    """Bad input to ``lexicon fit``: the message says what and how to fix it."""


@dataclass(frozen=True, slots=True)
class FitRequest:
    labelled: tuple[Path, ...]
    out: Path
    base: BaseFiles = BaseFiles()  # default: the hand-written seed
    desk: tuple[dict[str, Any], ...] = ()  # corrections, already exported
    from_desk: bool = False
    unlabelled: Path | None = None
    accept_severity: bool = False
    folds: int = 0
    force: bool = False


def run(request: FitRequest, output: TextIO = sys.stdout, argv: Sequence[str] = ()) -> int:
    """Fit, write and report; raises :class:`FitCommandError` for bad input."""
    try:
        base = request.base.load()
    except LexiconError as exc:
        raise FitCommandError(f"base lexicon: {exc}") from exc
    categories = [c.id for c in base.taxonomy.categories]
    files: list[tuple[str, list[Example]]] = []
    for path in request.labelled:
        try:
            files.append((str(path), read_examples(path, categories)))
        except LabelledDataError as exc:
            raise FitCommandError(str(exc)) from exc
    desk, skipped = _desk_examples(request.desk, categories)
    if skipped:
        print(
            f"skipped {len(skipped)} desk corrections to categories the base lexicon does not "
            f"have ({', '.join(sorted(set(skipped)))}); give --base the lexicon the bot runs with",
            file=output,
        )
    labelled = [e for _, found in files for e in found]
    examples = labelled + desk
    if not examples:
        if request.from_desk and not request.desk:
            why = "the desk has no corrections yet"
        elif skipped:
            why = "every desk correction was skipped (see above)"
        elif request.labelled:
            why = "the labelled files hold no messages"
        else:
            why = "give --labelled FILE... and/or --from-desk"
        raise FitCommandError(f"nothing to learn from: {why}")
    if request.folds > len(examples):
        raise FitCommandError(
            f"--cv {request.folds} needs at least {request.folds} messages; there are {len(examples)}"
        )
    out = request.out
    if out.exists() and not out.is_dir():
        raise FitCommandError(f"--out {out} is a file; give a folder for the lexicon files")
    if out.resolve() in request.base.folders():
        raise FitCommandError(
            f"--out {out} is where the base lexicon is; write the new lexicon elsewhere"
        )
    present = [name for name in OUTPUT_FILES if (out / name).exists()]
    if present and not request.force:
        raise FitCommandError(
            f"{out} already holds {', '.join(present)}; choose another --out or add --force "
            "to overwrite them"
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
        written = write_lexicon(result, request.base, out, command.strip())
    except OSError as exc:
        raise FitCommandError(f"cannot write the lexicon to {out} (nothing written): {exc}") from exc
    print("wrote " + ", ".join(str(p) for p in written), file=output)

    _print_changes(base, result, output)
    fitted = result.classifier()
    before = Classifier(base)
    print(
        "\nbefore -> after: category accuracy, macro-F1, hot+major recall / precision, "
        "important recall / precision (n/a: no such message):",
        file=output,
    )
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
    where = out.resolve()
    print(
        f"\nNothing changed in the running bot. To use the new lexicon, set in the "
        f"[classifier] section of the config:\n"
        f'  categories_file = "{where / "categories.txt"}"\n'
        f'  severity_file = "{where / "severity.txt"}"\n'
        f'  userdict_file = "{where / "userdict.txt"}"\n'
        "and restart the bot. Review proposals.txt for the new words and severity cues.",
        file=output,
    )
    return 0


def _desk_examples(
    rows: Sequence[dict[str, Any]], categories: list[str]
) -> tuple[list[Example], list[str]]:
    """The corrections as labelled examples, and the categories of those skipped
    because the base taxonomy lacks them."""
    examples = []
    skipped = []
    for row in rows:
        if row.get("category") not in categories:
            skipped.append(str(row.get("category")))
            continue
        examples.append(
            Example(row["text"], row["category"], row["severity"], (), str(row.get("id", "")))
        )
    return examples, skipped


def _figures(classifier: Classifier, examples: list[Example], categories: list[str]) -> str:
    scores = score(examples, [classifier.classify(e.text) for e in examples], categories)
    return _line(scores, short=True)


def _line(scores: Scores, short: bool = False) -> str:
    if short:
        serious = sum(scores.confusion[g][s] for g in SERIOUS for s in SEVERITIES)
        said_serious = sum(scores.confusion[t][s] for t in SEVERITIES for s in SERIOUS)
        important_precision, _, important = scores.per_severity()["important"]
        said_important = sum(scores.confusion[t]["important"] for t in SEVERITIES)

        def value(number: float, present: int) -> str:
            return f"{number:.3f}" if present else "n/a"

        return (
            f"{scores.accuracy:.3f} {scores.macro_f1:.3f} "
            f"{value(scores.serious_recall, serious)}/{value(scores.serious_precision, said_serious)} "
            f"{value(scores.important_recall, important)}/{value(important_precision, said_important)}"
        )
    return (
        f"category accuracy {scores.accuracy:.3f}, macro-F1 {scores.macro_f1:.3f}, "
        f"hot+major recall {scores.serious_recall:.3f} at precision "
        f"{scores.serious_precision:.3f}, important recall {scores.important_recall:.3f}"
    )


def _print_changes(base: Lexicon, result: Fit, output: TextIO, show: int = 12) -> None:
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
        f"\nchanges against the base lexicon: {len(added)} keyword lines added (+), "
        f"{len(changed)} re-weighted by 0.3 or more (*), {len(dropped)} dropped (-)",
        file=output,
    )
    for w in sorted(added, key=lambda w: (-w.agree, -w.weight))[:show]:
        print(f"  + {w.pattern} [{w.category}] {w.weight:g}  ({w.agree} of {w.support} messages)", file=output)
    for w, was in sorted(changed, key=lambda item: -abs(item[0].weight - item[1]))[:show]:
        print(f"  * {w.pattern} [{w.category}] {was:g} -> {w.weight:g}  ({w.agree} of {w.support} messages)", file=output)
    for pattern, category in dropped[:show]:
        print(f"  - {pattern} [{category}] {old[(pattern, category)]:g}", file=output)
    proposals = result.severity_proposals
    verb = "added" if result.options.accept_severity else "proposed (add with --accept-severity-cues)"
    print(f"severity cues {verb}: {len(proposals)}", file=output)
    for p in proposals[:show]:
        print(
            f"  {p.word} -> {p.rule} ({p.grade.value}): {p.agree} of {p.support} messages "
            f"{agreement(p.grade)}, "
            f"{p.caught} not caught by the rules",
            file=output,
        )
