"""The step table (flows/steps.py): complete, its texts exist, the machine comes from it,
and typed words are read as the catalogues list them."""

from __future__ import annotations

import re
import string
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from flows import conversation
from flows.domain import Conversation, Customer, Draft, Ticket
from flows.domain import ConversationState as S
from flows.intake import Intake
from flows.lifecycle import draft_details
from flows.steps import (
    FOLLOW_UP_STEPS,
    INTAKE_STEPS,
    STEPS,
    UNASKED_DETAILS,
    AddsToDescription,
    Description,
    Detail,
    ForTheDesk,
    Keyboard,
    PickFromList,
    Question,
    Step,
    detail_fields,
    intake_moves,
    intake_transitions,
)
from flows.texts import default_catalogue
from flows.turn import Turn
from flows.words import Vocabulary, Words, norm, split_words
from nlp import default_classifier

CATALOGUE = default_catalogue()
INTAKE_PACKAGE = Path(__file__).resolve().parents[3] / "flows" / "intake"


def questions(step: Step) -> list[Question]:
    return [step.question] + ([step.photos] if step.photos is not None else [])


def text_keys(step: Step) -> set[str]:
    """Every catalogue key the step uses."""
    keys = set()
    for question in questions(step):
        keys.add(question.text)
        if not isinstance(question.buttons, Keyboard):
            keys.update(press.label for row in question.buttons for press in row if not press.literal)
        if question.share_contact:
            keys.add("button.share_contact")
    keys.update(typed.label for typed in step.typed if typed.label)
    keys.update(word.key for typed in step.typed for word in typed.words)
    reader = step.reader
    if isinstance(reader, Description):
        keys.update((reader.empty, reader.wordless))
    elif isinstance(reader, Detail):
        keys.add(reader.invalid)
        if reader.urgent_skip is not None:
            keys.add(reader.urgent_skip)
    elif isinstance(reader, AddsToDescription):
        keys.add(reader.said)
    elif isinstance(reader, PickFromList | ForTheDesk) and reader.say:
        keys.add(reader.say)
    return keys


def placeholders(language: str, key: str) -> set[str]:
    return set(CATALOGUE.placeholders(language, key))


# ---------------------------------------------------------------------- the table is complete
def test_every_state_where_the_customer_is_asked_has_exactly_one_step() -> None:
    states = [step.state for step in (*INTAKE_STEPS, *FOLLOW_UP_STEPS)]
    assert len(states) == len(set(states)), "a state with two steps"
    assert set(STEPS) == set(S) - {S.IDLE, S.CLOSED, S.CANCELLED}


def test_intake_states_are_the_intake_steps_in_order() -> None:
    assert conversation.INTAKE_STATES == tuple(step.state for step in INTAKE_STEPS)
    assert conversation.INTAKE_STATES[0] is S.DESCRIBING and conversation.INTAKE_STATES[-1] is S.REVIEWING


@pytest.mark.parametrize("language", CATALOGUE.languages)
@pytest.mark.parametrize("step", [*INTAKE_STEPS, *FOLLOW_UP_STEPS], ids=lambda step: step.state.value)
def test_every_text_of_every_step_exists_in_every_catalogue(step: Step, language: str) -> None:
    missing = sorted(key for key in text_keys(step) if key not in CATALOGUE.keys(language))
    assert not missing, f"{step.state.value}: {missing} missing in {language}.toml"


@pytest.mark.parametrize("language", CATALOGUE.languages)
def test_the_review_fills_every_placeholder_from_the_table(language: str) -> None:
    review = next(step for step in INTAKE_STEPS if step.state is S.REVIEWING)
    given = {"category", "description", "photos"} | {
        step.reader.review for step in INTAKE_STEPS if isinstance(step.reader, Detail)
    } | {unasked.review for unasked in UNASKED_DETAILS}
    assert placeholders(language, review.question.text) == given


@pytest.mark.parametrize("language", CATALOGUE.languages)
def test_detail_steps_are_complete(language: str) -> None:
    draft_fields = {f.name for f in fields(Draft)}
    for step in INTAKE_STEPS:
        if not isinstance(step.reader, Detail):
            continue
        detail = step.reader
        assert detail.field in draft_fields, f"{step.state.value}: the draft has no {detail.field}"
        wanted = {"limit"} if detail.limit is not None else set()
        assert placeholders(language, detail.invalid) <= wanted
        assert [typed.action for typed in step.typed] == ["skip"], "a detail can always be skipped"
        assert {move.event for move in step.moves} == {"answer", "skip"}


def test_every_detail_reaches_the_ticket() -> None:
    """An answer to a detail question is kept on the draft and copied to the ticket at
    submission (flows.lifecycle.open_ticket, through ``draft_details``)."""
    draft_fields = {f.name for f in fields(Draft)}
    ticket_fields = {f.name for f in fields(Ticket)}
    for detail in (*detail_fields(), *UNASKED_DETAILS):
        assert detail.field in draft_fields, f"add `{detail.field}` to flows.domain.Draft to keep the answer"
        assert detail.field in ticket_fields, (
            f"add `{detail.field}` to flows.domain.Ticket (and its column in storage/models.py, with a "
            "migration): otherwise the answer is shown in the review and lost at submission"
        )
    draft = Draft(description="坏了", order_number="A-1", occurred="昨天", contact="13812345678", amount="¥299")
    assert draft_details(draft) == {"order_number": "A-1", "occurred": "昨天", "contact": "13812345678", "amount": "¥299"}
    assert draft_details(Draft()) == {"order_number": None, "occurred": None, "contact": None, "amount": None}


def test_every_action_of_the_table_has_a_handler() -> None:
    for step in (*INTAKE_STEPS, *FOLLOW_UP_STEPS):
        for question in questions(step):
            actions = {"cat"} if isinstance(question.buttons, Keyboard) else {
                press.action for row in question.buttons for press in row
            }
            assert actions <= set(Intake._button_actions), step.state.value
        assert {typed.action for typed in step.typed} <= set(Intake._typed_actions), step.state.value


def test_every_literal_key_used_by_the_intake_package_exists() -> None:
    used: set[str] = set()
    for path in INTAKE_PACKAGE.glob("*.py"):
        for match in re.finditer(r'self\.t\(turn, "([a-z_.]+)"|self\._button\(turn, "([a-z_.]+)"', path.read_text()):
            used.add(next(g for g in match.groups() if g))
    assert len(used) > 20, "the pattern found too few keys; the test would be vacuous"
    for language in CATALOGUE.languages:
        assert not sorted(used - CATALOGUE.keys(language)), language


def test_numbers_pick_buttons_only_where_text_is_not_itself_the_answer() -> None:
    """A typed number means a button where the question shows buttons and free text is
    not the answer; an order number, a phone number or a comment may be only digits."""
    numbered = {step.state for step in (*INTAKE_STEPS, *FOLLOW_UP_STEPS) if step.numbered}
    assert numbered == {
        S.CONFIRMING_CATEGORY,
        S.CHOOSING_CATEGORY,
        S.ASKING_PHOTOS,
        S.REVIEWING,
        S.RESOLVED,
        S.AWAITING_FEEDBACK,
    }


def test_only_the_contact_is_urged_when_skipped() -> None:
    urged = [step.state for step in INTAKE_STEPS if isinstance(step.reader, Detail) and step.reader.urgent_skip]
    assert urged == [S.ASKING_CONTACT]


# ---------------------------------------------------------------------- the machine comes from it
LEGAL_INTAKE_MOVES = {
    ("describe", S.DESCRIBING, S.CONFIRMING_CATEGORY, ""),
    ("confirm_category", S.CONFIRMING_CATEGORY, S.ASKING_ORDER, ""),
    ("change_category", S.CONFIRMING_CATEGORY, S.CHOOSING_CATEGORY, ""),
    ("change_category", S.REVIEWING, S.CHOOSING_CATEGORY, ""),
    ("choose_category", S.CHOOSING_CATEGORY, S.REVIEWING, "returning_to_review"),
    ("choose_category", S.CHOOSING_CATEGORY, S.ASKING_ORDER, ""),
    ("answer", S.ASKING_ORDER, S.ASKING_TIME, ""),
    ("skip", S.ASKING_ORDER, S.ASKING_TIME, ""),
    ("answer", S.ASKING_TIME, S.ASKING_CONTACT, ""),
    ("skip", S.ASKING_TIME, S.ASKING_CONTACT, ""),
    ("answer", S.ASKING_CONTACT, S.ASKING_PHOTOS, ""),
    ("skip", S.ASKING_CONTACT, S.ASKING_PHOTOS, ""),
    ("finish_photos", S.ASKING_PHOTOS, S.REVIEWING, ""),
    ("skip", S.ASKING_PHOTOS, S.REVIEWING, ""),
    ("edit_description", S.REVIEWING, S.DESCRIBING, ""),
    ("submit", S.REVIEWING, S.SUBMITTED, ""),
}
"""The intake's legal moves as designed (DESIGN.md's guideline, refined)."""


def rows(table: list[dict[str, object]]) -> list[tuple[object, ...]]:
    return [
        (row["trigger"], source, row["dest"], row.get("conditions", ""))
        for row in table
        for source in row["source"]  # type: ignore[attr-defined]
    ]


def test_generated_intake_transitions_are_the_legal_moves() -> None:
    generated = rows(intake_transitions())
    assert len(generated) == len(set(generated))
    assert set(generated) == LEGAL_INTAKE_MOVES


def test_the_machine_uses_the_generated_rows_in_table_order() -> None:
    generated = rows(intake_transitions())
    machine_rows = rows(conversation.TRANSITIONS)
    start = machine_rows.index(generated[0])
    assert machine_rows[start : start + len(generated)] == generated
    # a guarded move is tried before the unguarded one of the same event
    choose = [row for row in generated if row[0] == "choose_category"]
    assert [row[3] for row in choose] == ["returning_to_review", ""]


def test_every_intake_step_is_reached_and_leads_on() -> None:
    reached = {INTAKE_STEPS[0].state} | {to for _, _, to in intake_moves()}
    for step in INTAKE_STEPS:
        assert step.state in reached, f"no move leads to {step.state.value}"
        assert step.moves, f"{step.state.value} leads nowhere"
    assert S.SUBMITTED in reached, "the intake ends in a submission"


def test_next_passes_steps_aside() -> None:
    moves = {(step.state, move.event, move.when): to for step, move, to in intake_moves()}
    aside = [step.state for step in INTAKE_STEPS if step.aside]
    assert aside == [S.CHOOSING_CATEGORY]
    assert moves[(S.CONFIRMING_CATEGORY, "confirm_category", None)] is S.ASKING_ORDER
    assert moves[(S.CHOOSING_CATEGORY, "choose_category", None)] is S.ASKING_ORDER


# ---------------------------------------------------------------------- words
def test_word_lists_are_split_and_normalised() -> None:
    assert split_words("是, 是的，对、 OK!, ,") == frozenset({"是", "是的", "对", "ok"})


@pytest.mark.parametrize("language", CATALOGUE.languages)
def test_every_word_list_exists_and_is_not_empty(language: str) -> None:
    for kind in Words:
        assert kind.key in CATALOGUE.keys(language)
        assert split_words(CATALOGUE.text(language, kind.key)), f"{language}: {kind.key} is empty"


def test_words_are_recognised_in_every_language() -> None:
    vocabulary = Vocabulary(CATALOGUE)
    for kind in Words:
        for language in CATALOGUE.languages:
            assert split_words(CATALOGUE.text(language, kind.key)) <= vocabulary.words(kind)
    assert {"好的", "ok", "yes", "是"} <= vocabulary.words(Words.YES)
    assert vocabulary.means(norm("  OK! "), (Words.YES,))
    assert vocabulary.means(norm("跳过。"), (Words.DONE, Words.SKIP))
    assert not vocabulary.means(norm("快递没到"), tuple(Words))


def test_the_word_lists_are_the_ones_the_bot_always_understood() -> None:
    """The lists moved from code to the catalogues unchanged (kept as a regression check)."""
    vocabulary = Vocabulary(CATALOGUE)
    expected = {
        Words.YES: "yes y ok okay confirm 是 是的 对 对的 好 好的 确认 嗯 没错 正确",
        Words.NO: "no n 不 不是 否 没有 不对",
        Words.SOLVED: "solved resolved fixed it's_solved 解决了 已解决 已经解决 已经解决了 好了 搞定了 没问题了",
        Words.UNSOLVED: "not_solved unsolved not_resolved not_fixed 没解决 没有解决 未解决 还没解决 还没有解决 没搞定",
        Words.SKIP: "skip none no n/a - 跳过 无 没有 略过 不用",
        Words.DONE: "done finish finished 完成 好了 没有了 就这些",
        Words.SUBMIT: "submit send 提交 确认提交 发送",
        Words.GREETINGS: "hi hello hey 你好 您好 在吗 在么 哈喽 嗨",
    }
    for kind, words in expected.items():
        assert vocabulary.words(kind) == {w.replace("_", " ") for w in words.split()}, kind


# ---------------------------------------------------------------------- reading typed answers
@pytest.fixture(scope="module")
def intake() -> Intake:
    # promises and hand-off are not used by the reading of answers
    return Intake(default_classifier(), CATALOGUE, None, None, desk_connected=False, timezone=ZoneInfo("UTC"))  # type: ignore[arg-type]


def turn_at(state: S, language: str = "zh") -> Turn:
    conv = Conversation(id=3, customer_id=1, channel="test", chat_id="1", state=state, step=9)
    customer = Customer(1, "test", "1", language=language)
    return Turn(uow=None, now=datetime(2026, 11, 23, tzinfo=UTC), customer=customer, channel="test", chat_id="1", conversation=conv)  # type: ignore[arg-type]


def read(intake: Intake, state: S, typed: str, language: str = "zh") -> tuple[str, str | None] | None:
    turn = turn_at(state, language)
    press = intake._typed_press(turn, STEPS[state], norm(typed))
    if press is None:
        return None
    assert (press.conversation_id, press.step) == (3, 9), "a typed answer acts on the current step"
    return press.action, press.arg


@pytest.mark.parametrize(
    ("state", "typed", "expected"),
    [
        (S.CONFIRMING_CATEGORY, "好的", ("confirm", None)),
        (S.CONFIRMING_CATEGORY, "OK!", ("confirm", None)),
        (S.CONFIRMING_CATEGORY, "不是", ("change", None)),
        (S.CONFIRMING_CATEGORY, "物流配送", ("change_to", "delivery")),
        (S.CONFIRMING_CATEGORY, "Delivery", ("change_to", "delivery")),
        (S.CONFIRMING_CATEGORY, "快递三天没到", None),
        (S.CHOOSING_CATEGORY, "费用支付", ("cat", "billing")),
        # a number is no name: it picks the button with that number (Step.numbered), and
        # a category's number only while the list is on screen
        (S.CHOOSING_CATEGORY, "1", None),
        (S.CONFIRMING_CATEGORY, "7", None),
        (S.CHOOSING_CATEGORY, "是的", None),
        (S.ASKING_ORDER, "跳过", ("skip", None)),
        (S.ASKING_ORDER, "n/a", ("skip", None)),
        (S.ASKING_ORDER, "DD-1", None),
        (S.ASKING_TIME, "没有", ("skip", None)),
        (S.ASKING_CONTACT, "-", ("skip", None)),
        (S.ASKING_PHOTOS, "完成", ("done", None)),
        (S.ASKING_PHOTOS, "不用", ("done", None)),
        (S.ASKING_PHOTOS, "是的", None),
        (S.REVIEWING, "提交", ("submit", None)),
        (S.REVIEWING, "对", ("submit", None)),
        (S.REVIEWING, "不对", None),
        (S.SUBMITTED, "好的", None),
        (S.WITH_AGENT, "跳过", None),
        (S.RESOLVED, "解决了", ("solved", "yes")),
        (S.RESOLVED, "是", ("solved", "yes")),
        (S.RESOLVED, "Not solved", ("solved", "no")),
        (S.RESOLVED, "没有", ("solved", "no")),
        (S.RESOLVED, "其实还是坏的", None),
        (S.AWAITING_FEEDBACK, "5", ("rate", "5")),
        (S.AWAITING_FEEDBACK, "1", ("rate", "1")),
        (S.AWAITING_FEEDBACK, "6", None),
        (S.AWAITING_FEEDBACK, "好", None),
        (S.COMMENTING, "不用", ("skip", None)),
        (S.COMMENTING, "很满意", None),
    ],
)
def test_typed_answers_stand_for_the_steps_buttons(intake: Intake, state: S, typed: str, expected: tuple[str, str | None] | None) -> None:
    assert read(intake, state, typed) == expected


def test_typed_words_count_in_any_language_and_labels_in_the_customers(intake: Intake) -> None:
    assert read(intake, S.CONFIRMING_CATEGORY, "好的", language="en") == ("confirm", None)
    assert read(intake, S.REVIEWING, "submit", language="zh") == ("submit", None)
    # a reply keyboard sends the skip button's label, in the customer's language
    assert read(intake, S.ASKING_ORDER, CATALOGUE.text("en", "button.skip"), language="en") == ("skip", None)
    assert read(intake, S.ASKING_ORDER, CATALOGUE.text("zh", "button.skip"), language="zh") == ("skip", None)


def test_a_new_word_in_the_catalogue_is_understood() -> None:
    extended = {lang: {key: CATALOGUE.text(lang, key) for key in CATALOGUE.keys(lang)} for lang in CATALOGUE.languages}
    extended["en"]["words.yes"] += ", sure"
    from flows.texts import Catalogue

    assert Vocabulary(Catalogue(extended)).means("sure", (Words.YES,))
    assert not Vocabulary(CATALOGUE).means("sure", (Words.YES,))


@pytest.mark.parametrize("language", CATALOGUE.languages)
def test_step_questions_have_only_the_placeholders_they_are_given(language: str) -> None:
    for step in (*INTAKE_STEPS, *FOLLOW_UP_STEPS):
        for question in questions(step):
            names = {name for _, name, _, _ in string.Formatter().parse(CATALOGUE.text(language, question.text)) if name}
            allowed = {
                "plain": set(),
                "photos": {"count", "received"},
                "suggestion": {"category"},
                "review": names,  # checked by test_the_review_fills_every_placeholder_from_the_table
            }[question.fill.value]
            assert names <= allowed, (step.state.value, question.text)
