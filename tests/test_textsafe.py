"""Control characters from decks are shown, never obeyed, in every command's output."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from flashcards.cli import cli
from flashcards.textsafe import json_text, visible

# Window title, screen clear, clipboard write (OSC 52), an 8-bit CSI, DEL, a carriage return.
HOSTILE = "\x1b]0;PWNED\x07 \x1b[2J \x1b]52;c;cHduZWQ=\x07 \x9b2J \x7f \r"
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")

DECK = r"""
deck: "Deck"
tags: ["t\x1b[2J"]
notes:
  - id: evil
    front: "front \x1b]52;c;cHduZWQ=\x07 \x9b2J"
    back: "back \x1b[2J \x7f \r"
"""


def test_visible_escapes_controls_but_newline_and_tab() -> None:
    assert visible(HOSTILE) == r"\x1b]0;PWNED\x07 \x1b[2J \x1b]52;c;cHduZWQ=\x07 \x9b2J \x7f \x0d"
    assert visible("line one\n\tline two, café, 日本, 🙂") == "line one\n\tline two, café, 日本, 🙂"
    assert visible("\x00\udc80") == r"\x00\udc80"


def test_json_text_is_the_same_json_with_no_raw_control() -> None:
    data = {"text": HOSTILE + "é\u2028", "n": [1, None]}
    text = json_text(data)
    assert json.loads(text) == data
    assert not RAW.search(text)
    assert "é" in text


@pytest.mark.parametrize(
    "command",
    [
        ["list"],
        ["show", "evil"],
        ["status"],
        ["stats"],
        ["list", "--json"],
        ["show", "evil", "--json"],
        ["status", "--json"],
        ["stats", "--json"],
    ],
)
def test_commands_print_deck_text_inert(
    write_deck: Callable[..., Path], command: list[str], db_path: Path
) -> None:
    write_deck("evil.yaml", DECK)
    assert CliRunner().invoke(cli, ["compile"]).exit_code == 0
    with sqlite3.connect(
        db_path
    ) as db:  # a deck name a deck file can no longer give (an older version took it)
        db.execute("UPDATE cards SET deck = 'Deck ' || char(27) || ']0;PWNED' || char(7)")
        db.execute("UPDATE notes SET deck = 'Deck ' || char(27) || ']0;PWNED' || char(7)")
    result = CliRunner().invoke(cli, command)
    assert result.exit_code == 0, result.output
    assert not RAW.search(result.stdout.replace("\n", "").replace("\t", ""))
    if "--json" not in command and command != ["stats"]:
        assert r"\x1b" in result.stdout


def test_check_messages_are_inert(write_deck: Callable[..., Path]) -> None:
    write_deck("evil.yaml", 'deck: D\nnotes:\n  - front: q\n    "\\x1b]0;T\\x07": x\n')
    result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code == 1
    assert r"unknown key '\x1b]0;T\x07'" in result.stderr
    assert not RAW.search(result.stderr.replace("\n", ""))
