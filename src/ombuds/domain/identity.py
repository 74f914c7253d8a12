"""The id of an aggregate as read from the store.

Orders, their lines, disputes and complaints carry ``id: int | None``: None only between
building one and its first save. Everything a page or the API reads back was saved, so its id
is there; ``saved_id`` says so once, and a read object without one fails at once as the bug it is.
"""

from __future__ import annotations

from typing import Protocol


class Stored(Protocol):
    @property
    def id(self) -> int | None: ...


def saved_id(thing: Stored) -> int:
    if thing.id is None:
        raise ValueError(f"this {type(thing).__name__} has not been saved yet")
    return thing.id
