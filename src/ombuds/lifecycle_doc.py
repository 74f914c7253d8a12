"""Renders the lifecycles — disputes, complaints, orders — as Markdown from the engine's tables.

For each table run by :mod:`ombuds.domain.engine`, a transitions table, a timers table and a
Mermaid state diagram are read from its ``transitions`` and ``timers``, so the docs cannot
say what the code does not do.

``python -m ombuds.lifecycle_doc`` prints the section; ``python -m ombuds.lifecycle_doc
docs/architecture.md`` rewrites the part of that file between the markers.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from ombuds.domain import complaints, orders
from ombuds.domain.disputes import Actor
from ombuds.domain.engine import Table, Timer, Transition
from ombuds.domain.lifecycle import DISPUTES, TIMERS, TRANSITIONS, _confirm_return_by
from ombuds.domain.policy import DEFAULT_POLICY, Policy

START = "<!-- lifecycle:start -->"
END = "<!-- lifecycle:end -->"

# The dispute field a timer counts from, in words.
_SINCE = {
    "state_entered_at": "entering",
    "first_seller_response_at": "the seller's first response",
    "escalated_at": "escalation",
    "return_shipped_at": "the buyer shipped the return",
    "return_delivered_at": "the carrier delivered the return",
}

# Due functions that are not built from lifecycle's ``_after`` / ``_unless`` helpers.
_HAND_WRITTEN: dict[Callable, Callable[[Policy], str]] = {
    _confirm_return_by: lambda p: (
        f"{_days(p.return_confirm_after_shipping_days)} (return_confirm_after_shipping_days) after "
        f"{_SINCE['return_shipped_at']}, or {_days(p.return_confirm_after_delivery_days)} "
        f"(return_confirm_after_delivery_days) after {_SINCE['return_delivered_at']}, "
        "whichever is earlier"),
    complaints._answer_by: lambda p: (
        f"{_days(p.complaint_answer_days)} (complaint_answer_days) after filing, unless it already passed"),
    complaints._close_by: lambda p: f"{_days(complaints.CLOSE_AFTER_ANSWER.days)} after the answer",
    orders._protection_ends: lambda p: (
        f"at `protection_ends_at`: {_days(p.protection_days)} (protection_days) after shipping, "
        "plus the seller's extensions"),
    orders._window_ends: lambda p: (
        f"at `dispute_window_ends_at`: {_days(p.dispute_window_after_completion_days)} "
        "(dispute_window_after_completion_days) after completion"),
}

# How each aggregate comes to be, for the diagram's first arrow.
_BORN = {"dispute": "awaiting_seller : open", "complaint": "open : file", "order": "paid : paid at checkout"}


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _timer_actions(*, timers: Iterable[Timer]) -> set:
    return {t.action for t in timers}


def who(*, transition: Transition, timers: Iterable[Timer] = TIMERS) -> str:
    """The actors of a row in words; the system is a timer or the immediate next step."""
    if Actor.system in transition.actors:
        return "system (timer)" if transition.action in _timer_actions(timers=timers) else "system (at once)"
    return " or ".join(sorted(a.value for a in transition.actors))


def describe_due(*, due: Callable, policy: Policy = DEFAULT_POLICY) -> str:
    """When a timer falls due, from the policy field names its due function reads."""
    if due in _HAND_WRITTEN:
        return _HAND_WRITTEN[due](policy)
    cells = inspect.getclosurevars(due).nonlocals
    if {"start", "days"} <= cells.keys():  # lifecycle._after(start, days)
        n = getattr(policy, cells["days"])
        return f"{_days(n)} ({cells['days']}) after {_SINCE.get(cells['start'], cells['start'])}"
    if {"flag", "due"} <= cells.keys():  # lifecycle._unless(flag, due)
        return f"{describe_due(due=cells['due'], policy=policy)}, unless {cells['flag']} is already set"
    raise ValueError(f"cannot describe the due time of {due!r}; add it to lifecycle_doc._HAND_WRITTEN")


def transitions_table(*, transitions: Iterable[Transition] = TRANSITIONS,
                      timers: Iterable[Timer] = TIMERS) -> str:
    """One Markdown row per transition: state, action, who, → state, rule, what it means, the
    command it takes and who is e-mailed about it."""
    timers = tuple(timers)
    return _table(
        ("state", "action", "who", "→ state", "rule", "what it means", "command", "told"),
        ((f"`{t.state.value}`", f"`{t.action.value}`", who(transition=t, timers=timers),
          f"`{t.to.value}`", t.rule, t.doc, f"`{t.command.__name__}`" if t.command else "—",
          ", ".join(role.value for role in sorted(t.tell)) or "—") for t in transitions))


def _fired_to(timer: Timer, transitions: Iterable[Transition]) -> str:
    targets = [t.to.value for t in transitions if t.state is timer.state and t.action is timer.action]
    return f"`{timer.action.value}` → " + " / ".join(f"`{s}`" for s in targets)


def _against(timer: Timer, policy: Policy) -> str:
    """Whom the timer decides against; whoever it names is reminded before it runs out (R28)."""
    if timer.reminded is None:
        return "—"
    whom = timer.against.value if timer.against else f"nobody; {timer.reminded}"
    return f"{whom}; reminded {policy.reminder_lead_hours} hours (reminder_lead_hours) before"


def timers_table(*, timers: Iterable[Timer] = TIMERS, transitions: Iterable[Transition] = TRANSITIONS,
                 policy: Policy = DEFAULT_POLICY) -> str:
    """One Markdown row per timer, its due time in the policy's words and default numbers."""
    transitions = tuple(transitions)
    return _table(
        ("state", "deadline", "after what", "fires", "decides against", "rule", "what it means"),
        ((f"`{t.state.value}`", f"`{t.deadline}`", describe_due(due=t.due, policy=policy),
          _fired_to(t, transitions), _against(t, policy), t.rule, t.doc)
         for t in timers))


def state_diagram(*, transitions: Iterable[Transition] = TRANSITIONS,
                  timers: Iterable[Timer] = TIMERS, table: Table = DISPUTES) -> str:
    """A Mermaid ``stateDiagram-v2``; parallel rows share one arrow, timer actions are marked ⏱."""
    timed = _timer_actions(timers=timers)
    edges: dict[tuple[str, str], list[str]] = {}
    for t in transitions:
        label = f"⏱ {t.action.value}" if t.action in timed else t.action.value
        labels = edges.setdefault((t.state.value, t.to.value), [])
        if label not in labels:
            labels.append(label)
    lines = ["```mermaid", "stateDiagram-v2", f"    [*] --> {_BORN[table.name]}"]
    lines += [f"    {a} --> {b} : {', '.join(labels)}" for (a, b), labels in edges.items()]
    lines += [f"    {s.value} --> [*]" for s in table.states if s in table.final]
    lines += ["```"]
    return "\n".join(lines) + "\n"


def _one(table: Table, title: str, policy: Policy) -> str:
    return (
        f"#### {title}\n\n##### Transitions\n\n"
        + transitions_table(transitions=table.transitions, timers=table.timers)
        + "\n##### Timers\n\n"
        + timers_table(timers=table.timers, transitions=table.transitions, policy=policy)
        + "\n##### State diagram\n\n"
        + state_diagram(transitions=table.transitions, timers=table.timers, table=table))


def render(*, policy: Policy = DEFAULT_POLICY) -> str:
    """The whole generated section (without the markers): the three tables the engine runs."""
    return (
        "<!-- generated from the engine's tables by `make docs`; do not edit by hand -->\n\n"
        "One transitions row per entry of a table's `TRANSITIONS`: where a state and action have "
        "several rows, the first whose condition holds applies. `platform` is the marketplace key; "
        "`system (at once)` runs in the same transaction as the action that reached its state. "
        "`command` is the details the action takes; `told` is who is e-mailed about it, less the "
        "person who acted (R36). "
        "One timers row per entry of `TIMERS`, with the default policy's numbers: the running "
        "deadline is the earliest due timer of the state, and moving on to another state cancels it. "
        "A timer that names someone to remind gives a reminder first (R28): a `reminder` timeline "
        "entry and a `<table>.deadline_reminder` (complaints: `complaint.answer_reminder`) outbox "
        "event.\n\n"
        + _one(DISPUTES, "Disputes (`domain/lifecycle.py`)", policy)
        + "\n" + _one(complaints.COMPLAINTS, "Complaints, R24 (`domain/complaints.py`)", policy)
        + "\n" + _one(orders.ORDERS, "Orders (`domain/orders.py`)", policy)
    )


def section_of(*, text: str) -> str:
    """What a document holds between the lifecycle markers."""
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the document needs the markers {START} and {END}, in that order")
    return text[start + len(START):end].strip("\n") + "\n"


def replace_section(*, text: str, section: str) -> str:
    """The document with ``section`` between its lifecycle markers."""
    section_of(text=text)  # checks the markers
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{section.strip(chr(10))}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    """Print the section, or rewrite it inside each file named on the command line."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        sys.stdout.write(render())
        return 0
    for name in argv:
        path = Path(name)
        path.write_text(replace_section(text=path.read_text(encoding="utf-8"), section=render()),
                        encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
