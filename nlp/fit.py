"""Learning keyword weights from labelled messages (``complaint-bot lexicon fit``).

The classifier stays a keyword matcher that a person can read: a category's score is
the sum of the weights of its keywords found in the message (see
:mod:`nlp.classifier`). This module only decides *which* words are keywords and *how
much* each counts, from labelled messages:

1. **Vocabulary.** The base lexicon's keywords (hand-written: topic words, gap
   patterns, English words), plus every jieba token and pair of adjacent tokens
   found, un-negated, in at least ``min_support`` labelled messages; never function
   or stop words, numbers and quantities, names, or (by default) plain nouns: what
   a complaint is *about* is a hot issue's key term, not evidence of its kind
   (:func:`_candidates`).
2. **Features.** Each message's features are the vocabulary entries the classifier
   itself counts in it, with the same negation, praise, put-aside and
   leftmost-longest rules, so what is learnt is exactly what will be matched.
3. **Weights.** A multinomial logistic regression over those features, without
   intercept, with every weight kept >= 0 (a weight is "how much this word speaks
   for this category"), an L2 pull towards the base weight (towards 0 for new
   words), and classes weighted so that rare categories are not ignored. Weights
   below ``min_weight`` are dropped; a word no message contains keeps its base
   weight (e.g. the English keywords, which the data does not cover). Optionally
   self-training: a first fit labels the unlabelled texts it is sure about, which
   join at ``unlabelled_weight``.

Then the lexicon is written in the usual ``categories.txt`` format, every learnt
line with its evidence as a comment (``# 23/25``: in 25 labelled messages, 23 of them
of this category). Severity stays rule-based (the rules of ``nlp/seed/severity.txt``
are hand-written): the fit proposes new severity cues with their evidence and adds
none unless asked to (``accept_severity``).
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from nlp import keyterms
from nlp.classifier import FALLBACK, Classifier
from nlp.evaluation import Example, Scores, score
from nlp.lexicon import (
    GAP,
    TOPIC,
    Keyword,
    Lexicon,
    Pattern,
    SeverityRule,
    SeverityRules,
    Taxonomy,
)
from nlp.text import fold
from nlp.types import Category, Severity, Suggestion

# Tokens that never become keywords on their own or as part of a pair: particles,
# pronouns, copulas, measure words. Negators and degree adverbs may *start* a pair
# ("不新鲜", "太慢") but are never keywords alone.
_FUNCTION = frozenset(
    "的 了 是 我 你 他 她 它 在 也 就 都 和 与 还 又 吧 啊 呢 吗 哦 呀 嘛 着 过 被 把 给 让 这 那 "
    "有 个 一 之 而 或 但 且 则 其 及 等 里 上 下 中 后 前 再 才 从 到 对 向 往 为 以 于 跟 比 "
    "我们 你们 他们 她们 自己 这个 那个 这样 那样 这么 那么 就是 还是 但是 而且 因为 所以 "
    "如果 虽然 然后 可是 不过 已经 一个 一下 一次 什么 怎么 这次 这家 那家 一点 还有 的话 "
    "得 地 啦 哈 嗯 么 呗 咯 哇 喔".split()
)
_STARTERS = frozenset("不 没 没有 太 很 好 真 超 非常 特别 极 最 有点 有些 一点 不太 不是 没什么".split())


@dataclass(frozen=True, slots=True)
class FitOptions:
    """The few knobs of the fit. The defaults were chosen by 5-fold cross-validation
    over the 1,850 labelled messages (``benchmarks/classifier.py``); the comments say
    what moved the figures."""

    min_support: int = 3  # messages a new word must appear in (2: -0.01 accuracy)
    epochs: int = 10  # 40 at rate 0.5: -0.02 accuracy (drifts from the seed)
    learning_rate: float = 0.1
    l2: float = 0.5  # pull of a new word's weights towards 0, per epoch
    prior: float = 1.0  # pull of a base keyword's weight towards its base weight
    balance: float = 0.5  # class weight = (largest class / class size) ** balance
    min_weight: float = 0.5  # learnt weights below this are dropped (0.8: -0.02 accuracy)
    seed: int = 7
    nouns: bool = False  # may plain nouns ("苹果", "房间") become category words?
    min_chars: int = 1  # new single characters ("送", "退") may: +0.02 accuracy
    unlabelled_weight: float = 0.5  # weight of a self-labelled unlabelled message
    unlabelled_margin: float = 2.0  # score lead a self-label needs over the runner-up
    unlabelled_limit: int = 8000  # at most this many unlabelled texts (a fixed sample)
    accept_severity: bool = False  # add the proposed severity cues to their rules
    also_ok: float = 0.0  # share of the target given to a message's also_ok categories
    # (0.3 lowered macro-F1 by 0.02 in cross-validation)
    severity_support: int = 3  # messages a severity cue needs to be proposed
    severity_precision: float = 0.7  # share of them labelled hot (major) or higher
    important_precision: float = 0.5  # share labelled exactly important, for an "important" cue


@dataclass(frozen=True, slots=True)
class Weight:
    """One keyword line of the fitted ``categories.txt``, with its evidence."""

    pattern: str  # as written in the file ("~发票", "吃出...虫子", "太慢")
    category: str
    weight: float
    support: int  # labelled messages in which the word counts
    agree: int  # of those, labelled with this category
    new: bool  # not in the base lexicon
    learnt: bool = True  # False: no message contains it, the base weight is kept


@dataclass(frozen=True, slots=True)
class SeverityProposal:
    """A word that, in the labelled messages, goes with a grade the rules miss."""

    word: str
    grade: Severity
    rule: str  # the rule of that grade it would join
    support: int  # labelled messages in which the word counts
    agree: int  # of those, labelled at ``grade`` or higher
    caught: int  # of those, not already at ``grade`` or higher by the rules


@dataclass(slots=True)
class Fit:
    """The outcome of :func:`fit`: weights with evidence, proposals, the new lexicon."""

    base: Lexicon
    weights: list[Weight]
    severity_proposals: list[SeverityProposal]
    examples: int
    options: FitOptions
    severity: SeverityRules = field(init=False)

    def __post_init__(self) -> None:
        self.severity = self.base.severity
        if self.options.accept_severity and self.severity_proposals:
            self.severity = _with_cues(self.base.severity, self.severity_proposals)

    def lexicon(self) -> Lexicon:
        """The fitted lexicon (base severity rules, user words and negation)."""
        keywords = []
        for number, w in enumerate(self.weights, 1):
            text = w.pattern.removeprefix(TOPIC)
            parts = _folded_parts(text)
            keywords.append(
                Keyword(Pattern(text, parts, number), w.category, w.weight, not w.pattern.startswith(TOPIC))
            )
        taxonomy = Taxonomy(self.base.taxonomy.categories, tuple(keywords), self.base.taxonomy.ignored)
        return replace(self.base, taxonomy=taxonomy, severity=self.severity)

    def classifier(self) -> Classifier:
        return Classifier(self.lexicon())

    def new_keywords(self) -> list[Weight]:
        return [w for w in self.weights if w.new]

    def categories_text(self, header: str = "") -> str:
        """The fitted taxonomy in the ``categories.txt`` format."""
        out = [header.rstrip("\n")] if header else []
        out.append(
            f"# Weights learnt by `complaint-bot lexicon fit` from {self.examples} labelled "
            "messages; after each\n# learnt weight: in how many of them the word counts "
            "and how many of those carry this category.\n# Lines marked 'base' keep the "
            "base lexicon's weight (no message, labelled or not, contains them)."
        )
        out.append("")
        for pattern in self.base.taxonomy.ignored:
            out.append(f"@ignore {pattern.text}")
        by_category: dict[str, list[Weight]] = defaultdict(list)
        for w in self.weights:
            by_category[w.category].append(w)
        for category in self.base.taxonomy.categories:
            out.append("")
            out.append(f"[{category.id}]")
            for language, name in category.names.items():
                out.append(f"@{language} {name}")
            for w in sorted(by_category[category.id], key=lambda w: (-w.weight, w.pattern)):
                if w.support:
                    evidence = f"# {w.agree}/{w.support}" + (" new" if w.new else "")
                elif w.learnt:
                    evidence = "# unlabelled texts only" + (" new" if w.new else "")
                else:
                    evidence = "# base"
                out.append(f"{w.pattern} {w.weight:g}  {evidence}")
        return "\n".join(out) + "\n"

    def severity_text(self, base_text: str) -> str:
        """``severity.txt``: the base rules, plus the accepted proposals if any."""
        if not (self.options.accept_severity and self.severity_proposals):
            return base_text
        lines = base_text.rstrip("\n").split("\n")
        for proposal in self.severity_proposals:
            header = next(
                i for i, line in enumerate(lines) if _rule_header_id(line) == proposal.rule
            )
            lines.insert(
                header + 1 + _label_lines(lines, header),
                f"{proposal.word}  # learnt: {proposal.agree}/{proposal.support} "
                + agreement(proposal.grade),
            )
        return "\n".join(lines) + "\n"

    def proposals_text(self) -> str:
        """What a person should review: new keywords and severity cues, with evidence."""
        out = [
            "# Proposals of `complaint-bot lexicon fit`: words the base lexicon lacks, with",
            "# their evidence in the labelled messages (support: messages in which the word",
            "# counts; agree: of those, labelled with the category; for a severity cue,",
            "# labelled important (an important cue) or at its grade or higher).",
            "",
            "[new keywords]  # word category weight support agree",
        ]
        for w in sorted(self.new_keywords(), key=lambda w: (w.category, -w.weight)):
            out.append(f"{w.pattern}\t{w.category}\t{w.weight:g}\t{w.support}\t{w.agree}")
        out.append("")
        out.append("[severity cues]  # word grade rule support agree newly-caught")
        for p in self.severity_proposals:
            out.append(
                f"{p.word}\t{p.grade.value}\t{p.rule}\t{p.support}\t{p.agree}\t{p.caught}"
            )
        return "\n".join(out) + "\n"


def fit(
    examples: Sequence[Example],
    base: Lexicon,
    options: FitOptions = FitOptions(),
    progress: Callable[[str], None] | None = None,
    unlabelled: Sequence[str] = (),
) -> Fit:
    """Learn keyword weights for ``base``'s taxonomy from ``examples``.

    With ``unlabelled`` texts, fits twice: the first lexicon labels the unlabelled
    texts it is confident about (a lead of ``unlabelled_margin``), which then join
    the labelled ones at ``unlabelled_weight`` (self-training)."""
    if not examples:
        raise ValueError("no labelled messages to learn from")
    extra: list[Example] = []
    if len(unlabelled) > options.unlabelled_limit:
        unlabelled = random.Random(options.seed).sample(list(unlabelled), options.unlabelled_limit)
    if unlabelled:
        judge = _fit(examples, base, options, progress, ()).classifier()
        for text in unlabelled:
            s = judge.classify(text)
            ranked = [*sorted(s.scores.values(), reverse=True), 0.0]
            if ranked[0] - ranked[1] >= options.unlabelled_margin:
                extra.append(Example(text, s.category, s.severity.value))
        if progress:
            progress(f"self-training: {len(extra)} of {len(unlabelled)} unlabelled texts labelled")
    return _fit(examples, base, options, progress, extra)


def _fit(
    examples: Sequence[Example],
    base: Lexicon,
    options: FitOptions,
    progress: Callable[[str], None] | None,
    extra: Sequence[Example],
) -> Fit:
    """One fit on the labelled ``examples`` plus self-labelled ``extra`` texts (at
    ``unlabelled_weight``, and counted in no evidence)."""
    say = progress or (lambda _message: None)
    categories = [c.id for c in base.taxonomy.categories]
    index = {cid: i for i, cid in enumerate(categories)}
    unknown = sorted({e.category for e in examples} - index.keys())
    if unknown:
        raise ValueError(f"labels not in the taxonomy: {', '.join(unknown)}")

    base_keywords = _base_keywords(base)
    base_weights = {key: weights for key, (_, weights) in base_keywords.items()}
    vocabulary = _candidates(examples, base, options.min_support, options.nouns, options.min_chars)
    say(f"vocabulary: {len(base_weights)} base keywords, {len(vocabulary)} candidate words")
    features, all_rows = _features([*examples, *extra], base, [*base_weights, *vocabulary])
    rows = all_rows[: len(examples)]

    say(f"features: {len(features)} words counted in at least one message")

    # priors: base weight per (feature, category)
    n_classes = len(categories)
    prior = [[0.0] * n_classes for _ in features]
    has_prior = [False] * len(features)
    for f, key in enumerate(features):
        for cid, weight in base_weights.get(key, {}).items():
            prior[f][index[cid]] = weight
            has_prior[f] = True
    labels = [index[e.category] for e in (*examples, *extra)]
    targets = [_target(e, index, options.also_ok) for e in (*examples, *extra)]
    sizes = Counter(labels[: len(examples)])
    largest = max(sizes.values())
    class_weight = [
        (largest / sizes[c]) ** options.balance if sizes.get(c) else 1.0 for c in range(n_classes)
    ]
    sample_weight = [1.0] * len(examples) + [options.unlabelled_weight] * len(extra)
    weights = _train(all_rows, labels, targets, prior, has_prior, class_weight, options, sample_weight)

    support = Counter(f for row in rows for f, _ in row)
    agree: Counter[tuple[int, int]] = Counter(
        (f, label) for row, label in zip(rows, labels) for f, _ in row
    )
    texts = {key: text for key, (text, _) in base_keywords.items()}
    learnt: list[Weight] = []
    seen_features = set()
    for f, key in enumerate(features):
        seen_features.add(key)
        for c in range(n_classes):
            w = weights[f][c]
            if w < options.min_weight:
                continue
            learnt.append(
                Weight(
                    _written(key, texts),
                    categories[c],
                    round(w, 2),
                    support[f],
                    agree[(f, c)],
                    key not in base_weights,
                )
            )
    # base keywords no labelled message contains keep their weight
    for key, per_category in base_weights.items():
        if key in seen_features:
            continue
        for cid, weight in per_category.items():
            learnt.append(Weight(_written(key, texts), cid, weight, 0, 0, False, learnt=False))
    learnt = _one_form_per_category(learnt)
    learnt.sort(key=lambda w: (index[w.category], -w.weight, w.pattern))
    say(f"weights: {len(learnt)} keyword lines, {sum(w.new for w in learnt)} of them new words")

    proposals = _severity_proposals(examples, base, rows, features, options)
    return Fit(base, learnt, proposals, len(examples), options)


def _one_form_per_category(weights: list[Weight]) -> list[Weight]:
    """A category lists a word once: as a topic word ("~好评") or as a keyword
    ("好评"), whichever weighs more (the file format allows one of them)."""
    best: dict[tuple[str, str], Weight] = {}
    for w in weights:
        key = (w.category, w.pattern.removeprefix(TOPIC))
        if key not in best or w.weight > best[key].weight:
            best[key] = w
    return list(best.values())


# -- vocabulary and features ---------------------------------------------------------

# A feature is a pattern as the matcher sees it: folded parts and whether negation
# cancels it ("~发票" does not).
FeatureKey = tuple[tuple[str, ...], bool]


def _written(key: FeatureKey, base: dict[FeatureKey, str] | None = None) -> str:
    """A feature as a lexicon line writes it: as the base file did, if it is a base
    keyword ("doesn't work" rather than its folded "does no work")."""
    if base is not None and key in base:
        return base[key]
    parts, negatable = key
    return ("" if negatable else TOPIC) + GAP.join(parts)


def _folded_parts(text: str) -> tuple[str, ...]:
    return tuple(fold(part.strip()) for part in text.split(GAP))


def _base_keywords(base: Lexicon) -> dict[FeatureKey, tuple[str, dict[str, float]]]:
    """Each base keyword: as its file writes it ("~发票", "doesn't work" rather than the
    folded "does no work") and its weight per category."""
    result: dict[FeatureKey, tuple[str, dict[str, float]]] = {}
    for keyword in base.taxonomy.keywords:
        key = (keyword.pattern.parts, keyword.negatable)
        written = ("" if keyword.negatable else TOPIC) + keyword.pattern.text
        result.setdefault(key, (written, {}))[1][keyword.category] = keyword.weight
    return result


def _candidates(
    examples: Sequence[Example],
    base: Lexicon,
    min_support: int,
    nouns: bool = False,
    min_chars: int = 1,
) -> list[FeatureKey]:
    """New words in at least ``min_support`` messages: single jieba tokens of at least
    ``min_chars`` characters ("退款", "贵") and pairs of adjacent tokens ("送错", "太慢",
    "不新鲜"). Never a candidate: function and stop words ("我们", "一样"), numbers
    and quantities ("三个", "十天"), names ("蒙牛", "京东": jieba tags them nr, ns,
    nt, nz), and (unless ``nouns``) plain nouns or pairs of them ("苹果", "手机屏幕"),
    which say what a complaint is about, not which kind of problem it is — they are
    the hot issues' key terms."""
    tokenizer = Classifier(base)
    negators = base.negation.negators
    skip = _FUNCTION | negators | base.negation.fillers | _STARTERS | base.stopwords
    tags = _dictionary_tags()

    def part_ok(token: str) -> bool:
        """May stand in a new word (alone it also needs ``min_chars`` characters)."""
        return (
            _is_word(token)
            and token not in _FUNCTION
            and token not in negators
            and not keyterms.is_quantity(token)
            and tags.get(token) not in _NAME_TAGS
        )

    def is_noun(token: str) -> bool:
        return not nouns and tags.get(token) == "n"

    counts: Counter[str] = Counter()
    for example in examples:
        words: set[str] = set()
        for block in tokenizer.tokens(example.text):
            for i, token in enumerate(block):
                ok = part_ok(token)
                if ok and len(token) >= min_chars and token not in skip and not is_noun(token):
                    words.add(token)
                if i + 1 < len(block):
                    nxt = block[i + 1]
                    starts = token in _STARTERS or (ok and token not in skip)
                    if starts and part_ok(nxt) and not (is_noun(token) and is_noun(nxt)):
                        words.add(token + nxt)
        counts.update(words)
    # a base keyword stays as the base wrote it ("~味道", a topic word, never also "味道")
    listed = {k.pattern.parts[0] for k in base.taxonomy.keywords if len(k.pattern.parts) == 1}
    return [
        ((word,), True)
        for word, n in sorted(counts.items())
        if n >= min_support and word not in listed
    ]


_COMMENT = re.compile(r"(?:^|\s)#.*\Z")
_NAME_TAGS = frozenset({"nr", "nrt", "nrfg", "ns", "nt", "nz"})


def _dictionary_tags() -> dict[str, str]:
    """jieba's part-of-speech tag of every dictionary word (read once, ~1 s)."""
    import logging

    import jieba
    import jieba.posseg

    logging.getLogger("jieba").setLevel(logging.WARNING)
    jieba.posseg.initialize()
    return jieba.posseg.dt.word_tag_tab  # type: ignore[no-any-return]


def _is_word(token: str) -> bool:
    if token.isdigit() or not token:
        return False
    if token.isascii():
        return len(token) >= 3 and token.isalpha()
    return all("\u4e00" <= ch <= "\u9fff" for ch in token)


def _features(
    examples: Sequence[Example], base: Lexicon, vocabulary: Sequence[FeatureKey]
) -> tuple[list[FeatureKey], list[list[tuple[int, float]]]]:
    """Which vocabulary entries count in each message, matched as the classifier does."""
    keywords = []
    for number, (parts, negatable) in enumerate(dict.fromkeys(vocabulary), 1):
        pattern = Pattern(GAP.join(parts), parts, number)
        keywords.append(Keyword(pattern, "feature", 1.0, negatable))
    categories = tuple(c for c in base.taxonomy.categories if c.id == FALLBACK)
    taxonomy = Taxonomy((Category("feature", {}), *categories), tuple(keywords), base.taxonomy.ignored)
    matcher = Classifier(replace(base, taxonomy=taxonomy))
    index: dict[FeatureKey, int] = {}
    features: list[FeatureKey] = []
    rows = []
    for example in examples:
        row: dict[int, float] = {}
        for keyword, factor in matcher.matched_keywords(example.text):
            key = (keyword.pattern.parts, keyword.negatable)
            f = index.get(key)
            if f is None:
                f = index[key] = len(features)
                features.append(key)
            row[f] = max(row.get(f, 0.0), factor)
        rows.append(sorted(row.items()))
    return features, rows


# -- the regression --------------------------------------------------------------------


def _target(example: Example, index: dict[str, int], share: float) -> list[tuple[int, float]]:
    """The category distribution a message is trained towards: its label, and a share
    for the categories it clearly also complains about."""
    others = [index[c] for c in example.also_ok if c in index and c != example.category]
    if not others or share <= 0:
        return [(index[example.category], 1.0)]
    return [(index[example.category], 1.0 - share), *((c, share / len(others)) for c in others)]


def _train(
    rows: list[list[tuple[int, float]]],
    labels: list[int],
    targets: list[list[tuple[int, float]]],
    prior: list[list[float]],
    has_prior: list[bool],
    class_weight: list[float],
    options: FitOptions,
    sample_weight: list[float],
) -> list[list[float]]:
    """Non-negative multinomial logistic regression by projected AdaGrad.

    The L2 pull is spread over a feature's occurrences (so that per epoch it is
    ``l2`` or ``prior`` times the distance to the prior, however often it occurs).
    """
    n_classes = len(class_weight)
    weights = [list(p) for p in prior]
    squares = [[1e-6] * n_classes for _ in prior]
    occurrences = Counter(f for row in rows for f, _ in row)
    pull = [
        (options.prior if has_prior[f] else options.l2) / max(occurrences[f], 1)
        for f in range(len(prior))
    ]
    order = list(range(len(rows)))
    rng = random.Random(options.seed)
    rate = options.learning_rate
    classes = range(n_classes)
    for _ in range(options.epochs):
        rng.shuffle(order)
        for i in order:
            row = rows[i]
            if not row:
                continue
            label = labels[i]
            scores = [0.0] * n_classes
            for f, value in row:
                wf = weights[f]
                for c in classes:
                    scores[c] += wf[c] * value
            top = max(scores)
            exps = [math.exp(s - top) for s in scores]
            total = sum(exps)
            cw = class_weight[label]
            cw *= sample_weight[i]
            error = [cw * e / total for e in exps]
            for c, share in targets[i]:
                error[c] -= cw * share
            for f, value in row:
                wf, sq, pf, lam = weights[f], squares[f], prior[f], pull[f]
                for c in classes:
                    g = error[c] * value + lam * (wf[c] - pf[c])
                    if g == 0.0:
                        continue
                    sq[c] += g * g
                    w = wf[c] - rate * g / math.sqrt(sq[c])
                    wf[c] = w if w > 0.0 else 0.0
    return weights


# -- severity proposals ----------------------------------------------------------------


def _severity_proposals(
    examples: Sequence[Example],
    base: Lexicon,
    rows: list[list[tuple[int, float]]],
    features: list[FeatureKey],
    options: FitOptions,
) -> list[SeverityProposal]:
    """Single words whose messages are mostly labelled at a grade the rules miss."""
    rules = Classifier(base)
    said = [rules.classify(e.text) for e in examples]
    dictionary = _dictionary_tags()  # jieba's words (a learnt cue is one of them)
    existing = {
        parts: rule.severity
        for rule in base.severity.rules
        for parts in (p.parts for p in rule.patterns)
    }
    proposals: list[SeverityProposal] = []
    proposed: set[str] = set()
    by_feature: dict[int, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        for f, _ in row:
            by_feature[f].append(i)
    for grade in (Severity.MAJOR, Severity.HOT, Severity.IMPORTANT):
        for f, members in by_feature.items():
            parts, negatable = features[f]
            if len(parts) != 1 or not negatable or len(members) < options.severity_support:
                continue
            word = parts[0]
            if len(word) < 2 or word in proposed or word not in dictionary:
                continue  # one character says too little; a pair of words ("客服说") is no
                # cue a person would write; a higher grade already has it
            if keyterms.is_quantity(word) or dictionary.get(word) in _NAME_TAGS:
                continue  # "十天", "京东"
            if parts in existing and existing[parts].rank >= grade.rank:
                continue
            # an "important" cue must speak for important itself, not for worse: a word
            # of hot complaints ("头皮屑") is no sign of a repeat complaint
            agree = [
                i
                for i in members
                if Severity(examples[i].severity) is grade
                or (grade is not Severity.IMPORTANT and Severity(examples[i].severity).rank > grade.rank)
            ]
            needed = (
                options.important_precision
                if grade is Severity.IMPORTANT
                else options.severity_precision
            )
            if len(agree) / len(members) < needed or len(agree) < options.severity_support:
                continue
            caught = [i for i in agree if said[i].severity.rank < grade.rank]
            if not caught:
                continue
            rule = _rule_for(grade, [said[i] for i in agree], base.severity.rules)
            if rule is None:
                continue
            proposals.append(
                SeverityProposal(parts[0], grade, rule, len(members), len(agree), len(caught))
            )
            proposed.add(parts[0])
    proposals.sort(key=lambda p: (-p.grade.rank, -p.caught, p.word))
    return proposals


def _rule_for(
    grade: Severity, suggestions: list[Suggestion], rules: tuple[SeverityRule, ...]
) -> str | None:
    """The rule of ``grade`` that fires most often with the word (else the first)."""
    of_grade = [r.id for r in rules if r.severity is grade and r.patterns]
    if not of_grade:
        return None
    fired = Counter(
        cue.rule for s in suggestions for cue in s.severity_cues if cue.rule in of_grade
    )
    return fired.most_common(1)[0][0] if fired else of_grade[0]


def _with_cues(rules: SeverityRules, proposals: list[SeverityProposal]) -> SeverityRules:
    added: dict[str, list[Pattern]] = defaultdict(list)
    for p in proposals:
        added[p.rule].append(Pattern(p.word, _folded_parts(p.word), 0))
    return replace(
        rules,
        rules=tuple(
            replace(rule, patterns=(*rule.patterns, *added[rule.id])) if rule.id in added else rule
            for rule in rules.rules
        ),
    )


def agreement(grade: Severity) -> str:
    """What a severity cue's evidence counts: messages labelled exactly important,
    or hot (major) or higher."""
    if grade is Severity.IMPORTANT:
        return "labelled important"
    return f"labelled {grade.value} or higher"


def _rule_header_id(line: str) -> str | None:
    """The rule id of a ``[rule_id grade]`` header line (spaced as the loader allows)."""
    line = _COMMENT.sub("", line).strip()  # "[rule grade]  # a note" is a header too
    if not (line.startswith("[") and line.endswith("]")):
        return None
    fields = line[1:-1].split()
    return fields[0] if len(fields) == 2 else None


def _label_lines(lines: list[str], header: int) -> int:
    """How many '@zh'/'@en'/'@count' lines follow a rule header."""
    n = 0
    while header + 1 + n < len(lines) and lines[header + 1 + n].startswith("@"):
        n += 1
    return n


# -- cross-validation ------------------------------------------------------------------


def folds(examples: Sequence[Example], k: int, seed: int = 7) -> list[int]:
    """A fold number per example, stratified by category and severity."""
    if k < 2:
        raise ValueError("cross-validation needs at least 2 folds")
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, e in enumerate(examples):
        groups[(e.category, e.severity)].append(i)
    rng = random.Random(seed)
    assignment = [0] * len(examples)
    offset = 0
    for key in sorted(groups):
        members = groups[key]
        rng.shuffle(members)
        for j, i in enumerate(members):
            assignment[i] = (offset + j) % k
        offset += len(members)
    return assignment


def cross_validate(
    examples: Sequence[Example],
    base: Lexicon,
    k: int = 5,
    options: FitOptions = FitOptions(),
    progress: Callable[[str], None] | None = None,
    unlabelled: Sequence[str] = (),
) -> tuple[Scores, list[Suggestion]]:
    """Fit on k-1 folds, suggest for the held-out fold, k times; score all suggestions.

    ``unlabelled`` texts (self-training, see :func:`fit`) must not include the
    labelled ones."""
    assignment = folds(examples, k, options.seed)
    suggestions: list[Suggestion | None] = [None] * len(examples)
    for fold in range(k):
        train = [e for e, a in zip(examples, assignment) if a != fold]
        held_out = [i for i, a in enumerate(assignment) if a == fold]
        classifier = fit(train, base, options, None, unlabelled).classifier()
        for i in held_out:
            suggestions[i] = classifier.classify(examples[i].text)
        if progress:
            progress(f"fold {fold + 1}/{k}: fitted on {len(train)}, judged {len(held_out)}")
    done = [s for s in suggestions if s is not None]
    categories = [c.id for c in base.taxonomy.categories]
    return score(examples, done, categories), done
