"""Ctrl-C for a command that waits on the user's terminal, even one started ignoring it."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def interruptible(terminal: bool) -> Iterator[None]:
    """Around a wait on a terminal: a command started by something that ignores interrupts (a
    background job, a launcher) takes Ctrl-C as KeyboardInterrupt while inside, as it was after."""
    ignored = terminal and signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    if ignored:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        if ignored:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
