"""Where things live: the decks directory, the collection file, the exports directory."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from flashcards.errors import Problem

DECKS_VARIABLE = "CARDS_DECKS"
DB_VARIABLE = "CARDS_DB"
SETTINGS_FILE = "cards.toml"
DECK_SUFFIXES = (".yaml", ".yml")


def display_path(path: Path) -> str:
    """Return ``path`` for messages as the user gave it: a relative path as it is, an absolute one
    relative to the working directory when it is below it (never as ``../..``), else as it is."""
    if not path.is_absolute():
        return str(path)
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if relative == ".." or relative.startswith(".." + os.sep) else relative


def decks_dir(option: str | None = None) -> Path:
    """Return the decks directory: ``--decks``, else ``$CARDS_DECKS``, else ``./decks``."""
    return Path(option or os.environ.get(DECKS_VARIABLE) or "decks")


def db_path(option: str | None = None) -> Path:
    """Return the collection file: ``--db``, else ``$CARDS_DB``, else the per-user data directory."""
    chosen = option or os.environ.get(DB_VARIABLE)
    if chosen:
        return Path(chosen).expanduser()
    from platformdirs import user_data_path

    return user_data_path("cards", appauthor=False) / "collection.db"


def exports_dir(decks: Path) -> Path:
    """Return the default directory for exported packages: ``exports/`` beside the decks."""
    return decks.resolve().parent / "exports"


def settings_file(decks: Path) -> Path | None:
    """Return ``cards.toml`` from the decks directory's parent or the decks directory, if any."""
    for candidate in (decks.resolve().parent / SETTINGS_FILE, decks / SETTINGS_FILE):
        if candidate.is_file():
            return candidate
    return None


class NotRegularFileError(OSError):
    """A path to read is a directory, device, pipe or socket, not a regular file."""


class FileTooLargeError(OSError):
    """A file to read is over its size limit; ``size`` is its size in bytes."""

    def __init__(self, size: int) -> None:
        super().__init__(f"file is {size} bytes")
        self.size = size


def read_bounded(path: Path, limit: int) -> bytes:
    """Read a regular file of at most ``limit`` bytes, never more than ``limit + 1`` from disk.

    Raises :class:`NotRegularFileError` for anything else (``/dev/zero``, a pipe: their size is
    not known in advance) and :class:`FileTooLargeError` when the file is over ``limit``.
    """
    # O_NONBLOCK: opening a named pipe must not wait for a writer before it can be refused.
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFileError(f"{path} is not a regular file")
        if info.st_size > limit:
            raise FileTooLargeError(info.st_size)
        data = handle.read(limit + 1)
    if len(data) > limit:  # grew since fstat
        raise FileTooLargeError(len(data))
    return data


MAX_FILE_BYTES = 4 * 1024 * 1024  # the size limit of a deck file


def read_deck_file(path: Path, shown: str) -> tuple[bytes | None, Problem | None]:
    """Read a deck file within its size limit; or None and the problem, located at ``shown``:1:1.

    Here rather than in the loader, so that compiling unchanged files never imports the YAML parser.
    """
    try:
        return read_bounded(path, MAX_FILE_BYTES), None
    except NotRegularFileError:
        message = "not a regular file; a deck file is a YAML file on disk (not a device or pipe)"
    except FileTooLargeError as error:
        message = deck_too_large(error.size)
    except OSError as error:
        message = f"cannot read the file: {error.strerror or error}"
    return None, Problem(shown, 1, 1, message)


def deck_too_large(size: int) -> str:
    """What to say about a deck file of ``size`` bytes, over the limit."""
    return (
        f"file is {size / 1048576:.1f} MiB; a deck file is at most {MAX_FILE_BYTES // 1048576} MiB: "
        "split it into several files"
    )


def find_deck_files(paths: Iterable[Path]) -> list[Path]:
    """Expand directories into their deck files (recursively, sorted, hidden ones skipped)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.suffix.lower() in DECK_SUFFIXES  # deck.YAML too: never silently left out
                    and p.is_file()
                    and not any(part.startswith(".") for part in p.relative_to(path).parts)
                )
            )
        else:
            found.append(path)
    return found
