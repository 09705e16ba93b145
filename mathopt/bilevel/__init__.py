"""Bilevel optimization: :class:`~mathopt.BilevelProblem` and its solvers.

``pbgd`` (penalty-based bilevel gradient descent), ``f2sa`` (fully first-order
stochastic approximation), ``penalty-bo`` (penalty method on closed convex
sets), ``implicit`` (approximate implicit differentiation) and ``itd``
(truncated back-propagation), ``slbamm`` (single-loop averaged method of
multipliers, merely convex lower levels), ``lvhba`` (proximal Lagrangian value function, the
one method here for coupled lower-level constraints ``lower_constraints``). See ``docs/bilevel.md``. :func:`make_solver`
returns a pure, jittable and vmappable function of one solver.
"""

#: Modules registering solvers (imported on the first registry access).
SOLVER_MODULES = ["pbgd", "f2sa", "penalty", "implicit", "itd", "slbamm", "lvhba"]


def make_solver(problem, method, **options):
    """A pure function ``run(x0, y0, upper_data, lower_data, seed) -> dict`` (see docs/bilevel.md)."""
    from ._engine import make_pure_solver

    return make_pure_solver(problem, method, options)


__all__ = ["make_solver"]
