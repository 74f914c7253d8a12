"""Every action, state, deadline and event of the three lifecycle tables has its words, in every
language, and its route: the tables are the one list, the pages, e-mails and routes follow it.

A new row without its button, timeline entry, e-mail phrase or translation fails here, instead
of showing a raw name or a wrong sentence to a buyer.
"""

from __future__ import annotations

import ast
import inspect
from datetime import UTC, datetime

import pytest
from babel.messages.pofile import read_po

from ombuds.api import routes_disputes as api_disputes
from ombuds.api import routes_trust as api_trust
from ombuds.domain import commands as c
from ombuds.domain import engine
from ombuds.domain.complaints import COMPLAINTS
from ombuds.domain.disputes import Actor
from ombuds.domain.engine import Table
from ombuds.domain.errors import DomainError
from ombuds.domain.lifecycle import DISPUTES, STATE_WORDS
from ombuds.domain.orders import ORDERS, Order, OrderLine
from ombuds.domain.policy import DEFAULT_POLICY
from ombuds.emails import notices
from ombuds.emails.catalogue import LOCALES, languages
from ombuds.web import routes_disputes as web_disputes
from ombuds.wording import words
from ombuds.wording.i18n import CATALOGUES, LANGUAGES

PAGE_ACTORS = {Actor.buyer, Actor.seller, Actor.arbitrator}  # who acts on the dispute page
PARTIES = ("buyer", "seller")


def _person_actions(table: Table) -> set:
    return {t.action for t in table.transitions if Actor.system not in t.actors}


def _catalogue(path) -> dict:
    with open(path, "rb") as f:
        return {m.id: m for m in read_po(f) if m.id}


def _untranslated(msgids: set[str], catalogue: dict) -> list[str]:
    return sorted(m for m in msgids
                  if m not in catalogue or not catalogue[m].string or catalogue[m].fuzzy)


# Disputes: the words of every state, action, event and deadline ----------------------------

def test_every_dispute_state_has_its_words_on_pages_in_emails_and_in_errors():
    for state in DISPUTES.states:
        assert state.value in words.STATES, f"web/words.py STATES lacks {state.value}"
        assert state.value in notices.STATE, f"emails/notices.py STATE lacks {state.value}"
        assert state in STATE_WORDS, f"lifecycle.STATE_WORDS lacks {state.value}"


def test_every_dispute_action_has_its_timeline_entry_button_and_confirmation():
    for action in DISPUTES.actions:
        assert action.value in words.EVENTS, f"web/words.py EVENTS (timeline) lacks {action.value}"
    for action in _person_actions(DISPUTES):
        assert action.value in words.ACTIONS, f"web/words.py ACTIONS (button) lacks {action.value}"
    on_page = {t.action for t in DISPUTES.transitions if PAGE_ACTORS & t.actors}
    for action in on_page:
        assert action in web_disputes.DONE, f"web/routes_disputes.py DONE lacks {action.value}"


def test_every_dispute_action_told_to_someone_has_its_email_words():
    told = {t.action.value for t in DISPUTES.transitions if t.tell}
    for what in told | {"open", "reminder", "closed", "evidence_added"}:
        assert what in notices.DISPUTE_HAPPENED, f"emails/notices.py DISPUTE_HAPPENED lacks {what}"


def test_a_dispute_action_without_email_words_is_an_error_not_another_sentence():
    event = notices.OutboxEvent(1, "dispute.unheard_of", "dispute", 1, {"action": "unheard_of"},
                                datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(KeyError):
        notices._happened(event)


def test_every_deadline_is_worded_for_each_party_on_pages_and_in_emails():
    for timer in DISPUTES.timers:
        name = timer.deadline
        assert name in words.DEADLINE_SHORT, f"web/words.py DEADLINE_SHORT lacks {name}"
        for role in PARTIES:
            assert (name, role) in words.DEADLINES or (name, None) in words.DEADLINES, (name, role)
            assert (name, role) in notices.DEADLINE_TODO or (name, None) in notices.DEADLINE_TODO, (name, role)
    for timer in ORDERS.timers:
        for role in PARTIES:
            assert ((timer.deadline, role) in notices.DEADLINE_TODO
                    or (timer.deadline, None) in notices.DEADLINE_TODO), (timer.deadline, role)


def test_every_order_state_has_its_words():
    for state in ORDERS.states:
        assert state.value in words.ORDER_STATES, f"web/words.py ORDER_STATES lacks {state.value}"


# Translations: every word the tables need, in every language ------------------------------

def _page_words() -> set[str]:
    found = {words.STATES[s.value] for s in DISPUTES.states}
    found |= {words.ORDER_STATES[s.value] for s in ORDERS.states}
    found |= {words.EVENTS[a.value] for a in DISPUTES.actions}
    found |= {words.ACTIONS[a.value] for a in _person_actions(DISPUTES)}
    found |= {text for (name, _), text in words.DEADLINES.items()}
    found |= {words.DEADLINE_SHORT[t.deadline] for t in DISPUTES.timers}
    found |= set(web_disputes.DONE.values())
    return found


def _email_words() -> set[str]:
    found = {notices.STATE[s.value] for s in DISPUTES.states}
    found |= {notices.DISPUTE_HAPPENED[a.value] for a in DISPUTES.actions if a.value in notices.DISPUTE_HAPPENED}
    found |= {text for pair in notices.DEADLINE_TODO.values() for text in pair}
    found |= {n.happened for n in (*notices.ORDER_NOTICES.values(), *notices.TRUST_NOTICES.values())}
    return found


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_every_page_word_of_the_tables_is_translated(language):
    catalogue = _catalogue(CATALOGUES / language / "LC_MESSAGES" / "messages.po")
    assert not _untranslated(_page_words(), catalogue)


@pytest.mark.parametrize("language", [lang for lang in languages() if lang != "en"])
def test_every_email_word_of_the_tables_is_translated(language):
    catalogue = _catalogue(LOCALES / language / "LC_MESSAGES" / "emails.po")
    assert not _untranslated(_email_words(), catalogue)


# Who is told: the table's ``tell`` is what the e-mails do -----------------------------------

def _change(action: str, before: str = "", after: str = "") -> notices.Change:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    payload = {"action": action, "from_state": before, "state": after}
    return notices.Change((notices.OutboxEvent(1, f"dispute.{action}", "dispute", 1, payload, at),))


def test_each_dispute_row_is_told_to_the_audience_it_declares():
    """R36: the parties the row names (nobody for the arbitrators' own targets, R15), and the
    arbitrators when the row puts the case in front of them."""
    for t in DISPUTES.transitions:
        told = set(notices.audience(_change(t.action.value, t.state.value, t.to.value)))
        assert told == {role for role in t.tell if role in PARTIES or t.to.value == "escalated"}, (
            t.state.value, t.action.value, told)
    assert notices.audience(_change("review_limit_passed", "escalated", "escalated")) == ()
    assert "arbitrator" in notices.audience(_change("disagree_verdict", "decided", "escalated"))
    assert "arbitrator" not in notices.audience(_change("confirm_return", "return_in_transit", "closed"))


def test_each_complaint_row_tells_whom_the_complaint_emails_tell():
    for t in COMPLAINTS.transitions:
        notice = notices.TRUST_NOTICES.get(f"complaint.{t.action.value}")
        assert set(notice.to if notice else ()) == set(t.tell), t.action.value


def _order_in(state) -> Order:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    o = Order(id=1, buyer_id=10, seller_id=20, currency="USD", payment_method="visa", created_at=at,
              lines=[OrderLine(1, 1, "Kettle", 2500, 1)])
    if state.value != "paid":
        o.ship(carrier="DHL", tracking_number="T1", now=at, policy=DEFAULT_POLICY)
    if state.value in ("completed", "closed"):
        o.confirm_receipt(now=at, policy=DEFAULT_POLICY)
    o.new_events.clear()
    return o


def test_each_order_row_tells_whom_the_order_emails_tell():
    at = datetime(2026, 1, 2, tzinfo=UTC)
    commands = {"ship": ("DHL", "T2"), "extend_protection": (3,)}
    for row in ORDERS.transitions:
        o = _order_in(row.state)
        cmd = row.command(*commands[row.action.value]) if row.command else None
        engine.act(o, row.action, next(iter(row.actors)), None, cmd, now=at, policy=DEFAULT_POLICY)
        told = {role for e in o.new_events for role in
                (notices.ORDER_NOTICES[e.type].to if e.type in notices.ORDER_NOTICES else ())}
        assert told == set(row.tell), (row.state.value, row.action.value, told)


# Routes: every action a person takes has a route that builds the row's command -------------

def _act_calls(module, act_name: str = "_act") -> dict[str, set[str]]:
    """Action name → the command types the module's routes pass with it to ``_act``."""
    found: dict[str, set[str]] = {}
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if not isinstance(node, ast.AsyncFunctionDef) or node.name == act_name:
            continue
        actions = {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)
                   and isinstance(n.value, ast.Name) and n.value.id in ("Action", "ComplaintAction")}
        for call in (n for n in ast.walk(node) if isinstance(n, ast.Call)
                     and isinstance(n.func, ast.Name) and n.func.id == act_name):
            made = [a.func.attr for a in call.args[4:5] if isinstance(a, ast.Call)
                    and isinstance(a.func, ast.Attribute)]
            for action in actions:
                found.setdefault(action, set()).update(made or {"None"})
    return found


@pytest.mark.parametrize("table, module", [(DISPUTES, api_disputes), (COMPLAINTS, api_trust)],
                         ids=["disputes", "complaints"])
def test_every_action_a_person_takes_has_an_api_route_that_builds_its_rows_command(table, module):
    routes = _act_calls(module)
    for action in _person_actions(table):
        assert action.value in routes, f"no API route takes '{action.value}'"
        rows = [t for t in table.transitions if t.action is action]
        wanted = {rows[0].command.__name__ if rows[0].command else "None"}
        assert routes[action.value] == wanted, (action.value, routes[action.value], wanted)
    assert set(routes) <= {a.value for a in table.actions}


def _page_builders() -> dict[str, set[str]]:
    """Action name → the command types the dispute page's form reader returns for it: the first
    ``if`` of ``_command`` that names the action and returns something decides."""
    found: dict[str, set[str]] = {}
    function = ast.parse(inspect.getsource(web_disputes._command)).body[0]
    for branch in (n for n in function.body if isinstance(n, ast.If)):
        actions = {n.attr for n in ast.walk(branch.test) if isinstance(n, ast.Attribute)
                   and isinstance(n.value, ast.Name) and n.value.id == "Action"}
        actions |= {a.value for n in ast.walk(branch.test) if isinstance(n, ast.Name)
                    and isinstance(getattr(web_disputes, n.id, None), set) for a in getattr(web_disputes, n.id)}
        returned = {n.func.attr for r in branch.body if isinstance(r, ast.Return) for n in ast.walk(r)
                    if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                    and isinstance(n.func.value, ast.Name) and n.func.value.id == "c"}
        for action in actions:
            if returned and action not in found:
                found[action] = returned
    return found


def test_the_dispute_page_builds_each_rows_command():
    """The page's form reader returns, for each action taken on the page, its rows' command."""
    builders = _page_builders()
    for action in {t.action for t in DISPUTES.transitions if PAGE_ACTORS & t.actors}:
        command = next(t.command for t in DISPUTES.transitions if t.action is action)
        wanted = {command.__name__} if command else None
        assert builders.get(action.value) == wanted, (action.value, builders.get(action.value), wanted)


def test_the_engine_refuses_an_action_sent_with_another_rows_command():
    """A route that builds the wrong command is caught by the engine, not by an effect's crash."""
    o = _order_in(ORDERS.states("paid"))
    with pytest.raises(DomainError) as refused:
        engine.act(o, ORDERS.actions("ship"), Actor.seller, None, c.Say("hello"), now=o.created_at,
                   policy=DEFAULT_POLICY)
    assert refused.value.code == "details_required" and o.state.value == "paid"
