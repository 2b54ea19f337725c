"""A deck file with errors does not stop the morning review: the collection as last compiled is used."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from flashcards.cli import cli

GOOD = "deck: D\nnotes:\n  - id: canary\n    front: What is a canary?\n    back: A small slice first.\n"
BROKEN = "deck: D\nnotes:\n  - id: canary\n    front: What is a canary?\n    bakc: A small slice first.\n"


@pytest.fixture
def broken(write_deck: Callable[..., Path]) -> Path:
    path = write_deck("d.yaml", GOOD)
    assert CliRunner().invoke(cli, ["compile"]).exit_code == 0
    path.write_text(BROKEN)
    return path


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (["status"], "D "),
        (["show", "canary/card"], "What is a canary?"),
        (["stats"], "new"),
        (["review"], "What is a canary?"),
    ],
)
def test_reading_commands_run_on_the_collection_as_last_compiled_and_say_so_first(
    broken: Path, args: list[str], shown: str
) -> None:
    result = CliRunner().invoke(cli, args, input="q\n")
    assert result.exit_code == 0, result.output
    first = result.stderr.splitlines()[0]
    assert first.startswith("warning: ") and ":5: unknown key 'bakc' in a 'basic' note" in first
    assert "d.yaml:5:" in first
    assert "showing the collection as last compiled" in result.stderr
    assert shown in result.stdout


@pytest.mark.parametrize("args", [["check"], ["compile"]])
def test_check_and_compile_still_fail(broken: Path, args: list[str]) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert ":5:5: error: unknown key 'bakc'" in result.stderr


def test_without_a_compiled_collection_the_error_stops_the_command(write_deck: Callable[..., Path]) -> None:
    write_deck("d.yaml", BROKEN)
    result = CliRunner().invoke(cli, ["status"])
    assert result.exit_code == 1 and ":5:5: error: unknown key 'bakc'" in result.stderr
