"""Fit FSRS-6 parameters to the user's own review log, keep them, and go back to earlier ones.

The training items, and how they are split into the part the fit sees and a held-out part, are
:mod:`flashcards.training`'s. Fitted parameters replace the current ones only when they predict
the held-out answers better (lower log loss), so a fit on little data cannot make the schedule
worse. Parameters are kept per preset: ``''`` for the collection, or a deck with its own table
in ``cards.toml``. Saving them (or going back with ``--restore``) and recomputing the cards'
cached state from the log happen in one transaction; every change raises the collection's
parameters version (:func:`flashcards.collection.parameters_version`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flashcards import clock
from flashcards.collection import COLLECTION_PRESET, parameters_version, saved_parameters, with_parameters
from flashcards.database import Database
from flashcards.decks import in_deck, lineage, sql_filter
from flashcards.errors import CardsError
from flashcards.settings import PARAMETER_COUNT, Settings
from flashcards.training import TrainingSet, training_set

MINIMUM_ITEMS = 400
COLLECTION = COLLECTION_PRESET


@dataclass(frozen=True)
class Score:
    """How well a set of parameters predicts some items: log loss and RMSE over bins."""

    log_loss: float
    rmse: float

    def as_dict(self) -> dict[str, float]:
        """Return the figures as plain data."""
        return {"log_loss": self.log_loss, "rmse": self.rmse}


@dataclass(frozen=True)
class Evaluation:
    """A set of parameters scored on the items the fit saw and on the held-out ones."""

    parameters: tuple[float, ...]
    in_sample: Score
    held_out: Score

    @property
    def log_loss(self) -> float:
        """The held-out log loss: the figure fits are compared by."""
        return self.held_out.log_loss

    @property
    def rmse(self) -> float:
        """The held-out RMSE."""
        return self.held_out.rmse


@dataclass
class PresetResult:
    """What optimizing one preset found and did."""

    preset: str
    reviews: int
    items: int
    fit_items: int = 0
    held_out_items: int = 0
    default: Evaluation | None = None
    current: Evaluation | None = None
    fitted: Evaluation | None = None
    saved: bool = False
    rescheduled: int = 0
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        """Return the result as plain data."""
        data: dict[str, Any] = {
            "preset": self.preset or None,
            "reviews": self.reviews,
            "items": self.items,
            "fit_items": self.fit_items,
            "held_out_items": self.held_out_items,
            "saved": self.saved,
            "rescheduled": self.rescheduled,
            "message": self.message,
        }
        for name in ("default", "current", "fitted"):
            found: Evaluation | None = getattr(self, name)
            data[name] = (
                None
                if found is None
                else {
                    "log_loss": found.log_loss,
                    "rmse": found.rmse,
                    "in_sample": found.in_sample.as_dict(),
                    "held_out": found.held_out.as_dict(),
                    "parameters": list(found.parameters),
                }
            )
        return data


@dataclass
class OptimizeResult:
    """The outcome for every preset optimized."""

    presets: list[PresetResult] = field(default_factory=list)


def default_parameters() -> tuple[float, ...]:
    """Return the FSRS-6 default parameters."""
    from fsrs.scheduler import DEFAULT_PARAMETERS

    return tuple(DEFAULT_PARAMETERS)


def preset_of(settings: Settings, deck: str | None) -> str:
    """Return the preset ``deck`` belongs to: its nearest configured ancestor, else the collection."""
    if not deck:
        return COLLECTION
    configured = set(settings.configured_decks())
    return next((name for name in reversed(lineage(deck)) if name in configured), COLLECTION)


def _scope(settings: Settings, preset: str) -> tuple[str, list[str]]:
    """Return an SQL condition on ``c.deck`` selecting the cards that use ``preset``."""
    others = [d for d in settings.configured_decks() if d != preset]
    condition, params = sql_filter(preset or None, "c.deck")
    for other in others:
        if not in_deck(other, preset or None):
            continue
        inner, extra = sql_filter(other, "c.deck")
        condition += f" AND NOT {inner}"
        params += extra
    return condition, params


def evaluate(items: Sequence[Any], parameters: Sequence[float]) -> Score:
    """Return the log loss and RMSE (bins) of ``parameters`` on ``items``."""
    from fsrs_rs_python import FSRS

    result = FSRS(list(parameters)).evaluate(list(items))
    return Score(float(result.log_loss), float(result.rmse_bins))


def _evaluation(data: TrainingSet, parameters: Sequence[float]) -> Evaluation:
    return Evaluation(tuple(parameters), evaluate(data.fit, parameters), evaluate(data.held_out, parameters))


def fit(items: Sequence[Any], relearning_steps: int) -> tuple[float, ...]:
    """Fit the 21 FSRS-6 parameters to ``items`` with fsrs-rs."""
    from fsrs_rs_python import FSRS

    fitted = FSRS(list(default_parameters())).compute_parameters(
        list(items), enable_short_term=True, num_relearning_steps=relearning_steps
    )
    if len(fitted) != PARAMETER_COUNT:
        raise CardsError(f"the optimizer returned {len(fitted)} parameters instead of {PARAMETER_COUNT}")
    return tuple(round(float(value), 4) for value in fitted)


def optimize(
    db: Database,
    settings: Settings,
    now: datetime,
    *,
    deck: str | None = None,
    dry_run: bool = False,
    progress: Callable[[str], None] = lambda message: None,
) -> OptimizeResult:
    """Fit parameters for ``deck``'s preset (default: every preset); save and reschedule when better."""
    try:
        import fsrs_rs_python  # noqa: F401
    except ImportError:
        raise CardsError("cards optimize needs fsrs-rs-python: pip install fsrs-rs-python") from None
    presets = [preset_of(settings, deck)] if deck else [COLLECTION, *settings.configured_decks()]
    result = OptimizeResult()
    for preset in presets:
        result.presets.append(_optimize_preset(db, settings, preset, now, dry_run, progress))
    return result


def _label(preset: str) -> str:
    return f"deck {preset!r}" if preset else "the collection"


def _optimize_preset(
    db: Database,
    settings: Settings,
    preset: str,
    now: datetime,
    dry_run: bool,
    progress: Callable[[str], None],
) -> PresetResult:
    label = _label(preset)
    condition, params = _scope(settings, preset)
    version, saved = parameters_version(db), saved_parameters(db)
    outcome = _fit_preset(db, with_parameters(settings, saved), preset, condition, params, progress)
    fitted = outcome.fitted  # the items are freed by now: rescheduling needs the memory
    if fitted is None:
        return outcome
    baseline = outcome.current or outcome.default
    assert baseline is not None
    if fitted.log_loss >= baseline.log_loss:
        outcome.message = f"{label}: the fitted parameters predict the held-out reviews no better; keeping the current ones."
        return outcome
    if dry_run:
        outcome.message = f"{label}: better parameters found; --dry-run, so nothing was saved."
        return outcome
    progress(f"{label}: saving the parameters and rescheduling cards from their history")
    outcome.rescheduled = _reschedule(
        db,
        settings,
        {**saved, preset: fitted.parameters},
        version,
        lambda: save_parameters(db, preset, fitted, outcome.fit_items, now),
    )
    outcome.saved = True
    outcome.message = (
        f"{label}: saved the fitted parameters; {outcome.rescheduled} cards rescheduled from their "
        "history (cards optimize --restore goes back)."
    )
    return outcome


def _fit_preset(
    db: Database,
    settings: Settings,
    preset: str,
    condition: str,
    params: list[Any],
    progress: Callable[[str], None],
) -> PresetResult:
    """Build the items, fit, and score the default, current and fitted parameters in and out of sample."""
    label = _label(preset)
    progress(f"{label}: reading the review log")
    data = training_set(db, settings.day_start_hour, condition, params)
    outcome = PresetResult(preset, data.reviews, data.items, len(data.fit), len(data.held_out))
    if data.items < MINIMUM_ITEMS:
        outcome.message = (
            f"{label}: {data.items} reviews a day or more apart ({data.reviews} in all); at least "
            f"{MINIMUM_ITEMS} are needed to fit parameters. Keeping the current ones."
        )
        return outcome
    if not data.fit or not data.held_out:
        outcome.message = (
            f"{label}: the {data.items} reviews a day or more apart come from too few cards to hold "
            "some out for testing a fit. Keeping the current ones."
        )
        return outcome
    deck_settings = settings.for_deck(preset or None)
    sizes = f"{len(data.fit)} items ({len(data.held_out)} held out)"
    progress(f"{label}: evaluating the default parameters on {sizes}")
    outcome.default = _evaluation(data, default_parameters())
    current = deck_settings.parameters
    if current and tuple(current) != outcome.default.parameters:
        outcome.current = _evaluation(data, current)
    progress(f"{label}: fitting {PARAMETER_COUNT} parameters on {len(data.fit)} items")
    try:
        fitted = fit(data.fit, len(deck_settings.relearning_steps))
    except Exception as error:  # fsrs-rs reports unusable data as a plain exception
        outcome.message = (
            f"{label}: the optimizer could not fit this log ({error}). Keeping the current ones."
        )
        return outcome
    progress(f"{label}: evaluating the fitted parameters on {sizes}")
    outcome.fitted = _evaluation(data, fitted)
    return outcome


def save_parameters(db: Database, preset: str, evaluation: Evaluation, items: int, now: datetime) -> None:
    """Store fitted parameters as the active ones of ``preset``, remembering the set they replace."""
    with db.atomic():
        active = db.execute("SELECT id FROM parameters WHERE preset = ? AND active = 1", [preset]).fetchone()
        db.execute("UPDATE parameters SET active = 0 WHERE preset = ? AND active = 1", [preset])
        db.execute(
            "INSERT INTO parameters(preset, parameters, created_at, reviews, log_loss, rmse, active, replaced_id) "
            "VALUES (?, ?, ?, ?, ?, ?, 1, ?)",
            [preset, json.dumps(list(evaluation.parameters)), clock.to_db(now), items,
             evaluation.log_loss, evaluation.rmse, None if active is None else active[0]],
        )  # fmt: skip


def restore_previous(db: Database, settings: Settings, deck: str | None = None) -> str:
    """Go back to the parameters the active ones of ``deck``'s preset replaced; describe it."""
    preset = preset_of(settings, deck)
    label = _label(preset)
    version = parameters_version(db)
    active = db.execute(
        "SELECT id, replaced_id FROM parameters WHERE preset = ? AND active = 1", [preset]
    ).fetchone()
    if active is None:
        return f"{label} already uses the parameters from cards.toml (or the defaults); nothing to restore."
    previous = (
        None
        if active[1] is None
        else db.execute(
            "SELECT id, created_at, parameters FROM parameters WHERE id = ?", [active[1]]
        ).fetchone()
    )
    saved = saved_parameters(db)
    if previous is None:
        del saved[preset]
    else:
        saved[preset] = tuple(json.loads(previous[2]))

    def activate() -> None:
        db.execute("UPDATE parameters SET active = 0 WHERE id = ?", [active[0]])
        if previous is not None:
            db.execute("UPDATE parameters SET active = 1 WHERE id = ?", [previous[0]])

    count = _reschedule(db, settings, saved, version, activate)
    back_to = (
        f"the parameters fitted at {previous[1]}"
        if previous
        else "the parameters from cards.toml (or the defaults)"
    )
    return f"{label} is back to {back_to}; {count} cards rescheduled."


def _reschedule(
    db: Database,
    settings: Settings,
    saved: Mapping[str, tuple[float, ...]],
    version: int,
    write: Callable[[], object],
) -> int:
    """Replay, under the ``saved`` parameters, the cards whose parameters they change; ``write``; one transaction.

    A card's parameters are its deck's: its own preset's fit, else inherited (a deck table that
    sets only limits uses the collection's fit), so the decks to replay are found by comparing
    each deck's parameters before and after. ``version`` is the parameters version the change
    was based on: if another process changed the parameters since, nothing is written.
    """
    from flashcards.scheduler import rebuild

    before, after = with_parameters(settings, saved_parameters(db)), with_parameters(settings, saved)
    decks = [str(deck) for (deck,) in db.execute("SELECT DISTINCT deck FROM cards")]
    changed = [d for d in decks if before.for_deck(d).parameters != after.for_deck(d).parameters]
    ids = None  # every card, when every deck changes
    if len(changed) < len(decks):
        ids = [
            row[0]
            for chunk in (changed[i : i + 500] for i in range(0, len(changed), 500))
            for row in db.execute(
                f"SELECT id FROM cards WHERE deck IN ({', '.join('?' * len(chunk))})", chunk
            )
        ]

    def then() -> None:
        if parameters_version(db) != version:
            raise CardsError("the parameters were changed by another process meanwhile; nothing was saved")
        write()

    return len(rebuild(db, with_parameters(settings, saved), ids, after=then).changed)
