"""Durability: a session killed at any moment loses nothing committed; two sessions at once lose nothing."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flashcards import store
from flashcards.compiler import compile_decks
from flashcards.scheduler import rebuild
from flashcards.settings import load_settings

# A session that answers cards as fast as it can and prints, once each answer is committed, its
# review id, the card and the card's review count as shown; an answer refused because another
# session answered the card after it was shown prints "stale".
SESSION = """
import sys
import time
from datetime import timedelta
from pathlib import Path
from flashcards import clock
from flashcards.collection import Collection
from flashcards.controller import ReviewController
from flashcards.states import Rating

decks, db_path, count = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
moment = [clock.now()]
session = ReviewController(
    Collection.open(db_path, decks), new_limit=100000, now=lambda: moment[0], fixed_clock=True
)
print("ready", flush=True)
while len(sys.argv) > 4 and not Path(sys.argv[4]).exists():
    time.sleep(0.001)
for answered in range(count):
    card = session.card()
    while card is None:
        moment[0] += timedelta(minutes=10)
        card = session.card()
    shown = session.collection.db.execute("SELECT reps FROM cards WHERE id = ?", [card.id]).fetchone()[0]
    session.reveal()
    done = session.rate(Rating(1 + answered % 4)).answer
    print("stale" if done is None else f"{done.review_id} {card.id} {shown}", flush=True)
print("done", flush=True)
"""


@pytest.fixture
def collection(write_deck: Callable[..., Path], decks: Path, db_path: Path) -> Path:
    notes = "".join(f"  - front: question {i}\n    back: answer {i}\n" for i in range(600))
    write_deck("many.yaml", "deck: Many\nnotes:\n" + notes)
    db = store.open_collection(db_path)
    compile_decks(db, decks, datetime(2026, 11, 27, 9, tzinfo=UTC))
    db.conn.close()
    return db_path


def start(decks: Path, db_path: Path, count: int, *wait_for: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "CARDS_NOW": "2026-11-27T09:00:00+00:00"}
    return subprocess.Popen(
        [sys.executable, "-c", SESSION, str(decks), str(db_path), str(count), *map(str, wait_for)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def check_consistent(decks: Path, db_path: Path) -> int:
    """Integrity passes and every card's cache equals the replayed log; return the log size."""
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db = store.open_collection(db_path)
    try:
        assert rebuild(db, load_settings(decks), write=False).changed == []
        return int(db.execute("SELECT count(*) FROM reviews").fetchone()[0])
    finally:
        db.conn.close()


@pytest.mark.parametrize("kill_after", [1, 37, 150])
def test_kill_9_mid_session_loses_nothing_committed(collection: Path, decks: Path, kill_after: int) -> None:
    child = start(decks, collection, 100000)
    assert child.stdout is not None
    assert child.stdout.readline() == "ready\n"
    lines = [child.stdout.readline().split() for _ in range(kill_after)]
    committed = [int(line[0]) for line in lines]
    assert len({(card, reps) for _, card, reps in lines}) == kill_after  # no card answered twice
    os.kill(child.pid, signal.SIGKILL)
    child.communicate()
    logged = check_consistent(decks, collection)
    assert logged >= kill_after
    with sqlite3.connect(collection) as db:
        ids = {row[0] for row in db.execute("SELECT id FROM reviews")}
    assert set(committed) <= ids  # every answer reported as committed survived the kill


def test_two_sessions_at_once_lose_no_answers(collection: Path, decks: Path, tmp_path: Path) -> None:
    go = tmp_path / "go"
    children = [start(decks, collection, 200, go) for _ in range(2)]
    for child in children:  # both are open and waiting: start them together
        assert child.stdout is not None
        assert child.stdout.readline() == "ready\n"
    go.touch()
    outputs = [child.communicate(timeout=120) for child in children]
    for child, (out, err) in zip(children, outputs, strict=True):
        assert child.returncode == 0, err
        assert out.splitlines()[-1] == "done"
    lines = [line.split() for out, _ in outputs for line in out.splitlines()[:-1]]
    answers = [line for line in lines if line != ["stale"]]
    ids = [int(review_id) for review_id, _, _ in answers]
    assert len(ids) == len(set(ids))
    # no card answered twice from the same state: each (card, review count shown) is taken once
    shown = [(card_id, reps) for _, card_id, reps in answers]
    assert len(shown) == len(set(shown))
    assert len(answers) + lines.count(["stale"]) == 400
    assert check_consistent(decks, collection) == len(answers)
