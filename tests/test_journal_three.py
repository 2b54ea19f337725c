"""Three machines, one Anki file imported on two or three of them: every machine ends with the
same answers once each, on the same study days."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import Result

from tests.test_journal import (  # noqa: F401
    LATER,
    Machine,
    configure,
    git,
    in_zone,
    machines,
    phone_package,
    reps,
)


def test_third_machine_takes_in_both_imports(machines, tmp_path: Path) -> None:  # noqa: F811
    """Both machines' lines carry the same Anki answers: the third takes each in once."""
    laptop, desktop = machines
    package = phone_package(tmp_path)
    assert laptop.cards("import", str(package), now=LATER).exit_code == 0
    assert desktop.cards("import", str(package), now=LATER).exit_code == 0
    laptop.commit("laptop")
    desktop.commit("desktop")
    tablet_repo = tmp_path / "tablet"
    git(tmp_path, "clone", "-q", str(laptop.repo), str(tablet_repo))
    configure(tablet_repo)
    tablet = Machine(tablet_repo, tmp_path / "tablet-data" / "c.db", "tablet")
    tablet.pull(str(desktop.repo))
    assert tablet.cards("status", now=LATER).exit_code == 0
    assert reps(tablet) == 3


ZONES = {"laptop": "UTC", "desktop": "Pacific/Auckland", "tablet": "Pacific/Honolulu"}


@pytest.mark.parametrize("attempt", range(3))  # the lines' ids are random: their order varies
def test_three_zones_converge(
    machines,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    attempt: int,
) -> None:
    laptop, desktop = machines
    tablet_repo = tmp_path / "tablet"
    git(tmp_path, "clone", "-q", str(laptop.repo), str(tablet_repo))
    configure(tablet_repo)
    tablet = Machine(tablet_repo, tmp_path / "tablet-data" / "c.db", "tablet")
    every = [laptop, desktop, tablet]
    package = phone_package(tmp_path)

    def run(machine: Machine, *args: str) -> Result:
        return in_zone(monkeypatch, ZONES[machine.device], machine, *args)

    for m in every:
        assert run(m, "import", str(package)).exit_code == 0
        m.commit("import")

    def ends(m):
        with sqlite3.connect(m.db) as db:
            return db.execute("SELECT day_end FROM reviews ORDER BY reviewed_at").fetchall()

    before = {m.device: ends(m) for m in every}
    for m in every:  # each pulls the other two, then takes both in at once
        for other in every:
            if other is not m:
                m.pull(str(other.repo))
        assert run(m, "status").exit_code == 0
    after = {m.device: ends(m) for m in every}
    earliest = [min(days) for days in zip(*before.values(), strict=True)]  # each answer's earliest day
    assert after["laptop"] == after["desktop"] == after["tablet"] == earliest
