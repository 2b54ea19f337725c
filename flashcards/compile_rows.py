"""Write compiled note types, notes and cards into the collection, and count what changed.

:mod:`flashcards.compiler` decides what to write (and refuses a deck with problems); this module
turns its notes into rows: inserts, updates and retirements, gathered and written in bulk
inside the compiler's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flashcards import anki_ids, gather
from flashcards.database import Database
from flashcards.render_html import card_fields, markdown_to_html, note_html

if TYPE_CHECKING:
    from flashcards.loader import DeckFile
    from flashcards.model import Note

_CHUNK = 500
_JSON = json.JSONEncoder(
    ensure_ascii=False
).encode  # json.dumps(…, ensure_ascii=False), its encoder made once


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


@dataclass(frozen=True)
class RetiredHistory:
    """A card retired although it has reviews: its id, how many, and why it left."""

    card_id: str
    reviews: int
    reason: str


@dataclass
class CompileResult:
    """What one compile did (or, dry run, would do)."""

    notes: Counts = field(default_factory=Counts)
    cards: Counts = field(default_factory=Counts)
    files_compiled: int = 0
    files_skipped: int = 0
    files_removed: int = 0
    dry_run: bool = False
    changes: dict[str, list[str]] = field(
        default_factory=lambda: {"added": [], "updated": [], "retired": [], "restored": [], "renamed": []}
    )  # card ids by what happened to them ("renamed": "old -> new")
    retired_history: list[RetiredHistory] = field(default_factory=list)
    ids_written: list[tuple[str, int]] = field(default_factory=list)  # file as shown, notes given an id
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """True when the collection was written to."""
        return bool(self.files_compiled or self.files_removed)


def chunks(items: list[Any]) -> Iterator[list[Any]]:
    """Split ``items`` into lists short enough for one SQL statement's parameters."""
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def placeholders(items: list[Any]) -> str:
    """Return ``?, ?, …``, one mark per item."""
    return ", ".join("?" * len(items))


_UPSERT_TYPE = (
    "INSERT INTO note_types(name, definition, fingerprint, source_file, modified_at) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT(name) DO UPDATE SET definition = excluded.definition, source_file = excluded.source_file, "
    "modified_at = CASE WHEN fingerprint = excluded.fingerprint THEN modified_at ELSE excluded.modified_at END, "
    "fingerprint = excluded.fingerprint"
)


def write_builtin_types(db: Database, stamp: str) -> None:
    """Store the built-in note types (basic, reversed, cloze) in the collection."""
    from flashcards.model import BUILTINS

    db.conn.executemany(
        _UPSERT_TYPE,
        [(t.name, json.dumps(t.definition()), t.fingerprint(), None, stamp) for t in BUILTINS.values()],
    )


def write_types(
    db: Database,
    loaded: list[DeckFile],
    relative_of: dict[str, str],
    removed: list[str],
    stamp: str,
) -> None:
    write_builtin_types(db, stamp)
    # Rows keep their definition (retired notes may still need it) but no longer name a file that
    # is gone or recompiled; the upsert below names it again where it still declares the type.
    for chunk in chunks(sorted(set(relative_of.values()) | set(removed))):
        db.execute(
            f"UPDATE note_types SET source_file = NULL WHERE source_file IN ({placeholders(chunk)})", chunk
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


@dataclass(frozen=True)
class _StoredNote:
    content_hash: str
    retired_at: str | None


@dataclass(frozen=True)
class _StoredCard:
    deck: str
    front: str
    back: str
    ordinal: int
    template: str
    retired_at: str | None

    def content(self) -> tuple[str, str, str, int, str]:
        """What, changed, makes the card 'updated'."""
        return (self.deck, self.front, self.back, self.ordinal, self.template)


@dataclass
class _Writes:
    """The rows one compile writes, gathered before a few bulk statements."""

    notes: list[tuple[Any, ...]] = field(default_factory=list)
    card_renames: list[tuple[str, str]] = field(default_factory=list)
    card_inserts: list[tuple[Any, ...]] = field(default_factory=list)
    card_updates: list[tuple[Any, ...]] = field(default_factory=list)
    card_retirements: list[tuple[str, str]] = field(default_factory=list)
    retire_reasons: dict[str, str] = field(default_factory=dict)


def write_notes(
    db: Database,
    notes: list[Note],
    relative_of: dict[str, str],
    stamp: str,
    result: CompileResult,
    apply: bool = True,
) -> None:
    stored_notes, stored_cards = _stored(db, [n.id for n in notes])
    writes = _Writes()
    for note in notes:
        rendered = _render(note)
        _plan_note(note, rendered, relative_of[note.path], stored_notes.get(note.id), stamp, result, writes)
        _plan_cards(
            note,
            rendered,
            stored_cards.get(note.id, {}),
            stamp,
            result,
            writes,
            lambda c: _has_reviews(db, c),
        )
    if apply:
        _apply(db, writes)
        media = {m.name: m for note in notes for m in note.media}
        db.conn.executemany(
            "INSERT OR IGNORE INTO media(name, sha256, data) VALUES (?, ?, ?)",
            [(m.name, m.sha256, m.data) for m in media.values()],
        )
    result.cards.retired += len(writes.card_retirements)
    result.changes["retired"].extend(card_id for _, card_id in writes.card_retirements)
    result.changes["renamed"].extend(f"{old} -> {new}" for old, new in writes.card_renames)
    note_history(db, writes.retire_reasons, result)


def _has_reviews(db: Database, card_id: str) -> bool:
    return db.execute("SELECT 1 FROM reviews WHERE card_id = ? LIMIT 1", [card_id]).fetchone() is not None


def note_history(db: Database, reasons: dict[str, str], result: CompileResult) -> None:
    """Record the retired cards that have reviews, with their review counts."""
    ids = list(reasons)
    for chunk in chunks(ids):
        rows = db.execute(
            f"SELECT card_id, count(*) FROM reviews WHERE card_id IN ({placeholders(chunk)}) GROUP BY card_id",
            chunk,
        )
        result.retired_history.extend(
            RetiredHistory(card_id, int(n), reasons[card_id]) for card_id, n in rows
        )
    result.retired_history.sort(key=lambda r: r.card_id)


def prune_media(db: Database) -> None:
    """Forget media files that no note names any more."""
    db.execute("DELETE FROM media WHERE name NOT IN (SELECT value FROM notes, json_each(notes.media))")


def _stored(
    db: Database, note_ids: list[str]
) -> tuple[dict[str, _StoredNote], dict[str, dict[str, _StoredCard]]]:
    """The stored notes with these ids, and their cards by note and card id."""
    notes: dict[str, _StoredNote] = {}
    cards: dict[str, dict[str, _StoredCard]] = {}
    for chunk in chunks(note_ids):
        marks = placeholders(chunk)
        for note_id, content_hash, retired_at in db.execute(
            f"SELECT id, content_hash, retired_at FROM notes WHERE id IN ({marks})", chunk
        ):
            notes[note_id] = _StoredNote(content_hash, retired_at)
        for note_id, card_id, *columns in db.execute(
            "SELECT note_id, id, deck, front, back, ordinal, template, retired_at FROM cards "
            f"WHERE note_id IN ({marks})",
            chunk,
        ):
            cards.setdefault(note_id, {})[card_id] = _StoredCard(*columns)
    return notes, cards


@dataclass(frozen=True)
class _Rendered:
    """A note's HTML, rendered once at compile time: its fields, its cards' sides, its Anki fields."""

    media: dict[str, str]
    fields: dict[str, str]
    sides: dict[str, tuple[str | None, str | None]]
    anki_fields: str


def _render(note: Note) -> _Rendered:
    media = {m.key: m.name for m in note.media} if note.media else {}
    fields = note_html(note.type, note.fields, media)
    values = [fields[name] for name in note.type.fields]
    sides: dict[str, tuple[str | None, str | None]] = {}
    if note.type.kind == "cloze":  # Anki renders cloze cards from the note's fields
        for card in note.cards:
            sides[card.id] = (None, None)
        return _Rendered(media, fields, sides, "\x1f".join([*values, note.id]))
    done = {text: fields[name] for name, text in note.fields.items()}  # a side is often a field as it is
    by_ordinal: dict[int, tuple[str, str]] = {}
    for card in note.cards:
        front = done.get(card.front)
        if front is None:
            front = done[card.front] = markdown_to_html(card.front, media)
        back = done.get(card.back)
        if back is None:
            back = done[card.back] = markdown_to_html(card.back, media)
        sides[card.id] = by_ordinal[card.ordinal] = (front, back)
    values += card_fields(note.type, by_ordinal)
    return _Rendered(media, fields, sides, "\x1f".join([*values, note.id]))


def _plan_note(
    note: Note,
    rendered: _Rendered,
    source_file: str,
    stored: _StoredNote | None,
    stamp: str,
    result: CompileResult,
    writes: _Writes,
) -> None:
    content_hash = note.content_hash()
    if stored is None:
        result.notes.added += 1
        modified = stamp
    else:
        if stored.retired_at is not None:
            result.notes.restored += 1
        elif stored.content_hash != content_hash:
            result.notes.updated += 1
        modified = stamp if stored.content_hash != content_hash else ""
    writes.notes.append(
        (
            note.id,
            note.type.name,
            note.deck,
            _JSON(note.fields),
            _JSON(list(note.tags)),
            source_file,
            note.line,
            content_hash,
            _JSON(rendered.fields),
            rendered.anki_fields,
            anki_ids.note_guid(note.id),
            json.dumps(sorted(rendered.media.values())) if rendered.media else "[]",
            stamp,
            modified or stamp,
            modified,
        )
    )


def _plan_cards(
    note: Note,
    rendered: _Rendered,
    stored: dict[str, _StoredCard],
    stamp: str,
    result: CompileResult,
    writes: _Writes,
    has_reviews: Callable[[str], bool],
) -> None:
    renames = note.type.template_renames()
    stored = dict(stored)
    for card in note.cards:
        front_html, back_html = rendered.sides[card.id]
        position = gather.position(note.file_order, note.line, card.ordinal)
        old = stored.get(card.id)
        former = f"{note.id}/{renames[card.template]}" if card.template in renames else ""
        if former in stored and (old is None or not has_reviews(card.id)):
            # A renamed template: its card takes the new name, with its history (replacing a card
            # made under the new name before 'renamed_from' was written, which has no history).
            old = stored.pop(former)
            writes.card_renames.append((former, card.id))
        if old is None:
            result.cards.added += 1
            result.changes["added"].append(card.id)
            writes.card_inserts.append(
                (card.id, card.note_id, card.template, card.ordinal, card.deck, card.front, card.back,
                 front_html, back_html, position, stamp, stamp)
            )  # fmt: skip
            continue
        content_changed = old.content() != (card.deck, card.front, card.back, card.ordinal, card.template)
        if old.retired_at is not None:
            result.cards.restored += 1
            result.changes["restored"].append(card.id)
        elif content_changed:
            result.cards.updated += 1
            result.changes["updated"].append(card.id)
        writes.card_updates.append(
            (card.deck, card.front, card.back, front_html, back_html, card.ordinal, card.template, position,
             content_changed, stamp, card.id)
        )  # fmt: skip
    kept = {card.id for card in note.cards}
    for card_id, old in stored.items():
        if card_id not in kept and old.retired_at is None:
            writes.card_retirements.append((stamp, card_id))
            writes.retire_reasons[card_id] = (
                f"note '{note.id}' ({note.source}) no longer has a card '{old.template}' "
                f"(note type '{note.type.name}')"
            )


def _apply(db: Database, writes: _Writes) -> None:
    if writes.card_renames:
        _rename_cards(db, writes.card_renames)
    db.conn.executemany(
        "INSERT INTO notes(id, type, deck, fields, tags, source_file, source_line, content_hash, fields_html, anki_fields, "
        "anki_guid, media, created_at, modified_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
        "type = excluded.type, deck = excluded.deck, fields = excluded.fields, tags = excluded.tags, "
        "fields_html = excluded.fields_html, anki_fields = excluded.anki_fields, anki_guid = excluded.anki_guid, media = excluded.media, "
        "source_file = excluded.source_file, source_line = excluded.source_line, "
        "content_hash = excluded.content_hash, retired_at = NULL, modified_at = coalesce(nullif(?, ''), modified_at)",
        writes.notes,
    )
    db.conn.executemany(
        "INSERT INTO cards(id, note_id, template, ordinal, deck, front, back, front_html, back_html, position, "
        "created_at, modified_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        writes.card_inserts,
    )
    db.conn.executemany(
        "UPDATE cards SET deck = ?, front = ?, back = ?, front_html = ?, back_html = ?, ordinal = ?, template = ?, position = ?, retired_at = NULL, "
        "modified_at = CASE WHEN ? THEN ? ELSE modified_at END WHERE id = ?",
        writes.card_updates,
    )
    db.conn.executemany("UPDATE cards SET retired_at = ? WHERE id = ?", writes.card_retirements)


def _rename_cards(db: Database, renames: list[tuple[str, str]]) -> None:
    """Give cards new ids, their review history with them (a template renamed with ``renamed_from``)."""
    from flashcards import reviewlog

    columns = [row[1] for row in db.execute("PRAGMA table_info(cards)") if row[1] != "id"]
    listed = ", ".join(columns)
    for old, new in renames:
        db.execute("DELETE FROM cards WHERE id = ?", [new])  # one with no history, see _plan_cards
        db.execute(f"INSERT INTO cards(id, {listed}) SELECT ?, {listed} FROM cards WHERE id = ?", [new, old])
        reviewlog.move(db, old, new)
        db.execute("DELETE FROM cards WHERE id = ?", [old])
        # journal lines written before the rename (on any machine) name the old id
        db.execute("INSERT OR REPLACE INTO journal_renames(old, new) VALUES (?, ?)", [old, new])


def retire_missing(
    db: Database,
    kept: set[str],
    touched: list[str],
    stamp: str,
    result: CompileResult,
    apply: bool = True,
    shown: Callable[[str], str] = str,
) -> None:
    """Retire the notes of ``touched`` files that are no longer in them (``shown`` names a file for people)."""
    gone: list[tuple[str, str, int]] = []
    for chunk in chunks(touched):
        rows = db.execute(
            "SELECT id, source_file, source_line FROM notes "
            f"WHERE retired_at IS NULL AND source_file IN ({placeholders(chunk)})",
            chunk,
        )
        gone.extend(row for row in rows if row[0] not in kept)
    reasons: dict[str, str] = {}
    for chunk in chunks(gone):
        ids = [note_id for note_id, _, _ in chunk]
        where = {note_id: f"{shown(source)}:{line}" for note_id, source, line in chunk}
        for card_id, note_id in db.execute(
            f"SELECT id, note_id FROM cards WHERE retired_at IS NULL AND note_id IN ({placeholders(ids)})",
            ids,
        ):
            reasons[card_id] = f"note '{note_id}' is no longer in the decks (it was at {where[note_id]})"
        if apply:
            marks = placeholders(ids)
            db.execute(f"UPDATE notes SET retired_at = ? WHERE id IN ({marks})", [stamp, *ids])
            db.execute(
                f"UPDATE cards SET retired_at = ? WHERE retired_at IS NULL AND note_id IN ({marks})",
                [stamp, *ids],
            )
    result.cards.retired += len(reasons)
    result.changes["retired"].extend(sorted(reasons))
    result.notes.retired += len(gone)
    note_history(db, reasons, result)
