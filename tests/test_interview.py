"""An interview date: its settings, intervals aimed at the day, paced new cards, the simulated goal."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils

from flashcards import interview
from flashcards.clock import StudyDays
from flashcards.compiler import compile_decks
from flashcards.errors import SourceError
from flashcards.queue import deck_status
from flashcards.rules import Rules
from flashcards.settings import DeckSettings, Settings, load_settings
from flashcards.simulate import prepare
from flashcards.states import CardState, Rating, State
from tests.conftest import answer, make_controller

START = datetime(2026, 12, 1, 9, tzinfo=UTC)


def write_settings(decks: Path, text: str) -> None:
    (decks.parent / "cards.toml").write_text(text, encoding="utf-8")


def test_an_interview_date_is_set_at_the_top_or_per_deck_and_inherited(decks: Path) -> None:
    write_settings(
        decks,
        'interview_retention = 0.92\n\n[deck."MLOps"]\ninterview_date = 2026-12-15\n\n'
        '[deck."MLOps::Teams"]\nnew_per_day = 5\n\n[deck."Other"]\ninterview_date = "2027-01-10"\n',
    )
    settings = load_settings(decks)
    assert settings.for_deck(None).interview_date is None
    assert settings.for_deck("MLOps::Teams::Deep").interview_date == date(2026, 12, 15)
    assert settings.for_deck("MLOps::Teams").interview_retention == 0.92
    assert settings.for_deck("Other").interview_date == date(2027, 1, 10)
    assert DeckSettings().interview_retention == 0.9


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('interview_date = "15/12/2026"', "1:1: error: interview_date: expected a date such as 2026-12-15"),
        ("interview_date = 2026-12-15T09:00:00", "1:1: error: interview_date: expected a date such as"),
        ('\n[deck."X"]\ninterview_retention = 1.5', "3:1: error: interview_retention: must be between 0.5"),
        ("interview_date = 20", "1:1: error: interview_date: expected a date such as 2026-12-15, got 20"),
    ],
)
def test_a_bad_interview_setting_is_a_located_error(decks: Path, text: str, expected: str) -> None:
    write_settings(decks, text)
    with pytest.raises(SourceError) as caught:
        load_settings(decks)
    assert expected in str(caught.value)


def review_card(stability: float, last: datetime, interval: int) -> CardState:
    days = StudyDays(4, UTC)
    return CardState(
        State.REVIEW, None, stability, 5.0, days.start(days.day(last) + interval), last, 5, 0,
        days.day(last) + interval,
    )  # fmt: skip


def good_days(settings: DeckSettings, card: CardState, now: datetime) -> int:
    days = StudyDays(4, UTC)
    after = Rules(settings, days).next_states(card, now)[Rating.GOOD].card
    assert after.due_day is not None
    return after.due_day - days.day(now)


def test_an_interval_that_would_leave_recall_below_the_target_on_the_day_is_aimed_before_it() -> None:
    plain = DeckSettings(enable_fuzzing=False)
    card = review_card(20.0, START - timedelta(days=20), 20)
    normal = good_days(plain, card, START)
    assert normal > 30  # FSRS alone: back in over a month
    day = (START + timedelta(days=40)).date()
    aimed = good_days(replace(plain, interview_date=day, interview_retention=0.95), card, START)
    assert aimed == 40 - interview.AIM_LEAD
    # recall on the day at the target anyway: FSRS's interval stands
    assert good_days(replace(plain, interview_date=day, interview_retention=0.9), card, START) == normal
    soon = (START + timedelta(days=14)).date()
    assert good_days(replace(plain, interview_date=soon, interview_retention=0.95), card, START) == normal
    # on the day and after it, scheduling is Anki's again
    for past in (START.date(), (START - timedelta(days=5)).date()):
        assert good_days(replace(plain, interview_date=past), card, START) == normal


def test_on_the_eve_a_card_below_the_target_on_the_day_is_kept_for_another_review_that_day() -> None:
    plain = DeckSettings(enable_fuzzing=False)
    days = StudyDays(4, UTC)
    eve = START.date() + timedelta(days=1)
    # a lapse relearnt on the eve: its last step passed leaves stability under a day
    card = CardState(State.RELEARNING, 0, 0.4, 7.0, START, START - timedelta(minutes=10), 5, 1)
    rules = Rules(replace(plain, interview_date=eve), days)
    kept = rules.next_states(card, START, 0.5)[Rating.GOOD]
    assert kept.card.state == State.RELEARNING and kept.card.due_day is None
    assert kept.interval == plain.relearning_steps[-1] and kept.card.due == START + kept.interval
    assert rules.model.retrievability(kept.card.stability or 0.0, 1) < 0.9
    # answered again that day, the same-day update raises stability until recall holds for the day
    state, now, answers = kept.card, START, 1
    while state.due_day is None:
        assert state.due is not None and days.day(state.due) == days.day(START) and answers < 100
        now = state.due
        state = rules.next_states(state, now, 0.5)[Rating.GOOD].card
        answers += 1
    assert state.state == State.REVIEW and state.due_day == days.day(START) + 1
    assert rules.model.retrievability(state.stability or 0.0, 1) >= 0.9
    # two days before the day, or without a date, the card gets a whole-day interval as before
    for settings in (replace(plain, interview_date=eve + timedelta(days=1)), plain):
        after = Rules(settings, days).next_states(card, START, 0.5)[Rating.GOOD].card
        assert after.state == State.REVIEW and after.due_day == days.day(START) + 1
    # a strong card keeps its interval (recall on the day holds)
    strong = review_card(20.0, START - timedelta(days=20), 20)
    assert rules.next_states(strong, START, 0.5)[Rating.GOOD].card.state == State.REVIEW


def test_the_paced_new_cards_introduce_everything_by_a_few_days_before_the_date() -> None:
    today = START.date().toordinal()
    day = today + 21
    assert interview.paced_new(20, 140, today, None) == 20
    assert interview.paced_new(5, 140, today, day) == 8  # 140 over 18 days
    assert interview.paced_new(5, 1000, today, day) == 5 * interview.PACE_FACTOR  # the cap
    assert interview.paced_new(20, 10, today, day) == 20  # never lowered
    assert interview.paced_new(5, 30, day - 1, day) == 15  # past the last day to introduce: all, capped
    assert interview.paced_new(5, 30, day, day) == 5  # the day itself: normal again
    learner = prepare(140, 21, DeckSettings(new_per_day=5, interview_date=date.fromordinal(day)), start=START)
    assert learner.studied == 140
    assert sum(learner.new_per_day[: 21 - interview.INTRO_LEAD + 1]) == 140
    assert max(learner.new_per_day) == 8
    unpaced = prepare(140, 21, DeckSettings(new_per_day=5), start=START)
    assert unpaced.studied == 105  # without the date, 35 cards would still be new on the day


@pytest.mark.parametrize(("days", "cards"), [(14, 143), (21, 140)])
def test_every_studied_card_is_at_the_target_on_the_day_on_all_40_seeds(days: int, cards: int) -> None:
    day = (START + timedelta(days=days)).date()
    for seed in range(40):
        aimed = prepare(cards, days, DeckSettings(interview_date=day), start=START, seed=seed)
        assert aimed.studied == cards
        assert aimed.lowest >= 0.9, seed


@pytest.mark.parametrize(("days", "cards"), [(14, 143), (21, 140)])
@pytest.mark.parametrize("seed", range(3))
def test_the_simulated_learner_is_ready_on_the_day_with_fewer_reviews_than_at_095(
    days: int, cards: int, seed: int
) -> None:
    day = (START + timedelta(days=days)).date()
    aimed = prepare(cards, days, DeckSettings(interview_date=day), start=START, seed=seed)
    raised = prepare(cards, days, DeckSettings(desired_retention=0.95), start=START, seed=seed)
    plain = prepare(cards, days, DeckSettings(), start=START, seed=seed)
    assert aimed.studied == raised.studied == plain.studied == cards
    assert aimed.below(0.9) == 0 and aimed.lowest >= 0.9
    assert aimed.reviews < raised.reviews
    assert plain.below(0.9) > 0  # the date is what makes the difference
    assert aimed.reviews > plain.reviews


def test_status_and_the_session_offer_the_paced_new_cards(
    write_deck: Callable[..., Path], decks: Path, fresh_db: sqlite_utils.Database
) -> None:
    write_deck(
        "prep.yaml",
        "deck: Prep\nnotes:\n" + "".join(f"  - front: Q{i}?\n    back: A{i}.\n" for i in range(40)),
    )
    compile_decks(fresh_db, decks, START)
    day = (START + timedelta(days=10)).date()  # 8 days to introduce 40 cards: 5 a day
    paced = Settings(DeckSettings(new_per_day=2), {"Prep": {"interview_date": day}})
    plain = Settings(DeckSettings(new_per_day=2))
    assert [d.counts.new for d in deck_status(fresh_db, plain, START)] == [2]
    assert [d.counts.new for d in deck_status(fresh_db, paced, START)] == [5]
    session = make_controller(fresh_db, paced, now=START)
    assert session.counts().new == 5
    assert session.card() is not None
    answer(session, Rating.EASY)
    assert session.counts().new == 4  # the day's pace holds as cards are introduced
    assert [d.counts.new for d in deck_status(fresh_db, paced, START)] == [4]
    tight = Settings(DeckSettings(new_per_day=1), {"Prep": {"interview_date": day}})
    assert [d.counts.new for d in deck_status(fresh_db, tight, START)] == [interview.PACE_FACTOR - 1]


def test_status_shows_readiness_and_says_when_the_date_cannot_be_met(
    write_deck: Callable[..., Path], decks: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from click.testing import CliRunner

    from flashcards.cli import cli

    write_deck(
        "prep.yaml",
        "deck: Prep\nnotes:\n" + "".join(f"  - front: Q{i}?\n    back: A{i}.\n" for i in range(40)),
    )
    (decks.parent / "cards.toml").write_text(
        'new_per_day = 2\n\n[deck."Prep"]\ninterview_date = 2026-12-06\n'
    )
    monkeypatch.setenv("CARDS_NOW", START.isoformat())
    runner = CliRunner()
    assert runner.invoke(cli, ["review"], input="\n4\n\n4\nq\n").exit_code == 0
    result = runner.invoke(cli, ["status"])
    assert result.exit_code == 0
    assert "Prep       2026-12-06     5    " in result.output
    assert (
        "Prep: 38 new cards left, at most 6 a day (3 x new_per_day) for 3 days: the date cannot be met "
        "at this pace; raise new_per_day or suspend cards you will not need." in result.output
    )
    data = json.loads(runner.invoke(cli, ["status", "--json"]).output)
    ready = data["decks"][0]["interview"]
    assert ready["date"] == "2026-12-06" and ready["days_left"] == 5
    assert ready["studied"] == 2 and 0 < ready["predicted_recall"] < 1
    assert ready["below_target"] == 0  # two cards answered Easy: recall holds for five days
    assert (ready["new_left"], ready["new_per_day"], ready["can_meet"]) == (38, 6, False)
    assert data["interview"] is None  # no date for the collection as a whole


def test_a_session_answers_toward_the_date_and_its_buttons_say_so(
    write_deck: Callable[..., Path], decks: Path, fresh_db: sqlite_utils.Database
) -> None:
    write_deck("prep.yaml", "deck: Prep\nnotes:\n  - front: Q?\n    back: A.\n")
    compile_decks(fresh_db, decks, START)
    plain = DeckSettings(enable_fuzzing=False)
    day = (START + timedelta(days=6)).date()
    aimed = Settings(plain, {"Prep": {"interview_date": day, "interview_retention": 0.95}})

    def easy_label(settings: Settings) -> str:
        session = make_controller(fresh_db, settings, now=START)
        assert session.card() is not None
        session.reveal()
        return {c.rating: c.label for c in session.choices()}[Rating.EASY]

    assert easy_label(Settings(plain)) == "8d"
    assert easy_label(aimed) == f"{6 - interview.AIM_LEAD}d"  # recall on the day would be 0.92
    session = make_controller(fresh_db, aimed, now=START)
    assert session.card() is not None
    assert answer(session, Rating.EASY) == "Easy: next in 3d"


def test_on_the_eve_the_session_shows_a_weak_card_again_that_day_and_the_log_replays_to_it(
    write_deck: Callable[..., Path], decks: Path, fresh_db: sqlite_utils.Database
) -> None:
    from flashcards.scheduler import rebuild
    from tests.conftest import ManualClock

    write_deck("prep.yaml", "deck: Prep\nnotes:\n  - front: Q?\n    back: A.\n")
    compile_decks(fresh_db, decks, START)
    eve = Settings(DeckSettings(), {"Prep": {"interview_date": (START + timedelta(days=1)).date()}})
    now = ManualClock(START)
    session = make_controller(fresh_db, eve, now=now)
    ratings = [Rating.AGAIN, Rating.GOOD, Rating.GOOD]
    while session.card() is not None:
        answer(session, ratings.pop(0) if ratings else Rating.GOOD)
        now.now += timedelta(minutes=11)
        assert now.now < START + timedelta(hours=12)
    row = fresh_db.execute("SELECT state, stability, due_day, reps FROM cards").fetchone()
    assert row[0] == State.REVIEW and row[2] == START.date().toordinal() + 1
    assert row[3] > 3  # kept past the learning steps for more answers that day
    rules = Rules(DeckSettings(), StudyDays(4))
    assert rules.model.retrievability(row[1], 1) >= 0.9
    assert rebuild(fresh_db, eve, write=False).changed == []
