"""The day boundary: UTC instants for FSRS, the local day (from 04:00) for limits and due counts."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

import pytest
import sqlite_utils
from click.testing import CliRunner

from flashcards import clock
from flashcards.cli import cli
from flashcards.compiler import compile_decks
from flashcards.queue import ReviewQueue
from flashcards.settings import DeckSettings, Settings
from flashcards.states import Rating, State
from tests.conftest import answer, make_controller

ONE_NEW_A_DAY = Settings(DeckSettings(new_per_day=1, enable_fuzzing=False, learn_ahead_minutes=0))


@pytest.fixture(autouse=True)
def local_zone_from_env() -> None:
    """Apply $TZ (UTC, from conftest) even if an earlier test changed the process's zone."""
    time.tzset()


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    def use(name: str) -> None:
        monkeypatch.setenv("TZ", name)
        time.tzset()

    yield use
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


@pytest.fixture
def db(
    write_deck: Callable[..., Path], decks: Path, fresh_db: sqlite_utils.Database
) -> sqlite_utils.Database:
    write_deck(
        "d.yaml", "deck: D\nnotes:\n" + "".join(f"  - front: q{i}\n    back: a{i}\n" for i in range(5))
    )
    compile_decks(fresh_db, decks, utc("2026-01-01T00:00:00"))
    return fresh_db


@pytest.mark.parametrize(
    ("instant", "day"),
    [
        ("2026-11-27T23:59:00", date(2026, 11, 27)),
        ("2026-11-28T00:01:00", date(2026, 11, 27)),  # after midnight, still yesterday's study day
        ("2026-11-28T03:59:59", date(2026, 11, 27)),
        ("2026-11-28T04:00:00", date(2026, 11, 28)),
    ],
)
def test_study_day_around_midnight_and_four(zone: Callable[[str], None], instant: str, day: date) -> None:
    zone("UTC")
    assert clock.study_day(utc(instant)) == day


def test_study_day_follows_the_local_zone(zone: Callable[[str], None]) -> None:
    zone("Europe/Berlin")  # UTC+1 in November: 04:00 local is 03:00 UTC
    assert clock.study_day(utc("2026-11-27T02:59:00")) == date(2026, 11, 26)
    assert clock.study_day(utc("2026-11-27T03:00:00")) == date(2026, 11, 27)
    assert clock.next_day_start(utc("2026-11-27T12:00:00")) == utc("2026-11-28T03:00:00")


@pytest.mark.parametrize(
    ("instant", "next_start", "hours"),
    [
        ("2026-03-28T12:00:00", "2026-03-29T02:00:00", 23),  # clocks go forward: a 23-hour study day
        ("2026-10-24T12:00:00", "2026-10-25T03:00:00", 25),  # clocks go back: a 25-hour study day
    ],
)
def test_daylight_saving_days(zone: Callable[[str], None], instant: str, next_start: str, hours: int) -> None:
    zone("Europe/Berlin")
    start = clock.next_day_start(utc(instant))
    assert start == utc(next_start)
    assert start - clock.day_start(clock.study_day(utc(instant))) == timedelta(hours=hours)


@pytest.mark.parametrize("zone_name", ["UTC", "Europe/Berlin", "America/New_York"])
def test_new_limit_resets_at_four_local_time_not_midnight(
    zone: Callable[[str], None], db: sqlite_utils.Database, zone_name: str
) -> None:
    zone(zone_name)
    evening = datetime(2026, 3, 28, 22, 0).astimezone().astimezone(UTC)  # local 22:00, before the DST night
    session = make_controller(db, ONE_NEW_A_DAY, now=evening)
    assert session.card() is not None
    answer(session, Rating.GOOD)
    after_midnight = datetime(2026, 3, 29, 1, 30).astimezone().astimezone(UTC)
    before_four = datetime(2026, 3, 29, 3, 59).astimezone().astimezone(UTC)
    at_four = datetime(2026, 3, 29, 4, 0).astimezone().astimezone(UTC)
    assert ReviewQueue(db, ONE_NEW_A_DAY).counts(after_midnight).new == 0
    assert ReviewQueue(db, ONE_NEW_A_DAY).counts(before_four).new == 0
    assert ReviewQueue(db, ONE_NEW_A_DAY).counts(at_four).new == 1


def test_review_due_before_the_next_four_oclock_is_due_today(
    zone: Callable[[str], None], db: sqlite_utils.Database
) -> None:
    zone("Europe/Berlin")
    now = utc("2026-11-27T09:00:00")
    for card_id, day in [("basic:q0/card", date(2026, 11, 27)), ("basic:q1/card", date(2026, 11, 28))]:
        db.execute(
            "UPDATE cards SET state = ?, stability = 3, difficulty = 5, due = ?, due_day = ?, last_review = ? "
            "WHERE id = ?",
            [
                State.REVIEW,
                clock.to_db(clock.day_start(day)),
                day.toordinal(),
                clock.to_db(now - timedelta(days=3)),
                card_id,
            ],
        )
    queue = ReviewQueue(db, Settings(DeckSettings(new_per_day=0)))
    assert queue.counts(now).review == 1
    assert queue.counts(utc("2026-11-28T03:00:00")).review == 2


def test_cards_now_replaces_the_clock(
    monkeypatch: pytest.MonkeyPatch, write_deck: Callable[..., Path]
) -> None:
    monkeypatch.setenv("CARDS_NOW", "2030-05-01T10:00:00+02:00")
    assert clock.now() == utc("2030-05-01T08:00:00")
    deck = write_deck("d.yaml", "deck: D\nnotes:\n  - front: q\n    back: a\n")
    (deck.parent / "cards.toml").write_text("enable_fuzzing = false\n", encoding="utf-8")  # no step fuzz
    runner = CliRunner()
    assert runner.invoke(cli, ["review"], input="\n3\nq\n").exit_code == 0
    monkeypatch.setenv("CARDS_NOW", "2030-05-01T08:09:00+00:00")
    out = runner.invoke(cli, ["status", "--json"]).stdout
    assert '"next_learning": "2030-05-01T08:10:00.000000+00:00"' in out


@pytest.mark.parametrize(
    "text", ["0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00", "1969-12-31"]
)
def test_cards_now_outside_the_supported_years_is_a_clean_error(
    monkeypatch: pytest.MonkeyPatch, decks: Path, text: str
) -> None:
    monkeypatch.setenv("CARDS_NOW", text)
    result = CliRunner().invoke(cli, ["status"])
    assert result.exit_code == 1
    assert result.stderr == f"error: $CARDS_NOW: {text!r} is outside the years 1970 to 9000\n"


def test_cards_now_at_the_edges_of_the_supported_years_works(
    monkeypatch: pytest.MonkeyPatch, decks: Path
) -> None:
    for text in ("1970-01-01T00:00:00+00:00", "9000-12-31T23:59:59+00:00"):
        monkeypatch.setenv("CARDS_NOW", text)
        assert CliRunner().invoke(cli, ["status"]).exit_code == 0


def test_review_cards_stay_on_their_day_through_a_move_and_a_dst_change(
    zone: Callable[[str], None], db: sqlite_utils.Database
) -> None:
    """Answered in Berlin, reviewed in New York: each card is due on the local day it was given."""
    from flashcards import scheduler

    zone("Europe/Berlin")
    plain = Settings(DeckSettings(enable_fuzzing=False, new_per_day=100))
    evening = utc("2026-03-20T05:00:00")  # 06:00 in Berlin, nine days before the DST change
    given = {}
    for index in range(5):
        card_id = f"basic:q{index}/card"
        scheduler.answer(db, card_id, Rating(1 + index % 4), evening, 1000, plain)
        scheduler.answer(db, card_id, Rating.EASY, evening + timedelta(minutes=15), 1000, plain)
        state = scheduler.read_state(db, card_id)
        assert state.due_day is not None
        given[card_id] = date.fromordinal(state.due_day)
    zone("America/New_York")
    for day in sorted(set(given.values())):
        # late on the evening before in New York it is already that day in Berlin: not due yet
        evening_before = (
            datetime.combine(day - timedelta(days=1), time_of_day(22)).astimezone().astimezone(UTC)
        )
        morning = datetime.combine(day, time_of_day(9)).astimezone().astimezone(UTC)
        before = sum(d < day for d in given.values())
        on_the_day = sum(d <= day for d in given.values())
        assert ReviewQueue(db, plain).counts(evening_before).review == before
        assert ReviewQueue(db, plain).counts(morning).review == on_the_day
    assert len({day for day in given.values()}) > 1


def time_of_day(hour: int) -> dtime:
    return dtime(hour=hour)


def test_study_days_agree_with_the_calendar_across_a_year_in_any_order(zone: Callable[[str], None]) -> None:
    zone("Europe/Berlin")
    days = clock.StudyDays(4)
    rng = __import__("random").Random(7)
    instants = [
        utc("2026-01-01T00:00:00") + timedelta(minutes=rng.randrange(0, 366 * 24 * 60)) for _ in range(3000)
    ]
    for instant in instants:  # random order: the known days grow both ways
        assert days.day(instant) == clock.study_day(instant).toordinal()
        assert days.end(instant) == clock.next_day_start(instant)
    fresh = clock.StudyDays(4)  # the POSIX-time forms, from a calendar that has to grow for each
    for instant in instants:
        stamp = instant.timestamp()
        day, end = fresh.day_and_end(stamp)
        assert (day, end) == (clock.study_day(instant).toordinal(), clock.next_day_start(instant).timestamp())
        assert (day, end) == (days.day_of_stamp(stamp), days.end_stamp(stamp))
    saturday, monday = utc("2026-03-28T20:00:00"), utc("2026-03-30T01:59:00")  # 21:00 CET, 03:59 CEST
    assert days.elapsed(saturday, monday) == 1 and days.elapsed(saturday, monday + timedelta(minutes=2)) == 2


def test_a_move_to_another_zone_leaves_the_replayed_history_as_it_was(
    zone: Callable[[str], None], db: sqlite_utils.Database
) -> None:
    """Each answer logs when its study day ended: replay counts days from that, not from today's zone."""
    from flashcards import scheduler

    zone("Europe/Berlin")
    plain = Settings(DeckSettings(enable_fuzzing=False, new_per_day=100))
    now = utc("2026-03-10T02:00:00")  # 03:00 in Berlin, before its rollover; 21:00 in New York
    for day in range(12):
        for index in range(5):
            card_id = f"basic:q{index}/card"
            state = scheduler.read_state(db, card_id)
            if state.state == State.NEW or (state.due_day or 0) <= clock.study_day(now).toordinal():
                scheduler.answer(db, card_id, Rating(1 + (day + index) % 4), now, 1000, plain)
        now += timedelta(
            hours=2 if day % 2 == 0 else 46
        )  # 03:00 then 05:00 Berlin: a day apart there, not in New York
    assert scheduler.rebuild(db, plain, write=False).changed == []
    zone("America/New_York")
    assert scheduler.rebuild(db, plain, write=False).changed == []


def test_a_millisecond_is_written_as_to_db_writes_its_instant() -> None:
    """The import's formatter of Anki ids gives the text ``to_db`` gives, before 1970, across days
    and at the ends of a day and a second."""
    import random

    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    generator = random.Random(7)
    values = [0, 999, 1000, 86_399_999, 86_400_000, -1, -86_400_001, 1_772_445_599_999, 253_402_300_799_999]
    values += [generator.randrange(-(10**12), 4 * 10**12) for _ in range(20_000)]
    for milliseconds in values:
        expected = clock.to_db(epoch + timedelta(milliseconds=milliseconds))
        assert clock.millisecond_to_db(milliseconds) == expected, milliseconds
