"""The queue of a cram pass (``cards review --cram``): studied cards, weakest first, whatever is due.

The order is fixed when the pass starts (:func:`flashcards.interview.cram_order`: the lowest
predicted recall on the interview day first). Each card is shown once; its answer is a cram
answer (:func:`flashcards.scheduler.cram`), which changes nothing about the card.
"""

from __future__ import annotations

from datetime import datetime

from flashcards.database import Database
from flashcards.interview import cram_order
from flashcards.queue import Counts, QueuedCard, ReviewQueue
from flashcards.settings import Settings


class CramQueue(ReviewQueue):
    """A cram pass over ``deck`` (None: every deck), at most ``limit`` cards."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        deck: str | None,
        limit: int | None,
        now: datetime,
    ) -> None:
        super().__init__(db, settings, deck, None, limit)
        self.order = cram_order(db, settings, deck, now, limit)
        self.total = len(self.order)

    def next(self, now: datetime) -> QueuedCard | None:
        """The next card of the pass still active (not suspended or retired since it started)."""
        while self.order:
            found = self.find(self.order[0], now)
            if found is not None:
                return found
            self.order.pop(0)
        return None

    def counts(self, now: datetime) -> Counts:
        """The cards left in the pass, as reviews."""
        return Counts(0, 0, len(self.order))

    def next_learning_due(self, now: datetime) -> datetime | None:
        """A pass never waits for learning steps."""
        return None

    def record(self, kind: str) -> None:
        """The card on screen was answered: the pass moves on."""
        if self.order:
            self.order.pop(0)

    def requeue(self, card_id: str) -> None:
        """An undone answer: its card is next again."""
        self.order.insert(0, card_id)
