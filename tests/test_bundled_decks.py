"""The decks shipped in decks/ check clean, compile to the expected cards, and cover the article."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import sqlite_utils

from flashcards.compiler import check_paths, compile_decks
from tests.conftest import BUNDLED_DECKS

EXPECTED_NOTES = 69
EXPECTED_CARDS = 143


def test_bundled_decks_check_clean() -> None:
    files, problems = check_paths([BUNDLED_DECKS])
    assert problems == []
    assert len(files) == 5


def test_bundled_decks_compile_to_the_expected_count(fresh_db: sqlite_utils.Database) -> None:
    result = compile_decks(fresh_db, BUNDLED_DECKS, datetime(2026, 11, 27, tzinfo=UTC))
    assert (result.notes.added, result.cards.added) == (EXPECTED_NOTES, EXPECTED_CARDS)
    assert result.ids_written == []  # every bundled note has its id: compiling them writes nothing
    decks = {row[0] for row in fresh_db.execute("SELECT DISTINCT deck FROM cards")}
    assert decks == {
        "MLOps Interview::Teams",
        "MLOps Interview::STAR story",
        "MLOps Interview::Scenarios",
        "MLOps Interview::Influence",
        "MLOps Interview::Red flags",
    }


@pytest.mark.parametrize(
    "fact",
    [
        # teams and their priorities
        "Model accuracy",
        "System reliability",
        "Business outcomes",
        "Compliance",
        "Enable experimentation with guardrails",
        "Translate ML capabilities to timelines",
        # the STAR story's numbers
        "2-week testing cycle",
        "3%",
        "60%",
        "3.2",
        "4.5",
        "bi-weekly",
        "2 days",
        "separating stated positions from underlying interests",
        # scenarios
        "6-week review cycle",
        "Spot instances",
        "3x the capacity",
        "4 weeks minimum",
        # influence and red flags
        "inaccurate predictions ARE errors",
        "Training data is PII",
        "I facilitated a discussion to find common ground",
        "Story might be fabricated",
        "I understood why Platform wanted stability",
    ],
)
def test_every_key_fact_of_the_article_is_on_a_card(fresh_db: sqlite_utils.Database, fact: str) -> None:
    compile_decks(fresh_db, BUNDLED_DECKS, datetime(2026, 11, 27, tzinfo=UTC))
    text = " ".join(f"{front} {back}" for front, back in fresh_db.execute("SELECT front, back FROM cards"))
    text = re.sub(r"[*_`]", "", re.sub(r"\{\{c\d+::(.*?)\}\}", r"\1", text, flags=re.DOTALL))
    assert fact.lower() in text.lower()


def test_the_bundled_decks_teach_the_teams_first(fresh_db: sqlite_utils.Database) -> None:
    from flashcards.states import Rating
    from tests.conftest import drain, make_controller

    compile_decks(fresh_db, BUNDLED_DECKS, datetime(2026, 11, 27, tzinfo=UTC))
    controller = make_controller(fresh_db, now=datetime(2026, 11, 27, 9, tzinfo=UTC))
    first = drain(controller, Rating.EASY)[:7]
    decks = {fresh_db.execute("SELECT deck FROM cards WHERE id = ?", [c]).fetchone()[0] for c in first}
    assert decks == {"MLOps Interview::Teams"}
