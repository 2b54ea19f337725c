"""Benchmarks: wall time (median of several runs) and peak memory of `cards` commands.

Run with `make bench` (or `python benchmarks/run.py`). Collections of 1,000, 10,000 and 100,000
cards with about 10 reviews each are generated under benchmarks/work/ (git-ignored, kept for
the next run) by the simulated learner, through the project's own scheduling; then every
command runs as a separate process, as a user would start it. Figures are printed as a table
and as ratios to a floor (`python -c "import sqlite3"`), since machines are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "work"
PYTHON = sys.executable
sys.path.insert(0, str(HERE.parent))
NOW = "2026-11-27T09:00:00+00:00"  # the simulated learner's "now": the collections have cards due
SIZES = (1_000, 10_000, 100_000)
# the learner sees each card at most 20 times over four years: about 10 reviews per card
GENERATOR = {"reviews_per_card": 20, "days": 1460, "seed": 1, "now": NOW}


@dataclass
class Measure:
    """One row of the results table."""

    name: str
    seconds: float
    peak_mb: float
    target: str = ""
    note: str = ""
    separate_process: bool = True  # False: measured inside one process, no ratio to the floor
    versus: str = ""  # the row of the Anki library's nearest operation, for the ratio to it


def run_once(
    argv: list[str], env: dict[str, str], stdin: str | None = None, output: list[str] | None = None
) -> tuple[float, float]:
    """Run a command once; return its wall time in seconds and its peak RSS in MB.

    Standard output is discarded, or appended to ``output`` when given.
    """
    started = time.perf_counter()
    process = subprocess.Popen(
        argv,
        env=env,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE if output is not None else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    if stdin is not None:
        assert process.stdin is not None
        process.stdin.write(stdin.encode())
        process.stdin.close()
    captured = process.stdout.read().decode() if process.stdout else ""
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        error = process.stderr.read().decode() if process.stderr else ""
        raise SystemExit(f"{' '.join(argv)} failed ({process.returncode}): {captured}{error}")
    if output is not None:
        output.append(captured)
    return elapsed, usage.ru_maxrss / 1024


def measure(
    name: str,
    argv: list[str],
    env: dict[str, str],
    runs: int,
    stdin: str | None = None,
    before_each: Callable[[], None] | None = None,
    target: str = "",
) -> Measure:
    """Run a command ``runs`` times (after one warm-up); return the median time and the peak memory."""
    if before_each:
        before_each()
    run_once(argv, env, stdin)
    times, peaks = [], []
    for _ in range(runs):
        if before_each:
            before_each()
        seconds, peak = run_once(argv, env, stdin)
        times.append(seconds)
        peaks.append(peak)
    return Measure(name, statistics.median(times), max(peaks), target)


def measure_pair(
    first: tuple[str, list[str]], second: tuple[str, list[str]], env: dict[str, str], runs: int, target: str
) -> list[Measure]:
    """Run two commands alternately ``runs`` times each (after one warm-up of each), so a change in
    the machine's load falls on both; the first row's note is its ratio to the second."""
    times: list[list[float]] = [[], []]
    peaks: list[list[float]] = [[], []]
    for run in range(runs + 1):
        for index, (_, argv) in enumerate((first, second)):
            seconds, peak = run_once(argv, env)
            if run:
                times[index].append(seconds)
                peaks[index].append(peak)
    medians = [statistics.median(t) for t in times]
    ratios = sorted(a / b for a, b in zip(times[0], times[1], strict=True))
    note = (
        f"{medians[0] / medians[1]:.2f} x the next row (medians, runs interleaved; "
        f"per-pair ratios {ratios[0]:.2f}-{ratios[-1]:.2f})"
    )
    return [
        Measure(first[0], medians[0], max(peaks[0]), target, note),
        Measure(second[0], medians[1], max(peaks[1])),
    ]


def cards(*args: str) -> list[str]:
    """Argv running the project's command line with this interpreter."""
    return [PYTHON, "-m", "flashcards", *args]


def user_environment() -> dict[str, str]:
    """This environment as a user's shell has it: bytecode is cached, as after any install."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def environment(db: Path, decks: Path, now: str | None = None) -> dict[str, str]:
    """The process environment for a benchmark run."""
    env = user_environment()
    env.update({"CARDS_DB": str(db), "CARDS_DECKS": str(decks), "TZ": "UTC"})
    if now:
        env["CARDS_NOW"] = now
    return env


def compile_benchmarks(runs: int) -> list[Measure]:
    """Compile from scratch, with nothing changed, and after one edited file, on 10,000 notes."""
    from benchmarks.gendecks import generate

    base = WORK / "compile"
    shutil.rmtree(base, ignore_errors=True)
    decks = base / "decks"
    files = generate(decks, 10_000)
    db = base / "collection.db"
    env = environment(db, decks)

    def fresh() -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)

    def regenerate() -> None:
        fresh()
        generate(decks, 10_000)  # 7,500 of its notes have no id: the compile writes theirs

    results = [
        measure(
            "compile from scratch, writing ids into 7,500 notes",
            cards("compile"),
            env,
            runs,
            before_each=regenerate,
        ),
        measure(
            "compile from scratch, 10,000 notes",
            cards("compile"),
            env,
            runs,
            before_each=fresh,
            target="≤ 1.5 s",
        ),
    ]
    run_once(cards("compile"), env)
    results.append(
        measure(
            "compile, nothing changed, 10,000 notes", cards("compile"), env, runs, target="≤ floor + 0.1 s"
        )
    )
    edited = files[3]
    original = edited.read_text(encoding="utf-8")
    flip = [False]

    def edit() -> None:
        flip[0] = not flip[0]
        edited.write_text(
            original.replace("Answer 3000,", "Answer 3000 (edited)," if flip[0] else "Answer 3000,"),
            encoding="utf-8",
        )

    results.append(
        measure("compile after one edited file (1,000 notes)", cards("compile"), env, runs, before_each=edit)
    )
    return results


def simulated(cards_count: int) -> Path:
    """The collection of ``cards_count`` simulated cards, generated unless cached and current."""
    base = WORK / f"simulated-{cards_count}"
    db = base / "collection.db"
    key = {**GENERATOR, "notes": cards_count}
    marker = base / "generated.json"
    if not db.exists() or not marker.exists() or json.loads(marker.read_text()) != key:
        shutil.rmtree(base, ignore_errors=True)
        base.mkdir(parents=True)
        print(f"generating {cards_count:,} cards…", file=sys.stderr, flush=True)
        options = [str(GENERATOR[k]) for k in ("reviews_per_card", "days", "seed", "now")]
        run_once(
            [PYTHON, str(HERE / "probes.py"), "generate", str(db), str(cards_count), *options],
            user_environment(),
        )
        marker.write_text(json.dumps(key))
    (base / "decks").mkdir(exist_ok=True)  # empty: compiling it changes nothing
    run_once(cards("status"), environment(db, base / "decks", NOW))  # applies any newer migration
    for leftover in base.glob("collection.db.bak-*"):
        leftover.unlink()
    return db


def copy_collection(db: Path, target: Path) -> Path:
    """Copy a collection (for benchmarks that write to it) and return the copy's path."""
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(db, target)
    return target


def collection_benchmarks(runs: int) -> list[Measure]:
    """Status, review start and stats at each size; answers, rebuild and Anki's figures at the largest."""
    results = []
    largest = None
    for size in SIZES:
        db = simulated(size)
        env = environment(db, db.parent / "decks", NOW)
        label = f"{size:,} cards"
        big = size == SIZES[-1]
        results.append(
            measure(
                f"status, {label}",
                cards("status"),
                env,
                runs,
                target="≤ 4 x floor, ≤ 0.4 x Anki" if big else "",
            )
        )
        results.append(
            measure(
                f"review start → first card → quit, {label}",
                cards("review"),
                env,
                runs,
                stdin="q\n",
                target="≤ 4 x floor, ≤ 0.4 x Anki" if big else "",
            )
        )
        results.append(
            measure(f"stats, {label}", cards("stats"), env, runs, target="≤ 5 x floor" if big else "")
        )
        if big:
            for row in results[-3:]:
                row.versus = ANKI_DUE
        largest = db, env
    assert largest is not None
    db, env = largest
    results.append(answer_benchmark(db))
    output: list[str] = []
    run_once(cards("rebuild", "--check"), env, output=output)  # exits 1 if any state differs
    reviews = output[0].split(" reviews")[0].split(", ")[-1]
    rebuild = measure(
        f"rebuild from {reviews} reviews", cards("rebuild"), env, max(1, runs // 2), target="≤ 5 s"
    )
    rebuild.note = "states identical to the cache (rebuild --check)"
    results.append(rebuild)
    results.append(optimize_benchmark(db))
    results.extend(anki_benchmarks(db, env, runs))
    results.append(idle_benchmark(runs))
    return results


ANKI_DUE = "anki library: open 100,000 cards, count due"
ROOT = HERE.parent


def idle_benchmark(runs: int) -> Measure:
    """Bare `cards` on the bundled decks with every card studied: nothing due, nothing changed."""
    base = WORK / "bundled"
    db = base / "collection.db"
    if not db.exists():
        base.mkdir(parents=True, exist_ok=True)
        run_once(
            [PYTHON, str(HERE / "probes.py"), "study-all", str(db), str(ROOT / "decks"), NOW],
            user_environment(),
        )
    return measure(
        "cards (nothing due, nothing changed), the bundled decks",
        cards(),
        environment(db, ROOT / "decks", NOW),
        runs,
        target="≤ 3 x floor",
    )


def optimize_benchmark(db: Path) -> Measure:
    """`cards optimize` on the largest collection's log (a copy: it saves the fit), for its peak memory."""
    copy = copy_collection(db, WORK / "optimize" / "collection.db")
    env = environment(copy, db.parent / "decks", NOW)
    with sqlite3.connect(copy) as connection:
        reviews = connection.execute("SELECT count(*) FROM reviews").fetchone()[0]
    seconds, peak = run_once(cards("optimize"), env)
    return Measure(f"optimize, {reviews:,} reviews", seconds, peak, "≤ 100 MB")


def answer_benchmark(db: Path) -> Measure:
    """p50 and p95 of one committed answer, measured inside one process over many answers."""
    copy = copy_collection(db, WORK / "answers" / "collection.db")
    output: list[str] = []
    _, peak = run_once(
        [PYTHON, str(HERE / "probes.py"), "answers", str(copy), NOW, "2000"],
        user_environment(),
        output=output,
    )
    figures = json.loads(output[0])
    row = Measure(
        f"one answer committed (p95; p50 {figures['p50']:.2f} ms), {figures['answers']} answers, 100,000 cards",
        figures["p95"] / 1000,
        peak,
        "p95 ≤ 5 ms",
        separate_process=False,
    )
    return row


def emptied(directory: Path) -> Callable[[], None]:
    """A step before each run that leaves ``directory`` empty (the home of a new Anki collection)."""

    def empty() -> None:
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)

    return empty


def anki_benchmarks(db: Path, env: dict[str, str], runs: int) -> list[Measure]:
    """For comparison: the official Anki library importing our package and counting what is due."""
    base = WORK / "anki"
    package = base / "simulated-100000.apkg"
    anki_collection = base / "imported" / "collection.anki2"
    if not anki_collection.exists():
        shutil.rmtree(base, ignore_errors=True)
        (base / "imported").mkdir(parents=True)
        print("exporting and importing 100,000 cards into Anki…", file=sys.stderr, flush=True)
        run_once(cards("export", "--with-scheduling", "-o", str(package)), env)
        run_once([PYTHON, str(HERE / "probes.py"), "anki-import", str(package), str(base / "imported")], env)
    return [
        measure(
            ANKI_DUE,
            [PYTHON, str(HERE / "probes.py"), "anki-due", str(anki_collection)],
            env,
            runs,
        )
    ]


def import_benchmarks(runs: int) -> list[Measure]:
    """`cards import` of the 100,000-card package exported with scheduling (about a million reviews).

    Into a collection with the same notes and no history (every answer is new), then the same file
    again (nothing new).
    """
    db = simulated(SIZES[-1])
    env = environment(db, db.parent / "decks", NOW)
    package = WORK / "anki" / "simulated-100000.apkg"
    if not package.exists():
        package.parent.mkdir(parents=True, exist_ok=True)
        run_once(cards("export", "--with-scheduling", "-o", str(package)), env)
    base = WORK / "importing"
    empty = base / "no-history.db"
    if not empty.exists() or empty.stat().st_mtime < db.stat().st_mtime:
        copy_collection(db, empty)
        run_once([PYTHON, str(HERE / "probes.py"), "forget", str(empty)], user_environment())
    target = base / "collection.db"
    import_env = environment(target, db.parent / "decks", NOW)
    output: list[str] = []
    copy_collection(empty, target)
    run_once(cards("import", str(package)), import_env, output=output)
    imported = output[0].split("reviews imported: ")[1].split(";")[0]
    rows = [
        measure(
            f"import 100,000 cards, {int(imported):,} reviews, into a collection without history",
            cards("import", str(package)),
            import_env,
            max(1, runs // 2),
            before_each=lambda: copy_collection(empty, target),
            target="≤ 10 s, ≤ 200 MB",
        ),
        measure(
            "import the same package again (nothing new)",
            cards("import", str(package)),
            import_env,
            runs,
            target="≤ 2 s",
        ),
    ]
    output = []
    run_once(cards("rebuild", "--check"), import_env, output=output)  # exits 1 if any state differs
    rows[0].note = "states identical to the log (rebuild --check)"
    anki_dir = base / "anki"
    anki = measure(
        "anki library: import the same package, with scheduling",
        [PYTHON, str(HERE / "probes.py"), "anki-import", str(package), str(anki_dir)],
        user_environment(),
        1,
        before_each=emptied(anki_dir),
    )
    rows[0].versus = anki.name
    return [*rows, anki]


def export_benchmarks(runs: int) -> list[Measure]:
    """Export of 10,000 notes (the compile benchmark's decks), and genanki alone on the same notes."""
    base = WORK / "compile"
    db, decks = base / "collection.db", base / "decks"
    env = environment(db, decks)
    target = WORK / "exports" / "all.apkg"
    target.parent.mkdir(exist_ok=True)
    anki_dir = WORK / "exports" / "anki"

    rows = [
        *measure_pair(
            ("export, 10,000 notes", cards("export", "-o", str(target))),
            (
                "genanki alone, the same 10,000 notes",
                [PYTHON, str(HERE / "probes.py"), "genanki", str(db), str(WORK / "exports" / "genanki.apkg")],
            ),
            env,
            runs,
            target="≤ 1.3 x genanki",
        ),
        measure(
            "anki library: import our 10,000-note package",
            [PYTHON, str(HERE / "probes.py"), "anki-import", str(target), str(anki_dir)],
            env,
            runs,
            before_each=emptied(anki_dir),
        ),
        measure(
            "anki library: export those 10,000 notes",
            [
                PYTHON,
                str(HERE / "probes.py"),
                "anki-export",
                str(anki_dir / "collection.anki2"),
                str(WORK / "exports" / "anki.apkg"),
            ],
            env,
            runs,
        ),
    ]
    rows[0].versus = rows[-1].name
    return rows


def lint_benchmarks(runs: int) -> list[Measure]:
    """`cards lint` on 10,000 notes (the compile benchmark's decks): the command, and the rules alone."""
    from benchmarks.gendecks import generate
    from flashcards.compiler import check_paths
    from flashcards.lint import lint_notes

    base = WORK / "lint"
    decks = base / "decks"
    if not decks.is_dir():
        generate(decks, 10_000)
    env = environment(base / "collection.db", decks)
    # the generated decks have findings (their reverse cards show their answer), so lint exits 1
    command = ["sh", "-c", '"$0" -m flashcards lint > /dev/null; [ $? -le 1 ]', PYTHON]
    files, _ = check_paths([decks])
    notes = [note for deck_file in files for note in deck_file.notes]
    times = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        findings = lint_notes(notes)
        times.append(time.perf_counter() - started)
    rules = Measure(
        "lint rules alone, 10,000 notes (in process, loading excluded)",
        statistics.median(times[1:]),
        0.0,
        target="≤ 1 s",
        note=f"{len(findings):,} findings",
        separate_process=False,
    )
    return [measure("lint, 10,000 notes (the command: loading and rules)", command, env, runs), rules]


def journal_benchmarks() -> list[Measure]:
    """The review journal at 100,000 cards: the check every command makes, 1,000 new lines, and the
    first merge of another device's 1,000,000-line journal (10 answers a card), inside one process."""
    output: list[str] = []
    _, peak = run_once(
        [PYTHON, str(HERE / "journal_probe.py"), str(WORK / "journal"), "100000", "1000000"],
        user_environment(),
        output=output,
    )
    figures = json.loads(output[0])
    return [
        Measure(
            "journal: start-up check, nothing new, 100,000 cards",
            figures["nothing_new"],
            peak,
            "≤ 5 ms",
            separate_process=False,
        ),
        Measure(
            "journal: take in 1,000 new lines, 100,000 cards",
            figures["thousand_new"],
            peak,
            "≤ 100 ms",
            note="cards merged before: replayed from their marks",
            separate_process=False,
        ),
        Measure(
            "journal: take in 1,000 new lines for cards without marks (undone here since)",
            figures["thousand_unmarked"],
            peak,
            note="no marks: each card's whole history replayed",
            separate_process=False,
        ),
        Measure(
            "journal: first merge of 1,000,000 lines, 100,000 cards",
            figures["first_merge"],
            peak,
            "≤ 10 s",
            separate_process=False,
        ),
    ]


def print_table(results: list[Measure], floor: Measure) -> str:
    """Format the results as a Markdown table and print it."""
    lines = [
        "| benchmark | median wall | ratio to floor | ratio to Anki | peak memory | target | note |",
        "| --- | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    seconds = {row.name: row.seconds for row in results}
    for row in [floor, *results]:
        ms = row.seconds * 1000
        wall = f"{ms:,.0f} ms" if ms >= 10 else f"{ms:.2f} ms"
        ratio = f"{row.seconds / floor.seconds:.1f}" if row.separate_process and floor.seconds else "n/a"
        anki = f"{row.seconds / seconds[row.versus]:.2f}" if seconds.get(row.versus) else ""
        lines.append(
            f"| {row.name} | {wall} | {ratio} | {anki} | {row.peak_mb:.0f} MB | {row.target} | {row.note} |"
        )
    table = "\n".join(lines)
    print(table)
    return table


def main() -> None:
    """Run every benchmark and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="timed runs per benchmark (after one warm-up)")
    parser.add_argument(
        "--only",
        choices=("compile", "export", "collection", "import", "lint", "journal"),
        action="append",
        help="run only these groups of benchmarks (repeatable; default: all)",
    )
    arguments = parser.parse_args()
    groups = arguments.only or ["compile", "export", "collection", "import", "lint", "journal"]
    WORK.mkdir(exist_ok=True)
    print(
        f"{time.strftime('%Y-%m-%d')} · {platform.processor() or platform.machine()} · {os.cpu_count()} cores · Python {platform.python_version()}"
    )
    floor = measure(
        'floor: python -c "import sqlite3"',
        [PYTHON, "-c", "import sqlite3"],
        user_environment(),
        arguments.runs,
    )
    if "compile" not in groups and not (WORK / "compile" / "collection.db").exists():
        groups = ["compile", *groups]  # the export benchmarks export the compiled decks
    runners = {
        "compile": compile_benchmarks,
        "export": export_benchmarks,
        "collection": collection_benchmarks,
        "import": import_benchmarks,
        "lint": lint_benchmarks,
        "journal": lambda runs: journal_benchmarks(),
    }
    results = [row for group in groups for row in runners[group](arguments.runs)]
    print_table(results, floor)


if __name__ == "__main__":
    main()
