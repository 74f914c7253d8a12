"""Renders the complaint lifecycle (R24) as Markdown from the code's own table.

``python -m ombuds.trust_doc`` prints it; ``python -m ombuds.trust_doc docs/trust.md``
rewrites the part of that file between the markers, so the docs cannot drift.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ombuds.domain.complaints import CLOSE_AFTER_ANSWER, TIMERS, TRANSITIONS

START = "<!-- complaints:start -->"
END = "<!-- complaints:end -->"

_DUE = {
    "answer_by": "`complaint_answer_days` (policy, 15) after filing; arbitrators reminded "
                 "`reminder_lead_hours` before",
    "close_by": f"{CLOSE_AFTER_ANSWER.days} days after the answer",
}


def section() -> str:
    rows = ["| state | action | who | to | what it means |", "|---|---|---|---|---|"]
    for t in TRANSITIONS:
        who = ", ".join(sorted(a.value for a in t.actors))
        rows.append(f"| `{t.state.value}` | `{t.action.value}` | {who} | `{t.to.value}` | {t.doc} |")
    timers = ["| state | deadline | due | fires |", "|---|---|---|---|"]
    for timer in TIMERS:
        timers.append(f"| `{timer.state.value}` | `{timer.deadline}` | {_DUE[timer.deadline]} | "
                      f"`{timer.action.value}`: {timer.doc} |")
    return "\n".join([START, *rows, "", *timers, END])


def rewrite(path: Path) -> None:
    text = path.read_text()
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    path.write_text(before + section() + after)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        rewrite(Path(sys.argv[1]))
    else:
        print(section())
