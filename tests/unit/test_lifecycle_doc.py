"""The lifecycle in the docs is rendered from the lifecycle table itself, so it cannot drift."""

from __future__ import annotations

from pathlib import Path

from ombuds import lifecycle_doc
from ombuds.domain.lifecycle import TIMERS, TRANSITIONS
from ombuds.domain.policy import Policy

ARCHITECTURE = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


def _rows(table: str) -> list[list[str]]:
    """The body rows of a Markdown table, as lists of cells (header and rule skipped)."""
    lines = [line for line in table.splitlines() if line.startswith("| ")][1:]
    return [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines]


def test_the_transitions_table_has_one_row_per_transition():
    rows = _rows(lifecycle_doc.transitions_table())
    assert len(rows) == len(TRANSITIONS)
    for row, t in zip(rows, TRANSITIONS, strict=True):
        assert row[:2] == [f"`{t.state.value}`", f"`{t.action.value}`"]
        assert row[3] == f"`{t.to.value}`" and row[4] == t.rule


def test_the_timers_table_has_one_row_per_timer():
    rows = _rows(lifecycle_doc.timers_table())
    assert len(rows) == len(TIMERS)
    for row, timer in zip(rows, TIMERS, strict=True):
        assert row[:2] == [f"`{timer.state.value}`", f"`{timer.deadline}`"]
        assert row[3].startswith(f"`{timer.action.value}` → ")


def test_timers_are_described_by_the_policy_fields_they_count():
    rows = {row[1]: row for row in _rows(lifecycle_doc.timers_table())}
    assert rows["`respond_by`"][2] == "5 days (seller_response_days) after entering"
    assert "15 days (return_confirm_after_delivery_days)" in rows["`confirm_return_by`"][2]
    shorter = _rows(lifecycle_doc.timers_table(policy=Policy(seller_response_days=3)))
    assert shorter[0][2] == "3 days (seller_response_days) after entering"


def test_the_state_diagram_has_an_arrow_for_every_change_of_state():
    diagram = lifecycle_doc.state_diagram()
    assert diagram.startswith("```mermaid\nstateDiagram-v2\n")
    for t in TRANSITIONS:
        assert f"    {t.state.value} --> {t.to.value} : " in diagram


def test_rewriting_a_document_changes_only_the_marked_section():
    doc = f"# Title\n\nbefore\n{lifecycle_doc.START}\nstale\n{lifecycle_doc.END}\nafter\n"
    rewritten = lifecycle_doc.replace_section(text=doc, section=lifecycle_doc.render())
    assert rewritten.startswith("# Title\n\nbefore\n") and rewritten.endswith(f"{lifecycle_doc.END}\nafter\n")
    assert "stale" not in rewritten
    assert lifecycle_doc.section_of(text=rewritten) == lifecycle_doc.render()
    assert lifecycle_doc.replace_section(text=rewritten, section=lifecycle_doc.render()) == rewritten


def test_architecture_doc_shows_the_lifecycle_the_code_has_now():
    text = ARCHITECTURE.read_text(encoding="utf-8")
    assert lifecycle_doc.section_of(text=text) == lifecycle_doc.render(), (
        "docs/architecture.md is out of date with ombuds.domain.lifecycle; run `make docs`")
