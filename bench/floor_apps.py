"""The stack's floor for recording a paid order: the same statements, less and less around them.

``POST /api/v1/orders`` in Ombuds sends ten round trips in one transaction (BEGIN; the seller's
latest penalty; the clock; the order, written only if its buyer and seller exist with their
roles; its lines; its outbox row; its escrow journal entry; its postings; the running balances;
COMMIT). Each app here sends those same statements with the same values to the same schema, and
does nothing else — no authentication beyond comparing the key, no idempotency, no domain:

- ``starlette``: Starlette, orjson and an asyncpg pool (the bare floor of an ASGI service);
- ``one_statement``: Starlette and asyncpg sending the whole write as one statement (data-modifying
  ``WITH``): the same rows in one round trip — the floor of PostgreSQL's own work for them;
- ``fastapi``: FastAPI with a pydantic body model, and the same asyncpg statements;
- ``sqlalchemy``: FastAPI with the pydantic model, and SQLAlchemy Core (asyncpg driver, Ombuds'
  own tables and engine settings, statements built once at import).

The rung between two apps is what that layer costs; the rung from ``sqlalchemy`` to Ombuds is
what Ombuds adds (authentication, idempotency, the domain, views). ``BENCH_FLOOR_APP`` picks the
app, ``BENCH_FLOOR_DATABASE_URL`` the database, ``OMBUDS_MARKETPLACE_KEY`` the key:

    BENCH_FLOOR_APP=fastapi BENCH_FLOOR_DATABASE_URL=postgresql://… python -m bench.floor_apps --port 8001
"""

import argparse
import contextlib
import os
from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response

POOL_SIZE = 10  # as Ombuds' default pool_size
KEY = os.environ.get("OMBUDS_MARKETPLACE_KEY", "")
WORDS = ("suspension", "reinstatement")  # the penalty kinds that decide a seller's standing

PENALTY = ("SELECT kind FROM seller_penalties WHERE seller_id = $1 AND kind = ANY($2::varchar[]) "
           "ORDER BY id DESC LIMIT 1")
CLOCK = "SELECT now FROM clock WHERE id = 1"
ORDER = ("INSERT INTO orders (buyer_id, seller_id, currency, payment_method, external_ref, state, created_at, "
         "protection_extension_days, version) "
         "SELECT $1, $2, $3, $4, $5, 'paid', $6, 0, 1 "
         "WHERE EXISTS (SELECT 1 FROM users WHERE id = $1 AND role = 'buyer') "
         "AND EXISTS (SELECT 1 FROM users WHERE id = $2 AND role = 'seller') RETURNING id")
LINES = ("INSERT INTO order_lines (order_id, position, title, unit_price, quantity) "
         "SELECT $1, p, t, u, q FROM unnest($2::int[], $3::varchar[], $4::bigint[], $5::int[]) AS l(p, t, u, q) "
         "RETURNING id")
OUTBOX = ("INSERT INTO outbox (type, aggregate, aggregate_id, payload, created_at) "
          "VALUES ('order.paid', 'order', $1, $2::jsonb, $3) RETURNING id")
ENTRY = ("INSERT INTO journal_entries (kind, order_id, memo, created_at) "
         "VALUES ('order_paid', $1, 'payment held in escrow', $2) RETURNING id")
POSTING = "INSERT INTO postings (entry_id, account, currency, amount) VALUES ($1, $2, $3, $4)"
BALANCE = ("INSERT INTO account_balances (account, currency, balance) VALUES ($1, $2, $3) "
           "ON CONFLICT (account, currency) DO UPDATE SET balance = account_balances.balance + excluded.balance")


# The whole write as one statement: the same rows, one round trip, no explicit transaction (a
# single statement is atomic). Suspended sellers and unknown parties write nothing.
ONE_STATEMENT = """
WITH standing AS (SELECT kind FROM seller_penalties WHERE seller_id = $2 AND kind IN ('suspension', 'reinstatement')
                  ORDER BY id DESC LIMIT 1),
now AS (SELECT now FROM clock WHERE id = 1),
o AS (INSERT INTO orders (buyer_id, seller_id, currency, payment_method, external_ref, state, created_at,
                          protection_extension_days, version)
      SELECT $1, $2, $3, $4, $5, 'paid', now.now, 0, 1 FROM now
      WHERE EXISTS (SELECT 1 FROM users WHERE id = $1 AND role = 'buyer')
        AND EXISTS (SELECT 1 FROM users WHERE id = $2 AND role = 'seller')
        AND NOT EXISTS (SELECT 1 FROM standing WHERE kind = 'suspension')
      RETURNING id, created_at),
l AS (INSERT INTO order_lines (order_id, position, title, unit_price, quantity)
      SELECT o.id, x.p, x.t, x.u, x.q FROM o, unnest($6::int[], $7::varchar[], $8::bigint[], $9::int[]) AS x(p, t, u, q)
      RETURNING id, unit_price * quantity AS total),
ob AS (INSERT INTO outbox (type, aggregate, aggregate_id, payload, created_at)
       SELECT 'order.paid', 'order', o.id, $10::jsonb, o.created_at FROM o),
e AS (INSERT INTO journal_entries (kind, order_id, memo, created_at)
      SELECT 'order_paid', o.id, 'payment held in escrow', o.created_at FROM o RETURNING id),
p AS (INSERT INTO postings (entry_id, account, currency, amount)
      SELECT e.id, x.account, $3, x.amount FROM e,
             (SELECT 'buyer:' || $1 || ':payments' AS account, -total AS amount FROM l
              UNION ALL SELECT 'escrow:line:' || id, total FROM l) AS x
      RETURNING account, amount),
b AS (INSERT INTO account_balances (account, currency, balance)
      SELECT account, $3, sum(amount) FROM p GROUP BY account ORDER BY account
      ON CONFLICT (account, currency) DO UPDATE SET balance = account_balances.balance + excluded.balance)
SELECT o.id, (SELECT array_agg(id ORDER BY id) FROM l) AS line_ids FROM o
"""


def _postings(body: dict, line_ids: list[int], entry_id: int) -> tuple[list[tuple], list[tuple]]:
    """The escrow entry's postings (buyer's payments → each line's escrow) and balance changes."""
    currency, postings, balances = body["currency"], [], {}
    for line, line_id in zip(body["lines"], line_ids, strict=True):
        total = line["unit_price"] * line["quantity"]
        for account, amount in ((f"buyer:{body['buyer_id']}:payments", -total), (f"escrow:line:{line_id}", total)):
            postings.append((entry_id, account, currency, amount))
            balances[account] = balances.get(account, 0) + amount
    return postings, [(a, currency, balances[a]) for a in sorted(balances)]


def _payload(body: dict, total: int) -> dict:
    """The ``order.paid`` outbox row's payload, as Ombuds writes it."""
    return {"buyer_id": body["buyer_id"], "seller_id": body["seller_id"], "state": "paid", "total": total,
            "currency": body["currency"]}


async def _record_asyncpg(conn: Any, body: dict) -> dict:
    """The ten round trips, through asyncpg's prepared statements."""
    async with conn.transaction():
        await conn.fetchval(PENALTY, body["seller_id"], list(WORDS))
        now: datetime = await conn.fetchval(CLOCK)
        order_id = await conn.fetchval(ORDER, body["buyer_id"], body["seller_id"], body["currency"],
                                       body["payment_method"], body.get("external_ref"), now)
        if order_id is None:
            raise LookupError("unknown buyer or seller")
        lines = body["lines"]
        line_ids = [r["id"] for r in await conn.fetch(
            LINES, order_id, list(range(1, len(lines) + 1)), [x["title"] for x in lines],
            [x["unit_price"] for x in lines], [x["quantity"] for x in lines])]
        total = sum(x["unit_price"] * x["quantity"] for x in lines)
        await conn.fetchval(OUTBOX, order_id, orjson.dumps(_payload(body, total)).decode(),
                            now)
        entry_id = await conn.fetchval(ENTRY, order_id, now)
        postings, balances = _postings(body, line_ids, entry_id)
        await conn.executemany(POSTING, postings)
        await conn.executemany(BALANCE, balances)
    return {"id": order_id, "state": "paid", "lines": [{"id": i} for i in line_ids], "total": total}


async def _record_one_statement(conn: Any, body: dict) -> dict:
    lines = body["lines"]
    total = sum(x["unit_price"] * x["quantity"] for x in lines)
    row = await conn.fetchrow(ONE_STATEMENT, body["buyer_id"], body["seller_id"], body["currency"],
                              body["payment_method"], body.get("external_ref"), list(range(1, len(lines) + 1)),
                              [x["title"] for x in lines], [x["unit_price"] for x in lines],
                              [x["quantity"] for x in lines], orjson.dumps(_payload(body, total)).decode())
    if row is None:
        raise LookupError("unknown buyer or seller, or a suspended seller")
    return {"id": row["id"], "state": "paid", "lines": [{"id": i} for i in row["line_ids"]], "total": total}


@contextlib.asynccontextmanager
async def _asyncpg_pool(app: Any):
    import asyncpg
    app.state.pool = await asyncpg.create_pool(os.environ["BENCH_FLOOR_DATABASE_URL"],
                                               min_size=POOL_SIZE, max_size=POOL_SIZE)
    yield
    await app.state.pool.close()


def _authorised(request: Request) -> bool:
    return request.headers.get("authorization") == f"Bearer {KEY}"


# starlette: the bare floor -------------------------------------------------------------------

def starlette_app(record_order: Any = None) -> Any:
    from starlette.applications import Starlette
    from starlette.routing import Route

    write = record_order or _record_asyncpg

    async def record(request: Request) -> Response:
        if not _authorised(request):
            return Response(b'{"code":"unauthorised"}', status_code=401, media_type="application/json")
        body = orjson.loads(await request.body())
        async with request.app.state.pool.acquire() as conn:
            order = await write(conn, body)
        return Response(orjson.dumps(order), status_code=201, media_type="application/json")

    async def healthz(request: Request) -> Response:
        return Response(b'{"ok":true}', media_type="application/json")

    return Starlette(routes=[Route("/api/v1/orders", record, methods=["POST"]), Route("/healthz", healthz)],
                     lifespan=_asyncpg_pool)


# fastapi: a pydantic model, the same statements ----------------------------------------------

class LineIn(BaseModel):
    title: str = Field(min_length=1, max_length=500)
    unit_price: int = Field(ge=0)
    quantity: int = Field(ge=1)


class OrderIn(BaseModel):
    buyer_id: int
    seller_id: int
    currency: str = Field(min_length=3, max_length=3)
    payment_method: str
    external_ref: str | None = None
    lines: list[LineIn] = Field(min_length=1)


def fastapi_app() -> Any:
    from fastapi import FastAPI, HTTPException

    app = FastAPI(lifespan=_asyncpg_pool)

    @app.post("/api/v1/orders", status_code=201)
    async def record(body: OrderIn, request: Request) -> dict:
        if not _authorised(request):
            raise HTTPException(401, "unauthorised")
        async with request.app.state.pool.acquire() as conn:
            return await _record_asyncpg(conn, body.model_dump())

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"ok": True}

    return app


# sqlalchemy: FastAPI, pydantic and SQLAlchemy Core over Ombuds' own tables -------------------

def sqlalchemy_app() -> Any:
    from fastapi import FastAPI, HTTPException
    from sqlalchemy import bindparam, exists, insert, literal, select

    from ombuds.store import tables as t
    from ombuds.store import tables_trust as tt
    from ombuds.store.db import make_engine

    penalty = (select(tt.seller_penalties.c.kind)
               .where(tt.seller_penalties.c.seller_id == bindparam("seller_id"),
                      tt.seller_penalties.c.kind.in_(WORDS))
               .order_by(tt.seller_penalties.c.id.desc()).limit(1))
    clock = select(t.clock.c.now).where(t.clock.c.id == 1)

    def person(role: str, name: str) -> Any:
        return exists().where(t.users.c.id == bindparam(name), t.users.c.role == role)

    order = (insert(t.orders).from_select(
        ["buyer_id", "seller_id", "currency", "payment_method", "external_ref", "state", "created_at",
         "protection_extension_days", "version"],
        select(bindparam("buyer_id"), bindparam("seller_id"), bindparam("currency"), bindparam("payment_method"),
               bindparam("external_ref"), literal("paid"), bindparam("now"), literal(0), literal(1))
        .where(person("buyer", "buyer_check"), person("seller", "seller_check")))
        .returning(t.orders.c.id))
    lines_stmt = insert(t.order_lines).returning(t.order_lines.c.id)
    outbox = insert(t.outbox).returning(t.outbox.c.id)
    entry = insert(t.journal_entries).returning(t.journal_entries.c.id)
    postings_stmt = insert(t.postings)
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    upsert = pg_insert(t.account_balances)
    balances_stmt = upsert.on_conflict_do_update(
        index_elements=[t.account_balances.c.account, t.account_balances.c.currency],
        set_={"balance": t.account_balances.c.balance + upsert.excluded.balance})

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.engine = make_engine(os.environ["BENCH_FLOOR_DATABASE_URL"], pool_size=POOL_SIZE)
        yield
        await app.state.engine.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.post("/api/v1/orders", status_code=201)
    async def record(body: OrderIn, request: Request) -> dict:
        if not _authorised(request):
            raise HTTPException(401, "unauthorised")
        b = body.model_dump()
        async with request.app.state.engine.begin() as conn:
            await conn.execute(penalty, {"seller_id": b["seller_id"]})
            now = (await conn.execute(clock)).scalar_one()
            order_id = (await conn.execute(order, {
                "buyer_id": b["buyer_id"], "seller_id": b["seller_id"], "currency": b["currency"],
                "payment_method": b["payment_method"], "external_ref": b["external_ref"], "now": now,
                "buyer_check": b["buyer_id"], "seller_check": b["seller_id"]})).scalar_one_or_none()
            if order_id is None:
                raise HTTPException(422, "unknown buyer or seller")
            line_ids = list((await conn.execute(lines_stmt, [
                {"order_id": order_id, "position": i + 1, "title": x["title"], "unit_price": x["unit_price"],
                 "quantity": x["quantity"]} for i, x in enumerate(b["lines"])])).scalars())
            total = sum(x["unit_price"] * x["quantity"] for x in b["lines"])
            await conn.execute(outbox, {"type": "order.paid", "aggregate": "order", "aggregate_id": order_id,
                                        "payload": _payload(b, total), "created_at": now})
            entry_id = (await conn.execute(entry, {"kind": "order_paid", "order_id": order_id,
                                                   "memo": "payment held in escrow", "created_at": now})).scalar_one()
            postings, balances = _postings(b, line_ids, entry_id)
            await conn.execute(postings_stmt, [dict(zip(("entry_id", "account", "currency", "amount"), p, strict=True))
                                               for p in postings])
            await conn.execute(balances_stmt, [dict(zip(("account", "currency", "balance"), x, strict=True))
                                               for x in balances])
        return {"id": order_id, "state": "paid", "lines": [{"id": i} for i in line_ids], "total": total}

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"ok": True}

    return app


APPS = {"starlette": starlette_app, "fastapi": fastapi_app, "sqlalchemy": sqlalchemy_app,
        "one_statement": lambda: starlette_app(_record_one_statement)}
app = APPS[os.environ.get("BENCH_FLOOR_APP", "starlette")]()


def main() -> None:
    """Serve one app as ``ombuds serve`` serves the API: ``uvicorn.run`` with the same arguments."""
    import uvicorn
    parser = argparse.ArgumentParser(description="The stack's floor for recording an order.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    uvicorn.run("bench.floor_apps:app", host="127.0.0.1", port=args.port, workers=args.workers,
                log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
