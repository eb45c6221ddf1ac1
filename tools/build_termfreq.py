"""Build ``nlp/data/termfreq.txt``: the generic words that are never key terms.

Usage::

    python3 tools/build_termfreq.py [--corpus PATH] [--out PATH]

Reads the unlabelled review corpus (JSON lines ``{"source", "text"}``, gzip or plain;
default ``../shared/data/unlabelled_reviews.jsonl.gz`` beside the repository), cuts
every text exactly as :func:`nlp.keyterms.key_terms` does (folded, the packaged
lexicon's jieba tokenizer with HMM) and counts each word's document frequency, overall
and per kind of business (the corpus ``source`` without its collection prefix; the two
hotel collections are one kind). Words that :func:`nlp.keyterms.shapeless` already
rejects (digits, single characters, numbers, particles) are not counted. A word seen
in at least ``MIN_DF`` texts is generic when

- **spread**: at least ``SPREAD_RATE`` of the texts of at least ``SPREAD_KINDS`` kinds
  mention it: the vocabulary of complaining in general ("打电话", "客服", "质量");
- **even**: seen in at least ``EVEN_MIN_DF`` texts, about equally often in every
  kind (normalised entropy of its per-kind rates at least ``EVEN_ENTROPY``): words
  that belong to no kind of business ("花钱", "责任", "效率", "平台");
- **wide**: at least ``WIDE_RATE`` of the texts of one kind mention it: what nearly
  every complaint of that kind of business names ("酒店", "房间", "外卖", "京东");
- **part of speech**: jieba's dictionary (or the lexicon's user dictionary) tags it
  as something other than a noun, a name, a place or an abbreviation: verbs,
  adjectives, adverbs, pronouns, numerals, time and position words, idioms ("催",
  "干净", "一直", "晚上", "附近").

Only kinds with at least ``MIN_KIND_TEXTS`` texts take part in the two rates. The
output lists the generic words, most frequent first, as ``<word> <df> <why>``; the
same corpus and jieba version give the same file.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import sys
from collections import Counter, defaultdict
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from nlp import default_classifier  # noqa: E402
from nlp.keyterms import candidates, cutter, shapeless  # noqa: E402
from nlp.text import fold  # noqa: E402

DEFAULT_CORPUS = REPO_ROOT.parent / "shared" / "data" / "unlabelled_reviews.jsonl.gz"
DEFAULT_OUT = REPO_ROOT / "nlp" / "data" / "termfreq.txt"

MIN_DF = 3
SPREAD_RATE = 0.002
SPREAD_KINDS = 4
EVEN_MIN_DF = 10
EVEN_ENTROPY = 0.7
WIDE_RATE = 0.10
MIN_KIND_TEXTS = 500
# jieba tags of words that can name what a complaint is about; any other tag is generic
NOUN_TAGS = frozenset({"n", "nr", "nrt", "nrfg", "ns", "nt", "nz", "ng", "nw", "j", "eng"})


def kind_of(source: str) -> str:
    """The kind of business a corpus source stands for."""
    kind = source.rsplit("/", 1)[-1]
    return "酒店" if kind == "酒店" or "htl" in kind else kind


def read_corpus(path: Path) -> list[tuple[str, str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as lines:
        return [(kind_of(item["source"]), item["text"]) for item in map(json.loads, lines) if item]


def jieba_tags(tokenizer: object) -> dict[str, str]:
    """Word -> part-of-speech tag from jieba's dictionary file and the user words."""
    tags: dict[str, str] = {}
    with tokenizer.get_dict_file() as dictionary:  # type: ignore[attr-defined]
        for raw in dictionary:
            fields = raw.decode("utf-8").split()
            if len(fields) == 3:
                tags[fold(fields[0])] = fields[2]
    tags.update(getattr(tokenizer, "user_word_tag_tab", {}))
    return tags


def evenness(rates: list[float]) -> float:
    """Entropy of the rates as a distribution over kinds, 1.0 when all are equal."""
    total = sum(rates)
    if total <= 0 or len(rates) < 2:
        return 0.0
    shares = [rate / total for rate in rates if rate > 0]
    return -sum(share * math.log(share) for share in shares) / math.log(len(rates))


def build(texts: list[tuple[str, str]]) -> tuple[list[tuple[str, int, str]], dict[str, int]]:
    """The generic words as (word, df, why) and the number of texts per kind."""
    classifier = default_classifier()
    classifier.warm_up()
    tokenizer = classifier._tokenizer  # the tokenizer key_terms uses
    cut = cutter(tokenizer)
    kinds = Counter(kind for kind, _ in texts)
    df: dict[str, Counter[str]] = defaultdict(Counter)
    for kind, text in texts:
        for word in set(candidates(fold(text), cut)):
            if not shapeless(word):
                df[word][kind] += 1
    tags = jieba_tags(tokenizer)
    rated = [kind for kind, n in kinds.items() if n >= MIN_KIND_TEXTS]
    generic: list[tuple[str, int, str]] = []
    for word, per_kind in df.items():
        total = sum(per_kind.values())
        if total < MIN_DF:
            continue
        rates = [per_kind[kind] / kinds[kind] for kind in rated]
        why = []
        if sum(rate >= SPREAD_RATE for rate in rates) >= SPREAD_KINDS:
            why.append("spread")
        if total >= EVEN_MIN_DF and evenness(rates) >= EVEN_ENTROPY:
            why.append("even")
        if max(rates, default=0.0) >= WIDE_RATE:
            why.append("wide")
        tag = tags.get(word)
        if tag is not None and tag not in NOUN_TAGS and not word.isascii():
            why.append(f"pos:{tag}")
        if why:
            generic.append((word, total, ",".join(why)))
    generic.sort(key=lambda item: (-item[1], item[0]))
    return generic, dict(kinds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="JSON lines {source, text}")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the file to write")
    args = parser.parse_args(argv)
    texts = read_corpus(args.corpus)
    generic, kinds = build(texts)
    import jieba

    header = f"""\
# Generic words: never key terms (nlp/keyterms.py), because they say how people complain,
# not which product, brand, shop, dish or place a complaint is about.
# Made by tools/build_termfreq.py (jieba {jieba.__version__}) from {args.corpus.name}:
# {len(texts):,} negative reviews (food delivery, hotels, ten kinds of online shopping),
# cut as key_terms cuts them; df = number of reviews containing the word. A word with
# df >= {MIN_DF} is listed when it is
#   spread  in >= {SPREAD_RATE:.1%} of the reviews of >= {SPREAD_KINDS} kinds of business
#   even    in >= {EVEN_MIN_DF} reviews, about as often in every kind (entropy of its
#           per-kind rates >= {EVEN_ENTROPY} of the maximum)
#   wide    in >= {WIDE_RATE:.0%} of the reviews of one kind
#   pos:T   tagged T by jieba's dictionary, not a noun, name, place or abbreviation
# (kinds with >= {MIN_KIND_TEXTS} reviews: {", ".join(f"{k} {n}" for k, n in sorted(kinds.items(), key=lambda kv: -kv[1]) if n >= MIN_KIND_TEXTS)})
# Rebuild: python3 tools/build_termfreq.py --corpus ../shared/data/unlabelled_reviews.jsonl.gz
# Format: <word> <df> <why>, most frequent first.
"""
    lines = [f"{word} {df} {why}" for word, df, why in generic]
    args.out.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    size = args.out.stat().st_size
    print(f"{args.out}: {len(generic):,} generic words of {len(texts):,} texts, {size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
