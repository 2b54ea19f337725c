"""The simulated learner before an interview: recall on the day and reviews, with and without a date.

Prints the table of the README's "Preparing for an interview": for each scenario and seed, the
learner of :func:`flashcards.simulate.prepare` studies with ``interview_date`` (retention 0.9),
with ``desired_retention = 0.95`` and no date, and with the defaults.

    .venv/bin/python -m benchmarks.interview --seeds 40
"""

from __future__ import annotations

import argparse
import statistics
from datetime import UTC, datetime, timedelta

from flashcards.settings import DeckSettings
from flashcards.simulate import prepare

START = datetime(2026, 12, 1, 9, tzinfo=UTC)
SCENARIOS = ((143, 14), (140, 21))  # cards, days to the interview
TARGET = 0.9


def main() -> None:
    """Run every scenario over the seeds and print one row per variant."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=40, help="learners per scenario (seeds 0..N-1)")
    seeds = range(parser.parse_args().seeds)
    print("| | reviews (mean) | seeds with a card below 0.9 | cards below 0.9 (mean) | lowest recall |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for cards, days in SCENARIOS:
        day = (START + timedelta(days=days)).date()
        variants = {
            f"{cards} cards, interview in {days} days: `interview_date`, retention 0.9": DeckSettings(
                interview_date=day
            ),
            "... `desired_retention = 0.95`, no date": DeckSettings(desired_retention=0.95),
            "... `desired_retention = 0.9`, no date": DeckSettings(),
        }
        for name, settings in variants.items():
            runs = [prepare(cards, days, settings, start=START, seed=seed) for seed in seeds]
            reviews = statistics.mean(run.reviews for run in runs)
            failing = sum(run.below(TARGET) > 0 for run in runs)
            below = statistics.mean(run.below(TARGET) for run in runs)
            lowest = min(run.lowest for run in runs)
            print(f"| {name} | {reviews:.0f} | {failing} / {len(runs)} | {below:.2f} | {lowest:.3f} |")


if __name__ == "__main__":
    main()
