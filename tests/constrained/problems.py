"""Problems shared by the NLP solver tests: a random convex QP with its closed-form KKT solution,
and the robustness cases of issue 6 (inconsistent constraints, rank-deficient Jacobian, NaN, unbounded)."""
import numpy as np

import mathopt


def random_equality_qp(n=6, m=3, seed=0):
    """min 1/2 x'Qx + q'x s.t. Ax = b (Q positive definite); returns (problem, x*, lambda*)."""
    rng = np.random.default_rng(seed)
    M = rng.standard_normal((n, n))
    Q = M @ M.T + n * np.eye(n)
    q = rng.standard_normal(n)
    A = rng.standard_normal((m, n))
    b = rng.standard_normal(m)
    kkt = np.block([[Q, A.T], [A, np.zeros((m, m))]])
    sol = np.linalg.solve(kkt, np.concatenate([-q, b]))
    problem = mathopt.NLP(lambda x: 0.5 * x @ Q @ x + q @ x, np.zeros(n), gradient=lambda x: Q @ x + q,
                          eq=lambda x: A @ x - b, eq_jacobian=lambda x: A,
                          lagrangian_hessian=lambda x, y, z: Q, name="random-qp")
    return problem, sol[:n], sol[n:]


def inconsistent():
    """x0 = 0 and x0 = 1: no feasible point (the least-squares point is x0 = 1/2)."""
    return mathopt.NLP(lambda x: x @ x, [2.0, 1.0], gradient=lambda x: 2.0 * x,
                       eq=lambda x: np.array([x[0], x[0] - 1.0]),
                       eq_jacobian=lambda x: np.array([[1.0, 0.0], [1.0, 0.0]]),
                       lagrangian_hessian=lambda x, y, z: 2.0 * np.eye(2))


def rank_deficient():
    """The same constraint twice (Jacobian of rank 1); the solution is (1/2, 1/2)."""
    return mathopt.NLP(lambda x: x @ x, [2.0, -1.0], gradient=lambda x: 2.0 * x,
                       eq=lambda x: np.array([x[0] + x[1] - 1.0, 2.0 * (x[0] + x[1] - 1.0)]),
                       eq_jacobian=lambda x: np.array([[1.0, 1.0], [2.0, 2.0]]),
                       lagrangian_hessian=lambda x, y, z: 2.0 * np.eye(2))


def nan_objective():
    """Finite at x0, NaN once the iterates reach x0 < 0.5 on the way to the solution (0, 0)."""
    def objective(x):
        return float(x @ x) if x[0] > 0.5 else float("nan")

    return mathopt.NLP(objective, [2.0, 1.0], gradient=lambda x: 2.0 * x if x[0] > 0.5 else np.full(2, np.nan),
                       eq=lambda x: np.array([x[0] - x[1]]), eq_jacobian=lambda x: np.array([[1.0, -1.0]]),
                       lagrangian_hessian=lambda x, y, z: 2.0 * np.eye(2))


def unbounded():
    """min -x0 s.t. x1 = 0 (unbounded below)."""
    return mathopt.NLP(lambda x: -x[0], [0.0, 1.0], gradient=lambda x: np.array([-1.0, 0.0]),
                       eq=lambda x: np.array([x[1]]), eq_jacobian=lambda x: np.array([[0.0, 1.0]]),
                       lagrangian_hessian=lambda x, y, z: np.zeros((2, 2)))


#: Variables entering only squared: the published minimizer is one of two (BT7: x4 = +-sqrt(4.5)).
SIGN_FREE = {"BT7": (3,)}
#: Degenerate minimizers, where x is determined only to a power of the tolerances: BT8 (no LICQ at
#: the solution: x2 ~ sqrt(feasibility_tol)), HS46 and HS49 (singular reduced Hessian, the objective
#: grows like |x - x*|^4 to |x - x*|^6 along some directions).
DEGENERATE_X_TOL = {"BT8": 1e-4, "HS46": 1e-2, "HS49": 2e-2}


def assert_solves_hs(method, name, x_tol=1e-5, fun_tol=1e-6, **options):
    """Solve an HS problem; check status, objective, the published minimizer (to ``x_tol``) and KKT residuals."""
    from mathopt.problems import hs

    problem = hs.load(name)
    result = mathopt.solve(problem, method=method, **options)
    assert result.status is mathopt.Status.CONVERGED, result.message
    assert abs(result.fun - problem.known_optimum) <= fun_tol * max(1.0, abs(problem.known_optimum))
    known_x = hs.solution(name)
    if known_x is not None:
        x = result.x.copy()
        for i in SIGN_FREE.get(name, ()):
            x[i], known_x[i] = abs(x[i]), abs(known_x[i])
        np.testing.assert_allclose(x, known_x, atol=max(x_tol, DEGENERATE_X_TOL.get(name, 0.0)), rtol=0,
                                   err_msg=f"{method} on {name}")
    stat_tol = options.get("stationarity_tol", 1e-6)
    feas_tol = options.get("feasibility_tol", 1e-8)
    assert result.residuals["stationarity"] <= stat_tol and result.residuals["feasibility"] <= feas_tol
    return result


def assert_solves_qp(method, x_tol, multiplier_tol, problem_seed=0, **options):
    """Random convex equality QP against its closed-form KKT solution (numpy solve)."""
    problem, x_star, y_star = random_equality_qp(seed=problem_seed)
    result = mathopt.solve(problem, method=method, **options)
    assert result.status is mathopt.Status.CONVERGED, result.message
    np.testing.assert_allclose(result.x, x_star, atol=x_tol)
    np.testing.assert_allclose(result.extra["multipliers"]["eq"], y_star, atol=multiplier_tol)
    return result


def assert_rank_deficient_solved(method, atol=1e-7, **options):
    """The duplicated constraint must not stop the method: solution (1/2, 1/2)."""
    result = mathopt.solve(rank_deficient(), method=method, **options)
    assert result.status is mathopt.Status.CONVERGED, result.message
    np.testing.assert_allclose(result.x, [0.5, 0.5], atol=atol)


def sparse_qp(seed):
    """random_equality_qp with scipy.sparse (CSR) Jacobian and Lagrangian Hessian."""
    import scipy.sparse as sp

    dense, x_star, y_star = random_equality_qp(seed=seed)
    ev = dense.evaluator()
    problem = mathopt.NLP(dense.objective, dense.x0, gradient=dense.gradient, eq=dense.eq,
                          eq_jacobian=lambda x: sp.csr_matrix(ev.eq_jacobian(x)),
                          lagrangian_hessian=lambda x, y, z: sp.csr_matrix(dense.lagrangian_hessian(x, y, z)))
    return problem, x_star, y_star


def circle_from_its_centre():
    """min (x1-20)^2 + (x2+20)^2 s.t. x1^2/100 + x2^2/100 = 1 from x0 = (0, 0), where the Jacobian is 0:
    x0 is a stationary point of ||c||^2, but a maximizer of it. Solution 10 (1, -1) / sqrt(2)."""
    return mathopt.NLP(lambda x: (x[0] - 20.0) ** 2 + (x[1] + 20.0) ** 2, [0.0, 0.0],
                       gradient=lambda x: np.array([2.0 * (x[0] - 20.0), 2.0 * (x[1] + 20.0)]),
                       eq=lambda x: np.array([(x[0] ** 2 + x[1] ** 2) / 100.0 - 1.0]),
                       eq_jacobian=lambda x: np.array([[x[0] / 50.0, x[1] / 50.0]]))


CIRCLE_SOLUTION = np.array([1.0, -1.0]) * np.sqrt(50.0)


def contradictory():
    """x0 = 1 and x0 = 2 (issue 12): no feasible point; the least-squares point has x0 = 3/2."""
    return mathopt.NLP(lambda x: float(x @ x), [0.3, 0.2], gradient=lambda x: 2 * x,
                       eq=lambda x: np.array([x[0] - 1.0, x[0] - 2.0]),
                       eq_jacobian=lambda x: np.array([[1.0, 0.0], [1.0, 0.0]]))
