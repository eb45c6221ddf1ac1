"""Keyword weights learnt from labelled messages (``nlp.fit``), on a tiny base lexicon.

The base lexicon is written to ``tmp_path`` for each test (three categories, a few
keywords), so that nothing here depends on the packaged lexicon, which is itself the
output of a fit and changes with every one. Every option that matters is spelt out.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from nlp import Classifier
from nlp.evaluation import Example
from nlp.fit import (
    Fit,
    FitOptions,
    Weight,
    cross_validate,
    fit,
    folds,
)
from nlp.fit_files import BaseFiles, load_base, write_lexicon
from nlp.lexicon import Lexicon, load_lexicon, packaged
from nlp.types import Severity

D, P = "delivery", "product_quality"

CATEGORIES = """\
# A tiny base lexicon for the fit tests.
#   <word> <weight>   as in the packaged file

@ignore 差到爆炸

[product_quality]
@zh 商品质量
@en Product quality
质量差 2
坏了 2

[delivery]
@zh 物流配送
@en Delivery
送货 1
快递 1
~丢件 3
never arrived 2

[other]
@zh 其他
@en Other
"""

SEVERITY = """\
# A tiny severity lexicon for the fit tests.

[repeat_complaint important]
@zh 重复投诉
@en Repeat complaint
投诉过

[health_harm hot]
@zh 健康损害
@en Health harm
拉肚子
"""

# "物流" only in delivery messages (4 of them), "太慢" in 3 delivery messages,
# "做工粗糙" in 3 product-quality ones, "客服" in 2 delivery and 1 product-quality one.
EXAMPLES = [
    Example("送货太慢了，等了一个星期", D),
    Example("快递太慢，物流一直不动", D),
    Example("物流太慢了，客服说再等等", D),
    Example("快递员态度差，物流慢，客服也不回", D),
    Example("送货慢得要命，物流信息也不更新", D),
    Example("衣服质量差，穿一次就坏了", P),
    Example("杯子用了两天就坏了，质量差", P),
    Example("质量差，做工粗糙", P),
    Example("做工粗糙，线头很多，客服不理人", P),
    Example("手机屏幕坏了，做工粗糙", P),
]

OPTIONS = FitOptions(
    min_support=3,
    epochs=10,
    learning_rate=0.1,
    l2=0.5,
    prior=1.0,
    balance=0.5,
    min_weight=0.3,
    seed=7,
    also_ok=0.0,
    accept_severity=False,
    severity_support=3,
    severity_precision=0.7,
    important_precision=0.5,
    nouns=True,  # "物流" is a noun: these tests learn it as a word
    min_chars=1,
)


@pytest.fixture
def base_dir(tmp_path: Path) -> Path:
    """A base lexicon folder with only categories.txt (severity and user words: packaged)."""
    folder = tmp_path / "base"
    folder.mkdir()
    (folder / "categories.txt").write_text(CATEGORIES, encoding="utf-8")
    return folder


@pytest.fixture
def base(base_dir: Path) -> Lexicon:
    return load_base(base_dir)


def lines_of(result: Fit, pattern: str) -> dict[str, Weight]:
    """The fitted lines of ``pattern`` by category."""
    return {w.category: w for w in result.weights if w.pattern == pattern}


# -- the base ------------------------------------------------------------------------------


def test_load_base_takes_the_folders_files_and_the_packaged_rest(base: Lexicon) -> None:
    assert [c.id for c in base.taxonomy.categories] == [P, D, "other"]
    assert {k.pattern.text for k in base.taxonomy.keywords} == {"质量差", "坏了", "送货", "快递", "丢件", "never arrived"}
    packaged_lexicon = load_base(None)
    assert base.severity == packaged_lexicon.severity, "severity.txt comes from the package"
    assert base.userdict == packaged_lexicon.userdict


# -- weights and their evidence ------------------------------------------------------------


def test_nouns_names_and_quantities_stay_key_terms_by_default(base: Lexicon) -> None:
    # "苹果" (a noun), "京东" (a name) and "三天" (a quantity) are in every delivery
    # message, but they say what or when, not which kind of problem
    examples = [Example(f"京东买的苹果三天才到，{tail}", D) for tail in ("太慢", "慢死了", "等太久", "真慢")]
    examples += [Example("质量差，做工粗糙", P)] * 3
    result = fit(examples, base, replace(OPTIONS, nouns=False))
    learnt = {w.pattern for w in result.weights}
    assert not learnt & {"苹果", "京东", "三天", "京东买", "苹果三天"}
    assert "才到" in learnt or "太慢" in learnt


def test_a_word_seen_only_in_delivery_messages_gets_a_delivery_weight_only(base: Lexicon) -> None:
    result = fit(EXAMPLES, base, OPTIONS)
    logistics = lines_of(result, "物流")
    assert set(logistics) == {D}, "no product_quality weight for a word no product message has"
    line = logistics[D]
    assert (line.support, line.agree, line.new) == (4, 4, True)
    assert line.weight >= OPTIONS.min_weight
    slow = lines_of(result, "太慢")
    assert set(slow) == {D} and (slow[D].support, slow[D].agree, slow[D].new) == (3, 3, True)
    workmanship = lines_of(result, "做工粗糙")
    assert set(workmanship) == {P} and (workmanship[P].support, workmanship[P].agree) == (3, 3)
    assert {w.pattern for w in result.new_keywords()} >= {"物流", "太慢", "做工粗糙"}
    assert result.examples == len(EXAMPLES)


def test_a_base_keyword_the_messages_contain_is_reweighted_with_its_evidence(base: Lexicon) -> None:
    result = fit(EXAMPLES, base, OPTIONS)
    broken = lines_of(result, "坏了")
    assert set(broken) == {P}
    assert (broken[P].support, broken[P].agree, broken[P].new) == (3, 3, False)
    assert broken[P].weight > 2, "three product messages and no other: pulled up from 2"


def test_base_keywords_no_message_contains_keep_their_base_weight(base: Lexicon) -> None:
    result = fit(EXAMPLES, base, OPTIONS)
    assert lines_of(result, "~丢件") == {D: Weight("~丢件", D, 3.0, 0, 0, False, learnt=False)}
    assert lines_of(result, "never arrived") == {D: Weight("never arrived", D, 2.0, 0, 0, False, learnt=False)}


def test_evidence_of_a_word_in_two_categories(base: Lexicon) -> None:
    everything = fit(EXAMPLES, base, FitOptions(min_support=3, min_weight=0.01, seed=7, nouns=True))
    service = lines_of(everything, "客服")
    assert set(service) == {D, P}
    assert (service[D].support, service[D].agree) == (3, 2)
    assert (service[P].support, service[P].agree) == (3, 1)
    assert service[D].weight > service[P].weight

    # min_weight drops the weak lines (and only them)
    above = max(w.weight for w in service.values()) + 0.01
    pruned = fit(EXAMPLES, base, FitOptions(min_support=3, min_weight=above, seed=7, nouns=True))
    assert lines_of(pruned, "客服") == {}
    assert all(w.weight >= above for w in pruned.weights if w.support)


def test_min_support_keeps_rare_words_out(base: Lexicon) -> None:
    result = fit(EXAMPLES, base, FitOptions(min_support=5, min_weight=0.01, seed=7))
    assert result.new_keywords() == [], "物流 is in 4 messages, the others in 3"
    assert lines_of(result, "物流") == {}


def test_the_learnt_classifier_knows_the_new_words(base: Lexicon) -> None:
    result = fit(EXAMPLES, base, OPTIONS)
    fitted, before = result.classifier(), Classifier(base)
    assert before.classify("物流太慢，等了好久").category == "other"
    assert fitted.classify("物流太慢，等了好久").category == D
    assert before.classify("这件外套做工粗糙").category == "other"
    assert fitted.classify("这件外套做工粗糙").category == P
    # what the base knew still works
    assert fitted.classify("快递丢件了").category == D
    assert fitted.classify("The parcel never arrived").category == D
    assert fitted.classify("用了一天就坏了").category == P


def test_the_fit_is_deterministic_and_reports_progress(base: Lexicon) -> None:
    said: list[str] = []
    first = fit(EXAMPLES, base, OPTIONS, said.append)
    second = fit(EXAMPLES, base, OPTIONS)
    assert first.weights == second.weights
    assert [m.split(":")[0] for m in said] == ["vocabulary", "features", "weights"]
    assert said[-1] == f"weights: {len(first.weights)} keyword lines, {len(first.new_keywords())} of them new words"


def test_bad_input_to_fit(base: Lexicon) -> None:
    with pytest.raises(ValueError, match="no labelled messages"):
        fit([], base, OPTIONS)
    with pytest.raises(ValueError, match="labels not in the taxonomy: shipping"):
        fit([*EXAMPLES, Example("快递慢", "shipping")], base, OPTIONS)


def test_self_training_adds_no_evidence(base: Lexicon) -> None:
    said: list[str] = []
    unlabelled = ["做工粗糙，质量差，坏了", "物流太慢了", "今天天气不错"]
    result = fit(EXAMPLES, base, OPTIONS, said.append, unlabelled)
    assert any(re.fullmatch(r"self-training: \d of 3 unlabelled texts labelled", m) for m in said), said
    assert lines_of(result, "物流")[D].support == 4, "self-labelled texts count in no evidence"
    assert lines_of(result, "做工粗糙")[P].support == 3
    assert result.examples == len(EXAMPLES)


# -- the written lexicon ------------------------------------------------------------------


TEXTS = [
    "物流太慢，等了好久",
    "这件外套做工粗糙",
    "快递丢件了",
    "The parcel never arrived",
    "质量差到爆炸",
    "客服不回消息",
    "东西没有坏，就是物流慢",
    "今天天气不错",
]


def test_the_written_lexicon_gives_the_same_suggestions(base: Lexicon, base_dir: Path, tmp_path: Path) -> None:
    result = fit(EXAMPLES, base, OPTIONS)
    out = tmp_path / "out"
    written = write_lexicon(result, BaseFiles.folder(base_dir), out, "complaint-bot lexicon fit --labelled a.json --out out")
    assert written == [out / n for n in ("categories.txt", "severity.txt", "userdict.txt", "proposals.txt")]

    loaded = Classifier.load(out / "categories.txt", out / "severity.txt", out / "userdict.txt")
    fitted = result.classifier()
    for text in TEXTS:
        want, got = fitted.classify(text), loaded.classify(text)
        assert got.category == want.category, text
        assert got.scores == pytest.approx(want.scores), text
        assert got.severity is want.severity, text

    def keywords(lexicon: Lexicon) -> set[tuple[tuple[str, ...], str, float, bool]]:
        return {(k.pattern.parts, k.category, k.weight, k.negatable) for k in lexicon.taxonomy.keywords}

    reread = load_lexicon(out / "categories.txt", out / "severity.txt", out / "userdict.txt")
    assert keywords(reread) == keywords(result.lexicon())
    assert [p.parts for p in reread.taxonomy.ignored] == [p.parts for p in base.taxonomy.ignored]
    assert [c.id for c in loaded.taxonomy] == [P, D, "other"]
    assert loaded.taxonomy[1].names == {"zh": "物流配送", "en": "Delivery"}


def test_the_categories_file_says_how_it_was_made_and_why(base: Lexicon, base_dir: Path, tmp_path: Path) -> None:
    result = fit(EXAMPLES, base, OPTIONS)
    out = tmp_path / "out"
    write_lexicon(result, BaseFiles.folder(base_dir), out, "complaint-bot lexicon fit --labelled a.json --out out")
    text = (out / "categories.txt").read_text(encoding="utf-8")
    lines = text.splitlines()

    assert lines[0] == "# A tiny base lexicon for the fit tests.", "the base file's header is kept"
    assert "# GENERATED by: complaint-bot lexicon fit --labelled a.json --out out" in lines
    assert f"# Weights learnt by `complaint-bot lexicon fit` from {len(EXAMPLES)} labelled messages; after each" in lines
    assert "@ignore 差到爆炸" in lines
    logistics = lines_of(result, "物流")[D]
    assert f"物流 {logistics.weight:g}  # 4/4 new" in lines
    broken = lines_of(result, "坏了")[P]
    assert f"坏了 {broken.weight:g}  # 3/3" in lines
    assert "~丢件 3  # base" in lines
    assert "never arrived 2  # base" in lines
    # every keyword line sits under its category
    assert lines.index("[delivery]") < lines.index(f"物流 {logistics.weight:g}  # 4/4 new") < lines.index("[other]")
    assert lines.index("[product_quality]") < lines.index(f"坏了 {broken.weight:g}  # 3/3") < lines.index("[delivery]")


def test_proposals_list_the_new_keywords_only(base: Lexicon, base_dir: Path, tmp_path: Path) -> None:
    result = fit(EXAMPLES, base, OPTIONS)
    out = tmp_path / "out"
    write_lexicon(result, BaseFiles.folder(base_dir), out, "complaint-bot lexicon fit")
    proposals = (out / "proposals.txt").read_text(encoding="utf-8")
    section = proposals.split("[new keywords]")[1].split("[severity cues]")[0]
    rows = [line.split("\t") for line in section.splitlines()[1:] if line.strip()]
    assert {row[0] for row in rows} == {w.pattern for w in result.new_keywords()}
    logistics = lines_of(result, "物流")[D]
    assert ["物流", D, f"{logistics.weight:g}", "4", "4"] in rows
    assert "坏了" not in {row[0] for row in rows}, "a base keyword is no proposal"
    assert proposals.split("[severity cues]")[1].strip().startswith("#"), "no severity cue proposed"


def test_severity_and_user_words_are_the_bases(base: Lexicon, base_dir: Path, tmp_path: Path) -> None:
    result = fit(EXAMPLES, base, OPTIONS)
    out = tmp_path / "out"
    write_lexicon(result, BaseFiles.folder(base_dir), out, "complaint-bot lexicon fit")
    assert (out / "severity.txt").read_text(encoding="utf-8") == packaged("severity.txt").read_text(encoding="utf-8")
    assert (out / "userdict.txt").read_text(encoding="utf-8") == packaged("userdict.txt").read_text(encoding="utf-8")


def test_refitting_a_generated_lexicon_says_generated_once(base: Lexicon, base_dir: Path, tmp_path: Path) -> None:
    first = tmp_path / "first"
    write_lexicon(fit(EXAMPLES, base, OPTIONS), BaseFiles.folder(base_dir), first, "complaint-bot lexicon fit --out first")
    second = tmp_path / "second"
    write_lexicon(fit(EXAMPLES[:8], load_base(first), OPTIONS), BaseFiles.folder(first), second, "complaint-bot lexicon fit --out second")
    text = (second / "categories.txt").read_text(encoding="utf-8")
    assert text.count("# GENERATED by:") == 1, text[:1200]
    assert "--out first" not in text
    assert "from 10 labelled messages" not in text


# -- severity proposals --------------------------------------------------------------------


@pytest.fixture
def severity_dir(base_dir: Path) -> Path:
    (base_dir / "severity.txt").write_text(SEVERITY, encoding="utf-8")
    return base_dir


# "一拖再拖" only in the three messages labelled important
IMPORTANT = [
    Example("送货太慢了，等了一个星期", D),
    Example("快递太慢，物流一直不动", D),
    Example("物流太慢了，一拖再拖", D, "important"),
    Example("一拖再拖，快递还没到", D, "important"),
    Example("送货一拖再拖，物流慢", D, "important"),
    Example("衣服质量差，穿一次就坏了", P),
    Example("杯子用了两天就坏了，质量差", P),
    Example("质量差，做工粗糙", P),
    Example("做工粗糙，线头很多", P),
    Example("手机屏幕坏了，做工粗糙", P),
]

NEW_MESSAGE = "商家一拖再拖，还是没发货"


def test_a_word_of_important_messages_is_proposed_for_an_important_rule(severity_dir: Path) -> None:
    base = load_base(severity_dir)
    result = fit(IMPORTANT, base, OPTIONS)
    [proposal] = result.severity_proposals
    assert (proposal.word, proposal.grade, proposal.rule) == ("一拖再拖", Severity.IMPORTANT, "repeat_complaint")
    assert (proposal.support, proposal.agree, proposal.caught) == (3, 3, 3)
    # not accepted: the fitted classifier keeps the base rules
    assert result.severity == base.severity
    assert result.classifier().classify(NEW_MESSAGE).severity is Severity.GENERAL
    assert result.severity_text(SEVERITY) == SEVERITY


def test_accepted_severity_cues_grade_new_messages(severity_dir: Path, tmp_path: Path) -> None:
    base = load_base(severity_dir)
    result = fit(IMPORTANT, base, replace(OPTIONS, accept_severity=True))
    suggestion = result.classifier().classify(NEW_MESSAGE)
    assert suggestion.severity is Severity.IMPORTANT
    assert [(c.rule, c.word) for c in suggestion.severity_cues] == [("repeat_complaint", "一拖再拖")]
    assert Classifier(base).classify(NEW_MESSAGE).severity is Severity.GENERAL

    out = tmp_path / "out"
    write_lexicon(result, BaseFiles.folder(severity_dir), out, "complaint-bot lexicon fit --accept-severity-cues")
    severity = (out / "severity.txt").read_text(encoding="utf-8").splitlines()
    cue = severity.index("一拖再拖  # learnt: 3/3 labelled important")
    assert severity.index("[repeat_complaint important]") < cue < severity.index("[health_harm hot]")
    loaded = Classifier.load(out / "categories.txt", out / "severity.txt", out / "userdict.txt")
    assert loaded.classify(NEW_MESSAGE).severity is Severity.IMPORTANT
    proposals = (out / "proposals.txt").read_text(encoding="utf-8")
    assert "一拖再拖\timportant\trepeat_complaint\t3\t3\t3" in proposals.splitlines()


def test_no_proposal_from_two_messages_or_for_a_cue_the_rules_have(severity_dir: Path) -> None:
    base = load_base(severity_dir)
    two = [e for e in IMPORTANT if e.text != "送货一拖再拖，物流慢"]
    assert fit(two, base, OPTIONS).severity_proposals == [], "severity_support is 3"
    known = [
        *IMPORTANT[:2],
        Example("物流太慢了，投诉过了", D, "important"),
        Example("投诉过，快递还没到", D, "important"),
        Example("送货慢，我投诉过", D, "important"),
        *IMPORTANT[5:],
    ]
    assert fit(known, base, OPTIONS).severity_proposals == [], "投诉过 is a repeat_complaint cue already"


def test_accepted_cues_are_written_under_a_tab_separated_rule_header(base_dir: Path, tmp_path: Path) -> None:
    (base_dir / "severity.txt").write_text(
        SEVERITY.replace("[repeat_complaint important]", "[repeat_complaint\timportant]"), encoding="utf-8"
    )
    base = load_base(base_dir)  # the loader accepts the header
    result = fit(IMPORTANT, base, FitOptions(min_support=3, min_weight=0.3, seed=7, accept_severity=True))
    assert result.severity_proposals
    write_lexicon(result, BaseFiles.folder(base_dir), tmp_path / "out", "complaint-bot lexicon fit --accept-severity-cues")
    loaded = Classifier.load(*(tmp_path / "out" / n for n in ("categories.txt", "severity.txt", "userdict.txt")))
    assert loaded.classify(NEW_MESSAGE).severity is Severity.IMPORTANT


# -- cross-validation ---------------------------------------------------------------------


def test_folds_are_stratified_by_category_and_severity() -> None:
    assignment = folds(IMPORTANT, 2, seed=7)
    assert len(assignment) == len(IMPORTANT) and set(assignment) == {0, 1}
    for fold in (0, 1):
        members = [e for e, a in zip(IMPORTANT, assignment) if a == fold]
        assert {e.category for e in members} == {D, P}
        assert any(e.severity == "important" for e in members)
    assert folds(IMPORTANT, 2, seed=7) == assignment
    with pytest.raises(ValueError, match="at least 2 folds"):
        folds(IMPORTANT, 1)


def test_cross_validate_judges_every_message_once(base: Lexicon) -> None:
    said: list[str] = []
    scores, suggestions = cross_validate(EXAMPLES, base, 2, OPTIONS, said.append)
    assert scores.size == len(suggestions) == len(EXAMPLES)
    assert said == ["fold 1/2: fitted on 5, judged 5", "fold 2/2: fitted on 5, judged 5"]
    assert 0.0 <= scores.accuracy <= 1.0


def test_a_folder_in_the_way_stops_the_write_before_any_file_is_replaced(
    base: Lexicon, base_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    (out / "severity.txt").mkdir(parents=True)
    (out / "categories.txt").write_text("old\n", encoding="utf-8")
    with pytest.raises(IsADirectoryError, match="severity.txt"):
        write_lexicon(fit(EXAMPLES, base, OPTIONS), BaseFiles.folder(base_dir), out, "complaint-bot lexicon fit")
    assert (out / "categories.txt").read_text(encoding="utf-8") == "old\n"
    assert sorted(p.name for p in out.iterdir()) == ["categories.txt", "severity.txt"], "no staging folder left"


def test_written_files_are_staged_inside_out(base: Lexicon, base_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_lexicon(fit(EXAMPLES, base, OPTIONS), BaseFiles.folder(base_dir), out, "complaint-bot lexicon fit")
    assert sorted(p.name for p in out.iterdir()) == ["categories.txt", "proposals.txt", "severity.txt", "userdict.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base", "out"], "nothing written beside out"


def test_a_base_from_settings_fills_gaps_with_the_packaged_lexicon(tmp_path: Path) -> None:
    mine = tmp_path / "mine.txt"
    mine.write_text(CATEGORIES, encoding="utf-8")
    running = BaseFiles(categories=mine, packaged=True)
    assert running.path("severity.txt").parent.name == "data"
    assert BaseFiles(categories=mine).path("severity.txt").parent.name == "seed"
