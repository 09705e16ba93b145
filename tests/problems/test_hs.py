"""The built-in Hock-Schittkowski / Boggs-Tolle problems: optima, derivatives, metadata."""
import numpy as np
import pytest

import mathopt
from mathopt.constrained.kkt import feasibility
from mathopt.core.differentiation import fd_hessian_from_gradient, fd_jacobian
from mathopt.problems import hs

EQUALITY_ONLY_HS6_79 = [6, 7, 8, 9, 26, 27, 28, 39, 40, 42, 46, 47, 48, 49, 50, 51, 52, 56, 61, 77, 78, 79]
REL_TOL = 1e-6


def _rel_error(value, optimum):
    return abs(value - optimum) / max(1.0, abs(optimum))


def test_collection_size_and_membership():
    assert len(hs.names()) >= 40
    equality = hs.names(constraints="equality")
    for number in EQUALITY_ONLY_HS6_79:
        assert f"HS{number}" in equality
    for number in range(1, 13):
        assert f"BT{number}" in equality
    assert set(equality) | set(hs.names("general")) == set(hs.names())
    for name in ("HS71", "HS53", "HS60", "BT13"):
        assert name in hs.names("general")


@pytest.mark.parametrize("name", hs.names())
def test_equality_label_matches_constraints(name):
    problem = hs.load(name)
    kinds = problem.constraint_types
    if name in hs.names("equality"):
        assert kinds == {"eq"}
    else:
        assert kinds & {"ineq", "bounds"}


def test_load_is_cached_and_case_insensitive():
    assert hs.load("hs28") is hs.load("HS28")
    with pytest.raises(KeyError, match="unknown problem 'HS999'"):
        hs.load("HS999")
    with pytest.raises(ValueError):
        hs.names("inequality-only")


@pytest.mark.parametrize("name", hs.names())
def test_known_optimum_reached_or_attained(name):
    """A reference solver from x0 reaches known_optimum to 1e-6 relative; else the stated x* attains it."""
    problem = hs.load(name)
    assert problem.known_optimum is not None and problem.name == name
    for method in ("scipy-slsqp", "scipy-trust-constr"):
        result = mathopt.solve(problem, method=method, max_iter=500)
        if result.residuals["feasibility"] <= 1e-8 and _rel_error(result.fun, problem.known_optimum) <= REL_TOL:
            return
    point = hs.solution(name)
    assert point is not None, f"no reference solver reached the optimum of {name} and no x* is recorded"
    ev = problem.evaluator()
    assert feasibility(problem, point, ev.eq(point), ev.ineq(point)) <= 1e-8
    assert _rel_error(ev.fun(point), problem.known_optimum) <= REL_TOL


@pytest.mark.parametrize("name", [n for n in hs.names() if hs.solution(n) is not None])
def test_recorded_solution_attains_optimum(name):
    problem, point = hs.load(name), hs.solution(name)
    ev = problem.evaluator()
    assert feasibility(problem, point, ev.eq(point), ev.ineq(point)) <= 1e-8
    assert _rel_error(ev.fun(point), problem.known_optimum) <= 1e-8


@pytest.mark.parametrize("name", hs.names())
def test_derivatives_match_finite_differences(name):
    problem = hs.load(name)
    ev = problem.evaluator()
    x = problem.x0 + 0.1 * np.cos(np.arange(problem.n))  # a generic point near x0
    scale = lambda a: max(1.0, np.max(np.abs(a)))  # noqa: E731
    grad = ev.gradient(x)
    fd = fd_jacobian(lambda z: np.atleast_1d(problem.objective(z)), x)[0]
    assert np.max(np.abs(grad - fd)) <= 1e-6 * scale(fd)
    for kind in ("eq", "ineq"):
        if getattr(problem, f"n_{kind}"):
            jac = getattr(ev, f"{kind}_jacobian")(x)
            fd = fd_jacobian(getattr(problem, kind), x)
            assert np.max(np.abs(jac - fd)) <= 1e-6 * scale(fd)
    y_eq = np.linspace(0.5, 1.5, problem.n_eq)
    y_ineq = np.linspace(1.0, 2.0, problem.n_ineq)
    hess = ev.lagrangian_hessian(x, y_eq, y_ineq)

    def lagrangian_gradient(z):
        return ev.gradient(z) + ev.eq_jacobian(z).T @ y_eq + ev.ineq_jacobian(z).T @ y_ineq

    fd = fd_hessian_from_gradient(lagrangian_gradient, x)
    assert np.allclose(hess, hess.T)
    assert np.max(np.abs(hess - fd)) <= 1e-5 * scale(fd)


def test_functions_evaluate_in_numpy_float64():
    problem = hs.load("HS56")
    value = problem.objective(problem.x0)
    assert isinstance(problem.eq(problem.x0), np.ndarray) and problem.eq(problem.x0).dtype == np.float64
    assert np.isfinite(value) and problem.derivative_source == "jax"
