"""The kernel's persistence: the journal, its writer and the store backends.

The journal appends entries through one writer per run (batching, stamping
reactions, snapshots) to a store: in memory, SQLite or PostgreSQL. This layer
imports :mod:`playbill.runtime.model` and :mod:`playbill.runtime.logic` only.
Its modules are private; the public names are re-exported by
:mod:`playbill.runtime`.
"""
