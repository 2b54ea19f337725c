"""Bring the collection in line with the deck files, in one transaction.

Files whose content hash is unchanged are skipped, so compiling before every command costs
almost nothing. Notes that left the decks are retired, never deleted: their cards leave the
queues, their history stays, and both come back if the note returns.
"""

from __future__ import annotations

import gc
import hashlib
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from flashcards import clock, deckstat
from flashcards.compile_rows import (
    CompileResult,
    chunks,
    placeholders,
    prune_media,
    retire_missing,
    write_notes,
    write_types,
)
from flashcards.database import Database
from flashcards.deckstat import RENDERER_VERSION
from flashcards.errors import CardsError, Problem, SourceError
from flashcards.paths import display_path, find_deck_files, read_deck_file

if TYPE_CHECKING:
    from flashcards.loader import DeckFile
    from flashcards.model import NoteType

_CHUNK = 500
# Part of every file's stored hash: raised when the compiler starts writing something new into
# deck files, so that every file is read once more. Version 2: ids are written into the files.
_FORMAT = b"cards deck file, compiled with version 2\n"


def file_hash(data: bytes) -> str:
    """The hash ``deck_files`` keeps of a file: unchanged files (at this version) are skipped."""
    return hashlib.sha256(_FORMAT + data).hexdigest()


@dataclass
class _Source:
    relative: str
    path: Path
    data: bytes
    sha256: str
    stat: deckstat.Stat | None  # its size and time while it was read, if they can be trusted


def check_paths(paths: Iterable[Path], decks_dir: Path | None = None) -> tuple[list[DeckFile], list[Problem]]:
    """Validate deck files or directories without touching any collection.

    Notes may use note types declared in the other files of ``decks_dir`` (they are shared).
    """
    from flashcards.loader import cross_file_problems, load_files, types_of

    files = find_deck_files(paths)
    problems = [Problem(display_path(p), 1, 1, "no such file") for p in files if not p.exists()]
    present = [p for p in files if p.exists()]
    shared = {}
    if decks_dir is not None and decks_dir.is_dir():
        chosen = {p.resolve() for p in present}
        others = [p for p in find_deck_files([decks_dir]) if p.resolve() not in chosen]
        shared = types_of([(p, display_path(p), None) for p in others])
    loaded = load_files([(p, display_path(p), None) for p in present], shared)
    for deck_file in loaded:
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
        before = deckstat.stat_of(path)
        data, problem = read_deck_file(path, display_path(path))
        if problem is not None:
            problems.append(problem)
        if data is not None:
            stat = deckstat.settled(before, deckstat.stat_of(path))
            sources.append(_Source(path.relative_to(decks_dir).as_posix(), path, data, file_hash(data), stat))
    if problems:
        raise SourceError(problems)
    return sources


def compile_decks(
    db: Database,
    decks_dir: Path,
    now: datetime,
    *,
    count_unchanged: bool = True,
    dry_run: bool = False,
) -> CompileResult:
    """Check the decks, then update the collection; raise :class:`SourceError` and write nothing on any problem.

    Notes written without ``id:`` get their derived id written into their file first (see
    :mod:`flashcards.idwrite`), so later edits keep their history. With ``count_unchanged=False``
    and nothing to do, the unchanged counts are left at 0 rather than counted (a pass over both
    tables, wasted on the implicit compile before every command). With ``dry_run``, the result
    says what a compile would do, and nothing (collection or deck file) is written.
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
        if stored.get(s.relative) != s.sha256
        or not deckstat.media_unchanged(decks_dir, stored_media[s.relative])
    ]
    removed = sorted(set(stored) - {s.relative for s in sources})
    result = CompileResult(files_skipped=len(sources) - len(changed), dry_run=dry_run)
    if not changed and not removed:
        if count_unchanged:
            result.notes.unchanged = _count(db, "notes")
            result.cards.unchanged = _count(db, "cards")
    else:
        with _collector_paused():
            result = _compile_changed(db, decks_dir, now, sources, changed, removed, result, dry_run)
    if not dry_run:
        deckstat.record(db, [(s.relative, s.stat, s.sha256) for s in sources])
    return result


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while a compile builds its notes and rows.

    A compile makes many small objects that live until it ends (nodes, notes, cards, rows), and
    frees them by reference counting; the collector would only walk them again and again (about
    a tenth of a compile from scratch). It runs as before once the compile is done.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _compile_changed(
    db: Database,
    decks_dir: Path,
    now: datetime,
    sources: list[_Source],
    changed: list[_Source],
    removed: list[str],
    result: CompileResult,
    dry_run: bool,
) -> CompileResult:
    from flashcards.loader import cross_file_problems, load_files

    touched = [s.relative for s in changed] + removed
    shared = _shared_types(db, touched)
    loaded = load_files([(s.path, display_path(s.path), s.data) for s in changed], shared)
    if len(changed) < len(sources) and _types_changed(db, loaded, touched):
        # A note type shared with the files not read changed (or left its file): read them all.
        changed, touched, shared = sources, [s.relative for s in sources] + removed, {}
        loaded = load_files([(s.path, display_path(s.path), s.data) for s in changed])
    relative_of = {display_path(s.path): s.relative for s in changed}
    problems = [p for f in loaded for p in f.problems]
    notes = [n for f in loaded for n in f.notes]
    problems += cross_file_problems(
        loaded,
        _ids_elsewhere(db, [n.id for n in notes], touched, decks_dir),
        _decks_elsewhere(db, touched, decks_dir),
    )
    if problems:
        raise SourceError(sorted(set(problems)))
    result.warnings.extend(str(w) for f in loaded for w in sorted(f.warnings))
    _write_ids(
        changed, loaded, result, {**shared, **{n: t for f in loaded for n, (t, _, _) in f.types.items()}}
    )
    notes = [n for f in loaded for n in f.notes]

    stamp = clock.to_db(now)

    def shown(relative: str) -> str:
        return display_path(decks_dir / relative)

    if dry_run:
        write_notes(db, notes, relative_of, stamp, result, apply=False)
        retire_missing(db, {n.id for n in notes}, touched, stamp, result, apply=False, shown=shown)
        for table, counts in (("notes", result.notes), ("cards", result.cards)):
            counts.unchanged = _count(db, table) - counts.updated - counts.retired
        return result
    with db.atomic():
        write_types(db, loaded, relative_of, removed, stamp)
        write_notes(db, notes, relative_of, stamp, result)
        retire_missing(db, {n.id for n in notes}, touched, stamp, result, shown=shown)
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


def _write_ids(
    changed: list[_Source], loaded: list[DeckFile], result: CompileResult, types: dict[str, NoteType]
) -> None:
    """Write derived ids into the files that have notes without ``id:`` (a dry run only counts them).

    The new bytes are loaded again and must give the same notes with no problem, or the file is
    left as it was (with a warning: its notes then keep their derived ids, as before).
    """
    from flashcards.idwrite import replace_file, with_ids
    from flashcards.loader import load_file

    for index, (source, deck_file) in enumerate(zip(changed, loaded, strict=True)):
        if not deck_file.missing_ids:
            continue
        count = len(deck_file.missing_ids)
        if result.dry_run:
            result.ids_written.append((deck_file.path, count))
            continue
        data = with_ids(source.data, deck_file.missing_ids)
        again = load_file(source.path, deck_file.path, data, types) if data is not None else None
        same = (
            again is not None
            and not again.problems
            and not again.missing_ids
            and [(n.id, n.fields, n.cards) for n in again.notes]
            == [(n.id, n.fields, n.cards) for n in deck_file.notes]
        )
        reason = "" if data is not None and same else "the file's layout is not one it can edit"
        if data is not None and not reason:
            try:
                if not replace_file(source.path, source.data, data):
                    continue  # changed since it was read: the next compile reads it again
            except OSError as error:
                reason = error.strerror or str(error)
        if reason or data is None or again is None:
            result.warnings.append(
                f"warning: could not write 'id:' into {deck_file.path} ({reason}); its {count} notes "
                "without one lose their history if their key field is edited: give them an 'id:' "
                "(`cards list` shows it)"
            )
            continue
        loaded[index] = again
        changed[index] = _Source(source.relative, source.path, data, file_hash(data), None)  # just written
        result.ids_written.append((deck_file.path, count))


def _media_list(source: _Source, deck_file: DeckFile) -> str:
    """The media a compiled file names, as stored for change detection: path from the decks folder, hash, size, time."""
    folder = PurePosixPath(source.relative).parent
    found = {
        (folder / m.path).as_posix(): (m.sha256, m.size, m.mtime_ns) for n in deck_file.notes for m in n.media
    }
    return json.dumps([[path, *found[path]] for path in sorted(found)])


def _count(db: Database, table: str) -> int:
    return int(db.execute(f"SELECT count(*) FROM {table} WHERE retired_at IS NULL").fetchone()[0])


def _ids_elsewhere(db: Database, ids: list[str], touched: list[str], decks_dir: Path) -> dict[str, str]:
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


def _shared_types(db: Database, touched: list[str]) -> dict[str, NoteType]:
    """The note types declared in files not being recompiled, as they were compiled."""
    from flashcards.model import NoteType

    rows = db.execute("SELECT definition, source_file FROM note_types WHERE source_file IS NOT NULL")
    skip = set(touched)
    return {
        t.name: t
        for t in (NoteType.from_definition(json.loads(d)) for d, source in rows if source not in skip)
    }


def _types_changed(db: Database, loaded: list[DeckFile], touched: list[str]) -> bool:
    """True when a type stored from a file being recompiled is declared differently now, or no more."""
    declared = {name: t.fingerprint() for f in loaded for name, (t, _, _) in f.types.items()}
    skip = set(touched)
    for name, fingerprint, source in db.execute(
        "SELECT name, fingerprint, source_file FROM note_types WHERE source_file IS NOT NULL"
    ):
        if name in declared and declared[name] != fingerprint:
            return True
        if name not in declared and source in skip:
            return True
    return False


def _decks_elsewhere(db: Database, touched: list[str], decks_dir: Path) -> dict[str, str]:
    """The decks of active notes in files not being recompiled: deck -> file."""
    rows = db.execute("SELECT deck, min(source_file) FROM notes WHERE retired_at IS NULL GROUP BY deck")
    return {deck: display_path(decks_dir / source) for deck, source in rows if source not in touched}
