"""The review journal: two machines' answers merged through git, faults in journal files, crashes."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from flashcards.cli import cli

DECK = "deck: Basics\nnotes:\n" + "".join(
    f"  - id: n{i}\n    front: question {i}\n    back: answer {i}\n" for i in range(1, 6)
)
CARDS = [f"n{i}/card" for i in range(1, 6)]


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout


class Machine:
    """One clone of the decks repository with its own collection and device name."""

    def __init__(self, repo: Path, db: Path, device: str) -> None:
        self.repo, self.db, self.device = repo, db, device

    def cards(self, *args: str, now: str = "2026-11-27T09:00:00+00:00", keys: str | None = None) -> Result:
        env = {
            "CARDS_DECKS": str(self.repo / "decks"),
            "CARDS_DB": str(self.db),
            "CARDS_DEVICE": self.device,
            "CARDS_NOW": now,
        }
        here = Path.cwd()
        os.chdir(self.repo)  # card sources are shown relative to the working directory
        try:
            result = CliRunner().invoke(cli, list(args), env=env, input=keys)
        finally:
            os.chdir(here)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result

    def commit(self, message: str) -> None:
        git(self.repo, "add", "-A")
        if git(self.repo, "status", "--porcelain"):
            git(self.repo, "commit", "-q", "-m", message)

    def pull(self, remote: str) -> None:
        git(self.repo, "pull", "-q", "--no-rebase", "--no-edit", remote, "main")
        assert git(self.repo, "diff", "--name-only", "--diff-filter=U") == ""

    def view(self) -> tuple[object, dict[str, object]]:
        listed = json.loads(self.cards("list", "--json", now=LATER).stdout)
        ids = [card["id"] for card in listed]
        assert set(CARDS) <= set(ids)
        shown = {card: json.loads(self.cards("show", card, "--json", now=LATER).stdout) for card in ids}
        return listed, shown


LATER = "2026-11-30T09:00:00+00:00"


def configure(repo: Path) -> None:
    git(repo, "config", "user.name", "Test")
    git(repo, "config", "user.email", "test@example.com")


@pytest.fixture
def machines(tmp_path: Path) -> tuple[Machine, Machine]:
    laptop = tmp_path / "laptop"
    (laptop / "decks").mkdir(parents=True)
    (laptop / "decks" / "basics.yaml").write_text(DECK, encoding="utf-8")
    (laptop / "cards.toml").write_text('journal = "reviews"\n', encoding="utf-8")
    git(laptop, "init", "-q", "-b", "main")
    configure(laptop)
    laptop_machine = Machine(laptop, tmp_path / "laptop-data" / "collection.db", "laptop")
    laptop_machine.commit("decks")
    desktop = tmp_path / "desktop"
    git(tmp_path, "clone", "-q", str(laptop), str(desktop))
    configure(desktop)
    git(laptop, "remote", "add", "desktop", str(desktop))
    return laptop_machine, Machine(desktop, tmp_path / "desktop-data" / "collection.db", "desktop")


def journal_lines(machine: Machine) -> list[dict[str, object]]:
    path = machine.repo / "reviews" / f"{machine.device}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("chunk", [100_000, 2], ids=["one-batch", "batches-of-2"])
def test_two_clones_review_interleaved_and_merge_through_git(
    machines: tuple[Machine, Machine], chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flashcards import journal

    monkeypatch.setattr(journal, "_CHUNK_LINES", chunk)  # a cancel in a later batch than its answer too
    if chunk == 2:
        monkeypatch.setattr(journal, "READ_BYTES", 7)  # and each file read a few bytes at a time
    laptop, desktop = machines
    # day 1: the laptop at 09:00 (Good, Good, undo, Easy), the desktop at 09:30 on the same cards
    assert (
        laptop.cards("review", now="2026-11-27T09:00:00+00:00", keys="\n3\n\n3\nu\n\n4\nq\n").exit_code == 0
    )
    assert desktop.cards("review", now="2026-11-27T09:30:00+00:00", keys="\n1\n\n3\n\n3\nq\n").exit_code == 0
    laptop.commit("laptop reviews")
    desktop.commit("desktop reviews")
    desktop.pull("origin")
    laptop.pull("desktop")
    # day 2, each after the merge: the laptop first, then the desktop (with an undo)
    assert laptop.cards("review", now="2026-11-28T09:00:00+00:00", keys="\n3\n\n2\n\n3\nq\n").exit_code == 0
    assert (
        desktop.cards("review", now="2026-11-28T08:00:00+00:00", keys="\n4\nu\n\n1\n\n3\nq\n").exit_code == 0
    )
    laptop.commit("laptop reviews, day 2")
    desktop.commit("desktop reviews, day 2")
    laptop.pull("desktop")
    desktop.pull("origin")

    cancels = [line for line in journal_lines(laptop) + journal_lines(desktop) if "cancel" in line]
    assert len(cancels) == 2
    listed_laptop, shown_laptop = laptop.view()
    listed_desktop, shown_desktop = desktop.view()
    assert listed_laptop == listed_desktop
    for card in CARDS:
        assert shown_laptop[card] == shown_desktop[card], card
    history = shown_laptop["n1/card"]["reviews"]  # type: ignore[index]
    assert [review["reviewed_at"][:16] for review in history] == [
        "2026-11-27T09:00",
        "2026-11-27T09:30",
        "2026-11-28T08:00",
        "2026-11-28T09:00",
    ]
    answered = sum(len(shown_laptop[card]["reviews"]) for card in CARDS)  # type: ignore[arg-type]
    assert answered == len(journal_lines(laptop)) + len(journal_lines(desktop)) - 2 * len(cancels)
    for machine in machines:
        check = machine.cards("rebuild", "--check", now=LATER)
        assert check.exit_code == 0, check.output
        assert "0 differ" in check.output


def test_turning_the_journal_on_writes_the_history_once_and_a_second_history_merges(
    machines: tuple[Machine, Machine],
) -> None:
    laptop, desktop = machines
    for machine in machines:
        (machine.repo / "cards.toml").write_text("", encoding="utf-8")
    laptop.cards("review", now="2026-11-27T09:00:00+00:00", keys="\n3\n\n3\nq\n")
    desktop.cards("review", now="2026-11-27T10:00:00+00:00", keys="\n1\nq\n")
    assert not (laptop.repo / "reviews").exists()
    for machine in machines:
        (machine.repo / "cards.toml").write_text('journal = "reviews"\n', encoding="utf-8")
        machine.cards("status")
        machine.cards("status")
    assert len(journal_lines(laptop)) == 2
    assert len(journal_lines(desktop)) == 1
    laptop.commit("laptop")
    desktop.commit("desktop")
    desktop.pull("origin")
    laptop.pull("desktop")
    assert laptop.view() == desktop.view()
    shown = laptop.view()[1]["n1/card"]
    assert len(shown["reviews"]) == 2  # type: ignore[index,arg-type]


@pytest.mark.parametrize("block", [1 << 22, 7], ids=["one-block", "blocks-of-7-bytes"])
def test_faults_are_reported_with_their_line_and_counted_once(
    machines: tuple[Machine, Machine], block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flashcards import journal

    monkeypatch.setattr(journal, "READ_BYTES", block)  # lines cut across the blocks a file is read in
    laptop, desktop = machines
    laptop.cards("review", keys="\n3\n\n3\n\n3\nq\n")
    lines = (laptop.repo / "reviews" / "laptop.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3
    copied = desktop.repo / "reviews" / "laptop.jsonl"
    copied.parent.mkdir()
    # the first line, a malformed one, and the second line cut short (a write in progress)
    copied.write_text(lines[0] + "\n" + "{not json\n" + lines[1][:40], encoding="utf-8")
    first = desktop.cards("status")
    assert first.exit_code == 0
    assert f"{Path('reviews/laptop.jsonl')}:2: malformed journal line (not JSON); skipped" in first.stderr
    assert f"{Path('reviews/laptop.jsonl')}:3: incomplete last line" in first.stderr
    assert reps(desktop) == 1
    assert desktop.cards("status").stderr == ""  # unchanged file: not read again, nothing repeated
    copied.write_text(lines[0] + "\n" + "{not json\n" + lines[1] + "\n" + lines[2] + "\n", encoding="utf-8")
    assert desktop.cards("status").stderr == ""  # the malformed line was read: not reported again
    assert reps(desktop) == 3
    # the same lines again in another file (a copied file) count once
    (desktop.repo / "reviews" / "copy.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    desktop.cards("status")
    assert reps(desktop) == 3
    # a file rewritten rather than appended to is read again from the start, each line once
    copied.write_text("\n".join(lines) + "\n", encoding="utf-8")
    desktop.cards("status")
    assert reps(desktop) == 3
    assert desktop.cards("rebuild", "--check").exit_code == 0


@pytest.mark.parametrize("block", [1 << 22, 2], ids=["one-block", "two-bytes-a-block"])
def test_a_byte_order_mark_an_editor_put_first_is_not_part_of_the_first_line(
    machines: tuple[Machine, Machine], block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A journal file saved by an editor that writes UTF-8 with a byte-order mark: its first
    answer is taken in, and lines appended after are read on from where it stopped."""
    from flashcards import journal

    monkeypatch.setattr(journal, "READ_BYTES", block)
    laptop, desktop = machines
    laptop.cards("review", keys="\n3\n\n3\nq\n")
    lines = (laptop.repo / "reviews" / "laptop.jsonl").read_bytes().splitlines(keepends=True)
    copied = desktop.repo / "reviews" / "laptop.jsonl"
    copied.parent.mkdir()
    copied.write_bytes(b"\xef\xbb\xbf" + lines[0])
    first = desktop.cards("status")
    assert (first.exit_code, first.stderr, reps(desktop)) == (0, "", 1)
    copied.write_bytes(b"\xef\xbb\xbf" + lines[0] + lines[1])
    parsed: list[bytes] = []
    parse = journal.Journal._parse_line
    monkeypatch.setattr(
        journal.Journal,
        "_parse_line",
        staticmethod(lambda raw, *rest: parsed.append(raw) or parse(raw, *rest)),
    )
    second = desktop.cards("status")
    assert (second.exit_code, second.stderr, reps(desktop)) == (0, "", 2)
    assert parsed == [lines[1].rstrip(b"\n")]  # read on from where it stopped, not again from the start


def reps(machine: Machine) -> int:
    with sqlite3.connect(machine.db) as db:
        return int(db.execute("SELECT count(*) FROM reviews").fetchone()[0])


def test_a_line_for_a_card_not_known_yet_waits_for_it(machines: tuple[Machine, Machine]) -> None:
    laptop, desktop = machines
    deck = laptop.repo / "decks" / "basics.yaml"
    deck.write_text(DECK + "  - id: n6\n    front: question 6\n    back: answer 6\n", encoding="utf-8")
    laptop.cards("review", keys="\n3\n" * 6 + "q\n")
    assert any(line.get("card") == "n6/card" for line in journal_lines(laptop))
    target = desktop.repo / "reviews"
    target.mkdir()
    (target / "laptop.jsonl").write_bytes((laptop.repo / "reviews" / "laptop.jsonl").read_bytes())
    shown = desktop.cards("status").stdout
    assert reps(desktop) == 5
    mine = Path("reviews/desktop.jsonl")
    assert (
        f"Journal: {mine} (this machine, 'desktop'); 1 other machine read (laptop); "
        "1 line waits for cards not in the decks here yet (pull them)." in shown
    )
    status = json.loads(desktop.cards("status", "--json").stdout)["journal"]
    assert (status["device"], status["other_devices"], status["waiting"], status["to_write"]) == (
        "desktop",
        ["laptop"],
        1,
        0,
    )
    with sqlite3.connect(desktop.db) as db:
        assert db.execute("SELECT card_id FROM journal_pending").fetchall() == [("n6/card",)]
    (desktop.repo / "decks" / "basics.yaml").write_bytes(deck.read_bytes())  # the note arrives
    assert desktop.cards("status").stdout.endswith(
        f"Journal: {mine} (this machine, 'desktop'); 1 other machine read (laptop).\n"
    )
    assert reps(desktop) == 6
    with sqlite3.connect(desktop.db) as db:
        assert db.execute("SELECT count(*) FROM journal_pending").fetchone() == (0,)
    assert laptop.view() == desktop.view()


def test_a_suspension_of_a_card_not_known_yet_applies_when_it_appears(
    machines: tuple[Machine, Machine],
) -> None:
    laptop, desktop = machines
    deck = laptop.repo / "decks" / "basics.yaml"
    deck.write_text(DECK + "  - id: n6\n    front: question 6\n    back: answer 6\n", encoding="utf-8")
    assert laptop.cards("suspend", "n6/card").exit_code == 0
    laptop.cards("status")
    assert [line["suspend"] for line in journal_lines(laptop) if "suspend" in line] == ["n6/card"]
    target = desktop.repo / "reviews"
    target.mkdir()
    (target / "laptop.jsonl").write_bytes((laptop.repo / "reviews" / "laptop.jsonl").read_bytes())
    desktop.cards("status")  # the journal arrives before the note
    with sqlite3.connect(desktop.db) as db:
        assert db.execute("SELECT card_id FROM journal_pending").fetchall() == [("n6/card",)]
    (desktop.repo / "decks" / "basics.yaml").write_bytes(deck.read_bytes())  # the note arrives
    desktop.cards("status")
    with sqlite3.connect(desktop.db) as db:
        assert db.execute("SELECT suspended FROM cards WHERE id = 'n6/card'").fetchone() == (1,)
        assert db.execute("SELECT count(*) FROM journal_pending").fetchone() == (0,)
    assert laptop.view() == desktop.view()


# A session with the journal on that answers as fast as it can and prints, once each answer is
# committed, its review id.
SESSION = """
import sys
from datetime import timedelta
from pathlib import Path
from flashcards import clock
from flashcards.collection import Collection
from flashcards.controller import ReviewController
from flashcards.states import Rating

decks, db_path = Path(sys.argv[1]), Path(sys.argv[2])
moment = [clock.now()]
collection = Collection.open(db_path, decks)
collection.sync(moment[0])
collection.sync_journal()
session = ReviewController(collection, new_limit=100000, now=lambda: moment[0], fixed_clock=True)
print("ready", flush=True)
answered = 0
while True:
    card = session.card()
    while card is None:
        moment[0] += timedelta(minutes=10)
        card = session.card()
    session.reveal()
    done = session.rate(Rating(1 + answered % 4)).answer
    answered += 1
    if answered % 7 == 0:
        session.undo()
        print(f"undone {done.review_id}", flush=True)
    else:
        print(done.review_id, flush=True)
"""


@pytest.mark.parametrize("kill_after", [1, 23, 80])
def test_kill_9_during_answers_with_the_journal_on_loses_nothing(
    machines: tuple[Machine, Machine], kill_after: int
) -> None:
    laptop, desktop = machines
    notes = "".join(f"  - id: m{i}\n    front: question {i}\n    back: answer {i}\n" for i in range(300))
    (laptop.repo / "decks" / "many.yaml").write_text("deck: Many\nnotes:\n" + notes, encoding="utf-8")
    laptop.cards("compile")
    env = {**os.environ, "CARDS_NOW": "2026-11-27T09:00:00+00:00", "CARDS_DEVICE": "laptop"}
    child = subprocess.Popen(
        [sys.executable, "-c", SESSION, str(laptop.repo / "decks"), str(laptop.db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None
    assert child.stdout.readline() == "ready\n", child.stderr.read() if child.stderr else ""
    printed = [child.stdout.readline().split() for _ in range(kill_after)]
    os.kill(child.pid, signal.SIGKILL)
    child.communicate()
    committed = {int(line[0]) for line in printed if line[0] != "undone"}
    undone = {int(line[1]) for line in printed if line[0] == "undone"}
    laptop.cards("status")  # the next start reconciles the journal with the collection
    with sqlite3.connect(laptop.db) as db:
        logged = {row[0]: row[1] for row in db.execute("SELECT id, reviewed_at FROM reviews")}
        line_ids = dict(db.execute("SELECT review_id, line_id FROM journal_lines WHERE written = 1"))
        assert db.execute("SELECT count(*) FROM journal_lines WHERE written = 0").fetchone() == (0,)
    assert committed - undone <= set(logged)  # every answer acknowledged survived in the collection
    lines = journal_lines(laptop)
    cancelled = {line["cancel"] for line in lines if "cancel" in line}
    written = {line["id"] for line in lines if "cancel" not in line} - cancelled
    assert set(line_ids) == set(logged)  # every answer in the collection has its line, and no other
    assert written == set(line_ids.values())
    # the other machine, taking in the journal, has the same log
    target = desktop.repo / "reviews"
    target.mkdir(exist_ok=True)
    (target / "laptop.jsonl").write_bytes((laptop.repo / "reviews" / "laptop.jsonl").read_bytes())
    (desktop.repo / "decks" / "many.yaml").write_bytes((laptop.repo / "decks" / "many.yaml").read_bytes())
    desktop.cards("status")
    assert reps(desktop) == len(logged)
    assert desktop.cards("rebuild", "--check").exit_code == 0
    assert laptop.cards("rebuild", "--check").exit_code == 0


def test_the_device_name_is_generated_once_beside_the_collection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flashcards.journal import device_name

    monkeypatch.delenv("CARDS_DEVICE", raising=False)
    db = tmp_path / "data" / "collection.db"
    db.parent.mkdir()
    name = device_name(db)
    assert (tmp_path / "data" / "collection.db.device").read_text(encoding="utf-8") == name + "\n"
    assert device_name(db) == name
    assert device_name(tmp_path / "other.db") != name
    monkeypatch.setenv("CARDS_DEVICE", "work laptop")
    with pytest.raises(ValueError, match="a device name is letters"):
        device_name(db)


def test_fitted_parameters_and_suspensions_travel_and_the_newest_wins(
    machines: tuple[Machine, Machine],
) -> None:
    from flashcards.simulate import TRUE_PARAMETERS

    laptop, desktop = machines
    laptop.cards("review", now="2026-11-27T09:00:00+00:00", keys="\n3\n\n3\nq\n")
    desktop.cards("review", now="2026-11-27T10:00:00+00:00", keys="\n4\nq\n")
    with sqlite3.connect(laptop.db) as db:  # as `cards optimize` saves a fit
        db.execute(
            "INSERT INTO parameters(preset, parameters, created_at, reviews, log_loss, rmse, active) "
            "VALUES ('', ?, '2026-11-27T11:00:00.000000+00:00', 1000, 0.3, 0.01, 1)",
            [json.dumps(list(TRUE_PARAMETERS))],
        )
    laptop.cards("rebuild", now="2026-11-27T11:00:00+00:00")  # and replays the cards under it
    assert laptop.cards("suspend", "n3/card", now="2026-11-27T11:00:00+00:00").exit_code == 0
    laptop.cards("status", now="2026-11-27T11:00:00+00:00")
    snapshots = [line["parameters"] for line in journal_lines(laptop) if "parameters" in line]
    assert [[fit["reviews"] for fit in snapshot] for snapshot in snapshots] == [[1000]]  # type: ignore[union-attr]
    laptop.commit("laptop")
    desktop.commit("desktop")
    desktop.pull("origin")
    laptop.pull("desktop")
    assert laptop.view() == desktop.view()
    with sqlite3.connect(desktop.db) as db:
        saved = db.execute("SELECT parameters FROM parameters WHERE active = 1").fetchall()
    assert [tuple(json.loads(row[0])) for row in saved] == [tuple(TRUE_PARAMETERS)]
    assert desktop.view()[1]["n3/card"]["suspended"] is True  # type: ignore[index]
    # the desktop unsuspends it later: that line is the newest, on both machines
    assert desktop.cards("unsuspend", "n3/card", now="2026-11-28T09:00:00+00:00").exit_code == 0
    desktop.commit("desktop unsuspends")
    laptop.pull("desktop")
    assert laptop.view()[1]["n3/card"]["suspended"] is False  # type: ignore[index]
    assert laptop.view() == desktop.view()
    for machine in machines:
        assert machine.cards("rebuild", "--check", now=LATER).exit_code == 0


def test_cram_answers_travel_as_cram_answers(machines: tuple[Machine, Machine]) -> None:
    laptop, desktop = machines
    laptop.cards("review", now="2026-11-27T09:00:00+00:00", keys="\n4\n\n4\n\n4\nq\n")
    cram = laptop.cards("review", "--cram", now="2026-11-27T12:00:00+00:00", keys="\n1\n\n3\nu\n\n2\nq\n")
    assert cram.exit_code == 0, cram.output
    kinds = [line.get("kind") for line in journal_lines(laptop) if "cancel" not in line]
    assert kinds.count(1) == 3  # three cram answers written, one of them cancelled
    laptop.commit("laptop")
    desktop.pull("origin")
    assert laptop.view() == desktop.view()
    crams = [r for card in CARDS for r in desktop.view()[1][card]["reviews"] if r["cram"]]  # type: ignore[index,union-attr]
    assert len(crams) == 2
    assert desktop.cards("rebuild", "--check", now=LATER).exit_code == 0


def test_a_leech_is_suspended_and_marked_on_both_machines(machines: tuple[Machine, Machine]) -> None:
    laptop, desktop = machines
    (laptop.repo / "cards.toml").write_text('journal = "reviews"\nleech_threshold = 1\n', encoding="utf-8")
    laptop.cards("review", "--limit", "1", now="2026-11-27T09:00:00+00:00", keys="\n4\nq\n")
    laptop.cards("review", now="2026-12-20T09:00:00+00:00", keys="\n1\nq\n")
    shown = laptop.view()[1]["n1/card"]
    assert (shown["suspended"], shown["leech"]) == (True, True)  # type: ignore[index]
    laptop.commit("laptop")
    desktop.pull("origin")
    assert desktop.view() == laptop.view()


def test_a_line_that_is_json_but_not_an_answer_is_reported_and_skipped(
    machines: tuple[Machine, Machine],
) -> None:
    laptop, desktop = machines
    laptop.cards("review", keys="\n3\nq\n")
    good = (laptop.repo / "reviews" / "laptop.jsonl").read_text(encoding="utf-8")
    line = json.loads(good)
    bad = [
        {**line, "id": "a", "rating": "3"},
        {**line, "id": "b", "due_day": "soon"},
        [1, 2],
        {**line, "id": "c", "duration_ms": -5},
        {**line, "id": "d", "state": 9},
        {**line, "id": "e", "kind": 7},
    ]
    target = desktop.repo / "reviews"
    target.mkdir()
    (target / "laptop.jsonl").write_text("".join(json.dumps(b) + "\n" for b in bad) + good, encoding="utf-8")
    result = desktop.cards("status")
    assert result.exit_code == 0
    shown = Path("reviews/laptop.jsonl")
    assert f"{shown}:1: malformed journal line ('rating' missing or not a int); skipped" in result.stderr
    assert f"{shown}:2: malformed journal line ('due_day' must be a whole number); skipped" in result.stderr
    assert f"{shown}:3: malformed journal line (not a JSON object); skipped" in result.stderr
    assert "4: malformed journal line ('duration_ms' is -5: a time taken is 0 or more)" in result.stderr
    assert (
        "5: malformed journal line ('state' is 9: 0 new, 1 learning, 2 review or 3 relearning)"
        in result.stderr
    )
    assert "6: malformed journal line ('kind' is 7: 0 an answer, 1 a cram answer" in result.stderr
    assert reps(desktop) == 1


STORY = """
deck: Prep::Stories
notes:
  - type: rehearsal
    id: star-rollout
    prompt: Tell me about a time you rolled out a risky model change.
    time: 1m30s
    points:
      - "Situation: the fraud model drifted"
      - Canary to 5 % of traffic first
      - Shadow run for a week before
      - Result in numbers
    covers: [n1, [n2, n1], [], ~]
"""


def test_due_days_brought_forward_by_a_rehearsal_travel(machines: tuple[Machine, Machine]) -> None:
    laptop, desktop = machines
    (laptop.repo / "decks" / "stories.yaml").write_text(STORY, encoding="utf-8")
    laptop.commit("a rehearsal")
    desktop.pull("origin")
    laptop.cards("review", "--deck", "Basics", now="2026-11-27T09:00:00+00:00", keys="\n4\n\n4\nq\n")
    rehearsed = laptop.cards(
        "review", "--deck", "Prep::Stories", now="2026-11-28T09:00:00+00:00", keys="\n1\n3\n\nq\n"
    )
    assert "2 cards behind the missed points due today" in rehearsed.output
    assert [line.get("kind") for line in journal_lines(laptop)].count(2) == 2
    laptop.commit("laptop")
    desktop.pull("origin")
    assert laptop.view() == desktop.view()
    shown = desktop.view()[1]
    assert len(shown["n2/card"]["rescheduled"]) == 1  # type: ignore[index,arg-type]
    assert shown["star-rollout/rehearse"]["reviews"][0]["ticked"] == [1, 3]  # type: ignore[index]
    assert desktop.cards("rebuild", "--check", now=LATER).exit_code == 0


def test_a_crash_either_side_of_the_append_is_made_good_and_counts_once(
    machines: tuple[Machine, Machine],
) -> None:
    from flashcards import clock, scheduler
    from flashcards.collection import Collection
    from flashcards.states import Rating

    laptop, desktop = machines
    laptop.cards("review", keys="\n3\n\n3\nq\n")
    assert len(journal_lines(laptop)) == 2
    with sqlite3.connect(laptop.db) as db:  # the lines were appended, the crash came before they were marked
        db.execute("UPDATE journal_lines SET written = 0")
    collection = Collection.open(
        laptop.db, laptop.repo / "decks"
    )  # an answer saved, the crash before its append
    scheduler.answer(
        collection.db,
        "n3/card",
        Rating.GOOD,
        clock.from_db("2026-11-27T09:05:00+00:00"),
        3000,
        collection.settings,
    )
    collection.db.conn.close()
    laptop.cards("status")
    lines = journal_lines(laptop)
    assert len(lines) == 5  # the two appended again, and the one never appended
    assert len({line["id"] for line in lines}) == 3
    laptop.commit("laptop")
    desktop.pull("origin")
    desktop.cards("status")
    assert reps(desktop) == 3
    assert laptop.view() == desktop.view()


def test_a_journal_path_that_is_not_a_directory_is_reported_and_nothing_is_lost(
    machines: tuple[Machine, Machine],
) -> None:
    laptop, _ = machines
    (laptop.repo / "cards.toml").write_text('journal = "decks/basics.yaml"\n', encoding="utf-8")
    result = laptop.cards("review", keys="\n3\n\n3\n\n3\nq\n")
    assert result.exit_code == 0
    assert "cannot read the review journal decks/basics.yaml" in result.stderr
    assert "cannot write the review journal" in result.output + result.stderr
    assert result.output.count("cannot write the review journal") == 1  # once a session, not every answer
    assert reps(laptop) == 3  # the answers are saved; their lines are written once the journal is usable
    (laptop.repo / "cards.toml").write_text('journal = "reviews"\n', encoding="utf-8")
    laptop.cards("status")
    assert len(journal_lines(laptop)) == 3


TEAM = """
deck: D
types:
  team:
    fields: [team, priority]
    templates:
      priority:
        front: "What does {{team}} care about?"
        back: "{{priority}}"
notes:
  - id: ds
    type: team
    team: Data Scientists
    priority: Model accuracy
"""


def test_lines_written_before_a_template_rename_follow_the_card(machines: tuple[Machine, Machine]) -> None:
    laptop, desktop = machines
    path = laptop.repo / "decks" / "team.yaml"
    path.write_text(TEAM, encoding="utf-8")
    laptop.cards("review", "--deck", "D", keys="\n3\nq\n")
    assert [line["card"] for line in journal_lines(laptop)] == ["ds/priority"]
    path.write_text(
        TEAM.replace("      priority:\n", "      cares:\n        renamed_from: priority\n"), encoding="utf-8"
    )
    laptop.cards("status")
    laptop.commit("reviews, then a renamed template")
    desktop.pull("origin")  # the lines name ds/priority; the decks the desktop compiles say ds/cares
    shown = desktop.view()[1]
    assert len(shown["ds/cares"]["reviews"]) == 1  # type: ignore[index,arg-type]
    assert laptop.view() == desktop.view()
    with sqlite3.connect(desktop.db) as db:
        assert db.execute("SELECT count(*) FROM journal_pending").fetchone() == (0,)


@pytest.mark.parametrize(
    ("chunk", "bulk"), [(500, False), (1, False), (500, True)], ids=["one-chunk", "a-card-a-chunk", "bulk"]
)
def test_answers_imported_from_anki_travel_once_and_the_same_file_adds_nothing_elsewhere(
    machines: tuple[Machine, Machine], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int, bulk: bool
) -> None:
    """Answers given in Anki, imported on one machine, reach the other through the journal with
    their Anki ids, beside the answers given there to the same cards (one card, two sources);
    importing the same package there finds them already taken in. In bulk (indexes and the
    journal trigger away while the rows are added) too."""
    from flashcards import merge

    monkeypatch.setattr(merge, "CHUNK_CARDS", chunk)
    if bulk:
        monkeypatch.setattr(merge, "BULK_ROWS", 0)
        monkeypatch.setattr(merge, "QUIET_TRIGGER_ROWS", 0)
    from datetime import UTC, datetime, timedelta

    from flashcards import store
    from flashcards.compiler import compile_decks
    from flashcards.export import export_package
    from flashcards.scheduler import answer
    from flashcards.settings import DeckSettings, Settings

    phone = tmp_path / "phone"  # a collection standing in for Anki on a phone: same notes, its own answers
    (phone / "decks").mkdir(parents=True)
    (phone / "decks" / "basics.yaml").write_text(DECK, encoding="utf-8")
    db = store.open_collection(phone / "c.db")
    start = datetime(2026, 11, 26, 9, tzinfo=UTC)
    compile_decks(db, phone / "decks", start)
    settings = Settings(defaults=DeckSettings(enable_fuzzing=False))
    for index, card in enumerate(CARDS[:3]):
        answer(db, card, 3, start + timedelta(seconds=index), 3000, settings)
    package = export_package(db, tmp_path / "phone.apkg", with_scheduling=True).path
    db.conn.close()

    laptop, desktop = machines
    laptop.cards("review", keys="\n3\n" * 2 + "q\n")  # answers of its own, after the phone's
    imported = laptop.cards("import", str(package))
    assert imported.exit_code == 0 and "reviews imported: 3;" in imported.output
    laptop.cards("status")
    from_anki = [line for line in journal_lines(laptop) if line.get("source") == "anki"]
    assert len(from_anki) == 3 and all(isinstance(line.get("anki_id"), int) for line in from_anki)
    laptop.commit("laptop")
    desktop.pull("origin")
    desktop.cards("status")
    assert reps(desktop) == reps(laptop) == 5
    again = desktop.cards("import", str(package))
    assert again.exit_code == 0 and "reviews imported: 0;" in again.output
    assert "already imported: 3;" in again.output
    assert reps(desktop) == 5
    assert laptop.view() == desktop.view()
    desktop_file = desktop.repo / "reviews" / f"{desktop.device}.jsonl"
    assert not desktop_file.exists() or not [line for line in journal_lines(desktop) if "anki_id" in line]
    for machine in machines:
        assert machine.cards("rebuild", "--check", now=LATER).exit_code == 0


def test_a_large_take_in_reports_its_progress_over_the_answers_it_applies(
    machines: tuple[Machine, Machine], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Too many lines to hold (here: more than two): the answers are staged, then applied in
    batches of whole cards, each batch counted, up to every staged answer."""
    from flashcards import journal
    from flashcards.collection import Collection

    monkeypatch.setattr(journal, "_CHUNK_LINES", 2)
    laptop, desktop = machines
    assert laptop.cards("review", keys="\n3\n" * 5 + "q\n").exit_code == 0
    laptop.commit("laptop")
    desktop.cards("status")  # its collection compiled, before the laptop's lines arrive
    desktop.pull("origin")
    monkeypatch.setenv("CARDS_DEVICE", desktop.device)
    collection = Collection.open(desktop.db, desktop.repo / "decks")
    seen: list[tuple[int, int]] = []
    assert collection.sync_journal(lambda done, total: seen.append((done, total))) == []
    collection.db.conn.close()
    assert seen[-1] == (5, 5) and [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert len(seen) >= 2  # whole cards, about two lines a batch
    assert reps(desktop) == 5


def test_an_answer_from_a_machine_in_another_zone_is_replayed_on_the_day_it_was_given_there(
    machines: tuple[Machine, Machine], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each line carries when its study day ended on the machine that gave it: a machine in
    another zone logs and replays the answer with that end, not its own, so both machines
    compute the same memory states. Answers at 09:00 and 16:30 UTC fall on one study day in
    UTC, on two in Auckland (22:00, then 05:30 the next morning, after the 04:00 rollover)."""
    import time

    laptop, desktop = machines
    for at in ("2026-11-27T09:00:00+00:00", "2026-11-27T16:30:00+00:00"):
        assert laptop.cards("review", now=at, keys="\n3\nq\n").exit_code == 0
    laptop.commit("laptop reviews")
    monkeypatch.setenv("TZ", "Pacific/Auckland")
    time.tzset()
    try:
        desktop.pull("origin")
        assert desktop.cards("status", now=LATER).exit_code == 0
        check = desktop.cards("rebuild", "--check", now=LATER)
        assert check.exit_code == 0 and "0 differ" in check.output, check.output
    finally:
        monkeypatch.setenv("TZ", "UTC")
        time.tzset()

    def logged(machine: Machine) -> list[tuple[object, ...]]:
        with sqlite3.connect(machine.db) as db:
            return (
                db.execute(
                    "SELECT card_id, reviewed_at, day_end, state, stability, difficulty FROM reviews "
                    "ORDER BY reviewed_at"
                ).fetchall()
                + db.execute(
                    "SELECT id, state, due_day, stability, difficulty FROM cards WHERE reps > 0 ORDER BY id"
                ).fetchall()
            )

    rows = logged(laptop)
    assert len(rows) == 3  # two answers, one card
    assert rows[0][2] == rows[1][2]  # one study day on the laptop
    assert logged(desktop) == rows


@pytest.mark.parametrize(
    "estimate", ["many", "few"], ids=["staged-from-the-start", "staged-once-a-batch-is-full"]
)
def test_staged_answers_are_read_again_from_their_files_card_by_card(
    machines: tuple[Machine, Machine], monkeypatch: pytest.MonkeyPatch, estimate: str
) -> None:
    """A large take-in keeps only where each answer's line is and reads it again, whole cards at
    a time: the same log as a take-in of one batch. When the bytes suggested few lines, the
    lines read before staging began are held and come first."""
    from flashcards import journal

    laptop, desktop = machines
    assert laptop.cards("review", keys="\n3\n" * 5 + "q\n").exit_code == 0
    assert laptop.cards("review", now=LATER, keys="\n3\n" * 5 + "q\n").exit_code == 0
    laptop.commit("laptop")
    desktop.pull("origin")
    monkeypatch.setattr(journal, "_CHUNK_LINES", 3)
    if estimate == "few":
        monkeypatch.setattr(journal, "SHORTEST_LINE_BYTES", 10**6)
    assert desktop.cards("status", now=LATER).exit_code == 0

    def logged(machine: Machine) -> list[tuple[object, ...]]:
        with sqlite3.connect(machine.db) as db:
            return db.execute(
                "SELECT card_id, reviewed_at, state_before, state, stability, difficulty FROM reviews "
                "ORDER BY card_id, reviewed_at"
            ).fetchall()

    assert len(logged(laptop)) == 10 and logged(desktop) == logged(laptop)


def rewritten_while_staged(
    machines: tuple[Machine, Machine], monkeypatch: pytest.MonkeyPatch, rewrite: Callable[[Path, bytes], None]
) -> tuple[Machine, Path, bytes]:
    """The laptop's five answers pulled by the desktop, whose first merge stages them (two lines a
    batch) and meets its file rewritten by ``rewrite(path, original bytes)`` before reading them
    again: the take-in ends, rolled back and reported. The desktop, the file and its bytes before."""
    from flashcards import journal

    laptop, desktop = machines
    assert laptop.cards("review", keys="\n3\n" * 5 + "q\n").exit_code == 0
    laptop.commit("laptop")
    desktop.cards("status")
    desktop.pull("origin")
    monkeypatch.setattr(journal, "_CHUNK_LINES", 2)
    path = desktop.repo / "reviews" / "laptop.jsonl"
    original = path.read_bytes()
    batches = journal._Staged.batches

    def rewrite_then_read(staged: journal._Staged) -> object:
        rewrite(path, original)
        return batches(staged)

    monkeypatch.setattr(journal._Staged, "batches", rewrite_then_read)
    failed = desktop.cards("status")
    assert failed.exit_code == 1
    assert (
        "laptop.jsonl changed while it was read" in failed.output and "run the command again" in failed.output
    )
    assert reps(desktop) == 0
    monkeypatch.setattr(journal._Staged, "batches", batches)
    return desktop, path, original


def test_a_file_rewritten_in_place_while_staged_ends_the_take_in_with_nothing_taken_in(
    machines: tuple[Machine, Machine], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lines are read again from the open file: bytes that are no longer the line read there
    end the take-in, rolled back and reported, and the next command takes the file in."""

    def move_by_one(path: Path, original: bytes) -> None:
        with path.open("r+b") as handle:  # the same file, its bytes moved by one
            handle.write(b" " + original[:-1])

    desktop, path, original = rewritten_while_staged(machines, monkeypatch, move_by_one)
    path.write_bytes(original)
    assert desktop.cards("status").exit_code == 0 and reps(desktop) == 5


def test_a_line_rewritten_in_place_for_the_same_card_while_staged_ends_the_take_in(
    machines: tuple[Machine, Machine], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A line rewritten in place with another answer for the same card (the same length, the
    same card, another rating) is not the line read and checked: the take-in ends, rolled back."""

    def change_a_rating(path: Path, original: bytes) -> None:
        assert original.count(b'"rating":3') == 5
        path.write_bytes(original.replace(b'"rating":3', b'"rating":4', 1))

    desktop, _, _ = rewritten_while_staged(machines, monkeypatch, change_a_rating)
    assert desktop.cards("status").exit_code == 0 and reps(desktop) == 5
    with sqlite3.connect(desktop.db) as db:
        assert sorted(rating for (rating,) in db.execute("SELECT rating FROM reviews")) == [3, 3, 3, 3, 4]


def exchange(machines: tuple[Machine, Machine]) -> None:
    """Both machines commit, pull the other's journal (an ordinary merge) and take it in."""
    laptop, desktop = machines
    laptop.commit("laptop")
    desktop.commit("desktop")
    desktop.pull("origin")
    laptop.pull("desktop")
    for machine in machines:
        assert machine.cards("status", now=LATER).exit_code == 0


def _found_by_each_answer(machine: Machine) -> list[tuple[object, ...]]:
    """Each row's card, time, what it found and left, its memory; each studied card's cache."""
    with sqlite3.connect(machine.db) as db:
        return (
            db.execute(
                "SELECT card_id, reviewed_at, rating, state_before, state, step, stability, difficulty "
                "FROM reviews ORDER BY card_id, reviewed_at, id"
            ).fetchall()
            + db.execute(
                "SELECT id, state, step, stability, difficulty, lapses, reps, due FROM cards WHERE reps > 0 ORDER BY id"
            ).fetchall()
        )


def test_an_answer_taken_in_before_answers_logged_here_changes_what_they_found(
    machines: tuple[Machine, Machine],
) -> None:
    """The desktop's Easy at 09:00 arrives on the laptop after its own Again at 10:00: in time,
    the Again was a lapse of a review card, as the desktop logs it. The laptop's row is
    corrected to what it found (state before, memory), never its answer, so both machines show
    the same lapse, statistics and states."""
    laptop, desktop = machines
    assert desktop.cards("review", now="2026-11-27T09:00:00+00:00", keys="\n4\nq\n").exit_code == 0
    assert laptop.cards("review", now="2026-11-27T10:00:00+00:00", keys="\n1\nq\n").exit_code == 0
    exchange(machines)
    found = _found_by_each_answer(laptop)
    assert [row[2:4] for row in found[:2]] == [(4, 0), (1, 2)]  # Easy on a new card, Again on a review card
    assert found[2][5] == 1  # one lapse
    assert _found_by_each_answer(desktop) == found
    assert laptop.view() == desktop.view()
    stats = [machine.cards("stats", now=LATER).output for machine in machines]
    assert stats[0] == stats[1] and "(0/1 passed)" in stats[0]


def test_an_answer_undone_after_another_machine_answered_after_it_changes_what_that_found(
    machines: tuple[Machine, Machine],
) -> None:
    """The laptop's review session gives n1 Easy; the desktop takes it in and, ten days later,
    answers n1 Again (a lapse); then the laptop's session undoes the Easy. Taken in, the cancel
    leaves the desktop's Again an answer to a new card, as the laptop logs it."""
    import time

    laptop, desktop = machines
    env = {
        **os.environ,
        "CARDS_DECKS": str(laptop.repo / "decks"),
        "CARDS_DB": str(laptop.db),
        "CARDS_DEVICE": laptop.device,
        "CARDS_NOW": "2026-11-27T09:00:00+00:00",
    }
    journal = laptop.repo / "reviews" / "laptop.jsonl"
    with subprocess.Popen(
        [sys.executable, "-m", "flashcards", "review"],
        cwd=laptop.repo,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as session:
        assert session.stdin is not None
        session.stdin.write("\n4\n")
        session.stdin.flush()
        waited = 0.0
        while not (journal.exists() and journal.read_text(encoding="utf-8").strip()) and waited < 30:
            time.sleep(0.05)
            waited += 0.05
        assert journal_lines(laptop)[0]["rating"] == 4
        laptop.commit("laptop: Easy")
        desktop.pull("origin")
        assert desktop.cards("review", now="2026-12-07T09:30:00+00:00", keys="\n1\nq\n").exit_code == 0
        assert _found_by_each_answer(desktop)[1][2:4] == (1, 2)  # a lapse, while the Easy stands
        session.communicate("u\nq\n", timeout=60)
    assert session.returncode == 0
    assert any("cancel" in line for line in journal_lines(laptop))
    exchange(machines)
    found = _found_by_each_answer(desktop)
    assert len(found) == 2 and found[0][2:4] == (1, 0)  # the Again alone, to a new card
    assert found[1][5] == 0  # no lapse
    assert _found_by_each_answer(laptop) == found
    assert laptop.view() == desktop.view()


def test_an_answer_that_reached_the_other_machine_through_anki_first_counts_once(
    machines: tuple[Machine, Machine], tmp_path: Path
) -> None:
    """The laptop's answer goes out in a package with scheduling (to a phone, say); the desktop
    imports that package before it pulls the laptop's journal. The laptop's line carries the
    answer's Anki id, so the desktop knows it has it already: one answer on both machines."""
    laptop, desktop = machines
    assert laptop.cards("review", now="2026-11-27T09:00:00+00:00", keys="\n3\nq\n").exit_code == 0
    package = tmp_path / "laptop.apkg"
    exported = laptop.cards(
        "export", "--with-scheduling", "-o", str(package), now="2026-11-27T10:00:00+00:00"
    )
    assert exported.exit_code == 0, exported.output
    assert isinstance(journal_lines(laptop)[0]["anki_id"], int)
    imported = desktop.cards("import", str(package), now="2026-11-27T11:00:00+00:00")
    assert imported.exit_code == 0 and "reviews imported: 1;" in imported.output
    exchange(machines)
    assert reps(laptop) == reps(desktop) == 1
    assert _found_by_each_answer(desktop) == _found_by_each_answer(laptop)
    assert laptop.view() == desktop.view()


def test_the_same_anki_file_imported_on_machines_in_two_zones_ends_the_same_on_both(
    machines: tuple[Machine, Machine], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A package from the phone, imported on the laptop (UTC) and on the desktop (Auckland)
    before either pulls: each counts the answers' study days in its own zone. Taking in the
    other's lines, each answer settles on the earlier of the two, so both end with the same
    rows and states."""

    package = phone_package(tmp_path)

    laptop, desktop = machines

    def in_auckland(*args: str) -> Result:
        return in_zone(monkeypatch, "Pacific/Auckland", desktop, *args)

    assert laptop.cards("import", str(package), now=LATER).exit_code == 0
    assert in_auckland("import", str(package)).exit_code == 0
    with sqlite3.connect(laptop.db) as one, sqlite3.connect(desktop.db) as other:
        ends = [
            db.execute("SELECT day_end FROM reviews ORDER BY reviewed_at").fetchall() for db in (one, other)
        ]
    assert ends[0] != ends[1]  # each counted the days in its own zone
    laptop.commit("laptop")
    desktop.commit("desktop")
    desktop.pull("origin")
    laptop.pull("desktop")
    assert laptop.cards("status", now=LATER).exit_code == 0
    assert in_auckland("status").exit_code == 0
    assert reps(laptop) == reps(desktop) == 3
    assert _found_by_each_answer(desktop) == _found_by_each_answer(laptop)
    with sqlite3.connect(laptop.db) as one, sqlite3.connect(desktop.db) as other:
        settled = [
            db.execute("SELECT day_end, due_day, due FROM reviews ORDER BY reviewed_at").fetchall()
            for db in (one, other)
        ]
    assert settled[0] == settled[1]
    assert [row[0] for row in settled[0]] == [min(pair)[0] for pair in zip(*ends, strict=True)]
    for check in (laptop.cards("rebuild", "--check", now=LATER), in_auckland("rebuild", "--check")):
        assert check.exit_code == 0, check.output


def test_two_machines_answering_a_card_in_the_same_millisecond_keep_both_answers(
    machines: tuple[Machine, Machine],
) -> None:
    """The answers keep their millisecond as their Anki id: another machine's answer with the id of
    one given here is a second answer, not an echo of it."""
    laptop, desktop = machines
    at = "2026-11-27T09:00:00.123456+00:00"
    assert laptop.cards("review", now=at, keys="\n3\nq\n").exit_code == 0
    assert desktop.cards("review", now=at, keys="\n1\nq\n").exit_code == 0
    exchange(machines)
    assert reps(laptop) == reps(desktop) == 2
    assert laptop.cards("rebuild", "--check").exit_code == 0
    assert desktop.cards("rebuild", "--check").exit_code == 0


def phone_package(tmp_path: Path) -> Path:
    """A package exported with scheduling from a phone's collection: three answers to n1/card,
    two of them on 2026-11-20 (09:00 and 16:30 UTC: one study day in UTC, two in Auckland)."""
    from datetime import UTC, datetime, timedelta

    from flashcards import store
    from flashcards.compiler import compile_decks
    from flashcards.export import export_package
    from flashcards.scheduler import answer
    from flashcards.settings import DeckSettings, Settings

    phone = tmp_path / "phone"
    (phone / "decks").mkdir(parents=True)
    (phone / "decks" / "basics.yaml").write_text(DECK, encoding="utf-8")
    db = store.open_collection(phone / "c.db")
    start = datetime(2026, 11, 20, 9, tzinfo=UTC)
    compile_decks(db, phone / "decks", start)
    for at in (start, start + timedelta(hours=7, minutes=30), start + timedelta(days=2)):
        answer(db, "n1/card", 3, at, 3000, Settings(defaults=DeckSettings(enable_fuzzing=False)))
    package = export_package(db, tmp_path / "phone.apkg", with_scheduling=True).path
    db.conn.close()
    return package


def in_zone(monkeypatch: pytest.MonkeyPatch, zone: str, machine: Machine, *args: str) -> Result:
    """Run a command on ``machine`` (at LATER) as if it were in time zone ``zone``; UTC again after."""
    import time

    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        return machine.cards(*args, now=LATER)
    finally:
        monkeypatch.setenv("TZ", "UTC")
        time.tzset()


@pytest.mark.parametrize("chunk", [100_000, 3], ids=["one-batch", "staged"])
def test_answers_a_machine_gave_at_one_instant_are_replayed_in_the_order_it_gave_them(
    machines: tuple[Machine, Machine], chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A script's clock (CARDS_NOW) gives a session's answers one instant: a card back from its
    learning step is answered again at the same time. The other machine takes the lines in in
    the order they were written, not in the order of their random line ids (also when the lines
    are staged and read again from their file)."""
    from flashcards import journal

    monkeypatch.setattr(journal, "_CHUNK_LINES", chunk)
    laptop, desktop = machines
    keys = "\n1\n\n3\n\n1\n\n3\n\n1\n\n3\n\n1\n\n3\nq\n"
    assert laptop.cards("review", "--new", "1", keys=keys).exit_code == 0
    ratings = [line["rating"] for line in journal_lines(laptop) if line.get("card")]
    assert ratings == [1, 3, 1, 3, 1, 3, 1, 3]
    ids = [str(line["id"]) for line in journal_lines(laptop)]
    assert ids != sorted(ids)  # else the order of the ids would hide the fault
    exchange(machines)
    assert _found_by_each_answer(desktop) == _found_by_each_answer(laptop)
    assert laptop.view() == desktop.view()


@pytest.mark.parametrize(
    "damage",
    ["cut", "deleted", "checked-out-older"],
)
def test_lines_this_machine_wrote_and_its_own_file_lost_are_written_again(
    machines: tuple[Machine, Machine], damage: str
) -> None:
    """A crash cut the laptop's last write short, the file was deleted, or an older version of it
    was checked out: the laptop's next command writes the lines it lacks again from its
    collection, says so once, and the desktop gets every answer."""
    laptop, desktop = machines
    own = laptop.repo / "reviews" / "laptop.jsonl"
    assert laptop.cards("review", keys="\n3\n\n3\nq\n").exit_code == 0
    laptop.commit("two answers")
    assert laptop.cards("suspend", "n5/card").exit_code == 0
    assert laptop.cards("status").exit_code == 0  # reads its own file: how long it was
    written = own.read_bytes()
    if damage == "cut":
        own.write_bytes(written[:-40])
    elif damage == "deleted":
        own.unlink()
    else:
        git(laptop.repo, "checkout", "HEAD", "--", "reviews/laptop.jsonl")  # the suspension's line is lost
    first = laptop.cards("status")
    assert first.exit_code == 0
    assert (
        f"{Path('reviews/laptop.jsonl')}: " in first.stderr
        and "written to it again from the collection" in first.stderr
    )
    assert laptop.cards("status").stderr == ""  # once
    lines = journal_lines(laptop)
    ids = [line["id"] for line in lines]
    assert len(ids) == len(set(ids))
    answers = {json.loads(line)["id"] for line in written.decode().splitlines() if '"card"' in line}
    assert len(answers) == 2 and answers <= set(ids)  # each answer's own line again
    assert [line["suspended"] for line in lines if line.get("suspend") == "n5/card"] == [True]
    assert laptop.cards("review", keys="\n3\nq\n", now=LATER).exit_code == 0
    exchange(machines)
    assert reps(desktop) == reps(laptop) == 3
    assert laptop.view() == desktop.view()
    assert desktop.cards("rebuild", "--check").exit_code == 0


def suspended(machine: Machine, card: str) -> int:
    with sqlite3.connect(machine.db) as db:
        return int(db.execute("SELECT suspended FROM cards WHERE id = ?", [card]).fetchone()[0])


def test_a_suspension_line_written_again_keeps_its_time_so_a_later_change_elsewhere_wins(
    machines: tuple[Machine, Machine],
) -> None:
    laptop, desktop = machines
    assert laptop.cards("review", keys="\n3\nq\n").exit_code == 0
    laptop.commit("one answer")
    assert laptop.cards("suspend", "n5/card", now="2026-11-27T10:00:00+00:00").exit_code == 0
    laptop.cards("status", now="2026-11-27T10:00:00+00:00")
    laptop.commit("suspension")
    desktop.pull("origin")
    assert desktop.cards("unsuspend", "n5/card", now="2026-11-27T12:00:00+00:00").exit_code == 0
    git(laptop.repo, "checkout", "HEAD~1", "--", "reviews/laptop.jsonl")  # the suspension's line lost
    assert "written to it again" in laptop.cards("status", now="2026-11-27T13:00:00+00:00").stderr
    again = [line for line in journal_lines(laptop) if line.get("suspend")]
    assert [line["at"][:16] for line in again] == ["2026-11-27T10:00"]
    exchange(machines)
    assert suspended(laptop, "n5/card") == suspended(desktop, "n5/card") == 0  # the 12:00 unsuspension


def test_a_whole_last_line_without_its_newline_is_ended_not_taken_off(
    machines: tuple[Machine, Machine], tmp_path: Path
) -> None:
    """Even by a collection that does not have it (a new one under the same device name)."""
    laptop, _ = machines
    own = laptop.repo / "reviews" / "laptop.jsonl"
    assert laptop.cards("review", keys="\n3\n\n3\nq\n").exit_code == 0
    own.write_bytes(own.read_bytes()[:-1])
    fresh = Machine(laptop.repo, tmp_path / "new-laptop" / "collection.db", "laptop")
    assert fresh.cards("status").stderr == ""
    assert len(journal_lines(laptop)) == 2 and own.read_bytes().endswith(b"}\n")


def test_another_device_name_starts_a_file_of_its_own_without_copying_the_history(
    machines: tuple[Machine, Machine],
) -> None:
    laptop, _ = machines
    assert laptop.cards("review", keys="\n3\n\n3\nq\n").exit_code == 0
    renamed = Machine(laptop.repo, laptop.db, "laptop2")
    assert renamed.cards("status").stderr == ""
    assert not (laptop.repo / "reviews" / "laptop2.jsonl").exists()


def test_undo_lines_of_another_machine_are_not_written_into_this_machines_file(
    machines: tuple[Machine, Machine],
) -> None:
    laptop, desktop = machines
    assert desktop.cards("review", keys="\n3\nu\nq\n").exit_code == 0  # an answer and its undo
    assert laptop.cards("review", keys="\n3\nq\n").exit_code == 0
    exchange(machines)
    (laptop.repo / "reviews" / "laptop.jsonl").unlink()
    assert "1 line of this machine is written to it again" in laptop.cards("status", now=LATER).stderr
    assert [line.get("cancel") for line in journal_lines(laptop)] == [None]


def test_lines_waiting_for_their_card_come_before_new_lines_of_the_same_instant(
    machines: tuple[Machine, Machine],
) -> None:
    laptop, desktop = machines
    deck = laptop.repo / "decks" / "basics.yaml"
    first = "deck: Basics\nnotes:\n  - id: n0\n    front: question 0\n    back: answer 0\n"
    deck.write_text(first + DECK.split("notes:\n", 1)[1], encoding="utf-8")  # n0 the first new card
    assert laptop.cards("review", "--new", "1", keys="\n1\n\n3\nq\n").exit_code == 0
    assert {line["card"] for line in journal_lines(laptop)} == {"n0/card"}
    own, target = laptop.repo / "reviews" / "laptop.jsonl", desktop.repo / "reviews"
    target.mkdir()
    (target / "laptop.jsonl").write_bytes(own.read_bytes())
    desktop.cards("status")  # the answers to n0 wait: the desktop has no n0 yet
    assert laptop.cards("review", "--new", "0", keys="\n1\n\n3\n\n1\nq\n").exit_code == 0
    (target / "laptop.jsonl").write_bytes(own.read_bytes())
    (desktop.repo / "decks" / "basics.yaml").write_bytes(deck.read_bytes())  # the note arrives
    desktop.cards("status")
    assert _found_by_each_answer(desktop) == _found_by_each_answer(laptop)


def test_a_repair_whose_append_failed_is_finished_by_the_next_command(
    machines: tuple[Machine, Machine], monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from flashcards import journal

    laptop, _ = machines
    own = laptop.repo / "reviews" / "laptop.jsonl"
    assert laptop.cards("review", keys="\n3\n\n3\nq\n").exit_code == 0
    assert laptop.cards("suspend", "n5/card").exit_code == 0
    laptop.cards("status")
    written = journal_lines(laptop)
    own.unlink()
    real = journal._append

    def full(path: Path, data: bytes) -> os.stat_result:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(journal, "_append", full)
    assert "cannot write the review journal" in laptop.cards("status").stderr
    monkeypatch.setattr(journal, "_append", real)
    laptop.cards("status")
    assert sorted(line["id"] for line in journal_lines(laptop)) == sorted(line["id"] for line in written)
    assert laptop.cards("status").stderr == ""


def test_a_file_checked_out_older_after_a_session_is_seen_shorter(machines: tuple[Machine, Machine]) -> None:
    laptop, _ = machines
    assert laptop.cards("review", keys="\n3\nq\n").exit_code == 0
    laptop.commit("one")
    laptop.cards("status")
    assert laptop.cards("review", keys="\n3\n\n3\nq\n").exit_code == 0  # appended after the last read
    git(laptop.repo, "checkout", "HEAD", "--", "reviews/laptop.jsonl")
    assert "it is shorter than it was; 2 lines" in laptop.cards("status").stderr
    assert len([line for line in journal_lines(laptop) if "card" in line]) == reps(laptop) == 3


def test_a_suspension_given_before_its_card_was_renamed_follows_the_card(
    machines: tuple[Machine, Machine],
) -> None:
    laptop, desktop = machines
    path = laptop.repo / "decks" / "team.yaml"
    path.write_text(TEAM, encoding="utf-8")
    laptop.cards("review", "--deck", "D", keys="\n3\nq\n")
    assert laptop.cards("suspend", "ds/priority").exit_code == 0
    path.write_text(
        TEAM.replace("      priority:\n", "      cares:\n        renamed_from: priority\n"), encoding="utf-8"
    )
    laptop.cards("status")
    laptop.commit("renamed")
    desktop.pull("origin")
    desktop.cards("status")
    assert suspended(desktop, "ds/cares") == suspended(laptop, "ds/cares") == 1


def test_a_line_another_cards_of_this_machine_is_writing_is_not_taken_for_a_cut_one(
    machines: tuple[Machine, Machine],
) -> None:
    import threading
    import time

    from flashcards import journal

    laptop, _ = machines
    own = laptop.repo / "reviews" / "laptop.jsonl"
    assert laptop.cards("review", keys="\n3\nq\n").exit_code == 0
    laptop.cards("status")
    started = threading.Event()

    def other_cards() -> None:  # holds the lock, as an append does, half way through its line
        with journal._locked(own, create=True) as descriptor:
            assert descriptor is not None
            os.write(descriptor, b'{"cancel":"zz","device":"laptop",')
            started.set()
            time.sleep(0.5)
            os.write(descriptor, b'"id":"cancel-zz"}\n')

    writer = threading.Thread(target=other_cards)
    writer.start()
    started.wait()
    result = laptop.cards("status")
    writer.join()
    assert result.stderr == ""
    assert own.read_bytes().endswith(b'"id":"cancel-zz"}\n')
