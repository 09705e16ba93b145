"""NLP construction: validation paths and derivative sources."""
import numpy as np
import pytest
import scipy.sparse as sp

import mathopt
from mathopt import NLP, ProblemError


def quad(x):
    return float(x @ x)


@pytest.mark.parametrize("kwargs, field", [
    (dict(x0=[np.nan, 1.0]), "x0"),
    (dict(x0=[np.inf, 1.0]), "x0"),
    (dict(x0=[[1.0, 2.0]]), "x0"),
    (dict(x0="abc"), "x0"),
    (dict(x0=[1.0, 2.0], bounds=([0.0, 3.0], [1.0, 2.0])), "bounds"),
    (dict(x0=[1.0, 2.0], bounds=([0.0, 0.0, 0.0], 1.0)), "bounds"),
    (dict(x0=[1.0, 2.0], bounds=(np.nan, 1.0)), "bounds"),
    (dict(x0=[1.0, 2.0], bounds=5.0), "bounds"),
    (dict(x0=[1.0, 2.0], gradient=lambda x: np.ones(3)), "gradient"),
    (dict(x0=[1.0, 2.0], gradient=3.0), "gradient"),
    (dict(x0=[1.0, 2.0], eq=lambda x: np.ones((2, 2))), "eq"),
    (dict(x0=[1.0, 2.0], eq=lambda x: np.array([np.nan])), "eq"),
    (dict(x0=[1.0, 2.0], eq=lambda x: x[:1], eq_jacobian=lambda x: np.ones((2, 2))), "eq_jacobian"),
    (dict(x0=[1.0, 2.0], ineq=lambda x: x, ineq_jacobian=lambda x: np.ones((2, 3))), "ineq_jacobian"),
    (dict(x0=[1.0, 2.0], eq_jacobian=lambda x: np.ones((1, 2))), "eq_jacobian"),
    (dict(x0=[1.0, 2.0], hessian=lambda x: np.eye(3)), "hessian"),
    (dict(x0=[1.0, 2.0], lagrangian_hessian=lambda x, y, z: np.eye(1)), "lagrangian_hessian"),
    (dict(x0=[1.0, 2.0], derivatives="magic"), "derivatives"),
])
def test_invalid_input_names_the_field(kwargs, field):
    with pytest.raises(ProblemError) as info:
        NLP(quad, **kwargs)
    assert info.value.field == field
    assert str(info.value).startswith(field)


def test_objective_must_be_scalar_finite_and_callable():
    with pytest.raises(ProblemError, match="objective.*scalar"):
        NLP(lambda x: x, [1.0, 2.0])
    with pytest.raises(ProblemError, match="objective.*not finite"), np.errstate(invalid="ignore"):
        NLP(lambda x: np.log(x[0] - 5.0), [1.0], derivatives="finite-difference")
    with pytest.raises(ProblemError, match="objective.*callable"):
        NLP(3.0, [1.0])
    with pytest.raises(ZeroDivisionError):  # the user's own exception propagates unchanged
        NLP(lambda x: 1 / 0, [1.0])


class _UserError(RuntimeError):
    pass


def _raise(*args):
    raise _UserError("raised by the user")


@pytest.mark.parametrize("kwargs, field", [
    (dict(x0=[1.0 + 1j, 2.0]), "x0"),
    (dict(x0=np.array([1.0, 2.0], dtype=complex)), "x0"),
    (dict(x0=[]), "x0"),
    (dict(x0=[1.0, 2.0], bounds=([0.0, 1j], 3.0)), "bounds"),
    (dict(x0=[1.0, 2.0], gradient=lambda x: 2.0 * x + 0j), "gradient"),
    (dict(x0=[1.0, 2.0], gradient=lambda x: "abc"), "gradient"),
    (dict(x0=[1.0, 2.0], eq=lambda x: x[:1] + 1j), "eq"),
    (dict(x0=[1.0, 2.0], eq=lambda x: x[:1], eq_jacobian=lambda x: np.ones((1, 2), dtype=complex)), "eq_jacobian"),
    (dict(x0=[1.0, 2.0], hessian=lambda x: np.ones(2)), "hessian"),
    (dict(x0=[1.0, 2.0], hessp=lambda x, v: np.ones(3)), "hessp"),
    (dict(x0=[1.0, 2.0], lagrangian_hessian=lambda x, y, z: np.eye(2) * 1j), "lagrangian_hessian"),
])
def test_complex_empty_and_wrong_kind_values_name_the_field(kwargs, field):
    with pytest.raises(ProblemError) as info:
        NLP(quad, **kwargs)
    assert info.value.field == field


def test_complex_objective_rejected():
    with pytest.raises(ProblemError, match="objective.*complex"):
        NLP(lambda x: complex(x @ x), [1.0, 2.0], gradient=lambda x: 2 * x)


@pytest.mark.parametrize("name", ["gradient", "eq_jacobian", "hessian", "lagrangian_hessian"])
def test_user_exception_in_a_derivative_at_x0_propagates(name):
    kwargs = {"eq": lambda x: x[:1], name: _raise}
    with pytest.raises(_UserError):
        NLP(quad, [1.0, 2.0], **kwargs)


def test_user_functions_are_wrapped():
    """An exception raised by a user function during a solve is marked as the user's (it propagates)."""
    from mathopt.core.user import is_user_error

    p = NLP(lambda x: 1.0 / float(x[0]), [1.0], gradient=lambda x: -x / x[0] ** 3)
    with pytest.raises(ZeroDivisionError) as info:
        p.evaluator().fun(np.array([0.0]))
    assert is_user_error(info.value)


def test_jax_requested_for_untraceable_function():
    with pytest.raises(ProblemError, match="derivatives.*jax"):
        NLP(lambda x: float(np.asarray(x) @ np.asarray(x)), [1.0, 2.0], derivatives="jax")


def test_sizes_bounds_and_constraint_types():
    p = NLP(quad, [1.0, 2.0], eq=lambda x: np.array([x[0] - 1.0]), ineq=lambda x: np.array([x[1], -x[1], x[0]]),
            bounds=(0.0, [None, 3.0]), derivatives="finite-difference")
    assert (p.n, p.n_eq, p.n_ineq) == (2, 1, 3)
    np.testing.assert_array_equal(p.lb, [0.0, 0.0])
    np.testing.assert_array_equal(p.ub, [np.inf, 3.0])
    assert p.constraint_types == {"eq", "ineq", "bounds"}


def rosenbrock(x):
    return ((100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)).sum()


def test_derivative_sources_agree():
    x0 = np.array([-1.2, 1.0, 0.5])
    user = NLP(rosenbrock, x0, gradient=lambda x: _rosen_grad(x))
    jax_p = NLP(rosenbrock, x0)  # traceable: autodiff
    fd = NLP(rosenbrock, x0, derivatives="finite-difference")
    assert (user.derivative_source, jax_p.derivative_source, fd.derivative_source) == (
        "user", "jax", "finite-difference")
    expected = _rosen_grad(x0)
    np.testing.assert_allclose(user.evaluator().gradient(x0), expected, rtol=1e-15)
    np.testing.assert_allclose(jax_p.evaluator().gradient(x0), expected, rtol=1e-12)
    np.testing.assert_allclose(fd.evaluator().gradient(x0), expected, rtol=1e-7)
    hess_jax = jax_p.evaluator().lagrangian_hessian(x0)
    hess_fd = fd.evaluator().lagrangian_hessian(x0)
    np.testing.assert_allclose(hess_fd, hess_jax, rtol=1e-5, atol=1e-5)
    assert hess_jax.dtype == np.float64


def _rosen_grad(x):
    g = np.zeros_like(x)
    g[:-1] += -400.0 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2.0 * (1 - x[:-1])
    g[1:] += 200.0 * (x[1:] - x[:-1] ** 2)
    return g


def test_jax_constraints_and_lagrangian_hessian():
    import jax.numpy as jnp

    p = NLP(lambda x: jnp.sum(x ** 2), [1.0, 2.0], eq=lambda x: jnp.array([x[0] * x[1] - 1.0]),
            ineq=lambda x: jnp.array([x[0] ** 2 - 4.0]))
    ev = p.evaluator()
    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(ev.eq_jacobian(x), [[2.0, 1.0]])
    np.testing.assert_allclose(ev.ineq_jacobian(x), [[2.0, 0.0]])
    # H = 2I + y_eq * [[0,1],[1,0]] + y_ineq * [[2,0],[0,0]]
    np.testing.assert_allclose(ev.lagrangian_hessian(x, [3.0], [0.5]), [[3.0, 3.0], [3.0, 2.0]])
    np.testing.assert_allclose(ev.hessp(x, np.array([1.0, -1.0])), [2.0, -2.0])


def test_sparse_jacobian_accepted_and_counted():
    a = sp.csr_matrix(np.array([[1.0, 2.0, 3.0]]))
    p = NLP(lambda x: float(x @ x), np.ones(3), gradient=lambda x: 2 * x,
            eq=lambda x: a @ x - 1.0, eq_jacobian=lambda x: a)
    ev = p.evaluator()
    assert sp.issparse(ev.eq_jacobian(np.ones(3)))
    ev.fun(np.ones(3))
    assert ev.counters() == {"nfev": 1, "ngev": 0, "nhev": 0} and ev.njev == 1
    result = mathopt.solve(p, method="scipy-slsqp")
    np.testing.assert_allclose(result.x, np.array([1.0, 2.0, 3.0]) / 14.0, atol=1e-7)
