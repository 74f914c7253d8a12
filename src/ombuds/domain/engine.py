"""The one lifecycle engine: it runs a table of transitions and timers for any aggregate.

Three tables run on it — disputes (:mod:`ombuds.domain.lifecycle`), complaints
(:mod:`ombuds.domain.complaints`) and orders (:mod:`ombuds.domain.orders`). A table is data:
rows ``(state, action, actors) → to`` with an effect, an optional ``guard`` (may this actor do
it now? — R27's ``allowed_actions`` reads it), an optional ``when`` (which of several rows
applies, given the command), the command the row takes, who is told and the words that name
it; and timers, each belonging to a state and due at a time derived from the aggregate, so a
timer is cancelled by the state moving on, never by hand.

An action is checked in one order for every table: may this actor ever take it (403) → is it
possible in this state (409) → may this actor take it now (403, then the guard's 409) → are
its details right (422) → which row applies. Applying a row runs its effect, enters the new
state (recomputing the one running deadline and its R28 reminder), and — for tables that keep
a timeline — appends one timeline entry (R25) and one outbox event.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from ombuds.domain.disputes import Actor
from ombuds.domain.errors import Conflict, DomainError, Forbidden
from ombuds.domain.events import Event, TimelineEntry
from ombuds.domain.policy import Policy

# Returns why not (a message, or the error itself when it has a code of its own), or None.
Guard = Callable[[Any, Actor, Policy], "str | DomainError | None"]
When = Callable[[Any, Actor, Any, Policy], bool]
Effect = Callable[[Any, Actor, "int | None", Any, datetime, Policy], None]
Due = Callable[[Any, Policy], "datetime | None"]


def nothing(agg: Any, actor: Actor, actor_id: int | None, cmd: Any, now: datetime, p: Policy) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Transition:
    """One row: in ``state``, ``actors`` may take ``action``; the aggregate moves ``to``.

    ``command`` is the command type the action takes (a route must build exactly that;
    ``None``: no details); ``tell`` names who is e-mailed about it (the notification
    audience). Its words — button, timeline entry, e-mail — are catalogue messages keyed by
    the action's name in ``web/words.py`` and ``emails/notices.py``; a test holds them to
    the table."""

    state: StrEnum
    action: StrEnum
    actors: frozenset[Actor]
    to: StrEnum
    effect: Effect = nothing
    guard: Guard | None = None
    when: When | None = None
    rule: str = ""
    doc: str = ""
    command: type | None = None
    details_optional: bool = False  # the command may be left out (accept, a message)
    tell: frozenset[Actor] = frozenset()


@dataclass(frozen=True, slots=True)
class Timer:
    """A deadline of ``state``: at ``due`` the system takes ``action``. ``against`` is the
    party it decides against; whoever ``reminded`` names is told ahead of it (R28)."""

    state: StrEnum
    deadline: str  # the name people see: "respond_by"
    action: StrEnum
    due: Due
    against: Actor | None
    rule: str
    doc: str
    reminds: str | None = None  # whom to remind when it decides against nobody ("arbitrators")

    @property
    def reminded(self) -> str | None:
        return self.reminds or (self.against.value if self.against else None)


def _no_extra(agg: Any, *args: Any) -> list[Event]:
    return []


@dataclass(frozen=True, slots=True)
class Table:
    """A lifecycle: its rows, its timers and what differs between aggregates.

    ``at_once`` maps a transient state to the system action taken as soon as it is entered;
    ``final`` states have no timers and take no action. ``keeps_timeline``: the aggregate
    stores its running deadline (``deadline``, ``deadline_at``, ``reminder_at``,
    ``state_entered_at``) and gets a timeline entry and an outbox event per row applied;
    otherwise (orders) the effects emit the events and the deadline is computed when asked."""

    name: str  # "dispute": event names are "dispute.<action>"
    aggregate: type
    states: type[StrEnum]
    actions: type[StrEnum]
    transitions: tuple[Transition, ...]
    timers: tuple[Timer, ...]
    final: frozenset[StrEnum]
    state_words: Callable[[Any], str] = str
    at_once: dict[StrEnum, StrEnum] = field(default_factory=dict)
    keeps_timeline: bool = True
    stamp_events: bool = True  # events carry the time they happened (timers fire late)
    reminder_event: str = "deadline_reminder"
    # The aggregate and the action are the table's own types, which the engine cannot name.
    validate: Callable[[Any, Any, Actor, Any, Policy], Any] = lambda agg, action, actor, cmd, p: cmd
    details: Callable[[Any, Transition, Any], dict] = lambda agg, row, cmd: command_details(cmd)
    event_data: Callable[..., dict] = lambda agg, what, **extra: {"state": agg.state.value, "action": what, **extra}
    reminder_data: Callable[[Any, Timer], dict] | None = None
    closing_events: Callable[[Any, datetime], list[Event]] = _no_extra
    not_now: Callable[[Any, Any, Actor, Policy], DomainError] | None = None
    no_row: Callable[[Any, Any], str] = lambda agg, action: f"'{action.value}' does not apply now."

    def __post_init__(self) -> None:
        _TABLES[self.aggregate] = _TABLES[self.actions] = self

    def rows_for(self, state: StrEnum, action: StrEnum) -> list[Transition]:
        return [t for t in self.transitions if t.state is state and t.action is action]

    @property
    def person_actions(self) -> tuple[StrEnum, ...]:
        """Actions a person takes (the system's are timers and next steps)."""
        return tuple(a for a in self.actions
                     if not any(a is t.action and Actor.system in t.actors for t in self.transitions))

    @property
    def timer_actions(self) -> frozenset[StrEnum]:
        return frozenset(t.action for t in self.timers)


_TABLES: dict[type, Table] = {}  # by aggregate type and by action type; filled as tables are built


def table_of(agg_or_action: Any) -> Table:
    """The table that runs this aggregate (or that this action belongs to)."""
    return _TABLES[type(agg_or_action)]


def tables() -> tuple[Table, ...]:
    """Every table built so far, each once, in the order they were built."""
    return tuple(dict.fromkeys(_TABLES.values()))


def command_details(cmd: Any) -> dict:
    if cmd is None:
        return {}
    return {k: (v.value if hasattr(v, "value") else v) for k, v in
            ((f, getattr(cmd, f)) for f in cmd.__slots__)}


def _verb(action: StrEnum) -> str:
    return action.value.replace("_", " ")


def check_may_ever(action: StrEnum, actor: Actor) -> None:
    """Permissions before state: an actor whom no row of the table lets take this action (the
    arbitrator accepting for the seller, the marketplace without On-Behalf-Of, a party
    reporting a carrier delivery) is refused 403, whatever state the aggregate is in."""
    table = table_of(action)
    if actor is not Actor.system and not any(t.action is action and actor in t.actors for t in table.transitions):
        raise Forbidden("not_your_action", f"As the {actor.value} you cannot {_verb(action)} a {table.name}.")


def act(agg: Any, action: StrEnum, actor: Actor, actor_id: int | None, cmd: Any = None, *,
        now: datetime, policy: Policy) -> None:
    """Apply one action of the aggregate's table, or raise why it cannot be applied."""
    table = table_of(agg)
    check_may_ever(action, actor)
    rows = table.rows_for(agg.state, action)
    if not rows:
        if table.not_now is not None:
            raise table.not_now(agg, action, actor, policy)
        raise Conflict("action_not_allowed",
                       f"'{_verb(action)}' is not possible now: the {table.name} is "
                       f"{table.state_words(agg.state)}.", None, state=agg.state.value,
                       allowed_actions=[a.value for a in allowed_actions(agg, actor, policy)])
    rows = [t for t in rows if actor in t.actors]
    if not rows:
        raise Forbidden("not_your_action", f"As the {actor.value} you cannot {_verb(action)} this {table.name}.")
    why_not = rows[0].guard(agg, actor, policy) if rows[0].guard else None
    if isinstance(why_not, DomainError):
        raise why_not
    if why_not:
        raise Conflict("action_not_allowed", why_not, None, state=agg.state.value)
    expected = rows[0].command
    if expected is not None and not isinstance(cmd, expected) and not (cmd is None and rows[0].details_optional):
        raise DomainError("details_required", f"'{action.value}' needs its details.", None)
    cmd = table.validate(agg, action, actor, cmd, policy)
    row = next((t for t in rows if t.when is None or t.when(agg, actor, cmd, policy)), None)
    if row is None:
        raise Conflict("action_not_allowed", table.no_row(agg, action), None, state=agg.state.value)
    _apply(table, agg, row, actor, actor_id, cmd, now, policy)
    if agg.state in table.at_once:
        act(agg, table.at_once[agg.state], Actor.system, None, None, now=now, policy=policy)


def _apply(table: Table, agg: Any, row: Transition, actor: Actor, actor_id: int | None, cmd: Any,
           now: datetime, policy: Policy) -> None:
    before = agg.state
    if not table.keeps_timeline:  # the effect's events tell the state entered
        agg.state = row.to
        row.effect(agg, actor, actor_id, cmd, now, policy)
        return
    deadline, deadline_at = agg.deadline, agg.deadline_at
    row.effect(agg, actor, actor_id, cmd, now, policy)
    enter(agg, row.to, now, policy)
    agg.new_timeline.append(TimelineEntry(now, actor, actor_id, row.action, before, agg.state,
                                          deadline, deadline_at, table.details(agg, row, cmd)))
    agg.new_events.append(Event(f"{table.name}.{row.action.value}", table.name, agg.id or 0,
                                table.event_data(agg, row.action.value, from_state=before.value),
                                now if table.stamp_events else None))
    if agg.state in table.final:
        agg.new_events.extend(table.closing_events(agg, now))


def enter(agg: Any, state: StrEnum, now: datetime, policy: Policy) -> None:
    """Enter ``state`` (or stay in it) and recompute the one running deadline and its reminder."""
    if state is not agg.state or agg.state_entered_at is None:
        agg.state, agg.state_entered_at = state, now
    running = running_timer(agg, policy)
    agg.deadline, agg.deadline_at = (running[0].deadline, running[1]) if running else (None, None)
    agg.reminder_at = None
    if (running and running[0].reminded and agg.reminded_deadline_at != agg.deadline_at
            and agg.deadline_at > now):
        agg.reminder_at = max(agg.deadline_at - policy.reminder_lead, now)  # R28


def running_timer(agg: Any, policy: Policy) -> tuple[Timer, datetime] | None:
    """The one deadline running now: the earliest due timer of the aggregate's state."""
    best: tuple[Timer, datetime] | None = None
    for timer in table_of(agg).timers:
        if timer.state is agg.state:
            due = timer.due(agg, policy)
            if due is not None and (best is None or due < best[1]):
                best = (timer, due)
    return best


def _remind(table: Table, agg: Any) -> None:
    """R28: tell whoever the deadline concerns that it is near; once per deadline."""
    timer = next(t for t in table.timers if t.state is agg.state and t.deadline == agg.deadline)
    at = agg.reminder_at
    agg.reminder_at, agg.reminded_deadline_at = None, agg.deadline_at
    agg.new_timeline.append(TimelineEntry(at, Actor.system, None, "reminder", agg.state, agg.state,
                                          agg.deadline, agg.deadline_at, {"to": timer.reminded}))
    data = table.reminder_data(agg, timer) if table.reminder_data else table.event_data(agg, "reminder")
    agg.new_events.append(Event(f"{table.name}.{table.reminder_event}", table.name, agg.id or 0, data,
                                at if table.stamp_events else None))


def fire_next(agg: Any, *, now: datetime, policy: Policy) -> tuple[str, datetime] | None:
    """Apply the aggregate's next reminder or timer if it is due by ``now``, at its own time.
    Returns the deadline that fired and when (a reminder fires no deadline: ``("", at)``),
    or None when nothing is due."""
    table = table_of(agg)
    if agg.state in table.final:
        return None
    if not table.keeps_timeline:
        running = running_timer(agg, policy)
        if running is None or running[1] > now:
            return None
        act(agg, running[0].action, Actor.system, None, None, now=running[1], policy=policy)
        return running[0].deadline, running[1]
    if agg.due_at is None or agg.due_at > now:
        return None
    if agg.reminder_at is not None and agg.reminder_at <= agg.deadline_at:
        at = agg.reminder_at
        _remind(table, agg)
        return "", at
    timer = next(t for t in table.timers if t.state is agg.state and t.deadline == agg.deadline)
    at = agg.deadline_at
    act(agg, timer.action, Actor.system, None, None, now=at, policy=policy)
    return timer.deadline, at


def fire_due(agg: Any, *, now: datetime, policy: Policy) -> list[str]:
    """Apply every reminder and timer due by ``now``, each at its own time, in order.
    Returns the deadlines that fired (reminders are not deadlines)."""
    fired = []
    while (step := fire_next(agg, now=now, policy=policy)) is not None:
        if step[0]:
            fired.append(step[0])
    return fired


def as_of(agg: Any, *, now: datetime, policy: Policy) -> Any:
    """The aggregate as it stands at ``now``: deadlines that passed but were not swept yet are
    applied to a copy, so what a reader sees (state, allowed actions) is never stale."""
    if agg.deadline_at is None or agg.deadline_at > now:
        return agg
    projected = copy.deepcopy(agg)
    fire_due(projected, now=now, policy=policy)
    return projected


def allowed_actions(agg: Any, actor: Actor, policy: Policy) -> list[StrEnum]:
    """R27: what this caller may do now, read from the table."""
    found: list[StrEnum] = []
    for t in table_of(agg).transitions:
        if (t.state is agg.state and actor in t.actors and Actor.system not in t.actors
                and t.action not in found and (t.guard is None or t.guard(agg, actor, policy) is None)):
            found.append(t.action)
    return found
