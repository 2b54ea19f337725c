"""Bring the collection in line with the deck files, in one transaction.

Files whose content hash is unchanged are skipped, so compiling before every command costs
almost nothing. Notes that left the decks are retired, never deleted: their cards leave the
queues, their history stays, and both come back if the note returns.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlite_utils

from flashcards import clock
from flashcards.errors import CardsError, Problem, SourceError
from flashcards.paths import display_path, find_deck_files

if TYPE_CHECKING:
    from flashcards.loader import DeckFile
    from flashcards.model import Note

_CHUNK = 500


@dataclass
class Counts:
    """How many items were added, updated, retired, restored and left unchanged."""

    added: int = 0
    updated: int = 0
    retired: int = 0
    restored: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict[str, int]:
        """Return the counts as plain data."""
        return dict(self.__dict__)


@dataclass
class CompileResult:
    """What one compile did."""

    notes: Counts = field(default_factory=Counts)
    cards: Counts = field(default_factory=Counts)
    files_compiled: int = 0
    files_skipped: int = 0
    files_removed: int = 0

    @property
    def changed(self) -> bool:
        """True when the collection was written to."""
        return bool(self.files_compiled or self.files_removed)


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
    from flashcards.loader import read_deck
    from flashcards.yamlnodes import NodeReader

    sources = []
    problems: list[Problem] = []
    for path in find_deck_files([decks_dir]):
        reader = NodeReader(display_path(path))
        data = read_deck(path, reader)
        problems.extend(reader.problems)
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
    stored = {row[0]: row[1] for row in db.execute("SELECT path, sha256 FROM deck_files")}
    changed = [s for s in sources if stored.get(s.relative) != s.sha256]
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
        _write_types(db, loaded, relative_of, removed, stamp)
        _write_notes(db, notes, relative_of, stamp, result)
        _retire_missing(db, {n.id for n in notes}, touched, stamp, result)
        db.conn.executemany(
            "INSERT INTO deck_files(path, sha256, compiled_at) VALUES (?, ?, ?) "
            "ON CONFLICT(path) DO UPDATE SET sha256 = excluded.sha256, compiled_at = excluded.compiled_at",
            [(s.relative, s.sha256, stamp) for s in changed],
        )
        db.conn.executemany("DELETE FROM deck_files WHERE path = ?", [(p,) for p in removed])
    result.files_compiled = len(changed)
    result.files_removed = len(removed)
    result.notes.unchanged = (
        _count(db, "notes") - result.notes.added - result.notes.updated - result.notes.restored
    )
    result.cards.unchanged = (
        _count(db, "cards") - result.cards.added - result.cards.updated - result.cards.restored
    )
    return result


def _count(db: sqlite_utils.Database, table: str) -> int:
    return int(db.execute(f"SELECT count(*) FROM {table} WHERE retired_at IS NULL").fetchone()[0])


def _chunks(items: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _placeholders(items: list[Any]) -> str:
    return ", ".join("?" * len(items))


def _ids_elsewhere(
    db: sqlite_utils.Database, ids: list[str], touched: list[str], decks_dir: Path
) -> dict[str, str]:
    """Active notes with these ids that live in files not being recompiled: id -> file:line."""
    found: dict[str, str] = {}
    for chunk in _chunks(ids):
        rows = db.execute(
            f"SELECT id, source_file, source_line FROM notes WHERE retired_at IS NULL AND id IN ({_placeholders(chunk)})",
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
            if row is None or row[0] == note_type.fingerprint():
                continue
            holder = row[1] if row[1] is not None and row[1] not in touched else _user(db, name, touched)
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


_UPSERT_TYPE = (
    "INSERT INTO note_types(name, definition, fingerprint, source_file, modified_at) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT(name) DO UPDATE SET definition = excluded.definition, source_file = excluded.source_file, "
    "modified_at = CASE WHEN fingerprint = excluded.fingerprint THEN modified_at ELSE excluded.modified_at END, "
    "fingerprint = excluded.fingerprint"
)


def write_builtin_types(db: sqlite_utils.Database, stamp: str) -> None:
    """Store the built-in note types (basic, reversed, cloze) in the collection."""
    from flashcards.model import BUILTINS

    db.conn.executemany(
        _UPSERT_TYPE,
        [(t.name, json.dumps(t.definition()), t.fingerprint(), None, stamp) for t in BUILTINS.values()],
    )


def _write_types(
    db: sqlite_utils.Database,
    loaded: list[DeckFile],
    relative_of: dict[str, str],
    removed: list[str],
    stamp: str,
) -> None:
    write_builtin_types(db, stamp)
    # Rows keep their definition (retired notes may still need it) but no longer name a file that
    # is gone or recompiled; the upsert below names it again where it still declares the type.
    for chunk in _chunks(sorted(set(relative_of.values()) | set(removed))):
        db.execute(
            f"UPDATE note_types SET source_file = NULL WHERE source_file IN ({_placeholders(chunk)})", chunk
        )
    db.conn.executemany(
        _UPSERT_TYPE,
        [
            (
                note_type.name,
                json.dumps(note_type.definition()),
                note_type.fingerprint(),
                relative_of[deck_file.path],
                stamp,
            )
            for deck_file in loaded
            for note_type, _, _ in deck_file.types.values()
        ],
    )


def _write_notes(
    db: sqlite_utils.Database,
    notes: list[Note],
    relative_of: dict[str, str],
    stamp: str,
    result: CompileResult,
) -> None:
    existing: dict[str, tuple[str, str | None]] = {}
    cards_existing: dict[str, dict[str, tuple[str, str, str, int, str, str | None]]] = {}
    for chunk in _chunks([n.id for n in notes]):
        marks = _placeholders(chunk)
        for note_id, content_hash, retired in db.execute(
            f"SELECT id, content_hash, retired_at FROM notes WHERE id IN ({marks})", chunk
        ):
            existing[note_id] = (content_hash, retired)
        for row in db.execute(
            f"SELECT note_id, id, deck, front, back, ordinal, template, retired_at FROM cards WHERE note_id IN ({marks})",
            chunk,
        ):
            cards_existing.setdefault(row[0], {})[row[1]] = row[2:]
    note_rows = []
    card_inserts = []
    card_updates = []
    card_retire = []
    for note in notes:
        source_file = relative_of[note.path]
        content_hash = note.content_hash()
        previous = existing.get(note.id)
        if previous is None:
            result.notes.added += 1
            modified = stamp
        else:
            if previous[1] is not None:
                result.notes.restored += 1
            elif previous[0] != content_hash:
                result.notes.updated += 1
            modified = stamp if previous[0] != content_hash else ""
        note_rows.append(
            (
                note.id,
                note.type.name,
                note.deck,
                json.dumps(note.fields, ensure_ascii=False),
                json.dumps(list(note.tags), ensure_ascii=False),
                source_file,
                note.line,
                content_hash,
                stamp,
                modified or stamp,
                modified,
            )
        )
        new_ids = set()
        old_cards = cards_existing.get(note.id, {})
        for card in note.cards:
            new_ids.add(card.id)
            position = note.line * 1000 + card.ordinal
            old = old_cards.get(card.id)
            if old is None:
                result.cards.added += 1
                card_inserts.append(
                    (
                        card.id,
                        card.note_id,
                        card.template,
                        card.ordinal,
                        card.deck,
                        card.front,
                        card.back,
                        position,
                        stamp,
                        stamp,
                    )
                )
                continue
            content_changed = (old[0], old[1], old[2], old[3], old[4]) != (
                card.deck,
                card.front,
                card.back,
                card.ordinal,
                card.template,
            )
            if old[5] is not None:
                result.cards.restored += 1
            elif content_changed:
                result.cards.updated += 1
            card_updates.append(
                (
                    card.deck,
                    card.front,
                    card.back,
                    card.ordinal,
                    card.template,
                    position,
                    content_changed,
                    stamp,
                    card.id,
                )
            )
        for card_id, old in old_cards.items():
            if card_id not in new_ids and old[5] is None:
                card_retire.append((stamp, card_id))
    db.conn.executemany(
        "INSERT INTO notes(id, type, deck, fields, tags, source_file, source_line, content_hash, created_at, modified_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET type = excluded.type, deck = excluded.deck, "
        "fields = excluded.fields, tags = excluded.tags, source_file = excluded.source_file, source_line = excluded.source_line, "
        "content_hash = excluded.content_hash, retired_at = NULL, modified_at = coalesce(nullif(?, ''), modified_at)",
        note_rows,
    )
    db.conn.executemany(
        "INSERT INTO cards(id, note_id, template, ordinal, deck, front, back, position, created_at, modified_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        card_inserts,
    )
    db.conn.executemany(
        "UPDATE cards SET deck = ?, front = ?, back = ?, ordinal = ?, template = ?, position = ?, retired_at = NULL, "
        "modified_at = CASE WHEN ? THEN ? ELSE modified_at END WHERE id = ?",
        card_updates,
    )
    db.conn.executemany("UPDATE cards SET retired_at = ? WHERE id = ?", card_retire)
    result.cards.retired += len(card_retire)


def _retire_missing(
    db: sqlite_utils.Database, kept: set[str], touched: list[str], stamp: str, result: CompileResult
) -> None:
    gone: list[str] = []
    for chunk in _chunks(touched):
        rows = db.execute(
            f"SELECT id FROM notes WHERE retired_at IS NULL AND source_file IN ({_placeholders(chunk)})",
            chunk,
        )
        gone.extend(note_id for (note_id,) in rows if note_id not in kept)
    for chunk in _chunks(gone):
        marks = _placeholders(chunk)
        db.execute(f"UPDATE notes SET retired_at = ? WHERE id IN ({marks})", [stamp, *chunk])
        cursor = db.execute(
            f"UPDATE cards SET retired_at = ? WHERE retired_at IS NULL AND note_id IN ({marks})",
            [stamp, *chunk],
        )
        result.cards.retired += cursor.rowcount
    result.notes.retired += len(gone)


def active_decks(db: sqlite_utils.Database) -> list[str]:
    """The decks that have active cards."""
    return [str(row[0]) for row in db.execute("SELECT DISTINCT deck FROM cards WHERE retired_at IS NULL")]
