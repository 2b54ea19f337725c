"""``cards show``: one card with its note, source location and history."""

from __future__ import annotations

from typing import Any

import click

from flashcards.cli import Env, pass_env
from flashcards.listing import card_detail
from flashcards.states import Rating
from flashcards.textsafe import json_text, visible


@click.command(name="show")
@click.argument("card_id", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="Print the card as JSON.")
@pass_env
def command(env: Env, card_id: str, as_json: bool) -> None:
    """Show card ID (or a unique prefix of it): its text, source, FSRS state and reviews."""
    card = card_detail(env.collection(as_last_compiled=True).db, card_id, env.decks_dir)
    if as_json:
        click.echo(json_text(card))
        return
    click.echo(visible(_render(card)))


def _render(card: dict[str, Any]) -> str:
    flags = [name for name in ("retired", "suspended", "leech") if card[name]]
    lines = [
        f"{card['id']}" + (f"  [{', '.join(flags)}]" if flags else ""),
        f"  deck    {card['deck']}",
        f"  source  {card['source']}",
        f"  note    {card['note_id']} ({card['note_type']}, card '{card['template']}')"
        + (f"  tags: {' '.join(card['tags'])}" if card["tags"] else ""),
        f"  state   {card['state']}",
    ]
    if card["due"]:
        lines.append(
            f"  due     {card['due'][:16].replace('T', ' ')} UTC · stability {card['stability']:.2f} d"
            f" · difficulty {card['difficulty']:.2f} · {_count(card['reps'], 'review')}, {_count(card['lapses'], 'lapse')}"
        )
    lines += ["", "Front", _indent(card["front"]), "", "Back", _indent(card["back"]), ""]
    if card["reviews"]:
        lines.append("History")
        for review in card["reviews"]:
            extra = ""
            if "points" in review:
                extra += f"  {len(review['ticked'])}/{review['points']} points"
            if review["cram"]:
                extra += "  (cram: schedule unchanged)"
            lines.append(
                f"  {review['reviewed_at'][:16].replace('T', ' ')}  {Rating(review['rating']).label:<5}"
                f"  {review['duration_ms'] / 1000:5.1f} s  → due {review['due'][:16].replace('T', ' ')}{extra}"
            )
    else:
        lines.append("No reviews yet.")
    for moved in card["rescheduled"]:
        lines.append(
            f"  {moved['reviewed_at'][:16].replace('T', ' ')}  brought forward (a rehearsal missed a point)"
            f"  → due {moved['due'][:16].replace('T', ' ')}"
        )
    return "\n".join(lines)


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" if line else "" for line in text.splitlines())


def _count(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
