"""Precision and recall of the detail extractor (nlp/details.py) on hand-labelled messages.

Usage::

    python benchmarks/details.py [--errors]

``details_labelled.json`` holds real customer messages of the review corpus
(../shared/data/unlabelled_reviews.jsonl.gz, excerpts of at most 220 characters) in four
samples, each row with the slots a careful person would prefill from it: ``O`` order
number, ``C`` contact, ``W`` when (the customer's words), ``A`` amount paid (the words),
each as the list of acceptable values; ``either`` names slots where taking the value or
nothing are both right. The samples say how they were drawn and how independent of the
rules they are: ``sample2``, ``sample3`` and ``sample5`` were labelled before the
extractor first ran on them, and the figures of that first run (noted with each) are the
ones to expect on new messages; the rules were then corrected for their misses, so their
figures printed now flatter the extractor. A slot counts as correct when the extractor took an acceptable value, as wrong
when it took anything else (a wrong prefill), as missed when it took nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nlp import default_classifier  # noqa: E402

DATA = Path(__file__).with_name("details_labelled.json")
SLOTS = ("O", "C", "W", "A")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--errors", action="store_true", help="print every wrong and missed slot")
    args = parser.parse_args()
    data = json.loads(DATA.read_text(encoding="utf-8"))
    classifier = default_classifier()
    counts: dict[str, dict[str, list[int]]] = defaultdict(lambda: {slot: [0, 0, 0] for slot in SLOTS})
    for row in data["rows"]:
        details = classifier.details(row["text"], date(2026, 11, 30))
        got = {
            "O": details.order_number,
            "C": details.contact,
            "W": details.occurred.words if details.occurred else None,
            "A": details.amount.words if details.amount else None,
        }
        for slot in SLOTS:
            wanted = row["expected"].get(slot)
            taken = got[slot]
            if wanted is None and slot in row.get("either", ()):
                continue
            tally = counts[row["sample"]][slot]  # correct, taken, labelled
            correct = taken is not None and wanted is not None and taken in wanted
            tally[0] += correct
            tally[1] += taken is not None
            tally[2] += wanted is not None
            if args.errors and taken is not None and not correct:
                print(f"  wrong  {row['sample']} {slot} {taken!r} (want {wanted}): {row['text'][:60]}")
            if args.errors and wanted is not None and taken is None:
                print(f"  missed {row['sample']} {slot} {wanted}: {row['text'][:60]}")
    for sample, note in data["samples"].items():
        tallies = counts[sample]
        correct, taken, labelled = (sum(t[i] for t in tallies.values()) for i in range(3))
        per_slot = "  ".join(f"{slot} {t[0]}/{t[1]}/{t[2]}" for slot, t in tallies.items())
        print(f"{sample}: precision {correct}/{taken} = {correct / max(taken, 1):.2f}, recall {correct}/{labelled} = {correct / max(labelled, 1):.2f}   ({per_slot}: correct/taken/labelled)")
        print(f"    {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
