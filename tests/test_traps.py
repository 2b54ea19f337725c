"""YAML traps a deck author falls into, caught and explained."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from flashcards.cli import cli
from flashcards.compiler import compile_decks
from flashcards.errors import SourceError
from flashcards.render_text import plain

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def check(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["check", *args])
    return result.exit_code, result.stdout, result.stderr


def test_a_comment_after_a_plain_value_is_a_located_warning(write_deck: Callable[..., Path]) -> None:
    path = write_deck(
        "ports.yaml",
        """
        deck: Ports  # comments on keys that are not fields: silent
        notes:
          # a comment on its own line: silent
          - front: Which port does a Service use by default?
            back: Service port 80 # the default
          - front: "Quoted # stays"  # silent: the author quoted the value
            back: |  # silent: the header of a block scalar
              text # inside a block scalar is text
        """,
    )
    code, out, err = check(str(path))
    assert code == 0 and out == "1 file, 2 notes, 2 cards: no problems.\n"
    assert err == (
        f"{path}:5:27: warning: '# the default' after field 'back' is a YAML comment, left out of the card; "
        "if it is part of the text, quote the value (\"...\") or use a block scalar ('|')\n"
    )


def test_a_warning_does_not_hide_an_error_nor_change_its_exit_code(write_deck: Callable[..., Path]) -> None:
    path = write_deck("d.yaml", "deck: D\nnotes:\n  - front: Q # c\n    bakc: A\n")
    code, _, err = check(str(path))
    assert code == 1
    assert f"{path}:3:14: warning: '# c' after field 'front'" in err
    assert f"{path}:4:5: error: unknown key 'bakc'" in err


def test_compile_shows_the_warning_once(
    fresh_db: sqlite_utils.Database, decks: Path, write_deck: Callable[..., Path]
) -> None:
    write_deck("d.yaml", "deck: D\nnotes:\n  - id: q\n    front: Q # c\n    back: A\n")
    assert any(
        "warning: '# c' after field 'front'" in w for w in compile_decks(fresh_db, decks, NOW).warnings
    )
    assert compile_decks(fresh_db, decks, NOW).warnings == []  # unchanged: not read again


def test_a_colon_in_a_plain_value_gets_the_hint_to_quote(write_deck: Callable[..., Path]) -> None:
    path = write_deck("pv.yaml", "deck: D\nnotes:\n  - front: Access mode: RWO\n    back: ReadWriteOnce\n")
    code, _, err = check(str(path))
    assert code == 1
    assert err.startswith(
        f"{path}:3:23: error: YAML syntax: mapping values are not allowed in this context; "
        "a value holding ': ' must be quoted, e.g. front: \"Access mode: RWO\""
    )


@pytest.mark.parametrize(
    ("deck", "message"),
    [
        ("'A ::  B'", "deck name 'A ::  B' has spaces around a part, which Anki drops; write 'A::B'"),
        ("' A'", "deck name ' A' has spaces around a part, which Anki drops; write 'A'"),
        ('"A\\x1fB"', "deck name 'A\\x1fB' has a control character (U+001F)"),
        ("'A::::B'", "deck name 'A::::B' has an empty part between '::'"),
        ("'A::'", "deck name 'A::' has an empty part between '::'"),
    ],
)
def test_deck_names_anki_would_change_are_errors(
    write_deck: Callable[..., Path], deck: str, message: str
) -> None:
    path = write_deck("d.yaml", f"deck: {deck}\nnotes:\n  - front: Q\n    back: A\n")
    code, _, err = check(str(path))
    assert code == 1 and f"{path}:1:7: error: {message}" in err


def test_deck_names_differing_only_in_case_are_errors_at_both_places(
    write_deck: Callable[..., Path], decks: Path
) -> None:
    write_deck("a.yaml", "deck: MLOps::Teams\nnotes:\n  - front: Q\n    back: A\n")
    write_deck("b.yaml", "deck: mlops::Influence\nnotes:\n  - front: R\n    back: B\n")
    code, _, err = check()
    assert code == 1
    assert (
        f"{decks}/a.yaml:1:7: error: deck 'MLOps' differs only in case from 'mlops' (in {decks}/b.yaml)"
        in err
    )
    assert (
        f"{decks}/b.yaml:1:7: error: deck 'mlops' differs only in case from 'MLOps' (in {decks}/a.yaml)"
        in err
    )


def test_a_case_clash_with_a_file_compiled_before_is_an_error(
    fresh_db: sqlite_utils.Database, decks: Path, write_deck: Callable[..., Path]
) -> None:
    write_deck("a.yaml", "deck: Teams\nnotes:\n  - id: q\n    front: Q\n    back: A\n")
    compile_decks(fresh_db, decks, NOW)
    write_deck("b.yaml", "deck: teams\nnotes:\n  - id: r\n    front: R\n    back: B\n")
    with pytest.raises(SourceError) as raised:
        compile_decks(fresh_db, decks, NOW)
    assert "deck 'teams' differs only in case from 'Teams'" in str(raised.value)


def test_a_file_ending_in_upper_case_yaml_is_loaded(
    fresh_db: sqlite_utils.Database, decks: Path, write_deck: Callable[..., Path]
) -> None:
    write_deck("Upper.YAML", "deck: D\nnotes:\n  - id: q\n    front: Q\n    back: A\n")
    write_deck("other.Yml", "deck: D\nnotes:\n  - id: r\n    front: R\n    back: A\n")
    assert check() == (0, "2 files, 2 notes, 2 cards: no problems.\n", "")
    assert compile_decks(fresh_db, decks, NOW).cards.added == 2


@pytest.mark.parametrize(
    ("text", "front", "back"),
    [  # as the README documents it
        ("Use {{c1::std}}::{{c1::vector}} here", "Use [...]::[...] here", "Use std::vector here"),
        ("Close with {{c1::x}} }}", "Close with [...] }}", "Close with x }}"),
        ("Go {{c1::std::hint::with colons}}", "Go [hint::with colons]", "Go std"),
    ],
)
def test_double_colons_and_braces_in_a_cloze_work_as_documented(
    fresh_db: sqlite_utils.Database,
    decks: Path,
    write_deck: Callable[..., Path],
    text: str,
    front: str,
    back: str,
) -> None:
    write_deck("c.yaml", f'deck: D\nnotes:\n  - id: c\n    type: cloze\n    text: "{text}"\n')
    compile_decks(fresh_db, decks, NOW)
    stored_front, stored_back = fresh_db.execute("SELECT front, back FROM cards WHERE id = 'c/c1'").fetchone()
    assert (plain(stored_front), plain(stored_back)) == (front, back)  # as the terminal shows them
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert f"`{text}`" in readme


def test_paths_in_messages_are_printed_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write_deck: Callable[..., Path]
) -> None:
    path = write_deck("d.yaml", "deck: D\nnotes:\n  - front: Q\n    bakc: A\n")
    elsewhere = tmp_path / "work" / "here"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    assert check(str(path))[2].startswith(f"{path}:4:5: error:")  # absolute, not ../../decks/d.yaml
    assert check("../../decks/d.yaml")[2].startswith("../../decks/d.yaml:4:5: error:")
    result = CliRunner().invoke(cli, ["--decks", "../../decks", "compile"])
    assert result.stderr.startswith(f"..{os.sep}..{os.sep}decks{os.sep}d.yaml:4:5: error:")
