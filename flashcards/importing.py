"""``cards import``: an Anki file's answers join the log; notes from elsewhere become YAML decks.

Notes that came from ``cards`` carry the ``cards_id`` field (and a GUID derived from it): their
cards map to ours by note id and template ordinal, and their review-log rows, filtered as
Anki's FSRS filters them (:func:`flashcards.anki_import.fsrs_rows`), are merged into the log by
:func:`flashcards.merge.take_in`, each with the due date Anki gave. Other notes are converted by
:mod:`flashcards.foreign`. The answers are merged in one transaction, so an error leaves the log
and the cards as they were; the deck files of notes from elsewhere are checked before they are
written, then written and compiled (a transaction of their own) before the merge.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from itertools import groupby
from operator import itemgetter
from pathlib import Path

from flashcards import anki_ids, clock, merge, reviewlog, scheduler
from flashcards.anki_ids import IMPORTED_PREFIX
from flashcards.anki_import import (
    CARD,
    EASE,
    ID,
    INTERVAL,
    KIND,
    REVLOG_LEARNING,
    REVLOG_RELEARNING,
    REVLOG_REVIEW,
    TAKEN,
    Card,
    Collection,
    Note,
    Revlog,
    fsrs_rows,
    is_reset,
    open_anki,
)
from flashcards.compiler import compile_decks
from flashcards.database import Database
from flashcards.errors import CardsError
from flashcards.export import ID_FIELD
from flashcards.foreign import MEDIA_DIR, Converted, convert
from flashcards.paths import display_path
from flashcards.settings import Settings
from flashcards.states import RATING_OF, State

ANKI_QUEUE_SUSPENDED = -1
ANKI_QUEUE_LEARNING = 1
_STATE_OF_KIND = {
    REVLOG_LEARNING: State.LEARNING,
    REVLOG_REVIEW: State.REVIEW,
    REVLOG_RELEARNING: State.RELEARNING,
}
_STATE_OF_TYPE = {1: State.LEARNING, 2: State.REVIEW, 3: State.RELEARNING}
SHOWN_NAMES = 5
FIRST_ANKI_ID = 946_684_800_000  # 2000-01-01 UTC, in milliseconds: no Anki answer is older
LAST_ANKI_ID = 190_288_396_800_000  # 8000-01-01 UTC: its day and due date (LONGEST_INTERVAL on) are dates
LONGEST_INTERVAL = 10 * 36_500  # days: Anki's longest maximum interval is 36,500
LONGEST_STEP = 10 * 365 * 86_400  # seconds (a learning row's interval is minus its step in seconds)
IMPORT_CACHE_KIB = 48 * 1024  # SQLite page cache while an import writes
IMPORTED_DIR = "imported"  # under the decks directory: where notes from elsewhere are written
# The first line of a deck file an import writes, followed by the SHA-256 of the rest of the file.
STAMP = "# Written by `cards import` from Anki; a later import updates it unless it is edited. sha256: "


@dataclass
class ImportReport:
    """What an import did (or, with ``--dry-run``, would do)."""

    path: Path
    anki_cards: int = 0
    anki_reviews: int = 0
    cards_mapped: int = 0
    imported: int = 0
    echoes: int = 0
    already: int = 0
    skipped_for_fsrs: int = 0  # rows Anki's FSRS does not use (manual changes, cram answers, before a reset)
    notes_unknown: list[str] = field(default_factory=list)  # cards_id values naming no card here
    notes_made_in_anki: int = 0  # notes on a cards note type without a cards id of their own
    reset_in_anki: list[str] = field(default_factory=list)
    rescheduled_in_anki: list[str] = field(default_factory=list)
    suspended_in_anki: list[str] = field(default_factory=list)
    foreign: list[Converted] | None = None  # notes from elsewhere, as deck files
    written: list[Converted] = field(
        default_factory=list
    )  # deck files (to be) written: new or changed in Anki
    edited_here: list[Converted] = field(default_factory=list)  # deck files left alone: edited here
    not_in_decks: int = 0  # cards of notes from elsewhere that no deck file here holds
    same_file_at: str | None = None  # when the same bytes were imported in full (nothing read now)
    media: list[Path] = field(default_factory=list)  # media files (to be) written beside the deck files
    media_kept: list[Path] = field(default_factory=list)  # there already with other bytes: left as they are

    def whole(self) -> bool:
        """Whether every note of the file has its cards here: importing the same bytes again adds nothing."""
        return not self.notes_unknown and not self.foreign and not self.not_in_decks

    def remembered(self) -> str:
        """What a later import of the same bytes reports, as JSON (every answer then already imported)."""
        return json.dumps(
            {
                "anki_cards": self.anki_cards,
                "anki_reviews": self.anki_reviews,
                "cards_mapped": self.cards_mapped,
                "echoes": self.echoes,
                "already": self.already + self.imported,
                "skipped_for_fsrs": self.skipped_for_fsrs,
                "notes_made_in_anki": self.notes_made_in_anki,
                "reset_in_anki": self.reset_in_anki,
                "rescheduled_in_anki": self.rescheduled_in_anki,
                "suspended_in_anki": self.suspended_in_anki,
            },
            sort_keys=True,
        )

    def summary(self, dry_run: bool) -> list[str]:
        """What was done (or would be, with ``dry_run``), for people."""
        verb = "would import" if dry_run else "imported"
        lines = [
            f"{display_path(self.path)}: {self.anki_cards} cards and {self.anki_reviews} review-log rows in Anki",
            f"cards mapped to this collection: {self.cards_mapped}",
            f"reviews {verb}: {self.imported}; echoes of reviews made here skipped: {self.echoes}; "
            f"already imported: {self.already}; rows Anki's FSRS skips (manual changes, cram, before a reset): "
            f"{self.skipped_for_fsrs}",
        ]
        edited = {id(deck) for deck in self.edited_here}
        written_now = {id(deck) for deck in self.written}
        for deck in self.foreign or []:
            if id(deck) in edited or not deck.text:
                continue
            verb = "would write" if dry_run else "wrote"
            written = verb if id(deck) in written_now else "unchanged:"
            lines.append(
                f"{written} {display_path(deck.path)}: {_count(deck.notes, 'note', 'notes')} of Anki deck '{deck.deck}'"
            )
        if self.media:
            folders = sorted({display_path(path.parent) for path in self.media})
            lines.append(
                f"{'would write' if dry_run else 'wrote'} {_count(len(self.media), 'media file', 'media files')} "
                f"to {', '.join(folders)}"
            )
        if self.same_file_at is not None:
            lines.append(
                f"nothing new: the same file was imported in full on {self.same_file_at[:16].replace('T', ' ')} UTC"
            )
        if dry_run:
            lines.append("Dry run: nothing was written.")
        return lines

    def warnings(self) -> list[str]:
        """What has no counterpart here, one line each."""
        lines: list[str] = []
        for deck in self.foreign or []:  # a note's own problems name the deck file it is (or was to be) in
            where = f"{display_path(deck.path)}: "
            lines.extend(
                f"warning: {where if problem.startswith('note ') else ''}{problem}"
                for problem in deck.problems
            )
            lines.extend(
                f"warning: {where}{why}; it stays in Anki, and so do its reviews: fix it there and import again"
                for why in deck.left_out
            )
        lines.extend(
            f"warning: {display_path(path)} is there already with other bytes than Anki's: left as it is"
            for path in self.media_kept
        )
        for deck in self.foreign or []:
            lines.extend(
                f"warning: {_count(len(ids), 'note', 'notes')} of Anki deck '{deck.deck}' "
                f"{_pick(len(ids), 'is', 'are')} in {display_path(Path(there))} (moved there, or imported before with another --into): "
                f"left as {_pick(len(ids), 'it is', 'they are')} there, {_pick(len(ids), 'its', 'their')} answers imported"
                for there, ids in sorted(deck.elsewhere.items())
            )
        for deck in self.edited_here:
            lines.append(
                f"warning: {display_path(deck.path)} was changed here since `cards import` wrote it: left as it is, "
                f"so Anki's version of deck '{deck.deck}' ({_count(deck.notes, 'note', 'notes')}) was not written; "
                "to take Anki's version, move the file away and import again (then copy your changes back)"
            )
        if self.not_in_decks:
            lines.append(
                f"warning: {_count(self.not_in_decks, 'card', 'cards')} of notes from Anki "
                f"{_pick(self.not_in_decks, 'is', 'are')} in no deck file here (left out of a file changed here); "
                f"{_pick(self.not_in_decks, 'its', 'their')} reviews were not imported"
            )
        if self.notes_unknown:
            lines.append(
                f"warning: {_count(len(self.notes_unknown), 'note names', 'notes name')} a card id that is not in this collection "
                f"({_names(self.notes_unknown)}); {_pick(len(self.notes_unknown), 'its reviews were', 'their reviews were')} "
                f"not imported: compile the {_pick(len(self.notes_unknown), 'deck that holds it', 'decks that hold them')}"
            )
        if self.notes_made_in_anki:
            lines.append(
                f"warning: {_count(self.notes_made_in_anki, 'note was', 'notes were')} added in Anki on a cards note type; "
                f"cards has no YAML for {_pick(self.notes_made_in_anki, 'it: write it', 'them: write them')} into a deck file"
            )
        if self.reset_in_anki:
            lines.append(
                f"warning: {_count(len(self.reset_in_anki), 'card was', 'cards were')} reset or forgotten in Anki "
                f"({_names(self.reset_in_anki)}); "
                f"{_pick(len(self.reset_in_anki), 'its', 'their')} answers before the reset stay in the log here"
            )
        if self.rescheduled_in_anki:
            lines.append(
                f"warning: {_count(len(self.rescheduled_in_anki), 'card was', 'cards were')} rescheduled by hand in Anki "
                f"({_names(self.rescheduled_in_anki)}); cards keeps the schedule "
                f"{_pick(len(self.rescheduled_in_anki), 'its', 'their')} answers gave"
            )
        if self.suspended_in_anki:
            lines.append(
                f"warning: {_count(len(self.suspended_in_anki), 'card is', 'cards are')} suspended in Anki "
                f"({_names(self.suspended_in_anki)}); "
                f"{_pick(len(self.suspended_in_anki), 'it is', 'they are')} not suspended here: `cards suspend ID` does it"
            )
        return lines


def _count(count: int, one: str, many: str) -> str:
    return f"{count} {_pick(count, one, many)}"


def _pick(count: int, one: str, many: str) -> str:
    """The words for one item, or for any other number of them."""
    return one if count == 1 else many


def _names(names: list[str]) -> str:
    shown = ", ".join(sorted(names)[:SHOWN_NAMES])
    return shown + (", …" if len(names) > SHOWN_NAMES else "")


def import_file(
    db: Database,
    settings: Settings,
    path: Path,
    *,
    write: bool = True,
    decks_dir: Path | None = None,
    into: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Take in an Anki file: its deck files, their compilation and the answers, all or nothing.

    The deck files of notes from elsewhere are written first (a file edited since an import
    wrote it is left alone, see :func:`_plan`), then compiled and the answers merged in one
    transaction; if that fails, the files are put back as they were. ``progress(done, total)``
    is given the cards merged so far, of those mapped, as the merge goes.
    """
    digest = _file_digest(path)
    earlier = None if digest is None else _imported_before(db, path, digest)
    if earlier is not None:
        return earlier
    report = ImportReport(path)
    with open_anki(path) as anki, tempfile.TemporaryDirectory(prefix="cards-import-media-") as staged:
        report.anki_cards = len(anki.cards)
        report.anki_reviews = anki.revlog_count()
        foreign_notes = _foreign_notes(anki)
        planned: list[Converted] = []
        if foreign_notes:
            if decks_dir is None:
                raise CardsError(f"{path} holds notes that did not come from cards: give a decks directory")
            target = into or decks_dir / IMPORTED_DIR
            report.foreign = _convert(anki, foreign_notes, target, decks_dir, Path(staged), _placed(db))
            planned, report.edited_here = _plan(report.foreign)
            report.written = planned
            report.media, report.media_kept = _plan_media(report.foreign, target, Path(staged))
        previous_cache = db.execute("PRAGMA cache_size").fetchone()[0]
        db.execute(f"PRAGMA cache_size = {-IMPORT_CACHE_KIB}")  # the log's indexes grow all over
        restore: list[tuple[Path, bytes | None]] = []
        try:
            with merge.rollback_journal(db, report.anki_reviews if write else 0), scheduler.transaction(db):
                if write and (planned or report.media):
                    assert decks_dir is not None
                    restore = _write_media(report.media, Path(staged))
                    restore += _write_decks(planned)
                    compile_decks(db, decks_dir, clock.now())
                with merge.bulk_writes(db, report.anki_reviews if write else 0):
                    merged = _merge(db, settings, anki, report, write, progress)
                report.imported = merged.added
                report.echoes += merged.echoes
                report.already += merged.already
                if write and digest is not None and report.whole():
                    db.execute(
                        "INSERT OR REPLACE INTO imported_files(digest, imported_at, report, anki_rows) "
                        f"VALUES (?, ?, ?, ({_ANKI_ROWS}))",
                        [digest, clock.to_db(clock.now()), report.remembered()],
                    )
        except BaseException:
            _put_back(restore)
            raise
        finally:
            db.execute(f"PRAGMA cache_size = {previous_cache}")
    return report


_ANKI_ROWS = f"SELECT count(*) FROM reviews WHERE source = '{reviewlog.SOURCE_ANKI}'"  # index reviews_source


def _file_digest(path: Path) -> str | None:
    """The SHA-256 of a file's bytes, and of its write-ahead log's if it has one (a profile's
    collection.anki2 Anki has open, or left behind by a crash, holds its latest answers there:
    the same main file with another log is another collection); None when it cannot be read
    (opening it says why)."""
    try:
        if not path.is_file():
            return None  # a directory, a pipe, nothing: opening it says what
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            hashlib.file_digest(handle, lambda: digest)
        with contextlib.suppress(FileNotFoundError), Path(f"{path}-wal").open("rb") as log:
            digest.update(b"\0wal\0")
            hashlib.file_digest(log, lambda: digest)
        return digest.hexdigest()
    except OSError:
        return None


def _imported_before(db: Database, path: Path, digest: str) -> ImportReport | None:
    """The report of an earlier import of the same bytes, taken in whole, if every answer it
    brought is still in the log (then nothing in the file is new, and it is not read)."""
    row = db.execute(
        "SELECT imported_at, report, anki_rows FROM imported_files WHERE digest = ?", [digest]
    ).fetchone()
    if row is None or db.execute(_ANKI_ROWS).fetchone()[0] < row[2]:
        return None
    report = ImportReport(path, **json.loads(row[1]))
    report.same_file_at = row[0]
    return report


def _merge(
    db: Database,
    settings: Settings,
    anki: Collection,
    report: ImportReport,
    write: bool,
    progress: Callable[[int, int], None] | None = None,
) -> merge.MergeResult:
    """Map the cards and merge their answers, in the caller's transaction."""
    path = report.path
    mapping = _map_cards(db, anki, report)
    if report.anki_reviews == 0 and mapping:
        raise CardsError(
            f"{path} holds no reviews: export it from Anki with 'Include scheduling information' "
            "(or 'Include learning progress') and import again"
        )
    if report.foreign is not None:
        edited = {id(deck) for deck in report.edited_here}
        for converted in report.foreign:
            if id(converted) not in edited:
                mapping.update(converted.cards)
                continue
            known = _existing(db, set(converted.cards.values()))  # the file here decides which notes exist
            for anki_card, card_id in converted.cards.items():
                if card_id in known:
                    mapping[anki_card] = card_id
                else:
                    report.not_in_decks += 1
        report.cards_mapped = len(mapping)  # the cards of notes from elsewhere too
    settled = _settled(db, anki, mapping)
    if settled is not None:
        report.echoes, report.already = settled
    days = clock.StudyDays(settings.day_start_hour)
    offers = _offers(anki, mapping, report, days, only_pending=settled is not None)
    total = len(mapping)  # at most: cards without answers (or settled) are not offered
    merged = merge.take_in(
        db,
        settings,
        offers,
        write=write,
        progress=None if progress is None else lambda done: progress(done, total),
    )
    if progress is not None:
        progress(total, total)
    return merged


def _existing(db: Database, card_ids: set[str]) -> set[str]:
    """Which of these cards the collection has."""
    if not card_ids:
        return set()
    found: set[str] = set()
    wanted = sorted(card_ids)
    for start in range(0, len(wanted), 900):
        part = wanted[start : start + 900]
        found.update(
            row[0]
            for row in db.execute(f"SELECT id FROM cards WHERE id IN ({', '.join('?' * len(part))})", part)
        )
    return found


def _foreign_notes(anki: Collection) -> list[Note]:
    """The notes whose note type is not one of cards' (they have no ``cards_id`` field)."""
    return list(anki.notes(t for t, note_type in anki.note_types.items() if ID_FIELD not in note_type.fields))


def _convert(
    anki: Collection, notes: list[Note], into: Path, decks_dir: Path, staged: Path, placed: dict[str, str]
) -> list[Converted]:
    """Convert notes from elsewhere to deck files under ``into`` (inside the decks directory),
    checked with the media they name copied into ``staged``; the notes ``placed`` in other deck
    files are left there (see ``foreign.convert``)."""
    try:
        into.resolve().relative_to(decks_dir.resolve())
    except ValueError:
        raise CardsError(
            f"--into {display_path(into)} is outside the decks directory {display_path(decks_dir)}: "
            "the notes must be compiled to keep their history; choose a directory under it"
        ) from None
    converted = convert(anki, notes, into, decks_dir, staged, placed)
    errors = [problem for deck in converted for problem in deck.problems if ": error: " in problem]
    if errors:
        raise CardsError("the converted decks would not compile (nothing was written):\n" + "\n".join(errors))
    for deck in converted:
        if deck.text:
            deck.text = _stamped(deck.text)
    return converted


def _placed(db: Database) -> dict[str, str]:
    """Where the notes imported from Anki are now: note id -> its deck file (relative)."""
    return dict(
        db.execute(
            "SELECT id, source_file FROM notes WHERE id LIKE ? AND retired_at IS NULL",
            [f"{IMPORTED_PREFIX}%"],
        ).fetchall()
    )


def _plan_media(converted: list[Converted], into: Path, staged: Path) -> tuple[list[Path], list[Path]]:
    """The media files to write beside the deck files (in ``into``'s media folder), and those
    left as they are: there already with other bytes (a file of yours, or an earlier import's
    that you changed). A file there with the same bytes needs nothing."""
    write, kept = [], []
    for name in sorted({name for deck in converted for name in deck.media}):
        target = into / MEDIA_DIR / name
        try:
            if target.read_bytes() != (staged / MEDIA_DIR / name).read_bytes():
                kept.append(target)
        except FileNotFoundError:
            write.append(target)
        except OSError as error:
            raise CardsError(f"cannot read {display_path(target)}: {error.strerror or error}") from None
    return write, kept


def _write_media(targets: list[Path], staged: Path) -> list[tuple[Path, bytes | None]]:
    """Copy the staged media files to ``targets``; return what to put back (see :func:`_write_files`)."""
    return _write_files(
        (target, partial(Path.read_bytes, staged / MEDIA_DIR / target.name)) for target in targets
    )


def _stamped(text: str) -> str:
    """A deck file's text with the first line that tells it was written by an import, and what was written."""
    return f"{STAMP}{_digest(text)}\n{text}"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def written_by_import(data: bytes) -> bool:
    """Whether a deck file is, byte for byte, what an import wrote (its first line says what that was)."""
    text = data.decode("utf-8", "replace")
    first, _, rest = text.partition("\n")
    return first.startswith(STAMP) and first[len(STAMP) :] == _digest(rest)


def _plan(converted: list[Converted]) -> tuple[list[Converted], list[Converted]]:
    """The deck files to write, and those left alone: edited since the last import wrote them.

    A file an import wrote and nobody changed is Anki's to update; a file changed here (or
    written by hand) is the user's, so Anki's version of it is not written.
    """
    planned, edited = [], []
    for deck in converted:
        if not deck.text:
            continue  # every note of the deck left out: nothing to write
        try:
            data = deck.path.read_bytes()
        except FileNotFoundError:
            planned.append(deck)
            continue
        except OSError as error:
            raise CardsError(f"cannot read {display_path(deck.path)}: {error.strerror or error}") from None
        if data == deck.text.encode("utf-8"):
            continue  # nothing new for this file
        if written_by_import(data):
            planned.append(deck)
        else:
            edited.append(deck)
    return planned, edited


def _write_decks(decks: list[Converted]) -> list[tuple[Path, bytes | None]]:
    """Write the deck files; return what to put back (see :func:`_write_files`)."""
    return _write_files((deck.path, partial(str.encode, deck.text, "utf-8")) for deck in decks)


def _write_files(files: Iterable[tuple[Path, Callable[[], bytes]]]) -> list[tuple[Path, bytes | None]]:
    """Write each file (its bytes made when it is written); return what each path held before,
    to put back (None: nothing there). Directories made for them are listed (before their
    files) with None too. If one cannot be written, those written are put back first."""
    before: list[tuple[Path, bytes | None]] = []
    try:
        for path, data in files:
            missing = [parent for parent in path.parents if not parent.exists()]
            before.extend((directory, None) for directory in reversed(missing))
            try:
                previous: bytes | None = path.read_bytes()
            except FileNotFoundError:
                previous = None
            before.append((path, previous))
            _write_atomic(path, data())
    except BaseException:
        _put_back(before)
        raise
    return before


def _put_back(before: list[tuple[Path, bytes | None]]) -> None:
    """Put deck files (and directories) back as they were before an import that failed."""
    for path, data in reversed(before):
        try:
            if path.is_dir():
                path.rmdir()  # made by the import; empty once its files are gone
            elif data is None:
                path.unlink(missing_ok=True)
            else:
                _write_atomic(path, data)
        except (OSError, CardsError):
            pass  # the error that failed the import is the one to report


def _write_atomic(path: Path, data: bytes) -> None:
    """Write a deck file through a temporary file and a rename, so it is never half written
    (a link is written through: the file it names is replaced, the link kept)."""
    if path.is_symlink():
        path = path.resolve()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_bytes(data)
        os.replace(temporary, path)
    except OSError as error:
        raise CardsError(f"cannot write {display_path(path)}: {error.strerror or error}") from None


def _map_cards(db: Database, anki: Collection, report: ImportReport) -> dict[int, str]:
    """Anki card id → our card id, for the cards of notes that came from cards."""
    ours = {
        (note_id, ordinal): card_id
        for card_id, note_id, ordinal in db.execute("SELECT id, note_id, ordinal FROM cards")
    }
    id_position = {
        type_id: note_type.fields.index(ID_FIELD)
        for type_id, note_type in anki.note_types.items()
        if ID_FIELD in note_type.fields
    }
    note_ids: dict[int, str] = {}
    unknown: set[str] = set()
    guid = anki_ids.note_guid
    for anki_note, note_guid, type_id, fields in anki.note_rows(id_position):
        position = id_position[type_id]
        values = fields.split("\x1f", position + 1)
        cards_id = values[position].strip() if position < len(values) else ""
        if not cards_id or (guid(cards_id) != note_guid and anki_ids.derived_guid(cards_id) != note_guid):
            # (an imported note exported before its own GUID went with it has the derived one)
            report.notes_made_in_anki += 1  # added in Anki (no id, or an id copied from another note)
            continue
        note_ids[anki_note] = cards_id
    mapping = {}
    for card in anki.cards.values():
        note_id = note_ids.get(card.note_id)
        if note_id is None:
            continue
        card_id = ours.get((note_id, card.ordinal))
        if card_id is None:
            unknown.add(note_id)
            continue
        mapping[card.id] = card_id
        if card.queue == ANKI_QUEUE_SUSPENDED:
            report.suspended_in_anki.append(card_id)
    report.cards_mapped = len(mapping)
    report.notes_unknown = sorted(unknown)
    return mapping


def _settled(db: Database, anki: Collection, mapping: dict[int, str]) -> tuple[int, int] | None:
    """Echoes and answers imported before, counted in SQL for the cards that have nothing new.

    A re-import is mostly such cards: they are never read into Python. None when the log is empty
    or the collection is not a file SQLite can open beside the package (then every card is read).
    """
    if db.execute("SELECT 1 FROM reviews LIMIT 1").fetchone() is None:
        return None  # an empty log: nothing is settled, every card is read (without the join)
    files = [row[2] for row in db.execute("PRAGMA database_list") if row[1] == "main"]
    if not files or not files[0]:
        return None
    return anki.settle(Path(files[0]), mapping)


def _offers(
    anki: Collection,
    mapping: dict[int, str],
    report: ImportReport,
    days: clock.StudyDays,
    only_pending: bool = False,
) -> Iterator[merge.Offer]:
    """Each mapped card's answers in Anki (those :func:`_settled` left), offered to the merge card by card."""
    starts: dict[int, str] = {}  # the start of each study day, as text
    cards = anki.cards
    for anki_card, rows in groupby(anki.revlog(only_pending), key=itemgetter(CARD)):
        card_id = mapping.get(anki_card)
        if card_id is not None:
            yield _card_offer(cards[anki_card], card_id, list(rows), report, days, starts)


def _card_offer(
    card: Card,
    card_id: str,
    rows: list[Revlog],
    report: ImportReport,
    days: clock.StudyDays,
    starts: dict[int, str],
) -> merge.Offer:
    """One card's Anki answers that FSRS uses; built, when new, with the state and due date Anki gave."""
    try:
        kept, reset = fsrs_rows(rows)
    except TypeError:  # a value that is not a number
        raise CardsError(_bad_row(report.path, rows)) from None
    if len(kept) != len(rows):
        report.skipped_for_fsrs += len(rows) - len(kept)
        if reset:
            report.reset_in_anki.append(card_id)
        if any(row[EASE] == 0 and not is_reset(row) for row in rows):
            report.rescheduled_in_anki.append(card_id)

    def source_id(position: int) -> str:
        return f"{card.id}:{kept[position][ID]}"  # revlog ids are unique in one collection only

    def build(positions: list[int]) -> list[merge.Incoming]:
        try:
            return _incoming(card, card_id, kept, positions, rows[-1], days, starts, report.path)
        except TypeError:  # a value that is not a number
            raise CardsError(_bad_row(report.path, kept)) from None

    return merge.Offer(card_id, reviewlog.SOURCE_ANKI, [row[ID] for row in kept], source_id, build)


def _incoming(
    card: Card,
    card_id: str,
    kept: list[Revlog],
    positions: list[int],
    newest: Revlog,
    days: clock.StudyDays,
    day_starts: dict[int, str],
    path: Path,
) -> list[merge.Incoming]:
    """Anki answers as the log keeps them: the state each left (the next row's kind tells), the
    due date Anki gave. A row no Anki writes (a rating, time or interval out of range) is an
    error that names it."""
    built = []
    last = len(kept) - 1
    source, learning_due = reviewlog.SOURCE_ANKI, card.queue == ANKI_QUEUE_LEARNING
    text, day_and_end, incoming = clock.millisecond_to_db, days.day_and_end, merge.Incoming
    kind_after, type_after, rating_of = _STATE_OF_KIND.get, _STATE_OF_TYPE.get(card.type), RATING_OF.get
    longest, anki_card = scheduler.MAX_DURATION_MS, card.id
    for position in positions:
        row = kept[position]
        anki_id, interval, rating = row[ID], row[INTERVAL], rating_of(row[EASE])
        if (
            rating is None
            or not FIRST_ANKI_ID <= anki_id <= LAST_ANKI_ID
            or not -LONGEST_STEP <= interval <= LONGEST_INTERVAL
        ):
            raise CardsError(_bad_row(path, [row]))
        after = kind_after(kept[position + 1][KIND]) if position < last else type_after
        if after is None or (after is State.REVIEW and interval < 0):  # a filtered deck's row; a reset card
            after = State.REVIEW if interval > 0 else State.LEARNING
        stamp = anki_id / 1000
        day, day_end = day_and_end(stamp)
        due_day: int | None = None
        if interval > 0:
            due_day = day + interval
            due_text = day_starts.get(due_day)
            if due_text is None:
                due_text = day_starts[due_day] = _stamp_text(days.start_stamp(due_day))
        elif row is newest and learning_due and card.due >= stamp:
            due_text = text(card.due * 1000)  # the due Anki gave, its fuzz included
        else:
            due_text = text(anki_id - interval * 1000)
        taken = row[TAKEN]
        built.append(
            incoming(
                card_id,
                rating,
                text(anki_id),
                longest if taken > longest else taken if taken > 0 else 0,
                source,
                f"{anki_card}:{anki_id}",
                after,
                due_text,
                due_day,
                anki_id,
                None,
                stamp,
                int(day_end),
            )
        )
    return built


def _bad_row(path: Path, rows: list[Revlog]) -> str:
    """What is wrong with the first of these review-log rows that no Anki writes."""
    untyped = [row for row in rows if any(type(value) is not int for value in row)]
    row = untyped[0] if untyped else rows[0]
    if untyped:
        problem = f"it holds {next(repr(value) for value in row if type(value) is not int)}, not a number"
    elif RATING_OF.get(row[EASE]) is None:
        problem = f"its rating (ease) is {row[EASE]}, not 1 to 4"
    elif not FIRST_ANKI_ID <= row[ID] <= LAST_ANKI_ID:
        problem = "its id (the millisecond it was given) is before 2000 or after 7999"
    else:
        problem = f"its interval is {row[INTERVAL]}, beyond what Anki gives"
    return (
        f"{display_path(path)}: review-log row {row[ID]} (card {row[CARD]}): {problem}; "
        "the file is damaged or not written by Anki: export it from Anki again. Nothing was imported."
    )


def _stamp_text(stamp: float) -> str:
    """A POSIX time as the log writes times (clock.to_db)."""
    return datetime.fromtimestamp(stamp, UTC).isoformat(timespec="microseconds")
