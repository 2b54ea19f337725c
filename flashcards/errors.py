"""Exceptions whose messages are displayed to the user as they are."""

from __future__ import annotations

from dataclasses import dataclass


class CardsError(Exception):
    """An error in the user's data or state, shown as one clean message (exit code 1)."""


@dataclass(frozen=True, order=True)
class Problem:
    """One located problem in a source file (``severity`` "error", or "warning" for advice)."""

    path: str
    line: int
    column: int
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.severity}: {self.message}"


class SourceError(CardsError):
    """One or more located problems in deck or settings files."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class NotFoundError(CardsError):
    """A card, note or deck the user named does not exist."""


class StaleCardError(CardsError):
    """The card changed (another session answered it) after it was shown: the answer is not taken."""


class UnknownCardsError(NotFoundError):
    """Names given for cards that match no card, or several: one message per name."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def utf8_problem(path: str, data: bytes, error: UnicodeDecodeError) -> Problem:
    """Locate the first byte of ``data`` that is not UTF-8."""
    before = data[: error.start]
    line = before.count(b"\n") + 1
    column = error.start - (before.rfind(b"\n") + 1) + 1
    return Problem(
        path, line, column, f"file is not UTF-8 (byte 0x{data[error.start]:02x}); save it as UTF-8"
    )
