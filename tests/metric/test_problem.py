"""Validation of MetricProblem inputs."""
import numpy as np
import pytest
import scipy.sparse as sp

import mathopt
from mathopt import ProblemError


def _random_matrix(n, seed=0):
    upper = np.triu(np.random.default_rng(seed).random((n, n)), 1)
    return upper + upper.T


@pytest.mark.parametrize("matrix, field", [
    (np.array([[0.0, 1.0], [2.0, 0.0]]), "dissimilarity"),           # not symmetric
    (np.array([[0.0, np.nan], [np.nan, 0.0]]), "dissimilarity"),     # NaN
    (np.array([[0.0, np.inf], [np.inf, 0.0]]), "dissimilarity"),     # inf
    (np.array([[0.0, -1.0], [-1.0, 0.0]]), "dissimilarity"),         # negative
    (np.array([[1.0, 1.0], [1.0, 0.0]]), "dissimilarity"),           # nonzero diagonal
    (np.ones((2, 3)), "dissimilarity"),                              # not square
])
def test_bad_dissimilarity_names_field(matrix, field):
    with pytest.raises(ProblemError, match=field):
        mathopt.MetricProblem(matrix)


def test_bad_weights_and_kind():
    D = _random_matrix(4)
    with pytest.raises(ProblemError, match="weights"):
        mathopt.MetricProblem(D, weights=-np.ones((4, 4)))
    with pytest.raises(ProblemError, match="weights"):
        mathopt.MetricProblem(D, weights=np.ones((3, 3)))
    with pytest.raises(ProblemError, match="weights"):
        mathopt.MetricProblem(D, weights=np.zeros((4, 4)))  # nearness needs positive weights
    with pytest.raises(ProblemError, match="kind"):
        mathopt.MetricProblem(D, kind="other")
    with pytest.raises(ProblemError, match="norm"):
        mathopt.MetricProblem(D, norm="linf")
    with pytest.raises(ProblemError, match="norm"):
        mathopt.MetricProblem((D > 0.5).astype(float), kind="correlation-clustering", norm="l1")
    with pytest.raises(ProblemError, match="dissimilarity"):
        mathopt.MetricProblem(D, kind="correlation-clustering")  # labels must be 0/1


def test_sparse_input_keeps_observed_pairs():
    G = sp.csr_matrix(np.array([[0, 1, 0], [1, 0, 2], [0, 2, 0]], dtype=float))
    problem = mathopt.MetricProblem(G)
    assert not problem.dense and problem.num_pairs == 2
    np.testing.assert_array_equal(problem.edges, [[0, 1], [1, 2]])
    with pytest.raises(ProblemError, match="symmetric"):
        mathopt.MetricProblem(sp.csr_matrix(np.array([[0, 1.0], [0, 0]])))


def test_metric_learning_validation():
    X = np.random.default_rng(0).random((5, 2))
    with pytest.raises(ProblemError, match="similar"):
        mathopt.MetricProblem.metric_learning(X, [[0, 9]], [], 1.0, 2.0)
    with pytest.raises(ProblemError, match="upper"):
        mathopt.MetricProblem.metric_learning(X, [[0, 1]], [[1, 2]], 3.0, 2.0)
    with pytest.raises(ProblemError, match="prior"):
        mathopt.MetricProblem.metric_learning(X, [[0, 1]], [[1, 2]], 1.0, 2.0, prior=-np.eye(2))
    with pytest.raises(ProblemError, match="points"):
        mathopt.MetricProblem.metric_learning(np.full((5, 2), np.nan), [[0, 1]], [], 1.0, 2.0)


def test_signed_graph_labels_and_weights():
    A = np.array([[0.0, 2.0, -3.0], [2.0, 0.0, 0.0], [-3.0, 0.0, 0.0]])
    problem = mathopt.MetricProblem.from_signed_graph(A)
    np.testing.assert_array_equal(problem.edge_d, [0.0, 1.0, 0.0])
    np.testing.assert_array_equal(problem.edge_w, [2.0, 3.0, 0.0])


@pytest.mark.parametrize("build, field", [
    (lambda D: mathopt.MetricProblem(D.astype(complex)), "dissimilarity"),
    (lambda D: mathopt.MetricProblem(sp.csr_matrix(D.astype(complex))), "dissimilarity"),
    (lambda D: mathopt.MetricProblem(D, weights=np.ones((4, 4), dtype=complex)), "weights"),
    (lambda D: mathopt.MetricProblem(D, weights=np.ones(6) * 1j), "weights"),
    (lambda D: mathopt.MetricProblem(D, weights=["a"] * 6), "weights"),
    (lambda D: mathopt.MetricProblem(D, weights=np.full(6, np.nan)), "weights"),
    (lambda D: mathopt.MetricProblem(D, weights=np.ones(5)), "weights"),
    (lambda D: mathopt.MetricProblem([["a", "b"], ["c", "d"]]), "dissimilarity"),
    (lambda D: mathopt.MetricProblem(D[:, :, None]), "dissimilarity"),
    (lambda D: mathopt.MetricProblem.from_signed_graph(D * 1j), "adjacency"),
    (lambda D: mathopt.MetricProblem.from_signed_graph(np.full((3, 3), np.nan)), "adjacency"),
])
def test_bad_inputs_name_the_field(build, field):
    with pytest.raises(ProblemError, match=field):
        build(_random_matrix(4))


@pytest.mark.parametrize("change, field", [
    ({"points": np.ones((5, 2)) * 1j}, "points"),
    ({"points": np.ones(5)}, "points"),
    ({"similar": [[0, 1.5]]}, "similar"),
    ({"dissimilar": [[0, 1, 2]]}, "dissimilar"),
    ({"similar": [[0, 1j]]}, "similar"),
    ({"upper": 1j}, "upper"),
    ({"upper": "1"}, "upper"),
    ({"lower": np.nan}, "lower"),
    ({"prior": np.eye(2) * 1j}, "prior"),
    ({"prior": np.eye(3)}, "prior"),
])
def test_bad_metric_learning_inputs_name_the_field(change, field):
    X = np.random.default_rng(0).random((5, 2))
    args = dict(points=X, similar=[[0, 1]], dissimilar=[[1, 2]], upper=1.0, lower=2.0, prior=None)
    args.update(change)
    with pytest.raises(ProblemError, match=field):
        mathopt.MetricProblem.metric_learning(**args)
