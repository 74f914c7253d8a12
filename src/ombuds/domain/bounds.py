"""R42: the bounds every input is held to, whether it comes through the API or a page.

Amounts are integers of minor units up to 10^12 per line and per order, ids fit in 64 bits
(BIGINT); all of it is checked before anything is written.
"""

from __future__ import annotations

MAX_ID = 2**63 - 1  # BIGINT
MAX_AMOUNT = 10**12  # minor units, per line and per order
MAX_QUANTITY = 100_000
MAX_OFFSET = 1_000_000
