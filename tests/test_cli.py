"""The command line: help, exit codes, located errors, JSON contracts."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from flashcards import __version__
from flashcards.cli import COMMANDS, cli
from tests.conftest import REPO

DECK = """
deck: Interview::Basics
tags: [mlops]
notes:
  - id: canary
    front: What is a *canary* deployment?
    back: A release to a small slice of traffic first.
  - type: cloze
    text: "Canary limits the {{c1::blast radius}}."
"""


def run(*args: str) -> tuple[int, str, str]:
    runner = CliRunner()
    result = runner.invoke(cli, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_version() -> None:
    assert run("--version") == (0, f"cards, version {__version__}\n", "")


@pytest.mark.parametrize("name", [name for name in COMMANDS if cli.get_command(None, name)])  # type: ignore[arg-type]
def test_every_command_has_help_and_a_readme_section(name: str) -> None:
    code, out, _ = run(name, "--help")
    assert code == 0
    assert f"Usage: cli {name}" in out or f"Usage: cards {name}" in out
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert re.search(rf"^### `cards {name}", readme, re.MULTILINE), f"README has no section for cards {name}"


def test_check_reports_located_errors_and_exits_1(write_deck: Callable[..., Path], decks: Path) -> None:
    write_deck("bad.yaml", "deck: D\nnotes:\n  - front: a\n    bakc: b\n")
    code, out, err = run("check")
    assert code == 1
    assert out == ""
    lines = err.splitlines()
    assert re.fullmatch(
        r".*bad\.yaml:4:5: error: unknown key 'bakc' in a 'basic' note; did you mean 'back'\?", lines[0]
    )
    assert lines[-1] == "1 error; nothing was changed."


def test_check_clean_prints_a_summary(write_deck: Callable[..., Path]) -> None:
    write_deck("good.yaml", DECK)
    assert run("check") == (0, "1 file, 2 notes, 2 cards: no problems.\n", "")


def test_check_writes_nothing(write_deck: Callable[..., Path], db_path: Path) -> None:
    write_deck("good.yaml", DECK)
    run("check")
    assert not db_path.exists()


def test_compile_twice_then_everything_is_unchanged(write_deck: Callable[..., Path]) -> None:
    write_deck("good.yaml", DECK)
    code, out, _ = run("compile")
    assert code == 0
    assert out.splitlines() == [
        "notes: 2 added, 0 updated, 0 retired, 0 unchanged",
        "cards: 2 added, 0 updated, 0 retired, 0 unchanged",
    ]
    code, out, _ = run("compile", "--json")
    assert json.loads(out)["cards"] == {"added": 0, "updated": 0, "retired": 0, "restored": 0, "unchanged": 2}


def test_compile_with_an_invalid_deck_exits_1(write_deck: Callable[..., Path], db_path: Path) -> None:
    write_deck("good.yaml", DECK)
    run("compile")
    write_deck("good.yaml", DECK.replace("id: canary", "id: [canary]"))
    code, out, err = run("compile")
    assert (code, out) == (1, "")
    assert "good.yaml:4:9: error: 'id' must be text, not a list\n" in err


def test_list_json_and_show_json_contract(write_deck: Callable[..., Path]) -> None:
    write_deck("good.yaml", DECK)
    code, out, _ = run("list", "--json")
    assert code == 0
    cards = json.loads(out)
    assert [c["id"] for c in cards] == ["canary/card", "cloze:canary-limits-the-blast-radius/c1"]
    assert {"id", "deck", "front", "back"} <= set(cards[0])
    code, out, _ = run("show", "canary/card", "--json")
    assert code == 0
    card = json.loads(out)
    assert card["source"].endswith("good.yaml:4")
    assert card["note_id"] == "canary"
    assert card["front"] == "What is a *canary* deployment?"
    assert card["state"] == "new"
    assert card["reviews"] == []
    for key in ("id", "deck", "due", "stability", "difficulty", "back"):
        assert key in card


def test_list_filters_by_deck_with_subdecks(write_deck: Callable[..., Path]) -> None:
    write_deck("good.yaml", DECK)
    write_deck("other.yaml", "deck: Interviewing\nnotes:\n  - {id: x, front: a, back: b}\n")
    ids = [c["id"] for c in json.loads(run("list", "--deck", "Interview", "--json")[1])]
    assert ids == ["canary/card", "cloze:canary-limits-the-blast-radius/c1"]


def test_show_unknown_card_is_a_clean_error(write_deck: Callable[..., Path]) -> None:
    write_deck("good.yaml", DECK)
    code, _, err = run("show", "nope")
    assert code == 1
    assert err == "error: no card 'nope'; `cards list` shows the ids\n"


def test_usage_error_exits_2() -> None:
    code, _, err = run("list", "--no-such-option")
    assert code == 2
    assert "No such option" in err


def test_installed_entry_point_runs_without_traceback(
    tmp_path: Path, write_deck: Callable[..., Path]
) -> None:
    write_deck("good.yaml", DECK)
    result = subprocess.run(
        [sys.executable, "-m", "flashcards", "show", "missing"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr == "error: no card 'missing'; `cards list` shows the ids\n"


def test_unreadable_collection_is_a_clean_error(tmp_path: Path, write_deck: Callable[..., Path]) -> None:
    write_deck("good.yaml", DECK)
    bogus = tmp_path / "not-a-db.db"
    bogus.write_bytes(b"this is not sqlite" * 100)
    code, _, err = run("--db", str(bogus), "list")
    assert code == 1
    assert err.startswith(f"error: {bogus}: not a usable cards collection")


def test_fitted_parameters_are_used_by_review_and_rebuild(
    write_deck: Callable[..., Path], db_path: Path
) -> None:
    import sqlite_utils

    from flashcards.simulate import TRUE_PARAMETERS

    write_deck("good.yaml", DECK)
    run("compile")
    db = sqlite_utils.Database(db_path)
    db.execute(
        "INSERT INTO parameters(preset, parameters, created_at, reviews, log_loss, rmse, active) "
        "VALUES ('', ?, '2026-11-27T09:00:00.000000+00:00', 1000, 0.3, 0.01, 1)",
        [json.dumps(list(TRUE_PARAMETERS))],
    )
    db.conn.commit()
    runner = CliRunner()
    result = runner.invoke(cli, ["review", "--limit", "1"], input="\n3\nq\n")
    assert result.exit_code == 0, result.output
    card = json.loads(run("show", "canary/card", "--json")[1])
    assert card["stability"] == pytest.approx(TRUE_PARAMETERS[2])  # Good on a new card: S0 = w2
    assert run("rebuild", "--check")[0] == 0


def test_review_and_status_without_cards_say_what_to_do(decks: Path) -> None:
    expected = f"No cards yet: write a deck file under {decks}/ (`cards check` validates it), then run cards again.\n"
    assert run("review") == (0, expected, "")
    assert run() == (0, expected, "")
    decks.rmdir()
    code, out, _ = run("review")
    assert (code, out) == (
        0,
        f"No cards yet, and no decks directory at {decks}: pass --decks DIR or set $CARDS_DECKS.\n",
    )


def test_list_shows_fronts_without_markdown_emphasis(write_deck: Callable[..., Path]) -> None:
    write_deck("good.yaml", DECK + "  - {id: math, front: 'Is **3 * 4** `12`?', back: 'yes'}\n")
    code, out, _ = run("list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].endswith("new         What is a canary deployment?")
    assert lines[2].endswith("new         Is 3 * 4 12?")
    assert lines[-1] == "3 cards"


def test_invalid_settings_stop_every_command_before_anything_is_written(
    write_deck: Callable[..., Path], decks: Path, db_path: Path
) -> None:
    write_deck("good.yaml", DECK)
    run("compile")
    write_deck("extra.yaml", "deck: Extra\nnotes:\n  - {id: extra, front: a, back: b}\n")
    (decks.parent / "cards.toml").write_text("new_per_dya = 3\n", encoding="utf-8")
    for command in (["status"], ["review"], ["list"], ["export"], ["stats"], ["rebuild"]):
        code, _, err = run(*command)
        assert code == 1, command
        assert "cards.toml:1:1: error: unknown setting 'new_per_dya'; did you mean 'new_per_day'?" in err
    import sqlite_utils

    assert (
        sqlite_utils.Database(db_path).execute("SELECT count(*) FROM notes WHERE id = 'extra'").fetchone()[0]
        == 0
    )


def test_settings_file_not_utf8_is_located(write_deck: Callable[..., Path], decks: Path) -> None:
    write_deck("good.yaml", DECK)
    (decks.parent / "cards.toml").write_bytes(b"new_per_day = 5\n# caf\xe9\n")
    code, _, err = run("status")
    assert code == 1
    assert "cards.toml:2:6: error: file is not UTF-8 (byte 0xe9); save it as UTF-8" in err


def test_rebuild_check_does_not_compile(write_deck: Callable[..., Path], db_path: Path) -> None:
    import sqlite_utils

    write_deck("good.yaml", DECK)
    run("compile")
    write_deck("extra.yaml", "deck: Extra\nnotes:\n  - {id: extra, front: a, back: b}\n")
    assert run("rebuild", "--check")[0] == 0
    assert sqlite_utils.Database(db_path).execute("SELECT count(*) FROM notes").fetchone()[0] == 2


def test_decks_path_that_is_a_file_is_a_clear_error(write_deck: Callable[..., Path]) -> None:
    path = write_deck("good.yaml", DECK)
    for command in (["--decks", str(path), "compile"], ["--decks", str(path), "status"]):
        code, _, err = run(*command)
        assert code == 1
        assert err.startswith(f"error: --decks {path} is a file;")


def test_missing_decks_directory_warns_when_showing_an_old_collection(
    write_deck: Callable[..., Path], tmp_path: Path
) -> None:
    write_deck("good.yaml", DECK)
    run("compile")
    code, out, err = run("--decks", str(tmp_path / "typo"), "list")
    assert code == 0
    assert "canary/card" in out
    assert err.startswith(f"warning: no decks directory at {tmp_path / 'typo'};")


def test_unknown_deck_in_list_and_export(write_deck: Callable[..., Path]) -> None:
    write_deck("good.yaml", DECK)
    for command in ("list", "export"):
        code, _, err = run(command, "--deck", "Nope")
        assert (code, err) == (1, "error: no deck named 'Nope'; `cards status` lists the decks\n")


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (sqlite3.OperationalError("attempt to write a readonly database"), "is read-only"),
        (sqlite3.OperationalError("database is locked"), "is busy: another cards process holds it"),
        (sqlite3.DatabaseError("database disk image is malformed"), "is damaged"),
    ],
)
def test_database_errors_say_what_to_do(
    write_deck: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, error: Exception, message: str
) -> None:
    from flashcards import listing

    write_deck("good.yaml", DECK)

    def fail(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(listing, "list_cards", fail)
    monkeypatch.setattr("flashcards.cli.list_cmd.list_cards", fail)
    code, _, err = run("list")
    assert code == 1
    assert message in err and err.startswith("error: ")


def test_deck_names_compare_exactly(write_deck: Callable[..., Path]) -> None:
    write_deck("good.yaml", DECK)
    assert run("list", "--deck", "interview")[0] == 1  # 'Interview::Basics' is not below 'interview'
    ids = [c["id"] for c in json.loads(run("list", "--deck", "Interview", "--json")[1])]
    assert len(ids) == 2


HEAVY_MODULES = (
    "yaml",
    "fsrs",
    "fsrs_rs_python",
    "genanki",
    "rich",
    "markdown_it",
    "sqlite_utils",
    "dateutil",
)
REPORT_MODULES = """
import json, sys
from flashcards.cli import main
sys.argv = ["cards", *sys.argv[1:]]
try:
    main()
finally:
    loaded = sorted({name.split(".")[0] for name in sys.modules})
    print(json.dumps(loaded), file=sys.stderr)
"""


@pytest.mark.parametrize("command", [[], ["status"], ["status", "--json"]])
def test_status_imports_no_heavy_module(write_deck: Callable[..., Path], command: list[str]) -> None:
    """Heavy modules are imported inside the functions that need them, so start-up stays fast."""
    write_deck("good.yaml", DECK)
    assert run("compile")[0] == 0  # compiling changed files needs yaml; an unchanged start does not
    result = subprocess.run(
        [sys.executable, "-c", REPORT_MODULES, *command], capture_output=True, text=True, check=True
    )
    loaded = json.loads(result.stderr.splitlines()[-1])
    assert "click" in loaded and "flashcards" in loaded
    assert [name for name in HEAVY_MODULES if name in loaded] == []


def test_hostile_numbers_and_devices_are_clean_errors(write_deck: Callable[..., Path], db_path: Path) -> None:
    pipe = db_path.parent / "pipe.yaml"
    os.mkfifo(pipe)
    for path in ("/dev/zero", str(pipe)):
        # under a memory limit and a timeout, so reading /dev/zero or waiting on the pipe fails fast
        script = (
            "import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30)); "
            "from flashcards.cli import main; sys.argv = ['cards', 'check', sys.argv[1]]; main()"
        )
        result = subprocess.run(
            [sys.executable, "-c", script, path], capture_output=True, text=True, timeout=30, check=False
        )
        assert result.returncode == 1
        assert result.stderr.endswith(
            ":1:1: error: not a regular file; a deck file is a YAML file on disk (not a device or pipe)\n"
            "1 error; nothing was changed.\n"
        )
    write_deck("big.yaml", 'deck: D\nnotes:\n  - type: cloze\n    text: "{{c99999999999999999999::b}}"\n')
    for command in ("check", "compile"):
        code, _, err = run(command)
        assert code == 1
        assert "big.yaml:4:11: error: cloze number 'c999999999999…' is too large" in err
    assert not db_path.exists()


@pytest.mark.parametrize("command", ["review", "list", "stats", "export", "optimize"])
@pytest.mark.parametrize("deck", ["", "  "])
def test_an_empty_deck_is_a_usage_error_for_every_command(
    write_deck: Callable[..., Path], command: str, deck: str
) -> None:
    write_deck("good.yaml", DECK)
    code, out, err = run(command, "--deck", deck)
    assert code == 2
    assert "the deck name is empty; leave --deck out to use every deck" in err
    assert out == ""


def test_every_deck_option_is_checked() -> None:
    from flashcards.cli import DECK_NAME

    group_context = cli.make_context("cards", [], resilient_parsing=True)
    with_deck = []
    for name in COMMANDS:
        command = cli.get_command(group_context, name)
        assert command is not None
        for param in command.params:
            if param.name == "deck":
                assert param.type is DECK_NAME, name
                with_deck.append(name)
    assert {"review", "list", "stats", "export", "optimize"} <= set(with_deck)
