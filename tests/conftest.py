"""Shared fixtures: every test gets its own decks directory and collection under tmp_path."""

from __future__ import annotations

import textwrap
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from flashcards import store
from flashcards.collection import Collection
from flashcards.controller import ReviewController
from flashcards.settings import Settings
from flashcards.states import Rating

REPO = Path(__file__).resolve().parent.parent
BUNDLED_DECKS = REPO / "decks"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point $CARDS_DB and $CARDS_DECKS at a temporary directory; never touch the user's data."""
    monkeypatch.setenv("CARDS_DB", str(tmp_path / "collection.db"))
    monkeypatch.setenv("CARDS_DECKS", str(tmp_path / "decks"))
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.delenv("CARDS_NOW", raising=False)
    (tmp_path / "decks").mkdir()


@pytest.fixture
def decks(tmp_path: Path) -> Path:
    """The decks directory of the test."""
    return tmp_path / "decks"


@pytest.fixture
def write_deck(decks: Path) -> Callable[..., Path]:
    """Write a deck file (dedented) into the test's decks directory and return its path."""

    def write(name: str, text: str) -> Path:
        path = decks / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Path of the test's collection file."""
    return tmp_path / "collection.db"


@pytest.fixture
def fresh_db(db_path: Path) -> sqlite_utils.Database:
    """An empty, migrated collection on disk, with sqlite-utils' conveniences for the tests
    (the code takes it where it takes flashcards.database.Database: the same four members)."""
    return sqlite_utils.Database(store.open_collection(db_path).conn)


class ManualClock:
    """A clock a test moves by hand: ``clock.now = ...``; calling it gives the instant."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Ticker:
    """A monotonic clock that moves ``step`` seconds each time it is read."""

    def __init__(self, step: float = 1.0) -> None:
        self.step = step
        self.value = 0.0

    def __call__(self) -> float:
        self.value += self.step
        return self.value


def make_controller(
    db: sqlite_utils.Database,
    settings: Settings | None = None,
    *,
    now: datetime | ManualClock,
    decks_dir: Path = Path("decks"),
    tick: float = 1.0,
    **options: Any,
) -> ReviewController:
    """A review controller over ``db`` at a fixed instant (or a ManualClock), answers ``tick`` s apart."""
    collection = Collection(db, Path("collection.db"), decks_dir, settings or Settings())
    clock = now if isinstance(now, ManualClock) else ManualClock(now)
    return ReviewController(collection, now=clock, monotonic=Ticker(tick), fixed_clock=True, **options)


def answer(controller: ReviewController, rating: Rating) -> str:
    """Reveal the card on screen and rate it; return the controller's message."""
    controller.reveal()
    return controller.rate(rating).message


def drain(controller: ReviewController, rating: Rating = Rating.GOOD) -> list[str]:
    """Answer every card the controller offers now with ``rating``; return their ids in order."""
    seen = []
    while (card := controller.card()) is not None:
        seen.append(card.id)
        answer(controller, rating)
    return seen
