"""Pure rules of Ombuds: no I/O, no framework, no database.

Functions take state, a command and ``now`` and return new state plus events.
"""
