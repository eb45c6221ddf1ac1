"""The hot-issue decision as a pure rule: no database, no event loop."""

from __future__ import annotations

from flows.hot_issues import NewIssue, new_issue


def test_three_different_customers_sharing_a_term_make_an_issue() -> None:
    mentions = [("酸奶", 1, 10), ("酸奶", 2, 11), ("蒙牛", 2, 11)]
    assert new_issue(12, ["蒙牛", "酸奶"], mentions, 3) == NewIssue("酸奶", (1, 2))


def test_the_same_customer_again_is_no_issue() -> None:
    mentions = [("酸奶", 1, 10), ("酸奶", 2, 10)]
    assert new_issue(10, ["酸奶"], mentions, 3) is None


def test_the_term_most_customers_share_then_the_earlier_one() -> None:
    mentions = [("蒙牛", 1, 10), ("蒙牛", 2, 11), ("酸奶", 1, 10), ("酸奶", 2, 11), ("酸奶", 3, 13)]
    assert new_issue(12, ["蒙牛", "酸奶"], mentions, 3) == NewIssue("酸奶", (1, 2, 3))
    tie = [("蒙牛", 1, 10), ("蒙牛", 2, 11), ("酸奶", 1, 10), ("酸奶", 2, 11)]
    assert new_issue(12, ["蒙牛", "酸奶"], tie, 3) == NewIssue("蒙牛", (1, 2))


def test_no_terms_no_issue() -> None:
    assert new_issue(12, [], [], 3) is None
