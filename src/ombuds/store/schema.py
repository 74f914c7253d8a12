"""The whole schema: every table module imported, so ``metadata`` holds every table.

Alembic's environment and the schema test read the declared schema from here; a new
``tables_*`` module is added to this list once.
"""

from ombuds.store import (  # noqa: F401 (each module registers its tables with the metadata)
    tables_evidence,
    tables_notify,
    tables_protection,
    tables_sign_in,
    tables_stripe,
    tables_sweeps,
    tables_tracking,
    tables_trust,
    tables_web,
)
from ombuds.store.tables import metadata

__all__ = ["metadata"]
