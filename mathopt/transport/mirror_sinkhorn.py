"""Mirror Sinkhorn (Ballu & Berthet, ICML 2023): single-loop convex optimization on U(a, b).

.. math::

    \\min_{P \\in U(a, b)} F(P), \\qquad F \\text{ convex (linear OT: } F(P) = \\langle C, P\\rangle).

Algorithm 1 of the paper ("Mirror Sinkhorn"): start from the independent
coupling :math:`P_0 = a b^\\top / \\|a\\|_1`; at iteration t

1. mirror-descent step with the entropy mirror map (exponentiated gradient):
   :math:`P'_t = P_{t-1} \\odot \\exp(-\\eta_t \\nabla F(P_{t-1}))`;
2. Sinkhorn half-step, the KL projection onto one of the two affine sets:
   rows rescaled, :math:`P_t = \\mathrm{diag}(a / P'_t \\mathbf{1}) P'_t`, when t
   is odd; columns rescaled, :math:`P_t = P'_t\\, \\mathrm{diag}(b / P_t'^\\top \\mathbf{1})`,
   when t is even;

and output the average of the iterates. Step size (default): the rule quoted
for the paper's linear-OT theorem (Theorem 3.1),
:math:`\\eta_t = \\frac{1}{\\|C\\|_\\infty} \\sqrt{\\delta / t}` with
:math:`\\delta = \\|\\log a\\|_\\infty + \\|\\log b\\|_\\infty` (a, b of mass 1),
i.e. :math:`\\eta_t = c / (G \\sqrt t)` with :math:`c = \\sqrt\\delta` and G the
gradient bound (max|C| for linear OT; for a general objective or the online
mode, the largest entry of the first gradient drawn). ``step_size`` overrides
c. Output: the uniform average :math:`\\bar P_T = \\frac1T \\sum_{t\\le T} P_t`
(``averaging="uniform"``, default) or the step-weighted one
:math:`\\sum_t \\eta_t P_t / \\sum_t \\eta_t` (``"step"``). Both converge at rate
:math:`\\tilde O(1/\\sqrt{T})` in objective and marginal error; the uniform one
is markedly better in practice (benchmarks: 4.5e-3 vs 8.7e-3 sub-optimality
after 3000 iterations at n = 1000). The average is only approximately in
U(a, b), so it is rounded onto U(a, b) with Altschuler, Weed & Rigollet (2017,
Algorithm 2) when ``rounding=True``.

Provenance (honest): the full text of the paper could not be read in this
environment (only its abstract and introduction). Algorithm 1's structure is
stated in the abstract/introduction; the step rule with delta and the uniform
average are taken from a third-party summary of Theorem 3.1 and are **not
verified against the paper**; the theorem numbers above are from that summary.

Linear OT, how an iteration is computed (exact, no approximation): every
half-step is a diagonal scaling and every mirror step multiplies by
exp(-eta C), so the iterate is :math:`P_t = \\exp(f_i + g_j - S_t C_{ij})` with
:math:`S_t = \\sum_{s \\le t} \\eta_s` and potentials f, g: Mirror Sinkhorn on
linear OT is log-domain Sinkhorn whose temperature 1/S_t decreases every
half-step. Because S_t changes every iteration, each iteration needs exp of
every entry of C (plain Sinkhorn reuses a fixed kernel exp(-C/reg)). The
Numba kernel stores the iterate (up to a pending column scaling) and fuses a
row step and the next column step into one pass over C (the column iterate
is added to the average during the next pass). exp(-eta_t C) is computed with
a vectorizable exp (:func:`mathopt.core.numba_utils.exp`, 1 ulp), and
exp(-eta_{t+1} C) as exp(-eta_t C) times exp((eta_t - eta_{t+1}) C), whose
small exponent (eta_t - eta_{t+1} ~ eta_t / 2t) a Taylor polynomial of degree
8 evaluates to rounding error once t is past ~10: a pass then costs one full
exp per entry. The pass is threaded over row blocks (``parallel``, default
on, from 2.5e5 entries, or 1e4 once Numba reports its OpenMP or TBB
threading layer); the threaded kernel is compiled on first use only. Memory:
C, the iterate and the average (three n x m arrays).

Online mode: when the problem has ``stochastic_gradient(P, rng)``, step 1 uses
that draw instead of the exact gradient (the paper's stochastic/online
setting), with ``rng = numpy.random.default_rng(seed)``. For data arriving
over time outside ``solve``, :class:`OnlineMirrorSinkhorn` exposes the same
iteration as ``partial_fit(gradient_sample)``. General objectives and the
online mode run a Python loop (user gradient) around a compiled plain-domain
step.

History (``history=True``): rows of reported iterates (0, the last, each
one with a callback) hold ``fun`` and the residuals; rows in between hold the
kernel's records: linear OT ``averaged_objective`` (<C, unrounded average>
after each iteration, accumulated at no extra pass); general/online
``objective`` (F at the iterate), ``averaged_objective`` (F at the unrounded
average), ``averaged_marginal`` (its marginal error) and ``gradient_max``
(max |gradient drawn|, a gradient-size proxy).

Stopping tests (the paper has none; ours). Linear OT, at t = 100, 200, ...
(every 100 iterations up to 1e4, then every 10^(digits of t - 2)): the
certified duality gap of the rounded average R,

.. math::

    \\mathrm{gap} = \\langle C, R \\rangle - (\\langle a, \\alpha \\rangle + \\langle b, \\beta \\rangle)
    \\ge \\langle C, R \\rangle - \\mathrm{OT}(a, b),

with row potentials :math:`\\alpha_i = \\max_j (\\log P_{t,ij} + S_t C_{ij}) / S_t`
read off the iterate (:math:`u_i / S_t` plus a constant) and made dual
feasible by two c-transforms (``linear_ot_lower_bound``). ``CONVERGED``
when gap <= ``gap_tol`` * max|C| and the returned plan's marginal error is
at most ``marginal_tol``. General objectives and the online mode, at
t = 100 * 2^j: ``CONVERGED`` when F at the returned plan changed by at most
``objective_change_tol`` relative to max(1, |F|) since t / 2 (about 0.4 times
the sub-optimality at the O(1/sqrt t) rate) and the marginal test holds. A
NaN/inf gradient or iterate is never committed: ``NONFINITE`` with the last
finite average.

Deviations: rounding of the output (above); zero entries of a or b are left
out of delta (log 0); delta is floored at 2 log 2.

References
----------
.. [1] M. Ballu, Q. Berthet, "Mirror Sinkhorn: Fast Online Optimization on
   Transport Polytopes", ICML 2023 (arXiv:2211.10420).
.. [2] J. Altschuler, J. Weed, P. Rigollet, "Near-linear time approximation
   algorithms for optimal transport via Sinkhorn iteration", NeurIPS 2017.

Example
-------
>>> import mathopt
>>> p = mathopt.TransportProblem([0.5, 0.5], [0.5, 0.5], cost=[[0.0, 1.0], [1.0, 0.0]])
>>> r = mathopt.solve(p, method="mirror-sinkhorn", max_iter=2000)
>>> bool(r.fun < 0.02)
True
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..core.driver import Advance, IterativeSolver, make_result, run
from ..core.options import CommonOptions, check_bool, check_choice, check_positive
from ..core.registry import register
from ..core.status import CODE_CONVERGED, CODE_NONFINITE, CONTINUE
from .problem import TransportProblem, TransportResult, linear_ot_lower_bound, marginal_error, plan_info


@dataclass(frozen=True)
class MirrorSinkhornOptions(CommonOptions):
    """Mirror Sinkhorn (Ballu & Berthet 2023, Algorithm 1) with averaged, rounded output.

    Parameters
    ----------
    max_iter : int, default 100000
        Maximum number of iterations T (a cap: the stopping tests below end
        well-scaled runs after hundreds to thousands of iterations).
    step_size : float or None, default None
        Constant c of the step :math:`\\eta_t = c / (\\|\\nabla F\\|_\\infty \\sqrt t)`
        (the gradient bound is max|C| for linear OT, else the largest entry of
        the first gradient drawn). None uses :math:`c = \\sqrt{\\delta}`,
        :math:`\\delta = \\|\\log a\\|_\\infty + \\|\\log b\\|_\\infty` (marginals
        normalized to mass 1, zero entries left out).
    averaging : {"uniform", "step"}, default "uniform"
        Output :math:`\\frac1T\\sum_t P_t` ("uniform") or the step-weighted
        :math:`\\sum_t \\eta_t P_t / \\sum_t \\eta_t` ("step").
    rounding : bool, default True
        Round the averaged plan onto U(a, b) (Altschuler et al. 2017, Alg. 2).
    gap_tol : float, default 0.01
        Linear OT: converged when the certified duality gap of the rounded
        average, ``residuals["gap"]``, is at most ``gap_tol * max|C|`` (and
        the marginal test below holds).
    marginal_tol : float, default 0.001
        Converged only when the returned plan's marginal error
        (``residuals["marginal"]``) is at most this; it only matters with
        ``rounding=False`` (a rounded plan has exact marginals; the unrounded
        average approaches U(a, b) at the slow O(1/sqrt t) rate).
    objective_change_tol : float, default 0.001
        General objectives and the online mode: converged when the marginal
        test holds and F at the output plan changed by at most this, relative
        to max(1, |F|), since iteration t / 2 (tests at t = 100, 200, 400, ...;
        ``residuals["objective_change"]``). At the O(1/sqrt t) rate of the
        method this change is about 0.4 times the sub-optimality.
    parallel : bool, default True
        Linear OT: run each pass over C threaded over row blocks (Numba
        ``prange``, one block per Numba thread; set their number with
        ``numba.set_num_threads`` or ``NUMBA_NUM_THREADS``) when C has at
        least 2.5e5 entries (1e4 once Numba reports its OpenMP or TBB
        threading layer in this process). The threaded and serial passes give
        the same iterates to rounding. The threaded kernel is compiled on
        its first use only. False keeps the solve on one thread (e.g. when
        many solves run in parallel processes).
    """

    max_iter: int = 100000
    step_size: float | None = None
    averaging: str = "uniform"
    rounding: bool = True
    gap_tol: float = 1e-2
    marginal_tol: float = 1e-3
    objective_change_tol: float = 1e-3
    parallel: bool = True

    def __post_init__(self):
        super().__post_init__()
        if self.step_size is not None:
            check_positive(self, "step_size", allow_inf=False)
        check_choice(self, "averaging", ("uniform", "step"))
        check_bool(self, "rounding")
        check_bool(self, "parallel")
        for name in ("gap_tol", "marginal_tol", "objective_change_tol"):
            check_positive(self, name)


def round_to_polytope(plan: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Altschuler, Weed & Rigollet (2017), Algorithm 2: a nearby plan with marginals exactly (a, b)."""
    rows = plan.sum(axis=1)
    plan = plan * np.minimum(1.0, np.divide(a, rows, out=np.ones_like(a), where=rows > 0))[:, None]
    cols = plan.sum(axis=0)
    plan = plan * np.minimum(1.0, np.divide(b, cols, out=np.ones_like(b), where=cols > 0))[None, :]
    err_a, err_b = a - plan.sum(axis=1), b - plan.sum(axis=0)
    mass = err_a.sum()
    if mass > 0:
        plan = plan + np.outer(err_a, err_b) / mass
    return plan


def default_step_size(a, b, step_size=None) -> float:
    """``step_size`` or, when None, sqrt(||log a||_inf + ||log b||_inf) for a, b normalized to mass 1."""
    if step_size is not None:
        return float(step_size)
    delta = sum(float(np.max(-np.log(w[w > 0] / w.sum()))) for w in (a, b))
    return math.sqrt(max(delta, 2.0 * math.log(2.0)))


def _gradient_bound(gradient):
    bound = float(np.max(np.abs(gradient))) if gradient.size else 0.0
    return bound if bound > 0 and math.isfinite(bound) else 1.0


def is_check(t: int) -> bool:
    """Iterations at which the stopping test runs: every 100 up to 1e4, then every 10^(digits - 2)
    (at most ~10% more iterations than needed, at most ~1 test per 100 iterations)."""
    return t > 0 and t % max(100, 10 ** (len(str(t)) - 2)) == 0


def is_doubling_check(t: int) -> bool:
    """Iterations of the general / online stopping test: t = 100 * 2^j (each test compares F with the
    previous one, at t / 2)."""
    return t >= 100 and t % 100 == 0 and (t // 100) & (t // 100 - 1) == 0


def _next_check(t: int) -> int:
    period = max(100, 10 ** (len(str(t + 1)) - 2))
    return (t // period + 1) * period


class _State:
    """Plan-domain iterate and running average (general objectives, online; shared with partial_fit)."""

    def __init__(self, a, b, step_size, uniform):
        self.a, self.b = a, b
        self.plan = np.outer(a, b) / a.sum()
        self.average = np.zeros_like(self.plan)
        self.weight = 0.0
        self.t = 0
        self.step_size = step_size
        self.uniform = uniform
        self.scale = None

    def copy(self) -> "_State":
        other = _State.__new__(_State)
        other.__dict__.update(self.__dict__)
        other.plan, other.average = self.plan.copy(), self.average.copy()
        return other

    def step(self, gradient) -> bool:
        """One iteration with ``gradient``; False (and no change) if the gradient or the new iterate is
        not finite."""
        from ._numba_kernels import mirror_sinkhorn_step

        gradient = np.ascontiguousarray(gradient, dtype=float)
        if not np.all(np.isfinite(gradient)):
            return False
        scale = _gradient_bound(gradient) if self.scale is None else self.scale
        eta = self.step_size / (scale * math.sqrt(self.t + 1))
        plan = self.plan.copy()
        mirror_sinkhorn_step(gradient, self.a, self.b, plan, self.t + 1, eta)
        if not np.all(np.isfinite(plan)):
            return False
        weight = 1.0 if self.uniform else eta
        self.plan, self.scale, self.t = plan, scale, self.t + 1
        self.average += weight * plan
        self.weight += weight
        return True

    def averaged(self):
        return self.average / self.weight if self.weight > 0 else self.plan.copy()

    def output(self, rounding):
        return _averaged_output(self.average, self.weight, self.a, self.b, rounding)


class _LinearState:
    """Linear OT iterate P = plan diag(col_scale) and the running average
    (see ``mirror_sinkhorn_linear``); ``step_sum`` is S_t, the sum of the steps so far."""

    def __init__(self, problem, step_size, uniform, parallel):
        from . import _numba_kernels

        self.problem = problem
        self.cost = np.ascontiguousarray(problem.cost)
        self.a, self.b = problem.a, problem.b
        self.plan = np.outer(self.a, self.b) / self.a.sum()  # P_0; the iterate is P = plan diag(col_scale)
        self.col_scale = np.ones(problem.shape[1])
        self.average = np.zeros(problem.shape)
        self.state = np.zeros(3)  # total weight, pending weight, weighted sum of <C, P_t>
        self.t = 0
        self.step_sum = 0.0
        self.cost_bound = _gradient_bound(self.cost)
        self.step_scale = step_size / self.cost_bound
        self.uniform = uniform
        self.parallel = parallel
        blocks = _numba_kernels.row_blocks(problem.shape, parallel)
        self.threads = blocks if blocks > 1 else None  # None: the serial kernel (the threaded one is not compiled)
        self.column_sums = np.zeros((blocks, problem.shape[1]))
        self.buffers = np.zeros((blocks, 2, problem.shape[1]))

    def advance(self, k, values):
        """Up to k iterations; returns (iterations done, status code: CONTINUE or CODE_NONFINITE)."""
        from ._numba_kernels import mirror_sinkhorn_linear

        done, code = mirror_sinkhorn_linear(
            self.cost, self.a, self.b, self.plan, self.col_scale, self.average, self.state, self.t, k,
            self.step_scale, self.cost_bound, self.uniform, self.column_sums, self.buffers, values, values.size > 0,
            self.threads)
        if done:
            self.step_sum += self.step_scale * float(np.sum(1.0 / np.sqrt(np.arange(self.t + 1, self.t + done + 1))))
        self.t += done
        return done, code

    def iterate(self):
        return self.plan * self.col_scale[None, :]

    def output(self, rounding):
        return _averaged_output(self.average, self.state[0], self.a, self.b, rounding)

    def gap(self) -> float:
        """Certified duality gap <C, R> - D of the rounded average R (see ``linear_ot_lower_bound``),
        with row potentials alpha_i = max_j (log P_ij + S_t C_ij) / S_t of the iterate
        P_t = diag(u) exp(-S_t C) diag(v) (that is u_i / S_t plus a constant)."""
        rounded = self.output(True)
        primal = float(np.sum(self.cost * rounded))
        if self.step_sum == 0:
            alpha = np.zeros(self.a.size)
        else:
            with np.errstate(divide="ignore"):
                alpha = np.max(np.log(self.iterate()) + self.step_sum * self.cost, axis=1) / self.step_sum
        alpha = np.where(np.isfinite(alpha), alpha, 0.0)  # rows of zero mass
        return max(primal - linear_ot_lower_bound(self.cost, self.a, self.b, alpha), 0.0)


def _averaged_output(total, weight, a, b, rounding):
    """The output plan: the running sum ``total`` over its ``weight``, rounded onto U(a, b) on request.

    Before any iteration (``weight == 0``) it is the starting plan ``a b^T / sum(a)``.
    """
    if weight == 0:
        return np.outer(a, b) / a.sum()
    plan = total / weight
    return round_to_polytope(plan, a, b) if rounding else plan


class LinearMirrorSinkhorn(IterativeSolver):
    """Linear OT: ``advance`` runs the fused Numba kernel between stopping tests (see ``is_check``)."""

    records = ("averaged_objective",)

    def init(self, problem, options):
        step_size = default_step_size(problem.a, problem.b, options.step_size)
        return options, _LinearState(problem, step_size, options.averaging == "uniform", options.parallel)

    def advance(self, state, nit, k, record):
        options, current = state
        values = np.full(k, np.nan) if record else np.empty(0)
        done, code = 0, CONTINUE
        while done < k and code == CONTINUE:
            t0 = current.t
            stop = min(t0 + k - done, _next_check(t0), options.max_iter)
            ran, kernel_code = current.advance(stop - t0, values[done:] if record else values)
            if kernel_code == CODE_NONFINITE:
                current = self._replay(options, current.problem, t0 + ran)
                return Advance((options, current), done + ran, CODE_NONFINITE, {"averaged_objective": values})
            done += ran
            if is_check(current.t) or current.t == options.max_iter:
                code = CODE_CONVERGED if self._converged(options, current) else CONTINUE
        return Advance((options, current), done, code, {"averaged_objective": values})

    @staticmethod
    def _replay(options, problem, t):
        """The state after t iterations, recomputed from P_0 (after a scaling failed: rare, never on a
        validated finite cost in tests); the iterates are deterministic."""
        step_size = default_step_size(problem.a, problem.b, options.step_size)
        state = _LinearState(problem, step_size, options.averaging == "uniform", options.parallel)
        if t:
            state.advance(t, np.empty(0))
        return state

    @staticmethod
    def _converged(options, current) -> bool:
        output = current.output(options.rounding)
        return (current.gap() <= options.gap_tol * current.cost_bound
                and marginal_error(output, current.a, current.b) <= options.marginal_tol)

    def info(self, state, nit, elapsed):
        options, current = state
        return plan_info(current.problem, current.output(options.rounding), nit, elapsed, gap=current.gap())

    def finalize(self, state, status, info, history):
        return make_result(info, status, history, result_cls=TransportResult, plan=info.x.reshape(state[1].problem.shape),
                           regularized_objective=info.fun)


class GeneralMirrorSinkhorn(IterativeSolver):
    """General objectives and the online mode: a Python loop over the user's gradient and a compiled
    plain-domain step, in ``advance`` between stopping tests."""

    records = ("objective", "averaged_objective", "averaged_marginal", "gradient_max")

    def init(self, problem, options):
        step_size = default_step_size(problem.a, problem.b, options.step_size)
        rng = np.random.default_rng(options.seed)
        if problem.stochastic_gradient is not None:
            draw = problem.stochastic_gradient_function(rng)
        else:
            draw = problem.gradient_function()
        current = _State(problem.a, problem.b, step_size, options.averaging == "uniform")
        value = problem.value(current.output(options.rounding))
        return _General(problem, options, draw, current, 0, value, None)

    def advance(self, state, nit, k, record):
        problem, options = state.problem, state.options
        current = state.current.copy()
        records = {name: np.full(k, np.nan) for name in self.records} if record else None
        ngev, checked, change = state.ngev, state.checked_value, state.change
        for done in range(k):
            gradient = state.draw(current.plan.copy())
            ngev += 1
            if not current.step(gradient):
                return Advance(state._replace(current=current, ngev=ngev, checked_value=checked, change=change),
                               done, CODE_NONFINITE, records)
            if record:
                _record_general(problem, current, gradient, records, done)
            if is_doubling_check(current.t) or current.t == options.max_iter:
                output = current.output(options.rounding)
                value = problem.value(output)
                change = abs(value - checked) / max(1.0, abs(value))
                checked = value
                if (change <= options.objective_change_tol
                        and marginal_error(output, current.a, current.b) <= options.marginal_tol):
                    return Advance(state._replace(current=current, ngev=ngev, checked_value=checked, change=change),
                                   done + 1, CODE_CONVERGED, records)
        return Advance(state._replace(current=current, ngev=ngev, checked_value=checked, change=change), k,
                       CONTINUE, records)

    def info(self, state, nit, elapsed):
        extra = {} if state.change is None else {"objective_change": state.change}
        return plan_info(state.problem, state.current.output(state.options.rounding), nit, elapsed, **extra)

    def finalize(self, state, status, info, history):
        return make_result(info, status, history, result_cls=TransportResult, counters={"ngev": state.ngev},
                           plan=info.x.reshape(state.problem.shape), regularized_objective=info.fun)


class _General(NamedTuple):
    problem: TransportProblem
    options: MirrorSinkhornOptions
    draw: object              # plan -> gradient (exact or stochastic), checked
    current: _State
    ngev: int
    checked_value: float      # F at the output plan at the last stopping test
    change: float | None      # relative change of F between the last two tests


@register("mirror-sinkhorn", problem=TransportProblem, options=MirrorSinkhornOptions, backends=("numba",),
          stochastic=True, requires=("numba",))
def mirror_sinkhorn(problem: TransportProblem, options: MirrorSinkhornOptions) -> TransportResult:
    """Mirror Sinkhorn (Ballu & Berthet 2023): mirror descent + Sinkhorn half-steps, averaged."""
    linear = problem.is_linear and problem.stochastic_gradient is None
    solver = LinearMirrorSinkhorn() if linear else GeneralMirrorSinkhorn()
    return run(solver, problem, options, "mirror-sinkhorn")


def _record_general(problem, state, gradient, records, k):
    """History row k (general / online path): F at the iterate and at the unrounded average,
    the marginal error of the unrounded average, and max |gradient drawn| (a gradient-size proxy)."""
    averaged = state.averaged()
    records["objective"][k] = problem.value(state.plan)
    records["averaged_objective"][k] = problem.value(averaged)
    records["averaged_marginal"][k] = marginal_error(averaged, state.a, state.b)
    records["gradient_max"][k] = float(np.max(np.abs(gradient)))


class OnlineMirrorSinkhorn:
    """Mirror Sinkhorn for data arriving over time (``partial_fit``-style).

    Each call ``partial_fit(gradient_sample)`` performs one iteration of
    Algorithm 1 of Ballu & Berthet (2023) with the given stochastic gradient
    (for online linear OT: a cost matrix estimated from the latest samples).

    Parameters
    ----------
    a, b : array_like
        Marginals (validated as in :class:`~mathopt.TransportProblem`).
    step_size : float or None, default None
        Constant c of :math:`\\eta_t = c / (G \\sqrt t)`; None: sqrt(||log a||_inf + ||log b||_inf).
    gradient_bound : float, optional
        G; by default the largest absolute entry of the first sample.
    averaging : {"uniform", "step"}, default "uniform"
        Uniform or step-weighted average of the iterates (as in ``solve``).
    rounding : bool, default True
        Round ``plan_`` onto U(a, b) (Altschuler et al. 2017, Alg. 2).

    Attributes
    ----------
    plan_ : ndarray (n, m)
        The current averaged (and rounded) plan.
    n_iter_ : int
        Samples consumed.

    Example
    -------
    >>> import numpy as np
    >>> from mathopt.transport import OnlineMirrorSinkhorn
    >>> model = OnlineMirrorSinkhorn([0.5, 0.5], [0.5, 0.5])
    >>> rng = np.random.default_rng(0)
    >>> for _ in range(500):
    ...     _ = model.partial_fit(np.array([[0.0, 1.0], [1.0, 0.0]]) + rng.normal(0, 0.1, (2, 2)))
    >>> bool(model.plan_[0, 0] > 0.45)
    True
    """

    def __init__(self, a, b, *, step_size: float | None = None, gradient_bound: float | None = None,
                 averaging: str = "uniform", rounding: bool = True):
        problem = TransportProblem(a, b, cost=np.zeros((np.size(a), np.size(b))))
        MirrorSinkhornOptions(step_size=step_size, averaging=averaging, rounding=rounding)  # OptionError if bad
        self._state = _State(problem.a, problem.b, default_step_size(problem.a, problem.b, step_size),
                             averaging == "uniform")
        if gradient_bound is not None:
            self._state.scale = float(gradient_bound)
        self.rounding = rounding

    def partial_fit(self, gradient_sample) -> "OnlineMirrorSinkhorn":
        sample = np.asarray(gradient_sample, dtype=float)
        if sample.shape != self._state.plan.shape:
            raise ValueError(f"gradient_sample must have shape {self._state.plan.shape}, got {sample.shape}")
        if not self._state.step(sample):
            raise ValueError("gradient_sample contains NaN or inf (or makes the iterate non-finite); "
                             "the model is unchanged")
        return self

    @property
    def plan_(self) -> np.ndarray:
        return self._state.output(self.rounding)

    @property
    def n_iter_(self) -> int:
        return self._state.t
