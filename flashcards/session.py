"""The review session on the terminal: draw the card, read single keys, act on the queue.

On a terminal, keys are read one at a time without Enter (cbreak mode, restored on every
exit path). When standard input is not a terminal, the same keys are read one per line (an
empty line reveals), so a session can be scripted.
"""

from __future__ import annotations

import os
import select
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING

from flashcards import clock, scheduler
from flashcards.browse import RATING_NAMES
from flashcards.errors import CardsError, SourceError
from flashcards.queue import QueuedCard, ReviewQueue

if TYPE_CHECKING:
    from rich.console import Console

RATING_STYLES = {1: "red", 2: "yellow", 3: "green", 4: "blue"}
HELP = [
    ("Space, Enter", "show the answer"),
    ("1 2 3 4", "Again, Hard, Good, Easy (after the answer is shown)"),
    ("u", "undo the last answer"),
    ("s", "bury this card until tomorrow"),
    ("e", "edit this card's YAML in $EDITOR, then recompile"),
    ("?", "show these keys"),
    ("q, Ctrl-C", "quit"),
]
QUIT = "q"


class Keys:
    """Single keystrokes from a terminal, or one key per line from a pipe or file."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.terminal = stream.isatty()
        self._pending = ""

    @contextmanager
    def active(self) -> Iterator[None]:
        """Put the terminal in cbreak mode (no echo, no Enter needed) and always restore it."""
        if not self.terminal:
            yield
            return
        import termios
        import tty

        fd = self.stream.fileno()
        saved = termios.tcgetattr(fd)
        try:
            tty.setcbreak(fd)
            yield
        finally:
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)

    @contextmanager
    def suspended(self) -> Iterator[None]:
        """Give the terminal back in its normal mode for a while (e.g. to run an editor)."""
        if not self.terminal:
            yield
            return
        import termios

        fd = self.stream.fileno()
        current = termios.tcgetattr(fd)
        saved = list(current)
        saved[3] |= termios.ICANON | termios.ECHO
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        try:
            yield
        finally:
            termios.tcsetattr(fd, termios.TCSADRAIN, current)

    def read(self, timeout: float | None = None) -> str | None:
        """Return the next key (``q`` at end of input), or None when ``timeout`` seconds pass."""
        if not self.terminal:
            line = self.stream.readline()
            if not line:
                return QUIT
            stripped = line.strip()
            return stripped[0] if stripped else " "
        if not self._pending:
            if timeout is not None:
                ready, _, _ = select.select([self.stream], [], [], timeout)
                if not ready:
                    return None
            data = os.read(self.stream.fileno(), 64).decode("utf-8", "replace")
            if not data:
                return QUIT
            # keys typed quickly arrive together: keep them; drop escape sequences (arrows etc.)
            if data.startswith("\x1b") and len(data) > 1:
                return ""
            self._pending = data
        key, self._pending = self._pending[0], self._pending[1:]
        return key


@dataclass
class Session:
    """One review session: a queue, a place to draw, a source of keys."""

    queue: ReviewQueue
    console: Console
    keys: Keys
    decks_dir: Path
    now: Callable[[], datetime] = clock.now
    _offset: timedelta = timedelta(0)
    message: str = ""

    def clock(self) -> datetime:
        """The session's current instant (moved forward when waiting under a fixed $CARDS_NOW)."""
        return self.now() + self._offset

    def run(self) -> None:
        """Show cards until nothing is due, the user quits, or input ends."""
        try:
            with self.keys.active():
                self._loop()
        except KeyboardInterrupt:
            pass

    def _loop(self) -> None:
        while True:
            now = self.clock()
            card = self.queue.next(now)
            if card is None:
                if not self._offer_wait(now):
                    return
                continue
            if not self._show(card):
                return

    def _show(self, card: QueuedCard) -> bool:
        """Run one card from front to answer; return False when the user quits."""
        shown_at = time.monotonic()
        revealed = False
        while True:
            self._draw(card, revealed)
            key = self.keys.read()
            if key in (QUIT, "\x03", "\x04"):
                return False
            if key in (" ", "\n", "\r") and not revealed:
                revealed = True
            elif key in ("1", "2", "3", "4") and revealed:
                elapsed_ms = int((time.monotonic() - shown_at) * 1000)
                done = self.queue.answer(card, int(key), self.clock(), elapsed_ms)
                self.message = f"{RATING_NAMES[int(key)]}: next in {self._interval_text(done)}"
                if done.leech:
                    self.message = (
                        f"This card is a leech ({done.after.lapses} lapses): it is suspended "
                        "until you rework it."
                    )
                return True
            elif key == "u":
                try:
                    undone = self.queue.undo()
                except CardsError as error:
                    self.message = str(error)
                    return True
                self.message = f"Undid the answer to {undone.id}." if undone else "Nothing to undo."
                return True
            elif key == "s":
                self.queue.bury(card, self.clock())
                self.message = "Buried until tomorrow."
                return True
            elif key == "e":
                self._edit(card)
                return True
            elif key == "?":
                self._help()
            elif key in ("1", "2", "3", "4"):
                self.message = "Show the answer first (Space or Enter)."

    def _offer_wait(self, now: datetime) -> bool:
        """When only future learning cards remain, offer to wait for the next one; False to stop."""
        due = self.queue.next_learning_due(now)
        if due is None:
            return False
        fixed = bool(os.environ.get(clock.NOW_VARIABLE))
        if self.keys.terminal:
            self.console.clear()
        if self.message:
            self.console.print(self.message, style="dim italic")
            self.message = ""
        self.console.print(
            f"\nNothing else is due now. Next learning card in {wait_text(due - now)}. [bold]w[/] wait for it, [bold]q[/] stop."
        )
        while True:
            key = self.keys.read()
            if key in (QUIT, "\x03", "\x04"):
                return False
            if key == "w":
                break
        if fixed:
            self._offset += due - self.clock()
            return True
        if not self.keys.terminal:
            time.sleep(max(0.0, (due - self.clock()).total_seconds()))
            return True
        while self.clock() < due:
            left = due - self.clock()
            self.console.file.write(f"\rWaiting {wait_text(left)}  (q stops)   ")
            self.console.file.flush()
            if self.keys.read(timeout=min(1.0, max(0.05, left.total_seconds()))) in (QUIT, "\x03"):
                return False
        return True

    def _interval_text(self, done: scheduler.Answer) -> str:
        assert done.after.due is not None
        return scheduler.format_interval(done.after.due - done.reviewed_at)

    def _print_markdown(self, text: str) -> None:
        """Render Markdown; when scripted, without the padding rich adds up to the line width."""
        from rich.markdown import Markdown

        if self.keys.terminal:
            self.console.print(Markdown(text))
            return
        with self.console.capture() as captured:
            self.console.print(Markdown(text))
        lines = [line.rstrip() for line in captured.get().splitlines()]
        self.console.file.write("\n".join(lines) + "\n")

    def _draw(self, card: QueuedCard, revealed: bool) -> None:
        from rich.rule import Rule
        from rich.text import Text

        console = self.console
        now = self.clock()
        counts = self.queue.counts(now)
        if self.keys.terminal:
            console.clear()
        header = Text()
        header.append(card.deck, style="bold")
        header.append("    ")
        for label, value, style, kind in (
            ("new", counts.new, "blue", "new"),
            ("learning", counts.learning, "red", "learning"),
            ("review", counts.review, "green", "review"),
        ):
            header.append(f"{value} {label}", style=f"{style} underline" if card.kind == kind else style)
            if kind != "review":
                header.append(" · ", style="dim")
        console.print(header)
        if self.message:
            console.print(Text(self.message, style="dim italic"))
            self.message = ""
        console.print()
        self._print_markdown(card.front)
        if not revealed:
            console.print()
            console.print(Text("Space/Enter: show answer    ?: keys    q: quit", style="dim"))
            return
        console.print(Rule(style="dim"))
        self._print_markdown(card.back)
        console.print()
        state = scheduler.read_state(self.queue.db, card.id)
        intervals = scheduler.preview(self.queue.settings.for_deck(card.deck), state, now, card.id)
        buttons = Text()
        for rating, name in RATING_NAMES.items():
            buttons.append(f"{rating} ", style="bold")
            buttons.append(name, style=RATING_STYLES[rating])
            buttons.append(f" {scheduler.format_interval(intervals[rating])}", style="dim")
            if rating != scheduler.EASY:
                buttons.append("    ")
        console.print(buttons)

    def _help(self) -> None:
        from rich.table import Table

        table = Table(show_header=False, box=None)
        for key, meaning in HELP:
            table.add_row(f"[bold]{key}[/]", meaning)
        if self.keys.terminal:
            self.console.clear()
        self.console.print(table)
        self.console.print("\n[dim]Press any key to go back.[/]")
        if self.keys.read() == "\x03":
            raise KeyboardInterrupt

    def _edit(self, card: QueuedCard) -> None:
        """Open the card's YAML at its line in $EDITOR, then recompile the decks."""
        from flashcards.compiler import compile_decks

        editor = os.environ.get("EDITOR") or os.environ.get("VISUAL") or "vi"
        path = self.decks_dir / card.source_file
        with self.keys.suspended():
            try:
                subprocess.run([*shlex.split(editor), f"+{card.source_line}", str(path)], check=False)
            except OSError as error:
                self.message = f"Cannot run the editor {editor!r}: {error.strerror}"
                return
        try:
            result = compile_decks(self.queue.db, self.decks_dir, self.clock())
        except SourceError as error:
            self.message = "Not recompiled, fix these first:\n" + "\n".join(map(str, error.problems))
            return
        self.message = "Recompiled." if result.changed else "No change."


def wait_text(delta: timedelta) -> str:
    """Say how long until something, e.g. ``8m 20s``."""
    seconds = max(0, int(delta.total_seconds()))
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"


def print_summary(session: Session) -> None:
    """Print what the session did and what comes next."""
    queue, console = session.queue, session.console
    summary, now = queue.summary, session.clock()
    if session.keys.terminal:
        console.clear()
    if session.message:
        console.print(session.message)
    if summary.answered == 0:
        console.print("No cards reviewed.")
    else:
        minutes, seconds = divmod(summary.duration_ms // 1000, 60)
        retention = "—" if summary.retention is None else f"{summary.retention:.0%}"
        console.print(
            f"Reviewed {summary.answered} card{'s' if summary.answered != 1 else ''}, "
            f"{summary.again} Again; retention {retention}; time {minutes}m {seconds:02d}s."
        )
    for card_id in summary.leeches:
        console.print(f"Leech suspended: {card_id}")
    left = queue.counts(now)
    if left.total:
        console.print(f"Still due today: {left.new} new · {left.learning} learning · {left.review} review.")
    console.print(f"Due tomorrow: {queue.due_tomorrow(now)}.")
    due = queue.next_learning_due(now)
    if due is not None:
        local = due.astimezone().strftime("%H:%M")
        console.print(f"Next learning card at {local} (in {wait_text(due - now)}).")


def default_console() -> Console:
    """A console on standard output."""
    from rich.console import Console

    return Console(file=sys.stdout, highlight=False)
