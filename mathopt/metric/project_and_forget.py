"""Project and Forget (Sonthalia & Gilbert [1]_) for :class:`~mathopt.metric.MetricProblem`.

The method
----------
Project and Forget minimizes a Bregman function :math:`f` over the
intersection of very many half-spaces :math:`\\langle a_i, y\\rangle \\le b_i`
(all cycle inequalities of a graph) while remembering only an active list
:math:`L` of them ([1]_, Algorithm 1). Each iteration:

1. **Oracle**: find violated constraints and add them to :math:`L`. For metric
   constraints the oracle computes shortest paths with the current values as
   edge lengths: a pair :math:`e=(i,j)` with :math:`x_e > \\mathrm{sp}_x(i,j)`
   violates the cycle inequality made of :math:`e` and the shortest
   :math:`i`-:math:`j` path ([1]_, its metric oracle). Dense input:
   all-pairs shortest paths (Floyd-Warshall, O(n^3)). Sparse graphs
   (deviation, ``landmarks > 0``): the shortest-path trees of a few random
   landmarks clear the edges whose landmark lower bound
   :math:`\\max_L |d_L(s) - d_L(t)|` already rules a violation out and return
   the cycle through the landmark tree path for edges that are clearly violated
   (a violated constraint, not always the most violated one); the remaining
   edges are tested by Dijkstra from their smaller endpoint, stopped at the
   largest open :math:`x_{st}` or once every target is settled and pruned with
   the same landmark bounds (ALT), which still finds the exact shortest path of
   every edge violated by more than the add tolerance
   (:func:`mathopt.metric._kernels.landmark_screen`,
   :func:`~mathopt.metric._kernels.sparse_oracle`). ``landmarks=0``: Dijkstra
   from every node, as in [1]_.
2. **Project**: a Bregman projection onto each remembered constraint with the
   dual correction of Hildreth/Dykstra ([1]_, its projection step): for the quadratic
   :math:`f(y)=\\tfrac12 y^T H y + g^T y` (diagonal :math:`H`),
   :math:`\\theta = (b_i - \\langle a_i,y\\rangle)/\\langle a_i,H^{-1}a_i\\rangle`,
   :math:`c=\\min(z_i,\\theta)`, :math:`y \\leftarrow y + c H^{-1} a_i`,
   :math:`z_i \\leftarrow z_i - c`; the iteration starts at the unconstrained
   minimizer of :math:`f` with :math:`z=0`.
3. **Forget**: drop every remembered constraint whose dual :math:`z_i` is 0
   (it is inactive and can be re-found by the oracle).

Memory is proportional to the active list (plus O(n^2) for the dense oracle's
distance matrix); the O(n^3) triangle inequalities are never materialized.

The three problem kinds
-----------------------
* **Metric nearness** (weighted l2): :math:`f(x)=\\tfrac12\\sum w_e(x_e-d_e)^2`,
  :math:`H=\\mathrm{diag}(w)`, start :math:`x=d`. On sparse graphs the
  nonnegativity constraints :math:`x_e\\ge 0` are projected every sweep
  (on complete graphs they follow from the triangle inequalities).
* **Metric nearness, weighted l1** (``norm="l1"``): the LP
  :math:`\\min_{x\\in\\mathrm{MET}}\\sum w_e|x_e-d_e|` is solved exactly as the
  correlation-clustering LP below (same variables, constraints and
  regularization; Brickell et al. [6]_ solve their l1 problem with the same
  device). The LP value at :math:`x_\\gamma` lies in
  :math:`[\\mathrm{LP}^*, \\mathrm{LP}^* + \\|v^*\\|^2/(2\\gamma)]` for any LP
  solution :math:`v^* = (x^*, f^*)` (from :math:`R(v_\\gamma)\\le R(v^*)`), and
  equals :math:`\\mathrm{LP}^*` for :math:`\\gamma` above Mangasarian's threshold.
* **Correlation clustering**: the LP :math:`\\min_{x\\in\\mathrm{MET}}\\sum w_e|x_e-d_e|`
  is written with :math:`f_e \\ge |x_e - d_e|` and regularized as in [1]_
  (following Veldt et al. [3]_):

  .. math::

     \\min_{x, f}\\ \\sum_e w_e f_e + \\frac{1}{2\\gamma}\\sum_e (x_e^2 + f_e^2)
     \\quad\\text{s.t.}\\ x\\in\\mathrm{MET}(G),\\ x_e - f_e \\le d_e,\\ -x_e - f_e \\le -d_e,\\ x_e \\ge 0.

  By Mangasarian's exact-regularization theorem [4]_ there is a
  :math:`\\bar\\gamma` such that for :math:`\\gamma \\ge \\bar\\gamma` the
  regularized solution is the least-norm LP solution; for any :math:`\\gamma`
  the LP value at :math:`x_\\gamma` exceeds the LP optimum by at most
  :math:`\\|(x^*, f^*)\\|^2/(2\\gamma) \\le m/\\gamma` (m pairs, since
  :math:`0\\le x^*,f^*\\le 1`). Deviation: [1]_ and [3]_ weight the
  regularizer by :math:`W`; we use the identity so that zero-weight pairs
  (non-edges of a dense signed graph) stay well defined. ``result.fun`` is
  the LP objective at ``x``; clusters come from pivot rounding (Ailon,
  Charikar, Newman [5]_; pivots in a seeded random order, a pivot takes the
  unclustered v with :math:`x_{uv} < 1/2`; on sparse graphs, distances are those of the
  shortest-path closure of x on G; ``rounding_trials`` orders, the best kept).
  Both LP kinds report a certified lower bound ``extra["lp_lower_bound"]``
  :math:`= -b^Tz - U\\sum_j\\max(v_j,0)/\\gamma` from the duals
  (:meth:`_GraphSolver.lp_lower_bound`).
* **Metric learning** (ITML [2]_): :math:`f(M) = -\\log\\det M +
  \\operatorname{tr}(M M_0^{-1})` (LogDet divergence to the prior), the oracle
  returns the violated pair constraints, and the projection onto
  :math:`\\delta(v^T M v - b) \\le 0` is the rank-one update of [2]_
  (Algorithm 1 there; hard constraints by default, ITML's slack with
  ``slack``). Infeasible hard bounds are detected by a Farkas certificate
  built from the diverging duals (``Status.INFEASIBLE``, see
  :meth:`_LearningSolver.infeasibility_certificate`).

The result: ``result.x`` is the flat vector of the decision variables: the
values :math:`x_e` on the observed pairs ``result.edges`` (for dense input, the
upper triangle ``X[i, j]``, i < j, in row-major order: ``np.triu_indices(n, 1)``),
or, for metric learning, the learned p x p matrix :math:`M` flattened in C
order. ``result.matrix`` is the shaped view: the symmetric n x n matrix (a
``scipy.sparse`` CSR matrix holding only the observed pairs for sparse input),
or :math:`M`. Randomness (sparse landmarks, pivot orders) comes from
generators seeded by ``seed`` (and the iteration number), never from a global
RNG, so equal seeds give equal results, also for concurrent solves.

Stopping rule: the largest constraint violation (``max_violation``, absolute,
from the oracle at the current point) is below ``max_violation_tol`` and the
largest change of a variable during the last iteration, relative to
``max(1, max|y|)``, is below ``change_tol``.

Only the opening of [1] (abstract, start of the introduction) was reachable;
algorithm numbers beyond "Algorithm 1" are not verified (see the source note
in ``docs/metric.md``).

References
----------
.. [1] R. Sonthalia, A. C. Gilbert, "Project and Forget: Solving Large-Scale
   Metric Constrained Problems", JMLR 23 (2022); arXiv:2005.03853.
.. [2] J. V. Davis, B. Kulis, P. Jain, S. Sra, I. S. Dhillon,
   "Information-theoretic metric learning", ICML 2007.
.. [3] N. Veldt, D. F. Gleich, A. Wirth, J. Saunderson, "Metric-constrained
   optimization for graph clustering algorithms", SIAM J. Math. Data Sci. 2019.
.. [4] O. L. Mangasarian, "Normal solutions of linear programs",
   Math. Programming Study 22, 1984.
.. [5] N. Ailon, M. Charikar, A. Newman, "Aggregating inconsistent
   information: ranking and clustering", J. ACM 55(5), 2008.
.. [6] J. Brickell, I. S. Dhillon, S. Sra, J. A. Tropp, "The metric nearness
   problem", SIAM J. Matrix Anal. Appl. 30(1), 2008.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from ..core.driver import IterationInfo, IterativeSolver, make_result, run
from ..core.options import CommonOptions, check_int, check_positive
from ..core.registry import register
from ..core.status import Status
from .problem import MetricProblem, MetricResult


@dataclass(frozen=True)
class ProjectAndForgetOptions(CommonOptions):
    """Project and Forget (active-set Bregman projections with a shortest-path oracle).

    Parameters
    ----------
    max_violation_tol : float, default 1e-8
        Tolerance on the largest (absolute) violation of a metric or pair
        constraint at the returned point.
    change_tol : float, default 1e-9
        Tolerance on the largest change of a variable in the last iteration,
        relative to ``max(1, max|y|)``.
    sweeps : int, default 5
        Projection passes over the remembered constraints per oracle call.
        Sonthalia & Gilbert (Algorithm 1) make one pass; several passes per
        (O(n^3)) oracle call cost little and cut the number of oracle calls.
    gamma : float, default 100.0
        Correlation clustering: the regularization parameter (larger is
        closer to the LP, see the module docstring; the LP-value gap is at
        most m / gamma for m pairs).
    slack : float, default inf
        Metric learning: ITML's slack weight (its gamma): the objective adds
        ``slack * sum_k D_ld(xi_k, b_k)`` and the pair constraints hold for
        the slack targets ``xi_k`` instead of the bounds. ``inf`` (default)
        enforces the bounds exactly (the problem must then be feasible);
        ITML's default is 1.
    landmarks : int, default 32
        Sparse graphs: number of landmark nodes (drawn at random, seeded by
        ``seed``, anew at each oracle call) whose full shortest-path trees
        screen the edges before the exact per-node Dijkstra search (see
        :func:`mathopt.metric._kernels.landmark_screen`); 0 searches from
        every node, as [1]_ does.
    rounding_trials : int, default 1
        Correlation clustering: pivot roundings tried (pivot orders drawn from
        ``seed``); the clustering with the smallest objective is returned.
    """

    max_violation_tol: float = 1e-8
    change_tol: float = 1e-9
    sweeps: int = 5
    gamma: float = 100.0
    slack: float = math.inf
    landmarks: int = 32
    rounding_trials: int = 1

    def __post_init__(self):
        super().__post_init__()
        check_positive(self, "max_violation_tol")
        check_positive(self, "change_tol")
        check_int(self, "sweeps", minimum=1)
        check_positive(self, "gamma", allow_inf=False)
        check_positive(self, "slack")
        check_int(self, "landmarks", minimum=0)
        check_int(self, "rounding_trials", minimum=1)


class _ActiveSet(NamedTuple):
    """The remembered cycle constraints: flat pair indices, per-constraint norms and duals.

    Immutable: ``add`` and ``forget`` return a new set (the driver may fall back to the old one).
    """

    ptr: np.ndarray
    edges: np.ndarray
    norms: np.ndarray
    dual: np.ndarray
    hashes: np.ndarray

    @classmethod
    def empty(cls) -> "_ActiveSet":
        return cls(np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0),
                   np.zeros(0, dtype=np.uint64))

    @property
    def count(self) -> int:
        """Number of remembered constraints."""
        return self.dual.size

    def add(self, ptr, edges, inv_h, kernels) -> "_ActiveSet":
        if ptr.size <= 1:
            return self
        # the oracle re-finds constraints that are remembered and still violated: keep one copy
        hashes = kernels.constraint_hashes(ptr, edges)
        _, first = np.unique(hashes, return_index=True)
        new = np.zeros(hashes.size, dtype=bool)
        new[first] = True
        new &= ~np.isin(hashes, self.hashes)
        if not new.all():
            lengths = np.diff(ptr)
            edges = edges[np.repeat(new, lengths)]
            ptr = np.concatenate([[0], np.cumsum(lengths[new])])
            hashes = hashes[new]
            if ptr.size <= 1:
                return self
        return _ActiveSet(np.concatenate([self.ptr, ptr[1:] + self.edges.size]),
                          np.concatenate([self.edges, edges]),
                          np.concatenate([self.norms, kernels.constraint_norms(ptr, edges, inv_h)]),
                          np.concatenate([self.dual, np.zeros(ptr.size - 1)]),
                          np.concatenate([self.hashes, hashes]))

    def forget(self) -> "_ActiveSet":
        keep = self.dual > 0.0
        if keep.all():
            return self
        lengths = np.diff(self.ptr)
        return _ActiveSet(np.concatenate([[0], np.cumsum(lengths[keep])]).astype(np.int64),
                          self.edges[np.repeat(keep, lengths)], self.norms[keep], self.dual[keep],
                          self.hashes[keep])


class _PairConstraints(NamedTuple):
    """Per-pair two-variable constraints a1 y[i] + a2 y[j] <= b (j = -1: one variable), projected every
    sweep. Constant data; their duals live in the run state."""

    first: np.ndarray
    first_coef: np.ndarray
    second: np.ndarray
    second_coef: np.ndarray
    rhs: np.ndarray

    @classmethod
    def build(cls, first, first_coef, second, second_coef, rhs) -> "_PairConstraints":
        return cls(first.astype(np.int64), first_coef.astype(float), second.astype(np.int64),
                   second_coef.astype(float), rhs.astype(float))

    def violation(self, y) -> float:
        if self.rhs.size == 0:
            return 0.0
        value = self.first_coef * y[self.first] + np.where(self.second >= 0, self.second_coef * y[self.second], 0.0)
        return float(max(0.0, np.max(value - self.rhs)))


@dataclass(frozen=True)
class _GraphSetup:
    """Constants of one nearness / correlation-clustering solve (built by ``init``, never changed)."""

    problem: MetricProblem
    options: ProjectAndForgetOptions
    kernels: Any
    lp: bool                   # weighted l1 nearness or correlation clustering: the regularized LP
    inv_h: np.ndarray          # H^{-1} of the quadratic Bregman function
    pairs: _PairConstraints
    pair_id: np.ndarray | None  # dense input: n x n pair index
    graph: tuple | None         # sparse input: (indptr, indices, edge_of) adjacency


@dataclass(frozen=True)
class _GraphState:
    """Run state of the graph kinds; ``step`` returns a new one and leaves its argument usable."""

    setup: _GraphSetup
    y: np.ndarray              # the variables (x, and f for the LP kinds)
    active: _ActiveSet
    pair_dual: np.ndarray
    metric_violation: float    # from the oracle at y
    change: float              # relative change of y in the last iteration (1.0 before the first)
    iteration: int
    active_sizes: tuple        # list size after each forget step
    peak_active: int
    initial_active: int

    @property
    def x(self) -> np.ndarray:
        return self.y[: self.setup.problem.num_pairs]

    def max_violation(self) -> float:
        return max(self.metric_violation, self.setup.pairs.violation(self.y))


def _converged(max_violation: float, change: float, options: ProjectAndForgetOptions) -> bool:
    return max_violation <= options.max_violation_tol and change <= options.change_tol


def _relative_change(new: np.ndarray, old: np.ndarray) -> float:
    scale = max(1.0, float(np.max(np.abs(new)))) if new.size else 1.0
    return float(np.max(np.abs(new - old))) / scale if new.size else 0.0


def _history_with_active(history, state):
    """history["active"]: the oracle's first list, then the list size after each forget step."""
    if history is None:
        return None
    active = np.concatenate([[state.initial_active], state.active_sizes]).astype(float)
    return dict(history, active=active[: len(history["fun"])])


class _GraphSolver(IterativeSolver):
    """Nearness and correlation clustering: cycle constraints on the observed pairs."""

    def init(self, problem: MetricProblem, options: ProjectAndForgetOptions) -> _GraphState:
        from . import _kernels

        m = problem.num_pairs
        idx = np.arange(m)
        empty = np.zeros(0)
        # weighted l1 nearness and correlation clustering: the same regularized LP (module docstring)
        lp = not (problem.kind == "nearness" and problem.norm == "l2")
        if not lp:
            inv_h = 1.0 / problem.edge_w
            y = problem.edge_d.copy()
            if problem.dense:
                pairs = _PairConstraints.build(idx[:0], empty, idx[:0], empty, empty)
            else:  # x >= 0
                pairs = _PairConstraints.build(idx, -np.ones(m), -np.ones(m), np.zeros(m), np.zeros(m))
        else:
            gamma = options.gamma
            inv_h = np.full(2 * m, gamma)
            y = np.concatenate([np.zeros(m), -gamma * problem.edge_w])
            d = problem.edge_d
            f_idx = idx + m
            pairs = _PairConstraints.build(
                np.concatenate([idx, idx, idx]),
                np.concatenate([np.ones(m), -np.ones(m), -np.ones(m)]),
                np.concatenate([f_idx, f_idx, -np.ones(m)]),
                np.concatenate([-np.ones(m), -np.ones(m), np.zeros(m)]),
                np.concatenate([d, -d, np.zeros(m)]))
        pair_id = graph = None
        if problem.dense:
            n = problem.num_nodes
            pair_id = np.zeros((n, n), dtype=np.int64)
            pair_id[problem.edge_u, problem.edge_v] = idx
            pair_id[problem.edge_v, problem.edge_u] = idx
        else:
            graph = _adjacency(problem)
        setup = _GraphSetup(problem, options, _kernels, lp, inv_h, pairs, pair_id, graph)
        active, violation = self._oracle(setup, y, _ActiveSet.empty(), 0)
        return _GraphState(setup, y, active, np.zeros(pairs.rhs.size), violation, 1.0, 0, (),
                           active.count, active.count)

    @staticmethod
    def _oracle(setup: _GraphSetup, y, active: _ActiveSet, iteration: int):
        """Add the violated cycle constraints found at ``y``; return (active, largest metric violation).

        Sparse graphs draw their landmarks from a generator seeded by (seed, iteration): the same
        landmarks for the same iterate in every run, and no generator shared between solves.
        """
        problem, options, kernels = setup.problem, setup.options, setup.kernels
        x = y[: problem.num_pairs]
        add_tol = 0.1 * options.max_violation_tol
        if problem.dense:
            ptr, edges, viol = kernels.dense_oracle(x, setup.pair_id, problem.num_nodes, add_tol)
            return active.add(ptr, edges, setup.inv_h, kernels), float(viol)
        n, k = problem.num_nodes, min(options.landmarks, problem.num_nodes)
        indptr, indices, edge_of = setup.graph
        check = np.ones(problem.num_pairs, dtype=bool)
        lower = np.zeros((n, 0))
        if k > 0:
            rng = np.random.default_rng((options.seed, iteration))
            landmarks = rng.choice(n, size=k, replace=False).astype(np.int64)
            found_ptr, found_edges, bound, check, lower = kernels.landmark_screen(
                x, problem.edge_u, problem.edge_v, indptr, indices, edge_of, n, landmarks, add_tol,
                options.max_violation_tol)
            active = active.add(found_ptr, found_edges, setup.inv_h, kernels)
        ptr, edges, viol = kernels.sparse_oracle(x, indptr, indices, edge_of, n, add_tol, check, lower)
        if k > 0:
            viol = max(viol, bound)
        return active.add(ptr, edges, setup.inv_h, kernels), float(viol)

    def step(self, state: _GraphState) -> _GraphState:
        setup = state.setup
        kernels, pairs, inv_h = setup.kernels, setup.pairs, setup.inv_h
        y, pair_dual = state.y.copy(), state.pair_dual.copy()  # the kernels update in place
        a = state.active._replace(dual=state.active.dual.copy())
        for _ in range(setup.options.sweeps):
            kernels.project_cycles(y, inv_h, a.ptr, a.edges, a.norms, a.dual)
            kernels.project_pairs(y, inv_h, pairs.first, pairs.first_coef, pairs.second, pairs.second_coef,
                                  pairs.rhs, pair_dual)
        active = a.forget()
        size = active.count
        iteration = state.iteration + 1
        active, violation = self._oracle(setup, y, active, iteration)
        return _GraphState(setup, y, active, pair_dual, violation, _relative_change(y, state.y), iteration,
                           state.active_sizes + (size,), max(state.peak_active, active.count),
                           state.initial_active)

    def terminate(self, state: _GraphState):
        if _converged(state.max_violation(), state.change, state.setup.options):
            return Status.CONVERGED
        return None

    @staticmethod
    def lp_lower_bound(state: _GraphState) -> float:
        """Lagrangian lower bound of the (unregularized) LP from the current duals.

        With v = (x, f), c = (0, w) and the constraints A v <= b (cycle rows with
        b = 0 and the pair rows), Hildreth's updates keep
        v = v0 - H^{-1} A^T z with H = I / gamma and v0 = -gamma c, so
        c + A^T z = -v / gamma exactly. Some LP solution lies in the box
        0 <= v <= U with U = max(d) (1 for correlation clustering): clipping x at U
        keeps a metric and does not increase any |x_e - d_e|. Hence, for the
        duals z >= 0 at hand, LP* >= min_{0 <= v <= U} c^T v + z^T (A v - b)
        = -b^T z - U * sum_j max(v_j, 0) / gamma.
        """
        setup = state.setup
        d = setup.problem.edge_d
        upper = 1.0 if setup.problem.kind == "correlation-clustering" or d.max() <= 0 else float(d.max())
        return float(-np.dot(setup.pairs.rhs, state.pair_dual)
                     - upper * np.sum(np.maximum(state.y, 0.0)) / setup.options.gamma)

    @staticmethod
    def objective(setup: _GraphSetup, x) -> float:
        problem = setup.problem
        with np.errstate(over="ignore"):  # data near the float64 limit: inf, and the driver's NONFINITE
            if not setup.lp:
                return 0.5 * float(np.sum(problem.edge_w * (x - problem.edge_d) ** 2))
            return float(np.sum(problem.edge_w * np.abs(x - problem.edge_d)))

    def info(self, state: _GraphState, nit, elapsed):
        return IterationInfo(nit=nit, x=state.x.copy(), fun=self.objective(state.setup, state.x), elapsed=elapsed,
                             residuals={"max_violation": state.max_violation(), "change": state.change},
                             extra={"active": state.active.count})

    def finalize(self, state: _GraphState, status, info, history):
        setup = state.setup
        problem, options = setup.problem, setup.options
        extra = {"peak_active": int(state.peak_active), "final_active": state.active.count}
        fields = {}
        if setup.lp:
            gamma = options.gamma
            extra["regularized_objective"] = float(np.sum(problem.edge_w * state.y[problem.num_pairs:])
                                                   + np.sum(state.y ** 2) / (2.0 * gamma))
            extra["lp_lower_bound"] = self.lp_lower_bound(state)
            fields = dict(lp_objective=info.fun)
        if problem.kind == "correlation-clustering":
            seeds = [options.seed] + [int(s) for s in np.random.default_rng(options.seed).integers(
                0, 2**63 - 1, options.rounding_trials - 1)]
            best = None
            for seed in seeds:
                clusters = pivot_rounding(problem, info.x, seed)
                value = clustering_objective(problem, clusters)
                if best is None or value < best[1]:
                    best = (clusters, value)
            fields.update(clusters=best[0], rounded_objective=best[1])
        return make_result(info, status, _history_with_active(history, state), result_cls=MetricResult,
                           matrix=_pair_matrix(problem, info.x), max_violation=state.max_violation(),
                           active_sizes=np.array(state.active_sizes, dtype=np.int64), edges=problem.edges,
                           extra=extra, **fields)


def _adjacency(problem: MetricProblem):
    """CSR adjacency of the observed pairs: (indptr, neighbour, pair index of each arc)."""
    n, m = problem.num_nodes, problem.num_pairs
    heads = np.concatenate([problem.edge_u, problem.edge_v])
    tails = np.concatenate([problem.edge_v, problem.edge_u])
    edge_of = np.concatenate([np.arange(m), np.arange(m)])
    order = np.argsort(heads, kind="stable")
    indptr = np.concatenate([[0], np.cumsum(np.bincount(heads, minlength=n))]).astype(np.int64)
    return indptr, tails[order].astype(np.int64), edge_of[order].astype(np.int64)


def _pair_matrix(problem: MetricProblem, x):
    """The symmetric n x n matrix with ``x`` on the observed pairs: dense for dense input, a
    scipy.sparse CSR matrix (only the observed pairs stored) for sparse input."""
    if problem.dense:
        return problem.to_matrix(x)
    import scipy.sparse as sp

    n = problem.num_nodes
    rows = np.concatenate([problem.edge_u, problem.edge_v])
    cols = np.concatenate([problem.edge_v, problem.edge_u])
    return sp.csr_matrix((np.concatenate([x, x]), (rows, cols)), shape=(n, n))


def pivot_rounding(problem: MetricProblem, x, seed=None) -> np.ndarray:
    """Cluster labels by pivoting on the fractional LP solution (threshold 1/2)."""
    n = problem.num_nodes
    order = np.random.default_rng(seed).permutation(n)
    labels = np.full(n, -1, dtype=np.int64)
    if problem.dense:
        matrix = problem.to_matrix(x)
        for pivot in order:
            if labels[pivot] >= 0:
                continue
            members = (labels < 0) & (matrix[pivot] < 0.5)
            members[pivot] = True
            labels[members] = pivot
    else:  # the metric closure of x on G: pivot takes nodes within shortest-path distance 1/2
        import scipy.sparse as sp
        from scipy.sparse.csgraph import dijkstra

        lengths = np.maximum(x, 1e-12)  # csgraph drops explicit zeros
        graph = sp.csr_matrix((np.concatenate([lengths, lengths]),
                               (np.concatenate([problem.edge_u, problem.edge_v]),
                                np.concatenate([problem.edge_v, problem.edge_u]))), shape=(n, n))
        for pivot in order:
            if labels[pivot] >= 0:
                continue
            dist = dijkstra(graph, indices=int(pivot), limit=0.5)
            members = (labels < 0) & (dist < 0.5)
            members[pivot] = True
            labels[members] = pivot
    _, relabelled = np.unique(labels, return_inverse=True)
    return relabelled.astype(np.int64)


def clustering_objective(problem: MetricProblem, clusters) -> float:
    """Weighted disagreements of a clustering: sum_e w_e |[c_u != c_v] - d_e|."""
    separated = (clusters[problem.edge_u] != clusters[problem.edge_v]).astype(float)
    return float(np.sum(problem.edge_w * np.abs(separated - problem.edge_d)))


@dataclass(frozen=True)
class _LearningSetup:
    """Constants of one metric-learning solve."""

    problem: MetricProblem
    options: ProjectAndForgetOptions
    kernels: Any
    diffs: np.ndarray          # v_k = x_i - x_j of every constrained pair (similar first)
    sign: np.ndarray           # +1 similar (d_M <= u), -1 dissimilar (d_M >= l)
    bound: np.ndarray
    prior_inv: np.ndarray


@dataclass(frozen=True)
class _LearningState:
    """Run state of metric learning; ``step`` returns a new one and leaves its argument usable."""

    setup: _LearningSetup
    matrix: np.ndarray
    slack: np.ndarray          # ITML's slack targets xi_k (the bounds for hard constraints)
    dual: np.ndarray
    is_active: np.ndarray
    violation: float
    change: float
    active_sizes: tuple
    peak_active: int
    initial_active: int
    certificate: tuple | None  # a Farkas certificate of infeasible hard bounds, when one is found


class _LearningSolver(IterativeSolver):
    """ITML by Project and Forget: LogDet projections onto violated pair constraints."""

    def init(self, problem: MetricProblem, options: ProjectAndForgetOptions) -> _LearningState:
        from . import _kernels

        pairs = np.vstack([problem.similar, problem.dissimilar])
        diffs = np.ascontiguousarray(problem.points[pairs[:, 0]] - problem.points[pairs[:, 1]])
        sign = np.where(np.arange(len(pairs)) < problem.similar.shape[0], 1.0, -1.0)
        bound = np.where(sign > 0, problem.upper, problem.lower)
        setup = _LearningSetup(problem, options, _kernels, diffs, sign, bound, np.linalg.inv(problem.prior))
        matrix, slack, dual = problem.prior.copy(), bound.copy(), np.zeros(len(pairs))
        is_active, violation = self._oracle(setup, matrix, slack, np.zeros(len(pairs), dtype=bool))
        size = int(is_active.sum())
        return _LearningState(setup, matrix, slack, dual, is_active, violation, 1.0, (), size, size, None)

    @staticmethod
    def _oracle(setup: _LearningSetup, matrix, slack, is_active):
        """Mark the violated pair constraints active; return (is_active, largest violation)."""
        lengths = np.einsum("kd,de,ke->k", setup.diffs, matrix, setup.diffs)
        violation = setup.sign * (lengths - slack)
        return is_active | (violation > 0.1 * setup.options.max_violation_tol), float(max(0.0, violation.max()))

    def step(self, state: _LearningState) -> _LearningState:
        setup = state.setup
        options = setup.options
        matrix, slack, dual = state.matrix.copy(), state.slack.copy(), state.dual.copy()  # updated in place
        active = np.flatnonzero(state.is_active)
        for _ in range(options.sweeps):
            setup.kernels.project_logdet(matrix, setup.diffs, setup.sign, slack, dual, active, float(options.slack))
        matrix = 0.5 * (matrix + matrix.T)
        is_active = state.is_active & (dual > 0.0)
        size = int(is_active.sum())
        is_active, violation = self._oracle(setup, matrix, slack, is_active)
        certificate = None
        if not math.isfinite(options.slack) and violation > options.max_violation_tol:
            certificate = infeasibility_certificate(setup, dual)
        return _LearningState(setup, matrix, slack, dual, is_active, violation,
                              _relative_change(matrix, state.matrix), state.active_sizes + (size,),
                              max(state.peak_active, int(is_active.sum())), state.initial_active, certificate)

    def terminate(self, state: _LearningState):
        if _converged(state.violation, state.change, state.setup.options):
            return Status.CONVERGED
        if state.certificate is not None:
            return Status.INFEASIBLE
        return None

    def info(self, state: _LearningState, nit, elapsed):
        setup = state.setup
        product = state.matrix @ setup.prior_inv
        sign, logdet = np.linalg.slogdet(product)
        fun = float(np.trace(product) - logdet - state.matrix.shape[0]) if sign > 0 else math.inf
        slack = setup.options.slack
        if math.isfinite(slack):
            ratio = state.slack / setup.bound
            fun += slack * float(np.sum(ratio - np.log(ratio) - 1.0))
        return IterationInfo(nit=nit, x=state.matrix.flatten(), fun=fun, elapsed=elapsed,
                             residuals={"max_violation": state.violation, "change": state.change},
                             extra={"active": int(state.is_active.sum())})

    def finalize(self, state: _LearningState, status, info, history):
        problem = state.setup.problem
        extra = {"peak_active": int(state.peak_active), "slack_targets": state.slack.copy()}
        if status is Status.INFEASIBLE:
            lam, mu, t = state.certificate
            num_similar = problem.similar.shape[0]
            extra["infeasibility_certificate"] = {"similar": lam[:num_similar], "dissimilar": t * mu[num_similar:]}
        dim = problem.points.shape[1]
        return make_result(info, status, _history_with_active(history, state), result_cls=MetricResult,
                           matrix=info.x.reshape(dim, dim).copy(), max_violation=state.violation,
                           active_sizes=np.array(state.active_sizes, dtype=np.int64), extra=extra)


def infeasibility_certificate(setup: _LearningSetup, dual):
    """A Farkas certificate of the hard pair constraints built from the duals, or None.

    For lambda, mu >= 0 with A = sum_S lambda_k v_k v_k^T and
    B = sum_D mu_k v_k v_k^T, any feasible M >= 0 gives
    tr(M (A - t B)) <= u sum(lambda) - t l sum(mu). So A - t B >= 0 together with
    u sum(lambda) < t l sum(mu) proves that no M >= 0 meets the bounds. On an
    infeasible instance Hildreth's duals diverge along such a direction: we take
    lambda = the similar duals, mu = the dissimilar duals whose v lies in the
    range of A, and the largest t with A - t B >= 0 (a generalized eigenvalue).
    Returns (lambda, mu, t) when the strict inequality holds with a relative
    margin of 1e-6, else None.
    """
    diffs, problem = setup.diffs, setup.problem
    similar = setup.sign > 0
    lam, mu = np.where(similar, dual, 0.0), np.where(similar, 0.0, dual)
    if lam.sum() <= 0.0 or mu.sum() <= 0.0:
        return None
    A = diffs.T @ (lam[:, None] * diffs)
    values, vectors = np.linalg.eigh(A)
    keep = values > 1e-10 * values.max()
    basis, values = vectors[:, keep], values[keep]
    residual = diffs - (diffs @ basis) @ basis.T
    inside = np.linalg.norm(residual, axis=1) <= 1e-8 * np.linalg.norm(diffs, axis=1)
    mu = np.where(inside, mu, 0.0)
    if mu.sum() <= 0.0:
        return None
    reduced = basis.T @ (diffs.T @ (mu[:, None] * diffs)) @ basis
    scaled = reduced / np.sqrt(np.outer(values, values))
    t = (1.0 - 1e-9) / np.linalg.eigvalsh(scaled).max()
    if problem.upper * lam.sum() < (1.0 - 1e-6) * t * problem.lower * mu.sum():
        return lam, mu, t
    return None


@register("project-and-forget", problem=MetricProblem, options=ProjectAndForgetOptions,
          backends=("numba",), requires=("numba",), constraints=("metric", "pairs"), stochastic=True,
          default=True)
def project_and_forget(problem: MetricProblem, options: ProjectAndForgetOptions) -> MetricResult:
    """Project and Forget: active-set Bregman projections for metric-constrained problems.

    See :mod:`mathopt.metric.project_and_forget` for the problem kinds, the
    algorithm (Sonthalia & Gilbert, Algorithm 1 with its projection step) and the deviations.
    """
    solver = _LearningSolver() if problem.kind == "metric-learning" else _GraphSolver()
    return run(solver, problem, options, name="project-and-forget")
