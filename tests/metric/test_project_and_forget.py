"""Project and Forget against cvxpy (Clarabel) and the constraints' own checks."""
import itertools

import cvxpy as cp
import numpy as np
import pytest
import scipy.sparse as sp

import mathopt
from mathopt import Status


def _symmetric(rng, n, low=0.0, high=1.0):
    upper = np.triu(rng.uniform(low, high, (n, n)), 1)
    return upper + upper.T


def _triangle_violation(X):
    """max over i, j, k of X_ij - X_ik - X_kj."""
    return float(np.max(X[:, None, :] - X[:, :, None] - X[None, :, :].transpose(0, 2, 1)))


def _cvxpy_metric_problem(n, objective_of):
    X = cp.Variable((n, n), symmetric=True)
    cons = [X >= 0, cp.diag(X) == 0]
    cons += [X[i, j] <= X[i, k] + X[k, j] for i, j, k in itertools.permutations(range(n), 3) if i < j]
    problem = cp.Problem(cp.Minimize(objective_of(X)), cons)
    problem.solve(solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    return problem.value, X.value


@pytest.mark.parametrize("n, seed", [(8, 0), (14, 1)])
def test_nearness_matches_cvxpy(n, seed):
    rng = np.random.default_rng(seed)
    D, W = _symmetric(rng, n), _symmetric(rng, n, 0.5, 2.0)
    result = mathopt.solve(mathopt.MetricProblem(D, weights=W), method="project-and-forget")
    assert result.status is Status.CONVERGED
    value, X = _cvxpy_metric_problem(n, lambda X: 0.5 * cp.sum(cp.multiply(np.triu(W, 1), cp.square(X - D))))
    assert abs(result.fun - value) <= 1e-6 * value
    np.testing.assert_allclose(result.matrix, X, atol=1e-5)
    rows, cols = np.triu_indices(n, 1)
    np.testing.assert_array_equal(result.x, result.matrix[rows, cols])  # x: the upper triangle, row-major
    np.testing.assert_array_equal(result.edges, np.column_stack([rows, cols]))
    assert _triangle_violation(result.matrix) <= 1e-8
    assert result.max_violation <= 1e-8
    np.testing.assert_allclose(result.matrix, result.matrix.T)


@pytest.mark.parametrize("n, seed, gamma", [(8, 0, 100.0), (12, 1, 10.0)])
def test_l1_nearness_within_regularization_bound_of_cvxpy(n, seed, gamma):
    """l1 nearness is an LP solved through its regularization (module docstring):
    R(v) = c^T v + |v|^2 / (2 gamma) with v = (x, f), f_e = |x_e - d_e|. R(v_gamma) <= R(v*)
    for the LP solution v* of cvxpy gives LP* <= LP(x_gamma) <= LP* + |v*|^2 / (2 gamma);
    ``lp_lower_bound`` (Lagrangian, from the duals) must not exceed LP*."""
    rng = np.random.default_rng(seed)
    D, W = _symmetric(rng, n), _symmetric(rng, n, 0.5, 2.0)
    result = mathopt.solve(mathopt.MetricProblem(D, weights=W, norm="l1"), gamma=gamma, max_iter=20000)
    assert result.status is Status.CONVERGED
    value, X = _cvxpy_metric_problem(n, lambda X: cp.sum(cp.multiply(np.triu(W, 1), cp.abs(X - D))))
    rows, cols = np.triu_indices(n, 1)
    v_star = np.concatenate([X[rows, cols], np.abs(X - D)[rows, cols]])
    tol = 1e-7 * value
    assert value - tol <= result.fun <= value + v_star @ v_star / (2.0 * gamma) + tol
    assert result.fun == pytest.approx(np.sum(np.triu(W, 1) * np.abs(result.matrix - D)))
    assert result.extra["lp_lower_bound"] <= value + tol
    assert _triangle_violation(result.matrix) <= 1e-8
    if gamma >= 100.0:  # above the exact-regularization threshold on this instance
        assert abs(result.fun - value) <= 1e-6 * value


def test_sparse_nearness_satisfies_cycle_inequalities():
    rng = np.random.default_rng(2)
    G = sp.random(25, 25, density=0.25, random_state=4)
    G = sp.triu(G, 1)
    G = (G + G.T).tocsr()
    problem = mathopt.MetricProblem(G)
    result = mathopt.solve(problem, history=True)
    assert result.status is Status.CONVERGED
    assert result.x.shape == (problem.num_pairs,)
    assert sp.issparse(result.matrix) and result.matrix.nnz == 2 * problem.num_pairs
    np.testing.assert_array_equal(result.matrix[problem.edge_u, problem.edge_v].A1, result.x)
    # every edge value is at most the shortest path between its endpoints
    from scipy.sparse.csgraph import shortest_path

    graph = sp.csr_matrix((np.maximum(result.x, 1e-300), (problem.edge_u, problem.edge_v)),
                          shape=G.shape)
    dist = shortest_path(graph, directed=False)
    assert np.max(result.x - dist[problem.edge_u, problem.edge_v]) <= 1e-8
    assert result.x.min() >= -1e-10
    assert result.history["active"].shape == result.history["fun"].shape
    del rng


def test_sparse_nearness_matches_cvxpy_cycle_formulation():
    """A 4-cycle with one long edge: the only metric constraints are its 4 cycle inequalities."""
    u, v = np.array([0, 1, 2, 0]), np.array([1, 2, 3, 3])
    d = np.array([1.0, 0.5, 0.25, 4.0])
    G = sp.coo_matrix((np.concatenate([d, d]), (np.concatenate([u, v]), np.concatenate([v, u]))), shape=(4, 4))
    problem = mathopt.MetricProblem(G.tocsr())
    np.testing.assert_array_equal(problem.edges, [[0, 1], [0, 3], [1, 2], [2, 3]])  # sorted pairs
    d = problem.edge_d
    result = mathopt.solve(problem)
    x = cp.Variable(4)
    cons = [x >= 0] + [x[e] <= cp.sum(x) - x[e] for e in range(4)]
    value = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(x - d)), cons).solve(solver="CLARABEL")
    assert abs(result.fun - value) <= 1e-6 * value
    np.testing.assert_allclose(result.x, x.value, atol=1e-5)


def test_correlation_clustering_lp_and_rounding():
    rng = np.random.default_rng(1)
    n = 10
    A = np.triu(rng.choice([-1.0, 1.0], (n, n)) * rng.uniform(0.5, 2.0, (n, n)), 1)
    A = A + A.T
    problem = mathopt.MetricProblem.from_signed_graph(A)
    gamma = 100.0
    result = mathopt.solve(problem, gamma=gamma, seed=0)
    assert result.status is Status.CONVERGED
    D, W = (A < 0).astype(float), np.abs(A)
    value, _ = _cvxpy_metric_problem(n, lambda X: cp.sum(cp.multiply(np.triu(W, 1), cp.abs(X - D))))
    # documented bound of the regularized problem: LP(x_gamma) - LP* <= m / gamma
    assert value - 1e-6 * value <= result.lp_objective <= value + problem.num_pairs / gamma
    assert abs(result.lp_objective - value) <= 1e-6 * value  # exact here: gamma is above the threshold
    assert result.extra["lp_lower_bound"] <= value + 1e-7 * value  # a certified lower bound
    labels = result.clusters
    assert labels.shape == (n,) and labels.min() == 0
    assert set(labels.tolist()) == set(range(labels.max() + 1))  # a partition with consecutive labels
    separated = labels[problem.edge_u] != labels[problem.edge_v]
    expected = np.sum(problem.edge_w * np.abs(separated - problem.edge_d))
    assert result.rounded_objective == pytest.approx(expected)
    assert result.rounded_objective >= value - 1e-9  # no clustering beats the LP bound
    best = mathopt.solve(problem, gamma=gamma, seed=0, rounding_trials=8)
    assert value - 1e-9 <= best.rounded_objective <= result.rounded_objective  # trial 0 is the seed's own order
    assert best.rounded_objective == pytest.approx(
        np.sum(problem.edge_w * np.abs((best.clusters[problem.edge_u] != best.clusters[problem.edge_v])
                                       - problem.edge_d)))


def test_correlation_clustering_sparse_graph():
    rng = np.random.default_rng(3)
    n = 40
    labels = np.repeat(np.arange(4), 10)
    rows, cols = np.triu_indices(n, 1)
    keep = rng.random(rows.size) < 0.3
    rows, cols = rows[keep], cols[keep]
    sign = np.where(labels[rows] == labels[cols], 1.0, -1.0)
    A = sp.coo_matrix((np.concatenate([sign, sign]), (np.concatenate([rows, cols]), np.concatenate([cols, rows]))),
                      shape=(n, n)).tocsr()
    result = mathopt.solve(mathopt.MetricProblem.from_signed_graph(A), seed=1)
    assert result.status is Status.CONVERGED
    assert result.lp_objective <= 1e-6  # a perfectly consistent signed graph: LP value 0
    assert result.rounded_objective == 0.0


def _two_cluster_learning_problem(seed=0):
    rng = np.random.default_rng(seed)
    scale = np.array([0.3, 1.0, 1.0])
    X = np.vstack([rng.normal(0.0, 1.0, (15, 3)) * scale, rng.normal(0.0, 1.0, (15, 3)) * scale + [5.0, 0.0, 0.0]])
    y = np.repeat([0, 1], 15)
    pairs = np.array(list(itertools.combinations(range(30), 2)))
    pairs = pairs[rng.choice(len(pairs), 80, replace=False)]
    similar = pairs[y[pairs[:, 0]] == y[pairs[:, 1]]]
    dissimilar = pairs[y[pairs[:, 0]] != y[pairs[:, 1]]]
    # feasible bounds: M = diag(1, 0.05, 0.05) separates the classes along the first axis
    M = np.diag([1.0, 0.01, 0.01])
    dist = lambda p: np.einsum("kd,de,ke->k", X[p[:, 0]] - X[p[:, 1]], M, X[p[:, 0]] - X[p[:, 1]])
    upper = float(np.max(dist(similar)))
    lower = float(np.min(dist(dissimilar)))
    assert upper <= lower
    return X, similar, dissimilar, upper, lower


def test_metric_learning_hard_constraints():
    X, similar, dissimilar, upper, lower = _two_cluster_learning_problem()
    problem = mathopt.MetricProblem.metric_learning(X, similar, dissimilar, upper, lower)
    result = mathopt.solve(problem, max_iter=5000)
    assert result.status is Status.CONVERGED
    M = result.matrix
    np.testing.assert_array_equal(result.x, M.ravel())
    np.testing.assert_allclose(M, M.T, atol=1e-12)
    assert np.linalg.eigvalsh(M).min() > 0.0
    tol = 1e-6
    diff_s, diff_d = X[similar[:, 0]] - X[similar[:, 1]], X[dissimilar[:, 0]] - X[dissimilar[:, 1]]
    assert np.max(np.einsum("kd,de,ke->k", diff_s, M, diff_s)) <= upper + tol
    assert np.min(np.einsum("kd,de,ke->k", diff_d, M, diff_d)) >= lower - tol
    assert result.fun >= 0.0  # a LogDet divergence


def test_metric_learning_infeasible_hard_bounds_report_infeasible():
    """d_M(x0, x2) <= 2 d_M(x0, x1) + 2 d_M(x1, x2) for every M >= 0, so the similar pairs
    (0, 1), (1, 2) with bound u and the dissimilar pair (0, 2) with l > 4u are infeasible."""
    X = np.random.default_rng(4).normal(size=(5, 4))
    upper, lower = 1.0, 4.5
    similar, dissimilar = np.array([[0, 1], [1, 2], [3, 4]]), np.array([[0, 2], [2, 3]])
    problem = mathopt.MetricProblem.metric_learning(X, similar, dissimilar, upper, lower)
    result = mathopt.solve(problem, max_iter=2000)
    assert result.status is Status.INFEASIBLE
    assert result.max_violation > 1e-3
    # the returned Farkas certificate: sum lam S - sum mu D >= 0 and u sum(lam) < l sum(mu)
    cert = result.extra["infeasibility_certificate"]
    lam, mu = cert["similar"], cert["dissimilar"]
    assert lam.min() >= 0.0 and mu.min() >= 0.0
    vs, vd = X[similar[:, 0]] - X[similar[:, 1]], X[dissimilar[:, 0]] - X[dissimilar[:, 1]]
    P = vs.T @ (lam[:, None] * vs) - vd.T @ (mu[:, None] * vd)
    assert np.linalg.eigvalsh(P).min() >= -1e-9 * np.abs(P).max()
    assert upper * lam.sum() < lower * mu.sum()
    # with ITML's slack the same instance is solvable
    assert mathopt.solve(problem, slack=1.0, max_iter=5000).status is Status.CONVERGED


def test_metric_learning_slack_is_psd_and_meets_targets():
    X, similar, dissimilar, upper, lower = _two_cluster_learning_problem(1)
    problem = mathopt.MetricProblem.metric_learning(X, similar, dissimilar, 0.2 * upper, 2.0 * lower)
    result = mathopt.solve(problem, slack=1.0, max_iter=5000)
    assert result.status is Status.CONVERGED
    assert np.linalg.eigvalsh(result.matrix).min() > 0.0
    targets = result.extra["slack_targets"]
    diffs = np.vstack([X[similar[:, 0]] - X[similar[:, 1]], X[dissimilar[:, 0]] - X[dissimilar[:, 1]]])
    lengths = np.einsum("kd,de,ke->k", diffs, result.matrix, diffs)
    sign = np.concatenate([np.ones(len(similar)), -np.ones(len(dissimilar))])
    assert np.max(sign * (lengths - targets)) <= 1e-6


def test_callback_history_and_seed():
    rng = np.random.default_rng(5)
    problem = mathopt.MetricProblem(_symmetric(rng, 7))
    seen = []
    result = mathopt.solve(problem, callback=lambda info: seen.append(info.nit) or info.nit >= 2, history=True)
    assert result.status is Status.CALLBACK and seen == [0, 1, 2]
    assert set(result.history) >= {"fun", "max_violation", "change", "active"}
    assert result.active_sizes.size == result.nit
    np.testing.assert_array_equal(result.history["active"][1:], result.active_sizes)
    assert result.history["active"][0] > 0  # the oracle's first list of violated triangles
    again = mathopt.solve(problem, seed=3)
    np.testing.assert_array_equal(again.x, mathopt.solve(problem, seed=3).x)


def test_landmark_oracle_agrees_with_plain_oracle():
    """The landmark screen + pruned Dijkstra must find every edge violated by more than the
    reporting tolerance and only valid violated cycles, like the plain per-node oracle."""
    from mathopt.metric import _kernels as K

    rng = np.random.default_rng(6)
    n = 120
    G = sp.triu(sp.random(n, n, density=0.06, random_state=7), 1)
    G = (G + G.T).tocsr()
    problem = mathopt.MetricProblem(G)
    m = problem.num_pairs
    heads = np.concatenate([problem.edge_u, problem.edge_v])
    order = np.argsort(heads, kind="stable")
    indices = np.concatenate([problem.edge_v, problem.edge_u])[order]
    edge_of = np.concatenate([np.arange(m), np.arange(m)])[order]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(heads, minlength=n))])
    x = rng.exponential(1.0, m) * (rng.random(m) < 0.8)  # many zero-length edges, as in correlation clustering
    add_tol, report_tol = 1e-9, 1e-8
    _, _, plain = K.sparse_oracle(x, indptr, indices, edge_of, n, add_tol, np.ones(m, dtype=bool), np.zeros((n, 0)))
    landmarks = rng.choice(n, 5, replace=False).astype(np.int64)
    f_ptr, f_edges, bound, check, lower = K.landmark_screen(x, problem.edge_u, problem.edge_v, indptr, indices,
                                                            edge_of, n, landmarks, add_tol, report_tol)
    ptr, edges, exact = K.sparse_oracle(x, indptr, indices, edge_of, n, add_tol, check, lower)
    assert plain > 0.1 and 0 < check.sum() < m  # the screen decided some edges, not all
    assert max(bound, exact) == pytest.approx(plain, rel=1e-12)
    found = set()
    for p_, e_ in ((f_ptr, f_edges), (ptr, edges)):
        for c in range(p_.size - 1):
            cycle = e_[p_[c]:p_[c + 1]]
            e0, path = cycle[0], cycle[1:]
            assert x[e0] - x[path].sum() > add_tol  # a violated cycle inequality
            degree = np.bincount(np.concatenate([problem.edge_u[path], problem.edge_v[path]]), minlength=n)
            ends = np.flatnonzero(degree % 2)
            assert set(ends.tolist()) == {problem.edge_u[e0], problem.edge_v[e0]}  # a path between e0's endpoints
            found.add(int(e0))
    # every edge the plain oracle sees violated beyond the reporting tolerance is caught
    graph = sp.csr_matrix((np.maximum(np.concatenate([x, x]), 1e-300),
                           (np.concatenate([problem.edge_u, problem.edge_v]),
                            np.concatenate([problem.edge_v, problem.edge_u]))), shape=(n, n))
    from scipy.sparse.csgraph import shortest_path

    dist = shortest_path(graph, directed=False)
    violated = np.flatnonzero(x - dist[problem.edge_u, problem.edge_v] > report_tol)
    assert violated.size > 0 and set(violated.tolist()) <= found


def _kinds():
    """One small problem of each kind and input format."""
    rng = np.random.default_rng(8)
    G = sp.triu(sp.random(30, 30, density=0.3, random_state=9), 1)
    A = np.triu(rng.choice([-1.0, 1.0], (9, 9)), 1)
    X, similar, dissimilar, upper, lower = _two_cluster_learning_problem(2)
    return {"dense": mathopt.MetricProblem(_symmetric(rng, 8)),
            "sparse": mathopt.MetricProblem((G + G.T).tocsr()),
            "clustering": mathopt.MetricProblem.from_signed_graph(A + A.T),
            "sparse-l1": mathopt.MetricProblem((G + G.T).tocsr(), norm="l1"),
            "learning": mathopt.MetricProblem.metric_learning(X, similar, dissimilar, upper, lower)}


@pytest.mark.parametrize("kind", ["dense", "sparse", "clustering", "sparse-l1", "learning"])
def test_step_leaves_its_argument_unchanged(kind):
    """The driver falls back to the previous state on a non-finite iterate: step must not mutate it."""
    import copy
    import dataclasses

    from mathopt.metric import project_and_forget as pf

    problem = _kinds()[kind]
    options = pf.ProjectAndForgetOptions(seed=4)
    solver = pf._LearningSolver() if kind == "learning" else pf._GraphSolver()
    state = solver.init(problem, options)
    for _ in range(3):
        before = copy.deepcopy({f.name: getattr(state, f.name) for f in dataclasses.fields(state) if f.name != "setup"})
        new = solver.step(state)
        assert new is not state
        for name, value in before.items():
            now = getattr(state, name)
            if isinstance(value, tuple) and not hasattr(value, "_fields"):
                assert now == value, name
            else:
                for a, b in zip(value if hasattr(value, "_fields") else [value],
                                now if hasattr(now, "_fields") else [now]):
                    np.testing.assert_array_equal(a, b, err_msg=name)
        assert vars(solver) == {}  # no run state on the solver object
        state = new


@pytest.mark.parametrize("kind", ["sparse", "clustering"])
def test_seeded_randomness_is_per_solve(kind):
    """Landmarks and pivot orders come from generators seeded per solve: the same seed gives the
    same result in two threads as sequentially, and another seed may differ."""
    from concurrent.futures import ThreadPoolExecutor

    problem = _kinds()[kind]
    options = dict(rounding_trials=3) if kind == "clustering" else dict(landmarks=4)
    solve = lambda seed: mathopt.solve(problem, seed=seed, **options)  # noqa: E731
    sequential = [solve(s) for s in (1, 2)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(solve, (1, 2)))
    for expected, got in zip(sequential, results):
        np.testing.assert_array_equal(got.x, expected.x)
        assert got.nit == expected.nit
        if kind == "clustering":
            np.testing.assert_array_equal(got.clusters, expected.clusters)
    assert sequential[0].extra["seed"] == 1  # stochastic: the seed is recorded


def test_overflowing_data_end_nonfinite_with_the_data():
    """Finite data near the float64 limit make the objective overflow: NONFINITE, last finite iterate."""
    rng = np.random.default_rng(0)
    D = _symmetric(rng, 6) * 1e200
    result = mathopt.solve(mathopt.MetricProblem(D), method="project-and-forget")
    assert result.status is Status.NONFINITE and not result.success
    assert result.nit == 0
    np.testing.assert_array_equal(result.matrix, D)  # iterate 0: x = d


def test_registry_metadata_matches_the_problem():
    spec = mathopt.core.registry.get_solver("project-and-forget")
    kinds = _kinds()
    assert kinds["dense"].constraint_types == {"metric"}
    assert kinds["learning"].constraint_types == {"pairs"}
    for problem in kinds.values():
        assert spec.handles(problem) is None
        assert problem.constraint_types <= spec.constraints
    assert spec.stochastic and spec.backends == ("numba",) and spec.default
