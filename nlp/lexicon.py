"""Loading and validating the lexicon data files.

Four plain UTF-8 text files drive the classifier (formats are documented at the top of
each packaged file in ``nlp/data/``):

- ``categories.txt`` — the taxonomy and weighted keywords per category,
- ``severity.txt``   — severity rules (id, grade, labels, cue words, people counts),
- ``userdict.txt``   — a jieba user dictionary (``word [freq] [tag]``),
- ``negation.txt``   — negators, the filler words allowed between a negator and the
  word it negates, praise words that cancel a topic word ("物流超快"), negators that
  affirm in a rhetorical question ("这不是欺骗吗") and phrases that put a complaint
  aside ("物流慢就不说了") (language rules, always the packaged file).

Every problem is reported as a :class:`LexiconError` naming file, line and problem,
e.g. ``categories.txt:12: weight 'abc' is not a number``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from nlp.text import fold
from nlp.types import Category, Severity

GAP = "..."  # "吃出...虫子": both parts in one clause, a few characters apart
TOPIC = "~"  # "~发票 2": a topic word that negation does not cancel

_ID = re.compile(r"[a-z][a-z0-9_]*\Z")
_LANGUAGE = re.compile(r"[a-z]{2,3}(?:[-_][a-z0-9]+)?\Z")
_COMMENT = re.compile(r"(?:^|\s)#.*\Z")
_TAG = re.compile(r"[a-z]+\Z")

Source = Path | Traversable


class LexiconError(ValueError):
    """A lexicon file is missing, unreadable or malformed."""

    def __init__(self, file: str, line: int, problem: str) -> None:
        super().__init__(f"{file}:{line}: {problem}")
        self.file = file
        self.line = line
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Pattern:
    """A cue word or gap pattern from a lexicon file."""

    text: str  # as written in the file
    parts: tuple[str, ...]  # folded; more than one for "A...B" gap patterns
    line: int


@dataclass(frozen=True, slots=True)
class Keyword:
    """A weighted category keyword."""

    pattern: Pattern
    category: str
    weight: float
    negatable: bool = True  # False for topic words ("~发票"): "没有发票" is a complaint too


@dataclass(frozen=True, slots=True)
class Taxonomy:
    """The parsed ``categories.txt``: categories in file order and their keywords."""

    categories: tuple[Category, ...]
    keywords: tuple[Keyword, ...]
    ignored: tuple[Pattern, ...] = ()  # idioms that hide keywords inside them ("差到爆炸")


@dataclass(frozen=True, slots=True)
class SeverityRule:
    """One rule of ``severity.txt``."""

    id: str
    severity: Severity
    labels: dict[str, str]
    patterns: tuple[Pattern, ...] = ()
    exceptions: tuple[str, ...] = ()  # folded look-alikes that never fire this rule
    min_people: int | None = None  # fires on "<number> people" with number >= this


@dataclass(frozen=True, slots=True)
class PeopleUnits:
    """How ``severity.txt`` recognises a number of people ("三个人", "20多位业主")."""

    classifiers: tuple[str, ...] = ()  # count people on their own: 位, 名, 口
    nouns: tuple[str, ...] = ()  # people nouns after an optional measure word: 人, 业主
    not_after: tuple[str, ...] = ()  # "三人份", "双人间": portions and rooms, not people


@dataclass(frozen=True, slots=True)
class SeverityRules:
    """The parsed ``severity.txt``."""

    rules: tuple[SeverityRule, ...]
    people: PeopleUnits = field(default_factory=PeopleUnits)


@dataclass(frozen=True, slots=True)
class UserWord:
    """One entry of the jieba user dictionary."""

    word: str
    freq: int | None
    tag: str | None


@dataclass(frozen=True, slots=True)
class Negation:
    """The parsed ``negation.txt``."""

    negators: frozenset[str]
    fillers: frozenset[str]
    praise: frozenset[str] = frozenset()  # "客服态度挺好": the topic is praised, not blamed
    # negators that affirm in a question ending with a question particle ("这不是欺骗吗")
    rhetorical: frozenset[str] = frozenset()
    question_particles: frozenset[str] = frozenset()  # "吗", "嘛"
    # phrases that put the complaint before them aside: "物流慢就不说了，衣服是旧的"
    aside: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Everything the classifier needs, loaded and validated once."""

    taxonomy: Taxonomy
    severity: SeverityRules
    userdict: tuple[UserWord, ...]
    negation: Negation
    stopwords: frozenset[str] = frozenset()  # never key terms ("我们", "今天", "the")


def packaged(name: str) -> Traversable:
    """A data file shipped in ``nlp/data``."""
    return resources.files("nlp").joinpath("data", name)


def load_lexicon(
    categories: Path | None = None,
    severity: Path | None = None,
    userdict: Path | None = None,
) -> Lexicon:
    """Load and validate the lexicon files; ``None`` means the packaged default."""
    return Lexicon(
        taxonomy=parse_categories(categories or packaged("categories.txt")),
        severity=parse_severity(severity or packaged("severity.txt")),
        userdict=parse_userdict(userdict or packaged("userdict.txt")),
        negation=parse_negation(packaged("negation.txt")),
        stopwords=parse_words(packaged("stopwords.txt")),
    )


def parse_words(source: Source) -> frozenset[str]:
    """A plain word list: one word (or several, space-separated) per line; folded."""
    return frozenset(fold(word) for _, line in _lines(source) for word in line.split())


def _name(source: Source) -> str:
    return str(source) if isinstance(source, Path) else source.name


def _lines(source: Source) -> Iterator[tuple[int, str]]:
    """(line number, content) of every non-blank line, comments stripped."""
    name = _name(source)
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise LexiconError(name, 0, f"cannot read file: {exc.strerror or exc}") from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad_line = data.count(b"\n", 0, exc.start) + 1
        raise LexiconError(name, bad_line, "not valid UTF-8 text") from exc
    for number, raw in enumerate(text.splitlines(), 1):
        line = _COMMENT.sub("", raw).strip()
        if line:
            yield number, line


def _pattern(name: str, number: int, text: str) -> Pattern:
    words = " ".join(text.split())
    parts = tuple(fold(part.strip()) for part in words.split(GAP))
    if any(not part for part in parts):
        raise LexiconError(name, number, f"pattern '{words}' has an empty part around '{GAP}'")
    return Pattern(words, parts, number)


def _language_name(name: str, number: int, line: str) -> tuple[str, str]:
    language, _, label = line[1:].partition(" ")
    label = label.strip()
    if not _LANGUAGE.match(language):
        raise LexiconError(name, number, f"unknown directive '@{language}'")
    if not label:
        raise LexiconError(name, number, f"'@{language}' needs a text after it")
    return language, label


def parse_categories(source: Source) -> Taxonomy:
    """Parse a taxonomy file (see the header of ``nlp/data/categories.txt``)."""
    name = _name(source)
    categories: list[Category] = []
    keywords: list[Keyword] = []
    ignored: list[Pattern] = []
    first_line: dict[tuple[str, str], int] = {}
    current: Category | None = None
    last = 1  # where file-level problems are reported; the last content line
    for number, line in _lines(source):
        last = number
        directive = line.split(maxsplit=1)[0]
        if directive == "@ignore":
            phrase = line[len(directive) :].strip()
            if not phrase:
                raise LexiconError(name, number, "'@ignore' needs a phrase after it")
            ignored.append(_pattern(name, number, phrase))
        elif line.startswith("["):
            if not line.endswith("]"):
                raise LexiconError(name, number, f"category header '{line}' lacks the closing ']'")
            cid = line[1:-1].strip()
            if not _ID.match(cid):
                raise LexiconError(
                    name, number, f"category id '{cid}' must be lower-case letters, digits, '_'"
                )
            if any(c.id == cid for c in categories):
                raise LexiconError(name, number, f"duplicate category id '{cid}'")
            current = Category(cid, {})
            categories.append(current)
        elif current is None:
            raise LexiconError(name, number, f"'{line}' comes before any [category] header")
        elif line.startswith("@"):
            language, label = _language_name(name, number, line)
            current.names[language] = label
        else:
            fields = line.split()
            if len(fields) < 2:
                raise LexiconError(
                    name, number, f"keyword '{line}' has no weight (expected '<word> <weight>')"
                )
            weight = _weight(name, number, fields[-1])
            phrase = " ".join(fields[:-1])
            negatable = not phrase.startswith(TOPIC)
            pattern = _pattern(name, number, phrase.removeprefix(TOPIC).strip())
            key = (current.id, GAP.join(pattern.parts))
            if key in first_line:
                raise LexiconError(
                    name,
                    number,
                    f"duplicate keyword '{pattern.text}' in [{current.id}] "
                    f"(first on line {first_line[key]})",
                )
            first_line[key] = number
            keywords.append(Keyword(pattern, current.id, weight, negatable))
    if not categories:
        raise LexiconError(name, last, "no [category] sections found")
    if not any(c.id == "other" for c in categories):
        raise LexiconError(name, last, "no [other] category (the fallback category is required)")
    return Taxonomy(tuple(categories), tuple(keywords), tuple(ignored))


def _weight(name: str, number: int, text: str) -> float:
    try:
        weight = float(text)
    except ValueError:
        raise LexiconError(name, number, f"weight '{text}' is not a number") from None
    if not math.isfinite(weight) or weight <= 0:
        raise LexiconError(name, number, f"weight '{text}' must be a positive number")
    return weight


@dataclass(slots=True)
class _RuleDraft:
    """A severity rule while its lines are being read."""

    id: str
    severity: Severity
    line: int
    labels: dict[str, str] = field(default_factory=dict)
    patterns: list[Pattern] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    min_people: int | None = None

    def build(self, name: str) -> SeverityRule:
        if not self.patterns and self.min_people is None:
            raise LexiconError(name, self.line, f"rule '{self.id}' has no cue words")
        return SeverityRule(
            self.id,
            self.severity,
            self.labels,
            tuple(self.patterns),
            tuple(self.exceptions),
            self.min_people,
        )


_PEOPLE_DIRECTIVES = ("@people-classifiers", "@people-nouns", "@not-after")


def parse_severity(source: Source) -> SeverityRules:
    """Parse a severity rules file (see the header of ``nlp/data/severity.txt``)."""
    name = _name(source)
    drafts: list[_RuleDraft] = []
    people: dict[str, tuple[str, ...]] = {}
    last = 1  # where file-level problems are reported; the last content line
    for number, line in _lines(source):
        last = number
        current = drafts[-1] if drafts else None
        directive = line.split(maxsplit=1)[0]
        if line.startswith("["):
            drafts.append(_rule_header(name, number, line, drafts))
        elif directive.startswith(("@people", "@not-after")):
            words = line.split()[1:]
            if directive not in _PEOPLE_DIRECTIVES:
                raise LexiconError(name, number, f"unknown directive '{directive}'")
            if current is not None:
                raise LexiconError(
                    name, number, f"'{directive}' belongs before the first [rule grade] header"
                )
            if not words:
                raise LexiconError(name, number, f"'{directive}' needs words after it")
            people[directive] = tuple(fold(w) for w in words)
        elif current is None:
            raise LexiconError(name, number, f"'{line}' comes before any [rule grade] header")
        elif directive == "@count":
            current.min_people = _count(name, number, line)
        elif directive == "@except":
            text = " ".join(line[len(directive) :].split())
            if not text:
                raise LexiconError(name, number, "'@except' needs a look-alike phrase after it")
            current.exceptions.append(fold(text))
        elif line.startswith("@"):
            language, label = _language_name(name, number, line)
            current.labels[language] = label
        else:
            current.patterns.append(_pattern(name, number, line))
    if not drafts:
        raise LexiconError(name, last, "no [rule grade] sections found")
    rules = tuple(draft.build(name) for draft in drafts)
    units = PeopleUnits(
        classifiers=people.get("@people-classifiers", ()),
        nouns=people.get("@people-nouns", ()),
        not_after=people.get("@not-after", ()),
    )
    if any(rule.min_people is not None for rule in rules) and not (
        units.classifiers or units.nouns
    ):
        raise LexiconError(
            name, last, "'@count' rules need '@people-nouns' or '@people-classifiers'"
        )
    return SeverityRules(rules, units)


def _rule_header(name: str, number: int, line: str, drafts: list[_RuleDraft]) -> _RuleDraft:
    if not line.endswith("]"):
        raise LexiconError(name, number, f"rule header '{line}' lacks the closing ']'")
    fields = line[1:-1].split()
    if len(fields) != 2:
        raise LexiconError(name, number, f"rule header '{line}' must be '[rule_id grade]'")
    rule_id, grade = fields
    if not _ID.match(rule_id):
        raise LexiconError(
            name, number, f"rule id '{rule_id}' must be lower-case letters, digits, '_'"
        )
    for draft in drafts:
        if draft.id == rule_id:
            raise LexiconError(
                name, number, f"duplicate rule id '{rule_id}' (first on line {draft.line})"
            )
    try:
        severity = Severity(grade)
    except ValueError:
        allowed = ", ".join(s.value for s in Severity if s is not Severity.GENERAL)
        raise LexiconError(
            name, number, f"unknown severity grade '{grade}' (expected one of {allowed})"
        ) from None
    if severity is Severity.GENERAL:
        raise LexiconError(name, number, "a rule cannot have grade 'general' (it is the default)")
    return _RuleDraft(rule_id, severity, number)


def _count(name: str, number: int, line: str) -> int:
    fields = line.split()
    if len(fields) != 2 or not fields[1].isdigit() or int(fields[1]) < 2:
        raise LexiconError(name, number, f"'{line}' must be '@count <whole number >= 2>'")
    return int(fields[1])


def parse_userdict(source: Source) -> tuple[UserWord, ...]:
    """Parse a jieba user dictionary: ``word [freq] [tag]`` per line."""
    name = _name(source)
    words: list[UserWord] = []
    for number, line in _lines(source):
        word, *rest = line.split()
        if len(rest) > 2:
            raise LexiconError(
                name, number, f"'{line}' has too many fields (expected 'word [freq] [tag]')"
            )
        freq: int | None = None
        tag: str | None = None
        if rest and (len(rest) == 2 or not _TAG.match(rest[0])):
            if not rest[0].isdigit() or int(rest[0]) == 0:
                raise LexiconError(
                    name, number, f"frequency '{rest[0]}' is not a whole number >= 1"
                )
            freq = int(rest.pop(0))
        if rest:
            if not _TAG.match(rest[0]):
                raise LexiconError(name, number, f"tag '{rest[0]}' must be lower-case letters")
            tag = rest[0]
        words.append(UserWord(word, freq, tag))
    return tuple(words)


def parse_negation(source: Source) -> Negation:
    """Parse ``negation.txt``: ``[negators]``, ``[fillers]``, ``[praise]``, ``[rhetorical]``,
    ``[question-particles]`` and ``[aside]`` sections, one word a line."""
    name = _name(source)
    sections: dict[str, set[str]] = {
        "negators": set(),
        "fillers": set(),
        "praise": set(),
        "rhetorical": set(),
        "question-particles": set(),
        "aside": set(),
    }
    current: set[str] | None = None
    for number, line in _lines(source):
        if line.startswith("["):
            section = line.strip("[]").strip()
            if section not in sections:
                raise LexiconError(name, number, f"unknown section '{line}'")
            current = sections[section]
        elif current is None:
            raise LexiconError(name, number, f"'{line}' comes before any section header")
        else:
            current.add(fold(line))
    return Negation(
        frozenset(sections["negators"]),
        frozenset(sections["fillers"]),
        frozenset(sections["praise"]),
        frozenset(sections["rhetorical"]),
        frozenset(sections["question-particles"]),
        frozenset(sections["aside"]),
    )
