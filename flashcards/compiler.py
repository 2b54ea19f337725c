"""Bring the collection in line with the deck files, in one transaction.

Files whose content hash is unchanged are skipped, so compiling before every command costs
almost nothing. Notes that left the decks are retired, never deleted: their cards leave the
queues, their history stays, and both come back if the note returns.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import sqlite_utils

from flashcards import clock, media
from flashcards.compile_rows import (
    CompileResult,
    chunks,
    placeholders,
    prune_media,
    retire_missing,
    write_notes,
    write_types,
)
from flashcards.errors import CardsError, Problem, SourceError
from flashcards.paths import display_path, find_deck_files, read_deck_file

if TYPE_CHECKING:
    from flashcards.loader import DeckFile

_CHUNK = 500
RENDERER_VERSION = 1  # raised when cached HTML would render differently: files compile again


@dataclass
class _Source:
    relative: str
    path: Path
    data: bytes
    sha256: str


def check_paths(paths: Iterable[Path]) -> tuple[list[DeckFile], list[Problem]]:
    """Validate deck files or directories without touching any collection."""
    from flashcards.loader import cross_file_problems, load_file

    files = find_deck_files(paths)
    loaded: list[DeckFile] = []
    problems: list[Problem] = []
    for path in files:
        if not path.exists():
            problems.append(Problem(display_path(path), 1, 1, "no such file"))
            continue
        deck_file = load_file(path, display_path(path))
        loaded.append(deck_file)
        problems.extend(deck_file.problems)
    problems.extend(cross_file_problems(loaded))
    return loaded, sorted(set(problems))


def _scan(decks_dir: Path) -> list[_Source]:
    if not decks_dir.is_dir():
        raise CardsError(
            f"decks directory {display_path(decks_dir)} does not exist; pass --decks DIR or set $CARDS_DECKS"
        )
    sources = []
    problems: list[Problem] = []
    for path in find_deck_files([decks_dir]):
        data, problem = read_deck_file(path, display_path(path))
        if problem is not None:
            problems.append(problem)
        if data is not None:
            sources.append(
                _Source(path.relative_to(decks_dir).as_posix(), path, data, hashlib.sha256(data).hexdigest())
            )
    if problems:
        raise SourceError(problems)
    return sources


def compile_decks(
    db: sqlite_utils.Database, decks_dir: Path, now: datetime, *, count_unchanged: bool = True
) -> CompileResult:
    """Check the decks, then update the collection; raise :class:`SourceError` and write nothing on any problem.

    With ``count_unchanged=False`` and nothing to do, the unchanged counts are left at 0 rather
    than counted (a pass over both tables, wasted on the implicit compile before every command).
    """
    sources = _scan(decks_dir)
    stored: dict[str, str] = {}
    stored_media: dict[str, str] = {}
    for path, sha256, media_json, rendered in db.execute(
        "SELECT path, sha256, media, rendered FROM deck_files"
    ):
        stored[path] = sha256 if rendered == RENDERER_VERSION else ""
        stored_media[path] = media_json
    changed = [
        s
        for s in sources
        if stored.get(s.relative) != s.sha256 or not _media_unchanged(decks_dir, stored_media[s.relative])
    ]
    removed = sorted(set(stored) - {s.relative for s in sources})
    result = CompileResult(files_skipped=len(sources) - len(changed))
    if not changed and not removed:
        if count_unchanged:
            result.notes.unchanged = _count(db, "notes")
            result.cards.unchanged = _count(db, "cards")
        return result

    from flashcards.loader import cross_file_problems, load_file

    loaded = [load_file(s.path, display_path(s.path), s.data) for s in changed]
    relative_of = {display_path(s.path): s.relative for s in changed}
    touched = [s.relative for s in changed] + removed
    problems = [p for f in loaded for p in f.problems]
    notes = [n for f in loaded for n in f.notes]
    problems += cross_file_problems(loaded, _ids_elsewhere(db, [n.id for n in notes], touched, decks_dir))
    problems += _type_conflicts(db, loaded, touched, decks_dir)
    if problems:
        raise SourceError(sorted(set(problems)))

    stamp = clock.to_db(now)
    with db.atomic():
        write_types(db, loaded, relative_of, removed, stamp)
        write_notes(db, notes, relative_of, stamp, result)
        retire_missing(db, {n.id for n in notes}, touched, stamp, result)
        db.conn.executemany(
            "INSERT INTO deck_files(path, sha256, media, rendered, compiled_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(path) DO UPDATE SET sha256 = excluded.sha256, media = excluded.media, "
            "rendered = excluded.rendered, compiled_at = excluded.compiled_at",
            [
                (s.relative, s.sha256, _media_list(s, f), RENDERER_VERSION, stamp)
                for s, f in zip(changed, loaded, strict=True)
            ],
        )
        db.conn.executemany("DELETE FROM deck_files WHERE path = ?", [(p,) for p in removed])
        prune_media(db)
    result.files_compiled = len(changed)
    result.files_removed = len(removed)
    result.notes.unchanged = (
        _count(db, "notes") - result.notes.added - result.notes.updated - result.notes.restored
    )
    result.cards.unchanged = (
        _count(db, "cards") - result.cards.added - result.cards.updated - result.cards.restored
    )
    return result


def _media_list(source: _Source, deck_file: DeckFile) -> str:
    """The media a compiled file names, as stored for change detection: path from the decks folder, hash, size, time."""
    folder = PurePosixPath(source.relative).parent
    found = {
        (folder / m.path).as_posix(): (m.sha256, m.size, m.mtime_ns) for n in deck_file.notes for m in n.media
    }
    return json.dumps([[path, *found[path]] for path in sorted(found)])


def _media_unchanged(decks_dir: Path, media_json: str) -> bool:
    if media_json == "[]":
        return True
    return all(
        media.unchanged(decks_dir.joinpath(*PurePosixPath(path).parts), sha256, size, mtime_ns)
        for path, sha256, size, mtime_ns in json.loads(media_json)
    )


def _count(db: sqlite_utils.Database, table: str) -> int:
    return int(db.execute(f"SELECT count(*) FROM {table} WHERE retired_at IS NULL").fetchone()[0])


def _ids_elsewhere(
    db: sqlite_utils.Database, ids: list[str], touched: list[str], decks_dir: Path
) -> dict[str, str]:
    """Active notes with these ids that live in files not being recompiled: id -> file:line."""
    found: dict[str, str] = {}
    for chunk in chunks(ids):
        rows = db.execute(
            f"SELECT id, source_file, source_line FROM notes WHERE retired_at IS NULL AND id IN ({placeholders(chunk)})",
            chunk,
        )
        for note_id, source_file, line in rows:
            if source_file not in touched:
                found[note_id] = f"{display_path(decks_dir / source_file)}:{line}"
    return found


def _type_conflicts(
    db: sqlite_utils.Database, loaded: list[DeckFile], touched: list[str], decks_dir: Path
) -> list[Problem]:
    """Declarations that differ from the stored one while a file not being recompiled still uses it.

    A type's row names the last file that declared it; files recompiled or removed now don't count
    (cross_file_problems compares those among themselves), and neither does a row whose file no
    longer declares it (its source_file is NULL). Other files still declaring the type are found
    through their active notes of that type, since a file's notes use only the types it declares.
    """
    problems = []
    for deck_file in loaded:
        for name, (note_type, line, column) in deck_file.types.items():
            row = db.execute(
                "SELECT fingerprint, source_file FROM note_types WHERE name = ?", [name]
            ).fetchone()
            if row is None:
                continue
            fingerprint, source_file = row
            if fingerprint == note_type.fingerprint():
                continue
            holder = (
                source_file
                if source_file is not None and source_file not in touched
                else _user(db, name, touched)
            )
            if holder is not None:
                where = display_path(decks_dir / holder)
                problems.append(
                    Problem(
                        deck_file.path,
                        line,
                        column,
                        f"note type '{name}' is declared differently in {where}; make them identical or rename one",
                    )
                )
    return problems


def _user(db: sqlite_utils.Database, name: str, touched: list[str]) -> str | None:
    """The first file, not being recompiled, with active notes of type ``name``."""
    rows = db.execute(
        "SELECT DISTINCT source_file FROM notes WHERE type = ? AND retired_at IS NULL ORDER BY source_file",
        [name],
    )
    return next((source for (source,) in rows if source not in touched), None)
