"""cards optimize: training items, evaluation, saving, restoring and rescheduling."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from flashcards import clock
from flashcards.cli import cli
from flashcards.collection import saved_parameters, with_saved_parameters
from flashcards.optimize import (
    default_parameters,
    evaluate,
    optimize,
    preset_of,
    restore_previous,
    training_items,
)
from flashcards.scheduler import rebuild
from flashcards.settings import Settings, parse_settings
from flashcards.simulate import TRUE_PARAMETERS, generate

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


def test_items_use_whole_day_gaps_and_keep_same_day_reviews_in_the_history(
    fresh_db: sqlite_utils.Database,
) -> None:
    start = datetime(2026, 1, 1, 22, 0, tzinfo=UTC)
    add_history(
        fresh_db,
        "a",
        [
            (start, 1, 0),  # new
            (start + timedelta(minutes=10), 3, 1),  # learning step: same day
            (start + timedelta(hours=23, minutes=59), 3, 2),  # next calendar day but < 24 h: gap 0
            (start + timedelta(days=1, hours=1), 3, 2),  # 1 day 1 hour after the first: gap 0 again
            (start + timedelta(days=4), 1, 2),  # 2 days 23 hours after the previous: gap 2
            (start + timedelta(days=4, minutes=10), 3, 3),  # relearning step
            (start + timedelta(days=9), 3, 2),
        ],
    )
    add_history(fresh_db, "imported", [(start, 3, 2), (start + timedelta(days=5), 3, 2)])  # no first answer
    items, reviews = training_items(fresh_db)
    assert reviews == 9  # the imported card's reviews are counted, but it gives no items
    assert [repr(item) for item in items] == [
        "FSRSItem { reviews: [FSRSReview { rating: 1, delta_t: 0 }, FSRSReview { rating: 3, delta_t: 0 }, "
        "FSRSReview { rating: 3, delta_t: 0 }, FSRSReview { rating: 3, delta_t: 0 }, "
        "FSRSReview { rating: 1, delta_t: 2 }] }",
        "FSRSItem { reviews: [FSRSReview { rating: 1, delta_t: 0 }, FSRSReview { rating: 3, delta_t: 0 }, "
        "FSRSReview { rating: 3, delta_t: 0 }, FSRSReview { rating: 3, delta_t: 0 }, "
        "FSRSReview { rating: 1, delta_t: 2 }, FSRSReview { rating: 3, delta_t: 0 }, "
        "FSRSReview { rating: 3, delta_t: 4 }] }",
    ]


def test_evaluation_gives_log_loss_and_rmse(fresh_db: sqlite_utils.Database) -> None:
    start = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    add_history(fresh_db, "a", [(start, 3, 0), (start + timedelta(days=3), 3, 2)])
    items, _ = training_items(fresh_db)
    result = evaluate(items, default_parameters())
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
    truth = evaluate(training_items(db)[0], TRUE_PARAMETERS)
    assert preset.fitted.log_loss - truth.log_loss < (preset.default.log_loss - truth.log_loss) / 2
    # The initial stabilities (w0-w3) are the best identified: the fit lands nearer the truth.
    fitted, default = preset.fitted.parameters, preset.default.parameters

    def distance(weights: tuple[float, ...]) -> float:
        return sum(abs(math.log(w / t)) for w, t in zip(weights[:4], TRUE_PARAMETERS[:4], strict=True))

    assert distance(fitted) < distance(default) / 2
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


def test_saved_parameters_override_per_preset(fresh_db: sqlite_utils.Database, tmp_path: Path) -> None:
    from flashcards.optimize import Evaluation, save_parameters

    settings = parse_settings('[deck."Lang"]\nnew_per_day = 5\n', tmp_path / "cards.toml")
    collection = tuple(w * 1.01 for w in default_parameters())
    lang = tuple(w * 1.02 for w in default_parameters())
    save_parameters(fresh_db, "", Evaluation(collection, 0.3, 0.02), 500, NOW)
    save_parameters(fresh_db, "Lang", Evaluation(lang, 0.3, 0.02), 500, NOW)
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
    generate(db, notes=400, seed=1, now=NOW, deck="Lang::Verbs")
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
    from flashcards.optimize import Evaluation, save_parameters

    first, second, third = (tuple(w * f for w in default_parameters()) for f in (1.01, 1.02, 1.03))
    save_parameters(fresh_db, "", Evaluation(first, 0.3, 0.02), 500, NOW)
    assert "from cards.toml" in restore_previous(fresh_db, Settings())
    save_parameters(fresh_db, "", Evaluation(second, 0.3, 0.02), 500, NOW)
    # The first fit was discarded before the second was made: restoring must not bring it back.
    assert "back to the parameters from cards.toml" in restore_previous(fresh_db, Settings())
    assert saved_parameters(fresh_db) == {}
    save_parameters(fresh_db, "", Evaluation(second, 0.3, 0.02), 500, NOW)
    save_parameters(fresh_db, "", Evaluation(third, 0.3, 0.02), 500, NOW + timedelta(days=1))
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
