"""Benchmarks: wall time (median of several runs) and peak memory of `cards` commands.

Run with `make bench` (or `python benchmarks/run.py`). Collections are generated under
benchmarks/work/ (git-ignored) through the project's own scheduling, then every command runs as a
separate process, as a user would start it. Figures are printed as a table and as ratios to a
floor (`python -c "import sqlite3"`), since machines are noisy.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
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


@dataclass
class Measure:
    """One row of the results table."""

    name: str
    seconds: float
    peak_mb: float
    target: str = ""
    note: str = ""


def run_once(argv: list[str], env: dict[str, str], stdin: str | None = None) -> tuple[float, float]:
    """Run a command once; return its wall time in seconds and its peak RSS in MB."""
    started = time.perf_counter()
    process = subprocess.Popen(
        argv,
        env=env,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    if stdin is not None:
        assert process.stdin is not None
        process.stdin.write(stdin.encode())
        process.stdin.close()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        error = process.stderr.read().decode() if process.stderr else ""
        raise SystemExit(f"{' '.join(argv)} failed ({process.returncode}): {error}")
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


def cards(*args: str) -> list[str]:
    """Argv running the project's command line with this interpreter."""
    return [PYTHON, "-m", "flashcards", *args]


def environment(db: Path, decks: Path, now: str | None = None) -> dict[str, str]:
    """The process environment for a benchmark run."""
    env = dict(os.environ)
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

    results = [
        measure(
            "compile from scratch, 10,000 notes",
            cards("compile"),
            env,
            runs,
            before_each=fresh,
            target="≤ 1.5 s",
        )
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


def print_table(results: list[Measure], floor: Measure) -> str:
    """Format the results as a Markdown table and print it."""
    lines = [
        "| benchmark | median wall | ratio to floor | peak memory | target |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for row in [floor, *results]:
        ratio = row.seconds / floor.seconds if floor.seconds else 0
        lines.append(
            f"| {row.name} | {row.seconds * 1000:,.0f} ms | {ratio:.1f} | {row.peak_mb:.0f} MB | {row.target} |"
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
    arguments = parser.parse_args()
    WORK.mkdir(exist_ok=True)
    print(
        f"{time.strftime('%Y-%m-%d')} · {platform.processor() or platform.machine()} · {os.cpu_count()} cores · Python {platform.python_version()}"
    )
    floor = measure(
        'floor: python -c "import sqlite3"',
        [PYTHON, "-c", "import sqlite3"],
        dict(os.environ),
        arguments.runs,
    )
    results = compile_benchmarks(arguments.runs)
    print_table(results, floor)


if __name__ == "__main__":
    main()
