"""Small helpers for the benchmarks' own queries (psycopg)."""

from __future__ import annotations

from typing import Any

import psycopg


def first(cursor: psycopg.Cursor[Any]) -> Any:
    """The first column of a query's one row."""
    row = cursor.fetchone()
    if row is None:
        raise RuntimeError("the query returned no row")
    return row[0]
