"""The decks shipped in decks/ check clean, compile to the expected cards, and cover the article."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlite_utils

from flashcards.compiler import check_paths, compile_decks
from tests.conftest import BUNDLED_DECKS

EXPECTED_NOTES = 86
EXPECTED_CARDS = 130


def test_bundled_decks_check_clean() -> None:
    files, problems = check_paths([BUNDLED_DECKS])
    assert problems == []
    assert len(files) == 6


def test_bundled_decks_compile_to_the_expected_count(fresh_db: sqlite_utils.Database) -> None:
    result = compile_decks(fresh_db, BUNDLED_DECKS, datetime(2026, 11, 27, tzinfo=UTC))
    assert (result.notes.added, result.cards.added) == (EXPECTED_NOTES, EXPECTED_CARDS)
    assert result.ids_written == []  # every bundled note has its id: compiling them writes nothing
    decks = {row[0] for row in fresh_db.execute("SELECT DISTINCT deck FROM cards")}
    assert decks == {
        "MLOps Interview::Teams",
        "MLOps Interview::STAR story",
        "MLOps Interview::Scenarios",
        "MLOps Interview::Influence",
        "MLOps Interview::Red flags",
        "MLOps Interview::Rehearsals",
    }


# The article's facts as key phrases (/work/shared/seed/cross-team-collaboration.txt): each must
# be on at least one card, as the terminal shows it (Markdown marks left out).
ARTICLE_FACTS = [
    # the opening
    "intersection of data science, engineering, and operations",
    "different priorities and technical backgrounds",
    "Behavioral",
    # each team's priority, friction and bridge role
    *(
        "Data Scientists",
        "Model accuracy",
        "Want flexibility, hate constraints",
        "Enable experimentation with guardrails",
    ),
    *(
        "Platform/SRE",
        "System reliability",
        "Want stability, resist change",
        "Ensure ML meets production standards",
    ),
    *("Product", "Business outcomes", "Want fast delivery", "Translate ML capabilities to timelines"),
    *("Security", "Compliance", "Want controls", "Build security into ML pipelines"),
    # the interview question and every field of the STAR answer
    "Tell me about a time when you had to work with a team that had different priorities than yours",
    "wanted to deploy a new model weekly",
    "insisted on monthly releases only",
    "DS felt blocked from improving the model",
    "worried about stability",
    "MLOps engineer caught in the middle, both teams frustrated",
    "Find a deployment cadence that satisfied both teams",
    "2-week testing cycle",
    "Weekly model updates improved accuracy by 3%",
    "No additional headcount for either team",
    "Met separately with both teams to understand their core concerns",
    "manual testing bottleneck",
    "respond to data drift quickly",
    "automated testing pipeline, to reduce testing from 2 weeks to 2 days",
    "canary deployment",
    "limit the blast radius of frequent releases",
    "Rollback automation",
    "Platform felt safe with more releases",
    "CI/CD pipeline with automated model validation tests",
    "Shadow deployment",
    "Dashboards",
    "both teams could monitor",
    "Bi-weekly releases with automated safety checks",
    "model deployment frequency went from monthly to bi-weekly",
    "incidents reduced by 60%",
    "satisfaction score improved from 3.2 to 4.5/5",
    "Platform and DS now collaborate on testing criteria",
    "both teams had valid concerns; the conflict was about process, not goals",
    "separating stated positions from underlying interests",
    # each scenario's request, concern, bridge solution and talking point
    "Give us direct access to production infrastructure",
    "Untested code in production risks stability",
    "Self-service deployment with automated guardrails",
    "staging environment that mirrors production",
    "automated tests that run before any production deployment",
    "All models must pass security review before deployment",
    "6-week review cycle blocks iteration",
    "Pre-approved model patterns + continuous compliance checks",
    "approved model architectures and data handling patterns",
    "automated compliance, reducing review to 2 days",
    "ML workloads must not exceed resource quotas",
    "Training jobs need burst capacity",
    "Spot instances for training, reserved for serving",
    "fault-tolerant",
    "3x the capacity at the same cost",
    "didn't impact their reserved capacity",
    "We need this model in production next week",
    "Proper ML deployment takes 4 weeks minimum",
    "Phased rollout with clear milestones",
    "week 1 shadow deployment, week 2 canary rollout, week 3 full deployment",
    "Product got early validation, we got proper testing time",
    # each influence technique: approach, example, audience line
    "Find shared goals",
    "Identify metrics both teams care about",
    "Customer-facing errors",
    "I framed model accuracy as a reliability issue: inaccurate predictions ARE errors from the customer's perspective",
    "Speak their language",
    "Translate ML concepts to their domain",
    "Model deployment is like any service deployment, just with additional artifact types",
    "Think of model updates like feature releases with measurable business impact",
    "Training data is PII that needs the same protection as any database",
    "Build trust incrementally",
    "Start with low-risk wins before big changes",
    "Before proposing automated deployment, I first automated testing",
    "Once Platform saw test coverage improving, they were more open to automated deploys",
    "Make their job easier",
    "Show how your proposal reduces their burden",
    "Automated canary rollback means Platform doesn't get paged for every model issue, only for infrastructure problems",
    # each red flag: what interviewers think, and the better framing
    '"They were wrong"',
    "Can't work with different perspectives",
    "We had different priorities based on our roles",
    '"I escalated to management"',
    "Can't resolve conflicts independently",
    "I facilitated a discussion to find common ground",
    '"I just did what they wanted"',
    "No backbone or technical judgment",
    "I proposed a compromise that addressed their core concern",
    "No concrete outcome",
    "Story might be fabricated",
    "Include specific metrics and timeline",
    # the pro tip
    "the best collaboration stories show empathy for other teams' constraints",
    'saying "I understood why Platform wanted stability" is more powerful than "Platform was too conservative."',
]


def _shown_cards(db: sqlite_utils.Database) -> str:
    from flashcards.lint import shown

    return "\n".join(
        shown(f"{front} {back}").lower() for front, back in db.execute("SELECT front, back FROM cards")
    )


@pytest.mark.parametrize("fact", ARTICLE_FACTS)
def test_every_fact_of_the_article_is_on_a_card(fresh_db: sqlite_utils.Database, fact: str) -> None:
    compile_decks(fresh_db, BUNDLED_DECKS, datetime(2026, 11, 27, tzinfo=UTC))
    assert fact.lower() in _shown_cards(fresh_db)


def test_the_bundled_decks_pass_lint_without_a_silenced_rule() -> None:
    from flashcards.lint import lint_notes

    files, problems = check_paths([BUNDLED_DECKS])
    assert problems == []
    assert lint_notes(n for f in files for n in f.notes) == []
    assert all(not n.lint_ignore for f in files for n in f.notes)


def test_every_bundled_note_has_its_id_and_its_section() -> None:
    import yaml

    files, _ = check_paths([BUNDLED_DECKS])
    for path in sorted(BUNDLED_DECKS.glob("*.yaml")):
        notes = yaml.safe_load(path.read_text())["notes"]
        assert all("id" in note for note in notes), path
    for note in (n for f in files for n in f.notes):
        assert any(tag.startswith("section::") for tag in note.tags), note.id


def test_the_surviving_notes_keep_their_ids() -> None:
    """The notes of the decks before their rewrite that are still there: their history stays."""
    files, _ = check_paths([BUNDLED_DECKS])
    ids = {n.id for f in files for n in f.notes}
    kept = {
        *(f"team-{t}" for t in ("data-scientists", "platform-sre", "product", "security")),
        "teams-intersection",
        "teams-interviewers-assess",
        "teams-question-category",
        "star-question",
        "star-question-cloze",
        "star-structure-learning",
        "star-task-goal",
        "star-result-outcome",
        "star-learning-skill",
        "scen-product-phases",
        "scen-data-scientist-autonomy",
        "inf-find-shared-goals",
        "inf-trust-example",
        "flag-they-were-wrong",
        "flag-pro-tip-example",
    }
    assert kept <= ids


def test_no_verbatim_talking_point_card_is_left(fresh_db: sqlite_utils.Database) -> None:
    compile_decks(fresh_db, BUNDLED_DECKS, datetime(2026, 11, 27, tzinfo=UTC))
    assert fresh_db.execute("SELECT count(*) FROM cards WHERE id LIKE '%/talking-point'").fetchone()[0] == 0


def test_the_example_story_checks_and_lints_clean_against_the_bundled_types() -> None:
    from flashcards.lint import lint_notes

    example = BUNDLED_DECKS.parent / "examples" / "my-story.yaml"
    files, problems = check_paths([example], BUNDLED_DECKS)
    assert problems == []
    assert lint_notes(n for f in files for n in f.notes) == []
    assert {n.type.name for f in files for n in f.notes} == {"rehearsal", "star-part", "cloze"}


def test_the_bundled_decks_teach_the_teams_then_the_skeleton_then_the_atoms_then_rehearsals(
    fresh_db: sqlite_utils.Database,
) -> None:
    from flashcards.gather import new_order

    compile_decks(fresh_db, BUNDLED_DECKS, datetime(2026, 11, 27, tzinfo=UTC))
    join, order = new_order(fresh_db, "in-order")
    rows = fresh_db.execute(
        f"SELECT c.id, c.deck FROM cards c JOIN notes n ON n.id = c.note_id {join} ORDER BY {order}"
    ).fetchall()
    decks = [deck.rsplit("::", 1)[1] for _, deck in rows]
    assert decks[:12] == ["Teams"] * 12  # the table: 4 teams of 3 cards
    assert rows[18][0] == "star-skeleton/rehearse"  # after the teams' opening, before the story's facts
    assert decks[19] == "STAR story"
    assert decks[-6:] == ["Rehearsals"] * 6
    assert decks == sorted(
        decks, key=["Teams", "STAR story", "Scenarios", "Influence", "Red flags", "Rehearsals"].index
    )


def test_a_new_user_meets_the_teams_first(fresh_db: sqlite_utils.Database) -> None:
    from flashcards.states import Rating
    from tests.conftest import drain, make_controller

    compile_decks(fresh_db, BUNDLED_DECKS, datetime(2026, 11, 27, tzinfo=UTC))
    controller = make_controller(fresh_db, now=datetime(2026, 11, 27, 9, tzinfo=UTC))
    first = drain(controller, Rating.EASY)[:8]
    assert first[:7] == [
        "team-data-scientists/priority",
        "team-platform-sre/priority",
        "team-product/priority",
        "team-security/priority",
        "teams-intersection/c1",
        "teams-interviewers-assess/c1",
        "teams-question-category/card",
    ]
    assert first[7] == "star-skeleton/rehearse"
