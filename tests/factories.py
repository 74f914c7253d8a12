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
