"""The PDE-constrained scale problem (mathopt.problems.pde) at tiny sizes: builder and solves.

The linear problem is a QP, so its exact solution is one sparse solve of its KKT
system (``exact_solution``); al-newton and al-sketch must reach it. The large-n
runs are in benchmarks/bench_nlp_scale.py.
"""
import numpy as np
import pytest
import scipy.sparse as sp

import mathopt
from mathopt import Status
from mathopt.constrained._exact_al import ExactALNewton, _Point
from mathopt.constrained.al_newton import DirectKKTSolver
from mathopt.core import differentiation as diff
from mathopt.problems.pde import exact_solution, laplacian_2d, poisson_control


def test_builder_shapes_sparsity_and_paper_setup():
    problem = poisson_control(4)
    assert (problem.n, problem.n_eq) == (32, 16)
    ev = problem.evaluator()
    jac = ev.eq_jacobian(problem.x0)
    hess = ev.lagrangian_hessian(problem.x0, np.ones(16))
    assert sp.issparse(jac) and sp.issparse(hess)
    assert jac.nnz == 5 * 16 - 4 * 4 + 16  # 5-point stencil minus the boundary neighbours, plus I
    lap = laplacian_2d(4).toarray()
    np.testing.assert_allclose(np.diag(lap), -4.0 / (2.0 / 5) ** 2)
    np.testing.assert_allclose(lap, lap.T)
    with pytest.raises(ValueError, match="N"):
        poisson_control(1)


@pytest.mark.parametrize("kappa", [0.0, 0.7])
def test_derivatives_match_finite_differences(kappa):
    problem = poisson_control(3, kappa=kappa)
    ev = problem.evaluator()
    x = np.random.default_rng(0).standard_normal(problem.n)
    lam = np.random.default_rng(1).standard_normal(problem.n_eq)
    np.testing.assert_allclose(ev.gradient(x), diff.fd_gradient(problem.objective, x), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ev.eq_jacobian(x).toarray(), diff.fd_jacobian(problem.eq, x), rtol=1e-6, atol=1e-4)
    lag_grad = lambda z: ev.gradient(z) + ev.eq_jacobian(z).T @ lam  # noqa: E731
    fd_hess = np.array([(lag_grad(x + 1e-6 * e) - lag_grad(x - 1e-6 * e)) / 2e-6 for e in np.eye(problem.n)])
    np.testing.assert_allclose(ev.lagrangian_hessian(x, lam).toarray(), fd_hess, atol=1e-5)


def test_exact_solution_satisfies_kkt():
    problem = poisson_control(5)
    x_star, lam_star = exact_solution(5)
    ev = problem.evaluator()
    assert np.max(np.abs(ev.eq(x_star))) < 1e-10
    assert np.max(np.abs(ev.gradient(x_star) + ev.eq_jacobian(x_star).T @ lam_star)) < 1e-10


def test_al_newton_solves_to_the_exact_solution_without_densifying():
    problem = poisson_control(6)
    x_star, lam_star = exact_solution(6)
    result = mathopt.solve(problem, method="al-newton")
    assert result.status is Status.CONVERGED, result.message
    np.testing.assert_allclose(result.x, x_star, atol=1e-8)
    np.testing.assert_allclose(result.extra["multipliers"]["eq"], lam_star, atol=1e-7)
    # the KKT matrix built for a sparse Jacobian/Hessian stays sparse
    solver = ExactALNewton(DirectKKTSolver())
    ev = problem.evaluator()
    kkt = solver._kkt_matrix(ev.lagrangian_hessian(problem.x0), ev.eq_jacobian(problem.x0), 0.0)
    assert sp.issparse(kkt)


def test_al_sketch_solves_the_paper_size():
    # N = 3 is the size of the paper's PDE experiment (n = 18, m = 9): the pure method (no exact
    # fallback) with its default sharpened accuracy condition converges in 5 iterations.
    x_star, _ = exact_solution(3)
    result = mathopt.solve(poisson_control(3), method="al-sketch", exact_fallback=False, seed=0)
    assert result.status is Status.CONVERGED, result.message
    assert result.extra["exact_fallbacks"] == 0
    np.testing.assert_allclose(result.x, x_star, atol=1e-6)


def test_large_sparse_jacobian_is_never_densified_for_the_multiplier_start():
    class NoDense(sp.csr_matrix):
        def toarray(self, *args, **kwargs):  # pragma: no cover - the test fails if called
            raise AssertionError("densified")

    jac = NoDense(sp.random(2500, 2000, density=1e-3, random_state=0, format="csr"))
    point = _Point(np.zeros(2000), np.zeros(2500), 0.0, np.ones(2000), np.ones(2500), jac, np.ones(2000))
    lam = ExactALNewton(DirectKKTSolver())._least_squares_multipliers(point)
    np.testing.assert_array_equal(lam, np.zeros(2500))


def test_alias_table_gives_the_row_norm_probabilities():
    from mathopt.constrained._sketch_kernels import alias_table

    weights = np.random.default_rng(0).random(50) ** 3
    weights[7] = 0.0
    accept, alias = alias_table(weights)
    prob = accept.copy()
    np.add.at(prob, alias, 1.0 - accept)
    np.testing.assert_allclose(prob / weights.size, weights / weights.sum(), atol=1e-12)


@pytest.mark.parametrize("N, dim", [(16, 2), (6, 3)])
def test_al_sketch_minres_with_the_pde_preconditioner_reaches_the_exact_solution(N, dim):
    from mathopt.problems.pde import kkt_preconditioner

    calls = []

    def counted(B, G):
        calls.append(1)
        return kkt_preconditioner(seed=0)(B, G)

    result = mathopt.solve(poisson_control(N, dim=dim), method="al-sketch", inner_solver="minres",
                           preconditioner=counted, seed=0)
    x_star, _ = exact_solution(N, dim=dim)
    assert result.status is Status.CONVERGED
    assert np.max(np.abs(result.x - x_star)) <= 1e-6
    # mesh-independent preconditioning: a handful of MINRES iterations per outer iteration
    assert 0 < result.extra["inner_iterations"] <= 15 * result.nit
    assert len(calls) == 1  # the linear problem's B and G never change: built once


def test_3d_builder_and_minres_default_preconditioner():
    problem = poisson_control(3, dim=3)
    assert (problem.n, problem.n_eq) == (54, 27)
    jac = problem.evaluator().eq_jacobian(problem.x0)
    assert jac.nnz == 7 * 27 - 6 * 9 + 27  # 7-point stencil minus the boundary neighbours, plus I
    with pytest.raises(ValueError, match="dim"):
        poisson_control(3, dim=4)
    result = mathopt.solve(problem, method="al-sketch", inner_solver="minres", seed=0)  # Ruiz-preconditioned
    x_star, _ = exact_solution(3, dim=3)
    assert result.status is Status.CONVERGED and np.max(np.abs(result.x - x_star)) <= 1e-6


def test_minres_rebuilds_the_preconditioner_when_the_jacobian_changes():
    from mathopt.problems.pde import kkt_preconditioner

    calls = []

    def counted(B, G):
        calls.append(1)
        return kkt_preconditioner(seed=0)(B, G)

    result = mathopt.solve(poisson_control(6, kappa=0.5), method="al-sketch", inner_solver="minres",
                           preconditioner=counted, seed=0)
    assert result.status is Status.CONVERGED
    assert len(calls) >= min(result.nit, 2)


def test_inner_solver_options_are_validated():
    from mathopt.core.options import OptionError

    problem = poisson_control(3)
    with pytest.raises(OptionError, match="inner_solver"):
        mathopt.solve(problem, method="al-sketch", inner_solver="cg")
    with pytest.raises(OptionError, match="preconditioner"):
        mathopt.solve(problem, method="al-sketch", inner_solver="minres", preconditioner="ilu")
    with pytest.raises(OptionError, match="preconditioner needs inner_solver"):
        mathopt.solve(problem, method="al-sketch", preconditioner=lambda B, G: None)
    with pytest.raises(ValueError, match="G must"):
        from mathopt.problems.pde import kkt_preconditioner

        kkt_preconditioner()(sp.identity(4), sp.csr_matrix(np.ones((2, 3))))


def test_a_preconditioner_error_propagates_unchanged():
    class Mine(ZeroDivisionError):
        pass

    def bad(B, G):
        def apply(r):
            raise Mine("user's preconditioner failed")
        return apply

    with pytest.raises(Mine):
        mathopt.solve(poisson_control(4), method="al-sketch", inner_solver="minres", preconditioner=bad, seed=0)


def test_boolean_options_of_al_sketch_reject_strings():
    from mathopt.core.options import OptionError

    for name in ("equilibrate", "exact_fallback"):
        with pytest.raises(OptionError, match=name):
            mathopt.solve(poisson_control(3), method="al-sketch", inner_solver="minres", **{name: "no"})


@pytest.mark.parametrize("make, match", [
    (lambda B, G: (lambda r: r[:3]), "maps a vector of size 48 to one of size 3"),
    (lambda B, G: np.eye(5), r"shape \(5, 5\); the KKT system has size 48"),
    (lambda B, G: (lambda r: np.full(r.size, np.nan)), "non-finite"),
])
def test_a_preconditioner_of_the_wrong_size_or_nan_raises_naming_it(make, match):
    with pytest.raises(ValueError, match=match):
        mathopt.solve(poisson_control(4), method="al-sketch", inner_solver="minres", preconditioner=make, seed=0)


def test_an_indefinite_preconditioner_ends_with_a_status_that_names_it():
    result = mathopt.solve(poisson_control(4), method="al-sketch", inner_solver="minres",
                           preconditioner=lambda B, G: (lambda r: -r), seed=0)
    assert result.status is Status.NUMERICAL_ERROR and np.all(np.isfinite(result.x))
    assert "MINRES directions" in result.message and "not positive definite" in result.message
    assert "sketch" not in result.message.split("MINRES directions")[1]


@pytest.mark.parametrize("name", ["HS6", "HS27", "HS39", "HS50", "BT9"])
def test_unpreconditioned_minres_converges_on_hs_problems(name):
    from mathopt.problems import hs

    result = mathopt.solve(hs.load(name), method="al-sketch", inner_solver="minres", equilibrate=False, seed=0)
    assert result.status is Status.CONVERGED
    assert np.max(np.abs(result.x - hs.solution(name))) <= 1e-6
    assert result.extra["inner_iterations"] > result.nit  # MINRES iterations were counted


@pytest.mark.parametrize("kwargs, field", [({"seed": "a"}, "seed"), ({"seed": -1}, "seed"), ({"split": 0}, "split"),
                                           ({"split": 1.5}, "split"), ({"inner_tol": -1.0}, "inner_tol"),
                                           ({"inner_tol": "1e-4"}, "inner_tol")])
def test_kkt_preconditioner_arguments_are_validated_when_built(kwargs, field):
    from mathopt import ProblemError
    from mathopt.problems.pde import kkt_preconditioner

    with pytest.raises(ProblemError, match=field):
        kkt_preconditioner(**kwargs)
    kkt_preconditioner(seed=np.int64(3), split=1, inner_tol=None)  # valid values pass
