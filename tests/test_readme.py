"""The README's set-up commands are the ones CI runs."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from flashcards.compiler import check_paths, compile_decks
from tests.conftest import BUNDLED_DECKS, REPO


def setup_commands() -> list[str]:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Set-up\n.*?```sh\n(.*?)```", readme, re.DOTALL)
    assert block, "README has no Set-up block"
    return [line for line in block.group(1).splitlines() if line and not line.startswith("#")]


def test_readme_has_two_setup_commands() -> None:
    commands = setup_commands()
    assert len(commands) == 2
    assert commands[0].endswith("cards review")
    assert commands[1].endswith("pytest")


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert setup_commands()[1] in ci.splitlines()


def test_the_readme_deck_example_checks_clean_without_a_warning(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from flashcards.cli import cli

    path = tmp_path / "example.yaml"
    path.write_text(readme_deck_example(), encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == "1 file, 4 notes, 8 cards: no problems.\n"


def readme_deck_example() -> str:
    """The YAML example of the README's deck format section."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## The deck format\n.*?```yaml\n(.*?)```", readme, re.DOTALL)
    assert block, "README has no deck example"
    return block.group(1)


def test_the_readme_types_yaml_example_is_shared_by_a_deck_file(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from flashcards.cli import cli

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n# decks/types.yaml\n(.*?)```", readme, re.DOTALL)
    assert block
    decks = tmp_path / "decks"
    (decks / "types.yaml").write_text(block.group(1), encoding="utf-8")
    (decks / "terms.yaml").write_text(
        "deck: Terms\nnotes:\n  - {id: t1, type: term, term: canary, meaning: a small release}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["--decks", str(decks), "check"])
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == "2 files, 1 notes, 1 cards: no problems.\n"  # no example: no example card


def test_the_quickstart_figures_are_those_of_the_bundled_decks(fresh_db: sqlite_utils.Database) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    quickstart = readme[readme.index("## Quickstart") : readme.index("## The deck format")]
    files, _ = check_paths([BUNDLED_DECKS])
    notes = sum(len(f.notes) for f in files)
    cards = sum(len(n.cards) for f in files for n in f.notes)
    assert f"{len(files)} files, {notes} notes, {cards} cards: no problems." in quickstart
    assert f"notes: {notes} added, 0 updated, 0 retired, 0 unchanged" in quickstart
    assert f"cards: {cards} added, 0 updated, 0 retired, 0 unchanged" in quickstart
    compile_decks(fresh_db, BUNDLED_DECKS, datetime(2026, 11, 27, tzinfo=UTC))
    decks = sorted(row[0] for row in fresh_db.execute("SELECT DISTINCT deck FROM cards"))
    table = re.search(r"\$ cards status\n(.*?)\$ cards review", quickstart, re.DOTALL)
    assert table
    assert [line.split("  ")[0] for line in table.group(1).splitlines()[1:-1]] == decks
