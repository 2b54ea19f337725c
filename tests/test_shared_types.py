"""Note types shared by every deck file (declared in any file, or in types.yaml), and optional cards."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from flashcards.cli import cli
from flashcards.compiler import compile_decks
from flashcards.errors import SourceError
from tests.test_idwrite import NOW, active

TYPES = """
types:
  team:
    fields: [team, priority, bridge]
    templates:
      priority:
        front: "What does {{team}} care about?"
        back: "{{priority}}"
      bridge:
        front: "{{#bridge}}Your bridge role with {{team}}?{{/bridge}}"
        back: "{{bridge}}"
"""

TEAMS = """
deck: Teams
notes:
  - id: ds
    type: team
    team: Data Scientists
    priority: Model accuracy
    bridge: Guardrails
  - id: sec
    type: team
    team: Security
    priority: Least privilege
"""


def test_a_type_in_types_yaml_is_used_by_every_deck_file(
    fresh_db: sqlite_utils.Database, decks: Path, write_deck: Callable[..., Path]
) -> None:
    write_deck("types.yaml", TYPES)
    write_deck("teams.yaml", TEAMS)
    write_deck(
        "more/platform.yaml",
        "deck: Platform\nnotes:\n  - {id: plat, type: team, team: Platform, priority: Uptime}\n",
    )
    result = CliRunner().invoke(cli, ["check"])
    assert (result.exit_code, result.stdout) == (0, "3 files, 3 notes, 4 cards: no problems.\n"), (
        result.output
    )
    result = CliRunner().invoke(
        cli, ["check", str(decks / "teams.yaml")]
    )  # one file: the decks' types still count
    assert result.exit_code == 0, result.output
    compile_decks(fresh_db, decks, NOW)
    assert active(fresh_db) == ["ds/bridge", "ds/priority", "plat/priority", "sec/priority"]


def test_editing_a_shared_type_recompiles_the_files_that_use_it(
    fresh_db: sqlite_utils.Database, decks: Path, write_deck: Callable[..., Path]
) -> None:
    types = write_deck("types.yaml", TYPES)
    write_deck("teams.yaml", TEAMS)
    compile_decks(fresh_db, decks, NOW)
    types.write_text(types.read_text().replace("care about?", "care about most?"))
    result = compile_decks(fresh_db, decks, NOW)
    assert result.cards.updated == 2
    front = fresh_db.execute("SELECT front FROM cards WHERE id = 'sec/priority'").fetchone()
    assert front == ("What does Security care about most?",)
    types.write_text("types: {}\n")  # the type is gone: the notes using it are errors, nothing is written
    with pytest.raises(SourceError) as raised:
        compile_decks(fresh_db, decks, NOW)
    assert "teams.yaml:4:11: error: unknown note type 'team'" in str(raised.value)


def test_a_type_declared_in_a_deck_file_is_shared_too(
    fresh_db: sqlite_utils.Database, decks: Path, write_deck: Callable[..., Path]
) -> None:
    write_deck("a.yaml", "deck: A\n" + TYPES + "notes: []\n")
    write_deck("teams.yaml", TEAMS)
    compile_decks(fresh_db, decks, NOW)
    assert len(active(fresh_db)) == 3


def test_one_type_declared_differently_twice_is_an_error_at_both_places(
    decks: Path, write_deck: Callable[..., Path]
) -> None:
    write_deck("types.yaml", TYPES)
    write_deck(
        "teams.yaml",
        TEAMS.replace(
            "notes:",
            TYPES.replace("[team, priority, bridge]", "[team, priority]").replace(
                '      bridge:\n        front: "{{#bridge}}Your bridge role with {{team}}?{{/bridge}}"\n        back: "{{bridge}}"\n',
                "",
            )
            + "notes:",
        ),
    )
    result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code == 1
    assert "types.yaml:2:3: error: note type 'team' is declared differently at " in result.stderr
    assert "teams.yaml:4:3: error: note type 'team' is declared differently at " in result.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("deck: D\n" + TYPES, "types.yaml:1:1: error: 'deck' in types.yaml: this file holds only 'types:'"),
        ("notes: []\n", "types.yaml:1:1: error: missing key 'types'; types.yaml holds the shared note types"),
    ],
)
def test_types_yaml_holds_only_types(write_deck: Callable[..., Path], text: str, message: str) -> None:
    write_deck("types.yaml", text)
    result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code == 1 and message in result.stderr


def test_a_template_whose_front_is_empty_makes_no_card_and_a_note_without_cards_is_an_error(
    decks: Path, write_deck: Callable[..., Path]
) -> None:
    write_deck("types.yaml", TYPES)
    write_deck("teams.yaml", TEAMS)
    result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code == 0  # 'sec' has no bridge: no bridge card, no error
    write_deck(
        "opt.yaml",
        """
        deck: O
        types:
          only-if:
            fields: [word, example]
            templates:
              example:
                front: "{{#example}}Use {{word}} in a sentence{{/example}}"
                back: "{{example}}"
        notes:
          - {id: w, type: only-if, word: canary}
        """,
    )
    result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code == 1
    assert (
        "opt.yaml:10:5: error: this note gets no card: the front of every template ('example') is empty"
        in result.stderr
    )
