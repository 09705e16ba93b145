"""Solvers for smooth constrained nonlinear programs (:class:`mathopt.NLP`)."""

#: Modules registering solvers (imported on the first registry access).
SOLVER_MODULES = ["scipy_solvers", "ipopt", "al_newton", "al_sketch", "auglag", "penalty"]
