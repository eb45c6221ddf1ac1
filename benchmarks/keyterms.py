"""Speed of the hot-issue key terms (nlp/keyterms.py) per complaint text.

Usage::

    python benchmarks/keyterms.py [--rounds N]

Prints the mean time of ``key_terms`` on a long real-shaped complaint, warm (data files
and jieba loaded first). Target: well under 3 ms a text (it runs once per submitted
complaint). A benchmark, not a test: tests assert behaviour, never timings.
"""

from __future__ import annotations

import argparse
import time

from nlp import default_classifier

TEXT = "上周在张记麻辣烫点的外卖，毛肚不新鲜，打电话给店里说了三次也没人管，订单号dd20261127001。" * 3
TARGET_MS = 3.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=500)
    args = parser.parse_args()
    classifier = default_classifier()
    classifier.key_terms(TEXT)  # warm: data files, jieba
    start = time.perf_counter()
    for _ in range(args.rounds):
        classifier.key_terms(TEXT)
    per_text_ms = (time.perf_counter() - start) / args.rounds * 1000
    verdict = "PASS" if per_text_ms < TARGET_MS else "MISS"
    print(f"key terms: {per_text_ms:.3f} ms per text over {args.rounds} rounds ({len(TEXT)} characters); target < {TARGET_MS} ms: {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
