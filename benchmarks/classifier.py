"""Accuracy and speed of the nlp classifier on the labelled dev set.

Usage::

    python benchmarks/classifier.py [--data PATH] [--errors even|odd|all] [--rounds N]

Prints, for the whole set and for its even- and odd-indexed halves (tune on one half,
check on the other): category accuracy (a prediction equal to ``category`` or in
``also_ok`` is right), macro-F1 over the primary ``category`` labels, per-category
precision / recall / F1, the severity confusion matrix, recall and precision of
"hot or major"; then texts per second after warm-up and the time of ``import nlp``
plus the first classification in a fresh interpreter. Each figure is printed next to
its target with PASS or MISS. The exit code is always 0: this is a report.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from nlp import Severity, Suggestion, default_classifier  # noqa: E402

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "complaints_dev.json"
SEVERITIES = [s.value for s in Severity]
SERIOUS = {Severity.HOT.value, Severity.MAJOR.value}

TARGET_ACCURACY = 0.85
TARGET_MACRO_F1 = 0.75
TARGET_SERIOUS_RECALL = 0.85
TARGET_SERIOUS_PRECISION = 0.6
TARGET_SPEED = 5000.0
TARGET_STARTUP = 1.5


@dataclass(frozen=True)
class Scores:
    """Quality figures for one subset of the dev set."""

    size: int
    accuracy: float
    macro_f1: float
    per_category: dict[str, tuple[float, float, float, int]]  # p, r, f1, support
    confusion: dict[str, dict[str, int]]
    serious_recall: float
    serious_precision: float


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def evaluate(items: Sequence[dict[str, Any]], predictions: Sequence[Suggestion]) -> Scores:
    """Accuracy, macro-F1, per-category P/R/F1, severity confusion, hot+major P/R."""
    categories = [c.id for c in default_classifier().taxonomy]
    right = 0
    tp = dict.fromkeys(categories, 0)
    fp = dict.fromkeys(categories, 0)
    fn = dict.fromkeys(categories, 0)
    confusion = {t: dict.fromkeys(SEVERITIES, 0) for t in SEVERITIES}
    s_tp = s_fp = s_fn = 0
    for item, suggestion in zip(items, predictions, strict=True):
        predicted = suggestion.category
        if predicted == item["category"] or predicted in item.get("also_ok", ()):
            right += 1
        if predicted == item["category"]:
            tp[predicted] += 1
        else:
            fp[predicted] = fp.get(predicted, 0) + 1
            fn[item["category"]] = fn.get(item["category"], 0) + 1
        confusion[item["severity"]][suggestion.severity.value] += 1
        truly = item["severity"] in SERIOUS
        said = suggestion.severity.value in SERIOUS
        s_tp += truly and said
        s_fp += said and not truly
        s_fn += truly and not said
    per_category = {}
    for cid in categories:
        p = tp[cid] / (tp[cid] + fp[cid]) if tp[cid] + fp[cid] else 0.0
        r = tp[cid] / (tp[cid] + fn[cid]) if tp[cid] + fn[cid] else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        per_category[cid] = (p, r, f1, tp[cid] + fn[cid])
    present = [cid for cid in categories if per_category[cid][3] > 0]
    macro_f1 = sum(per_category[cid][2] for cid in present) / len(present) if present else 0.0
    return Scores(
        size=len(items),
        accuracy=right / len(items) if items else 0.0,
        macro_f1=macro_f1,
        per_category=per_category,
        confusion=confusion,
        serious_recall=s_tp / (s_tp + s_fn) if s_tp + s_fn else 0.0,
        serious_precision=s_tp / (s_tp + s_fp) if s_tp + s_fp else 0.0,
    )


def print_scores(title: str, scores: Scores) -> None:
    """Print one subset's figures with targets."""
    print(f"\n=== {title} ({scores.size} messages) ===")
    print(
        f"category accuracy      {scores.accuracy:6.3f}   target >= {TARGET_ACCURACY:.2f}  "
        f"{verdict(scores.accuracy >= TARGET_ACCURACY)}"
    )
    print(
        f"macro-F1 (category)    {scores.macro_f1:6.3f}   target >= {TARGET_MACRO_F1:.2f}  "
        f"{verdict(scores.macro_f1 >= TARGET_MACRO_F1)}"
    )
    print(
        f"hot+major recall       {scores.serious_recall:6.3f}   target >= "
        f"{TARGET_SERIOUS_RECALL:.2f}  {verdict(scores.serious_recall >= TARGET_SERIOUS_RECALL)}"
    )
    print(
        f"hot+major precision    {scores.serious_precision:6.3f}   target >= "
        f"{TARGET_SERIOUS_PRECISION:.2f}  "
        f"{verdict(scores.serious_precision >= TARGET_SERIOUS_PRECISION)}"
    )
    print("\nper category        precision  recall     F1  support")
    for cid, (p, r, f1, support) in scores.per_category.items():
        print(f"  {cid:<16} {p:9.3f} {r:7.3f} {f1:6.3f} {support:8d}")
    print("\nseverity confusion (rows: true, columns: predicted)")
    print("  " + " " * 10 + "".join(f"{s:>10}" for s in SEVERITIES))
    for true in SEVERITIES:
        row = scores.confusion[true]
        print(f"  {true:<10}" + "".join(f"{row[s]:>10}" for s in SEVERITIES))


def measure_speed(texts: Sequence[str], rounds: int) -> float:
    """Texts per second over ``rounds`` passes, after one warm-up pass."""
    classifier = default_classifier()
    for text in texts:
        classifier.classify(text)
    start = time.perf_counter()
    for _ in range(rounds):
        for text in texts:
            classifier.classify(text)
    elapsed = time.perf_counter() - start
    return rounds * len(texts) / elapsed


def measure_startup() -> float:
    """Seconds for ``import nlp`` + first classification in a fresh interpreter."""
    code = (
        "import time; t = time.perf_counter(); import nlp; "
        "nlp.classify('送餐太慢了，饭都凉了'); print(time.perf_counter() - t)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(result.stdout.strip().splitlines()[-1])


def print_errors(items: Sequence[dict[str, Any]], predictions: Sequence[Suggestion]) -> None:
    """Wrong categories or wrong hot+major calls, with their cues (for tuning)."""
    for item, s in zip(items, predictions, strict=True):
        category_ok = s.category == item["category"] or s.category in item.get("also_ok", ())
        serious_ok = (item["severity"] in SERIOUS) == (s.severity.value in SERIOUS)
        if category_ok and serious_ok:
            continue
        cues = " ".join(f"{c.word}:{c.category}:{c.weight}" for c in s.category_cues)
        rules = " ".join(f"{c.rule}:{c.word}" for c in s.severity_cues)
        cancelled = " ".join(c.word for c in s.negated)
        print(
            f"{item['id']} true={item['category']}{item.get('also_ok') or ''}/"
            f"{item['severity']} predicted={s.category}/{s.severity.value}\n"
            f"    {item['text'][:160]}\n"
            f"    cues: {cues} | rules: {rules} | negated: {cancelled}"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="labelled JSON array")
    parser.add_argument("--rounds", type=int, default=5, help="passes for the speed figure")
    parser.add_argument("--errors", choices=["even", "odd", "all"], help="list the mistakes")
    args = parser.parse_args(argv)

    items: list[dict[str, Any]] = json.loads(args.data.read_text(encoding="utf-8"))
    classifier = default_classifier()
    predictions = [classifier.classify(item["text"]) for item in items]
    halves = {
        "even": [i for i in range(len(items)) if i % 2 == 0],
        "odd": [i for i in range(len(items)) if i % 2 == 1],
    }
    if args.errors:
        chosen = halves.get(args.errors, range(len(items)))
        print_errors([items[i] for i in chosen], [predictions[i] for i in chosen])
        return 0

    print(f"dev set: {args.data}")
    print_scores("whole set", evaluate(items, predictions))
    for name, indexes in halves.items():
        subset = evaluate([items[i] for i in indexes], [predictions[i] for i in indexes])
        print_scores(f"{name}-indexed half", subset)

    speed = measure_speed([item["text"] for item in items], args.rounds)
    startup = measure_startup()
    print("\n=== speed ===")
    print(
        f"texts per second       {speed:8.0f}   target >= {TARGET_SPEED:.0f}  "
        f"{verdict(speed >= TARGET_SPEED)}"
    )
    print(
        f"import + first (s)     {startup:8.3f}   target <= {TARGET_STARTUP:.1f}  "
        f"{verdict(startup <= TARGET_STARTUP)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
