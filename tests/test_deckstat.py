"""Commands before which no deck file changed read none (flashcards.deckstat), and never miss a change."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from flashcards import paths

from .test_cli import run

DECK = "deck: D\nnotes:\n  - id: a\n    front: question\n    back: answer\n"
EDITED = DECK.replace("answer", "ANSWER")  # the same size


def age(path: Path, seconds: float = 60) -> None:
    """Make a file look written ``seconds`` ago (as any file not edited just now)."""
    then = time.time() - seconds
    os.utime(path, (then, then))


@pytest.fixture
def unread(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The deck files read from now on."""
    read: list[Path] = []
    original = paths.read_deck_file

    def reading(path: Path, shown: str) -> tuple[bytes | None, object]:
        read.append(path)
        return original(path, shown)

    monkeypatch.setattr("flashcards.compiler.read_deck_file", reading)
    return read


def test_a_command_with_nothing_changed_reads_no_deck_file(
    write_deck: Callable[..., Path], unread: list[Path]
) -> None:
    age(write_deck("d.yaml", DECK))
    assert run("compile")[0] == 0
    unread.clear()
    code, out, _ = run("status")
    assert code == 0 and "D " in out
    assert unread == []
    assert run("compile")[0] == 0  # `cards compile` itself always reads every file
    assert len(unread) == 1


def test_an_edit_of_the_same_size_is_seen_even_at_once(
    write_deck: Callable[..., Path], unread: list[Path]
) -> None:
    """A file read just after it was written is not recorded: a second write in the same tick is seen."""
    path = write_deck("d.yaml", DECK)  # just written
    assert run("compile")[0] == 0
    path.write_text(EDITED, encoding="utf-8")
    stat = path.stat()
    assert stat.st_size == len(DECK)
    assert "ANSWER" in run("show", "a/card")[1]


def test_an_edit_that_keeps_the_size_but_moves_the_time_is_seen(write_deck: Callable[..., Path]) -> None:
    path = write_deck("d.yaml", DECK)
    age(path, 120)
    assert run("compile")[0] == 0
    path.write_text(EDITED, encoding="utf-8")
    age(path, 60)  # another time than recorded, the same size
    assert "ANSWER" in run("show", "a/card")[1]


@pytest.mark.parametrize("change", ["added", "removed", "media"])
def test_files_added_removed_or_media_changed_are_seen(
    write_deck: Callable[..., Path], decks: Path, db_path: Path, change: str
) -> None:
    age(write_deck("d.yaml", DECK.replace("answer", "answer ![diagram](img/d.png)")))
    (decks / "img").mkdir()
    image = decks / "img" / "d.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n first")
    age(image)
    assert run("compile")[0] == 0
    if change == "added":
        age(write_deck("e.yaml", DECK.replace("id: a", "id: e").replace("deck: D", "deck: E")))
        assert "E " in run("status")[1]
    elif change == "removed":
        age(write_deck("e.yaml", DECK.replace("id: a", "id: e").replace("deck: D", "deck: E")))
        assert run("compile")[0] == 0
        (decks / "e.yaml").unlink()
        assert "E " not in run("status")[1]
    else:
        image.write_bytes(b"\x89PNG\r\n\x1a\n second, longer")
        assert run("status")[0] == 0  # the image changed: its deck file compiles again
        with sqlite3.connect(db_path) as db:
            stored = [row[0] for row in db.execute("SELECT data FROM media")]
        assert stored == [b"\x89PNG\r\n\x1a\n second, longer"]
