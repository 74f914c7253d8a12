"""Benchmarks beside their baselines, measured in the same run (DESIGN.md §8).

``python -m bench.run_all`` (``make bench``) runs, on the local PostgreSQL only:

- :mod:`bench.pgbench_baseline` — PostgreSQL's own TPC-B rate on this server;
- :mod:`bench.open_dispute` — ``POST /api/v1/disputes`` against ``ombuds serve``, beside a
  bare ASGI endpoint that inserts one row;
- :mod:`bench.stack_floor` — ``POST /api/v1/orders`` against ``ombuds serve``, beside the same
  statements sent by FastAPI + SQLAlchemy Core, FastAPI + asyncpg and Starlette + asyncpg
  (:mod:`bench.floor_apps`): what each layer of the stack costs per request;
- :mod:`bench.sweeper` — :func:`ombuds.services.sweeper.sweep` against the set-based SQL
  that makes the same change.

Every script works in scratch databases that it drops, and stops the servers it starts,
whatever happens.
"""
