"""The kernel's data: values, messages, entries, run state, errors and fault specs.

Immutable records and their codecs, with no behaviour beyond validating and
encoding themselves. This layer imports nothing else of playbill: the other
layers of :mod:`playbill.runtime` build on it, never the other way round.
Its modules are private; the public names are re-exported by
:mod:`playbill.runtime`.
"""
