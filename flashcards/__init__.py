"""cards: plain-text, git-friendly spaced repetition."""

__version__ = "0.1.0"
