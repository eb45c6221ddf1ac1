"""The keyword classifier: category and severity suggestions with their cues.

How one message is classified:

1. fold it (HTML character references decoded, NFKC, casefold) for matching,
   remembering where each character came from;
2. find lexicon phrases on jieba token boundaries (see :mod:`nlp.segment`,
   :mod:`nlp.matcher`);
3. move phrases preceded by a negator ("没有坏", "not broken") or by a marker of a
   harm that did not happen ("怕拉肚子", "差点烫伤") to ``negated`` — except in a
   rhetorical question ("这不是欺骗消费者吗"), which affirms — and topic words
   ("物流", "客服") that are praised ("物流超快") or whose complaint is negated
   ("送餐不算慢");
4. pick keywords leftmost-longest (an ignored idiom such as "差到爆炸" hides the
   words inside it); category scores = sum of keyword weights (each word counted
   once per category; a complaint the customer puts aside, "物流慢就不说了", counts
   half); severity = the highest grade among the rules that fired, else general.
"""

from __future__ import annotations

import logging
import threading
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

from nlp.details import Details, extract_details
from nlp.lexicon import Keyword, Lexicon, SeverityRule, load_lexicon
from nlp.matcher import CLAUSE_BREAK, Hit, PhraseIndex
from nlp.people import PeopleCounter
from nlp.segment import DagCutter, Document
from nlp.text import FoldedText
from nlp.tokenizer import build_tokenizer
from nlp.types import Category, Cue, Severity, SeverityCue, Suggestion

logger = logging.getLogger(__name__)

FALLBACK = "other"
_NEGATION_LOOKBACK = 3  # a negator, then at most two fillers ("并不怎么脏", "not too late")
_PRAISE_LOOKAHEAD = 5  # tokens after a topic word searched for praise ("态度|非常|好")
_TOPIC_REACH = 6  # characters between a topic and a negated complaint about it
_ASIDE_FACTOR = 0.5  # weight of a keyword the customer puts aside ("物流慢就不说了")


@dataclass(frozen=True, slots=True)
class _Phrase:
    """What a lexicon phrase means: a category keyword, a rule cue or a rule exception."""

    kind: Literal["keyword", "ignore", "rule", "except"]
    keyword: Keyword | None = None
    rule: SeverityRule | None = None


class Classifier:
    """Suggests a category and a severity for a customer's message.

    Build it with :meth:`load` (once per process); :meth:`classify` is thread-safe.
    """

    def __init__(self, lexicon: Lexicon) -> None:
        self._lexicon = lexicon
        self._categories = lexicon.taxonomy.categories
        self._order = {c.id: i for i, c in enumerate(self._categories)}
        self._category_ids = tuple(c.id for c in self._categories)
        phrases: list[tuple[tuple[str, ...], _Phrase]] = []
        for keyword in lexicon.taxonomy.keywords:
            phrases.append((keyword.pattern.parts, _Phrase("keyword", keyword=keyword)))
        for pattern in lexicon.taxonomy.ignored:
            phrases.append((pattern.parts, _Phrase("ignore")))
        for rule in lexicon.severity.rules:
            for pattern in rule.patterns:
                phrases.append((pattern.parts, _Phrase("rule", rule=rule)))
            for exception in rule.exceptions:
                phrases.append(((exception,), _Phrase("except", rule=rule)))
        self._index: PhraseIndex[_Phrase] = PhraseIndex(phrases)
        self._count_rules = sorted(
            (r for r in lexicon.severity.rules if r.min_people is not None),
            key=lambda r: r.min_people or 0,
            reverse=True,
        )
        self._people = PeopleCounter(lexicon.severity.people) if self._count_rules else None
        self._negators = lexicon.negation.negators
        self._fillers = lexicon.negation.fillers
        # the last characters of negators and fillers: a word after any other
        # character cannot be negated
        self._negation_ends = frozenset(w[-1] for w in self._negators | self._fillers if w)
        self._praise = lexicon.negation.praise
        self._rhetorical = lexicon.negation.rhetorical
        self._question_particles = tuple(lexicon.negation.question_particles)
        self._aside = tuple(lexicon.negation.aside)
        self._cutter: DagCutter | None = None
        self._tokenizer: Any = None  # the private jieba.Tokenizer behind the cutter
        self._lock = threading.Lock()
        # words that say what kind of complaint it is, not what it is about (key terms):
        # the lexicons' phrases, stop words, negation words and people ("业主", "guests")
        self._generic = (
            frozenset(part for parts, _ in phrases for part in parts)
            | lexicon.stopwords
            | lexicon.negation.negators
            | lexicon.negation.fillers
            | lexicon.negation.praise
            | frozenset(lexicon.severity.people.nouns)
        )

    @classmethod
    def load(
        cls,
        categories: Path | None = None,
        severity: Path | None = None,
        userdict: Path | None = None,
    ) -> Classifier:
        """Load and validate lexicon files (``None``: the packaged default).

        Raises :class:`nlp.LexiconError` naming file, line and problem. jieba itself is
        initialised lazily, on the first :meth:`classify` (or :meth:`warm_up`).
        """
        lexicon = load_lexicon(categories, severity, userdict)
        logger.info(
            "lexicon loaded: %s categories, %s keywords, %s severity rules, %s user words",
            len(lexicon.taxonomy.categories),
            len(lexicon.taxonomy.keywords),
            len(lexicon.severity.rules),
            len(lexicon.userdict),
        )
        return cls(lexicon)

    @property
    def taxonomy(self) -> tuple[Category, ...]:
        """The categories in file order (for category buttons)."""
        return self._categories

    def key_terms(self, text: str, limit: int = 8) -> tuple[str, ...]:
        """What a complaint is *about*: the product, brand, shop, dish, place... (for
        grouping hot issues and the report's top terms).

        jieba tokens of the folded text, in order of first appearance, without the
        complaint vocabulary of the lexicons (words shared by every complaint of a
        category, such as "快递" or "过期") and without generic words: verbs, times,
        numbers, pronouns, ids with digits, and words common to complaints of every
        kind by the review corpus (see :mod:`nlp.keyterms`).
        """
        from nlp.keyterms import key_terms

        if not text or text.isspace():
            return ()
        self._get_cutter()
        return key_terms(text, self._tokenizer, self._generic, limit)

    def details(self, text: str, today: date) -> Details:
        """The order number, contact, time and amount paid that ``text`` states clearly
        (see :mod:`nlp.details`), time words checked against this classifier's jieba words."""
        self._get_cutter()
        tokenizer = self._tokenizer
        return extract_details(text, today, lambda sentence: list(tokenizer.cut(sentence, HMM=False)))

    def warm_up(self) -> None:
        """Initialise jieba now instead of on the first message."""
        self._get_cutter()

    def _get_cutter(self) -> DagCutter:
        cutter = self._cutter
        if cutter is None:
            with self._lock:
                if self._cutter is None:
                    self._tokenizer = build_tokenizer(self._lexicon.userdict)
                    self._cutter = DagCutter(self._tokenizer)
                cutter = self._cutter
        return cutter

    def classify(self, text: str) -> Suggestion:
        """Suggest category and severity for ``text``, with the cues that explain them."""
        scores = dict.fromkeys(self._category_ids, 0.0)
        if not text or text.isspace():
            return Suggestion(FALLBACK, scores, Severity.GENERAL)
        folded = FoldedText.of(text)
        doc = Document(folded.folded, self._get_cutter())
        hits = self._index.find(doc)
        counted, negated, first_seen = self._category_cues(hits, doc, folded, scores)
        severity_cues = self._severity_cues(hits, doc, folded)
        severity = Severity.GENERAL
        for cue in severity_cues:
            severity = severity.at_least(cue.severity)
        return Suggestion(
            category=self._top_category(scores, first_seen),
            scores=scores,
            severity=severity,
            category_cues=tuple(counted),
            severity_cues=tuple(severity_cues),
            negated=tuple(negated),
        )

    def matched_keywords(self, text: str) -> list[tuple[Keyword, float]]:
        """The keywords that count in ``text`` with their factor (1, or 0.5 when put
        aside), found exactly as :meth:`classify` finds them (negation, praise,
        leftmost-longest); each once per category. For :mod:`nlp.fit`."""
        matched: list[tuple[Keyword, float]] = []
        if not text or text.isspace():
            return matched
        folded = FoldedText.of(text)
        doc = Document(folded.folded, self._get_cutter())
        scores = {c.id: 0.0 for c in self._categories}
        self._category_cues(self._index.find(doc), doc, folded, scores, matched)
        return matched

    def tokens(self, text: str) -> list[list[str]]:
        """The tokens of each block of the folded text, exactly as matching cuts them:
        the candidate vocabulary of :mod:`nlp.fit`."""
        return Document(FoldedText.of(text).folded, self._get_cutter()).block_tokens()

    def _is_negated(self, doc: Document, start: int) -> bool:
        """A negator right before ``start``, maybe behind fillers ("并不怎么脏"), unless
        it asks a rhetorical question ("这不是欺骗消费者吗")."""
        if start == 0:
            return False
        char = doc.text[start - 1]
        if char not in self._negation_ends and not char.isspace():
            return False  # the usual case, decided by one character, no segmentation
        before = doc.tokens_before(start, 1)
        if not before or (before[0] not in self._negators and before[0] not in self._fillers):
            return False
        before = doc.tokens_before(start, _NEGATION_LOOKBACK)
        for token in before:
            if token in self._negators:
                return not (token in self._rhetorical and self._is_question(doc.text, start))
            if token not in self._fillers:
                return False
        return False

    def _is_question(self, text: str, start: int) -> bool:
        """True when the clause from ``start`` ends with a question particle ("…吗")."""
        if not self._question_particles:
            return False
        found = CLAUSE_BREAK.search(text, start)
        clause = text[start : found.start() if found else len(text)].rstrip()
        return clause.endswith(self._question_particles)

    def _is_praised(self, doc: Document, end: int) -> bool:
        """True when praise follows in the same clause ("物流超快", "客服态度挺好")."""
        after = doc.tokens_after(end, _PRAISE_LOOKAHEAD)
        for i, token in enumerate(after):
            if token in self._negators:
                return False  # "服务态度不是很好"
            phrase = token
            for j in range(i + 1, min(i + 3, len(after)) + 1):
                if phrase in self._praise:
                    return True
                if j < len(after):
                    phrase += after[j]
        return False

    def _category_cues(
        self,
        hits: list[Hit[_Phrase]],
        doc: Document,
        folded: FoldedText,
        scores: dict[str, float],
        matched: list[tuple[Keyword, float]] | None = None,
    ) -> tuple[list[Cue], list[Cue], dict[str, int]]:
        """Counted and cancelled keyword cues; adds weights to ``scores``.

        ``matched`` (when given) receives each counted keyword with the factor it
        counted at (1, or 0.5 in a clause put aside): what :mod:`nlp.fit` learns from.
        """
        chosen = self._leftmost_longest(hits)
        negated_at: dict[int, bool] = {}
        checked: dict[int, bool] = {}  # start -> negated (a word listed in several categories)
        for hit in chosen:
            keyword = hit.payload.keyword
            if keyword is None or not keyword.negatable:
                continue
            if hit.later_parts:
                negated = self._hit_is_negated(doc, hit)
            elif hit.start in checked:
                negated = checked[hit.start]
            else:
                negated = checked[hit.start] = self._is_negated(doc, hit.start)
            if negated:
                negated_at[hit.start] = negated_at.get(hit.start, False) or keyword.category != FALLBACK
        counted: list[Cue] = []
        cancelled: list[Cue] = []
        seen: dict[tuple[str, str], int] = {}  # -> index in ``counted``
        first_seen: dict[str, int] = {}
        aside_starts, aside_ends = self._aside_clauses(doc.text) if self._aside else ([], [])
        for hit in chosen:
            keyword = hit.payload.keyword
            if keyword is None:
                continue  # an ignored idiom
            word = folded.original_span(hit.start, hit.end)
            if keyword.negatable:
                is_cancelled = hit.start in negated_at
            else:
                # A topic is cancelled by praise ("物流超快") or by a negated complaint
                # right after it ("送餐不算慢"), not by negated praise ("不是很好").
                is_cancelled = self._is_praised(doc, hit.end) or any(
                    complaint and _same_clause_soon(doc.text, hit.end, at)
                    for at, complaint in negated_at.items()
                )
            if is_cancelled:
                cancelled.append(Cue(word, keyword.category, keyword.weight))
                continue
            weight = keyword.weight
            if aside_starts and _in_spans(hit.start, aside_starts, aside_ends):
                weight *= _ASIDE_FACTOR
            key = (keyword.category, doc.text[hit.start : hit.end])
            index = seen.get(key)
            if index is not None:
                # "差评！差评！差评！" counts once, at its full weight if it has one
                if weight > counted[index].weight:
                    scores[keyword.category] += weight - counted[index].weight
                    counted[index] = Cue(counted[index].word, keyword.category, weight)
                continue
            seen[key] = len(counted)
            if matched is not None:
                matched.append((keyword, weight / keyword.weight))
            scores[keyword.category] += weight
            first_seen.setdefault(keyword.category, hit.start)
            counted.append(Cue(word, keyword.category, weight))
        return counted, cancelled, first_seen

    def _aside_clauses(self, text: str) -> tuple[list[int], list[int]]:
        """Spans of clause text before an aside phrase ("物流慢|就不说了"), merged and
        sorted: their starts and their ends (for :func:`_in_spans`)."""
        found = [
            at
            for phrase in self._aside
            if phrase in text  # the usual case: no aside at all, no call
            for at in _occurrences(text, phrase)
        ]
        if not found:
            return [], []
        breaks = [m.start() for m in CLAUSE_BREAK.finditer(text)]  # one pass, not one per phrase
        spans = sorted((_clause_start(breaks, at), at) for at in found)
        starts: list[int] = []
        ends: list[int] = []
        for start, end in spans:
            if starts and start <= ends[-1]:
                ends[-1] = max(ends[-1], end)
            else:
                starts.append(start)
                ends.append(end)
        return starts, ends

    @staticmethod
    def _leftmost_longest(hits: list[Hit[_Phrase]]) -> list[Hit[_Phrase]]:
        """Keyword and ignore hits that do not overlap a longer one starting earlier.

        "不新鲜" wins over a shorter keyword inside it, and an ignored idiom ("差到爆炸")
        hides the keywords inside it. Hits with the same span (one word listed in two
        categories) are all kept.
        """
        candidates = [h for h in hits if h.payload.kind in ("keyword", "ignore")]
        candidates.sort(key=lambda h: (h.start, -h.end))
        chosen: list[Hit[_Phrase]] = []
        taken_until = -1
        taken_span = (-1, -1)
        for hit in candidates:
            span = (hit.start, hit.end)
            if hit.start < taken_until and span != taken_span:
                continue
            taken_until, taken_span = hit.end, span
            chosen.append(hit)
        return chosen

    def _hit_is_negated(self, doc: Document, hit: Hit[_Phrase]) -> bool:
        """A negator before the phrase, or before a later part of a gap pattern
        ("房间并不脏" for "房间...脏")."""
        if self._is_negated(doc, hit.start):
            return True
        return any(self._is_negated(doc, at) for at in hit.later_parts) if hit.later_parts else False

    def _severity_cues(
        self, hits: list[Hit[_Phrase]], doc: Document, folded: FoldedText
    ) -> list[SeverityCue]:
        """One cue per fired rule, highest grade first, then in text order."""
        exceptions: dict[str, list[tuple[int, int]]] = {}
        rule_hits: list[Hit[_Phrase]] = []
        for hit in hits:
            rule = hit.payload.rule
            if rule is None:
                continue  # a keyword or an ignored idiom: most hits
            if hit.payload.kind == "except":
                exceptions.setdefault(rule.id, []).append((hit.start, hit.end))
            else:
                rule_hits.append(hit)
        fired: dict[str, tuple[int, SeverityCue]] = {}
        for hit in rule_hits:
            rule = hit.payload.rule
            if rule is None or rule.id in fired:
                continue
            if any(s < hit.end and hit.start < e for s, e in exceptions.get(rule.id, ())):
                continue
            if self._hit_is_negated(doc, hit):
                continue
            word = folded.original_span(hit.start, hit.end)
            fired[rule.id] = (hit.start, SeverityCue(rule.id, rule.severity, word, rule.labels))
        if self._people is not None:
            for count in self._people.find(doc.text):
                # Only the highest threshold reached fires: 12 people is "10+", not also "3+".
                rule = next(
                    (r for r in self._count_rules if count.people >= (r.min_people or 0)), None
                )
                if rule is None or rule.id in fired:
                    continue
                word = folded.original_span(count.start, count.end)
                cue = SeverityCue(rule.id, rule.severity, word, rule.labels)
                fired[rule.id] = (count.start, cue)
        ordered = sorted(fired.values(), key=lambda item: (-item[1].severity.rank, item[0]))
        return [cue for _, cue in ordered]

    def _top_category(self, scores: dict[str, float], first_seen: dict[str, int]) -> str:
        """Highest score; ties go to a real complaint over the fallback, then to the
        problem mentioned first, then to file order."""
        best = max(scores.values())
        if best <= 0:
            return FALLBACK
        tied = [cid for cid, score in scores.items() if score == best]
        return min(
            tied,
            key=lambda cid: (cid == FALLBACK, first_seen.get(cid, 1 << 62), self._order[cid]),
        )


def _occurrences(text: str, phrase: str) -> list[int]:
    """Where ``phrase`` occurs in ``text`` (not overlapping)."""
    found = []
    at = text.find(phrase)
    while at >= 0:
        found.append(at)
        at = text.find(phrase, at + len(phrase))
    return found


def _clause_start(breaks: list[int], at: int) -> int:
    """The start of the clause holding position ``at``, given the clause breaks."""
    index = bisect_left(breaks, at) - 1
    return breaks[index] + 1 if index >= 0 else 0


def _in_spans(pos: int, starts: list[int], ends: list[int]) -> bool:
    """True when ``start <= pos < end`` for one of the sorted, disjoint spans."""
    index = bisect_right(starts, pos) - 1
    return index >= 0 and pos < ends[index]


def _same_clause_soon(text: str, start: int, at: int) -> bool:
    """True when position ``at`` follows ``start`` closely, within one clause."""
    return start <= at <= start + _TOPIC_REACH and not CLAUSE_BREAK.search(text, start, at)


_default: Classifier | None = None
_default_lock = threading.Lock()


def default_classifier() -> Classifier:
    """The classifier with the packaged lexicons, created once on first use."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Classifier.load()
    return _default


def classify(text: str) -> Suggestion:
    """Classify ``text`` with the packaged lexicons (see :class:`Classifier`)."""
    return default_classifier().classify(text)
