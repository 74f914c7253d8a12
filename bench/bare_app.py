"""The bare endpoint: the least an ASGI service can do per write — parse JSON, insert one row.

Starlette and an asyncpg pool, no ORM, no validation, no domain; served by uvicorn with the
settings ``ombuds serve`` uses. ``BENCH_BARE_DATABASE_URL`` names the database; the table
``bench_bare`` is created at start-up if missing.

    BENCH_BARE_DATABASE_URL=postgresql://… python -m bench.bare_app --port 8001 --workers 2
"""

from __future__ import annotations

import argparse
import contextlib
import os

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

POOL_SIZE = 10  # as ombuds' default pool_size


@contextlib.asynccontextmanager
async def lifespan(app: Starlette):
    app.state.pool = await asyncpg.create_pool(os.environ["BENCH_BARE_DATABASE_URL"],
                                               min_size=POOL_SIZE, max_size=POOL_SIZE)
    async with app.state.pool.acquire() as conn:
        await conn.execute("CREATE TABLE IF NOT EXISTS bench_bare (id bigserial PRIMARY KEY, "
                           "line_id bigint NOT NULL, body jsonb NOT NULL, "
                           "created_at timestamptz NOT NULL DEFAULT now())")
    yield
    await app.state.pool.close()


async def create(request: Request) -> Response:
    body = orjson.loads(await request.body())
    async with request.app.state.pool.acquire() as conn:
        row_id = await conn.fetchval("INSERT INTO bench_bare (line_id, body) VALUES ($1, $2) RETURNING id",
                                     body["line_id"], orjson.dumps(body).decode())
    return Response(orjson.dumps({"id": row_id, **body}), status_code=201, media_type="application/json")


async def healthz(request: Request) -> Response:
    return Response(b'{"ok":true}', media_type="application/json")


app = Starlette(routes=[Route("/api/v1/disputes", create, methods=["POST"]),
                        Route("/healthz", healthz)], lifespan=lifespan)


def main() -> None:
    """Serve it as ``ombuds serve`` serves the API: ``uvicorn.run`` with the same arguments."""
    import uvicorn
    parser = argparse.ArgumentParser(description="The bare endpoint, for bench.open_dispute.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    uvicorn.run("bench.bare_app:app", host="127.0.0.1", port=args.port, workers=args.workers,
                log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
