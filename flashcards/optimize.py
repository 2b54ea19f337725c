"""Fit FSRS-6 parameters to the user's own review log, keep them, and go back to earlier ones.

Training items are built as the FSRS optimizer expects: one item per review that comes a day or
more after the previous one (whole 24-hour days, as py-fsrs counts them), holding the card's
history up to and including that review. Same-day reviews (learning steps) stay in the history
with a gap of 0, so the short-term parameters are fitted too. Parameters are kept per preset:
``''`` for the collection, or a deck with its own table in ``cards.toml``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from typing import Any

import sqlite_utils

from flashcards import clock, reviewlog
from flashcards.collection import COLLECTION_PRESET, with_saved_parameters
from flashcards.decks import in_deck, lineage, sql_filter
from flashcards.errors import CardsError
from flashcards.settings import PARAMETER_COUNT, Settings
from flashcards.states import State

MINIMUM_ITEMS = 400
COLLECTION = COLLECTION_PRESET


@dataclass(frozen=True)
class Evaluation:
    """How well a set of parameters predicts the log: log loss and RMSE over bins."""

    parameters: tuple[float, ...]
    log_loss: float
    rmse: float


@dataclass
class PresetResult:
    """What optimizing one preset found and did."""

    preset: str
    reviews: int
    items: int
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
            "saved": self.saved,
            "rescheduled": self.rescheduled,
            "message": self.message,
        }
        for name in ("default", "current", "fitted"):
            found: Evaluation | None = getattr(self, name)
            data[name] = (
                None
                if found is None
                else {"log_loss": found.log_loss, "rmse": found.rmse, "parameters": list(found.parameters)}
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


def training_items(
    db: sqlite_utils.Database, condition: str = "1", params: Sequence[Any] = ()
) -> tuple[list[Any], int]:
    """Return (FSRS training items, reviews in the log) for the cards matching ``condition`` on ``c``.

    A card whose log does not start with its first answer (state before = new) is skipped.
    """
    from fsrs_rs_python import FSRSItem, FSRSReview

    rows = db.execute(
        "SELECT r.card_id, r.rating, r.reviewed_at, r.state_before FROM reviews r "
        f"JOIN cards c ON c.id = r.card_id WHERE {condition} ORDER BY {reviewlog.log_order('r')}",
        list(params),
    )
    items: list[Any] = []
    count = 0
    for _, history in groupby(rows, key=lambda row: row[0]):
        reviews: list[Any] = []
        previous: datetime | None = None
        complete = True
        for _, rating, reviewed_at, state_before in history:
            count += 1
            complete = complete and (previous is not None or state_before == State.NEW)
            if not complete:
                continue
            at = datetime.fromisoformat(reviewed_at)
            gap = 0 if previous is None else max(0, (at - previous).days)
            reviews.append(FSRSReview(rating, gap))
            if gap > 0:
                items.append(FSRSItem(list(reviews)))
            previous = at
    return items, count


def evaluate(items: Sequence[Any], parameters: Sequence[float]) -> Evaluation:
    """Return the log loss and RMSE (bins) of ``parameters`` on ``items``."""
    from fsrs_rs_python import FSRS

    result = FSRS(list(parameters)).evaluate(list(items))
    return Evaluation(tuple(parameters), float(result.log_loss), float(result.rmse_bins))


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
    db: sqlite_utils.Database,
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


def _optimize_preset(
    db: sqlite_utils.Database,
    settings: Settings,
    preset: str,
    now: datetime,
    dry_run: bool,
    progress: Callable[[str], None],
) -> PresetResult:
    label = f"deck {preset!r}" if preset else "the collection"
    progress(f"{label}: reading the review log")
    condition, params = _scope(settings, preset)
    items, reviews = training_items(db, condition, params)
    outcome = PresetResult(preset, reviews, len(items))
    if len(items) < MINIMUM_ITEMS:
        outcome.message = (
            f"{label}: {len(items)} reviews a day or more apart ({reviews} in all); at least "
            f"{MINIMUM_ITEMS} are needed to fit parameters. Keeping the current ones."
        )
        return outcome
    deck_settings = with_saved_parameters(db, settings).for_deck(preset or None)
    progress(f"{label}: evaluating the default parameters on {len(items)} items")
    outcome.default = evaluate(items, default_parameters())
    current = deck_settings.parameters
    if current and tuple(current) != outcome.default.parameters:
        outcome.current = evaluate(items, current)
    progress(f"{label}: fitting {PARAMETER_COUNT} parameters on {len(items)} items")
    try:
        fitted = fit(items, len(deck_settings.relearning_steps))
    except Exception as error:  # fsrs-rs reports unusable data as a plain exception
        outcome.message = (
            f"{label}: the optimizer could not fit this log ({error}). Keeping the current ones."
        )
        return outcome
    progress(f"{label}: evaluating the fitted parameters")
    outcome.fitted = evaluate(items, fitted)
    baseline = outcome.current or outcome.default
    if outcome.fitted.log_loss >= baseline.log_loss:
        outcome.message = f"{label}: the fitted parameters are no better; keeping the current ones."
        return outcome
    if dry_run:
        outcome.message = f"{label}: better parameters found; --dry-run, so nothing was saved."
        return outcome
    save_parameters(db, preset, outcome.fitted, len(items), now)
    outcome.saved = True
    progress(f"{label}: rescheduling cards from their history")
    outcome.rescheduled = _reschedule(db, settings, condition, params)
    outcome.message = (
        f"{label}: saved the fitted parameters; {outcome.rescheduled} cards rescheduled from their "
        "history (cards optimize --restore goes back)."
    )
    return outcome


def save_parameters(
    db: sqlite_utils.Database, preset: str, evaluation: Evaluation, items: int, now: datetime
) -> None:
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


def restore_previous(db: sqlite_utils.Database, settings: Settings, deck: str | None = None) -> str:
    """Go back to the parameters the active ones of ``deck``'s preset replaced; describe it."""
    preset = preset_of(settings, deck)
    label = f"deck {preset!r}" if preset else "the collection"
    active = db.execute(
        "SELECT id, replaced_id FROM parameters WHERE preset = ? AND active = 1", [preset]
    ).fetchone()
    if active is None:
        return f"{label} already uses the parameters from cards.toml (or the defaults); nothing to restore."
    previous = (
        None
        if active[1] is None
        else db.execute("SELECT id, created_at FROM parameters WHERE id = ?", [active[1]]).fetchone()
    )
    with db.atomic():
        db.execute("UPDATE parameters SET active = 0 WHERE id = ?", [active[0]])
        if previous is not None:
            db.execute("UPDATE parameters SET active = 1 WHERE id = ?", [previous[0]])
    condition, params = _scope(settings, preset)
    count = _reschedule(db, settings, condition, params)
    back_to = (
        f"the parameters fitted at {previous[1]}"
        if previous
        else "the parameters from cards.toml (or the defaults)"
    )
    return f"{label} is back to {back_to}; {count} cards rescheduled."


def _reschedule(db: sqlite_utils.Database, settings: Settings, condition: str, params: list[Any]) -> int:
    """Replay the history of the cards in scope with the parameters now in force."""
    from flashcards.scheduler import rebuild

    ids = [row[0] for row in db.execute(f"SELECT c.id FROM cards c WHERE {condition}", params)]
    return len(rebuild(db, with_saved_parameters(db, settings), ids).changed)
