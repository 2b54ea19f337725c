"""Ids written into deck files on compile: every other byte kept, written once, history kept."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils

from flashcards import clock
from flashcards.compiler import compile_decks

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def review(db: sqlite_utils.Database, card_id: str, times: int = 1) -> None:
    for n in range(times):
        db.execute(
            "INSERT INTO reviews(card_id, rating, reviewed_at, duration_ms, due, state_before, state, stability, difficulty) "
            "VALUES (?, 3, ?, 4000, ?, 0, 1, 2.3, 5.1)",
            [card_id, clock.to_db(NOW + timedelta(minutes=n)), clock.to_db(NOW + timedelta(days=1))],
        )
    db.conn.commit()


def reviews_of(db: sqlite_utils.Database, card_id: str) -> int:
    return int(db.execute("SELECT count(*) FROM reviews WHERE card_id = ?", [card_id]).fetchone()[0])


def active(db: sqlite_utils.Database) -> list[str]:
    return [r[0] for r in db.execute("SELECT id FROM cards WHERE retired_at IS NULL ORDER BY id")]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (  # block mapping, comments kept, no final newline
            b"deck: D  # mine\nnotes:\n  # a comment\n  - front: Q one   # keep me\n    back: A\n  - id: x\n    front: Q two\n    back: B",
            b"deck: D  # mine\nnotes:\n  # a comment\n  - id: basic:q-one\n    front: Q one   # keep me\n    back: A\n  - id: x\n    front: Q two\n    back: B",
        ),
        (  # odd indentation, the mapping on the line after its dash, other key order
            b"deck: D\nnotes:\n-     back: A\n      front: 'Q'\n-\n   type: reversed\n   front: R\n   back: S\n",
            b"deck: D\nnotes:\n-     id: basic:q\n      back: A\n      front: 'Q'\n-\n   id: reversed:r\n   type: reversed\n   front: R\n   back: S\n",
        ),
        (  # flow mappings, one over two lines
            b"deck: D\nnotes: [{front: Q, back: A}, {type: cloze,\n  text: 'a {{c1::b}}'}]\n",
            b"deck: D\nnotes: [{id: 'basic:q', front: Q, back: A}, {id: 'cloze:a-b', type: cloze,\n  text: 'a {{c1::b}}'}]\n",
        ),
        (  # CRLF line endings and a byte-order mark
            b"\xef\xbb\xbfdeck: D\r\nnotes:\r\n  - front: |\r\n      Q\r\n      more\r\n    back: A\r\n",
            b"\xef\xbb\xbfdeck: D\r\nnotes:\r\n  - id: basic:q-more\r\n    front: |\r\n      Q\r\n      more\r\n    back: A\r\n",
        ),
        (  # non-ASCII text: the derived id keeps its letters
            "deck: D\nnotes:\n  - front: Qu'est-ce qu'un déploiement canari ?\n    back: A\n".encode(),
            "deck: D\nnotes:\n  - id: basic:qu-est-ce-qu-un-déploiement-canari\n    front: Qu'est-ce qu'un déploiement canari ?\n    back: A\n".encode(),
        ),
    ],
    ids=["block", "indentation", "flow", "crlf-bom", "unicode"],
)
def test_compile_writes_the_derived_ids_and_nothing_else(
    fresh_db: sqlite_utils.Database, decks: Path, before: bytes, after: bytes
) -> None:
    path = decks / "d.yaml"
    path.write_bytes(before)
    first = compile_decks(fresh_db, decks, NOW)
    assert path.read_bytes() == after
    ids = active(fresh_db)
    again = compile_decks(fresh_db, decks, NOW)  # idempotent: nothing to write, nothing to compile
    assert path.read_bytes() == after
    assert not again.changed and active(fresh_db) == ids
    assert [count for _, count in first.ids_written] == [after.count(b"id: ") - before.count(b"id: ")]
    rows = fresh_db.execute("SELECT id, source_line FROM notes ORDER BY source_line").fetchall()
    text = after.decode("utf-8-sig")
    for note_id, line in rows:  # each note's line is where it is now
        assert f"id: {note_id}" in text.splitlines()[line - 1] or f"id: '{note_id}'" in text


def test_editing_the_key_field_after_the_first_compile_keeps_the_history(
    fresh_db: sqlite_utils.Database, decks: Path, write_deck: Callable[..., Path]
) -> None:
    path = write_deck(
        "d.yaml",
        """
        deck: D
        notes:
          - front: What is a canary deplyoment?
            back: A small slice first.
          - type: cloze
            text: "Canary limits the {{c1::blast radius}}."
        """,
    )
    compile_decks(fresh_db, decks, NOW)
    review(fresh_db, "basic:what-is-a-canary-deplyoment/card", 3)
    review(fresh_db, "cloze:canary-limits-the-blast-radius/c1", 2)
    text = path.read_text()
    path.write_text(
        text.replace("canary deplyoment?", "canary deployment?").replace(
            "blast radius}}", "blast radius}} of {{c2::releases}}"
        )
    )
    result = compile_decks(fresh_db, decks, NOW)
    assert result.notes.updated == 2 and result.notes.added == 0 and result.notes.retired == 0
    assert result.cards.added == 1 and result.cards.retired == 0 and not result.retired_history
    assert reviews_of(fresh_db, "basic:what-is-a-canary-deplyoment/card") == 3
    assert reviews_of(fresh_db, "cloze:canary-limits-the-blast-radius/c1") == 2
    front = fresh_db.execute(
        "SELECT front FROM cards WHERE id = 'basic:what-is-a-canary-deplyoment/card'"
    ).fetchone()
    assert front == ("What is a canary deployment?",)


def test_an_existing_collection_keeps_its_cards_when_ids_are_written(
    fresh_db: sqlite_utils.Database, decks: Path, write_deck: Callable[..., Path]
) -> None:
    """A collection compiled before ids were written (its files' hashes of the old kind) keeps every card."""
    path = write_deck("d.yaml", "deck: D\nnotes:\n  - front: Q\n    back: A\n")
    original = path.read_bytes()
    compile_decks(fresh_db, decks, NOW)
    review(fresh_db, "basic:q/card")
    path.write_bytes(original)  # as an older version left it: no id in the file ...
    fresh_db.execute("UPDATE deck_files SET sha256 = 'an older hash'")  # ... and another kind of hash
    fresh_db.conn.commit()
    result = compile_decks(fresh_db, decks, NOW)
    assert path.read_text() == "deck: D\nnotes:\n  - id: basic:q\n    front: Q\n    back: A\n"
    assert result.cards.added == 0 and result.cards.retired == 0 and active(fresh_db) == ["basic:q/card"]


def test_a_file_that_cannot_be_written_is_said_and_compiled_as_before(
    fresh_db: sqlite_utils.Database,
    decks: Path,
    write_deck: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = write_deck("d.yaml", "deck: D\nnotes:\n  - front: Q\n    back: A\n")

    def refuse(source: object, target: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("flashcards.idwrite.os.replace", refuse)
    result = compile_decks(fresh_db, decks, NOW)
    assert "could not write 'id:' into" in result.warnings[0] and "Permission denied" in result.warnings[0]
    assert path.read_text() == "deck: D\nnotes:\n  - front: Q\n    back: A\n"
    assert [p.name for p in decks.iterdir()] == ["d.yaml"]  # no temporary file left behind
    assert active(fresh_db) == ["basic:q/card"]


def test_a_file_saved_while_compiling_is_not_overwritten(
    fresh_db: sqlite_utils.Database,
    decks: Path,
    write_deck: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = write_deck("d.yaml", "deck: D\nnotes:\n  - front: Q\n    back: A\n")
    from flashcards import idwrite

    real = idwrite.with_ids

    def and_the_user_saves(data: bytes, slots: list[object]) -> bytes | None:
        path.write_text("deck: D\nnotes:\n  - front: Q edited\n    back: A\n")
        return real(data, slots)  # type: ignore[arg-type]

    monkeypatch.setattr(idwrite, "with_ids", and_the_user_saves)
    result = compile_decks(fresh_db, decks, NOW)
    assert path.read_text() == "deck: D\nnotes:\n  - front: Q edited\n    back: A\n"
    assert not result.warnings
    monkeypatch.undo()
    compile_decks(fresh_db, decks, NOW)  # the next compile reads the saved file and writes its id
    assert path.read_text() == "deck: D\nnotes:\n  - id: basic:q-edited\n    front: Q edited\n    back: A\n"
