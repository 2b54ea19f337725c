"""Drive the real Anki engine at chosen instants, for tests that compare cards with Anki.

Anki reads the wall clock itself (Rust's ``SystemTime::now`` and Python's ``time.time``), so
its idea of "now" and "today" cannot be passed in. This module compiles a small C shim that
overrides ``clock_gettime`` (realtime clocks only), ``gettimeofday`` and ``time``, preloads it
into a worker process that hosts one Anki collection, and sets the shim's clock from the
worker through an exported ``shim_set_time`` symbol. The test process talks to the worker in
JSON lines over a pipe, so Anki never runs, and the clock is never faked, in the test process.

    with AnkiEngine(tmp_path, tz="Europe/Berlin", start=datetime(2026, 3, 2, 9, tzinfo=UTC)) as anki:
        anki.enable_fsrs(learning_steps=[1, 10])
        (card_id,) = anki.add_basic_notes("Spanish", ["hola"])
        anki.queued("Spanish").labels        # ['1m', '6m', '10m', '...d']
        anki.answer(card_id, 3)
        anki.set_time(datetime(2026, 3, 2, 9, 10, tzinfo=UTC))

The worker runs with ``ANKI_TEST_MODE=1``, which turns Anki's fuzz off.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

SHIM_SOURCE = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/time.h>
#include <time.h>

/* Nanoseconds since the epoch, or -1 while the real clock is in use. */
static _Atomic int64_t fake_ns = -1;

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);
static clock_gettime_fn real_clock_gettime;

__attribute__((visibility("default"))) void shim_set_time(int64_t sec, int64_t nsec) {
    atomic_store(&fake_ns, sec * 1000000000LL + nsec);
}

__attribute__((visibility("default"))) void shim_clear_time(void) {
    atomic_store(&fake_ns, -1);
}

static int is_realtime(clockid_t clock) {
    return clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE
#ifdef CLOCK_REALTIME_ALARM
        || clock == CLOCK_REALTIME_ALARM
#endif
#ifdef CLOCK_TAI
        || clock == CLOCK_TAI
#endif
        ;
}

int clock_gettime(clockid_t clock, struct timespec *ts) {
    int64_t ns = atomic_load(&fake_ns);
    if (ns >= 0 && is_realtime(clock)) {
        ts->tv_sec = (time_t)(ns / 1000000000LL);
        ts->tv_nsec = (long)(ns % 1000000000LL);
        return 0;
    }
    if (!real_clock_gettime) {
        real_clock_gettime = (clock_gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
    }
    return real_clock_gettime(clock, ts);
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz) {
    struct timespec ts;
    int rc = clock_gettime(CLOCK_REALTIME, &ts);
    if (rc == 0 && tv) {
        tv->tv_sec = ts.tv_sec;
        tv->tv_usec = ts.tv_nsec / 1000;
    }
    if (tz) {
        struct timezone *zone = tz;
        zone->tz_minuteswest = 0;
        zone->tz_dsttime = 0;
    }
    return rc;
}

time_t time(time_t *out) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (out) {
        *out = ts.tv_sec;
    }
    return ts.tv_sec;
}
"""

RATINGS = {1: "again", 2: "hard", 3: "good", 4: "easy"}
DEFAULT_START = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
_BIDI_ISOLATES = str.maketrans("", "", "\u2068\u2069")


class AnkiEngineError(RuntimeError):
    """The worker failed a command or died; the message carries its traceback or stderr."""


def build_shim(cache_dir: Path | None = None) -> Path:
    """Compile the clock shim once per source version and return the shared library's path."""
    compiler = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if compiler is None:
        raise AnkiEngineError("no C compiler (cc or gcc) on PATH: the Anki clock shim cannot be built")
    digest = hashlib.sha256(SHIM_SOURCE.encode()).hexdigest()[:16]
    base = cache_dir or Path(tempfile.gettempdir()) / f"cards-anki-shim-{os.getuid()}"
    library = base / f"clockshim-{digest}.so"
    if library.exists():
        return library
    base.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(dir=base))
    try:
        source = build / "clockshim.c"
        source.write_text(SHIM_SOURCE, encoding="utf-8")
        output = build / "clockshim.so"
        result = subprocess.run(
            [compiler, "-O2", "-shared", "-fPIC", "-o", str(output), str(source), "-ldl"],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise AnkiEngineError(f"compiling the clock shim failed:\n{result.stderr}")
        os.replace(output, library)  # atomic: concurrent builders each install a complete file
    finally:
        shutil.rmtree(build, ignore_errors=True)
    return library


@dataclass(frozen=True)
class Interval:
    """What one answer button would do: the next state's kind and its raw interval."""

    kind: str  # "learning", "relearning" or "review"
    secs: int | None  # scheduled seconds for (re)learning steps
    days: int | None  # scheduled days for review states

    @property
    def seconds(self) -> int:
        """The interval in seconds, days counted as 86 400 s (as Anki's labels do)."""
        return self.secs if self.secs is not None else (self.days or 0) * 86_400


@dataclass(frozen=True)
class Queued:
    """The card Anki would show next in a deck, with its four button labels and intervals."""

    card_id: int
    queue: int  # cards.queue: 0 new, 1 learn, 2 review, 3 day-learn
    type: int  # cards.type: 0 new, 1 learn, 2 review, 3 relearn
    labels: list[str]  # again, hard, good, easy, as printed on the buttons
    intervals: list[Interval]
    counts: tuple[int, int, int]  # new, learning, review shown above the card


class AnkiEngine:
    """A real Anki collection in a worker process whose clock the test sets."""

    def __init__(
        self,
        workdir: Path,
        tz: str = "UTC",
        start: datetime = DEFAULT_START,
        name: str = "anki",
    ) -> None:
        self.workdir = Path(workdir) / name
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.tz = tz
        self._start = start
        self._now = start
        self._process: subprocess.Popen[str] | None = None
        self._stderr_path = self.workdir / "worker.stderr"

    # lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> AnkiEngine:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def start(self) -> None:
        """Start the worker with the shim preloaded and open the collection at ``start``."""
        shim = build_shim()
        env = dict(os.environ)
        preload = env.get("LD_PRELOAD")
        env["LD_PRELOAD"] = f"{shim}:{preload}" if preload else str(shim)
        env["ANKI_TEST_MODE"] = "1"
        env["TZ"] = self.tz
        env["PYTHONUNBUFFERED"] = "1"
        self._stderr = open(self._stderr_path, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self._process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env=env,
            cwd=self.workdir,
        )
        self._call("open", path=str(self.workdir / "collection.anki2"), now=_stamp(self._start))

    def close(self) -> None:
        """Close the collection and stop the worker."""
        process, self._process = self._process, None
        if process is None:
            return
        try:
            if process.poll() is None:
                self._send(process, {"op": "close"})
                process.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            process.kill()
            process.wait()
        finally:
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    stream.close()
            self._stderr.close()

    # clock -----------------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        """The instant Anki currently sees."""
        return self._now

    def set_time(self, when: datetime) -> None:
        """Move Anki's clock to ``when`` (timezone-aware). Moving backwards reopens the collection."""
        if when.tzinfo is None:
            raise ValueError("set_time needs a timezone-aware datetime")
        self._call("set_time", now=_stamp(when))
        self._now = when

    def today(self) -> int:
        """Anki's day number (days since the collection was created, counted from rollovers)."""
        return int(self._call("today")["today"])

    def next_day_at(self) -> datetime:
        """The instant of the next rollover, as Anki computes it."""
        return datetime.fromtimestamp(self._call("today")["next_day_at"], UTC)

    # content ---------------------------------------------------------------------------------

    def add_basic_notes(self, deck: str, fronts: list[str]) -> list[int]:
        """Add one Basic note per front (back "back of <front>") to ``deck``; return the card ids."""
        return list(self._call("add_basic_notes", deck=deck, fronts=fronts)["card_ids"])

    def import_apkg(
        self, path: Path, with_scheduling: bool = True, merge_notetypes: bool = True
    ) -> dict[str, Any]:
        """Import a package as the import dialog does (notes updated always; note types merged
        unless ``merge_notetypes`` is false, the dialog's default); return the log counts."""
        return self._call(
            "import_apkg", path=str(path), with_scheduling=with_scheduling, merge_notetypes=merge_notetypes
        )

    def export_apkg(self, path: Path, with_scheduling: bool = True) -> int:
        """Export the whole collection as an .apkg; return the number of notes written."""
        return int(self._call("export_apkg", path=str(path), with_scheduling=with_scheduling)["notes"])

    def export_colpkg(self, path: Path) -> None:
        """Export the whole collection as a .colpkg (the collection is reopened afterwards)."""
        self._call("export_colpkg", path=str(path))

    def deck_id(self, deck: str) -> int:
        """The id of ``deck``, created if missing."""
        return int(self._call("deck_id", deck=deck)["deck_id"])

    # scheduling ------------------------------------------------------------------------------

    def enable_fsrs(
        self,
        deck: str = "Default",
        params: list[float] | None = None,
        desired_retention: float = 0.9,
        learning_steps: list[float] | None = None,
        relearning_steps: list[float] | None = None,
        rollover_hour: int = 4,
        maximum_interval: int = 36_500,
        new_per_day: int = 9_999,
        reviews_per_day: int = 9_999,
        new_cards_ignore_review_limit: bool = False,
        leech_threshold: int = 8,
        leech_suspend: bool = False,
        bury_new: bool = False,
        bury_reviews: bool = False,
        bury_interday_learning: bool = False,
        fsrs: bool = True,
        **config: Any,
    ) -> None:
        """Turn FSRS on through the deck-options request and set the preset of ``deck``.

        Steps are in minutes (Anki's unit); ``None`` keeps Anki's defaults ([1, 10] and [10]),
        an empty list means no steps. ``params`` empty or ``None`` uses Anki's default weights.
        Any other keyword sets the field of the same name on the preset (``DeckConfig.Config``).
        """
        self._call(
            "configure",
            deck=deck,
            fsrs=fsrs,
            params=list(params or []),
            desired_retention=desired_retention,
            learning_steps=None if learning_steps is None else list(learning_steps),
            relearning_steps=None if relearning_steps is None else list(relearning_steps),
            rollover_hour=rollover_hour,
            new_cards_ignore_review_limit=new_cards_ignore_review_limit,
            config={
                "maximum_review_interval": maximum_interval,
                "new_per_day": new_per_day,
                "reviews_per_day": reviews_per_day,
                "leech_threshold": leech_threshold,
                "leech_action": 0 if leech_suspend else 1,
                "bury_new": bury_new,
                "bury_reviews": bury_reviews,
                "bury_interday_learning": bury_interday_learning,
                **config,
            },
        )

    def queued(self, deck: str) -> Queued | None:
        """The next card Anki would show in ``deck`` now, or None when the deck is done for now."""
        reply = self._call("queued", deck=deck)
        if reply["card_id"] is None:
            return None
        return Queued(
            card_id=reply["card_id"],
            queue=reply["queue"],
            type=reply["type"],
            labels=reply["labels"],
            intervals=[Interval(**interval) for interval in reply["intervals"]],
            counts=tuple(reply["counts"]),
        )

    def next_states(self, card_id: int) -> tuple[list[str], list[Interval]]:
        """Button labels and intervals for any card (queued or not) at the current time."""
        reply = self._call("next_states", card_id=card_id)
        return reply["labels"], [Interval(**interval) for interval in reply["intervals"]]

    def answer(self, card_id: int, rating: int, taken_ms: int = 0) -> None:
        """Answer ``card_id`` with 1 Again, 2 Hard, 3 Good or 4 Easy at Anki's current time."""
        if rating not in RATINGS:
            raise ValueError(f"rating must be 1-4, not {rating!r}")
        self._call("answer", card_id=card_id, rating=rating, taken_ms=taken_ms)

    def card(self, card_id: int) -> dict[str, Any]:
        """The card row (type, queue, due, ivl, factor, reps, lapses, left, memory_state...) and its revlog."""
        return self._call("card", card_id=card_id)

    def due_counts(self, deck: str) -> tuple[int, int, int]:
        """Anki's new, learning and review counts for ``deck`` now."""
        counts = self._call("due_counts", deck=deck)["counts"]
        return counts[0], counts[1], counts[2]

    def run(self, code: str, **values: Any) -> Any:
        """Run Python in the worker with ``col`` and ``values`` in scope; return its ``result``."""
        return self._call("run", code=code, values=values)["result"]

    # protocol --------------------------------------------------------------------------------

    def _call(self, op: str, **args: Any) -> dict[str, Any]:
        if self._process is None:
            raise AnkiEngineError("the engine is not running (use it as a context manager)")
        self._send(self._process, {"op": op, **args})
        line = self._process.stdout.readline() if self._process.stdout else ""
        if not line:
            self._process.wait(timeout=10)
            raise AnkiEngineError(f"the Anki worker died during {op!r}:\n{self._stderr_tail()}")
        reply: dict[str, Any] = json.loads(line)
        if "error" in reply:
            raise AnkiEngineError(f"{op} failed in the Anki worker:\n{reply['error']}")
        return reply

    @staticmethod
    def _send(process: subprocess.Popen[str], message: dict[str, Any]) -> None:
        assert process.stdin is not None
        process.stdin.write(json.dumps(message) + "\n")
        process.stdin.flush()

    def _stderr_tail(self) -> str:
        self._stderr.flush()
        return self._stderr_path.read_text(encoding="utf-8", errors="replace")[-4000:]


def _stamp(when: datetime) -> list[int]:
    """Seconds and nanoseconds since the epoch for a timezone-aware datetime (microsecond precision)."""
    delta = when.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    seconds = delta.days * 86_400 + delta.seconds
    return [seconds, delta.microseconds * 1000]


# The worker side: runs in the child process, with the shim preloaded. ----------------------------


def worker_main() -> None:
    """Serve commands from stdin until "close"; replies go to the original stdout only."""
    import ctypes
    import traceback

    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # anything Anki prints goes to stderr, not into the protocol
    shim = ctypes.CDLL(None)
    try:
        set_time = shim.shim_set_time
    except AttributeError:
        replies.write(json.dumps({"error": "clock shim not preloaded (shim_set_time missing)"}) + "\n")
        replies.flush()
        return
    set_time.argtypes = [ctypes.c_int64, ctypes.c_int64]
    set_time.restype = None
    worker = _Worker(set_time)
    for line in sys.stdin:
        message = json.loads(line)
        op = message.pop("op")
        try:
            reply = getattr(worker, f"op_{op}")(**message) or {}
        except Exception:
            reply = {"error": traceback.format_exc()}
        if op == "close":
            break
        replies.write(json.dumps(reply) + "\n")
        replies.flush()
    worker.shutdown()


class _Worker:
    """Holds the collection in the worker process; one method per protocol operation."""

    def __init__(self, set_time: Any) -> None:
        self._set_time = set_time
        self.col: Any = None
        self.path = ""
        self.now = 0.0

    def shutdown(self) -> None:
        if self.col is not None:
            self.col.close()
            self.col = None

    def _reopen(self) -> None:
        # Anki caches "today" until the next rollover: reopening drops that cache.
        from anki.collection import Collection

        self.col.close()
        self.col = Collection(self.path)

    def op_open(self, path: str, now: list[int]) -> None:
        from anki.collection import Collection

        self.op_set_time(now)
        self.path = path
        self.col = Collection(path)

    def op_close(self) -> None:
        self.shutdown()

    def op_set_time(self, now: list[int]) -> None:
        seconds = now[0] + now[1] / 1e9
        self._set_time(now[0], now[1])
        going_back = seconds < self.now
        self.now = seconds
        if going_back and self.col is not None:
            self._reopen()

    def op_today(self) -> dict[str, Any]:
        timing = self.col._backend.sched_timing_today()
        return {"today": timing.days_elapsed, "next_day_at": timing.next_day_at}

    def _deck_id(self, deck: str) -> int:
        return int(self.col.decks.id(deck, create=True))

    def op_deck_id(self, deck: str) -> dict[str, Any]:
        return {"deck_id": self._deck_id(deck)}

    def op_add_basic_notes(self, deck: str, fronts: list[str]) -> dict[str, Any]:
        deck_id = self._deck_id(deck)
        notetype = self.col.models.by_name("Basic")
        card_ids: list[int] = []
        for front in fronts:
            note = self.col.new_note(notetype)
            note["Front"] = front
            note["Back"] = f"back of {front}"
            self.col.add_note(note, deck_id)
            card_ids.extend(int(card.id) for card in note.cards())
        return {"card_ids": card_ids}

    def op_import_apkg(
        self, path: str, with_scheduling: bool, merge_notetypes: bool = True
    ) -> dict[str, Any]:
        from anki.collection import ImportAnkiPackageOptions, ImportAnkiPackageRequest
        from anki.import_export_pb2 import ImportAnkiPackageUpdateCondition

        always = ImportAnkiPackageUpdateCondition.IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_ALWAYS

        options = ImportAnkiPackageOptions(
            merge_notetypes=merge_notetypes,
            update_notes=always,
            update_notetypes=always,
            with_scheduling=with_scheduling,
            with_deck_configs=with_scheduling,
        )
        log = self.col.import_anki_package(ImportAnkiPackageRequest(package_path=path, options=options)).log
        return {
            "new": len(log.new),
            "updated": len(log.updated),
            "duplicate": len(log.duplicate),
            "found_notes": log.found_notes,
        }

    def op_export_apkg(self, path: str, with_scheduling: bool) -> dict[str, Any]:
        from anki.collection import ExportAnkiPackageOptions

        options = ExportAnkiPackageOptions(
            with_scheduling=with_scheduling, with_deck_configs=with_scheduling, with_media=True, legacy=False
        )
        notes = self.col.export_anki_package(out_path=path, options=options, limit=None)
        return {"notes": notes}

    def op_export_colpkg(self, path: str) -> None:
        self.col.export_collection_package(out_path=path, include_media=True, legacy=False)
        self.col.reopen()

    def op_configure(
        self,
        deck: str,
        fsrs: bool,
        params: list[float],
        desired_retention: float,
        learning_steps: list[float] | None,
        relearning_steps: list[float] | None,
        rollover_hour: int,
        new_cards_ignore_review_limit: bool,
        config: dict[str, Any],
    ) -> None:
        from anki.deck_config_pb2 import UpdateDeckConfigsMode
        from anki.decks import UpdateDeckConfigs

        prefs = self.col.get_preferences()
        prefs.scheduling.rollover = rollover_hour
        self.col.set_preferences(prefs)

        deck_id = self._deck_id(deck)
        current = self.col.decks.get_deck_configs_for_update(deck_id)
        preset = current.current_deck.config_id
        deck_config = next(c.config for c in current.all_config if c.config.id == preset)
        inner = deck_config.config
        if learning_steps is not None:
            inner.ClearField("learn_steps")
            inner.learn_steps.extend(learning_steps)
        if relearning_steps is not None:
            inner.ClearField("relearn_steps")
            inner.relearn_steps.extend(relearning_steps)
        inner.ClearField("fsrs_params_6")
        inner.fsrs_params_6.extend(params)
        inner.desired_retention = desired_retention
        for field, value in config.items():
            setattr(inner, field, value)
        request = UpdateDeckConfigs(
            target_deck_id=deck_id,
            configs=[deck_config],
            mode=UpdateDeckConfigsMode.UPDATE_DECK_CONFIGS_MODE_APPLY_TO_CHILDREN,
            limits=current.current_deck.limits,
            new_cards_ignore_review_limit=new_cards_ignore_review_limit,
            apply_all_parent_limits=current.apply_all_parent_limits,
            fsrs=fsrs,
            fsrs_reschedule=False,
            fsrs_health_check=False,
        )
        self.col.decks.update_deck_configs(request)
        self._reopen()

    def _describe(self, states: Any) -> dict[str, Any]:
        labels = [label.translate(_BIDI_ISOLATES) for label in self.col.sched.describe_next_states(states)]
        intervals = [_interval(getattr(states, rating)) for rating in ("again", "hard", "good", "easy")]
        return {"labels": labels, "intervals": intervals}

    def op_queued(self, deck: str) -> dict[str, Any]:
        self.col.decks.select(self._deck_id(deck))
        output = self.col.sched.get_queued_cards(fetch_limit=1)
        counts = [output.new_count, output.learning_count, output.review_count]
        if not output.cards:
            return {"card_id": None, "counts": counts}
        queued = output.cards[0]
        return {
            "card_id": queued.card.id,
            "queue": queued.card.queue,
            "type": queued.card.ctype,
            "counts": counts,
            **self._describe(queued.states),
        }

    def op_next_states(self, card_id: int) -> dict[str, Any]:
        return self._describe(self.col._backend.get_scheduling_states(card_id))

    def op_answer(self, card_id: int, rating: int, taken_ms: int) -> None:
        from anki.errors import InvalidInput

        try:
            self._answer(card_id, rating, taken_ms)
        except InvalidInput as error:
            # Anki answers only the head of a built queue; for any other card (not due yet,
            # another deck) drop the queues, as the browser's "Grade Now" does not need them.
            if "not at top of queue" not in str(error):
                raise
            self._reopen()
            self._answer(card_id, rating, taken_ms)

    def _answer(self, card_id: int, rating: int, taken_ms: int) -> None:
        from anki.scheduler.v3 import CardAnswer

        card = self.col.get_card(card_id)
        card.start_timer()
        states = self.col._backend.get_scheduling_states(card_id)
        # The protocol's enum counts from 0 (AGAIN); revlog's ease counts from 1.
        button = CardAnswer.Rating.Value(RATINGS[rating].upper())
        answer = self.col.sched.build_answer(card=card, states=states, rating=button)
        answer.milliseconds_taken = taken_ms
        self.col.sched.answer_card(answer)

    def op_card(self, card_id: int) -> dict[str, Any]:
        card = self.col.get_card(card_id)
        memory = card.memory_state
        revlog = self.col.db.all(
            "select id, ease, ivl, lastIvl, factor, time, type from revlog where cid = ? order by id", card_id
        )
        columns = ("id", "ease", "ivl", "last_ivl", "factor", "time", "type")
        return {
            "id": int(card.id),
            "note_id": int(card.nid),
            "deck_id": int(card.did),
            "type": int(card.type),
            "queue": int(card.queue),
            "due": int(card.due),
            "ivl": int(card.ivl),
            "factor": int(card.factor),
            "reps": int(card.reps),
            "lapses": int(card.lapses),
            "left": int(card.left),
            "memory_state": (
                {"stability": memory.stability, "difficulty": memory.difficulty} if memory else None
            ),
            "desired_retention": card.desired_retention,
            "last_review_time": card.last_review_time,
            "tags": list(card.note().tags),
            "revlog": [dict(zip(columns, row, strict=True)) for row in revlog],
        }

    def op_due_counts(self, deck: str) -> dict[str, Any]:
        self.col.decks.select(self._deck_id(deck))
        return {"counts": list(self.col.sched.counts())}

    def op_run(self, code: str, values: dict[str, Any]) -> dict[str, Any]:
        scope: dict[str, Any] = {"col": self.col, **values}
        exec(code, scope)
        return {"result": scope.get("result")}


def _interval(state: Any) -> dict[str, Any]:
    """Kind and raw interval of one scheduling state (a filtered state is unwrapped)."""
    if state.WhichOneof("kind") == "filtered":
        filtered = state.filtered
        if filtered.WhichOneof("kind") == "preview":
            return {"kind": "preview", "secs": filtered.preview.scheduled_secs, "days": None}
        normal = filtered.rescheduling.original_state
    else:
        normal = state.normal
    kind = normal.WhichOneof("kind")
    if kind == "review":
        return {"kind": kind, "secs": None, "days": normal.review.scheduled_days}
    if kind == "relearning":
        return {"kind": kind, "secs": normal.relearning.learning.scheduled_secs, "days": None}
    if kind == "learning":
        return {"kind": kind, "secs": normal.learning.scheduled_secs, "days": None}
    return {"kind": kind, "secs": 0, "days": None}


if __name__ == "__main__":
    worker_main()
