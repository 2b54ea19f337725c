"""A progress bar on standard error, for the few commands that can run for long."""

from __future__ import annotations

import sys
from typing import Any

import click


class Progress:
    """``progress(done, total)`` as the library calls it, drawn as a bar on standard error.

    Shown only on a terminal and when ``total`` reaches ``minimum`` (a small job ends before a
    bar would help); leaving the ``with`` block (or :meth:`close`) ends the bar's line.
    """

    def __init__(self, label: str, minimum: int) -> None:
        self.label = label
        self.minimum = minimum
        self.bar: Any = None
        self.shown = 0

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            if total < self.minimum or not sys.stderr.isatty():
                return
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.shown)
        self.shown = done

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None
