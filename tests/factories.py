"""Factories that drive the HTTP API the way a marketplace and its people would.

``market.buyer()`` registers a buyer and returns a :class:`Person` whose ``post``/``get``
carry that person's token. Orders are created by the marketplace key, as after checkout.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

_seq = itertools.count(1)


@dataclass
class Person:
    market: Marketplace
    id: int | None
    role: str
    token: str
    country: str = "RU"

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    def post(self, path: str, json: dict | None = None, expect: int | None = 200, **kw):
        r = self.market.client.post(f"/api/v1{path}", json=json or {}, headers={**self.headers,
                                    **kw.pop("headers", {})}, **kw)
        if expect is not None:
            assert r.status_code == expect, f"POST {path} → {r.status_code}: {r.text}"
        return r.json() if expect is not None and r.status_code < 300 else r

    def get(self, path: str, expect: int | None = 200, **kw):
        r = self.market.client.get(f"/api/v1{path}", headers=self.headers, **kw)
        if expect is not None:
            assert r.status_code == expect, f"GET {path} → {r.status_code}: {r.text}"
        return r.json() if expect is not None and r.status_code < 300 else r

    def dispute(self, dispute_id: int) -> dict:
        return self.get(f"/disputes/{dispute_id}")

    def order(self, order_id: int) -> dict:
        return self.get(f"/orders/{order_id}")

    # Helpers added for the rule tests ---------------------------------------------------

    def propose(self, dispute_id: int, resolution: str = "refund_only", amount: int | None = None,
                message: str = "This is what I can offer.", expect: int | None = 200):
        body = {"resolution": resolution, "message": message}
        if amount is not None:
            body["amount"] = amount
        return self.post(f"/disputes/{dispute_id}/proposals", body, expect=expect)

    def accept(self, dispute_id: int, expect: int | None = 200):
        # R34: accepting names the proposal on the table, as this person reads it now
        proposal_id = self.dispute(dispute_id)["proposal"]["id"]
        return self.post(f"/disputes/{dispute_id}/accept", {"proposal_id": proposal_id}, expect=expect)

    def reject(self, dispute_id: int, message: str = "The parcel was complete when it left.",
               expect: int | None = 200):
        return self.post(f"/disputes/{dispute_id}/reject", {"message": message}, expect=expect)

    def withdraw(self, dispute_id: int, expect: int | None = 200):
        return self.post(f"/disputes/{dispute_id}/withdraw", expect=expect)

    def confirm_receipt(self, order_id: int, expect: int | None = 200):
        return self.post(f"/orders/{order_id}/confirm-receipt", expect=expect)

    def extend_protection(self, order_id: int, days: int, expect: int | None = 200):
        return self.post(f"/orders/{order_id}/extend-protection", {"days": days}, expect=expect)

    def refunds(self, **params) -> list[dict]:
        return self.get("/refunds", params=params)["items"]

    def payouts(self, **params) -> list[dict]:
        return self.get("/payouts", params=params)["items"]


class Marketplace:
    def __init__(self, client, key: str):
        self.client = client
        self.platform = Person(self, None, "platform", key)

    def _user(self, role: str, country: str, language: str = "en") -> Person:
        n = next(_seq)
        body = self.platform.post("/users", {"name": f"{role.title()} {n}", "email": f"{role}{n}@example.test",
                                             "role": role, "country": country, "language": language},
                                  expect=201)
        return Person(self, body["id"], role, body["token"], country)

    def buyer(self, country: str = "RU", language: str = "en") -> Person:
        return self._user("buyer", country, language)

    def seller(self, country: str = "CN") -> Person:
        return self._user("seller", country)

    def arbitrator(self) -> Person:
        return self._user("arbitrator", "GB")

    def order(self, buyer: Person, seller: Person, lines=((1850, 1),), *, method: str = "visa",
              currency: str = "USD", ship: bool = True) -> dict:
        body = {"buyer_id": buyer.id, "seller_id": seller.id, "currency": currency, "payment_method": method,
                "lines": [{"title": f"Item {i + 1}", "unit_price": p, "quantity": q}
                          for i, (p, q) in enumerate(lines)]}
        order = self.platform.post("/orders", body, expect=201)
        if ship:
            order = seller.post(f"/orders/{order['id']}/ship",
                                {"carrier": "China Post", "tracking_number": f"LP{next(_seq):09d}CN"})
        return order

    def open_dispute(self, buyer: Person, order: dict, line: int = 0, *, received: bool = True,
                     reason: str = "missing_items", resolution: str | None = "refund_only",
                     amount: int | None = None, quantity: int | None = None,
                     description: str = "One item is missing from the parcel.", expect: int = 201):
        body = {"order_id": order["id"], "line_id": order["lines"][line]["id"], "received": received,
                "reason": reason, "description": description}
        for key, value in (("resolution", resolution), ("amount", amount), ("quantity", quantity)):
            if value is not None:
                body[key] = value
        return buyer.post("/disputes", body, expect=expect)

    def advance(self, duration: str) -> dict:
        return self.platform.post("/clock/advance", {"duration": duration})

    def now(self) -> str:
        return self.platform.get("/clock")["now"]

    # Helpers added for the rule tests ---------------------------------------------------

    def paid_out(self, order: dict) -> dict[int, int]:
        """Line id → total paid out to the seller so far (R1); lines not paid are absent."""
        paid: dict[int, int] = {}
        for p in self.platform.payouts(order_id=order["id"]):
            paid[p["line_id"]] = paid.get(p["line_id"], 0) + p["amount"]
        return paid

    def refunded(self, order: dict) -> dict[int, int]:
        """Line id → total refunded to the buyer so far."""
        refunded: dict[int, int] = {}
        for r in self.platform.refunds(order_id=order["id"]):
            refunded[r["line_id"]] = refunded.get(r["line_id"], 0) + r["amount"]
        return refunded

    # Added for the arbitration, return and API-contract tests -----------------------------

    def policy(self) -> dict:
        """The policy in force, so tests read their day counts instead of copying them."""
        return self.platform.get("/policy")

    def negotiating_dispute(self, buyer: Person, seller: Person, order: dict | None = None,
                            **open_kw) -> dict:
        """Opened, then rejected by the seller: negotiation runs (R13), its window starts (R14)."""
        order = order or self.order(buyer, seller)
        d = self.open_dispute(buyer, order, **open_kw)
        return seller.post(f"/disputes/{d['id']}/reject", {"message": "Everything was in the parcel."})

    def escalated_dispute(self, buyer: Person, seller: Person, order: dict | None = None,
                          **open_kw) -> dict:
        """Rejected by the seller and left unresolved until the platform escalated it (R14).

        Moves the clock by the negotiation window, so other disputes move on too.
        """
        d = self.negotiating_dispute(buyer, seller, order, **open_kw)
        self.advance(f"{self.policy()['negotiation_days']}d")
        return buyer.dispute(d["id"])

    def decided_dispute(self, buyer: Person, seller: Person, arbitrator: Person, *,
                        refund_amount: int | None = None, return_required: bool = False,
                        order: dict | None = None, **open_kw) -> dict:
        """Escalated, then decided by the arbitrator (R15); ``None`` refunds the full amount."""
        d = self.escalated_dispute(buyer, seller, order, **open_kw)
        amount = d["max_amount"] if refund_amount is None else refund_amount
        return arbitrator.post(f"/disputes/{d['id']}/verdict",
                               {"refund_amount": amount, "return_required": return_required,
                                "message": "Decided on the evidence of both sides."})

    def dispute_awaiting_return(self, buyer: Person, seller: Person, order: dict | None = None, *,
                                resolution: str = "return_and_refund", amount: int | None = None) -> dict:
        """The seller accepted the buyer's return (or replacement): she must ship it back (R18)."""
        order = order or self.order(buyer, seller)
        d = self.open_dispute(buyer, order, reason="not_as_described", resolution=resolution,
                              amount=amount, description="The colour is not the one described.")
        return seller.accept(d["id"])

    def return_in_transit(self, buyer: Person, seller: Person, order: dict | None = None, *,
                          resolution: str = "return_and_refund", amount: int | None = None) -> dict:
        """The return is agreed and the buyer has shipped it with tracking (R18)."""
        d = self.dispute_awaiting_return(buyer, seller, order, resolution=resolution, amount=amount)
        return buyer.post(f"/disputes/{d['id']}/return-shipment",
                          {"carrier": "Russian Post", "tracking_number": f"RR{next(_seq):09d}RU"})

    def set_clock_without_sweeping(self, at) -> None:
        """Move the manual clock to ``at`` *without* running due deadlines.

        ``advance`` sweeps every deadline it passes; this only rewrites the clock row through
        the app's own ``ManualClock.set``, run on the TestClient's event loop (the app's
        engine lives there). It is what a lagging sweeper looks like to the next request.
        """
        ombuds = self.client.app.state.ombuds
        self.client.portal.call(ombuds.clock.set, at)

    def count(self, path: str, **params) -> int:
        """How many items the marketplace sees at a list endpoint (counts rows through the API)."""
        return len(self.platform.get(path, params={"limit": 200, **params})["items"])

    # Added for the money tests -----------------------------------------------------------

    def open_dispute_with(self, buyer: Person, order: dict, line: int = 0, *, expect: int = 201,
                          **fields) -> dict:
        """Like :meth:`open_dispute`, with any further field of the form, e.g. ``refund_to``
        ("platform_balance", R31)."""
        body = {"order_id": order["id"], "line_id": order["lines"][line]["id"], "received": True,
                "reason": "missing_items", "resolution": "refund_only",
                "description": "One item is missing from the parcel.", **fields}
        return buyer.post("/disputes", body, expect=expect)
