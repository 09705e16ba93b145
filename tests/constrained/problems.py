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
