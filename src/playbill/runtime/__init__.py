"""The kernel: messages, the journal, run state and the pure reducer.

Nothing here imports :mod:`playbill.actors`; the actors build on this package.
"""
