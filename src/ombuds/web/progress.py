"""Where a dispute is and what comes next, as eBay and AliExpress show it: a stepper
(opened → the seller answers → negotiation → the platform decides → refund).

The steps gather the lifecycle's states (``domain/lifecycle.py``); everything else comes from
its table of transitions: the order of the steps (the order in which the table lists their
states), and which steps are still ahead of a dispute (reachable from its state) or were
skipped (never visited, no longer reachable — the seller accepted at once). A test fails
when the table gains a state that no step gathers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ombuds.domain.disputes import DisputeState as S
from ombuds.domain.lifecycle import TRANSITIONS
from ombuds.wording.i18n import N_

# Each step: its name, its words, and the lifecycle states in which it is happening.
STEPS: tuple[tuple[str, str, frozenset[S]], ...] = (
    ("seller_answers", N_("The seller answers"), frozenset({S.awaiting_seller})),
    ("negotiation", N_("Negotiation"), frozenset({S.negotiating})),
    ("platform_decides", N_("The platform decides"), frozenset({S.escalated, S.decided})),
    ("refund", N_("Refund"), frozenset({S.agreed, S.awaiting_return, S.return_in_transit, S.closed})),
)
OPENED = N_("Opened")
# The last step says how the dispute ended, once it has.
ENDED = {"refunded_full": N_("Refunded"), "refunded_partial": N_("Partly refunded"),
         "replaced": N_("Replaced"), "no_refund": N_("Closed without refund"),
         "withdrawn": N_("Withdrawn")}
STATUS = {"done": N_("done"), "current": N_("now"), "next": N_("to come"), "skipped": N_("skipped")}


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    label: str  # a catalogue message
    status: str  # done | current | next | skipped


def states_in_table() -> set[S]:
    return {S(t.state) for t in TRANSITIONS} | {S(t.to) for t in TRANSITIONS}


def reachable(start: S) -> set[S]:
    """Every state the table can still lead to from ``start`` (``start`` included)."""
    seen, todo = {start}, [start]
    while todo:
        here = todo.pop()
        for t in TRANSITIONS:
            if t.state is here and t.to not in seen:
                seen.add(S(t.to))
                todo.append(S(t.to))
    return seen


def table_order() -> list[S]:
    """The states in the order the table lists them (where each first appears as the state a
    row starts from), the states no row leaves (``closed``) last: the lifecycle's own order."""
    found: list[S] = []
    for t in TRANSITIONS:
        if t.state not in found:
            found.append(S(t.state))
    return found + sorted(states_in_table() - set(found))


def ordered_steps() -> list[tuple[str, str, frozenset[S]]]:
    order = table_order()
    return sorted(STEPS, key=lambda step: min(order.index(s) for s in step[2]))


def progress(state: str, outcome: str | None, visited: Iterable[str]) -> list[Step]:
    """The stepper of a dispute in ``state`` that has been through ``visited`` states."""
    now = S(state)
    been = {S(v) for v in visited if v} | {now}
    ahead = reachable(now) - {now} if now is not S.closed else set()
    steps = [Step("opened", OPENED, "done")]
    passed = False
    ordered = ordered_steps()
    current_at = next(i for i, (_, _, states) in enumerate(ordered) if now in states)
    for i, (name, label, states) in enumerate(ordered):
        if i == len(ordered) - 1 and now is S.closed and outcome in ENDED:
            label = ENDED[outcome]
        if i == current_at:
            status = "done" if now is S.closed else "current"
            passed = True
        elif not passed:
            status = "done" if states & been else "skipped"
        else:
            status = "next" if states & ahead else "skipped"
        steps.append(Step(name, label, status))
    return steps
