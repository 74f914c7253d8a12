"""Median render time of the main web pages with the demo data, beside a bare endpoint.

A scratch SQLite database (or ``--database-url``) is migrated and seeded with the demo
(:mod:`ombuds.demo`); each person signs in from the demo list and each page is requested
in-process through httpx's ASGI transport — routing, session, the services' queries and the
template, without a network in between. ``/healthz`` of the same app, through the same
middleware, is the baseline measured in the same run.

    .venv/bin/python -m bench.web_pages [--rounds 60] [--database-url postgresql://…]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import tempfile
import time
from pathlib import Path

import httpx

PAGES = [  # (who, what, path)
    ("anna", "buyer: my orders", "/orders"),
    ("anna", "buyer: order page", "/orders/{story}"),
    ("anna", "buyer: dispute form", "/orders/{story}/lines/{case_line}/dispute"),
    ("anna", "buyer: dispute page", "/disputes/{shoes}"),
    ("anna", "buyer: refunds", "/refunds"),
    ("star", "seller: disputes inbox", "/inbox"),
    ("mara", "arbitrator: queue", "/arbitration"),
    ("mara", "arbitrator: case page", "/disputes/{lamp}"),
    ("mara", "operator: policy", "/policy"),
]


async def measure(database_url: str, rounds: int) -> list[tuple[str, float, float]]:
    os.environ.update(OMBUDS_DATABASE_URL=database_url, OMBUDS_CLOCK="manual",
                      OMBUDS_MARKETPLACE_KEY="bench-key", OMBUDS_WORKER_IN_PROCESS="false")
    from sqlalchemy import select

    from ombuds.bootstrap import build_ombuds, create_app
    from ombuds.demo import seed
    from ombuds.settings import Settings
    from ombuds.store import tables as t
    from ombuds.store.migrate import upgrade

    settings = Settings()
    await asyncio.to_thread(upgrade, settings.database_url)
    people = {p["email"].split("@")[0]: p["id"] for p in await seed(settings)}
    ombuds = build_ombuds(settings)
    async with ombuds.engine.connect() as conn:
        lines = {r.title: (r.order_id, r.id) for r in (await conn.execute(select(t.order_lines))).all()}
        disputes = {r.line_id: r.id for r in (await conn.execute(select(t.disputes))).all()}
    await ombuds.engine.dispose()
    ids = {"story": lines["Phone case"][0], "case_line": lines["Phone case"][1],
           "shoes": disputes[lines["Running shoes, 39"][1]], "lamp": disputes[lines["Desk lamp"][1]]}
    app = create_app(settings)
    results = []
    clients = {}
    for who in {who for who, _, _ in PAGES}:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench")
        token = re.search(r'name="csrf_token" value="([^"]+)"', (await client.get("/signin")).text).group(1)
        signed = await client.post("/signin/demo", data={"csrf_token": token, "user_id": str(people[who])})
        assert signed.status_code == 303, signed.text
        clients[who] = client

    async def median(client, path: str) -> float:
        for _ in range(5):  # warm up: templates compiled, caches filled
            assert (await client.get(path)).status_code == 200, path
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            answer = await client.get(path)
            times.append(time.perf_counter() - start)
            assert answer.status_code == 200, path
        return statistics.median(times) * 1000

    baseline = await median(clients["anna"], "/healthz")
    results.append(("baseline: /healthz", baseline, 1.0))
    for who, what, path in PAGES:
        ms = await median(clients[who], path.format(**ids))
        results.append((what, ms, ms / baseline))
    for client in clients.values():
        await client.aclose()
    await app.state.ombuds.engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--database-url", default=None, help="default: a scratch SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        url = args.database_url or f"sqlite:///{Path(scratch) / 'bench-web.db'}"
        results = asyncio.run(measure(url, args.rounds))
    print(f"{'page':32} {'median ms':>10} {'× /healthz':>11}")
    for what, ms, ratio in results:
        print(f"{what:32} {ms:10.1f} {ratio:11.1f}")


if __name__ == "__main__":
    main()
