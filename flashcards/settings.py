"""Scheduling and daily-limit settings from ``cards.toml``, with Anki's defaults.

Top-level keys set the defaults; a ``[deck."Name"]`` table overrides them for that deck and
its sub-decks (``Name::...``), a deck inheriting from its nearest configured ancestor.
Invalid settings are reported at their line, like deck errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from flashcards.decks import lineage
from flashcards.errors import Problem, SourceError, utf8_problem
from flashcards.gather import GATHER_ORDERS
from flashcards.paths import SETTINGS_FILE, FileTooLargeError, display_path, read_bounded, settings_file

_STEP = r"^(\d+(?:\.\d+)?)\s*([smhd])$"  # patterns compiled when first used (re caches them), not at start-up
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_TOP_ONLY = {
    "journal",
    "day_start_hour",
    "learn_ahead_minutes",
    "new_cards_ignore_review_limit",
    "new_gather_order",
}
PARAMETER_COUNT = 21
MAX_STEP_DAYS = 365
MAX_SETTINGS_BYTES = 1024 * 1024
MAX_DAILY = 1_000_000
MAX_LEECH = 1000


@dataclass(frozen=True)
class DeckSettings:
    """The settings that apply to one deck."""

    desired_retention: float = 0.9
    learning_steps: tuple[timedelta, ...] = (timedelta(minutes=1), timedelta(minutes=10))
    relearning_steps: tuple[timedelta, ...] = (timedelta(minutes=10),)
    maximum_interval: int = 36500
    enable_fuzzing: bool = True
    new_per_day: int = 20
    reviews_per_day: int = 200
    day_start_hour: int = 4
    leech_threshold: int = 8
    parameters: tuple[float, ...] | None = None
    learn_ahead_minutes: int = 20
    new_cards_ignore_review_limit: bool = False
    bury_new: bool = True
    bury_reviews: bool = True
    bury_interday_learning: bool = True
    new_gather_order: str = "in-order"  # across decks: in-order, interleaved or random-notes
    interview_date: date | None = None  # the day to be ready by (see flashcards.interview)
    interview_retention: float = 0.9  # the recall to have on that day
    lint_ignore: tuple[str, ...] = ()  # `cards lint` rules silenced for the deck (see flashcards.lint)
    lint_answer_words: int = 20  # the longest answer `cards lint` lets pass, in words
    lint_front_words: int = 40  # the longest front, in words
    journal: str | None = None  # the review journal's directory, relative to cards.toml (flashcards.journal)


@dataclass(frozen=True)
class Settings:
    """Top-level settings plus per-deck overrides."""

    defaults: DeckSettings = field(default_factory=DeckSettings)
    overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    path: Path | None = None
    deck_lines: Mapping[str, tuple[int, int]] = field(default_factory=dict)  # where each [deck."..."] is

    @property
    def day_start_hour(self) -> int:
        """The hour (local time) at which a new study day begins."""
        return self.defaults.day_start_hour

    @property
    def learn_ahead(self) -> timedelta:
        """How early a learning card may be shown when nothing else is left (Anki's learn-ahead limit)."""
        return timedelta(minutes=self.defaults.learn_ahead_minutes)

    @property
    def journal_dir(self) -> Path | None:
        """The review journal's directory (``journal`` in cards.toml, relative to it), or None: off."""
        name = self.defaults.journal
        if name is None:
            return None
        base = self.path.parent if self.path is not None else Path.cwd()
        return base / Path(name).expanduser()

    def for_deck(self, deck: str | None) -> DeckSettings:
        """Return the settings of ``deck`` (``None``: the top level), applying inherited overrides."""
        result = self.defaults
        if not deck:
            return result
        for name in lineage(deck):
            values = self.overrides.get(name)
            if values:
                result = replace(result, **values)
        return result

    def configured_decks(self) -> list[str]:
        """Decks that have their own ``[deck."..."]`` table."""
        return sorted(self.overrides)

    def unknown_decks(self, decks: Iterable[str]) -> list[Problem]:
        """Warnings for ``[deck."..."]`` tables naming none of ``decks`` (nor a parent of one)."""
        known = {
            "::".join(name.split("::")[:depth]) for name in decks for depth in range(1, name.count("::") + 2)
        }
        shown = display_path(self.path) if self.path is not None else SETTINGS_FILE
        warnings = []
        for name in self.configured_decks():
            if name not in known:
                line, column = self.deck_lines.get(name, (1, 1))
                from difflib import get_close_matches

                close = get_close_matches(name, sorted(known), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else "; its settings apply to no cards"
                message = f'[deck."{name}"] names no deck{hint}'
                warnings.append(Problem(shown, line, column, message, severity="warning"))
        return warnings


def load_settings(decks_dir: Path) -> Settings:
    """Read ``cards.toml`` for ``decks_dir`` (defaults when there is none); raise SourceError if invalid."""
    path = settings_file(decks_dir)
    if path is None:
        return Settings()
    shown = display_path(path)
    try:
        data = read_bounded(path, MAX_SETTINGS_BYTES)
    except FileTooLargeError as error:
        message = f"the settings file is {error.size} bytes; it is at most {MAX_SETTINGS_BYTES // 1024} KiB"
        raise SourceError([Problem(shown, 1, 1, message)]) from None
    except OSError as error:
        message = f"cannot read the settings file: {error.strerror or error}"
        raise SourceError([Problem(shown, 1, 1, message)]) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise SourceError([utf8_problem(shown, data, error)]) from None
    return parse_settings(text, path)


def parse_settings(text: str, path: Path) -> Settings:
    """Parse and validate the text of a settings file."""
    import tomllib  # only when there is a settings file

    shown = display_path(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        line, column = _decode_position(str(error))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(error))
        raise SourceError([Problem(shown, line, column, message)]) from None
    except ValueError:  # an integer too long for Python to convert (over 4,300 digits)
        long_number = re.search(r"\d{100,}", text)
        start = long_number.start() if long_number else 0
        line = text.count("\n", 0, start) + 1
        column = start - (text.rfind("\n", 0, start) + 1) + 1
        raise SourceError([Problem(shown, line, column, "this number is far too long")]) from None
    locator = _Locator(text)
    problems: list[Problem] = []

    def report(table: tuple[str, ...], key: str, message: str) -> None:
        line, column = locator.find(table, key)
        problems.append(Problem(shown, line, column, message))

    decks = data.pop("deck", {})
    top = _validate(data, (), report, top_level=True)
    overrides: dict[str, dict[str, Any]] = {}
    if not isinstance(decks, dict):
        report((), "deck", 'deck must be a table of decks, e.g. [deck."Name::Sub"]')
    else:
        for name, values in decks.items():
            if not isinstance(values, dict):
                report(("deck",), name, f"deck {name!r} must be a table of settings")
                continue
            overrides[name] = _validate(values, ("deck", name), report, top_level=False)
    if problems:
        raise SourceError(problems)
    lines = {name: locator.find(("deck",), name) for name in overrides}
    return Settings(replace(DeckSettings(), **top), overrides, path, lines)


def _validate(
    values: dict[str, Any],
    table: tuple[str, ...],
    report: Callable[[tuple[str, ...], str, str], None],
    top_level: bool,
) -> dict[str, Any]:
    known = list(_CHECKS)
    result: dict[str, Any] = {}
    for key, value in values.items():
        if key not in _CHECKS:
            candidates = [*known, "deck"] if top_level else known
            from difflib import get_close_matches

            close = get_close_matches(key, candidates, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f" (known: {', '.join(known)})"
            report(table, key, f"unknown setting '{key}'{hint}")
            continue
        if key in _TOP_ONLY and not top_level:
            report(table, key, f"'{key}' applies to the whole collection; set it at the top level")
            continue
        try:
            result[key] = _CHECKS[key](value)
        except ValueError as error:
            report(table, key, f"{key}: {error}")
    return result


def _choice(choices: tuple[str, ...]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in choices:
            raise ValueError(f"expected one of {', '.join(repr(c) for c in choices)}, got {value!r}")
        return str(value)

    return check


def _integer(low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected a whole number, got {value!r}")
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}, got {_shown(value)}")
        return value

    return check


def _shown(value: float) -> str:
    text = repr(value)
    return text if len(text) <= 24 else f"{text[:20]}… ({len(text)} digits)"


def _retention(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number such as 0.9, got {value!r}")
    if not 0.5 <= value <= 0.99:
        raise ValueError(f"must be between 0.5 and 0.99, got {_shown(value)}")
    return float(value)


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        raise ValueError(f"expected a date such as 2026-12-15, without a time, got {value.isoformat()}")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"expected a date such as 2026-12-15, got {value!r}")


def _lint_rules(value: Any) -> tuple[str, ...]:
    from flashcards.lint import RULES

    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ValueError(f'expected a list of rule names such as ["long-answer"], got {value!r}')
    for item in items:
        if item not in RULES:
            from difflib import get_close_matches

            close = get_close_matches(item, list(RULES), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f" (rules: {', '.join(RULES)})"
            raise ValueError(f"unknown rule '{item}'{hint}")
    return tuple(items)


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {value!r}")
    return value


def parse_steps(value: Any) -> tuple[timedelta, ...]:
    """Parse learning steps: ``"1m 10m"`` or ``["1m", "10m"]`` (units s, m, h, d)."""
    items = value.split() if isinstance(value, str) else value
    if not isinstance(items, list):
        raise ValueError(f'expected steps such as ["1m", "10m"], got {value!r}')
    steps = []
    for item in items:
        match = re.match(_STEP, item.strip()) if isinstance(item, str) else None
        if match is None:
            raise ValueError(f"{item!r} is not a step such as '30s', '10m', '1h' or '1d'")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
        if seconds > MAX_STEP_DAYS * 86400:
            raise ValueError(
                f"{item!r}: a step is at most {MAX_STEP_DAYS}d; longer gaps are the scheduler's job"
            )
        if seconds < 1:
            raise ValueError(f"{item!r}: a step is at least 1s")
        steps.append(timedelta(seconds=seconds))
    return tuple(steps)


def _parameters(value: Any) -> tuple[float, ...]:
    if not isinstance(value, list) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in value
    ):
        raise ValueError(f"expected a list of {PARAMETER_COUNT} numbers")
    from fsrs.scheduler import LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS

    if len(value) != PARAMETER_COUNT:
        raise ValueError(f"expected {PARAMETER_COUNT} numbers (FSRS-6), got {len(value)}")
    bounds = zip(value, LOWER_BOUNDS_PARAMETERS, UPPER_BOUNDS_PARAMETERS, strict=True)
    for index, (number, low, high) in enumerate(bounds):
        if not low <= number <= high:
            raise ValueError(f"parameter {index} = {_shown(number)} is outside [{low}, {high}]")
    return tuple(float(v) for v in value)


def _directory(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f'expected a directory, e.g. "reviews", got {value!r}')
    return value


_CHECKS: dict[str, Callable[[Any], Any]] = {
    "desired_retention": _retention,
    "learning_steps": parse_steps,
    "relearning_steps": parse_steps,
    "maximum_interval": _integer(1, 36500),
    "enable_fuzzing": _boolean,
    "new_per_day": _integer(0, MAX_DAILY),
    "reviews_per_day": _integer(0, MAX_DAILY),
    "day_start_hour": _integer(0, 23),
    "leech_threshold": _integer(0, MAX_LEECH),
    "parameters": _parameters,
    "learn_ahead_minutes": _integer(0, 1440),
    "new_cards_ignore_review_limit": _boolean,
    "bury_new": _boolean,
    "bury_reviews": _boolean,
    "bury_interday_learning": _boolean,
    "new_gather_order": _choice(GATHER_ORDERS),
    "interview_date": _date,
    "interview_retention": _retention,
    "lint_ignore": _lint_rules,
    "lint_answer_words": _integer(1, 10_000),
    "lint_front_words": _integer(1, 10_000),
    "journal": _directory,
}


class _Locator:
    """Find the line and column of a key in TOML text (tomllib reports no positions)."""

    _HEADER = r"^\s*\[\s*([^\[\]].*?)\s*\]\s*(?:#.*)?$"
    _PART = r"""(?:"[^"]*"|'[^']*'|[A-Za-z0-9_-]+)"""
    _KEY = rf"^\s*({_PART}(?:\s*\.\s*{_PART})*)\s*="

    def __init__(self, text: str) -> None:
        self.entries: list[tuple[tuple[str, ...], str, int, int]] = []
        self.headers: dict[tuple[str, ...], int] = {}
        table: tuple[str, ...] = ()
        for number, line in enumerate(text.splitlines(), start=1):
            header = re.match(self._HEADER, line)
            if header:
                table = _table_path(header.group(1))
                self.headers.setdefault(table, number)
                continue
            key = re.match(self._KEY, line)
            if key:
                # a dotted key (a.b.c = 1) names a key in each table along its path
                parts = _table_path(key.group(1))
                column = key.start(1) + 1
                for depth, name in enumerate(parts):
                    self.entries.append(((*table, *parts[:depth]), name, number, column))

    def find(self, table: tuple[str, ...], key: str) -> tuple[int, int]:
        for entry_table, name, line, column in self.entries:
            if entry_table == table and name == key:
                return line, column
        # a table header naming the key, or a table below it ([Deck."X"] for the key 'Deck')
        below = [line for path, line in self.headers.items() if path[: len(table) + 1] == (*table, key)]
        if below:
            return min(below), 1
        return self.headers.get(table, 1), 1


def _table_path(inner: str) -> tuple[str, ...]:
    import tomllib

    try:
        data: Any = tomllib.loads(f"[{inner}]\n")
    except tomllib.TOMLDecodeError:
        return (inner,)
    path: list[str] = []
    while isinstance(data, dict) and len(data) == 1:
        name = next(iter(data))
        path.append(name)
        data = data[name]
    return tuple(path)


def _decode_position(message: str) -> tuple[int, int]:
    match = re.search(r"at line (\d+), column (\d+)", message)
    return (int(match.group(1)), int(match.group(2))) if match else (1, 1)
