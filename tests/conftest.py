"""Shared fixtures: every test gets its own decks directory and collection under tmp_path."""

from __future__ import annotations

import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlite_utils

from flashcards import store

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
    """An empty, migrated collection on disk."""
    return store.open_collection(db_path)
