"""The review journal: each device's answers as lines of its own file, merged through git.

With ``journal = "reviews"`` in cards.toml, every answer logged here (an answer, a cram answer,
a due day brought forward by a rehearsal, an answer imported from Anki) is appended as one line
to ``reviews/<device>.jsonl``, and an undo appends a line cancelling it. Nothing in a file is
ever rewritten, and only this device writes its file, so git merges the directory without
conflicts. Every command first takes in the lines other devices added (:func:`take_in`), through
the same merge as ``cards import`` (:mod:`flashcards.merge`).

- **Crash safety.** A database trigger gives each answer its line id in the answer's own
  transaction (table ``journal_lines``); the line is appended and synced to the file afterwards
  and then marked written. A crash in between loses nothing: the next start appends the lines
  not marked written (a line appended twice counts once: lines are deduplicated by id).
- **Reading.** How far each file was read (offset, lines, size, modification time and a hash of
  the last bytes read) is kept in the collection; a file whose size and time are unchanged is
  not opened. A file whose read part changed (rewritten, not appended) is read again from the
  start; the lines taken in before are recognised by their ids.
- **Faults.** An incomplete last line is left for later (it is read once complete); a malformed
  line is reported with its file and line and skipped; a line for a card not known here yet
  waits in ``journal_pending`` and is taken in when the card appears.
- **This device's own file** must hold every line marked written. When it does not end with a
  whole line (a crash cut its last write short), is missing (deleted) or is shorter than this
  device last left it (checked out from an older commit), the lines of this device it lacks are
  written again from the collection (:meth:`Journal._reconcile`), and a cut line is taken off
  first: it is this device's own unfinished write. Appends hold a lock on the file, so a line
  another ``cards`` of this machine is writing is never taken for a cut one.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import socket
import zlib
from array import array
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import orjson

try:
    import fcntl
except ImportError:  # not on Windows: appends there are not locked
    fcntl = None  # type: ignore[assignment]

from flashcards import clock, merge, reviewlog, scheduler
from flashcards.database import Database
from flashcards.errors import CardsError
from flashcards.paths import display_path
from flashcards.settings import Settings
from flashcards.states import KIND_OF, RATING_OF, STATE_OF, Kind

DEVICE_VARIABLE = "CARDS_DEVICE"
SUFFIX = ".jsonl"
SOURCE_PREFIX = "journal:"
READ_BYTES = 1 << 22  # a journal file is read 4 MiB at a time
BOM = b"\xef\xbb\xbf"  # UTF-8's byte-order mark, which some editors put first in a file
TAIL_BYTES = 4096  # the bytes before a file's read offset that must be unchanged to read on from it
_DEVICE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
SHORTEST_LINE_BYTES = 200  # an answer's line is longer: new bytes / this bounds the lines to take in
_CHUNK_LINES = 10_000  # lines applied at a time (a first merge of 300,000 lines: 447 MB at 100,000, 120 MB)


@dataclass
class TakeInResult:
    """What taking in other devices' lines did."""

    added: int = 0  # answers (and other log rows) taken in
    cancelled: int = 0  # log rows removed by cancelling lines
    pending: int = 0  # lines waiting for their card
    cards: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)
    parameters: bool = False  # another device's fitted parameters were adopted


def device_name(db_path: Path) -> str:
    """This device's name: ``$CARDS_DEVICE``, else the one generated once beside the collection.

    The generated name (host name and a random suffix) is kept in ``<collection>.device`` in the
    collection's directory, never in the journal, so every clone of the decks gets its own file.
    """
    chosen = os.environ.get(DEVICE_VARIABLE, "").strip()
    if chosen:
        if not _DEVICE.match(chosen):
            raise ValueError(
                f"${DEVICE_VARIABLE} {chosen!r}: a device name is letters, digits, '.', '_' and '-'"
            )
        return chosen
    kept = db_path.with_name(f"{db_path.name}.device")
    try:
        name = kept.read_text(encoding="utf-8").strip()
        if _DEVICE.match(name):
            return name
    except FileNotFoundError:
        pass
    host = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname().split(".")[0]).strip("-")[:32] or "device"
    name = f"{host}-{secrets.token_hex(3)}"
    temporary = kept.with_name(kept.name + ".tmp")
    temporary.write_text(name + "\n", encoding="utf-8")
    os.replace(temporary, kept)
    return name


def turn_on(db: Database) -> bool:
    """Give every answer logged here that has no journal line yet its line id, to be written by
    the next flush (the history before the journal was on, or while it was off); True if it did."""
    if db.execute("SELECT 1 FROM journal_on").fetchone():
        return False
    with scheduler.transaction(db):
        db.execute(
            "INSERT INTO journal_lines(review_id, line_id) "
            "SELECT id, lower(hex(randomblob(8))) FROM reviews "
            "WHERE (source IS NULL OR source NOT LIKE 'journal:%') "
            "AND id NOT IN (SELECT review_id FROM journal_lines) ORDER BY id"
        )
        db.execute("INSERT INTO journal_on VALUES (1)")
    return True


def turn_off(db: Database) -> None:
    """The journal is off: answers logged from now on get their lines when it is turned on again."""
    if db.execute("SELECT 1 FROM journal_on").fetchone():
        with scheduler.transaction(db):
            db.execute("DELETE FROM journal_on")


class Journal:
    """This device's view of a journal directory, for one open collection."""

    def __init__(self, db: Database, directory: Path, device: str) -> None:
        self.db = db
        self.directory = directory
        self.device = device
        self.path = directory / f"{device}{SUFFIX}"
        self.notices: list[str] = []  # what a repair of this device's file did, to be shown once
        self._again: list[str] = []  # lines of this device its file lost, to append as they were

    # --- writing ----------------------------------------------------------------------------

    def flush(self) -> int:
        """Append the lines of answers logged here and not yet written (and cancels); return how many.

        The lines are appended and synced to the file first, then marked written in the
        collection: a crash in between appends them again next time (a repeated line counts once).
        Lines marked written that this device's file has lost are marked to write again first.
        """
        self._reconcile()
        unwritten = self.db.execute(
            "SELECT j.review_id, j.line_id, r.card_id, r.rating, r.reviewed_at, r.duration_ms, r.due, "
            "r.state_before, r.state, r.stability, r.difficulty, r.due_day, r.step, r.day_end, "
            "r.source, r.source_id, r.anki_id, r.kind, r.points, r.ticked "
            "FROM journal_lines j JOIN reviews r ON r.id = j.review_id "
            "WHERE j.written = 0 ORDER BY j.review_id"
        ).fetchall()
        cancels = self.db.execute("SELECT seq, line_id FROM journal_outbox ORDER BY seq").fetchall()
        suspensions = self.db.execute(
            "SELECT o.card_id, o.suspended, c.leech FROM journal_suspend_outbox o "
            "LEFT JOIN cards c ON c.id = o.card_id ORDER BY o.card_id"
        ).fetchall()
        dirty = self.db.execute("SELECT 1 FROM journal_dirty WHERE what = 'parameters'").fetchone()
        renamed = self.db.execute(
            "SELECT old, new FROM journal_renames WHERE written = 0 ORDER BY old"
        ).fetchall()
        again, self._again = self._again, []
        if not unwritten and not cancels and not suspensions and dirty is None and not renamed and not again:
            return 0
        at = clock.to_db(clock.now())
        text = [*again, *(_line_text(row, self.device) for row in unwritten)]
        text.extend(
            _dumps({"cancel": line_id, "device": self.device, "id": f"cancel-{line_id}"})
            for _, line_id in cancels
        )
        suspended_lines = [
            {
                "at": at,
                "device": self.device,
                "id": secrets.token_hex(8),
                "leech": bool(leech),
                "suspend": card,
                "suspended": bool(flag),
            }
            for card, flag, leech in suspensions
        ]
        text.extend(_dumps(line) for line in suspended_lines)
        text.extend(
            _dumps({"device": self.device, "id": _rename_id(old, new), "rename": old, "to": new})
            for old, new in renamed
        )
        snapshot = None
        snapshot_id = ""
        if dirty is not None:
            snapshot = _snapshot(self.db)
            body = _dumps({"at": at, "device": self.device, "parameters": snapshot})
            snapshot_id = "parameters-" + _digest(body.encode("utf-8"))
            text.append(_dumps({"at": at, "device": self.device, "id": snapshot_id, "parameters": snapshot}))
        self.directory.mkdir(parents=True, exist_ok=True)
        appended = _append(self.path, "".join(line + "\n" for line in text).encode("utf-8"))
        with scheduler.transaction(self.db):
            # how long the file is now: checked out older (or cut) later, it is seen shorter
            self.db.execute(
                "UPDATE journal_files SET size = ?, mtime_ns = ? WHERE name = ?",
                [appended.st_size, appended.st_mtime_ns, self.path.name],
            )
            if again:
                self.db.execute("DELETE FROM journal_dirty WHERE what = 'repair'")
            self.db.conn.executemany(
                "UPDATE journal_lines SET written = 1 WHERE review_id = ?", [(row[0],) for row in unwritten]
            )
            self.db.conn.executemany(
                "DELETE FROM journal_outbox WHERE seq = ?", [(seq,) for seq, _ in cancels]
            )
            self.db.conn.executemany(
                "DELETE FROM journal_suspend_outbox WHERE card_id = ? AND suspended = ?",
                [(card, flag) for card, flag, _ in suspensions],
            )
            for line in suspended_lines:
                _record_suspension(self.db, line)
            self.db.conn.executemany(
                "UPDATE journal_renames SET written = 1 WHERE old = ?", [(old,) for old, _ in renamed]
            )
            if snapshot is not None:
                self.db.execute("DELETE FROM journal_dirty WHERE what = 'parameters'")
                self.db.execute(
                    "INSERT OR IGNORE INTO journal_parameters(line_id, at, device, snapshot) VALUES (?, ?, ?, ?)",
                    [snapshot_id, at, self.device, _dumps({"parameters": snapshot})],
                )
        return len(text)

    def _reconcile(self) -> None:
        """Make this device's file hold every line of this device marked written (see the
        module's doc): a cut last line is ended (a whole line) or taken off (the rest of this
        device's own unfinished write), and the lines it lacks are written again, as they were.

        Cheap when the file is whole: its size, its last byte, the size it had after this
        device's last append (or read), and whether a repair is still to finish (its lines not
        appended yet: the append failed). A file this collection never wrote or read under this
        name (a new device name) is not repaired."""
        try:
            size = os.stat(self.path).st_size
        except FileNotFoundError:
            size = -1
        db = self.db
        recorded = db.execute("SELECT size FROM journal_files WHERE name = ?", [self.path.name]).fetchone()
        cut = size > 0 and _last_byte(self.path) != b"\n"
        shrunk = recorded is not None and size < int(recorded[0])
        unfinished = db.execute("SELECT 1 FROM journal_dirty WHERE what = 'repair'").fetchone() is not None
        if not cut and not shrunk and not unfinished:
            return
        took_off = False
        with _locked(self.path, create=False) as descriptor:
            if descriptor is not None:
                end = os.fstat(descriptor).st_size
                whole = _whole_lines_end(descriptor, end)
                if whole < end:
                    if _line_id(os.pread(descriptor, end - whole, whole)) is not None:
                        os.write(descriptor, b"\n")  # a whole line without its newline: ended, kept
                    else:  # this device's own write, cut short: taken off (its lines written again)
                        os.ftruncate(descriptor, whole)
                        took_off = True
                    os.fsync(descriptor)
            own = _ids_in(self.path) if descriptor is not None else set()
            with scheduler.transaction(db):
                lost = self._mark_lost(own)
                if self._again:  # finished once they are appended (flush)
                    db.execute("INSERT OR IGNORE INTO journal_dirty VALUES ('repair')")
                elif unfinished:
                    db.execute("DELETE FROM journal_dirty WHERE what = 'repair'")
        if not lost and not took_off:
            return  # nothing missing: at most a newline was, or another cards was writing
        shown = display_path(self.path)
        why = (
            "its last line was cut short"
            if took_off
            else "it was missing"
            if size < 0
            else "it is shorter than it was"
            if shrunk
            else "it still lacks lines of this machine"
        )
        if not lost:
            self.notices.append(
                f"warning: {shown}: {why} (taken off); no line of this machine is missing from it"
            )
            return
        self.notices.append(
            f"warning: {shown}: {why}; {lost} {'line' if lost == 1 else 'lines'} of this machine "
            f"{'is' if lost == 1 else 'are'} written to it again from the collection"
        )

    def _mark_lost(self, own: set[str]) -> int:
        """Have the next append write again the lines of this device its file lacks (``own``:
        the ids it holds); how many.

        Answers are marked unwritten (their lines are made from the log); cancels and renames
        go out again when no file of the directory holds them (others' are in their files);
        parameters and a card's newest suspension, if this device's, are written again as they
        were, with their time and id, so a newer line of another device still wins."""
        db = self.db
        answers = [
            (review_id,)
            for review_id, line_id in db.execute(
                "SELECT review_id, line_id FROM journal_lines WHERE written = 1"
            )
            if line_id not in own
        ]
        db.conn.executemany("UPDATE journal_lines SET written = 0 WHERE review_id = ?", answers)
        cancelled = [line_id for (line_id,) in db.execute("SELECT line_id FROM journal_cancelled")]
        renamed = db.execute("SELECT old, new FROM journal_renames WHERE written = 1").fetchall()
        anywhere = own | self._ids_elsewhere() if cancelled or renamed else own
        outbox = {line_id for (line_id,) in db.execute("SELECT line_id FROM journal_outbox")}
        cancels = [(i,) for i in cancelled if f"cancel-{i}" not in anywhere and i not in outbox]
        db.conn.executemany("INSERT INTO journal_outbox(line_id) VALUES (?)", cancels)
        renames = [(old,) for old, new in renamed if _rename_id(old, new) not in anywhere]
        db.conn.executemany("UPDATE journal_renames SET written = 0 WHERE old = ?", renames)
        again = [
            _dumps(
                {
                    "at": at,
                    "device": self.device,
                    "id": line_id,
                    "parameters": json.loads(snapshot)["parameters"],
                }
            )
            for line_id, at, snapshot in db.execute(
                "SELECT line_id, at, snapshot FROM journal_parameters WHERE device = ? ORDER BY at",
                [self.device],
            )
            if line_id not in own
        ]
        again += [
            _dumps(
                {
                    "at": at,
                    "device": self.device,
                    "id": line_id,
                    "leech": bool(leech),
                    "suspend": card_id,
                    "suspended": bool(suspended),
                }
            )
            for card_id, at, line_id, suspended, leech in db.execute(
                "SELECT s.card_id, s.at, s.line_id, s.suspended, c.leech FROM journal_suspensions s "
                "LEFT JOIN cards c ON c.id = s.card_id WHERE s.device = ? ORDER BY s.at",
                [self.device],
            )
            if line_id not in own
        ]
        self._again.extend(again)
        return len(answers) + len(cancels) + len(renames) + len(again)

    def _ids_elsewhere(self) -> set[str]:
        """The ids of the lines of the other files of the journal directory."""
        ids: set[str] = set()
        for path in sorted(self.directory.glob(f"*{SUFFIX}")):
            if path.name != self.path.name and path.is_file():
                with suppress(OSError):  # unreadable: its lines go out again, which is harmless
                    ids |= _ids_in(path)
        return ids

    def status(self) -> dict[str, Any]:
        """What ``cards status`` shows of the journal: this device and its file, the other
        devices' files read, the lines waiting for their card, the lines still to write here."""
        db = self.db
        others = sorted(
            name[: -len(SUFFIX)]
            for (name,) in db.execute("SELECT name FROM journal_files")
            if name != self.path.name
        )
        unwritten = sum(
            int(db.execute(sql).fetchone()[0])
            for sql in (
                "SELECT count(*) FROM journal_lines WHERE written = 0",
                "SELECT count(*) FROM journal_outbox",
                "SELECT count(*) FROM journal_suspend_outbox",
            )
        )
        return {
            "directory": str(self.directory),
            "device": self.device,
            "file": str(self.path),
            "other_devices": others,
            "waiting": int(db.execute("SELECT count(*) FROM journal_pending").fetchone()[0]),
            "to_write": unwritten,
        }

    # --- reading ----------------------------------------------------------------------------

    def take_in(
        self,
        settings: Settings,
        configured: Settings | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> TakeInResult:
        """Take in the lines added to every journal file since last read, and pending lines whose
        card has appeared; one transaction. Cheap when nothing is new: one stat per file.

        A take-in too large to hold gives ``progress(done, total)`` the answer lines applied so
        far, once they have all been read."""
        result = TakeInResult()
        known = {
            row[0]: row[1:]
            for row in self.db.execute("SELECT name, offset, lines, size, mtime_ns, tail FROM journal_files")
        }
        changed = []
        try:
            entries = list(os.scandir(self.directory))
        except FileNotFoundError:
            entries = []
        except OSError as error:
            result.warnings.append(
                f"warning: cannot read the review journal {display_path(self.directory)} "
                f"({error.strerror or error}); other machines' answers were not taken in"
            )
            entries = []
        for entry in entries:
            if not entry.name.endswith(SUFFIX) or not entry.is_file():
                continue
            info = entry.stat()
            seen = known.get(entry.name)
            if seen is not None and (seen[2], seen[3]) == (info.st_size, info.st_mtime_ns):
                continue
            changed.append((entry, info, seen))
        waiting = self.db.execute(
            "SELECT 1 FROM journal_pending p JOIN cards c ON c.id = p.card_id "
            "UNION ALL SELECT 1 FROM journal_pending p JOIN journal_renames r ON r.old = p.card_id LIMIT 1"
        ).fetchone()
        if not changed and waiting is None:
            return result
        new_bytes = sum(info.st_size - (int(seen[0]) if seen else 0) for _, info, seen in changed)
        expected = new_bytes // SHORTEST_LINE_BYTES  # new answer lines, at most (other lines are few)
        with (
            merge.rollback_journal(self.db, expected),
            scheduler.transaction(self.db),
            merge.bulk_writes(self.db, expected),
            _Staged() as staged,
        ):
            self.db.execute("INSERT INTO journal_applying VALUES (1)")
            if waiting is not None:  # read before the new lines: taken in first, as their files hold them
                self._apply(settings, self._ready_pending(), result)
            lines: list[tuple[str, dict[str, Any]]] = []  # (source, line), a bounded batch at a time
            if expected > _CHUNK_LINES:
                staged.start([])  # too many to hold: answers are found again in their files, by card
            for entry, info, seen in changed:
                try:
                    for source, line, raw, at in self._read(Path(entry.path), info, seen, result, staged):
                        if staged.active and "card" in line:
                            staged.add(line["card"], at, raw)
                            continue
                        lines.append((source, line))
                        if len(lines) < _CHUNK_LINES:
                            continue
                        if staged.active:  # a batch of cancels, renames, …: no answers
                            self._apply(settings, lines, result)
                            lines = []
                        else:  # too many to hold: answers are found again in their files, by card
                            lines = staged.start(lines)
                except OSError as error:  # read again next time; lines taken in count once
                    result.warnings.append(
                        f"warning: cannot read {display_path(Path(entry.path))} ({error.strerror or error}); "
                        "its new lines were not taken in"
                    )
            if staged.active:
                self._apply(settings, lines, result)  # cancels, renames, suspensions, parameters
                lines = []
                done, total = 0, staged.count
                for batch in staged.batches():
                    self._apply(settings, batch, result)
                    done += len(batch)
                    if progress is not None:
                        progress(done, total)
            self._apply(settings, lines, result)
            if changed:  # lines waiting for a card that a rename taken in just now names
                self._apply(settings, self._ready_pending(), result)
            self._adopt_parameters(configured or settings, result)
            self.db.execute("DELETE FROM journal_applying")
        return result

    def _ready_pending(self) -> list[tuple[str, dict[str, Any]]]:
        """The waiting lines whose card is here now (or renamed to one), in the order they were read."""
        return [
            (source, json.loads(text))
            for source, text in self.db.execute(
                "SELECT source, line FROM journal_pending WHERE card_id IN (SELECT id FROM cards) "
                "OR card_id IN (SELECT old FROM journal_renames) ORDER BY rowid"
            ).fetchall()
        ]

    def _adopt_parameters(self, configured: Settings, result: TakeInResult) -> None:
        """Make the newest parameters line of any device the active fits here (and replay every
        card under them) when they differ from the active ones: the same on every machine."""
        newest = self.db.execute(
            "SELECT snapshot FROM journal_parameters ORDER BY at DESC, device DESC, line_id DESC LIMIT 1"
        ).fetchone()
        if newest is None:
            return
        wanted = json.loads(newest[0])["parameters"]
        if _comparable(wanted) == _comparable(_snapshot(self.db)):
            return
        from flashcards.collection import saved_parameters, with_parameters

        self.db.execute("UPDATE parameters SET active = 0 WHERE active = 1")
        self.db.conn.executemany(
            "INSERT INTO parameters(preset, parameters, created_at, reviews, log_loss, rmse, active) "
            "VALUES (?, ?, ?, ?, ?, ?, 1)",
            [
                (fit["preset"], json.dumps(fit["parameters"]), fit["created_at"], fit["reviews"],
                 fit["log_loss"], fit["rmse"])
                for fit in wanted
            ],
        )  # fmt: skip
        changed = scheduler.rebuild_within(self.db, with_parameters(configured, saved_parameters(self.db)))
        result.cards |= set(changed.changed)
        result.parameters = True

    def _read(
        self,
        path: Path,
        info: os.stat_result,
        seen: tuple[Any, ...] | None,
        result: TakeInResult,
        staged: _Staged,
    ) -> Iterator[tuple[str, dict[str, Any], bytes, tuple[int, int]]]:
        """The complete lines of ``path`` after those read before, each with its source, its bytes
        and where they are (the file's number in ``staged``, which keeps it open, and their
        offset); records how far it was read."""
        offset, number = (0, 0) if seen is None else (int(seen[0]), int(seen[1]))
        shown = display_path(path)
        before = b""
        with path.open("rb") as handle:
            file = staged.keep(handle, shown)
            if offset:
                start = max(0, offset - TAIL_BYTES)
                handle.seek(start)
                before = handle.read(offset - start)
                if seen is None or len(before) != offset - start or _digest(before) != seen[4]:
                    offset, number, before = 0, 0, b""  # rewritten, not appended to: read again (ids dedupe)
            handle.seek(offset)
            source = SOURCE_PREFIX + path.name[: -len(SUFFIX)]
            tail, read, rest = before, 0, b""  # rest: a line not ended yet, from the block before
            if offset == 0 and handle.read(len(BOM)) == BOM:  # an editor's byte-order mark: not a line's
                tail, read = BOM, len(BOM)
            handle.seek(offset + read)
            while block := handle.read(READ_BYTES):  # a block at a time: a first merge is large
                data = rest + block
                end = data.rfind(b"\n") + 1
                rest = data[end:]
                if not end:
                    continue
                tail = (tail + data[:end])[-TAIL_BYTES:]
                at = offset + read  # where data starts in the file
                read += end
                for raw in data[: end - 1].split(b"\n"):
                    number += 1
                    if raw.strip():
                        parsed = self._parse_line(raw, shown, number, source, result)
                        if parsed is not None:
                            yield parsed[0], parsed[1], raw, (file, at)
                    at += len(raw) + 1
        if rest:
            result.warnings.append(
                f"warning: {shown}:{number + 1}: incomplete last line (a write in progress or cut short); "
                "skipped until it is complete"
            )
        self.db.execute(
            "INSERT OR REPLACE INTO journal_files(name, offset, lines, size, mtime_ns, tail) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [path.name, offset + read, number, info.st_size, info.st_mtime_ns, _digest(tail)],
        )

    @staticmethod
    def _parse_line(
        raw: bytes, shown: str, number: int, source: str, result: TakeInResult
    ) -> tuple[str, dict[str, Any]] | None:
        """One line as (its source, the line), or None, with a warning, when it is not one."""
        try:
            line = orjson.loads(raw)  # strict UTF-8; four times faster than json on a first merge
            _check(line)
        except _BadLine as error:
            result.warnings.append(f"warning: {shown}:{number}: malformed journal line ({error}); skipped")
            return None
        except ValueError:
            result.warnings.append(f"warning: {shown}:{number}: malformed journal line (not JSON); skipped")
            return None
        return _line_source(line, source), line

    def _apply(
        self, settings: Settings, lines: list[tuple[str, dict[str, Any]]], result: TakeInResult
    ) -> None:
        """Take in parsed lines: cancels first, then answers through :func:`merge.take_in`."""
        db = self.db
        for source, line in lines:
            if "rename" in line:
                db.execute(
                    "INSERT OR IGNORE INTO journal_renames(old, new, written) VALUES (?, ?, 1)",
                    [line["rename"], line["to"]],
                )
            elif "parameters" in line:
                db.execute(
                    "INSERT OR IGNORE INTO journal_parameters(line_id, at, device, snapshot) VALUES (?, ?, ?, ?)",
                    [
                        line["id"],
                        line["at"],
                        str(line.get("device", "")),
                        _dumps({"parameters": line["parameters"]}),
                    ],
                )
            elif "suspend" in line:
                line["suspend"] = _renamed(_renames(db), line["suspend"])  # a card renamed since, as answers
                if not _known_cards(db, {line["suspend"]}):  # waits, as an answer does, for the card
                    _wait(db, [(line["id"], line["suspend"], source, line)])
                    continue
                db.execute("DELETE FROM journal_pending WHERE line_id = ?", [line["id"]])
                if _record_suspension(db, line):
                    db.execute(
                        "UPDATE cards SET suspended = ?, leech = coalesce(?, leech) WHERE id = ?",
                        [int(line["suspended"]), _flag(line.get("leech")), line["suspend"]],
                    )
        lines = [
            (source, line)
            for source, line in lines
            if "parameters" not in line and "suspend" not in line and "rename" not in line
        ]
        cancels = [line["cancel"] for _, line in lines if "cancel" in line]
        touched: set[str] = set()
        since: dict[str, str] = {}  # each card's earliest cancelled answer
        if cancels:
            db.conn.executemany(
                "INSERT OR IGNORE INTO journal_cancelled(line_id) VALUES (?)", [(c,) for c in cancels]
            )
            for line_id in cancels:
                db.execute("DELETE FROM journal_pending WHERE line_id = ?", [line_id])
                for review_id, card_id in db.execute(
                    "SELECT id, card_id FROM reviews WHERE source LIKE 'journal:%' AND source_id = ?",
                    [line_id],
                ).fetchall():
                    removed_at = reviewlog.remove(db, review_id)
                    if removed_at is not None:
                        since[card_id] = min(since.get(card_id, removed_at), removed_at)
                    touched.add(card_id)
                    result.cancelled += 1
            merge.refind(db, settings, since)  # the rows after a cancelled answer found another history
        adds: dict[str, tuple[str, dict[str, Any]]] = {}
        for source, line in lines:
            if "cancel" not in line:
                adds.setdefault(line["id"], (source, line))
        renames = _renames(db)
        if renames:  # a card renamed (renamed_from) since the line was written: it names the old id
            for _, line in adds.values():
                line["card"] = _renamed(renames, line["card"])
        if adds:
            _drop_known(db, adds)
        cards = _known_cards(db, {line["card"] for _, line in adds.values()})
        _wait(db, [(i, line["card"], s, line) for i, (s, line) in adds.items() if line["card"] not in cards])
        ready = [(s, line) for s, line in adds.values() if line["card"] in cards]
        db.conn.executemany(
            "DELETE FROM journal_pending WHERE line_id = ?", [(line["id"],) for _, line in ready]
        )
        result.pending = int(db.execute("SELECT count(*) FROM journal_pending").fetchone()[0])
        merged = merge.take_in(db, settings, _offers(ready))  # answers, cram answers, moved due days
        result.added += merged.added
        result.cards |= merged.cards | touched
        if touched:  # cancelled answers: the card's state is what its log now gives
            scheduler.rebuild_within(db, settings, sorted(touched))


def _line_source(line: dict[str, Any], source: str) -> str:
    """The source a line's answer is logged with: its device's, else its file's (``source``)."""
    device = line.get("device")
    return SOURCE_PREFIX + device if isinstance(device, str) and device else source


class _Staged:
    """Where the answer lines of a large take-in are, by card, to be read again card by card.

    A journal holds each card's answers all over the file (in the order they were given); applied
    a batch at a time as read, every batch would merge and replay every card again. Once a batch
    is full, only where each answer's line is and what it held (its file, offset, length and
    CRC-32: 32 bytes, the line some 300) is kept, by card; the files stay open, and the lines,
    checked already, are read again from them in batches of whole cards, each card merged once. A
    line that does not read back as the bytes it was (a file rewritten in place meanwhile, even
    with another line for the same card) ends the take-in, rolled back.
    """

    def __init__(self) -> None:
        self.active = False
        self.count = 0  # the lines staged so far
        self.files: list[tuple[int, str, str]] = []  # (descriptor, source, shown) of each file read
        self.places: dict[str, array[int]] = {}  # card -> (file, offset, length, CRC-32) of each of its lines
        self.held: dict[str, list[tuple[str, bytes]]] = {}  # card -> (source, bytes) staged from memory

    def __enter__(self) -> _Staged:
        return self

    def __exit__(self, *error: object) -> None:
        self.close()

    def keep(self, handle: BinaryIO, shown: str) -> int:
        """Keep a file being read open (its own descriptor: the same file, even if the path is
        replaced meanwhile); its number."""
        source = SOURCE_PREFIX + Path(handle.name).name[: -len(SUFFIX)]
        self.files.append((os.dup(handle.fileno()), source, shown))
        return len(self.files) - 1

    def close(self) -> None:
        """Close the files kept open."""
        for descriptor, _, _ in self.files:
            os.close(descriptor)
        self.files = []

    def start(self, lines: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
        """Stage the answers of ``lines`` (held as bytes); return the others (cancels, renames,
        suspensions, parameters)."""
        self.active = True
        kept = []
        for source, line in lines:
            if "card" in line:
                self.held.setdefault(line["card"], []).append((source, orjson.dumps(line)))
                self.count += 1
            else:
                kept.append((source, line))
        return kept

    def add(self, card: str, at: tuple[int, int], raw: bytes) -> None:
        """Stage the answer line for ``card`` at ``at`` (file number, offset), its bytes ``raw``."""
        places = self.places.get(card)
        if places is None:
            places = self.places[card] = array("q")
        places.extend((at[0], at[1], len(raw), zlib.crc32(raw)))
        self.count += 1

    def batches(self) -> Iterator[list[tuple[str, dict[str, Any]]]]:
        """The staged answers, whole cards at a time (about ``_CHUNK_LINES`` lines a batch), each
        card's in the order they were read; cards in the order of their ids."""
        batch: list[tuple[str, dict[str, Any]]] = []
        loads, files, read, crc32 = orjson.loads, self.files, os.pread, zlib.crc32
        held, places = self.held, self.places
        for card in sorted(held.keys() | places.keys()):
            if len(batch) >= _CHUNK_LINES:
                yield batch
                batch = []
            batch.extend((source, loads(raw)) for source, raw in held.get(card, ()))
            found = places.get(card)
            if found is None:
                continue
            for index in range(0, len(found), 4):
                descriptor, source, shown = files[found[index]]
                offset, length = found[index + 1], found[index + 2]
                raw = read(descriptor, length, offset)
                line = loads(raw) if crc32(raw) == found[index + 3] and len(raw) == length else None
                if type(line) is not dict or line.get("card") != card:  # (checked when first read)
                    raise CardsError(
                        f"{shown} changed while it was read (its bytes at {offset} are not the line "
                        "read there); nothing was taken in: run the command again"
                    )
                batch.append((_line_source(line, source), line))
        if batch:
            yield batch


class _BadLine(ValueError):
    """A journal line that is JSON but not a journal line."""


# The fields of an answer line and their JSON types. Lines are parsed JSON, so a value's type is
# exactly one of JSON's (a subclass cannot appear), and ``type(value) is int`` also refuses a bool.
_REQUIRED = (
    ("card", str),
    ("id", str),
    ("rating", int),
    ("reviewed_at", str),
    ("duration_ms", int),
    ("due", str),
    ("state_before", int),
    ("state", int),
)
_WHOLE = ("due_day", "step", "day_end", "points", "anki_id")
_TEXT = ("ticked", "source", "source_id", "device")
_NUMBER = (int, float)


_parse = datetime.fromisoformat


def _check(line: Any) -> None:
    if type(line) is not dict:
        raise _BadLine("not a JSON object")
    if type(line.get("id")) is not str:
        raise _BadLine("'id' missing or not a str")
    if "cancel" in line:
        if type(line["cancel"]) is not str:
            raise _BadLine("'cancel' must name a line id")
        return
    if "rename" in line:
        if type(line["rename"]) is not str or type(line.get("to")) is not str:
            raise _BadLine("'rename' and 'to' name the card's old and new ids")
        return
    if "parameters" in line or "suspend" in line:
        if type(line.get("at")) is not str:
            raise _BadLine("'at' missing or not a str")
        if "suspend" in line and (
            type(line["suspend"]) is not str or type(line.get("suspended")) is not bool
        ):
            raise _BadLine("'suspend' names a card and 'suspended' is true or false")
        if "parameters" in line:
            _check_snapshot(line["parameters"])
        return
    get = line.get
    for key, kind in _REQUIRED:
        if type(get(key)) is not kind:
            raise _BadLine(f"'{key}' missing or not a {kind.__name__}")
    for key in _WHOLE:
        value = get(key)
        if value is not None and type(value) is not int:
            raise _BadLine(f"'{key}' must be a whole number")
    stability, difficulty = get("stability"), get("difficulty")
    for key, value in (("stability", stability), ("difficulty", difficulty)):
        if value is not None and type(value) not in _NUMBER:
            raise _BadLine(f"'{key}' must be a number")
    for key in _TEXT:
        value = get(key)
        if value is not None and type(value) is not str:
            raise _BadLine(f"'{key}' must be text")
    try:
        _parse(line["reviewed_at"])
        _parse(line["due"])
    except ValueError as error:
        raise _BadLine(str(error)) from None
    for key in ("state", "state_before"):
        if line[key] not in STATE_OF:
            raise _BadLine(f"'{key}' is {line[key]}: 0 new, 1 learning, 2 review or 3 relearning")
    if line["duration_ms"] < 0:
        raise _BadLine(f"'duration_ms' is {line['duration_ms']}: a time taken is 0 or more")
    kind = get("kind", 0)
    if kind not in KIND_OF:
        raise _BadLine(f"'kind' is {kind}: 0 an answer, 1 a cram answer or 2 a due day brought forward")
    if kind == Kind.ANSWER:
        if line["rating"] not in RATING_OF:
            raise _BadLine(f"rating must be 1-4, got {line['rating']}")
    elif type(stability) not in _NUMBER or type(difficulty) not in _NUMBER:
        raise _BadLine("a cram answer or a moved due day gives 'stability' and 'difficulty'")


def _check_snapshot(snapshot: Any) -> None:
    if not isinstance(snapshot, list):
        raise _BadLine("'parameters' must be a list of fits")
    for fit in snapshot:
        if not isinstance(fit, dict) or not isinstance(fit.get("preset"), str):
            raise _BadLine("each fit names its 'preset'")
        values = fit.get("parameters")
        if not isinstance(values, list) or not all(isinstance(v, (int, float)) for v in values):
            raise _BadLine("each fit gives its 'parameters' as numbers")
        for key in ("created_at", "reviews", "log_loss", "rmse"):
            if key not in fit:
                raise _BadLine(f"each fit gives '{key}'")


def _snapshot(db: Database) -> list[dict[str, Any]]:
    """The active fitted parameters, one per preset, as a parameters line carries them."""
    return [
        {"preset": preset, "parameters": json.loads(values), "created_at": created_at, "reviews": reviews,
         "log_loss": log_loss, "rmse": rmse}
        for preset, values, created_at, reviews, log_loss, rmse in db.execute(
            "SELECT preset, parameters, created_at, reviews, log_loss, rmse FROM parameters "
            "WHERE active = 1 ORDER BY preset"
        )
    ]  # fmt: skip


def _comparable(snapshot: list[dict[str, Any]]) -> dict[str, tuple[float, ...]]:
    return {fit["preset"]: tuple(float(v) for v in fit["parameters"]) for fit in snapshot}


def _flag(value: Any) -> int | None:
    return int(value) if isinstance(value, bool) else None


def _record_suspension(db: Database, line: dict[str, Any]) -> bool:
    """Keep a suspension line if it is the newest for its card (by time, device, id); True if kept."""
    key = (line["at"], str(line.get("device", "")), line["id"])
    kept = db.execute(
        "SELECT at, device, line_id FROM journal_suspensions WHERE card_id = ?", [line["suspend"]]
    ).fetchone()
    if kept is not None and tuple(kept) >= key:
        return False
    db.execute(
        "INSERT OR REPLACE INTO journal_suspensions(card_id, at, device, line_id, suspended) VALUES (?, ?, ?, ?, ?)",
        [line["suspend"], *key, int(line["suspended"])],
    )
    return True


def _origin(source: str, line: dict[str, Any]) -> tuple[str, str]:
    """The (source, source id) a line's row is logged with: an imported answer keeps its own."""
    if isinstance(line.get("source"), str) and isinstance(line.get("source_id"), str):
        return line["source"], line["source_id"]
    return source, line["id"]


def _offers(answers: list[tuple[str, dict[str, Any]]]) -> Iterator[merge.Offer]:
    """Answers as :class:`merge.Offer`s, one per card and source, each card's in time order."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for source, line in answers:
        origin, _ = _origin(source, line)
        groups.setdefault((line["card"], origin), []).append(line)
    for (card_id, origin), group in groups.items():
        group.sort(key=lambda line: line["reviewed_at"])  # stable: a machine's lines in the order written
        once: dict[str, dict[str, Any]] = {}  # by source id: one answer imported on two machines is one
        for line in group:
            source_id = _origin(origin, line)[1]
            kept = once.get(source_id)
            if kept is None or _day_of(line) < _day_of(kept):  # the earlier study day, as merge keeps
                once[source_id] = line
        yield _offer(card_id, origin, [(line, source_id) for source_id, line in once.items()])


def _day_of(line: dict[str, Any]) -> tuple[float, int, str]:
    """The study day a line counts its answer on, as :func:`merge.day_order` compares them."""
    return merge.day_order(line.get("day_end"), line.get("due_day"), line["due"])


def _offer(card_id: str, source: str, group: list[tuple[dict[str, Any], str]]) -> merge.Offer:
    def build(positions: list[int]) -> list[merge.Incoming]:
        built = []
        for position in positions:
            line, source_id = group[position]
            built.append(
                merge.Incoming(
                    card_id=card_id,
                    rating=int(line["rating"]),
                    reviewed_at=line["reviewed_at"],
                    duration_ms=int(line["duration_ms"]),
                    source=source,
                    source_id=source_id,
                    state=STATE_OF[line["state"]],
                    due=line["due"],
                    due_day=line.get("due_day"),
                    anki_id=line.get("anki_id"),
                    step=line.get("step"),
                    day_end=line.get("day_end"),
                    kind=KIND_OF[line.get("kind", 0)],
                    points=line.get("points"),
                    ticked=line.get("ticked"),
                )
            )
        return built

    return merge.Offer(
        card_id=card_id,
        source=source,
        anki_ids=[line.get("anki_id") for line, _ in group],
        source_id=lambda position: group[position][1],
        build=build,
        copies=True,
    )


def _drop_known(db: Database, adds: dict[str, tuple[str, dict[str, Any]]]) -> None:
    """Leave out lines of answers logged here (this device's own), and cancelled ones."""
    ids = list(adds)
    for start in range(0, len(ids), 900):
        part = ids[start : start + 900]
        marks = ", ".join("?" * len(part))
        for (line_id,) in db.execute(
            f"SELECT line_id FROM journal_lines WHERE line_id IN ({marks}) "
            f"UNION ALL SELECT line_id FROM journal_cancelled WHERE line_id IN ({marks})",
            part + part,
        ):
            adds.pop(line_id, None)


def _wait(db: Database, lines: list[tuple[str, str, str, dict[str, Any]]]) -> None:
    """Keep lines (line id, the card they name, source, line) until their card is compiled here."""
    db.conn.executemany(
        "INSERT OR IGNORE INTO journal_pending(line_id, card_id, source, line) VALUES (?, ?, ?, ?)",
        [(line_id, card, source, _dumps(line)) for line_id, card, source, line in lines],
    )


def _known_cards(db: Database, card_ids: set[str]) -> set[str]:
    found: set[str] = set()
    ids = list(card_ids)
    for start in range(0, len(ids), 900):
        part = ids[start : start + 900]
        marks = ", ".join("?" * len(part))
        found.update(row[0] for row in db.execute(f"SELECT id FROM cards WHERE id IN ({marks})", part))
    return found


_LINE_KEYS = (
    "card",
    "rating",
    "reviewed_at",
    "duration_ms",
    "due",
    "state_before",
    "state",
    "stability",
    "difficulty",
    "due_day",
    "step",
    "day_end",
    "source",
    "source_id",
    "anki_id",
    "kind",
    "points",
    "ticked",
)


def _line_text(row: tuple[Any, ...], device: str) -> str:
    """One log row as a journal line (keys sorted; empty values left out)."""
    _, line_id, *values = row
    line = {key: value for key, value in zip(_LINE_KEYS, values, strict=True) if value is not None}
    if line.get("source") is None or str(line.get("source")).startswith(SOURCE_PREFIX):
        line.pop("source", None)
        line.pop("source_id", None)  # its Anki id stays: the id it goes to Anki with, and comes back
    line["id"] = line_id
    line["device"] = device  # a line copied into another file is still recognised
    return _dumps(line)


def _dumps(line: dict[str, Any]) -> str:
    return json.dumps(line, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _append(path: Path, data: bytes) -> os.stat_result:
    """Append ``data`` to ``path`` and sync it, holding the file's lock; a last line cut short
    (by another program: this device's own are taken off first) is ended first, so the new
    lines start on a line of their own (the cut line is reported and skipped); the file's
    status after."""
    with _locked(path, create=True) as descriptor:
        assert descriptor is not None
        size = os.fstat(descriptor).st_size
        if size and os.pread(descriptor, 1, size - 1) != b"\n":
            data = b"\n" + data
        view = memoryview(data)
        while view:
            written = os.write(descriptor, view)
            view = view[written:]
        os.fsync(descriptor)
        return os.fstat(descriptor)


@contextmanager
def _locked(path: Path, create: bool) -> Iterator[int | None]:
    """This device's file opened for appending, under an exclusive lock (``flock``: held by
    one ``cards`` at a time); None when it does not exist and ``create`` is false."""
    flags = os.O_RDWR | os.O_APPEND | getattr(os, "O_CLOEXEC", 0) | (os.O_CREAT if create else 0)
    try:
        descriptor = os.open(path, flags, 0o644)
    except FileNotFoundError:
        if create:
            raise
        yield None
        return
    try:
        if fcntl is not None:
            # a file system without locks (some network mounts): appends go on unlocked
            with suppress(OSError):
                fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield descriptor
    finally:
        os.close(descriptor)  # and the lock with it


def _last_byte(path: Path) -> bytes:
    try:
        with path.open("rb") as handle:
            handle.seek(-1, os.SEEK_END)
            return handle.read(1)
    except OSError:
        return b""


def _whole_lines_end(descriptor: int, size: int) -> int:
    """Where the file's last whole line ends (after its newline): 0 when it has none."""
    position = size
    while position > 0:
        start = max(0, position - READ_BYTES)
        block = os.pread(descriptor, position - start, start)
        found = block.rfind(b"\n")
        if found >= 0:
            return start + found + 1
        position = start
    return 0


def _renames(db: Database) -> dict[str, str]:
    """The renames (``renamed_from``) taken in or made here: old card id -> new."""
    return dict(db.execute("SELECT old, new FROM journal_renames").fetchall())


def _renamed(renames: dict[str, str], card: str) -> str:
    """The id a card has now, following ``renames`` (at most once each: a rename back and forth ends)."""
    for _ in range(len(renames)):
        if card not in renames:
            break
        card = renames[card]
    return card


def _rename_id(old: str, new: str) -> str:
    """The id of the line that renames card ``old`` to ``new`` (the same on every device)."""
    return f"rename-{_digest(f'{old} {new}'.encode())}"


def _line_id(raw: bytes) -> str | None:
    """The id of a journal line (a JSON object with a text id), or None when it is not one."""
    try:
        line = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return line["id"] if type(line) is dict and type(line.get("id")) is str else None


def _ids_in(path: Path) -> set[str]:
    """The ids of the lines a journal file holds (lines that are not JSON objects left out)."""
    with path.open("rb") as handle:
        return {found for raw in handle if (found := _line_id(raw)) is not None}
