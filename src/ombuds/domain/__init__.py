"""Pure rules of Ombuds: no I/O, no framework, no database.

Functions take state, a command and ``now`` and return new state plus events. The three
lifecycles — disputes, complaints, orders — are tables run by :mod:`ombuds.domain.engine`;
they are imported here so that the engine knows every table whichever module is imported first.
"""

from ombuds.domain import complaints, lifecycle, orders  # noqa: F401  (the tables register with the engine)
