"""The order of learning: a file's order:, and how new cards are gathered across decks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from flashcards import store
from flashcards.cli import cli
from flashcards.compiler import compile_decks
from flashcards.settings import DeckSettings, Settings, parse_settings
from flashcards.states import Rating
from tests.conftest import drain, make_controller
from tests.test_idwrite import NOW


def deck(name: str, count: int, order: str | None = None) -> str:
    head = f"deck: {name}\n" + (f"order: {order}\n" if order is not None else "")
    return (
        head
        + "notes:\n"
        + "".join(
            f"  - id: {name.lower()}{n}\n    front: {name} {n}\n    back: x\n" for n in range(1, count + 1)
        )
    )


@pytest.fixture
def three(
    fresh_db: sqlite_utils.Database, decks: Path, write_deck: Callable[..., Path]
) -> sqlite_utils.Database:
    write_deck("a-influence.yaml", deck("Influence", 3))  # alphabetically first, but no order: last
    write_deck("b-star.yaml", deck("Star", 2, order="2"))
    write_deck("z-teams.yaml", deck("Teams", 2, order="1"))
    compile_decks(fresh_db, decks, NOW)
    return fresh_db


def learnt(db: sqlite_utils.Database, gather: str = "in-order") -> list[str]:
    settings = Settings(replace(DeckSettings(), new_per_day=100, new_gather_order=gather))
    return [card.split("/")[0] for card in drain(make_controller(db, settings, now=NOW), Rating.EASY)]


def test_files_with_an_order_come_first_lower_first_then_the_others_by_path(
    three: sqlite_utils.Database,
) -> None:
    assert learnt(three) == ["teams1", "teams2", "star1", "star2", "influence1", "influence2", "influence3"]


def test_interleaved_takes_one_card_from_each_deck_in_turn(three: sqlite_utils.Database) -> None:
    assert learnt(three, "interleaved") == [
        "teams1",
        "star1",
        "influence1",
        "teams2",
        "star2",
        "influence2",
        "influence3",
    ]


def test_random_notes_shuffles_notes_the_same_way_every_time(
    decks: Path, write_deck: Callable[..., Path], tmp_path: Path
) -> None:
    orders = []
    for run in range(2):
        db = store.open_collection(tmp_path / f"c{run}.db")
        write_deck("a.yaml", deck("A", 8))
        compile_decks(db, decks, NOW)
        orders.append(learnt(db, "random-notes"))
    in_order = [f"a{n}" for n in range(1, 9)]
    assert orders[0] == orders[1] and sorted(orders[0]) == sorted(in_order) and orders[0] != in_order


def test_changing_a_files_order_moves_its_new_cards(
    three: sqlite_utils.Database, decks: Path, write_deck: Callable[..., Path]
) -> None:
    write_deck("a-influence.yaml", deck("Influence", 3, order="-3"))
    compile_decks(three, decks, NOW)
    assert learnt(three)[:3] == ["influence1", "influence2", "influence3"]


@pytest.mark.parametrize("value", ["first", "1.5", "99999999", "''"])
def test_a_bad_order_is_a_located_error(write_deck: Callable[..., Path], value: str) -> None:
    path = write_deck("d.yaml", deck("D", 1, order=value))
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == 1
    assert f"{path}:2:8: error:" in result.stderr and "'order'" in result.stderr


def test_the_gather_setting_is_checked(tmp_path: Path) -> None:
    settings = parse_settings('new_gather_order = "interleaved"\n', tmp_path / "cards.toml")
    assert settings.defaults.new_gather_order == "interleaved"
    from flashcards.errors import SourceError

    with pytest.raises(
        SourceError, match="new_gather_order: expected one of 'in-order', 'interleaved', 'random-notes'"
    ):
        parse_settings('new_gather_order = "by-deck"\n', tmp_path / "cards.toml")
    with pytest.raises(SourceError, match="applies to the whole collection"):
        parse_settings('[deck."A"]\nnew_gather_order = "interleaved"\n', tmp_path / "cards.toml")
