"""Discrete optimal transport on the transport polytope (:class:`mathopt.TransportProblem`).

Methods: ``sinkhorn`` (log-domain entropic baseline), ``mirror-sinkhorn``
(Ballu & Berthet, 2023; linear and convex objectives, online mode) and
``sparse-ot`` (Liu, Puigcerver & Blondel, 2023; at most ``max_nz`` nonzeros
per column). See ``docs/transport.md``.
"""

#: Modules registering solvers (imported on the first registry access).
SOLVER_MODULES = ["sinkhorn", "mirror_sinkhorn", "sparse_ot"]


def __getattr__(name):
    # Light lazy exports: these modules import JAX/Numba only inside functions.
    if name in ("sparse_ot_plan",):
        from .sparse_ot import sparse_ot_plan
        return sparse_ot_plan
    if name in ("OnlineMirrorSinkhorn",):
        from .mirror_sinkhorn import OnlineMirrorSinkhorn
        return OnlineMirrorSinkhorn
    raise AttributeError(f"module 'mathopt.transport' has no attribute {name!r}")
