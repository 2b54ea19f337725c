"""Ordinary edits keep the review history: renamed templates and fields, a changed type; a retirement is said."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import sqlite_utils
from click.testing import CliRunner

from flashcards.cli import cli
from flashcards.compiler import compile_decks
from tests.test_idwrite import NOW, active, review, reviews_of

TEAM = """
deck: D
types:
  team:
    fields: [team, priority]
    templates:
      priority:
        front: "What does {{team}} care about?"
        back: "{{priority}}"
      who:
        front: "Who cares about {{priority}}?"
        back: "{{team}}"
notes:
  - id: ds
    type: team
    team: Data Scientists
    priority: Model accuracy
"""


def test_a_template_renamed_from_keeps_its_cards_and_their_history(
    fresh_db: sqlite_utils.Database, decks: Path, write_deck: Callable[..., Path]
) -> None:
    path = write_deck("d.yaml", TEAM)
    compile_decks(fresh_db, decks, NOW)
    review(fresh_db, "ds/priority", 4)
    path.write_text(
        path.read_text().replace("      priority:\n", "      cares:\n        renamed_from: priority\n")
    )
    result = compile_decks(fresh_db, decks, NOW)
    assert active(fresh_db) == ["ds/cares", "ds/who"]
    assert reviews_of(fresh_db, "ds/cares") == 4 and reviews_of(fresh_db, "ds/priority") == 0
    assert result.cards.added == 0 and result.cards.retired == 0
    assert result.changes["renamed"] == ["ds/priority -> ds/cares"]
    assert fresh_db.execute("SELECT count(*) FROM cards").fetchone() == (2,)
    again = compile_decks(fresh_db, decks, NOW)  # renamed_from may stay: nothing more happens
    assert not again.changed or (again.cards.added, again.cards.retired) == (0, 0)


def test_a_field_renamed_from_accepts_notes_still_written_with_the_old_name(
    fresh_db: sqlite_utils.Database, decks: Path, write_deck: Callable[..., Path]
) -> None:
    path = write_deck("d.yaml", TEAM)
    compile_decks(fresh_db, decks, NOW)
    review(fresh_db, "ds/who", 2)
    text = path.read_text().replace("[team, priority]", "[team, {name: goal, renamed_from: priority}]")
    path.write_text(text.replace("{{priority}}", "{{goal}}"))
    result = compile_decks(fresh_db, decks, NOW)
    assert active(fresh_db) == ["ds/priority", "ds/who"] and result.cards.retired == 0
    assert reviews_of(fresh_db, "ds/who") == 2
    back = fresh_db.execute("SELECT back FROM cards WHERE id = 'ds/priority'").fetchone()
    assert back == ("Model accuracy",)


def test_changing_a_note_type_keeps_the_cards_whose_template_survives(
    fresh_db: sqlite_utils.Database, decks: Path, write_deck: Callable[..., Path]
) -> None:
    path = write_deck("d.yaml", "deck: D\nnotes:\n  - front: Blue-green\n    back: Two environments\n")
    compile_decks(fresh_db, decks, NOW)
    review(fresh_db, "basic:blue-green/card", 3)
    path.write_text(path.read_text().replace("    front: Blue", "    type: reversed\n    front: Blue"))
    result = compile_decks(fresh_db, decks, NOW)
    assert active(fresh_db) == ["basic:blue-green/card", "basic:blue-green/reverse"]
    assert reviews_of(fresh_db, "basic:blue-green/card") == 3
    assert result.cards.added == 1 and result.cards.retired == 0


def test_compile_says_which_reviewed_cards_it_retires_and_how_to_undo_it(
    decks: Path, write_deck: Callable[..., Path], db_path: Path
) -> None:
    path = write_deck("d.yaml", TEAM)
    runner = CliRunner()
    assert runner.invoke(cli, ["compile"]).exit_code == 0
    db = sqlite_utils.Database(db_path)
    review(db, "ds/who", 5)
    path.write_text(path.read_text().replace("      who:", "      whose:"))  # renamed, without renamed_from
    result = runner.invoke(cli, ["compile"])
    assert result.exit_code == 0
    assert "warning: retired card ds/who with 5 reviews: note 'ds' (" in result.stderr
    assert "no longer has a card 'who'" in result.stderr
    assert "add 'renamed_from: OLD' to a renamed template" in result.stderr
    path.write_text(path.read_text().replace("      whose:", "      whose:\n        renamed_from: who"))
    result = runner.invoke(cli, ["compile"])  # the undo the message names
    assert result.exit_code == 0 and "retired" not in result.stderr
    assert reviews_of(db, "ds/whose") == 5
    path.write_text("deck: D\nnotes: []\n")
    result = runner.invoke(cli, ["compile"])
    assert (
        "warning: retired card ds/whose with 5 reviews: note 'ds' is no longer in the decks (it was at "
        in result.stderr
    )


def test_compile_dry_run_lists_the_changes_and_writes_nothing(
    decks: Path, write_deck: Callable[..., Path], db_path: Path
) -> None:
    path = write_deck("d.yaml", TEAM)
    runner = CliRunner()
    assert runner.invoke(cli, ["compile"]).exit_code == 0
    db = sqlite_utils.Database(db_path)
    review(db, "ds/who")
    text = path.read_text().replace("      who:", "      whose:").replace("Model accuracy", "Accuracy")
    path.write_text(
        text + "  - front: A new one\n    back: B\n  - id: ds-was-retired\n    front: C\n    back: D\n"
    )
    db.execute(
        "INSERT INTO notes(id, type, deck, fields, tags, source_file, source_line, content_hash, created_at, "
        "modified_at, retired_at) SELECT 'ds-was-retired', 'basic', deck, fields, tags, source_file, 99, content_hash, created_at, modified_at, created_at FROM notes WHERE id = 'ds'"
    )
    db.execute(
        "INSERT INTO cards(id, note_id, template, ordinal, deck, front, back, position, created_at, modified_at, retired_at) VALUES ('ds-was-retired/card', 'ds-was-retired', 'card', 0, 'D', 'C', 'D', 1, 'x', 'x', 'x')"
    )
    db.conn.commit()
    written = path.read_bytes()
    before = {
        t: db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
        for t in ("notes", "cards", "deck_files", "reviews")
    }
    result = runner.invoke(cli, ["compile", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "would be added: ds/whose",
        "would be added: basic:a-new-one/card",
        "would be updated: ds/priority",
        "would be retired: ds/who",
        "would be restored: ds-was-retired/card",
        "notes: 1 added, 1 updated, 0 retired, 1 restored, 0 unchanged",
        "cards: 2 added, 1 updated, 1 retired, 1 restored, 0 unchanged",
        "Dry run: nothing was written.",
    ]
    assert "would retire card ds/who with 1 review" in result.stderr
    assert "would write 'id:' into 1 note of " in result.stderr
    assert path.read_bytes() == written
    after = {
        t: db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
        for t in ("notes", "cards", "deck_files", "reviews")
    }
    assert after == before
    data = json.loads(runner.invoke(cli, ["compile", "--dry-run", "--json"]).stdout)
    assert data["dry_run"] is True and data["changes"]["retired"] == ["ds/who"]
    assert data["retired_with_reviews"] == [
        {"id": "ds/who", "reviews": 1, "reason": data["retired_with_reviews"][0]["reason"]}
    ]


def test_a_template_renamed_in_types_yaml_keeps_the_cards_of_every_file(
    fresh_db: sqlite_utils.Database, decks: Path, write_deck: Callable[..., Path]
) -> None:
    types = write_deck("types.yaml", TEAM.split("notes:")[0].replace("deck: D\n", ""))
    write_deck("teams.yaml", "deck: D\nnotes:" + TEAM.split("notes:")[1])
    compile_decks(fresh_db, decks, NOW)
    review(fresh_db, "ds/who", 3)
    types.write_text(types.read_text().replace("      who:\n", "      whose:\n        renamed_from: who\n"))
    result = compile_decks(fresh_db, decks, NOW)  # teams.yaml is unchanged, and read again
    assert active(fresh_db) == ["ds/priority", "ds/whose"] and reviews_of(fresh_db, "ds/whose") == 3
    assert result.cards.retired == 0 and not result.retired_history
