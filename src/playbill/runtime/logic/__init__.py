"""The kernel's pure functions: the reducer, the supervisor's policy and its parts.

Everything here is a deterministic function of its arguments (no clock,
randomness, I/O or trio): folding entries into run state, the policy and its
strategies, vetting, budgets, scheduling, arbitration, retry plans, the
reactions cascade. This layer imports only :mod:`playbill.runtime.model`.
Its modules are private; the public names are re-exported by
:mod:`playbill.runtime`.
"""
