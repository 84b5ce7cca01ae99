"""The kernel's machinery on trio: clocks, mailboxes, routing, timers and supervision.

What actors run on: the clock (wall or virtual), mailboxes and the router
that delivers to them, the timer service and the supervisor of child tasks.
This layer may import :mod:`playbill.runtime.model`,
:mod:`playbill.runtime.logic` and :mod:`playbill.runtime.journal`.
Its modules are private; the public names are re-exported by
:mod:`playbill.runtime`.
"""
