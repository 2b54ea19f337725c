"""The JSON Schema of the deck format: valid itself, passes every bundled deck and the README's examples."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from flashcards.cli import cli
from flashcards.schema import deck_schema
from tests.conftest import BUNDLED_DECKS, REPO


def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(CliRunner().invoke(cli, ["schema"]).stdout)  # what users save
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema == deck_schema()
    return jsonschema.Draft202012Validator(schema)


def errors(document: Any) -> list[str]:
    return [error.message for error in validator().iter_errors(document)]


@pytest.mark.parametrize("path", sorted(BUNDLED_DECKS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_bundled_deck_passes(path: Path) -> None:
    assert errors(yaml.safe_load(path.read_text(encoding="utf-8"))) == []


def test_the_readme_examples_pass() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", readme, re.DOTALL)
    assert len(blocks) >= 2
    for block in blocks:
        assert errors(yaml.safe_load(block)) == [], block


def test_the_readme_documents_the_editor_line() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "# yaml-language-server: $schema=" in readme and "cards schema > " in readme


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("deck: D\nnotes:\n  - front: q\n    bakc: a\n", "'bakc'"),
        ("deck: D\nnotes:\n  - type: cloze\n    front: q\n", "'front'"),
        ("deck: D\norder: first\nnotes: []\n", "'first' is not of type 'integer'"),
        ("deck: D\nnote: []\n", "'note'"),
        (
            "deck: D\ntypes: {t: {fields: [a], templates: {c: {front: '{{a}}'}}}}\nnotes: []\n",
            "'back' is a required property",
        ),
        ("types: {}\nnotes: []\n", "is not valid under any of the given schemas"),
    ],
)
def test_mistakes_are_flagged(text: str, found: str) -> None:
    assert any(found in message for message in errors(yaml.safe_load(text))), errors(yaml.safe_load(text))


def test_a_types_file_and_a_declared_type_s_note_pass() -> None:
    assert (
        errors(
            yaml.safe_load(
                "types:\n  t:\n    fields: [a, {name: b, renamed_from: c}]\n    templates:\n      x: {front: '{{a}}', back: '{{b}}', renamed_from: y}\n"
            )
        )
        == []
    )
    assert (
        errors(yaml.safe_load("deck: D\norder: -2\nnotes:\n  - {type: t, a: 1, b: yes, tags: [x]}\n")) == []
    )


def test_a_rehearsal_note_needs_its_points_as_a_list() -> None:
    note = {"type": "rehearsal", "prompt": "Tell me about a time…", "time": "2m"}
    document = {"deck": "Prep", "notes": [{**note, "points": ["Situation", "Result"], "covers": [[], "x"]}]}
    assert errors(document) == []
    assert errors({"deck": "Prep", "notes": [note]})  # no points
    assert errors({"deck": "Prep", "notes": [{**note, "points": "Situation"}]})  # not a list
    assert errors({"deck": "Prep", "notes": [{"front": "Q", "points": ["a"]}]})  # not on a basic note
