"""cards optimize: training items, evaluation, saving, restoring and rescheduling."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils
from click.testing import CliRunner

from flashcards import clock
from flashcards.cli import cli
from flashcards.clock import StudyDays
from flashcards.collection import parameters_version, saved_parameters, with_saved_parameters
from flashcards.errors import CardsError
from flashcards.optimize import (
    MINIMUM_ITEMS,
    Evaluation,
    Score,
    default_parameters,
    evaluate,
    optimize,
    preset_of,
    restore_previous,
    save_parameters,
)
from flashcards.scheduler import rebuild
from flashcards.settings import Settings, parse_settings
from flashcards.simulate import TRUE_PARAMETERS, generate
from flashcards.training import HELD_OUT_BUCKETS, bucket, card_items, histories, training_set

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def add_history(db: sqlite_utils.Database, card_id: str, reviews: list[tuple[datetime, int, int]]) -> None:
    stamp = clock.to_db(NOW)
    db.execute(
        "INSERT INTO notes(id, type, deck, fields, tags, source_file, source_line, content_hash, created_at, "
        "modified_at) VALUES (?, 'basic', 'D', '{}', '[]', 'd.yaml', 1, 'x', ?, ?)",
        [card_id, stamp, stamp],
    )
    db.execute(
        "INSERT INTO cards(id, note_id, template, ordinal, deck, front, back, position, created_at, modified_at) "
        "VALUES (?, ?, 'card', 0, 'D', 'f', 'b', 0, ?, ?)",
        [card_id, card_id, stamp, stamp],
    )
    for when, rating, state_before in reviews:
        db.execute(
            "INSERT INTO reviews(card_id, rating, reviewed_at, duration_ms, due, state_before, state, stability, "
            "difficulty) VALUES (?, ?, ?, 1000, ?, ?, 2, 1, 5)",
            [card_id, rating, clock.to_db(when), clock.to_db(when), state_before],
        )


def items_of(db: sqlite_utils.Database) -> dict[str, list[str]]:
    days = StudyDays(4)
    return {card_id: [repr(item) for item in card_items(history, days)] for card_id, history in histories(db)}


def item(*reviews: tuple[int, int]) -> str:
    shown = ", ".join(f"FSRSReview {{ rating: {rating}, delta_t: {gap} }}" for rating, gap in reviews)
    return f"FSRSItem {{ reviews: [{shown}] }}"


def test_items_count_study_days_and_keep_same_day_reviews_in_the_history(
    fresh_db: sqlite_utils.Database,
) -> None:
    start = datetime(2026, 1, 1, 22, 0, tzinfo=UTC)  # study days start at 04:00 (TZ is UTC in tests)
    add_history(
        fresh_db,
        "a",
        [
            (start, 1, 0),  # new
            (start + timedelta(minutes=10), 3, 1),  # learning step: same day
            (start + timedelta(hours=5), 3, 1),  # 03:00 next morning: still the same study day
            (start + timedelta(hours=7), 3, 2),  # 05:00: the next study day, 2 hours later: gap 1
            (start + timedelta(hours=7, minutes=30), 1, 2),  # same day again: gap 0, no item
            (start + timedelta(days=3, hours=20), 3, 3),  # 3 study days later, 70 hours after
        ],
    )
    add_history(fresh_db, "imported", [(start, 3, 2), (start + timedelta(days=5), 3, 2)])  # no first answer
    add_history(fresh_db, "partial", [(start, 3, 1), (start + timedelta(days=2), 3, 2)])  # learning, not new
    found = items_of(fresh_db)
    history = [(1, 0), (3, 0), (3, 0), (3, 1)]
    assert found["a"] == [item(*history), item(*history, (1, 0), (3, 3))]
    assert found["imported"] == [] and found["partial"] == []


def test_history_starts_at_the_last_learning_group(fresh_db: sqlite_utils.Database) -> None:
    start = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    day = timedelta(days=1)
    add_history(
        fresh_db,
        "a",
        [
            (start, 3, 0),
            (start + 3 * day, 3, 2),
            (start + 10 * day, 4, 0),  # the card is new again (a reset): its history starts here
            (start + 10 * day + timedelta(minutes=5), 3, 1),
            (start + 12 * day, 3, 2),
        ],
    )
    assert items_of(fresh_db)["a"] == [item((4, 0), (3, 0), (3, 2))]


def test_items_are_split_by_card_and_capped_by_bucket(simulated: Path, tmp_path: Path) -> None:
    db = copy_of(simulated, tmp_path)
    whole = training_set(db, 4)
    days = StudyDays(4)
    per_card = {card_id: len(card_items(history, days)) for card_id, history in histories(db)}
    held = {c for c in per_card if bucket(c) < HELD_OUT_BUCKETS}
    assert whole.items == sum(per_card.values()) == len(whole.fit) + len(whole.held_out)
    assert len(whole.held_out) == sum(per_card[c] for c in held)
    assert 0.1 < len(held) / len(per_card) < 0.3
    again = training_set(db, 4)
    assert [repr(i) for i in again.held_out] == [repr(i) for i in whole.held_out]  # the same on every run
    capped = training_set(db, 4, fit_limit=1000, held_out_limit=300)
    assert 900 < len(capped.fit) <= 1000 and 200 < len(capped.held_out) <= 300
    assert capped.items == whole.items
    # The cap keeps whole cards of the lowest buckets: a prefix of the full part, in bucket order.
    assert {repr(i) for i in capped.held_out} <= {repr(i) for i in whole.held_out}


def test_evaluation_gives_log_loss_and_rmse(fresh_db: sqlite_utils.Database) -> None:
    start = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    add_history(fresh_db, "a", [(start, 3, 0), (start + timedelta(days=3), 3, 2)])
    [(_, history)] = histories(fresh_db)
    result = evaluate(card_items(history, StudyDays(4)), default_parameters())
    # One success predicted with the retrievability the default parameters give after 3 days.
    import fsrs

    scheduler = fsrs.Scheduler(enable_fuzzing=False, learning_steps=())
    card, _ = scheduler.review_card(fsrs.Card(card_id=1, due=start), fsrs.Rating.Good, start)
    recall = scheduler.get_card_retrievability(card, start + timedelta(days=3))
    assert result.log_loss == pytest.approx(-math.log(recall), abs=1e-4)
    assert result.rmse == pytest.approx(1 - recall, abs=1e-4)


def test_too_little_history_keeps_the_defaults(fresh_db: sqlite_utils.Database) -> None:
    generate(fresh_db, notes=20, seed=1, now=NOW)
    result = optimize(fresh_db, Settings(), NOW)
    [preset] = result.presets
    assert preset.fitted is None and not preset.saved
    assert "at least 400 are needed" in preset.message
    assert saved_parameters(fresh_db) == {}


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sim") / "collection.db"
    generate(path, notes=2000, seed=11, now=NOW)
    return path


def copy_of(simulated: Path, tmp_path: Path) -> sqlite_utils.Database:
    from flashcards.store import backup, open_collection

    backup(open_collection(simulated), tmp_path / "copy.db")
    return open_collection(tmp_path / "copy.db")


def test_optimize_moves_toward_the_true_parameters(simulated: Path, tmp_path: Path) -> None:
    db = copy_of(simulated, tmp_path)
    messages: list[str] = []
    result = optimize(db, Settings(), NOW, progress=messages.append)
    [preset] = result.presets
    assert preset.items > 400 and preset.saved
    assert preset.default is not None and preset.fitted is not None
    assert preset.fitted.log_loss < preset.default.log_loss
    assert preset.fitted.rmse < preset.default.rmse
    assert preset.fitted.in_sample.log_loss < preset.default.in_sample.log_loss
    assert preset.fit_items + preset.held_out_items == preset.items
    truth = evaluate(training_set(db, 4).held_out, TRUE_PARAMETERS)
    assert preset.fitted.log_loss - truth.log_loss < (preset.default.log_loss - truth.log_loss) / 2
    # The initial stabilities are not compared with the truth: the simulated learner forgets over
    # 24-hour days (py-fsrs) while items count study days, as Anki does, so an answer the next
    # morning is a day later to the fit and no time at all to the learner.
    fitted = preset.fitted.parameters
    assert saved_parameters(db) == {"": fitted}
    assert any("fitting 21 parameters" in m for m in messages)
    # Cards were rescheduled: their cache is what replaying the log with the new parameters gives.
    assert preset.rescheduled > 0
    assert rebuild(db, with_saved_parameters(db, Settings()), write=False).changed == []
    assert rebuild(db, Settings(), write=False).changed != []


def test_dry_run_saves_nothing_and_restore_goes_back(simulated: Path, tmp_path: Path) -> None:
    db = copy_of(simulated, tmp_path)
    before = db.execute("SELECT id, stability, difficulty FROM cards ORDER BY id").fetchall()
    [dry] = optimize(db, Settings(), NOW, dry_run=True).presets
    assert dry.fitted is not None and not dry.saved and "--dry-run" in dry.message
    assert saved_parameters(db) == {}
    assert db.execute("SELECT id, stability, difficulty FROM cards ORDER BY id").fetchall() == before
    optimize(db, Settings(), NOW)
    [again] = optimize(db, Settings(), NOW).presets  # a second fit is compared with the saved one
    assert again.current is not None and not again.saved
    assert "no better" in again.message
    assert "back to the parameters from cards.toml" in restore_previous(db, Settings())
    assert saved_parameters(db) == {}
    assert db.execute("SELECT id, stability, difficulty FROM cards ORDER BY id").fetchall() == before
    assert "nothing to restore" in restore_previous(db, Settings())
    assert db.execute("SELECT count(*) FROM parameters").fetchone()[0] == 1  # history is kept


def test_presets_follow_decks_with_their_own_settings(tmp_path: Path) -> None:
    text = '[deck."Lang"]\nnew_per_day = 5\n[deck."Lang::Kanji"]\ndesired_retention = 0.85\n'
    settings = parse_settings(text, tmp_path / "cards.toml")
    assert preset_of(settings, None) == ""
    assert preset_of(settings, "Other") == ""
    assert preset_of(settings, "Lang") == "Lang"
    assert preset_of(settings, "Lang::Verbs") == "Lang"
    assert preset_of(settings, "Lang::Kanji::N5") == "Lang::Kanji"


def scored(parameters: tuple[float, ...]) -> Evaluation:
    return Evaluation(parameters, Score(0.29, 0.02), Score(0.3, 0.02))


def test_saved_parameters_override_per_preset(fresh_db: sqlite_utils.Database, tmp_path: Path) -> None:
    settings = parse_settings('[deck."Lang"]\nnew_per_day = 5\n', tmp_path / "cards.toml")
    collection = tuple(w * 1.01 for w in default_parameters())
    lang = tuple(w * 1.02 for w in default_parameters())
    save_parameters(fresh_db, "", scored(collection), 500, NOW)
    save_parameters(fresh_db, "Lang", scored(lang), 500, NOW)
    merged = with_saved_parameters(fresh_db, settings)
    assert merged.for_deck("Other").parameters == collection
    assert merged.for_deck("Lang::Verbs").parameters == lang
    assert merged.for_deck("Lang").new_per_day == 5


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_cli_prints_both_evaluations_and_progress(
    simulated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy_of(simulated, tmp_path)
    monkeypatch.setenv("CARDS_DB", str(tmp_path / "copy.db"))
    code, out, err = run("optimize", "--dry-run")
    assert code == 0
    assert "default" in out and "fitted" in out and "log loss" in out
    assert "fitting 21 parameters" in err
    code, out, _ = run("optimize", "--json")
    assert code == 0 and json.loads(out)[0]["saved"] is True


def test_cli_with_little_history_exits_0(write_deck: Callable[..., Path]) -> None:
    write_deck("d.yaml", "deck: D\nnotes:\n  - front: a\n    back: b\n")
    code, out, _ = run("optimize")
    assert code == 0
    assert "at least 400 are needed" in out


def test_each_preset_is_fitted_on_its_own_decks(tmp_path: Path) -> None:
    from flashcards.store import open_collection

    db = open_collection(tmp_path / "presets.db")
    generate(db, notes=600, seed=1, now=NOW, deck="Lang::Verbs")
    generate(db, notes=30, seed=2, now=NOW, deck="Other")
    settings = parse_settings('[deck."Lang"]\nnew_per_day = 5\n', tmp_path / "cards.toml")
    lang_reviews = db.execute("SELECT count(*) FROM reviews WHERE card_id LIKE 'sim-1-%'").fetchone()[0]
    other_reviews = db.execute("SELECT count(*) FROM reviews WHERE card_id LIKE 'sim-2-%'").fetchone()[0]
    collection, lang = optimize(db, settings, NOW).presets
    assert (collection.preset, collection.reviews, collection.saved) == ("", other_reviews, False)
    assert (lang.preset, lang.reviews, lang.saved) == ("Lang", lang_reviews, True)
    assert set(saved_parameters(db)) == {"Lang"}
    [only] = optimize(db, settings, NOW, deck="Lang::Verbs", dry_run=True).presets
    assert only.preset == "Lang"


def test_restore_goes_back_to_what_the_active_fit_replaced(fresh_db: sqlite_utils.Database) -> None:
    first, second, third = (tuple(w * f for w in default_parameters()) for f in (1.01, 1.02, 1.03))
    save_parameters(fresh_db, "", scored(first), 500, NOW)
    assert "from cards.toml" in restore_previous(fresh_db, Settings())
    save_parameters(fresh_db, "", scored(second), 500, NOW)
    # The first fit was discarded before the second was made: restoring must not bring it back.
    assert "back to the parameters from cards.toml" in restore_previous(fresh_db, Settings())
    assert saved_parameters(fresh_db) == {}
    save_parameters(fresh_db, "", scored(second), 500, NOW)
    save_parameters(fresh_db, "", scored(third), 500, NOW + timedelta(days=1))
    assert f"back to the parameters fitted at {clock.to_db(NOW)}" in restore_previous(fresh_db, Settings())
    assert saved_parameters(fresh_db) == {"": second}
    assert "back to the parameters from cards.toml" in restore_previous(fresh_db, Settings())
    assert "nothing to restore" in restore_previous(fresh_db, Settings())
    assert fresh_db.execute("SELECT count(*) FROM parameters").fetchone()[0] == 4  # history is kept


def test_restore_after_refitting_returns_to_the_defaults_and_their_schedule(
    simulated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = copy_of(simulated, tmp_path)
    before = db.execute("SELECT id, stability, difficulty FROM cards ORDER BY id").fetchall()
    db.conn.close()
    monkeypatch.setenv("CARDS_DB", str(tmp_path / "copy.db"))
    code, out, _ = run("optimize", "--restore")
    assert code == 0 and "nothing to restore" in out
    assert run("optimize")[0] == 0
    assert "back to the parameters from cards.toml" in run("optimize", "--restore")[1]
    assert run("optimize")[0] == 0
    code, out, _ = run("optimize", "--restore")
    assert code == 0 and "back to the parameters from cards.toml" in out
    from flashcards.store import open_collection

    db = open_collection(tmp_path / "copy.db")
    assert saved_parameters(db) == {}
    assert db.execute("SELECT id, stability, difficulty FROM cards ORDER BY id").fetchall() == before


def test_a_fit_better_in_sample_but_not_on_held_out_cards_is_not_saved(
    fresh_db: sqlite_utils.Database,
) -> None:
    # A learner whose memory follows the default parameters: a fit on ~500 items can only overfit.
    generate(fresh_db, notes=60, seed=6, now=NOW, true_parameters=default_parameters())
    [preset] = optimize(fresh_db, Settings(), NOW).presets
    assert MINIMUM_ITEMS < preset.items < 2 * MINIMUM_ITEMS
    assert preset.default is not None and preset.fitted is not None
    assert preset.fitted.in_sample.log_loss < preset.default.in_sample.log_loss
    assert preset.fitted.held_out.log_loss >= preset.default.held_out.log_loss
    assert not preset.saved and "no better" in preset.message
    assert saved_parameters(fresh_db) == {}


def cache(db: sqlite_utils.Database) -> list[tuple[object, ...]]:
    return db.execute(
        "SELECT id, state, stability, difficulty, due, due_day FROM cards ORDER BY id"
    ).fetchall()


class Crash(Exception):
    pass


def crash_after_saving(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make saving fitted parameters raise once the parameters are written."""
    import flashcards.optimize

    def crashing(*args: Any) -> None:
        save_parameters(*args)
        raise Crash

    monkeypatch.setattr(flashcards.optimize, "save_parameters", crashing)


def assert_consistent(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CARDS_DB", str(path))
    code, out, _ = run("rebuild", "--check")
    assert code == 0, out


def test_a_crash_while_saving_leaves_the_old_parameters_and_the_old_cache(
    simulated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = copy_of(simulated, tmp_path)
    before, version = cache(db), parameters_version(db)
    crash_after_saving(monkeypatch)
    with pytest.raises(Crash):
        optimize(db, Settings(), NOW)
    assert saved_parameters(db) == {} and cache(db) == before
    assert parameters_version(db) == version
    monkeypatch.undo()
    assert_consistent(tmp_path / "copy.db", monkeypatch)


def test_a_crash_while_restoring_leaves_the_fitted_parameters_and_their_cache(
    simulated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flashcards.optimize

    db = copy_of(simulated, tmp_path)
    [preset] = optimize(db, Settings(), NOW).presets
    assert preset.saved and preset.fitted is not None
    fitted, version = cache(db), parameters_version(db)
    real = flashcards.optimize._reschedule

    def crashing(*args: Any) -> int:
        def write() -> None:
            args[-1]()
            raise Crash

        return real(*args[:-1], write)

    monkeypatch.setattr(flashcards.optimize, "_reschedule", crashing)
    with pytest.raises(Crash):
        restore_previous(db, Settings())
    assert saved_parameters(db) == {"": preset.fitted.parameters} and cache(db) == fitted
    assert parameters_version(db) == version
    monkeypatch.undo()
    assert_consistent(tmp_path / "copy.db", monkeypatch)


def test_the_parameters_version_changes_with_every_save_and_restore(fresh_db: sqlite_utils.Database) -> None:
    seen = [parameters_version(fresh_db)]
    save_parameters(fresh_db, "", scored(default_parameters()), 500, NOW)
    seen.append(parameters_version(fresh_db))
    save_parameters(fresh_db, "", scored(tuple(w * 1.01 for w in default_parameters())), 500, NOW)
    seen.append(parameters_version(fresh_db))
    restore_previous(fresh_db, Settings())
    seen.append(parameters_version(fresh_db))
    assert seen == sorted(set(seen))  # rises each time
    generate(fresh_db, notes=5, seed=1, now=NOW)
    assert parameters_version(fresh_db) == seen[-1]  # answers do not change it


def test_a_change_by_another_process_meanwhile_is_not_overwritten(
    simulated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import flashcards.optimize

    db = copy_of(simulated, tmp_path)
    before = cache(db)
    real = flashcards.optimize._reschedule

    def meanwhile(*args: Any) -> int:
        save_parameters(db, "", scored(TRUE_PARAMETERS), 500, NOW)  # another optimize got there first
        return real(*args)

    monkeypatch.setattr(flashcards.optimize, "_reschedule", meanwhile)
    with pytest.raises(CardsError, match="changed by another process"):
        optimize(db, Settings(), NOW)
    assert saved_parameters(db) == {"": TRUE_PARAMETERS} and cache(db) == before


def test_a_deck_table_without_parameters_is_rescheduled_with_the_collections_fit(tmp_path: Path) -> None:
    """A [deck."X"] table that sets only limits inherits the collection's fit: its cards are replayed too."""
    from flashcards.store import open_collection

    db = open_collection(tmp_path / "p.db")
    generate(db, notes=600, seed=1, now=NOW, deck="Other")
    generate(db, notes=30, seed=2, now=NOW, deck="Lang::Verbs")
    settings = parse_settings('[deck."Lang"]\nnew_per_day = 5\n', tmp_path / "cards.toml")
    collection, lang = optimize(db, settings, NOW).presets
    assert collection.saved and not lang.saved
    merged = with_saved_parameters(db, settings)
    assert merged.for_deck("Lang::Verbs").parameters == saved_parameters(db)[""]
    assert rebuild(db, merged, write=False).changed == []
