"""The reading-time rule: what each part of a drop costs, and what the Go deeper section leaves out."""

from __future__ import annotations

import pytest

from learnpath.content.reading_time import card_seconds, deeper_problem, estimate, words_in


def test_prose_reads_at_225_words_a_minute():
    measured = estimate(" ".join(["word"] * 450))
    assert measured.prose_words == 450
    assert measured.seconds == pytest.approx(120)


def test_markup_and_link_targets_are_not_words():
    assert words_in("## A **bold** [link](https://example.com/a/very/long/path) — and `code`") == 5
    assert words_in("| a | b |") == 2


def test_code_costs_five_seconds_a_line_and_blank_lines_are_free():
    measured = estimate("Intro.\n\n```python\nx = 1\n\ny = 2\nprint(x + y)\n```\n")
    assert measured.code_lines == 3
    assert measured.seconds == pytest.approx(60 / 225 + 3 * 5)


def test_a_table_costs_its_words_and_three_seconds_a_row():
    table = "| a | b |\n|---|---|\n| one two | three |\n| four | five |\n"
    measured = estimate(table)
    assert (measured.table_rows, measured.table_words) == (3, 7)
    assert measured.seconds == pytest.approx(7 * 60 / 225 + 3 * 3)


def test_a_demo_costs_ninety_seconds():
    measured = estimate("Read this.\n\n[[demo:temperature]]\n")
    assert measured.demos == 1
    assert measured.demo_seconds == 90
    assert measured.prose_words == 2


def test_a_card_costs_thirty_seconds_or_its_words_when_longer():
    assert card_seconds(["Short?", "Yes."]) == 30
    long_card = ["word " * 100, "answer " * 50, "because " * 75]  # 225 words: a minute
    assert card_seconds(long_card) == pytest.approx(60)
    measured = estimate("Body.", [["Short?", "Yes."], long_card])
    assert (measured.cards, measured.card_seconds) == (2, pytest.approx(90))


def test_go_deeper_is_reported_but_not_counted():
    core = "Core text here.\n\n"
    deeper = "## Go deeper\n\n### Try it\n\n" + "extra " * 500 + "\n\n```\nx = 1\n```\n\n[[demo:pipeline]]\n"
    with_deeper, without = estimate(core + deeper), estimate(core)
    assert with_deeper.seconds == without.seconds
    assert with_deeper.deeper_words == 502  # its prose: "Try it" and 500 words; code and demos are not words
    assert "Go deeper: 502 words, not counted" in with_deeper.describe()


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("## A\n\nText.\n\n## Go deeper\n\nMore.\n", None),
        ("## A\n\nText.\n\n## Go deeper\n\n### Sub\n\nMore.\n", None),
        ("## Go deeper\n\nMore.\n\n## Pitfall\n\nLate.\n", "must be the last section"),
        ("## Go deeper\n\nOne.\n\n## Go deeper\n\nTwo.\n", "more than one"),
    ],
)
def test_go_deeper_must_be_the_one_last_section(body, problem):
    found = deeper_problem(body)
    assert (found is None) if problem is None else (problem in found)


def test_describe_names_every_part():
    measured = estimate("Some words.\n\n| a |\n|---|\n\n```\nx\n```\n\n[[demo:pipeline]]\n", [["q", "a"]] * 3)
    assert measured.describe() == "text 0.1 min (3 words, 1 code line, 1 table row), 1 demo 1.5, 3 cards 1.5"
    assert measured.as_dict()["minutes"] == round(measured.seconds / 60, 1)
