"""Read Anki's files: packages (.apkg, .colpkg) and a closed profile's ``collection.anki2``.

A package is a zip holding the collection as SQLite: ``collection.anki21b`` (compressed with
zstd, current Anki), else ``collection.anki21`` or ``collection.anki2`` (legacy exports). A
profile's collection is read in place, read-only; Anki holds it locked while it is open.
Schema 11 keeps note types and decks as JSON in ``col``; schemas 14 to 18 in tables, with their
options as protocol-buffer blobs, of which only a few fields are read here. Nothing of Anki's
own code is used: the ``anki`` package is a test dependency only.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, NamedTuple
from urllib.parse import quote

from flashcards.errors import CardsError

KNOWN_SCHEMAS = range(11, 19)  # col.ver: 11 legacy, 14 to 18 current
SQLITE_HEADER = b"SQLite format 3\x00"
ZIP_HEADER = b"PK"
INNER_NAMES = ("collection.anki21b", "collection.anki21", "collection.anki2")
MAX_MEDIA_NAME_BYTES = 200  # a longer media file name is not written (file systems stop at 255)
PACKAGE_LATEST = 3  # the ``meta`` version of a package holding collection.anki21b (1, 2: legacy)
MAX_INNER_BYTES = 8 << 30  # a collection larger than this is not a package we can hold
NOTE_TYPE_CLOZE = 1
# revlog kinds
REVLOG_LEARNING, REVLOG_REVIEW, REVLOG_RELEARNING, REVLOG_FILTERED, REVLOG_MANUAL, REVLOG_RESCHEDULED = range(
    6
)


@dataclass(frozen=True)
class NoteType:
    """An Anki note type: its fields and templates (front and back formats), CSS left out."""

    id: int
    name: str
    cloze: bool
    fields: tuple[str, ...]
    templates: tuple[tuple[str, str, str], ...]  # (name, front format, back format) by ordinal


@dataclass(frozen=True)
class Note:
    """An Anki note: its GUID, note type, field values (HTML) and tags."""

    id: int
    guid: str
    type_id: int
    fields: tuple[str, ...]
    tags: tuple[str, ...]


class Card(NamedTuple):
    """An Anki card: its note, deck, template ordinal and scheduling columns (a tuple: a large file has many)."""

    id: int
    note_id: int
    deck_id: int
    ordinal: int
    type: int  # 0 new, 1 learning, 2 review, 3 relearning
    queue: int  # -3..-1 buried or suspended, 0 new, 1 learning, 2 review, 3 day learning
    due: int
    original_deck_id: int


# One row of Anki's review log, as read: a plain tuple, since a large log has a million of them.
# (id: the answer's millisecond, card id, ease 1-4 (0: a manual change), interval (days when > 0,
# seconds when < 0), last interval, factor, time taken in ms, kind: REVLOG_*)
Revlog = tuple[int, int, int, int, int, int, int, int]
ID, CARD, EASE, INTERVAL, LAST_INTERVAL, FACTOR, TAKEN, KIND = range(8)


@dataclass
class Collection:
    """What an Anki file holds: note types, decks and cards read at once; notes and the log on demand."""

    connection: sqlite3.Connection
    schema: int
    creation: int  # col.crt, POSIX seconds
    note_types: dict[int, NoteType] = field(default_factory=dict)
    decks: dict[int, str] = field(default_factory=dict)  # id -> name with '::'
    cards: dict[int, Card] = field(default_factory=dict)
    media: Media | None = None  # the file's media (images, sounds), read on demand

    def notes(self, type_ids: Iterable[int]) -> Iterator[Note]:
        """The notes of the note types ``type_ids``."""
        ids = sorted(set(type_ids))
        if not ids:
            return
        rows = self.connection.execute(
            f"SELECT id, guid, mid, tags, flds FROM notes WHERE mid IN ({', '.join('?' * len(ids))}) ORDER BY id",
            ids,
        )
        for nid, guid, mid, tags, fields in rows:
            yield Note(nid, guid, mid, tuple(fields.split("\x1f")), tuple(tags.split()))

    def note_rows(self, type_ids: Iterable[int]) -> Iterator[tuple[int, str, int, str]]:
        """The notes of the note types ``type_ids`` as rows: id, GUID, note type, fields joined by 0x1f."""
        ids = sorted(set(type_ids))
        if not ids:
            return iter(())
        return iter(
            self.connection.execute(
                f"SELECT id, guid, mid, flds FROM notes WHERE mid IN ({', '.join('?' * len(ids))}) ORDER BY id",
                ids,
            )
        )

    def revlog_count(self) -> int:
        """How many review-log rows the file holds."""
        return int(self.connection.execute("SELECT count(*) FROM revlog").fetchone()[0])

    def revlog(self, only_pending: bool = False) -> Iterator[Revlog]:
        """The review log, card by card, each card's rows in the order they were made.

        With ``only_pending``, only the cards :meth:`settle` left pending.
        """
        # all of it: one sort is cheaper than a seek into the table for each row of the cid index
        where = "WHERE cid IN (SELECT cid FROM temp.pending)" if only_pending else "NOT INDEXED"
        return iter(
            self.connection.execute(
                f"SELECT id, cid, ease, ivl, lastIvl, factor, time, type FROM revlog {where} ORDER BY cid, id"
            )
        )

    def settle(self, log: Path, mapping: dict[int, str]) -> tuple[int, int] | None:
        """Count the mapped cards whose every row is already in ``log`` (a cards collection file).

        A card is settled when all its rows are answers FSRS uses, starting with its one group of
        learning answers (so :func:`fsrs_rows` keeps them all), and each is in the log on the
        same card with the same Anki id. Return (echoes, already imported) over the settled
        cards, and leave the others in ``temp.pending`` for :meth:`revlog`; None when the log
        cannot be read beside this file (then every card is pending).
        """
        connection = self.connection
        try:
            connection.execute("ATTACH DATABASE ? AS ours", [f"file:{quote(str(log.resolve()))}?mode=ro"])
        except sqlite3.Error:
            return None
        try:
            connection.execute("CREATE TEMP TABLE mapped (cid INTEGER PRIMARY KEY, card_id TEXT NOT NULL)")
            connection.executemany("INSERT INTO temp.mapped VALUES (?, ?)", mapping.items())
            connection.execute("CREATE TEMP TABLE pending (cid INTEGER PRIMARY KEY)")
            cursor = connection.execute(
                """
                SELECT m.cid, count(*), sum(r.ease > 0 AND NOT (r.type = 3 AND r.factor = 0)),
                    sum(v.anki_id IS NOT NULL AND v.source IS NULL), sum(v.source IS NOT NULL),
                    min(r.id), min(CASE WHEN r.type = 0 THEN r.id END),
                    max(CASE WHEN r.type = 0 THEN r.id END), min(CASE WHEN r.type != 0 THEN r.id END)
                FROM temp.mapped m JOIN main.revlog r ON r.cid = m.cid
                LEFT JOIN ours.reviews v ON v.card_id = m.card_id AND v.anki_id = r.id
                GROUP BY m.cid
                """
            )
            rows = cursor.fetchall()
            cursor.close()
        finally:
            connection.execute("DETACH DATABASE ours")
        echoes = already = 0
        pending = []
        for cid, count, rated, echo, known, first, first_learning, last_learning, first_other in rows:
            one_group = first == first_learning and (first_other is None or last_learning < first_other)
            if count == rated == echo + known and one_group:
                echoes += echo
                already += known
            else:
                pending.append((cid,))
        connection.executemany("INSERT INTO temp.pending VALUES (?)", pending)
        return echoes, already


@dataclass(frozen=True)
class Media:
    """Where an Anki file keeps its media: in its package (each file a numbered member,
    compressed with zstd in the current format) or, for a profile's collection, in the
    ``collection.media`` folder beside it."""

    package: Path | None = None
    members: dict[str, str] = field(default_factory=dict)  # Anki's file name -> zip member
    compressed: bool = False
    folder: Path | None = None

    def names(self) -> set[str]:
        """The names of the media files the Anki file holds."""
        if self.folder is not None:
            try:
                return {entry.name for entry in self.folder.iterdir() if entry.is_file()}
            except OSError:
                return set()
        return set(self.members)

    def read(self, names: Iterable[str]) -> dict[str, bytes]:
        """The bytes of these media files (a name the file does not hold is left out)."""
        wanted = [name for name in names if safe_media_name(name)]
        found: dict[str, bytes] = {}
        if self.folder is not None:
            for name in wanted:
                with contextlib.suppress(OSError):
                    found[name] = (self.folder / name).read_bytes()
            return found
        if self.package is None or not wanted:
            return found
        with zipfile.ZipFile(self.package) as archive:
            for name in wanted:
                member = self.members.get(name)
                try:
                    data = archive.read(member) if member is not None else None
                except KeyError:  # listed in the media map, not in the zip: as if not there
                    data = None
                except (zipfile.BadZipFile, OSError, EOFError) as error:
                    raise CardsError(
                        f"{self.package}: its media file {name!r} is damaged ({error}); export it again"
                    ) from None
                if data is None:
                    continue
                found[name] = (
                    _unzstd(data, self.package, f"its media file {name!r}") if self.compressed else data
                )
        return found


def safe_media_name(name: str) -> bool:
    """Whether an Anki media file name is a plain file name (no folder, nothing hidden)."""
    return (
        bool(name)
        and name not in (".", "..")
        and not any(c in name for c in "/\\\0:")
        and name.strip() == name
        and len(name.encode("utf-8")) <= MAX_MEDIA_NAME_BYTES
    )


def _package_media(archive: zipfile.ZipFile, path: Path, compressed: bool) -> Media:
    """The media map of a package: JSON (``{"0": "name.png"}``) in a legacy one, else a
    zstd-compressed protocol buffer (``MediaEntries``: entry i is member ``i``)."""
    try:
        data = archive.read("media")
    except KeyError:
        return Media(package=path)
    members: dict[str, str] = {}
    if compressed:
        data = _unzstd(data, path, "its list of media files")
        for index, entry in enumerate(_repeated(data, 1)):
            name = next(iter(_repeated(entry, 1)), b"").decode("utf-8", "replace")
            members.setdefault(name, str(index))
    else:
        listed = json.loads(data or b"{}")
        if isinstance(listed, dict):
            members = {str(name): str(member) for member, name in listed.items()}
    return Media(package=path, members=members, compressed=compressed)


def _package_version(archive: zipfile.ZipFile) -> int | None:
    """The version a package's ``meta`` member declares (a protocol buffer: field 1), if it reads."""
    data = archive.read("meta")
    position = 0
    try:
        while position < len(data):
            key, position = _varint(data, position)
            if key == (1 << 3):  # field 1, a varint
                return _varint(data, position)[0]
            if key & 7 != 0:
                return None
            _, position = _varint(data, position)
    except ValueError:
        return None
    return None


def _repeated(data: bytes, number: int) -> Iterator[bytes]:
    """The length-delimited fields numbered ``number`` of a protocol-buffer message."""
    position, end = 0, len(data)
    while position < end:
        key, position = _varint(data, position)
        kind = key & 7
        if kind == 0:
            _, position = _varint(data, position)
        elif kind == 2:
            length, position = _varint(data, position)
            if key >> 3 == number:
                yield data[position : position + length]
            position += length
        elif kind in (1, 5):
            position += 8 if kind == 1 else 4
        else:
            raise ValueError(f"protocol-buffer wire type {kind}")


def _varint(data: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if position >= len(data):
            raise ValueError("a protocol-buffer varint cut short")
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, position
        shift += 7


def _unicase(left: str, right: str) -> int:
    """Anki's ``unicase`` collation (schema 18 declares it on names): case-insensitive order."""
    a, b = left.casefold(), right.casefold()
    return (a > b) - (a < b)


@contextmanager
def open_anki(path: Path) -> Iterator[Collection]:
    """Open an Anki package or collection file read-only and read its notes, cards and decks."""
    shown = str(path)
    try:
        if path.exists() and not path.is_dir() and not path.is_file():  # a pipe, a device: reading would hang
            raise CardsError(f"{shown} is not a regular file; give an .apkg, a .colpkg or a collection.anki2")
        with path.open("rb") as handle:
            header = handle.read(16)
    except FileNotFoundError:
        raise CardsError(f"{shown} does not exist; give the path of an Anki export or collection") from None
    except IsADirectoryError:
        raise CardsError(f"{shown} is a directory; give an .apkg, a .colpkg or a collection.anki2") from None
    except OSError as error:
        raise CardsError(f"cannot read {shown}: {error.strerror or error}") from None
    with tempfile.TemporaryDirectory(prefix="cards-import-") as scratch:
        if header.startswith(ZIP_HEADER):
            database, media = _extract(path, Path(scratch))
            uri = f"file:{quote(str(database))}?mode=ro"
        elif header.startswith(SQLITE_HEADER):
            uri = f"file:{quote(str(path.resolve()))}?mode=ro"
            media = Media(folder=path.with_suffix(".media"))  # a profile's: collection.media beside it
        else:
            raise CardsError(
                f"{shown} is not an Anki file (neither a zip package nor an SQLite collection); "
                "give an .apkg or .colpkg exported from Anki, or a profile's collection.anki2"
            )
        connection = sqlite3.connect(uri, uri=True, timeout=0.5, isolation_level=None)
        reading = True  # then the caller's work, which also writes the collection here
        try:
            connection.create_collation("unicase", _unicase)
            try:
                collection = _read(connection, shown)
                collection.media = media
            except (ValueError, KeyError, TypeError, AttributeError, IndexError) as error:  # JSON, fields
                raise CardsError(
                    f"{shown}: its note types, decks or cards cannot be read ({type(error).__name__}: "
                    f"{error}); the file is damaged or not written by Anki: export it from Anki again"
                ) from None
            reading = False
            yield collection
        except sqlite3.DatabaseError as error:
            if not reading and _readable(connection):  # the collection here (locked, full, damaged)
                raise
            if "locked" in str(error) or "busy" in str(error):
                raise CardsError(
                    f"{shown} is open in Anki (the database is locked): close Anki first, then import again"
                ) from None
            if isinstance(error, sqlite3.OperationalError):
                raise CardsError(f"{shown}: not a readable Anki collection ({error})") from None
            raise CardsError(
                f"{shown}: not a readable Anki collection ({error}); is the file complete?"
            ) from None
        finally:
            connection.close()


def _readable(connection: sqlite3.Connection) -> bool:
    """Whether the Anki file reads whole (not locked by Anki, not damaged): then an error while
    the caller works is the collection's here, not the file's. Asked only once one came."""
    try:
        return bool(connection.execute("PRAGMA quick_check").fetchone()[0] == "ok")
    except sqlite3.DatabaseError:
        return False


def _extract(path: Path, scratch: Path) -> tuple[Path, Media]:
    """Write the package's collection into ``scratch`` (decompressed); return its path and
    where the package keeps its media."""
    shown = str(path)
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            version = _package_version(archive) if "meta" in names else None
            if version is not None and version > PACKAGE_LATEST:
                raise CardsError(
                    f"{shown}: an Anki package of a newer format ({version}) than this version of cards "
                    "knows; upgrade cards, or export from Anki with 'Support older Anki versions'"
                )
            if version == PACKAGE_LATEST and "collection.anki21b" not in names:
                raise CardsError(
                    f"{shown}: its collection (collection.anki21b) is missing; only the placeholder Anki "
                    "writes for its old versions is there: export it from Anki again"
                )
            inner = next((name for name in INNER_NAMES if name in names), None)
            if inner is None:
                raise CardsError(
                    f"{shown} is a zip file but not an Anki package (no collection.anki21b, "
                    "collection.anki21 or collection.anki2 inside)"
                )
            target = scratch / "collection.sqlite"
            with archive.open(inner) as source, target.open("wb") as out:
                if inner.endswith("b"):
                    _unzstd_to(source, out, path, "the collection inside")
                else:
                    shutil.copyfileobj(source, out, 1 << 20)
            media = _package_media(archive, path, compressed=inner.endswith("b"))
    except (ValueError, UnicodeDecodeError) as error:  # the media map: JSON or a protocol buffer
        raise CardsError(f"{shown}: its list of media files is damaged ({error}); export it again") from None
    except zipfile.BadZipFile as error:
        raise CardsError(f"{shown}: a damaged or truncated zip file ({error}); export it again") from None
    except (EOFError, zipfile.LargeZipFile) as error:
        raise CardsError(f"{shown}: a damaged or truncated package ({error}); export it again") from None
    except OSError as error:
        raise CardsError(f"{shown}: cannot read the package ({error}); export it again") from None
    except zlib.error as error:  # a member's deflated data damaged (zstd's: _unzstd_to)
        raise CardsError(f"{shown}: the collection inside is damaged ({error}); export it again") from None
    return target, media


def _unzstd_to(source: IO[bytes], out: IO[bytes], package: Path, what: str) -> None:
    """Decompress ``what`` of ``package``, a zstd stream, from ``source`` into ``out``; data that is
    not zstd, or a stream cut short, is an error naming it (zstd's stream reader would end a cut
    stream silently, and the collection would seem empty)."""
    import zstandard

    decompressor = zstandard.ZstdDecompressor().decompressobj()
    try:
        while block := source.read(1 << 20):
            out.write(decompressor.decompress(block))
    except zstandard.ZstdError as error:
        raise CardsError(f"{package}: {what} is damaged ({error}); export it again") from None
    if not decompressor.eof:
        raise CardsError(f"{package}: {what} is cut short (a truncated package); export it again")


def _unzstd(data: bytes, package: Path, what: str) -> bytes:
    """``what`` of ``package``, a zstd-compressed member, decompressed (see :func:`_unzstd_to`)."""
    import io

    out = io.BytesIO()
    _unzstd_to(io.BytesIO(data), out, package, what)
    return out.getvalue()


def _read(connection: sqlite3.Connection, shown: str) -> Collection:
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not {"col", "notes", "cards", "revlog"} <= tables:
        raise CardsError(f"{shown}: not an Anki collection (tables col, notes, cards, revlog missing)")
    schema, creation = connection.execute("SELECT ver, crt FROM col").fetchone()
    if schema not in KNOWN_SCHEMAS:
        newer = schema > KNOWN_SCHEMAS[-1]
        raise CardsError(
            f"{shown}: Anki collection schema {schema}, which this version of cards does not know"
            + ("; upgrade cards, or export from Anki with 'Support older Anki versions'" if newer else "")
        )
    collection = Collection(connection, int(schema), int(creation))
    if "notetypes" in tables:
        _read_tables(connection, collection)
    else:
        _read_json(connection, collection)
    make = Card._make
    collection.cards = {
        row[0]: make(row)
        for row in connection.execute("SELECT id, nid, did, ord, type, queue, due, odid FROM cards")
    }
    return collection


def _read_json(connection: sqlite3.Connection, collection: Collection) -> None:
    """Schema 11: note types and decks as JSON in the ``col`` row."""
    models, decks = connection.execute("SELECT models, decks FROM col").fetchone()
    for key, model in json.loads(models).items():
        fields = tuple(f["name"] for f in sorted(model["flds"], key=lambda f: f["ord"]))
        templates = tuple(
            (t["name"], t["qfmt"], t["afmt"]) for t in sorted(model["tmpls"], key=lambda t: t["ord"])
        )
        collection.note_types[int(key)] = NoteType(
            int(key), model["name"], model.get("type", 0) == NOTE_TYPE_CLOZE, fields, templates
        )
    for key, deck in json.loads(decks).items():
        collection.decks[int(key)] = deck["name"]


def _read_tables(connection: sqlite3.Connection, collection: Collection) -> None:
    """Schemas 14 to 18: tables ``notetypes``, ``fields``, ``templates`` and ``decks``."""
    fields: dict[int, list[str]] = {}
    for ntid, name in connection.execute("SELECT ntid, name FROM fields ORDER BY ntid, ord"):
        fields.setdefault(ntid, []).append(name)
    templates: dict[int, list[tuple[str, str, str]]] = {}
    for ntid, name, config in connection.execute(
        "SELECT ntid, name, config FROM templates ORDER BY ntid, ord"
    ):
        values = _protobuf_fields(config)
        templates.setdefault(ntid, []).append((name, _text(values.get(1)), _text(values.get(2))))
    for ntid, name, config in connection.execute("SELECT id, name, config FROM notetypes"):
        kind = _protobuf_fields(config).get(1, 0)
        collection.note_types[ntid] = NoteType(
            ntid, name, kind == NOTE_TYPE_CLOZE, tuple(fields.get(ntid, ())), tuple(templates.get(ntid, ()))
        )
    for did, name in connection.execute("SELECT id, name FROM decks"):
        collection.decks[did] = name.replace("\x1f", "::")


def _text(value: int | bytes | None) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else ""


def _protobuf_fields(data: bytes | None) -> dict[int, int | bytes]:
    """The top-level fields of a protocol-buffer message: varints and length-delimited values."""
    values: dict[int, int | bytes] = {}
    if not data:
        return values
    position = 0

    def varint() -> int:
        nonlocal position
        result = shift = 0
        while True:
            byte = data[position]
            position += 1
            result |= (byte & 0x7F) << shift
            if byte < 0x80:
                return result
            shift += 7

    try:
        while position < len(data):
            key = varint()
            number, wire = key >> 3, key & 7
            if wire == 0:
                values[number] = varint()
            elif wire == 2:
                length = varint()
                values[number] = data[position : position + length]
                position += length
            elif wire == 1:
                position += 8
            elif wire == 5:
                position += 4
            else:
                break
    except IndexError:
        pass
    return values


def is_cramming(row: Revlog) -> bool:
    """An answer in a filtered deck that does not reschedule (Anki's cramming)."""
    return row[KIND] == REVLOG_FILTERED and row[FACTOR] == 0


def is_reset(row: Revlog) -> bool:
    """A row Anki writes when a card is reset (forgotten)."""
    return row[KIND] == REVLOG_MANUAL and row[FACTOR] == 0


def fsrs_rows(rows: list[Revlog]) -> tuple[list[Revlog], bool]:
    """The rows of one card's log that Anki's FSRS uses, and whether the card was reset in Anki.

    As ``reviews_for_fsrs`` in Anki's source: working back from the latest row, cram answers
    (filtered deck without rescheduling) are passed over; the card's history starts at its
    last group of learning answers, or, when a reset came after the last answers, is empty; then
    rows without a rating (manual changes, rescheduling, resets) and cram answers are dropped.
    """
    start: int | None = None
    first_grade: int | None = None
    reset = False
    for index in range(len(rows) - 1, -1, -1):
        row = rows[index]
        if is_cramming(row):
            continue
        rated = row[EASE] > 0
        if rated and (row[INTERVAL] >= 1 or row[INTERVAL] <= -86400):
            first_grade = index
        if rated and row[KIND] == REVLOG_LEARNING:
            start = index
        elif is_reset(row):
            reset = True
            if start is None and first_grade is None:
                return [], True
            break
        elif start is not None:
            break
    begin = start if start is not None else first_grade
    if begin is None:
        return [], reset
    if begin == 0 and all(row[EASE] > 0 and not is_cramming(row) for row in rows):
        return rows, reset
    return [row for row in rows[begin:] if row[EASE] > 0 and not is_cramming(row)], reset
