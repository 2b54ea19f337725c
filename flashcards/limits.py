"""Daily limits: how many new cards and reviews a deck may still show today.

The review log says what was done today; the top-level limits cap the whole collection, and a
configured deck's limits cap every deck inside it, whichever deck is reviewed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flashcards import clock
from flashcards.database import Database
from flashcards.decks import in_deck
from flashcards.settings import Settings
from flashcards.states import ANSWERS, State, sql_list

UNLIMITED = 1 << 62


@dataclass(frozen=True)
class Cap:
    """The daily limits of one scope: a configured deck, or (``deck`` None) the collection.

    As in Anki, new cards count against the review limit too (``reviews_include_new``), unless
    ``new_cards_ignore_review_limit`` is set.
    """

    deck: str | None
    new: int
    review: int
    reviews_include_new: bool = True


def caps_for(settings: Settings, deck: str | None) -> list[Cap]:
    """The limits that apply when reviewing ``deck``.

    The top-level limits (the whole collection), each configured deck around ``deck``, the
    limits ``deck`` has (its own or inherited), and each configured deck inside it.
    """
    top = settings.for_deck(None)
    include = not top.new_cards_ignore_review_limit
    caps: dict[str | None, Cap] = {None: Cap(None, top.new_per_day, top.reviews_per_day, include)}
    around = [name for name in settings.configured_decks() if deck is not None and in_deck(deck, name)]
    inside = [name for name in settings.configured_decks() if name != deck and in_deck(name, deck)]
    for name in [*around, *([deck] if deck is not None else []), *inside]:
        own = settings.for_deck(name)
        caps[name] = Cap(name, own.new_per_day, own.reviews_per_day, include)
    return list(caps.values())


def done_today(db: Database, settings: Settings, now: datetime) -> dict[str, Counter[str]]:
    """New cards and reviews answered today, per deck, from the log.

    As in Anki, an answer to a card on an interday learning step (its previous answer made it due
    on a day) counts as a review.
    """
    hour = settings.day_start_hour
    start = clock.day_start(clock.study_day(now, hour), hour)
    done: dict[str, Counter[str]] = {"new": Counter(), "review": Counter()}
    interday = (
        f"(r.state_before IN {sql_list(State.LEARNING, State.RELEARNING)} AND (SELECT p.due_day FROM reviews p "
        f"WHERE p.card_id = r.card_id AND p.{ANSWERS} AND (p.reviewed_at, p.id) < (r.reviewed_at, r.id) "
        "ORDER BY p.reviewed_at DESC, p.id DESC LIMIT 1) IS NOT NULL)"
    )
    rows = db.execute(
        f"SELECT c.deck, sum(r.state_before = ?), sum(r.state_before = ? OR {interday}) FROM reviews r "
        f"JOIN cards c ON c.id = r.card_id WHERE r.reviewed_at >= ? AND r.{ANSWERS} GROUP BY c.deck",
        [State.NEW, State.REVIEW, clock.to_db(start)],
    )
    for deck, new, review in rows:
        done["new"][deck] += new
        done["review"][deck] += review
    return done


def remaining(cap: Cap, kind: str, done: dict[str, Counter[str]]) -> int:
    """What is left of a cap's limit of ``kind`` ("new" or "review") after what was done today.

    New cards done today count against the review limit too, and the new cards left are never
    more than the reviews left, unless the cap says new cards ignore the review limit.
    """

    def used(of: str) -> int:
        return sum(n for deck, n in done[of].items() if in_deck(deck, cap.deck))

    reviews = cap.review - used("review") - (used("new") if cap.reviews_include_new else 0)
    if kind == "review":
        return max(0, reviews)
    new = cap.new - used("new")
    return max(0, min(new, reviews) if cap.reviews_include_new else new)


def new_after_reviews(cap: Cap, done: dict[str, Counter[str]], reviews: int) -> int:
    """The new cards the review limit leaves once ``reviews`` due reviews are shown (Anki's rule)."""
    if not cap.reviews_include_new:
        return UNLIMITED
    return max(0, remaining(cap, "review", done) - reviews)


def capped_count(
    caps: list[Cap], done: dict[str, Counter[str]], kind: str, count: Callable[[str | None, int | None], int]
) -> int:
    """Cards of ``kind`` available today, every cap applied to all the cards under it.

    ``count(deck, limit)`` counts the candidates in ``deck`` (None: the whole scope), stopping
    at ``limit`` when it is not None. Decks nest, so the most a session can show is, from the
    innermost cap out: the smaller of the cap's remaining limit and what its cards and inner
    caps allow; a session taking cards in any order reaches that number.
    """

    def parent(cap: Cap) -> Cap | None:
        outer = [o for o in caps if o is not cap and o.deck != cap.deck and in_deck(str(cap.deck), o.deck)]
        return max(outer, key=lambda o: len(o.deck or ""), default=None)

    children: dict[str | None, list[Cap]] = {}
    for cap in caps[1:]:  # caps[0] encloses all the others
        above = parent(cap)
        children.setdefault(caps[0].deck if above is None else above.deck, []).append(cap)

    def allowed(cap: Cap, within: int | None) -> int:
        left = remaining(cap, kind, done)
        limit = left if within is None else min(left, within)
        inner = children.get(cap.deck, [])
        if not inner:
            return count(cap.deck, limit)
        here = count(cap.deck, None) - sum(count(c.deck, None) for c in inner)
        return min(limit, here + sum(allowed(c, limit) for c in inner))

    return allowed(caps[0], None)
