"""The review session on the terminal: read single keys, draw the screen, tell the controller.

Everything a session decides (which card, its choices, answer, undo, bury, recompile after an
edit, waiting) is :class:`flashcards.controller.ReviewController`'s; this module only reads keys
and draws. On a terminal, keys are read one at a time without Enter (cbreak mode, restored on
every exit path). When standard input is not a terminal, the same keys are read one per line (an
empty line reveals), so a session can be scripted.
"""

from __future__ import annotations

import os
import select
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from flashcards import clock
from flashcards.interrupts import interruptible
from flashcards.states import Rating
from flashcards.textsafe import visible

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

    from flashcards.answers import Segments
    from flashcards.controller import ReviewController
    from flashcards.queue import QueuedCard
    from flashcards.rehearsal import Rehearsal

RATING_STYLES = {Rating.AGAIN: "red", Rating.HARD: "yellow", Rating.GOOD: "green", Rating.EASY: "blue"}
RATING_KEYS = {str(int(rating)): rating for rating in Rating}
REVEAL_KEYS = (" ", "\n", "\r")
QUIT_KEYS = ("q", "\x03", "\x04")
HELP = [
    ("Space, Enter", "show the answer (on a rehearsal, once its points are shown: grade it)"),
    ("1-9", "on a rehearsal: tick the points you made"),
    ("1 2 3 4", "Again, Hard, Good, Easy (after the answer is shown)"),
    ("u", "undo the last answer"),
    ("h", "show the card's hint (before the answer)"),
    ("t", "type the answer, when the card asks for one"),
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
    """One review session on the terminal: a controller, a place to draw, a source of keys."""

    controller: ReviewController
    console: Console
    keys: Keys
    message: str = ""

    def run(self) -> None:
        """Show cards until nothing is due, the user quits, or input ends."""
        try:
            with interruptible(self.keys.terminal), self.keys.active():  # Ctrl-C quits
                self._loop()
        except KeyboardInterrupt:
            pass

    def _loop(self) -> None:
        while True:
            card = self.controller.card()
            if card is None:
                if not self._offer_wait():
                    return
                continue
            self._draw(card)
            if (
                not self.controller.revealed
                and self.controller.typed is None
                and self.controller.extras().typed is not None
            ):
                typed = self._read_typed()
                if typed is None:
                    return
                if typed:
                    self.controller.type_answer(typed)
                    continue
                self.controller.typed = ""  # nothing typed: the keys as for any card
            timing = self.keys.terminal and controller_times(self.controller)
            key = self.keys.read(timeout=1.0 if timing else None)
            if key is None:  # a second passed: redraw the running timer
                continue
            if timing:
                self.message = ""  # kept through the timer's redraws until a key is pressed
            if key in QUIT_KEYS:
                return
            self._act(key)

    def _read_typed(self) -> str | None:
        """Read the answer typed for the card on screen, a line (None at the end of input)."""
        from rich.text import Text

        self.console.print(
            Text(
                "Type the answer, then Enter (Enter alone: the keys as usual, t to type again):", style="dim"
            )
        )
        with self.keys.suspended():
            line = self.keys.stream.readline()
        if not line:
            return None
        return line.rstrip("\r\n")

    def _act(self, key: str | None) -> None:
        """Tell the controller what the key means."""
        controller = self.controller
        if key in REVEAL_KEYS and not controller.revealed:
            controller.reveal()
        elif controller.rehearsal is not None and key in REVEAL_KEYS:
            self.message = controller.commit().message
        elif controller.rehearsal is not None and key is not None and key.isdigit():
            self.message = controller.tick(int(key)).message
        elif key in RATING_KEYS:
            self.message = controller.rate(RATING_KEYS[key]).message
        elif key == "u":
            self.message = controller.undo().message
        elif key == "h" and not controller.revealed:
            self.message = controller.hint().message
        elif key == "t" and not controller.revealed and controller.extras().typed is not None:
            typed = self._read_typed()
            if typed:
                controller.type_answer(typed)
        elif key == "s":
            self.message = controller.bury().message
        elif key == "e":
            self._edit()
        elif key == "?":
            self._help()

    def _offer_wait(self) -> bool:
        """When only future learning cards remain, offer to wait for the next one; False to stop."""
        from rich.text import Text

        controller = self.controller
        due = controller.next_learning_due()
        if due is None:
            return False
        if self.keys.terminal:
            self.console.clear()
        if self.message:
            self.console.print(Text(visible(self.message), style="dim italic"))
            self.message = ""
        self.console.print(
            f"\nNothing else is due now. Next learning card in {clock.wait_text(due - controller.clock())}. "
            "[bold]w[/] wait for it, [bold]q[/] stop."
        )
        while True:
            key = self.keys.read()
            if key in QUIT_KEYS:
                return False
            if key == "w":
                break
        due = controller.wait_for_learning()
        if due is None:
            return True
        if not self.keys.terminal:
            time.sleep(max(0.0, (due - controller.clock()).total_seconds()))
            return True
        while controller.clock() < due:
            left = due - controller.clock()
            self.console.file.write(f"\rWaiting {clock.wait_text(left)}  (q stops)   ")
            self.console.file.flush()
            if self.keys.read(timeout=min(1.0, max(0.05, left.total_seconds()))) in QUIT_KEYS:
                return False
        return True

    def _print_markdown(self, text: str) -> None:
        """Render Markdown (control characters made visible first); when scripted, without padding."""
        from flashcards.render_text import terminal

        text = visible(text)
        if self.keys.terminal:
            self.console.print(terminal(text))
            return
        with self.console.capture() as captured:
            self.console.print(terminal(text))
        lines = [line.rstrip() for line in captured.get().splitlines()]
        self.console.file.write("\n".join(lines) + "\n")

    def _draw(self, card: QueuedCard) -> None:
        from rich.rule import Rule
        from rich.text import Text

        console, controller = self.console, self.controller
        counts = controller.counts()
        if self.keys.terminal:
            console.clear()
        header = Text()
        header.append(visible(card.deck), style="bold")
        header.append("    ")
        if controller.cram:
            header.append(f"cram · {counts.review} left · the schedule is unchanged", style="magenta")
        for label, value, style, kind in (
            ("new", counts.new, "blue", "new"),
            ("learning", counts.learning, "red", "learning"),
            ("review", counts.review, "green", "review"),
        )[: 0 if controller.cram else 3]:
            header.append(f"{value} {label}", style=f"{style} underline" if card.kind == kind else style)
            if kind != "review":
                header.append(" · ", style="dim")
        console.print(header)
        if self.message:
            console.print(Text(visible(self.message), style="dim italic"))
            if not (self.keys.terminal and controller_times(controller)):
                self.message = ""
        console.print()
        self._print_markdown(card.front)
        if controller.rehearsal is not None:
            self._draw_rehearsal(controller.rehearsal)
            return
        if not controller.revealed:
            console.print()
            console.print(Text("Space/Enter: show answer    ?: keys    q: quit", style="dim"))
            return
        console.print(Rule(style="dim"))
        self._print_markdown(card.back)
        comparison = controller.comparison()
        if comparison is not None:
            console.print()
            console.print(_segments(comparison[0]))
            if comparison[1]:
                console.print(Text("↓", style="dim"))
                console.print(_segments(comparison[1]))
        console.print()
        buttons = Text()
        for choice in controller.choices():
            buttons.append(f"{int(choice.rating)} ", style="bold")
            buttons.append(choice.rating.label, style=RATING_STYLES[choice.rating])
            if choice.label:
                buttons.append(f" {choice.label}", style="dim")
            if choice.rating != Rating.EASY:
                buttons.append("    ")
        console.print(buttons)

    def _draw_rehearsal(self, rehearsal: Rehearsal) -> None:
        """The timer against the target; once revealed, the checklist and the rating it gives."""
        from rich.rule import Rule
        from rich.text import Text

        console, controller = self.console, self.controller
        spoken = controller.speaking_seconds()
        target = rehearsal.target_seconds
        timer = Text()
        timer.append("Time ", style="dim")
        over = target is not None and spoken > target
        timer.append(_clock(spoken), style="bold red" if over else "bold")
        if target is not None:
            timer.append(f" / {_clock(target)}", style="dim")
            if over:
                timer.append("  over time", style="red")
        console.print()
        console.print(timer)
        if not controller.revealed:
            console.print()
            console.print(Text("Answer aloud, then Space/Enter: show the points    q: quit", style="dim"))
            return
        console.print(Rule(style="dim"))
        for number, point in enumerate(rehearsal.points, start=1):
            line = Text()
            ticked = number in controller.ticked
            line.append("[x] " if ticked else "[ ] ", style="green" if ticked else "dim")
            line.append(f"{number}. ", style="bold")
            line.append(visible(point), style="" if ticked else "dim")
            console.print(line)
        rating = controller.rehearsal_rating()
        made = len(controller.ticked)
        summary = Text()
        summary.append(f"\n{made}/{len(rehearsal.points)} points, {_clock(spoken)}")
        if target is not None:
            summary.append(f" of {_clock(target)}")
        summary.append(" → ")
        summary.append(rating.label, style=f"bold {RATING_STYLES[rating]}")
        console.print(summary)
        console.print(
            Text(
                f"1-{len(rehearsal.points)}: tick a point    Enter: grade {rating.label}    u: undo    q: quit",
                style="dim",
            )
        )

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

    def _edit(self) -> None:
        """Open the card's YAML at its line in $EDITOR (no shell involved), then have it recompiled."""
        editor = os.environ.get("EDITOR") or os.environ.get("VISUAL") or "vi"
        path, line = self.controller.source()  # absolute: a file name is never read as an option
        with self.keys.suspended():
            try:
                subprocess.run([*shlex.split(editor), f"+{line}", str(path)], check=False)
            except OSError as error:
                self.message = f"Cannot run the editor {editor!r}: {error.strerror}"
                return
            except ValueError as error:  # shlex: an unbalanced quote in $EDITOR
                self.message = f"Cannot run the editor {editor!r}: {error}; check $EDITOR"
                return
        self.message = self.controller.edited().message


def controller_times(controller: ReviewController) -> bool:
    """Whether the card on screen shows a running timer (a rehearsal not yet revealed)."""
    return controller.rehearsal is not None and not controller.revealed


def _clock(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}:{rest:02d}"


def print_summary(session: Session) -> None:
    """Print what the session did and what comes next."""
    from rich.text import Text

    controller, console = session.controller, session.console
    summary, now = controller.summary, controller.clock()
    if session.keys.terminal:
        console.clear()
    if session.message:
        console.print(Text(visible(session.message)))
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
        console.print(Text(visible(f"Leech suspended: {card_id}")))
    left = controller.counts()
    if controller.cram:
        console.print(
            f"Cram pass: {left.review} card{'s' if left.review != 1 else ''} left; no schedule changed."
        )
        return
    if left.total:
        console.print(f"Still due today: {left.new} new · {left.learning} learning · {left.review} review.")
    console.print(f"Due tomorrow: {controller.due_tomorrow()}.")
    due = controller.next_learning_due()
    if due is not None:
        local = due.astimezone().strftime("%H:%M")
        console.print(f"Next learning card at {local} (in {clock.wait_text(due - now)}).")


def default_console() -> Console:
    """A console on standard output."""
    from rich.console import Console

    return Console(file=sys.stdout, highlight=False)


_SEGMENT_STYLES = {"good": "green", "bad": "red", "missing": "dim"}


def _segments(segments: Segments) -> Text:
    """A compared answer in Anki's colours: right parts green, wrong red, missing grey."""
    from rich.text import Text

    line = Text()
    for text, kind in segments:
        line.append(visible(text), style=_SEGMENT_STYLES[kind])
    return line
