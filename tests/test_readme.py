"""The README's set-up commands are the ones CI runs."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import REPO


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
