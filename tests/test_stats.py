"""cards stats: figures checked against fixtures computed by hand."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlite_utils
from click.testing import CliRunner

from flashcards import clock
from flashcards.cli import cli
from flashcards.stats import collection_stats, render, retrievability

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # study day 2026-11-27 (TZ=UTC, day starts 04:00)


@pytest.fixture(autouse=True)
def utc_zone() -> None:
    """Apply $TZ (UTC, from conftest) even if an earlier test changed the process's zone."""
    time.tzset()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def add_card(
    db: sqlite_utils.Database,
    card_id: str,
    *,
    deck: str = "D",
    state: int = 2,
    due: datetime | None = None,
    last_review: datetime | None = None,
    stability: float | None = 10.0,
    lapses: int = 0,
    suspended: int = 0,
    retired: bool = False,
) -> None:
    stamp = clock.to_db(NOW)
    db.execute(
        "INSERT OR IGNORE INTO notes(id, type, deck, fields, tags, source_file, source_line, content_hash, "
        "created_at, modified_at) VALUES (?, 'basic', ?, '{}', '[]', 'd.yaml', 1, 'x', ?, ?)",
        [card_id, deck, stamp, stamp],
    )
    db.execute(
        "INSERT INTO cards(id, note_id, template, ordinal, deck, front, back, position, created_at, modified_at, "
        "state, stability, difficulty, due, last_review, lapses, suspended, retired_at, due_day) "
        "VALUES (?, ?, 'card', 0, ?, ?, 'back', 0, ?, ?, ?, ?, 5.0, ?, ?, ?, ?, ?, ?)",
        [
            card_id, card_id, deck, f"Front of {card_id}", stamp, stamp, state,
            None if state == 0 else stability,
            clock.to_db(due) if due else None,
            clock.to_db(last_review) if last_review else None,
            lapses, suspended, stamp if retired else None,
            clock.study_day(due).toordinal() if due and state == 2 else None,  # review cards: due on a day
        ],
    )  # fmt: skip


def add_review(
    db: sqlite_utils.Database,
    card_id: str,
    when: datetime,
    rating: int = 3,
    *,
    state_before: int = 2,
    duration_ms: int = 5000,
) -> None:
    db.execute(
        "INSERT INTO reviews(card_id, rating, reviewed_at, duration_ms, due, state_before, state, "
        "stability, difficulty) VALUES (?, ?, ?, ?, ?, ?, 2, 10, 5)",
        [
            card_id,
            rating,
            clock.to_db(when),
            duration_ms,
            clock.to_db(when + timedelta(days=3)),
            state_before,
        ],
    )


def test_cards_by_state_with_mature_at_21_days(fresh_db: sqlite_utils.Database) -> None:
    last = at("2026-11-01T10:00:00")
    add_card(fresh_db, "new", state=0)
    add_card(fresh_db, "learning", state=1, due=NOW, last_review=NOW)
    add_card(fresh_db, "relearning", state=3, due=NOW, last_review=NOW)
    add_card(fresh_db, "young", due=last + timedelta(days=20), last_review=last)
    add_card(fresh_db, "mature", due=last + timedelta(days=21), last_review=last)
    add_card(fresh_db, "suspended", due=last + timedelta(days=40), last_review=last, suspended=1)
    add_card(fresh_db, "retired", due=last + timedelta(days=40), last_review=last, retired=True)
    cards = collection_stats(fresh_db, NOW)["cards"]
    assert cards == {
        "new": 1,
        "learning": 2,
        "young": 1,
        "mature": 1,
        "suspended": 1,
        "retired": 1,
        "total": 6,
    }


def test_true_retention_counts_only_review_state_and_respects_the_04_00_boundary(
    fresh_db: sqlite_utils.Database,
) -> None:
    add_card(fresh_db, "c", due=NOW, last_review=NOW)
    add_review(fresh_db, "c", at("2026-11-27T05:00:00"), 3)  # today
    add_review(fresh_db, "c", at("2026-11-27T03:59:00"), 1)  # study day 26
    add_review(fresh_db, "c", at("2026-11-21T04:00:00"), 2)  # first day of the 7-day window
    add_review(fresh_db, "c", at("2026-11-21T03:59:00"), 3)  # study day 20: 30-day window only
    add_review(fresh_db, "c", at("2026-10-29T04:00:00"), 1)  # first day of the 30-day window
    add_review(fresh_db, "c", at("2026-10-29T03:59:00"), 4)  # 365-day window only
    add_review(fresh_db, "c", at("2026-11-27T06:00:00"), 1, state_before=1)  # learning: not counted
    add_review(fresh_db, "c", at("2025-11-28T03:59:00"), 1)  # 365 days + 1 minute ago: outside
    retention = collection_stats(fresh_db, NOW, desired_retention=0.85)["retention"]
    assert retention == {
        "desired": 0.85,
        "last_7_days": {"reviews": 3, "passed": 2, "retention": 0.6667},
        "last_30_days": {"reviews": 5, "passed": 3, "retention": 0.6},
        "last_365_days": {"reviews": 6, "passed": 4, "retention": 0.6667},
    }


def test_retention_without_reviews_is_none(fresh_db: sqlite_utils.Database) -> None:
    window = collection_stats(fresh_db, NOW)["retention"]["last_7_days"]
    assert window == {"reviews": 0, "passed": 0, "retention": None}


def test_today_counts_every_review_since_the_day_started(fresh_db: sqlite_utils.Database) -> None:
    add_card(fresh_db, "c", due=NOW, last_review=NOW)
    add_review(fresh_db, "c", at("2026-11-27T03:59:59"), 3, duration_ms=9000)  # yesterday
    add_review(fresh_db, "c", at("2026-11-27T04:00:00"), 1, state_before=0, duration_ms=4000)
    add_review(fresh_db, "c", at("2026-11-27T08:59:00"), 3, duration_ms=6500)
    stats = collection_stats(fresh_db, NOW)
    assert stats["today"] == {"reviews": 2, "again": 1, "seconds": 10.5}
    assert stats["average_seconds"] == round((9000 + 4000 + 6500) / 3 / 1000, 1)


def test_forecast_puts_overdue_cards_today_and_uses_study_days(fresh_db: sqlite_utils.Database) -> None:
    last = at("2026-11-01T10:00:00")
    for card_id, due in [
        ("overdue", at("2026-11-20T10:00:00")),
        ("tonight", at("2026-11-27T23:00:00")),
        ("before-4am", at("2026-11-28T03:59:00")),  # still study day 27
        ("tomorrow", at("2026-11-28T04:00:00")),
        ("last-day", at("2026-12-27T03:00:00")),  # study day 2026-12-26 = today + 29
        ("too-far", at("2026-12-27T04:00:00")),
    ]:
        add_card(fresh_db, card_id, due=due, last_review=last)
    add_card(fresh_db, "suspended", due=NOW, last_review=last, suspended=1)
    add_card(fresh_db, "learning", state=1, due=at("2026-11-27T09:10:00"), last_review=NOW)
    add_card(fresh_db, "new", state=0)
    forecast = collection_stats(fresh_db, NOW)["forecast"]
    assert len(forecast) == 30
    assert forecast[0] == {"date": "2026-11-27", "due": 4}
    assert forecast[1] == {"date": "2026-11-28", "due": 1}
    assert forecast[29] == {"date": "2026-12-26", "due": 1}
    assert sum(day["due"] for day in forecast) == 6


def test_streaks_count_study_days_and_forgive_an_unfinished_today(fresh_db: sqlite_utils.Database) -> None:
    add_card(fresh_db, "c", due=NOW, last_review=NOW)
    for day in (1, 2, 3, 4, 10, 11, 24, 25):  # November; a run of 4, then 2, then 25-26 below
        add_review(fresh_db, "c", at(f"2026-11-{day:02d}T12:00:00"))
    add_review(fresh_db, "c", at("2026-11-27T03:30:00"))  # before 04:00: study day 26
    stats = collection_stats(fresh_db, NOW, days=30)
    assert stats["streak"] == {"current": 3, "longest": 4}
    activity = stats["activity"]
    assert len(activity) == 27  # the history starts on November 1
    assert activity[-1] == {"date": "2026-11-27", "reviews": 0}
    assert activity[-2] == {"date": "2026-11-26", "reviews": 1}
    add_review(fresh_db, "c", at("2026-11-27T04:00:00"))
    assert collection_stats(fresh_db, NOW)["streak"] == {"current": 4, "longest": 4}
    later = NOW + timedelta(days=2)
    assert collection_stats(fresh_db, later)["streak"] == {"current": 0, "longest": 4}


@pytest.fixture
def tokyo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


def test_days_are_local_study_days(fresh_db: sqlite_utils.Database, tokyo: None) -> None:
    now = at("2026-11-27T09:00:00")  # 18:00 in Tokyo: study day 27 began at 2026-11-26T19:00Z
    add_card(fresh_db, "c", due=now, last_review=now)
    add_review(fresh_db, "c", at("2026-11-26T18:59:00"), 1)  # 03:59 in Tokyo: study day 26
    add_review(fresh_db, "c", at("2026-11-26T19:00:00"), 3)  # 04:00 in Tokyo: study day 27
    stats = collection_stats(fresh_db, now, days=2)
    assert stats["study_day"] == "2026-11-27"
    assert stats["today"]["reviews"] == 1
    assert stats["activity"] == [
        {"date": "2026-11-26", "reviews": 1},
        {"date": "2026-11-27", "reviews": 1},
    ]
    assert stats["streak"] == {"current": 2, "longest": 2}


def test_deck_filter_includes_sub_decks_only(fresh_db: sqlite_utils.Database) -> None:
    for card_id, deck in (("a", "Lang"), ("b", "Lang::Verbs"), ("c", "Language"), ("d", "Other")):
        add_card(fresh_db, card_id, deck=deck, state=0)
        add_review(fresh_db, card_id, at("2026-11-27T05:00:00"))
    stats = collection_stats(fresh_db, NOW, deck="Lang")
    assert stats["cards"]["new"] == 2
    assert stats["today"]["reviews"] == 2
    assert stats["retention"]["last_7_days"]["reviews"] == 2


def test_hardest_cards_by_lapses_then_lowest_retrievability(fresh_db: sqlite_utils.Database) -> None:
    add_card(fresh_db, "easy", lapses=0, stability=100, last_review=NOW - timedelta(days=1), due=NOW)
    add_card(fresh_db, "fresh", lapses=3, stability=10, last_review=NOW - timedelta(days=1), due=NOW)
    add_card(fresh_db, "fading", lapses=3, stability=10, last_review=NOW - timedelta(days=20), due=NOW)
    add_card(fresh_db, "worst", lapses=5, stability=50, last_review=NOW - timedelta(days=2), due=NOW)
    add_card(fresh_db, "new", state=0)
    add_card(fresh_db, "forgotten", lapses=0, stability=2, last_review=NOW - timedelta(days=30), due=NOW)
    hardest = collection_stats(fresh_db, NOW)["hardest"]
    # 'easy' (no lapse, retrievability above the desired 90%) is not in trouble
    assert [card["id"] for card in hardest] == ["worst", "fading", "fresh", "forgotten"]
    assert hardest[1]["retrievability"] == round(retrievability(20, 10), 4)
    assert hardest[1]["front"] == "Front of fading"


@pytest.mark.parametrize(("now", "elapsed"), [(at("2026-11-27T03:59:00"), 1), (at("2026-11-27T04:01:00"), 2)])
def test_hardest_cards_count_elapsed_study_days(
    fresh_db: sqlite_utils.Database, now: datetime, elapsed: int
) -> None:
    """A review at 03:58 is two study days old once the next day's 04:00 has passed, as in Anki."""
    add_card(fresh_db, "c", lapses=1, stability=10, last_review=at("2026-11-26T03:58:00"), due=now)
    hardest = collection_stats(fresh_db, now)["hardest"]
    assert hardest[0]["retrievability"] == round(retrievability(elapsed, 10), 4)


def test_hardest_cards_are_ranked_by_study_days(fresh_db: sqlite_utils.Database) -> None:
    now = at("2026-11-27T04:01:00")
    # two study days at stability 10 (0.2), against one at 6 (0.17): though 24 h against 16 h ago
    add_card(fresh_db, "before-rollover", lapses=1, stability=10, last_review=at("2026-11-26T03:58:00"))
    add_card(fresh_db, "after-rollover", lapses=1, stability=6, last_review=at("2026-11-26T12:00:00"))
    hardest = collection_stats(fresh_db, now)["hardest"]
    assert [card["id"] for card in hardest] == ["before-rollover", "after-rollover"]
    assert [card["retrievability"] for card in hardest] == [
        round(retrievability(2, 10), 4),
        round(retrievability(1, 6), 4),
    ]


def test_hardest_cards_count_study_days_at_the_configured_hour(fresh_db: sqlite_utils.Database) -> None:
    add_card(fresh_db, "c", lapses=1, stability=10, last_review=at("2026-11-26T05:58:00"))
    now = at("2026-11-27T06:01:00")
    assert collection_stats(fresh_db, now, day_start_hour=4)["hardest"][0]["retrievability"] == round(
        retrievability(1, 10), 4
    )
    assert collection_stats(fresh_db, now, day_start_hour=6)["hardest"][0]["retrievability"] == round(
        retrievability(2, 10), 4
    )


def test_retrievability_matches_py_fsrs() -> None:
    import fsrs

    scheduler = fsrs.Scheduler()
    card = fsrs.Card(
        card_id=1, state=fsrs.State.Review, stability=7.5, difficulty=5, last_review=NOW, due=NOW
    )
    for days in (0, 1, 7, 30, 400):
        expected = scheduler.get_card_retrievability(card, NOW + timedelta(days=days, hours=5))
        assert retrievability(days, 7.5) == pytest.approx(expected)
    assert retrievability(7, 7) == pytest.approx(0.9)


def test_render_fits_in_80_columns(fresh_db: sqlite_utils.Database) -> None:
    add_card(fresh_db, "c" * 60, lapses=2, due=NOW + timedelta(days=3), last_review=NOW - timedelta(days=2))
    for day in range(400):
        add_review(fresh_db, "c" * 60, NOW - timedelta(days=day), 1 + day % 4, duration_ms=1000 * (day % 7))
    text = render(collection_stats(fresh_db, NOW, days=365))
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "True retention" in text and "desired 90%" in text
    assert "Streak  400 days" in text
    assert "Mon" in text and "Nov" in text


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_cli_json_has_the_contract_keys(
    fresh_db: sqlite_utils.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARDS_NOW", NOW.isoformat())
    add_card(fresh_db, "c", due=NOW, last_review=NOW - timedelta(days=3))
    add_review(fresh_db, "c", NOW - timedelta(hours=1), 3)
    code, out, _ = run("stats", "--json")
    assert code == 0
    data = json.loads(out)
    assert {"retention", "forecast", "streak", "cards", "today", "activity", "hardest"} <= set(data)
    assert data["streak"] == {"current": 1, "longest": 1}
    assert data["retention"]["last_7_days"]["retention"] == 1.0
    code, out, _ = run("stats")
    assert code == 0 and "Due in the next 30 days: 1" in out


def test_cli_unknown_deck_is_an_error(fresh_db: sqlite_utils.Database) -> None:
    code, _, err = run("stats", "--deck", "Nope")
    assert (code, err) == (1, "error: no deck named 'Nope'; `cards status` lists the decks\n")


def test_hardest_cards_leave_out_cards_not_in_trouble(fresh_db: sqlite_utils.Database) -> None:
    add_card(fresh_db, "easy", lapses=0, stability=100, last_review=NOW - timedelta(days=1), due=NOW)
    stats = collection_stats(fresh_db, NOW)
    assert stats["hardest"] == []
    assert "  none: no card has lapsed or fallen below 90% retrievability" in render(stats).splitlines()
