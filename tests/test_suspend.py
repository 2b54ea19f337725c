"""cards suspend and unsuspend: all the named cards or none, leeches back in the queue, still leeches."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from flashcards import scheduler, store
from flashcards.cli import cli
from flashcards.compiler import compile_decks
from flashcards.errors import UnknownCardsError
from flashcards.queue import ReviewQueue
from flashcards.settings import DeckSettings, Settings
from flashcards.states import Rating

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
DECK = """
deck: Test
notes:
  - front: one
    back: 1
  - type: reversed
    id: pair
    front: two
    back: 2
"""
ONE, PAIR, PAIR_REVERSE = "basic:one/card", "pair/card", "pair/reverse"
LEECH_AT_FIRST_LAPSE = Settings(DeckSettings(enable_fuzzing=False, leech_threshold=1))


@pytest.fixture(autouse=True)
def local_zone_from_env() -> None:
    """Apply $TZ (UTC, from conftest) even if an earlier test changed the process's zone."""
    time.tzset()


@pytest.fixture
def db(write_deck: Callable[..., Path], decks: Path, db_path: Path) -> sqlite_utils.Database:
    write_deck("test.yaml", DECK)
    db = store.open_collection(db_path)
    compile_decks(db, decks, T0)
    return db


def suspended(db: sqlite_utils.Database) -> dict[str, int]:
    return {row[0]: row[1] for row in db.execute("SELECT id, suspended FROM cards ORDER BY id")}


def make_leech(db: sqlite_utils.Database, card_id: str) -> datetime:
    """Learn the card, then lapse it once: a leech at threshold 1. Return when it lapsed."""
    scheduler.answer(db, card_id, Rating.EASY, T0, 1000, LEECH_AT_FIRST_LAPSE)
    lapsed = T0 + timedelta(days=9)
    assert scheduler.answer(db, card_id, Rating.AGAIN, lapsed, 1000, LEECH_AT_FIRST_LAPSE).leech
    return lapsed


def test_suspend_and_unsuspend_change_only_what_needs_changing(db: sqlite_utils.Database) -> None:
    done = scheduler.set_suspended(db, [ONE, PAIR], True)
    assert (done.changed, done.unchanged) == ((ONE, PAIR), ())
    assert suspended(db) == {ONE: 1, PAIR: 1, PAIR_REVERSE: 0}
    done = scheduler.set_suspended(db, [PAIR, PAIR_REVERSE], False)
    assert (done.changed, done.unchanged) == ((PAIR,), (PAIR_REVERSE,))
    assert suspended(db) == {ONE: 1, PAIR: 0, PAIR_REVERSE: 0}


def test_a_note_id_means_all_its_cards_and_a_prefix_one_card(db: sqlite_utils.Database) -> None:
    done = scheduler.set_suspended(db, ["pair", "basic:o", PAIR], True)
    assert done.changed == (PAIR, PAIR_REVERSE, ONE)
    assert set(suspended(db).values()) == {1}


def test_an_unknown_or_ambiguous_id_changes_nothing(db: sqlite_utils.Database) -> None:
    before = suspended(db)
    with pytest.raises(UnknownCardsError) as caught:
        scheduler.set_suspended(db, [ONE, "nope", "pair/"], True)
    assert caught.value.problems == [
        "no card 'nope'; `cards list` shows the ids",
        "'pair/' matches several cards: pair/card, pair/reverse; give the full id",
    ]
    assert suspended(db) == before


def test_an_unsuspended_leech_is_reviewable_and_still_a_leech(db: sqlite_utils.Database) -> None:
    lapsed = make_leech(db, ONE)
    later = lapsed + timedelta(hours=1)
    queue = ReviewQueue(db, LEECH_AT_FIRST_LAPSE)
    assert queue.find(ONE, later) is None
    done = scheduler.set_suspended(db, [ONE], False)
    assert (done.changed, done.leeches) == ((ONE,), (ONE,))
    assert db.execute("SELECT suspended, leech FROM cards WHERE id = ?", [ONE]).fetchone() == (0, 1)
    assert queue.find(ONE, later) is not None
    shown = queue.next(later)
    assert shown is not None and shown.id == ONE


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_cli_says_what_it_did(db: sqlite_utils.Database) -> None:
    assert run("suspend", "pair", ONE) == (0, f"Suspended 3 cards: {PAIR}, {PAIR_REVERSE}, {ONE}\n", "")
    assert run("suspend", ONE) == (0, f"{ONE} was already suspended\n", "")
    assert run("unsuspend", "pair", "--json")[1:] == (
        json.dumps(
            {"suspended": False, "changed": [PAIR, PAIR_REVERSE], "unchanged": [], "leeches": []}, indent=2
        )
        + "\n",
        "",
    )
    assert run("unsuspend", "pair", ONE) == (
        0,
        f"Unsuspended 1 card: {ONE}\n{PAIR}, {PAIR_REVERSE} were not suspended\n",
        "",
    )


def test_cli_unknown_ids_are_named_and_nothing_changes(db: sqlite_utils.Database) -> None:
    before = suspended(db)
    assert run("suspend", ONE, "nope", "also-nope") == (
        1,
        "",
        "error: no card 'nope'; `cards list` shows the ids\n"
        "error: no card 'also-nope'; `cards list` shows the ids\n"
        "Nothing was changed.\n",
    )
    assert suspended(db) == before
    assert run("unsuspend")[0] == 2


def test_cli_unsuspended_leech_is_still_a_leech_in_show_and_list(db: sqlite_utils.Database) -> None:
    make_leech(db, ONE)
    assert run("unsuspend", ONE) == (0, f"Unsuspended 1 card: {ONE} (leech)\n", "")
    card = json.loads(run("show", ONE, "--json")[1])
    assert (card["suspended"], card["leech"]) == (False, True)
    assert run("show", ONE)[1].splitlines()[0] == f"{ONE}  [leech]"
    listed = {c["id"]: c for c in json.loads(run("list", "--json")[1])}
    assert (listed[ONE]["suspended"], listed[ONE]["leech"]) == (False, True)
    line = next(line for line in run("list")[1].splitlines() if line.startswith(ONE))
    assert line.split()[1:3] == ["relearning,", "leech"]
    run("suspend", ONE)
    line = next(line for line in run("list")[1].splitlines() if line.startswith(ONE))
    assert line.split()[1:3] == ["suspended,", "leech"]
