"""``cards unsuspend ID...``: put suspended cards, leeches too, back into the review queue."""

from __future__ import annotations

from flashcards.cli.suspend import suspension_command

command = suspension_command(suspend=False)
