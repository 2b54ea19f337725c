"""Whether the deck files are as last compiled, told from their sizes and times alone.

Every command compiles first; with nothing changed, reading and hashing every deck file (and
importing the compiler to do it) is most of a small command's time. The compiler records, for
each deck file, the size and modification time it had while its bytes were read and hashed
(``deck_file_stats``); a file that still has that size and time, and whose hash is still the
one compiled, is unchanged, and is not read. A file modified in the seconds before it was read
is not recorded (a second write in the same tick of the clock could keep its size and time),
nor one whose size or time moved while it was read. ``cards compile`` always reads every file.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from flashcards.database import Database
from flashcards.paths import find_deck_files

RENDERER_VERSION = 1  # raised when cached HTML would render differently: files compile again
RECENT_NS = 3_000_000_000  # a file modified this recently when read is not recorded (FAT keeps times to 2 s)

Stat = tuple[int, int]  # size in bytes, modification time in nanoseconds


def stat_of(path: Path) -> Stat | None:
    """A file's size and modification time; None when it cannot be read."""
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns


def settled(before: Stat | None, after: Stat | None) -> Stat | None:
    """The stat to record for a file read between ``before`` and ``after``; None: not to be trusted."""
    if before is None or before != after or time.time_ns() - before[1] < RECENT_NS:
        return None
    return before


def decks_unchanged(db: Database, decks_dir: Path) -> bool:
    """True when every deck file has the size and time recorded with its compiled hash, the same
    files are there, and their media are unchanged; False whenever in doubt (then compile)."""
    if not decks_dir.is_dir():
        return False
    rows = {
        path: (size, mtime_ns, same, media_json)
        for path, size, mtime_ns, same, media_json in db.execute(
            "SELECT f.path, s.size, s.mtime_ns, s.sha256 = f.sha256 AND f.rendered = ?, f.media "
            "FROM deck_files f LEFT JOIN deck_file_stats s ON s.path = f.path",
            [RENDERER_VERSION],
        )
    }
    found = find_deck_files([decks_dir])
    if len(found) != len(rows):
        return False
    for path in found:
        row = rows.get(path.relative_to(decks_dir).as_posix())
        if row is None or not row[2] or stat_of(path) != (row[0], row[1]):
            return False
        if row[3] != "[]" and not media_unchanged(decks_dir, row[3]):
            return False
    return True


def media_unchanged(decks_dir: Path, media_json: str) -> bool:
    """Whether the media a deck file names (as the compiler stored them) are unchanged."""
    if media_json == "[]":
        return True
    import json

    return all(
        file_unchanged(decks_dir.joinpath(*PurePosixPath(path).parts), sha256, size, mtime_ns)
        for path, sha256, size, mtime_ns in json.loads(media_json)
    )


def file_unchanged(path: Path, sha256: str, size: int, mtime_ns: int) -> bool:
    """True when the file at ``path`` still has this content (hashed again only if size or time moved)."""
    try:
        info = path.stat()
        if info.st_size == size and info.st_mtime_ns == mtime_ns:
            return True
        import hashlib

        return hashlib.sha256(path.read_bytes()).hexdigest() == sha256
    except OSError:
        return False


def record(db: Database, stats: Iterable[tuple[str, Stat | None, str]]) -> None:
    """Record each file's (relative path, stat, compiled hash) where it differs from what is kept."""
    kept = {path: (size, mtime_ns, sha256) for path, size, mtime_ns, sha256 in db.execute(
        "SELECT path, size, mtime_ns, sha256 FROM deck_file_stats"
    )}  # fmt: skip
    wanted = {path: (*stat, sha256) for path, stat, sha256 in stats if stat is not None}
    changed = [(path, *value) for path, value in wanted.items() if kept.get(path) != value]
    stale = [(path,) for path in kept if path not in wanted]
    if not changed and not stale:
        return
    with db.atomic():
        db.conn.executemany("DELETE FROM deck_file_stats WHERE path = ?", stale)
        db.conn.executemany(
            "INSERT OR REPLACE INTO deck_file_stats(path, size, mtime_ns, sha256) VALUES (?, ?, ?, ?)",
            changed,
        )
