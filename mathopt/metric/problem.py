"""Metric-constrained problems (:class:`MetricProblem`) and their result type.

Three problem kinds share one class, following Sonthalia & Gilbert [1]_:

* ``kind="nearness"`` (metric nearness, weighted l2): given dissimilarities
  :math:`d_{ij}\\ge 0` on the observed pairs :math:`E` (all pairs for a dense
  matrix, the stored entries of a sparse graph) and weights :math:`w_{ij}>0`,

  .. math::

     \\min_{x \\in \\mathrm{MET}(G)} \\tfrac12 \\sum_{ij \\in E} w_{ij} (x_{ij} - d_{ij})^2,

  where :math:`\\mathrm{MET}(G)` is the cone of :math:`x \\ge 0` satisfying
  every cycle inequality of the graph :math:`G=(V,E)`,
  :math:`x_e \\le \\sum_{e' \\in C\\setminus e} x_{e'}` (for the complete graph,
  the triangle inequalities).

  With ``norm="l1"``: :math:`\\min_{x \\in \\mathrm{MET}(G)} \\sum_{ij \\in E} w_{ij} |x_{ij} - d_{ij}|`
  (an LP, solved like correlation clustering).

* ``kind="correlation-clustering"`` (weighted LP relaxation): ``d`` holds
  0 (similar) / 1 (dissimilar) labels, ``w`` nonnegative weights,

  .. math::

     \\min_{x \\in \\mathrm{MET}(G)} \\sum_{ij \\in E} w_{ij} |x_{ij} - d_{ij}|,

  solved through the quadratically regularized problem described in
  :mod:`mathopt.metric.project_and_forget`. Build it from a signed graph with
  :meth:`MetricProblem.from_signed_graph`.

* ``kind="metric-learning"`` (information-theoretic metric learning, ITML [2]_,
  as solved by Project and Forget in [1]_): data points :math:`X` (N x p),
  similar pairs :math:`S`, dissimilar pairs :math:`D`, bounds :math:`u \\le l`,

  .. math::

     \\min_{M \\succ 0} \\operatorname{tr}(M M_0^{-1}) - \\log\\det(M M_0^{-1}) - p
     \\quad\\text{s.t.}\\quad d_M(x_i, x_j) \\le u \\ ((i,j) \\in S),\\ \\
     d_M(x_i, x_j) \\ge l \\ ((i,j) \\in D),

  with :math:`d_M(x, y) = (x-y)^T M (x-y)`. Build it with
  :meth:`MetricProblem.metric_learning`.

References
----------
.. [1] R. Sonthalia, A. C. Gilbert, "Project and Forget: Solving Large-Scale
   Metric Constrained Problems", JMLR 23 (2022); arXiv:2005.03853.
.. [2] J. V. Davis, B. Kulis, P. Jain, S. Sra, I. S. Dhillon,
   "Information-theoretic metric learning", ICML 2007.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np

from ..core.problem import Problem, ProblemError, as_float_matrix
from ..core.result import Result

KINDS = ("nearness", "correlation-clustering", "metric-learning")


def _is_sparse(value) -> bool:
    return hasattr(value, "tocoo") and hasattr(value, "nnz")


def _real_array(value, field_name: str) -> np.ndarray:
    """``value`` as a float array; a ProblemError naming the field for complex or non-numeric data
    (NumPy would drop an imaginary part with a mere warning)."""
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise ProblemError(field_name, f"cannot be converted to an array ({exc})") from None
    if np.iscomplexobj(arr):
        raise ProblemError(field_name, "must be real, got complex values")
    try:
        return np.array(arr, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ProblemError(field_name, f"must hold real numbers ({exc})") from None


def _real_number(value, field_name: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ProblemError(field_name, f"must be a real number, got {value!r}")
    return float(value)


def _upper_pairs(n: int):
    """Endpoints of every pair i < j, in row-major (upper-triangle) order."""
    rows, cols = np.triu_indices(n, k=1)
    return rows.astype(np.int64), cols.astype(np.int64)


def _sparse_edges(matrix, field_name: str):
    """Upper-triangle (i < j) entries of a symmetric scipy.sparse matrix."""
    import scipy.sparse as sp

    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ProblemError(field_name, f"must be a square matrix, got shape {matrix.shape}")
    if np.issubdtype(matrix.dtype, np.complexfloating):
        raise ProblemError(field_name, "must be real, got complex values")
    csr = sp.csr_matrix(matrix, dtype=float)
    csr.sum_duplicates()
    if not np.all(np.isfinite(csr.data)):
        raise ProblemError(field_name, "contains NaN or inf")
    if abs(csr - csr.T).max() > 1e-12 * max(1.0, abs(csr).max()) or (csr != 0).sum() != (csr.T != 0).sum():
        raise ProblemError(field_name, "must be symmetric (store both (i, j) and (j, i))")
    upper = sp.triu(csr, k=1).tocoo()
    if sp.tril(csr, k=0).diagonal().any():
        raise ProblemError(field_name, "must have a zero diagonal")
    order = np.lexsort((upper.col, upper.row))
    return (upper.row[order].astype(np.int64), upper.col[order].astype(np.int64),
            upper.data[order].astype(float))


def _dense_symmetric(value, field_name: str) -> np.ndarray:
    matrix = as_float_matrix(_real_array(value, field_name), field_name)
    if matrix.shape[0] != matrix.shape[1]:
        raise ProblemError(field_name, f"must be a square matrix, got shape {matrix.shape}")
    if not np.allclose(matrix, matrix.T, rtol=0.0, atol=1e-12 * max(1.0, np.abs(matrix).max())):
        raise ProblemError(field_name, "must be symmetric")
    return matrix


def _pairs(value, field_name: str, num_points: int) -> np.ndarray:
    pairs = _real_array(value if value is not None else np.zeros((0, 2)), field_name)
    if pairs.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    if pairs.ndim != 2 or pairs.shape[1] != 2:
        raise ProblemError(field_name, f"must be an array of shape (k, 2), got {pairs.shape}")
    if not np.all(np.isfinite(pairs)) or np.any(pairs != np.round(pairs)):
        raise ProblemError(field_name, "must hold integer point indices")
    pairs = pairs.astype(np.int64)
    if pairs.min() < 0 or pairs.max() >= num_points:
        raise ProblemError(field_name, f"indices must lie in [0, {num_points})")
    if np.any(pairs[:, 0] == pairs[:, 1]):
        raise ProblemError(field_name, "a pair must join two different points")
    return pairs


@dataclass(frozen=True, eq=False)
class MetricProblem(Problem):
    """A metric-constrained problem (see the module docstring for the three kinds).

    Parameters
    ----------
    dissimilarity : (n, n) array or scipy.sparse matrix, or None
        Symmetric dissimilarities :math:`d_{ij} \\ge 0` with a zero diagonal.
        Dense: every pair i < j is observed (the complete graph). Sparse: the
        stored off-diagonal entries are the observed pairs (the edges of G; a
        stored explicit zero is an observed pair with d = 0). None for
        ``kind="metric-learning"``.
    kind : {"nearness", "correlation-clustering", "metric-learning"}
    weights : array or sparse matrix like ``dissimilarity``, optional
        Nonnegative weights (default all ones). Metric nearness needs positive
        weights on the observed pairs (leave a pair out with a sparse graph).
    norm : {"l2", "l1"}
        Norm of metric nearness: ``"l2"`` (default) minimizes
        :math:`\\tfrac12\\sum w_e (x_e - d_e)^2`, ``"l1"`` minimizes
        :math:`\\sum w_e |x_e - d_e|` (an LP, solved through the regularized
        formulation of correlation clustering, see
        :mod:`mathopt.metric.project_and_forget`).
    points, similar, dissimilar, upper, lower, prior
        Metric-learning data: points (N, p), pair index arrays (k, 2), the
        bounds u (similar) and l (dissimilar) with ``0 < upper <= lower``, and
        the prior matrix :math:`M_0` (default identity).

    Examples
    --------
    >>> import numpy as np, mathopt
    >>> D = np.array([[0.0, 1.0, 3.0], [1.0, 0.0, 1.0], [3.0, 1.0, 0.0]])
    >>> problem = mathopt.MetricProblem(D)
    >>> problem.num_nodes, problem.num_pairs
    (3, 3)
    """

    dissimilarity: object = None
    kind: str = "nearness"
    weights: object = None
    norm: str = "l2"
    points: object = None
    similar: object = None
    dissimilar: object = None
    upper: float | None = None
    lower: float | None = None
    prior: object = None
    # derived (filled by __post_init__)
    num_nodes: int = field(init=False, default=0)
    dense: bool = field(init=False, default=True)
    edge_u: np.ndarray = field(init=False, repr=False, default=None)
    edge_v: np.ndarray = field(init=False, repr=False, default=None)
    edge_d: np.ndarray = field(init=False, repr=False, default=None)
    edge_w: np.ndarray = field(init=False, repr=False, default=None)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ProblemError("kind", f"must be one of {KINDS}, got {self.kind!r}")
        if self.norm not in ("l2", "l1"):
            raise ProblemError("norm", f"must be 'l2' or 'l1', got {self.norm!r}")
        if self.norm != "l2" and self.kind != "nearness":
            raise ProblemError("norm", f"applies to kind='nearness' only (got kind={self.kind!r})")
        if self.kind == "metric-learning":
            self._validate_learning()
        else:
            self._validate_graph()

    def _set(self, **values):
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def _validate_graph(self):
        if self.dissimilarity is None:
            raise ProblemError("dissimilarity", f"is required for kind={self.kind!r}")
        if _is_sparse(self.dissimilarity):
            u, v, d = _sparse_edges(self.dissimilarity, "dissimilarity")
            n = self.dissimilarity.shape[0]
            dense = False
        else:
            matrix = _dense_symmetric(self.dissimilarity, "dissimilarity")
            n = matrix.shape[0]
            u, v = _upper_pairs(n)
            d = matrix[u, v]
            dense = True
            if np.any(np.diag(matrix) != 0):
                raise ProblemError("dissimilarity", "must have a zero diagonal")
        if n < 2:
            raise ProblemError("dissimilarity", f"needs at least 2 points, got {n}")
        if u.size == 0:
            raise ProblemError("dissimilarity", "has no observed pair")
        if np.any(d < 0):
            raise ProblemError("dissimilarity", "must be nonnegative")
        w = self._edge_weights(n, u, v, dense)
        if self.kind == "nearness" and np.any(w <= 0):
            raise ProblemError("weights", "must be positive on every observed pair for metric nearness "
                                          "(leave a pair out with a sparse graph instead)")
        if self.kind == "correlation-clustering" and np.any((d != 0) & (d != 1)):
            raise ProblemError("dissimilarity", "must hold 0 (similar) or 1 (dissimilar) labels for "
                                                "correlation clustering")
        self._set(num_nodes=int(n), dense=dense, edge_u=u, edge_v=v, edge_d=d, edge_w=w)

    def _edge_weights(self, n, u, v, dense) -> np.ndarray:
        if self.weights is None:
            return np.ones(u.size)
        if _is_sparse(self.weights):
            if self.weights.shape != (n, n):
                raise ProblemError("weights", f"must have shape {(n, n)}, got {self.weights.shape}")
            wu, wv, wd = _sparse_edges(self.weights, "weights")
            lookup = dict(zip(zip(wu.tolist(), wv.tolist()), wd.tolist()))
            extra = set(lookup) - set(zip(u.tolist(), v.tolist()))
            if extra:
                raise ProblemError("weights", f"has entries on pairs that are not observed, e.g. {min(extra)}")
            w = np.array([lookup.get(pair, 0.0) for pair in zip(u.tolist(), v.tolist())])
        else:
            weights = _real_array(self.weights, "weights")
            if weights.ndim == 1:
                if weights.shape[0] != u.size:
                    raise ProblemError("weights", f"a 1-D weight vector must have one entry per observed pair "
                                                  f"({u.size}), got {weights.shape[0]}")
                w = np.array(weights, dtype=float)
                if not np.all(np.isfinite(w)):
                    raise ProblemError("weights", "contains NaN or inf")
            else:
                matrix = _dense_symmetric(weights, "weights")
                if matrix.shape != (n, n):
                    raise ProblemError("weights", f"must have shape {(n, n)}, got {matrix.shape}")
                w = matrix[u, v]
        if np.any(w < 0):
            raise ProblemError("weights", "must be nonnegative")
        return w

    def _validate_learning(self):
        if self.dissimilarity is not None:
            raise ProblemError("dissimilarity", "must be None for kind='metric-learning' (give points and pairs)")
        if self.points is None:
            raise ProblemError("points", "is required for kind='metric-learning'")
        points = as_float_matrix(_real_array(self.points, "points"), "points")
        num, dim = points.shape
        similar = _pairs(self.similar, "similar", num)
        dissimilar = _pairs(self.dissimilar, "dissimilar", num)
        if similar.shape[0] + dissimilar.shape[0] == 0:
            raise ProblemError("similar", "metric learning needs at least one similar or dissimilar pair")
        for name in ("upper", "lower"):
            value = getattr(self, name)
            if value is None or not np.isfinite(_real_number(value, name)) or float(value) <= 0:
                raise ProblemError(name, f"must be a positive finite number, got {value!r}")
        if float(self.upper) > float(self.lower):
            raise ProblemError("upper", f"must not exceed lower ({self.upper} > {self.lower})")
        for name, pairs in (("similar", similar), ("dissimilar", dissimilar)):
            if pairs.size and np.any(np.all(points[pairs[:, 0]] == points[pairs[:, 1]], axis=1)):
                raise ProblemError(name, "a pair joins two identical points (its distance is always 0)")
        prior = np.eye(dim) if self.prior is None else as_float_matrix(_real_array(self.prior, "prior"), "prior",
                                                                       shape=(dim, dim))
        if not np.allclose(prior, prior.T) or np.linalg.eigvalsh(prior).min() <= 0:
            raise ProblemError("prior", "must be symmetric positive definite")
        self._set(points=points, similar=similar, dissimilar=dissimilar, prior=prior,
                  upper=float(self.upper), lower=float(self.lower), num_nodes=int(num), dense=True)

    # ------------------------------------------------------------------ helpers
    @property
    def constraint_types(self) -> frozenset:
        """The constraint kinds of the problem (matched against the solvers' registry metadata):
        ``"metric"`` (x in MET(G): x >= 0 and the cycle inequalities) for the graph kinds,
        ``"pairs"`` (the distance bounds on the similar / dissimilar pairs) for metric learning."""
        return frozenset({"pairs"} if self.kind == "metric-learning" else {"metric"})

    @property
    def num_pairs(self) -> int:
        """Observed pairs (graph kinds) or constrained pairs (metric learning)."""
        if self.kind == "metric-learning":
            return int(self.similar.shape[0] + self.dissimilar.shape[0])
        return int(self.edge_u.size)

    @property
    def edges(self) -> np.ndarray:
        """(m, 2) endpoints (i < j) of the observed pairs, in the order of ``result.x`` for sparse input."""
        return np.column_stack([self.edge_u, self.edge_v])

    def to_matrix(self, values) -> np.ndarray:
        """A symmetric n x n matrix with ``values`` on the observed pairs (zero elsewhere)."""
        matrix = np.zeros((self.num_nodes, self.num_nodes))
        matrix[self.edge_u, self.edge_v] = values
        matrix[self.edge_v, self.edge_u] = values
        return matrix

    @classmethod
    def from_signed_graph(cls, adjacency, **kwargs) -> "MetricProblem":
        """Correlation clustering from a signed weighted graph.

        A positive entry :math:`A_{ij} > 0` says "similar" with weight
        :math:`A_{ij}` (:math:`d_{ij} = 0`); a negative entry says
        "dissimilar" with weight :math:`|A_{ij}|` (:math:`d_{ij} = 1`). A dense
        array gives the complete graph (zero entries are pairs of weight 0); a
        scipy.sparse matrix keeps only its stored entries as edges.
        """
        if _is_sparse(adjacency):
            import scipy.sparse as sp

            if np.issubdtype(adjacency.dtype, np.complexfloating):
                raise ProblemError("adjacency", "must be real, got complex values")
            signed = sp.csr_matrix(adjacency, dtype=float)
            labels = signed.copy()
            labels.data = (signed.data < 0).astype(float)
            weights = abs(signed)
            if not np.all(np.isfinite(signed.data)):
                raise ProblemError("adjacency", "contains NaN or inf")
            return cls(labels, kind="correlation-clustering", weights=weights, **kwargs)
        signed = as_float_matrix(_real_array(adjacency, "adjacency"), "adjacency")
        return cls((signed < 0).astype(float), kind="correlation-clustering", weights=np.abs(signed), **kwargs)

    @classmethod
    def metric_learning(cls, points, similar, dissimilar, upper, lower, prior=None) -> "MetricProblem":
        """The ITML problem on ``points`` (see the module docstring)."""
        return cls(None, kind="metric-learning", points=points, similar=similar, dissimilar=dissimilar,
                   upper=upper, lower=lower, prior=prior)


@dataclass(frozen=True, kw_only=True, repr=False)
class MetricResult(Result):
    """Result of a metric-constrained solve.

    ``x`` is the flat vector of the decision variables: the values on the
    observed pairs ``edges`` (dense input: the upper triangle, i < j, in
    row-major order), or the learned p x p Mahalanobis matrix flattened in C
    order (metric learning). Extra fields:

    Attributes
    ----------
    matrix : ndarray or scipy.sparse.csr_matrix
        The shaped view of ``x``: the symmetric n x n matrix with zero diagonal
        (dense input), the same as a CSR matrix storing only the observed pairs
        (sparse input), or the p x p matrix M (metric learning).
    max_violation : float
        Largest violation of a metric (cycle) or pair constraint at ``x``.
    active_sizes : ndarray
        Number of remembered constraints after each iteration's forget step.
    edges : ndarray
        (m, 2) endpoints (i < j) of the pairs that ``x`` refers to (graph kinds).
    clusters : ndarray or None
        Cluster label of each node (correlation clustering, pivot rounding).
    lp_objective : float
        Correlation clustering and l1 nearness: the LP objective at ``x``
        (also ``fun``); ``extra["lp_lower_bound"]`` is a certified lower bound
        of the LP optimum.
    rounded_objective : float
        Correlation clustering: the objective of the rounded clustering.
    """

    matrix: object = None
    max_violation: float = float("nan")
    active_sizes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    edges: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))
    clusters: np.ndarray | None = None
    lp_objective: float = float("nan")
    rounded_objective: float = float("nan")
