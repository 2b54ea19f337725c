"""The review session end to end: real keystrokes in a pseudo-terminal, and scripted input.

A few sessions run the installed command in a pseudo-terminal; the rest run the command
in-process (click's runner) with scripted input, one key per line, as a pipe gives it.
"""

from __future__ import annotations

import io
import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pexpect
import pytest
from click.testing import CliRunner
from rich.console import Console

from flashcards import clock, scheduler, store
from flashcards.cli import cli
from flashcards.collection import Collection
from flashcards.controller import ReviewController
from flashcards.session import Keys, Session, print_summary
from flashcards.settings import Settings
from flashcards.states import Rating

DECK = """
deck: Interview::Basics
notes:
  - front: What is a **canary** deployment?
    back: A release to a small slice of traffic first.
  - type: reversed
    front: Shadow deployment
    back: Live traffic copied to a new model, never served.
  - front: What is drift?
    back: The data changes under the model.
"""
NOW = "2026-11-27T09:00:00+00:00"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture
def env(write_deck: Callable[..., Path], tmp_path: Path) -> dict[str, str]:
    write_deck("basics.yaml", DECK)
    # exact intervals, and a wait offered for a learning card (no learn-ahead): the keys are tested here
    (tmp_path / "cards.toml").write_text(
        "enable_fuzzing = false\nlearn_ahead_minutes = 0\n", encoding="utf-8"
    )
    return {**os.environ, "CARDS_NOW": NOW, "TERM": "xterm", "COLUMNS": "100"}


def spawn(env: dict[str, str], *args: str) -> pexpect.spawn:
    return pexpect.spawn(
        sys.executable,
        ["-m", "flashcards", *args],
        env=env,
        encoding="utf-8",
        dimensions=(30, 100),
        timeout=20,
    )


def run(env: dict[str, str], keys: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``cards ARGS`` in-process with ``keys`` on standard input (not a terminal)."""
    result = CliRunner().invoke(cli, list(args), input=keys, env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(list(args), result.exit_code, result.stdout, result.stderr)


def rows(db_path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db_path) as db:
        return db.execute(sql).fetchall()


def test_review_in_a_terminal_with_single_keys(env: dict[str, str], db_path: Path) -> None:
    child = spawn(env, "review")
    child.expect("3 new")  # one card per note: answering one buries its siblings
    child.expect("canary")
    child.send(" ")
    child.expect("small slice")
    child.expect(r"Good\S* \S*10m")
    child.send("3")  # Good, no Enter
    child.expect("Shadow deployment")
    child.send("\r")
    child.expect("Live traffic")
    child.send("1")  # Again
    child.expect("drift")
    child.send("u")  # undo the Again: the shadow card comes back
    child.expect("Undid the answer")
    child.expect("Shadow deployment")
    child.send(" ")
    child.send("4")  # Easy this time
    child.expect("drift")
    child.send("?")
    child.expect("undo the last answer")
    child.send("x")  # any key goes back
    child.expect("drift")
    child.send("s")  # bury
    child.expect("Buried until tomorrow")
    child.expect("Next learning card in 10m 00s")  # only learning cards remain: wait or stop
    child.send("q")
    child.expect("Reviewed 2 cards, 0 Again")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    log = rows(db_path, "SELECT card_id, rating FROM reviews ORDER BY id")
    assert log == [("basic:what-is-a-canary-deployment/card", 3), ("reversed:shadow-deployment/card", 4)]
    cards = dict(rows(db_path, "SELECT id, buried_until FROM cards"))
    assert cards["basic:what-is-drift/card"] == "2026-11-28T04:00:00.000000+00:00"
    assert cards["reversed:shadow-deployment/reverse"] == "2026-11-28T04:00:00.000000+00:00"
    assert rows(db_path, "SELECT state, reps FROM cards WHERE id = 'reversed:shadow-deployment/card'") == [
        (2, 1)
    ]


def test_keys_typed_together_all_count_and_arrows_are_ignored(env: dict[str, str], db_path: Path) -> None:
    child = spawn(env, "review")
    child.expect("canary")
    child.send("\x1b[A")  # an arrow key does nothing
    child.send(" 3")  # reveal and answer in one burst
    child.expect("Shadow deployment")
    child.send("q")
    child.expect(pexpect.EOF)
    child.close()
    assert rows(db_path, "SELECT rating FROM reviews") == [(3,)]


def test_ctrl_c_quits_cleanly_and_restores_the_terminal(env: dict[str, str], db_path: Path) -> None:
    child = spawn(env, "review")
    child.expect("canary")
    child.send(" ")
    child.expect("small slice")
    child.send("2")
    child.expect("Shadow")
    child.sendintr()
    child.expect("Reviewed 1 card")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "Traceback" not in (child.before or "")
    assert rows(db_path, "SELECT rating FROM reviews") == [(2,)]


def test_scripted_session_reads_one_key_per_line(env: dict[str, str], db_path: Path) -> None:
    result = run(env, "\n3\n\n1\n\n4\n\n3\n", "review")
    assert result.returncode == 0, result.stderr
    out = ANSI.sub("", result.stdout)
    labels = re.findall(r"1 Again 1m    2 Hard 6m    3 Good 10m    4 Easy (\d+)d", out)
    assert len(labels) == 3
    assert f"Easy: next in {labels[2]}d" in out  # the label is the interval the answer gives
    assert "Reviewed 3 cards, 1 Again; retention —" in out
    assert "Next learning card at 09:01 (in 1m 00s)." in out
    assert rows(db_path, "SELECT rating, duration_ms <= 60000 FROM reviews ORDER BY id") == [
        (3, 1),
        (1, 1),
        (4, 1),
    ]


def test_waiting_for_a_learning_card_under_a_fixed_clock(env: dict[str, str], db_path: Path) -> None:
    result = run(env, "\n1\ns\ns\ns\nw\n\n3\nq\n", "review")
    out = ANSI.sub("", result.stdout)
    assert "Nothing else is due now. Next learning card in 1m 00s. w wait for it, q stop." in out
    assert out.count("What is a canary deployment?") == 4  # front and answer, twice
    assert rows(db_path, "SELECT rating, reviewed_at FROM reviews ORDER BY id") == [
        (1, "2026-11-27T09:00:00.000000+00:00"),
        (3, "2026-11-27T09:01:00.000000+00:00"),
    ]


def test_leech_is_announced(env: dict[str, str], decks: Path, db_path: Path) -> None:
    (decks.parent / "cards.toml").write_text(
        "leech_threshold = 1\nenable_fuzzing = false\n", encoding="utf-8"
    )
    run(env, "\n4\nq\n", "review")
    later = {**env, "CARDS_NOW": "2026-12-30T09:00:00+00:00"}
    out = ANSI.sub("", run(later, "\n1\nq\n", "review", "--new", "0").stdout)
    assert "This card is a leech (1 lapses): it is suspended" in out
    assert "Leech suspended: basic:what-is-a-canary-deployment/card" in out
    assert rows(db_path, "SELECT leech, suspended FROM cards WHERE lapses = 1") == [(1, 1)]


def test_edit_opens_the_yaml_at_the_line_and_recompiles(
    env: dict[str, str], decks: Path, tmp_path: Path
) -> None:
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import sys, pathlib\n"
        "line, path = sys.argv[1], pathlib.Path(sys.argv[2])\n"
        "pathlib.Path(sys.argv[0]).with_suffix('.args').write_text(line + ' ' + path.name)\n"
        "path.write_text(path.read_text().replace('small slice', 'tiny slice'))\n",
        encoding="utf-8",
    )
    env = {**env, "EDITOR": f"{sys.executable} {editor}"}
    out = ANSI.sub("", run(env, "e\n\nq\n", "review").stdout)
    assert editor.with_suffix(".args").read_text() == "+3 basics.yaml"
    assert "Recompiled." in out
    assert "tiny slice" in out


def test_status_before_and_after_and_bare_cards(env: dict[str, str]) -> None:
    before = run(env, "", "status", "--json")
    assert json.loads(before.stdout)["decks"] == [
        {"deck": "Interview::Basics", "new": 3, "learning": 0, "review": 0, "next_learning": None}
    ]
    run(env, "\n3\nq\n", "review")
    text = run(env, "", "status").stdout
    assert [line.split() for line in text.splitlines()[:3]] == [
        ["Deck", "New", "Learn", "Due"],
        ["Interview::Basics", "2", "1", "0"],
        ["Total", "2", "1", "0"],
    ]
    assert "Next learning card at 09:10 (in 10m 00s)." in text
    assert run(env, "").stdout == text


def test_show_json_has_reviews_and_state(env: dict[str, str]) -> None:
    run(env, "\n3\nq\n", "review")
    shown = json.loads(run(env, "", "show", "basic:what-is-a-canary-deployment/card", "--json").stdout)
    assert [(r["rating"], r["reviewed_at"]) for r in shown["reviews"]] == [
        (3, "2026-11-27T09:00:00.000000+00:00")
    ]
    assert shown["due"].startswith("2026-11-27T09:10:00")
    assert shown["stability"] > 0


def test_rebuild_and_check(env: dict[str, str], db_path: Path) -> None:
    run(env, "\n3\n\n1\nq\n", "review")
    with sqlite3.connect(db_path) as db:
        db.execute("UPDATE cards SET stability = 42 WHERE reps > 0")
    check = run(env, "", "rebuild", "--check")
    assert check.returncode == 1
    assert "2 differ from the log" in check.stdout
    assert run(env, "", "rebuild").stdout == "Replayed 2 reviews over 4 cards; 2 cards updated.\n"
    assert run(env, "", "rebuild", "--check").returncode == 0


def test_unknown_deck_is_a_clean_error(env: dict[str, str]) -> None:
    result = run(env, "", "review", "--deck", "Nope")
    assert result.returncode == 1
    assert result.stderr == "error: no deck named 'Nope'; `cards status` lists the decks\n"


def test_new_option_shows_n_new_cards_after_the_daily_limit(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "cards.toml").write_text("new_per_day = 1\nlearn_ahead_minutes = 0\n", encoding="utf-8")
    assert "Reviewed 1 card," in run(env, "\n3\n\n3\n", "review").stdout
    assert "No cards reviewed." in run(env, "\n3\n", "review").stdout
    result = run(env, "\n3\n\n3\n\n3\nq\n", "review", "--new", "2")
    assert result.returncode == 0, result.stderr
    assert "Reviewed 2 cards, 0 Again" in ANSI.sub("", result.stdout)


class AnsweredElsewhere(io.StringIO):
    """Scripted keys; before the ``u`` line, another session answers the card again."""

    def __init__(self, text: str, db_path: Path) -> None:
        super().__init__(text)
        self.db_path = db_path

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        line = super().readline()
        if line == "u\n":
            other = store.open_collection(self.db_path)
            card_id = other.execute("SELECT card_id FROM reviews").fetchone()[0]
            scheduler.answer(other, card_id, Rating.GOOD, clock.now(), 1000, Settings())
        return line


def test_a_failed_undo_is_shown_and_the_session_goes_on(
    env: dict[str, str], decks: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARDS_NOW", NOW)
    collection = Collection.open(db_path, decks)
    collection.sync(clock.now())
    console = Console(file=io.StringIO(), width=100, highlight=False)
    keys = Keys(AnsweredElsewhere("\n3\nu\n\n3\nq\n", db_path))
    session = Session(ReviewController(collection), console, keys)
    session.run()
    print_summary(session)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert "cannot undo: card basic:what-is-a-canary-deployment/card was answered again since" in out
    assert "Reviewed 2 cards, 0 Again" in out
    assert len(rows(db_path, "SELECT id FROM reviews")) == 3


def test_control_characters_in_deck_text_reach_the_screen_as_escapes(
    env: dict[str, str], write_deck: Callable[..., Path], db_path: Path
) -> None:
    write_deck(
        "basics.yaml",
        'deck: "Evil"\nnotes:\n'
        '  - front: "clear\\x1b[2J me"\n    back: "clipboard \\x1b]52;c;ZXZpbA==\\x07 \\x9b31m"\n',
    )
    assert run(env, "", "compile").returncode == 0
    with sqlite3.connect(
        db_path
    ) as db:  # a deck name a deck file can no longer give (an older version took it)
        db.execute("UPDATE cards SET deck = 'Evil' || char(27) || ']0;title' || char(7)")
    out = run(env, "\n3\nq\n", "review").stdout
    assert "\x1b" not in out and "\x9b" not in out and "\x07" not in out
    assert "Evil\\x1b]0;title\\x07" in out
    assert "clear\\x1b[2J me" in out
    assert "clipboard \\x1b]52;c;ZXZpbA==\\x07 \\x9b31m" in out


def test_a_deck_file_named_like_an_option_reaches_the_editor_as_a_path(
    env: dict[str, str], decks: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (decks / "basics.yaml").rename(decks / "-c!touch PWNED.yaml")
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import sys, pathlib\npathlib.Path(sys.argv[0]).with_suffix('.args').write_text('\\n'.join(sys.argv[1:]))\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(decks)
    out = run({**env, "EDITOR": f"{sys.executable} {editor}", "CARDS_DECKS": "."}, "e\nq\n", "review").stdout
    assert "No change." in out
    line, path = editor.with_suffix(".args").read_text().splitlines()
    assert line == "+3" and path == str((decks / "-c!touch PWNED.yaml").resolve())
    assert not (decks / "PWNED.yaml").exists() and not Path("PWNED.yaml").exists()


@pytest.mark.parametrize("option", ["--new", "--limit"])
def test_huge_session_limits_are_usage_errors(env: dict[str, str], option: str) -> None:
    result = run(env, "", "review", option, "99999999999999999999")
    assert result.returncode == 2
    assert "is not in the range" in result.stderr


def test_an_editor_setting_that_cannot_be_split_is_a_message(env: dict[str, str]) -> None:
    result = run({**env, "EDITOR": "vim '"}, "e\nq\n", "review")
    assert result.returncode == 0
    assert 'Cannot run the editor "vim \'": No closing quotation; check $EDITOR' in result.stdout
