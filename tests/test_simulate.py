"""The simulated learner: deterministic, scheduled by the project, consistent with a log replay."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from flashcards import clock
from flashcards.scheduler import rebuild
from flashcards.settings import DeckSettings, Settings
from flashcards.simulate import generate
from flashcards.store import open_collection

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def dump(db: sqlite_utils.Database) -> list[tuple[object, ...]]:
    return db.execute(
        "SELECT card_id, rating, reviewed_at, duration_ms, due, state FROM reviews ORDER BY id"
    ).fetchall()


def test_same_seed_same_collection(tmp_path: Path) -> None:
    first = generate(tmp_path / "a.db", notes=200, seed=7, now=NOW)
    second = generate(tmp_path / "b.db", notes=200, seed=7, now=NOW)
    other = generate(tmp_path / "c.db", notes=200, seed=8, now=NOW)
    assert first == second
    assert dump(open_collection(tmp_path / "a.db")) == dump(open_collection(tmp_path / "b.db"))
    assert dump(open_collection(tmp_path / "a.db")) != dump(open_collection(tmp_path / "c.db"))
    assert other.cards == 200


def test_histories_are_complete_and_end_before_now(fresh_db: sqlite_utils.Database) -> None:
    result = generate(fresh_db, notes=300, days=365, seed=1, now=NOW)
    assert result.cards == 300
    count, first, last = fresh_db.execute(
        "SELECT count(*), min(reviewed_at), max(reviewed_at) FROM reviews"
    ).fetchone()
    assert count == result.reviews > 300
    assert clock.from_db(last) < NOW
    assert (NOW - clock.from_db(first)).days <= 365
    starts = fresh_db.execute(
        "SELECT r.state_before FROM reviews r WHERE r.id = (SELECT min(id) FROM reviews WHERE card_id = r.card_id)"
    ).fetchall()
    assert {row[0] for row in starts} == {0}
    assert fresh_db.execute("SELECT count(DISTINCT rating) FROM reviews").fetchone()[0] == 4
    assert fresh_db.execute("SELECT sum(reps) FROM cards").fetchone()[0] == result.reviews


def test_reviews_per_card_is_a_cap(fresh_db: sqlite_utils.Database) -> None:
    result = generate(fresh_db, notes=50, reviews_per_card=3, seed=2, now=NOW)
    most = fresh_db.execute(
        "SELECT max(n) FROM (SELECT count(*) AS n FROM reviews GROUP BY card_id)"
    ).fetchone()[0]
    assert most == 3
    assert result.reviews <= 150


def test_card_cache_is_what_replaying_the_log_gives(fresh_db: sqlite_utils.Database) -> None:
    generate(fresh_db, notes=300, seed=3, now=NOW, deck="Sim", deck_settings=DeckSettings())
    assert rebuild(fresh_db, Settings(), write=False).changed == []


def test_recall_follows_the_true_parameters(fresh_db: sqlite_utils.Database, tmp_path: Path) -> None:
    from fsrs.scheduler import DEFAULT_PARAMETERS

    weak = list(DEFAULT_PARAMETERS)
    weak[0:4] = [0.1, 0.2, 0.4, 1.0]  # tiny initial stabilities: early reviews often fail
    generate(fresh_db, notes=300, seed=4, now=NOW, true_parameters=DEFAULT_PARAMETERS)
    other = open_collection(tmp_path / "weak.db")
    generate(other, notes=300, seed=4, now=NOW, true_parameters=weak)
    query = "SELECT avg(rating > 1) FROM reviews WHERE state_before = 2"
    calibrated = fresh_db.execute(query).fetchone()[0]
    assert abs(calibrated - 0.9) < 0.03  # true parameters = the scheduler's: about the desired retention
    assert other.execute(query).fetchone()[0] < calibrated - 0.02


def test_a_simulated_collection_exports_to_anki(tmp_path: Path) -> None:
    from flashcards.export import export_package

    db = open_collection(tmp_path / "sim.db")
    generate(db, notes=20, seed=3, now=datetime(2026, 11, 27, 9, tzinfo=UTC))
    result = export_package(db, tmp_path / "sim.apkg", with_scheduling=True)
    assert (result.notes, result.cards) == (20, 20)
    assert result.reviews == db.execute("SELECT count(*) FROM reviews").fetchone()[0] > 0
