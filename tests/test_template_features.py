"""Anki template features on declared types: hint, type, text, Tags, Deck, custom cloze types, reserved names."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from flashcards.answers import compare, plain_comparison
from flashcards.cli import cli
from flashcards.compiler import compile_decks
from tests.conftest import make_controller
from tests.test_idwrite import NOW

DECK = """
deck: Ops::Commands
tags: [k8s]
types:
  command:
    fields: [task, command, clue]
    templates:
      typed:
        front: "{{task}}{{hint:clue}}\\n\\n{{type:command}}"
        back: "{{type:command}}"
  tagged:
    fields: [word, html]
    templates:
      card:
        front: "{{Deck}} ({{Subdeck}}, {{Card}}): {{word}}"
        back: "{{text:html}} · tags: {{Tags}}"
  quote:
    fields: [Text, Source]
    templates:
      cloze:
        front: "{{cloze:Text}}"
        back: "{{cloze:Text}}\\n\\n*{{Source}}*"
notes:
  - id: pods
    type: command
    task: List the pods of a namespace
    command: kubectl get pods -n NAME
    clue: get, plural
  - id: html
    type: tagged
    word: canary
    html: "<b>a small</b> release"
    tags: [deploy]
  - id: q
    type: quote
    Text: "A {{c1::canary}} goes {{c2::first}}."
    Source: The article
"""


@pytest.fixture
def compiled(
    fresh_db: sqlite_utils.Database, decks: Path, write_deck: Callable[..., Path]
) -> sqlite_utils.Database:
    write_deck("ops.yaml", DECK)
    compile_decks(fresh_db, decks, NOW)
    return fresh_db


def card(db: sqlite_utils.Database, card_id: str) -> tuple[str, str]:
    row = db.execute("SELECT front, back FROM cards WHERE id = ?", [card_id]).fetchone()
    return (str(row[0]), str(row[1]))


def test_hint_and_typed_answer_stay_out_of_the_stored_front(compiled: sqlite_utils.Database) -> None:
    assert card(compiled, "pods/typed") == ("List the pods of a namespace", "kubectl get pods -n NAME")


def test_text_tags_deck_subdeck_and_card(compiled: sqlite_utils.Database) -> None:
    assert card(compiled, "html/card") == (
        "Ops::Commands (Commands, card): canary",
        "a small release · tags: k8s deploy",
    )


def test_a_declared_cloze_type_makes_one_card_per_deletion_with_its_own_template(
    compiled: sqlite_utils.Database,
) -> None:
    assert card(compiled, "q/c1") == ("A [...] goes first.", "A {{c1::canary}} goes first.\n\n*The article*")
    assert card(compiled, "q/c2") == ("A canary goes [...].", "A canary goes {{c2::first}}.\n\n*The article*")


def test_the_controller_gives_the_hint_and_compares_a_typed_answer(compiled: sqlite_utils.Database) -> None:
    controller = make_controller(compiled, now=NOW)
    while (shown := controller.card()) is not None and shown.id != "pods/typed":
        controller.bury()
    assert controller.hint().message == "Hint: get, plural"
    assert controller.extras().typed == "kubectl get pods -n NAME"
    controller.type_answer("kubectl get pod -n NAME")
    assert controller.revealed
    assert controller.comparison() == compare("kubectl get pod -n NAME", "kubectl get pods -n NAME")


def test_the_comparison_is_anki_s() -> None:
    assert compare("kubectl", "kubectl") == ((("kubectl", "good"),), ())
    given, wanted = compare("kubctl get pod", "kubectl get pods")
    assert given == (("kub", "good"), ("-", "missing"), ("ctl get pod", "good"), ("-", "missing"))
    assert wanted == (("kub", "good"), ("e", "missing"), ("ctl get pod", "good"), ("s", "missing"))
    assert (
        plain_comparison("kubectl get nodes", "kubectl get pods")
        == "kubectl get [n]od[e]s\n↓\nkubectl get pods"
    )


def test_in_the_terminal_the_user_types_and_sees_the_comparison(
    decks: Path, write_deck: Callable[..., Path]
) -> None:
    write_deck("ops.yaml", DECK)
    keys = "\nh\nt\nkubctl get pods -n NAME\n3\nq\n"  # scripted: a key a line; the typed answer a line
    result = CliRunner().invoke(
        cli, ["review", "--deck", "Ops::Commands"], input=keys, env={"COLUMNS": "100"}
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Type the answer, then Enter" in out
    assert "Hint: get, plural" in out
    assert "kub-ctl get pods -n NAME" in out and "↓\nkubectl get pods -n NAME" in out


def test_a_declared_cloze_type_exports_as_an_anki_cloze_type(compiled: sqlite_utils.Database) -> None:
    from flashcards.model import NoteType
    from flashcards.render_html import anki_model

    row = compiled.execute("SELECT definition FROM note_types WHERE name = 'quote'").fetchone()
    import json

    model = anki_model(NoteType.from_definition(json.loads(row[0])), 1, "quote", "cards_id")
    assert model.model_type == model.CLOZE
    assert model.templates[0]["qfmt"] == "{{cloze:Text}}"


@pytest.mark.parametrize("name", ["Deck", "tags", "FrontSide", "card", "Subdeck"])
def test_a_reserved_field_name_is_one_error_not_one_per_note(
    write_deck: Callable[..., Path], name: str
) -> None:
    notes = "".join(f"  - {{id: n{n}, type: t, word: w{n}}}\n" for n in range(3))
    path = write_deck(
        "r.yaml",
        f"deck: D\ntypes:\n  t:\n    fields: [word, {name}]\n    templates:\n      c: {{front: '{{{{word}}}}', back: '{{{{word}}}}'}}\nnotes:\n{notes}",
    )
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == 1
    assert result.stderr.count("error:") == 1, result.stderr
    assert f"{path}:4:20: error: '{name}' is reserved" in result.stderr


def test_an_unknown_filter_is_a_located_error(write_deck: Callable[..., Path]) -> None:
    path = write_deck(
        "f.yaml",
        "deck: D\ntypes:\n  t:\n    fields: [w]\n    templates:\n      c: {front: '{{furigana:w}}', back: '{{w}}'}\nnotes: []\n",
    )
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == 1
    assert (
        "filter 'furigana' is not supported (only 'hint:', 'type:', 'text:', 'cloze:', one per field)"
        in result.stderr
    )


def test_typing_an_answer_in_a_real_terminal(
    decks: Path, write_deck: Callable[..., Path], tmp_path: Path
) -> None:
    import os
    import sys

    import pexpect

    write_deck("ops.yaml", DECK)
    env = {**os.environ, "CARDS_NOW": "2026-11-27T09:00:00+00:00", "TERM": "xterm", "COLUMNS": "100"}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "flashcards", "review", "--deck", "Ops::Commands"],
        env=env,
        encoding="utf-8",
        dimensions=(30, 100),
        timeout=20,
    )
    child.expect("Type the answer")
    child.sendline("kubectl get pod -n NAME")  # echoed, and Enter is needed, as for any typed text
    child.expect(r"kubectl get pod(\x1b\[[0-9;]*m)*-")  # the missing 's', in its own colour
    child.expect("↓")
    child.send("3")  # the keys act at once again
    child.expect("canary")
    child.send("q")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_hint_typed_answer_and_a_declared_cloze_type_work_in_real_anki(
    compiled: sqlite_utils.Database, tmp_path: Path
) -> None:
    from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest

    from flashcards.export import ID_FIELD, export_package

    package = tmp_path / "ops.apkg"
    export_package(compiled, package)
    (tmp_path / "anki").mkdir()
    anki = Collection(str(tmp_path / "anki" / "collection.anki2"))
    try:
        anki.import_anki_package(
            ImportAnkiPackageRequest(package_path=str(package), options=ImportAnkiPackageOptions())
        )

        def card_of(note_id: str, ordinal: int = 0) -> object:
            ids = anki.find_cards(f'"{ID_FIELD}:{note_id}"')
            return next(c for c in map(anki.get_card, ids) if c.ord == ordinal)

        typed = card_of("pods")
        question, answer = typed.question(), typed.answer()  # type: ignore[attr-defined]
        assert "List the pods of a namespace" in question
        assert "class=hint" in question and "get, plural" in question  # Anki's hint link
        assert "[[type:command]]" in question  # where Anki's reviewer puts the box to type in
        assert "kubectl get pods -n NAME" in answer
        first = card_of("q", 0)
        second = card_of("q", 1)
        assert ">[...]</span> goes <span" in first.question()  # type: ignore[attr-defined]
        assert ">canary</span> goes <span" in second.question()  # type: ignore[attr-defined]
        assert ">[...]</span>." in second.question()  # type: ignore[attr-defined]
        assert "<em>" in first.answer() and "The article" in first.answer()  # type: ignore[attr-defined]
    finally:
        anki.close()
