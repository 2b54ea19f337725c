"""Compiling decks into the collection: stable ids, retire-not-delete, all-or-nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils

from flashcards import clock
from flashcards.compiler import compile_decks
from flashcards.errors import SourceError

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)

DECK = """
deck: Interview
notes:
  - id: canary
    front: What is a canary deployment?
    back: A release to a small slice of traffic first.
  - type: reversed
    id: shadow
    front: Shadow deployment
    back: Live traffic is copied to the new model; its answers are never served.
  - type: cloze
    text: "Canary limits the {{c1::blast radius}} of {{c2::frequent releases}}."
"""


def card_ids(db: sqlite_utils.Database, active: bool = True) -> list[str]:
    where = "WHERE retired_at IS NULL" if active else ""
    return [r[0] for r in db.execute(f"SELECT id FROM cards {where} ORDER BY id")]


def add_review(db: sqlite_utils.Database, card_id: str) -> None:
    stamp = clock.to_db(NOW)
    db.execute(
        "INSERT INTO reviews(card_id, rating, reviewed_at, duration_ms, due, state_before, state, stability, difficulty) "
        "VALUES (?, 3, ?, 4000, ?, 0, 1, 2.3, 5.1)",
        [card_id, stamp, clock.to_db(NOW + timedelta(minutes=10))],
    )


def test_first_compile_adds_everything(
    fresh_db: sqlite_utils.Database, decks: Path, write_deck: Callable[..., Path]
) -> None:
    write_deck("interview.yaml", DECK)
    result = compile_decks(fresh_db, decks, NOW)
    assert result.notes.as_dict() == {"added": 3, "updated": 0, "retired": 0, "restored": 0, "unchanged": 0}
    assert result.cards.added == 5
    assert card_ids(fresh_db) == [
        "canary/card",
        "cloze:canary-limits-the-blast-radius-of-frequent-releases/c1",
        "cloze:canary-limits-the-blast-radius-of-frequent-releases/c2",
        "shadow/card",
        "shadow/reverse",
    ]
    row = fresh_db.execute("SELECT source_file, source_line FROM notes WHERE id = 'shadow'").fetchone()
    assert row == ("interview.yaml", 6)


def test_second_compile_skips_unchanged_files(
    fresh_db: sqlite_utils.Database, decks: Path, write_deck: Callable[..., Path]
) -> None:
    write_deck("interview.yaml", DECK)
    compile_decks(fresh_db, decks, NOW)
    result = compile_decks(fresh_db, decks, NOW)
    assert not result.changed
    assert result.files_skipped == 1
    assert result.notes.as_dict() == {"added": 0, "updated": 0, "retired": 0, "restored": 0, "unchanged": 3}
    assert result.cards.unchanged == 5


def test_editing_text_keeps_the_id_and_the_history(
    fresh_db: sqlite_utils.Database, decks: Path, write_deck: Callable[..., Path]
) -> None:
    write_deck("interview.yaml", DECK)
    compile_decks(fresh_db, decks, NOW)
    add_review(fresh_db, "canary/card")
    write_deck("interview.yaml", DECK.replace("a small slice of traffic", "1% of traffic"))
    later = NOW + timedelta(days=1)
    result = compile_decks(fresh_db, decks, later)
    assert (result.notes.updated, result.notes.unchanged) == (1, 2)
    assert (result.cards.updated, result.cards.unchanged) == (1, 4)
    back, modified = fresh_db.execute(
        "SELECT back, modified_at FROM cards WHERE id = 'canary/card'"
    ).fetchone()
    assert back == "A release to 1% of traffic first."
    assert modified == clock.to_db(later)
    assert fresh_db.execute("SELECT modified_at FROM notes WHERE id = 'canary'").fetchone()[0] == clock.to_db(
        later
    )
    assert fresh_db.execute("SELECT modified_at FROM notes WHERE id = 'shadow'").fetchone()[0] == clock.to_db(
        NOW
    )
    assert fresh_db.execute("SELECT count(*) FROM reviews WHERE card_id = 'canary/card'").fetchone()[0] == 1


def test_removed_note_is_retired_and_restored_with_its_history(
    fresh_db: sqlite_utils.Database, decks: Path, write_deck: Callable[..., Path]
) -> None:
    write_deck("interview.yaml", DECK)
    compile_decks(fresh_db, decks, NOW)
    add_review(fresh_db, "shadow/reverse")
    without_shadow = (
        DECK.split("  - type: reversed")[0] + "  - type: cloze" + DECK.split("  - type: cloze")[1]
    )
    write_deck("interview.yaml", without_shadow)
    result = compile_decks(fresh_db, decks, NOW)
    assert (result.notes.retired, result.cards.retired) == (1, 2)
    assert "shadow/reverse" not in card_ids(fresh_db)
    assert "shadow/reverse" in card_ids(fresh_db, active=False)
    assert fresh_db.execute("SELECT count(*) FROM reviews").fetchone()[0] == 1

    write_deck("interview.yaml", DECK)
    result = compile_decks(fresh_db, decks, NOW)
    assert (result.notes.restored, result.cards.restored) == (1, 2)
    assert "shadow/reverse" in card_ids(fresh_db)
    assert fresh_db.execute("SELECT card_id FROM reviews").fetchall() == [("shadow/reverse",)]


def test_deleting_a_file_retires_its_notes(
    fresh_db: sqlite_utils.Database, decks: Path, write_deck: Callable[..., Path]
) -> None:
    path = write_deck("interview.yaml", DECK)
    compile_decks(fresh_db, decks, NOW)
    path.unlink()
    result = compile_decks(fresh_db, decks, NOW)
    assert (result.notes.retired, result.cards.retired, result.files_removed) == (3, 5, 1)
    assert card_ids(fresh_db) == []
    assert len(card_ids(fresh_db, active=False)) == 5


def test_moving_a_note_to_another_file_keeps_it(
    fresh_db: sqlite_utils.Database, decks: Path, write_deck: Callable[..., Path]
) -> None:
    write_deck("interview.yaml", DECK)
    compile_decks(fresh_db, decks, NOW)
    add_review(fresh_db, "canary/card")
    canary = "  - id: canary\n    front: What is a canary deployment?\n    back: A release to a small slice of traffic first.\n"
    write_deck("interview.yaml", DECK.replace(canary, ""))
    write_deck("more/other.yaml", "deck: Interview::More\nnotes:\n" + canary)
    result = compile_decks(fresh_db, decks, NOW)
    assert result.notes.retired == 0
    assert result.notes.updated == 1
    row = fresh_db.execute("SELECT source_file, deck, retired_at FROM notes WHERE id = 'canary'").fetchone()
    assert row == ("more/other.yaml", "Interview::More", None)
    assert (
        fresh_db.execute("SELECT deck FROM cards WHERE id = 'canary/card'").fetchone()[0] == "Interview::More"
    )


def test_template_no_longer_rendering_retires_only_that_card(
    fresh_db: sqlite_utils.Database, decks: Path, write_deck: Callable[..., Path]
) -> None:
    write_deck("interview.yaml", DECK)
    compile_decks(fresh_db, decks, NOW)
    write_deck("interview.yaml", DECK.replace("{{c2::frequent releases}}", "frequent releases"))
    result = compile_decks(fresh_db, decks, NOW)
    assert (result.cards.retired, result.cards.unchanged) == (1, 4)
    assert (result.notes.updated, result.notes.added, result.notes.retired) == (
        1,
        0,
        0,
    )  # cloze markup is not part of the id


def test_invalid_deck_leaves_the_collection_byte_for_byte_unchanged(
    fresh_db: sqlite_utils.Database, db_path: Path, decks: Path, write_deck: Callable[..., Path]
) -> None:
    write_deck("interview.yaml", DECK)
    compile_decks(fresh_db, decks, NOW)
    fresh_db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = db_path.read_bytes()
    write_deck("interview.yaml", DECK.replace("back: A release", "bakc: A release"))
    write_deck("second.yaml", "deck: Two\nnotes:\n  - {id: new, front: a, back: b}\n")
    with pytest.raises(SourceError) as raised:
        compile_decks(fresh_db, decks, NOW)
    assert [p.line for p in raised.value.problems] == [5]
    fresh_db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert db_path.read_bytes() == before


def test_duplicate_id_against_an_unchanged_file(
    fresh_db: sqlite_utils.Database, decks: Path, write_deck: Callable[..., Path]
) -> None:
    write_deck("interview.yaml", DECK)
    compile_decks(fresh_db, decks, NOW)
    write_deck("copy.yaml", "deck: Other\nnotes:\n  - {id: canary, front: a, back: b}\n")
    with pytest.raises(SourceError) as raised:
        compile_decks(fresh_db, decks, NOW)
    message = str(raised.value)
    assert "copy.yaml:3:5: error: duplicate note id 'canary' (also at " in message
    assert "interview.yaml:3)" in message


def test_missing_decks_directory_is_a_clear_error(fresh_db: sqlite_utils.Database, tmp_path: Path) -> None:
    from flashcards.errors import CardsError

    with pytest.raises(CardsError, match="does not exist"):
        compile_decks(fresh_db, tmp_path / "nowhere", NOW)


def test_pending_migration_backs_up_the_collection_first(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlite_utils import Migrations

    from flashcards import migrations, store

    store.open_collection(db_path).conn.close()
    extra = Migrations("cards")
    for migration in migrations.migrations._migrations:
        extra(name=migration.name)(migration.fn)

    @extra(name="9999_example")
    def _example(db: sqlite_utils.Database) -> None:
        db.execute("CREATE TABLE example (id INTEGER)")

    monkeypatch.setattr(migrations, "migrations", extra)
    monkeypatch.setattr(store, "SCHEMA_VERSION", store.SCHEMA_VERSION + 1)  # a new migration raises it
    db = store.open_collection(db_path)
    assert sqlite_utils.Database(db.conn)["example"].exists()
    assert db.execute("PRAGMA user_version").fetchone() == (store.SCHEMA_VERSION,)
    backup = sqlite_utils.Database(db_path.parent / "collection.db.bak-before-9999_example")
    assert backup["cards"].exists() and not backup["example"].exists()


def test_implicit_compile_skips_counting_when_nothing_changed(
    write_deck: Callable[..., Path], decks: Path, fresh_db: sqlite_utils.Database
) -> None:
    write_deck("one.yaml", "deck: One\nnotes:\n  - front: a\n    back: b\n")
    compile_decks(fresh_db, decks, NOW)
    result = compile_decks(fresh_db, decks, NOW, count_unchanged=False)
    assert not result.changed
    assert (result.notes.unchanged, result.cards.unchanged) == (0, 0)
    assert compile_decks(fresh_db, decks, NOW).notes.unchanged == 1


def term_deck(deck: str, fields: list[str], note: str = "canary") -> str:
    """A deck declaring the type ``term`` with ``fields`` and one note using it."""
    values = ", ".join(f"{f}: {note}-{f}" for f in fields)
    return (
        f"deck: {deck}\ntypes:\n  term:\n    fields: [{', '.join(fields)}]\n    templates:\n"
        '      card: {front: "{{term}}", back: "{{meaning}}"}\n'
        f"notes:\n  - {{type: term, {values}}}\n"
    )


def type_row(db: sqlite_utils.Database, name: str) -> tuple[str, str | None] | None:
    row = db.execute("SELECT definition, source_file FROM note_types WHERE name = ?", [name]).fetchone()
    return None if row is None else (row[0], row[1])


def test_a_deleted_file_no_longer_holds_its_type_name(
    fresh_db: sqlite_utils.Database, decks: Path, write_deck: Callable[..., Path]
) -> None:
    write_deck("a.yaml", term_deck("A", ["term", "meaning"]))
    compile_decks(fresh_db, decks, NOW)
    (decks / "a.yaml").unlink()
    compile_decks(fresh_db, decks, NOW)
    kept = type_row(fresh_db, "term")
    assert kept is not None and kept[1] is None  # the definition stays for the retired notes
    assert '"meaning"' in kept[0]
    write_deck("b.yaml", term_deck("B", ["term", "meaning", "extra"], note="shadow"))
    result = compile_decks(fresh_db, decks, NOW)
    assert result.notes.added == 1
    assert type_row(fresh_db, "term") == (kept[0].replace('"meaning"]', '"meaning", "extra"]'), "b.yaml")


def test_a_file_that_dropped_a_type_no_longer_holds_its_name(
    fresh_db: sqlite_utils.Database, decks: Path, write_deck: Callable[..., Path]
) -> None:
    write_deck("a.yaml", term_deck("A", ["term", "meaning"]))
    compile_decks(fresh_db, decks, NOW)
    write_deck("a.yaml", "deck: A\nnotes:\n  - {front: a, back: b}\n")
    compile_decks(fresh_db, decks, NOW)
    write_deck("b.yaml", term_deck("B", ["term", "meaning", "extra"], note="shadow"))
    assert compile_decks(fresh_db, decks, NOW).notes.added == 1


def test_a_type_still_declared_in_an_unchanged_file_must_match(
    fresh_db: sqlite_utils.Database, decks: Path, write_deck: Callable[..., Path]
) -> None:
    write_deck("a.yaml", term_deck("A", ["term", "meaning"]))
    write_deck("b.yaml", term_deck("B", ["term", "meaning"], note="shadow"))
    compile_decks(fresh_db, decks, NOW)  # the row names b.yaml, the last file to declare it
    write_deck("b.yaml", term_deck("B", ["term", "meaning", "extra"], note="shadow"))
    with pytest.raises(SourceError) as raised:
        compile_decks(fresh_db, decks, NOW)
    # The type is shared, so every file is read again: the error is at both places.
    assert "b.yaml:3:3: error: note type 'term' is declared differently at " in str(raised.value)
    assert "a.yaml:3:3: error: note type 'term' is declared differently at " in str(raised.value)
    assert "a.yaml:3; make them identical" in str(raised.value)
    write_deck("b.yaml", term_deck("B", ["term", "meaning"], note="shadow"))
    (decks / "b.yaml").unlink()
    write_deck("c.yaml", term_deck("C", ["term", "meaning", "extra"], note="other"))
    with pytest.raises(SourceError) as raised:
        compile_decks(fresh_db, decks, NOW)
    assert "c.yaml:3:3: error: note type 'term' is declared differently at " in str(raised.value)
    assert "a.yaml:3:3: error: note type 'term' is declared differently at " in str(raised.value)
