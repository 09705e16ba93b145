r"""The outer method shared by ``al-sketch`` and ``al-newton``.

Problem: :math:`\min f(x)` s.t. :math:`c(x) = 0` (equalities only), with
Lagrangian :math:`L(x,\lambda) = f(x) + \lambda^\top c(x)`, Jacobian
:math:`G = \nabla c^\top` and KKT vector
:math:`\nabla\mathcal L = (\nabla_x L, c)`.

Merit function: the exact augmented Lagrangian of Hong, Na, Mahoney & Kolar
(2023),

.. math::

    \mathcal L_{\mu,\nu}(x,\lambda) = L(x,\lambda) + \frac{\mu}{2}\|c(x)\|^2
        + \frac{\nu}{2}\|\nabla_x L(x,\lambda)\|^2 ,

whose gradient involves the Hessian of the Lagrangian
:math:`H = \nabla_x^2 L(x,\lambda)` (derived here, checked against finite
differences in the tests):

.. math::

    \nabla_x \mathcal L_{\mu,\nu} = (I + \nu H)\nabla_x L + \mu G^\top c ,
    \qquad
    \nabla_\lambda \mathcal L_{\mu,\nu} = c + \nu G \nabla_x L .

Sources. The full text of the paper (arXiv:2305.18379) was not available
while this was written (the search corpus has only its abstract), so equation
numbers are not cited; the rules below follow the authors' released Julia
code (github.com/IlgeeHong/AdaSketch-Newton, ``CUTEst/AdaSketchNewtonRK/
AdaSketchNewtonRK.jl`` and the CUTEst parameters in
``CUTEst/Parameter/Param.jl``), read, not copied. Where the code and this
module differ, it says so below.

Each iteration (the paper's Algorithm 1, "AdaSketch-Newton"):

1. stop when :math:`\|\nabla_x L\|_\infty \le` ``stationarity_tol`` and
   :math:`\|c\|_\infty \le` ``feasibility_tol`` (the paper stops on
   :math:`\|\nabla\mathcal L\|_2 \le 10^{-4}`; see docs/benchmarks.md);
2. Hessian modification: :math:`B = H + \delta P` with the smallest tried
   :math:`\delta \ge 0` making the reduced Hessian positive definite (KKT
   inertia, Ipopt's schedule), :math:`P` the projector on the null space of
   :math:`G` (for KKT systems of size <= 3000; larger ones use :math:`P = I`
   and only the safeguard shift of step 3);
3. solve the Lagrangian Newton system
   :math:`K \Delta = -\nabla\mathcal L`, :math:`K = [[B, G^\top], [G, 0]]`
   with the linear solver (``al-newton``: LU; ``al-sketch``: randomized
   sketching until the adaptive accuracy condition
   :math:`\|K\Delta + \nabla\mathcal L\| \le \theta_t \|\nabla\mathcal L\|`,
   with the sharpened :math:`\theta_t = \theta \min(1, \|\nabla\mathcal L\|)^{r}`
   when ``accuracy_sharpening = r > 0``, which gives superlinear local
   convergence);
4. descent test (authors' code):
   :math:`\nabla\mathcal L_{\mu,\nu}^\top\Delta \le
   -\tfrac{\nu}{2}\|\nabla\mathcal L\|^2` (``descent_fraction`` scales the
   right side; 1 is the paper's). While it fails the penalties move as in the
   paper, :math:`\mu \leftarrow \rho^2\mu`, :math:`\nu \leftarrow \nu/\rho`
   (``penalty_growth`` :math:`= \rho^2`, the factor of the penalty
   :math:`\mu`), and an inexact solver's accuracy is
   tightened, :math:`\theta \leftarrow \theta/\rho^4` (the code's
   :math:`\delta \leftarrow \delta/\rho^4`), re-solving warm-started. The
   exact direction :math:`\Delta` gives
   :math:`\nabla\mathcal L_{\mu,\nu}^\top\Delta = -\Delta_x^\top B\Delta_x
   + 2c^\top\Delta_\lambda - \nu\|\nabla_x L\|^2 - \mu\|c\|^2`, so with
   :math:`B` positive definite on the null space of :math:`G` the test holds
   once :math:`\mu\nu` is large enough: the update raises :math:`\mu\nu` by
   :math:`\rho` each time;
5. Armijo backtracking on :math:`\mathcal L_{\mu,\nu}`:
   :math:`\mathcal L_{\mu,\nu}(z+\alpha\Delta) \le \mathcal L_{\mu,\nu}(z)
   + \beta\alpha\nabla\mathcal L_{\mu,\nu}^\top\Delta`, halving :math:`\alpha`
   (``armijo`` :math:`= \beta`).

Defaults are the authors' CUTEst parameters: :math:`\mu_0 = 1`
(``penalty``, their ``eta1``), :math:`\nu_0 = 0.1` (``nu``, ``eta2``), :math:`\rho = 1.5`
(``penalty_growth`` :math:`= \rho^2 = 2.25`),
:math:`\beta = 0.1`.

Deviations, each a safeguard the built-in set needed:

* the merit gradient uses the Hessian of the Lagrangian as derived above (the
  authors' code multiplies by the Hessian of the objective only);
* :math:`\lambda_0` is the least-squares multiplier at :math:`x_0` (the
  authors start from CUTEst's ``y0``, usually 0);
* the Hessian modification is the inertia-based :math:`\delta P` of step 2
  (the authors' code adds :math:`(\xi_B + \|H\|) I`, :math:`\xi_B = 0.1`, when
  the reduced Hessian has an eigenvalue below :math:`10^{-6}`).
  :math:`P` instead of :math:`I` keeps the shift from biasing the multiplier
  step; with :math:`\delta I`, BT8 (no LICQ at the solution) fed the bias back
  into ever larger shifts and diverging multipliers;
* the authors' code stops with a failure when
  :math:`\lambda_{\min}(GG^\top) < 10^{-2}`; this module goes on (a singular
  KKT matrix gets the minimum-norm least-squares solution in ``al-newton``);
* after ``max_penalty_increases`` failed tests in one iteration the updates are
  undone and the Hessian shifted (:math:`\delta \leftarrow \max(10\delta,
  10^{-4})`, twice); when that fails too the step is
  :math:`-\nabla\mathcal L_{\mu,\nu}` (counted in ``extra["fallback_steps"]``),
  and a failed line search along the Newton direction is retried along it;
* ``al-sketch`` only: the sketch is started and corrected in a subspace of
  recent directions (``recycle``); when the sketching solver stalls (its
  inner-step budget ends before the accuracy condition holds) the stalled
  sketch iterate is still tested for descent and used when it passes, as the
  authors' code does (counted in ``extra["inaccurate_steps"]``), or, with
  ``exact_fallback=True`` (off by default), that iteration's system is solved
  exactly (LU; counted in ``extra["exact_fallbacks"]``);
* near a solution, where the predicted decrease of the merit function is below
  its rounding error, the unit step is accepted when it lowers
  :math:`\|\nabla\mathcal L\|` (Armijo's test is decided by round-off there).

Statuses: ``CONVERGED``; ``INFEASIBLE`` ("locally infeasible") when the iterate
is a local minimizer of :math:`\|c\|^2` with :math:`\|c\|_\infty > 100\,`
``feasibility_tol``: :math:`\|G^\top c\|_\infty \le 10^{-6}\|c\|_\infty \max(1, \|G^\top\|_\infty)` and no
eigenvalue of :math:`G^\top G + \sum_i c_i \nabla^2 c_i` below
:math:`-10^{-8}\|c\|_\infty` (:class:`mathopt.constrained.kkt.InfeasibilityCheck`; a stationary
point of the infeasibility that maximizes it, e.g. a start where :math:`G = 0`, is stepped away
from; the result's ``residuals["infeasibility_stationarity"]`` is :math:`\|G^\top c\|_\infty`);
the test runs at every iterate, and also, when the method would stop with ``NUMERICAL_ERROR``
(line search failed, no usable Newton direction) with violated constraints, at the local
minimizer of :math:`\|c\|^2` that Gauss-Newton reaches from the last iterate
(:func:`mathopt.constrained.kkt.minimize_infeasibility`; near such a minimizer the merit's
penalty grows without bound and the line search fails before the first test holds, as on
JUNKTURN and BRATU2DT of the S2X SIF set);
``UNBOUNDED`` when a feasible iterate has :math:`f <` ``unbounded_threshold``
or :math:`\|x\|_\infty >` ``divergence_threshold``;
``NUMERICAL_ERROR`` when 10 iterations in a row get no usable Newton
direction (e.g. a sketching solver on an inconsistent KKT system), the line search fails (step below ``1e-14``) along
the Newton direction and then along :math:`-\nabla\mathcal L_{\mu,\nu}`, or an accepted step leaves the iterate
unchanged (below its rounding); ``NONFINITE`` when a function returns NaN/inf. A run of an
inexact solver that did not converge and took at least half of its steps on directions that
missed the accuracy condition (or on :math:`-\nabla\mathcal L_{\mu,\nu}`) says so in its message.
The Hessian shift :math:`\delta` is capped at ``1e40`` and is 0 when :math:`G` has full column
rank (``P = 0``).
"""
from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, field

import numpy as np
from ..core.lazy import lazy_module

sp = lazy_module("scipy.sparse")

from ..core.driver import IterationInfo, IterativeSolver, make_result
from ..core.options import check_int, check_positive
from ..core.problem import all_finite
from ..core.status import Status
from .kkt import infeasibility_check, minimize_infeasibility
from .options import UnboundedTestOptions

#: Iterations in a row without a usable Newton direction before NUMERICAL_ERROR.
_MAX_FAILED_SOLVES = 10
#: Cap on the Hessian shift delta (it compounds over iterations; past 1e40 it only buries H).
_MAX_SHIFT = 1e40


@dataclass(frozen=True)
class ExactALOptions(UnboundedTestOptions):
    """Options of the exact-augmented-Lagrangian Newton methods.

    Parameters
    ----------
    penalty : float, default 1.0
        Initial penalty ``mu`` on ``||c||^2`` in the merit function (authors' ``eta1``).
    nu : float, default 0.1
        Initial weight of ``||grad_x L||^2`` in the merit function (``eta2``).
    penalty_growth : float, default 2.25
        Factor of the penalty when the descent test fails: ``mu <- penalty_growth * mu``,
        ``nu <- nu / sqrt(penalty_growth)`` and an inexact solver's accuracy
        ``theta <- theta / penalty_growth^2`` (the paper's ``rho`` is ``sqrt(penalty_growth)``,
        1.5 by default).
    max_penalty_increases : int, default 40
        Penalty updates per iteration before the Hessian-shift safeguard acts.
    descent_fraction : float, default 1.0
        Scales the descent test ``slope <= -descent_fraction * nu/2 * ||KKT||^2``
        (1 is the paper's test).
    armijo : float, default 0.1
        Sufficient-decrease constant ``beta`` of the line search (authors' value).
    """

    penalty: float = 1.0
    nu: float = 0.1
    penalty_growth: float = 2.25
    max_penalty_increases: int = 40
    descent_fraction: float = 1.0
    armijo: float = 0.1

    def __post_init__(self):
        super().__post_init__()
        for name in ("penalty", "nu", "armijo", "descent_fraction"):
            check_positive(self, name, allow_inf=False)
        check_positive(self, "penalty_growth", allow_inf=False)
        if self.penalty_growth <= 1.0 or self.descent_fraction > 1.0 or self.armijo >= 0.5:
            from ..core.options import OptionError

            raise OptionError("need penalty_growth > 1, descent_fraction <= 1 and armijo < 0.5")
        check_int(self, "max_penalty_increases", minimum=0)


@dataclass
class LinearSolve:
    """Outcome of one (possibly inexact) solve of ``K d = rhs``."""

    direction: np.ndarray
    residual: float
    inner_iterations: int = 0
    ok: bool = True
    memory: tuple | None = None  # what the solver keeps between solves (recent directions), None: nothing


class KKTLinearSolver:
    """Interface: ``solve(K, rhs, accuracy, seed, warm, memory, n) -> LinearSolve``.

    ``accuracy`` is the absolute 2-norm target ``||K d - rhs||``, ``warm``
    an optional starting point and ``memory`` what the solver returned in
    ``LinearSolve.memory`` last time (kept in the outer state); exact solvers
    ignore all three; ``n`` is the size of the ``B`` block of ``K = [[B, G^T], [G, 0]]``.
    ``exact`` tells the outer loop whether tightening helps.
    """

    exact = True
    #: Words for the report of a run that stalled on inexact solves (see ``finalize``).
    directions = "sketched directions"
    stall_hint = "the KKT systems look too ill-conditioned for randomized sketching within inner_max_iter"

    def solve(self, K, rhs, accuracy: float, seed: int, warm=None, memory=(), n=None) -> LinearSolve:
        raise NotImplementedError


@dataclass
class _Point:
    x: np.ndarray
    lam: np.ndarray
    f: float
    g: np.ndarray
    c: np.ndarray
    G: object
    grad_lag: np.ndarray

    def finite(self) -> bool:
        """Objective, gradient, constraints and Jacobian all finite (what the next step factorizes)."""
        jac = self.G.data if sp.issparse(self.G) else self.G
        return bool(math.isfinite(self.f) and np.all(np.isfinite(self.g)) and np.all(np.isfinite(self.c))
                    and np.all(np.isfinite(jac)))


@dataclass(frozen=True)
class _Run:
    """What one solve works on (kept in the state: the solver object holds no run state)."""

    problem: object
    options: ExactALOptions
    ev: object  # the counting evaluator
    rng: np.random.Generator


@dataclass
class _State:
    run: _Run
    point: _Point
    mu: float
    nu: float
    theta: float
    shift: float = 0.0
    status: Status | None = None
    message: str = ""
    nit: int = 0
    inner_iterations: int = 0
    solver_memory: tuple = ()  # the linear solver's memory (al-sketch: recent directions)
    fallback_steps: int = 0
    exact_fallbacks: int = 0
    inaccurate_steps: int = 0
    failures_in_a_row: int = 0
    merit_grad_norm: float = float("nan")
    extra: dict = field(default_factory=dict)


def _block_diagonal_eigenvalues(D) -> np.ndarray:
    """Eigenvalues of the block-diagonal ``D`` of ``scipy.linalg.ldl`` (1x1 and symmetric 2x2 blocks), O(n).

    A dense ``eigvalsh(D)`` cost O(n^3): 6 s per iteration at n + m = 768 on a loaded machine.
    """
    d = np.diag(D).astype(float)
    sub = np.diag(D, -1)
    eig = d.copy()
    i = 0
    while i < d.size:
        if i + 1 < d.size and sub[i] != 0.0:  # a 2x2 block [[a, b], [b, c]]
            a, b, c = d[i], sub[i], d[i + 1]
            mean, rad = 0.5 * (a + c), math.hypot(0.5 * (a - c), b)
            eig[i], eig[i + 1] = mean - rad, mean + rad
            i += 2
        else:
            i += 1
    return eig


def _matvec_t(G, v) -> np.ndarray:
    return np.asarray(G.T @ v).ravel()


def _matvec(M, v) -> np.ndarray:
    return np.asarray(M @ v).ravel()


def _kkt_norm(point: _Point) -> float:
    return float(np.hypot(np.linalg.norm(point.grad_lag), np.linalg.norm(point.c)))


def _infeasibility_stationarity(point: _Point) -> float:
    """``||G^T c||_inf``: the gradient of ``||c||^2 / 2``, zero at a (local) minimizer of the infeasibility."""
    return float(np.max(np.abs(_matvec_t(point.G, point.c)), initial=0.0))


def merit_value(point: _Point, mu: float, nu: float) -> float:
    """The exact augmented Lagrangian L_{mu,nu} at a point."""
    return float(point.f + point.lam @ point.c + 0.5 * mu * point.c @ point.c
                 + 0.5 * nu * point.grad_lag @ point.grad_lag)


def merit_gradient(point: _Point, hessian, mu: float, nu: float) -> tuple[np.ndarray, np.ndarray]:
    """(grad_x, grad_lambda) of L_{mu,nu}; ``hessian`` is the Lagrangian Hessian at the point."""
    gx = point.grad_lag + nu * _matvec(hessian, point.grad_lag) + mu * _matvec_t(point.G, point.c)
    gl = point.c + nu * _matvec(point.G, point.grad_lag)
    return gx, gl


class ExactALNewton(IterativeSolver):
    """Algorithm 1 of Hong et al. (2023) with a pluggable KKT linear solver."""

    def __init__(self, linear_solver: KKTLinearSolver, accuracy: float = 0.0, sharpening: float = 0.0,
                 exact_fallback: KKTLinearSolver | None = None):
        self.linear_solver, self.exact_fallback = linear_solver, exact_fallback
        self.accuracy, self.sharpening = accuracy, sharpening

    # -- evaluation ------------------------------------------------------
    @staticmethod
    def _evaluate(ev, x, lam) -> _Point:
        f = ev.fun(x)
        g = ev.gradient(x)
        c = ev.eq(x)
        G = ev.eq_jacobian(x)
        grad_lag = g + _matvec_t(G, lam) if np.all(np.isfinite(c)) else np.full_like(g, np.nan)
        return _Point(x, lam, f, g, c, G, np.asarray(grad_lag, dtype=float))

    @staticmethod
    def _hessian(ev, point: _Point):
        H = ev.lagrangian_hessian(point.x, point.lam, np.zeros(0))
        return H if sp.issparse(H) else np.asarray(H, dtype=float)

    # -- IterativeSolver contract -------------------------------------------
    def init(self, problem, options: ExactALOptions):
        run = _Run(problem, options, problem.evaluator(), np.random.default_rng(options.seed))
        x = problem.x0.copy()
        lam0 = np.zeros(problem.n_eq)
        point = self._evaluate(run.ev, x, lam0)
        if point.finite() and problem.n_eq:
            lam0 = self._least_squares_multipliers(point)
            point = self._evaluate(run.ev, x, lam0)
        return _State(run=run, point=point, mu=options.penalty, nu=options.nu, theta=self.accuracy)

    def _least_squares_multipliers(self, point: _Point) -> np.ndarray:
        """lambda_0 = argmin ||g + G^T lambda|| (a standard start; the paper allows any lambda_0)."""
        if point.G.shape[0] * point.G.shape[1] > 4e6:  # large problems: zero multipliers, and never
            return np.zeros(point.c.size)              # densify a sparse Jacobian (checked before toarray)
        G = point.G.toarray() if sp.issparse(point.G) else point.G
        lam, *_ = np.linalg.lstsq(G.T, -point.g, rcond=None)
        return lam if np.all(np.isfinite(lam)) else np.zeros(point.c.size)

    def info(self, state: _State, nit: int, elapsed: float) -> IterationInfo:
        p = state.point
        residuals = {"stationarity": float(np.max(np.abs(p.grad_lag), initial=0.0)),
                     "feasibility": float(np.max(np.abs(p.c), initial=0.0))}
        return IterationInfo(nit=nit, x=p.x, fun=p.f, residuals=residuals, elapsed=elapsed,
                             extra={"penalty": state.mu, "nu": state.nu, "kkt_norm": _kkt_norm(p)})

    def terminate(self, state: _State):
        return self.verdict(state)[0]

    def verdict(self, state: _State) -> tuple[Status | None, str]:
        """The method's stopping test at ``state`` and why (no side effects)."""
        if state.status is not None:
            return state.status, state.message
        p = state.point
        if not p.finite():
            return None, ""  # the driver reports NONFINITE
        feas = float(np.max(np.abs(p.c), initial=0.0))
        options = state.run.options
        if options.meets_tolerances({"stationarity": float(np.max(np.abs(p.grad_lag), initial=0.0)),
                                          "feasibility": feas}):
            return Status.CONVERGED, ""
        reason = options.unbounded_reason(p.f, p.x, feas)
        if reason:
            return Status.UNBOUNDED, reason
        if feas > 100.0 * options.feasibility_tol and self._locally_infeasible(state.run.ev, p,
                                                                                 options.feasibility_tol):
            return Status.INFEASIBLE, (f"locally infeasible: a local minimizer of ||c||^2 with ||c||_inf = {feas:.3e} "
                                       f"(||G^T c||_inf = {_infeasibility_stationarity(p):.1e}): the constraints "
                                       "look inconsistent")
        return None, ""

    @staticmethod
    def _locally_infeasible(ev, p: _Point, feasibility_tol: float) -> bool:
        """True at a local minimizer of ``phi = ||c||^2 / 2`` that is not feasible.

        First order: ``||G^T c||_inf <= 1e-6 ||c||_inf max(1, ||G^T||_inf)``. Second order (a
        stationary point of ``phi`` can be a maximizer or saddle, e.g. any point
        where ``G = 0``, such as the centre of a circle constraint): the
        Hessian ``G^T G + sum_i c_i grad^2 c_i`` must have no eigenvalue below
        ``-1e-8 ||c||_inf``; it is formed (two Lagrangian Hessians) only when
        the first-order test holds, and only for ``n <= 3000``
        (:func:`mathopt.constrained.kkt.infeasibility_check`, shared with ``auglag`` and ``penalty``).
        """
        check = infeasibility_check(ev.problem, ev, p.x, p.c, p.G, np.zeros(0), None)
        return check.locally_infeasible(feasibility_tol)

    def step(self, state: _State) -> _State:
        state = dataclasses.replace(state)  # a new state: the driver may fall back on the old one
        p = state.point
        H = self._hessian(state.run.ev, p)
        if not all_finite(H, p.G, p.grad_lag, p.c):
            # an overflowed Hessian, Jacobian or residual (GULFNE, LUKSAN22): end NONFINITE here rather
            # than in SciPy's input check inside the factorizations
            state.point = _Point(p.x, p.lam, float("nan"), p.g, p.c, p.G, p.grad_lag)
            return state
        rhs = -np.concatenate([p.grad_lag, p.c])
        kkt_norm = float(np.linalg.norm(rhs))
        theta = state.theta * min(1.0, kkt_norm) ** self.sharpening if self.sharpening > 0 else state.theta
        # P of the Hessian modification B = H + delta P: an SVD of G, computed only if delta > 0.
        projector = functools.cache(lambda: self._null_space_projector(p.G, H.shape[0]))
        state.shift = self._inertia_shift(H, p.G, state.shift, projector)
        direction, slope = self._newton_direction(state, p, H, rhs, kkt_norm, theta, projector)
        gx, gl = merit_gradient(p, H, state.mu, state.nu)
        state.merit_grad_norm = float(np.linalg.norm(np.concatenate([gx, gl])))
        state.failures_in_a_row = 0 if direction is not None else state.failures_in_a_row + 1
        if state.failures_in_a_row >= _MAX_FAILED_SOLVES:
            state.status = Status.NUMERICAL_ERROR
            state.message = (f"the linear solver gave no usable Newton direction in {_MAX_FAILED_SOLVES} iterations "
                             "in a row (inconsistent or badly conditioned KKT systems)")
            self._certify_infeasible(state)
            return state
        if direction is None:  # safeguard: steepest descent on the merit function
            state.fallback_steps += 1
            dx, dl = -gx, -gl
            slope = -float(gx @ gx + gl @ gl)
        else:
            dx, dl = direction[:p.x.size], direction[p.x.size:]
        if slope >= 0.0:  # a zero merit gradient away from a KKT point
            state.status, state.message = Status.NUMERICAL_ERROR, "no descent direction for the merit function"
            return state
        state.point = self._line_search(state, p, dx, dl, slope)
        if state.status is Status.NUMERICAL_ERROR and direction is not None:  # retry along -grad merit
            state.status, state.message = None, ""
            state.fallback_steps += 1
            state.point = self._line_search(state, p, -gx, -gl, -float(gx @ gx + gl @ gl))
        if state.status is None and np.array_equal(state.point.x, p.x) and np.array_equal(state.point.lam, p.lam):
            # an accepted step below the rounding of the iterate (Armijo decided by round-off of a merit
            # value inflated by mu): before this test BRATU2DT sat still for 950 iterations at mu = 2e19
            state.status = Status.NUMERICAL_ERROR
            state.message = (f"the accepted step no longer changes the iterate (penalty mu = {state.mu:.1e}, "
                             f"||c||_inf = {float(np.max(np.abs(p.c), initial=0.0)):.3e})")
        if state.status is Status.NUMERICAL_ERROR:
            self._certify_infeasible(state)
        return state

    def _certify_infeasible(self, state: _State) -> None:
        """Before a ``NUMERICAL_ERROR`` stop with violated constraints: move to the local minimizer of
        ``||c||^2`` that Gauss-Newton reaches from the iterate and stop ``INFEASIBLE`` there when it
        passes the test of :meth:`_locally_infeasible` (else the stop stays, the iterate unchanged)."""
        p, run = state.point, state.run
        tol = run.options.feasibility_tol
        if not (p.finite() and float(np.max(np.abs(p.c), initial=0.0)) > 100.0 * tol):
            return
        x = minimize_infeasibility(run.problem, run.ev, p.x)
        if x is None:
            return
        restored = self._evaluate(run.ev, x, p.lam)
        if restored.finite() and self._locally_infeasible(run.ev, restored, tol):
            feas = float(np.max(np.abs(restored.c), initial=0.0))
            state.point, state.status = restored, Status.INFEASIBLE
            state.message = (f"locally infeasible: a local minimizer of ||c||^2 with ||c||_inf = {feas:.3e} "
                             f"(||G^T c||_inf = {_infeasibility_stationarity(restored):.1e}), reached by Gauss-Newton "
                             f"on ||c||^2 after: {state.message}")

    def _newton_direction(self, state: _State, p: _Point, H, rhs, kkt_norm: float, theta: float, projector):
        """Steps 3-4 (module docstring): an (inexact) Newton direction passing the descent test.

        Returns ``(direction, slope)``, or ``(None, 0.0)`` when the safeguards
        (penalty updates, tighter accuracy, Hessian shift, and for an inexact
        solver with ``exact_fallback`` one exact solve) gave no direction
        passing the test.
        """
        shift0 = state.shift
        found = self._directions_with(self.linear_solver, state, p, H, rhs, kkt_norm, theta, projector)
        if found[0] is None and not self.linear_solver.exact and self.exact_fallback is not None:
            state.exact_fallbacks += 1
            state.shift = shift0
            found = self._directions_with(self.exact_fallback, state, p, H, rhs, kkt_norm, theta, projector)
        return found

    def _directions_with(self, solver: KKTLinearSolver, state: _State, p: _Point, H, rhs, kkt_norm, theta,
                         projector):
        opts, n = state.run.options, p.x.size
        growth = opts.penalty_growth  # rho^2 in the paper's notation
        warm = None
        for _shift_round in range(3):
            mu_before, nu_before = state.mu, state.nu
            K = self._kkt_matrix(H, p.G, state.shift, projector)
            solved, stalls = None, 0
            for _ in range(opts.max_penalty_increases + 1):
                accuracy = theta * kkt_norm
                if solved is None or not solver.exact:  # an exact direction does not change
                    solved = solver.solve(K, rhs, accuracy, int(state.run.rng.integers(2**31 - 1)), warm,
                                          state.solver_memory, n=n)
                    if solved.memory is not None:
                        state.solver_memory = solved.memory
                    state.inner_iterations += solved.inner_iterations
                usable = solved.ok and bool(np.all(np.isfinite(solved.direction)))
                if not usable:
                    break  # only a Hessian shift (or the exact fallback) can help
                warm = solved.direction
                accurate = solver.exact or solved.residual <= accuracy
                stalls += not accurate
                if not accurate and solver is self.linear_solver and self.exact_fallback is not None:
                    return None, 0.0  # the sketch stalled: this iteration is solved exactly (counted)
                # Test the direction for descent; a sketched direction that ran out of inner
                # steps before the accuracy condition is tested too (as the authors' code does)
                # and counted in ``extra["inaccurate_steps"]`` when it is used.
                dx, dl = solved.direction[:n], solved.direction[n:]
                gx, gl = merit_gradient(p, H, state.mu, state.nu)
                slope = float(gx @ dx + gl @ dl)
                if slope <= -0.5 * opts.descent_fraction * state.nu * kkt_norm ** 2:
                    state.inaccurate_steps += not accurate
                    return solved.direction, slope
                if accurate:  # step 4: mu <- rho^2 mu, nu <- nu / rho
                    state.mu *= growth
                    state.nu /= math.sqrt(growth)
                elif stalls > 2:
                    break  # the sketching solver stalls on this system
                if not solver.exact:
                    theta /= growth ** 2  # rho^4: tighten the accuracy condition as well
            state.mu, state.nu = mu_before, nu_before  # the updates did not help: undo them
            if solved is not None and not solver.exact and stalls > 2:
                break  # a shifted system is no easier to sketch: go to the fallback
            state.shift = min(max(10.0 * state.shift, 1e-4), _MAX_SHIFT)
        return None, 0.0

    def _inertia_shift(self, H, G, last_shift: float, projector=None) -> float:
        """Smallest tried ``delta`` with ``H + delta I`` positive definite on the null space of ``G``.

        Checked through the inertia of the KKT matrix (``n`` positive, ``m``
        negative eigenvalues; Nocedal & Wright, Theorem 16.3) by a dense
        LDL^T factorization, so only for KKT matrices of size <= 3000; larger
        (sparse) problems rely on the descent-test safeguards instead.
        """
        n, m = H.shape[0], G.shape[0]
        if n + m > 3000:
            return 0.0
        if m >= n and projector is not None:
            P = projector()
            if P is not None and not np.any(P):
                # G has full column rank: the reduced Hessian is empty and a shift delta P = 0 changes
                # nothing. Before this test the inertia count (which sees K's eigenvalues below 1e-12
                # of the largest as zero) kept failing on DRCAVTY2 (n = m = 100, sigma_min(G) = 5e-3)
                # and the shift grew to 1e16 - 1e40, multiplying P's round-off into garbage.
                return 0.0
        from scipy.linalg import ldl

        dense_h = H.toarray() if sp.issparse(H) else H
        dense_g = G.toarray() if sp.issparse(G) else np.asarray(G)
        shift = 0.0
        for _ in range(60):
            K = self._kkt_matrix(dense_h, dense_g, shift, projector)
            if not np.all(np.isfinite(K)):  # the shift times the projector overflowed: keep the last one
                return shift
            _, D, _ = ldl(K)
            if not np.all(np.isfinite(D)):  # the factorization overflowed (GULFNE): no inertia to read
                return shift
            eig = _block_diagonal_eigenvalues(D)  # same inertia as K (Sylvester)
            scale = 1e-12 * max(1.0, float(np.max(np.abs(eig), initial=1.0)))
            if np.sum(eig > scale) == n and np.sum(eig < -scale) == m:
                return shift
            if np.sum(eig > scale) == n:  # singular only in the constraint block: rank-deficient G
                return shift
            if shift == 0.0:  # Ipopt's schedule (Waechter & Biegler 2006, Algorithm IC)
                shift = 1e-4 if last_shift == 0.0 else max(1e-20, last_shift / 3.0)
            else:
                shift *= 100.0 if last_shift == 0.0 else 8.0
            if shift > _MAX_SHIFT:  # (before this cap, BRATU2DT's shifts overflowed to inf: NaN KKT matrices)
                return _MAX_SHIFT
        return shift

    @staticmethod
    def _null_space_projector(G, n: int):
        r"""``P = I - G^+ G``, the projector on the null space of ``G`` (dense, ``n + m <= 3000``), else None.

        The Hessian modification is :math:`B = H + \delta P` rather than
        :math:`H + \delta I`: on the null space of ``G`` both are the same (so
        the reduced Hessian is positive definite for the same ``delta``), but
        ``delta P`` leaves the range of ``G^T`` alone, so the shift does not
        bias the multiplier step (with ``delta I``, ``delta dx`` in the range of
        ``G^T`` is absorbed by ``d lambda``; on degenerate problems such as BT8
        this fed back into ever larger shifts and diverging multipliers).
        """
        m = G.shape[0]
        if m == 0 or n + m > 3000:
            return None
        dense_g = G.toarray() if sp.issparse(G) else np.asarray(G, dtype=float)
        _, sv, vt = np.linalg.svd(dense_g, full_matrices=False)
        rank = int(np.sum(sv > 1e-10 * max(1.0, float(sv[0]) if sv.size else 1.0)))
        if rank >= n:  # trivial null space (e.g. a square system): exactly 0, not I - V^T V's round-off
            return np.zeros((n, n))
        basis = vt[:rank]
        return np.eye(n) - basis.T @ basis

    def _kkt_matrix(self, H, G, shift: float, projector=None):
        """``[[H + shift P, G^T], [G, 0]]``; ``P = projector()`` when it gives one, else ``I``."""
        n, m = H.shape[0], G.shape[0]
        proj = projector() if shift and projector is not None else None
        if proj is not None:
            H = (H.toarray() if sp.issparse(H) else H) + shift * proj
            shift = 0.0
        if sp.issparse(H) or sp.issparse(G):
            Hs = sp.csr_matrix(H) + (shift * sp.identity(n, format="csr") if shift else 0)
            return sp.bmat([[Hs, sp.csr_matrix(G).T], [sp.csr_matrix(G), None]], format="csr")
        K = np.zeros((n + m, n + m))
        K[:n, :n] = H + shift * np.eye(n)
        K[:n, n:] = G.T
        K[n:, :n] = G
        return K

    def _line_search(self, state: _State, p: _Point, dx, dl, slope) -> _Point:
        opts = state.run.options
        phi0 = merit_value(p, state.mu, state.nu)
        # Near a solution the predicted decrease can fall below the rounding error of the merit
        # value: Armijo's test is then decided by round-off. The unit step is accepted there when
        # it lowers the KKT residual (a safeguard of ours, not in the paper).
        roundoff = abs(slope) <= 1e3 * np.finfo(float).eps * max(1.0, abs(phi0))
        alpha = 1.0
        while alpha >= 1e-14:
            trial = self._evaluate(state.run.ev, p.x + alpha * dx, p.lam + alpha * dl)
            if trial.finite():
                phi = merit_value(trial, state.mu, state.nu)
                if math.isfinite(phi) and phi <= phi0 + opts.armijo * alpha * slope:
                    return trial
                if alpha == 1.0 and roundoff and _kkt_norm(trial) < _kkt_norm(p):
                    return trial
            elif alpha == 1.0 and not np.all(np.isfinite(p.x + dx)):
                return trial
            alpha *= 0.5
        if not trial.finite():  # NaN everywhere along the direction: report it, never a silent answer
            return trial
        state.status = Status.NUMERICAL_ERROR
        state.message = "line search on the exact augmented Lagrangian failed (step below 1e-14)"
        return p

    def finalize(self, state: _State, status: Status, info: IterationInfo, history):
        ev = state.run.ev
        verdict, note = self.verdict(state) if state.point.finite() else (None, "")
        note = note if verdict is status else state.message
        stalled = state.inaccurate_steps + state.fallback_steps
        if not self.linear_solver.exact and status is not Status.CONVERGED and info.nit and stalled >= 0.5 * info.nit:
            # the honest report of a crawl on stalled sketches (DTOC2, DRCAVTY1: see docs/benchmarks.md)
            note = "; ".join(filter(None, [note, (
                f"{stalled} of {info.nit} iterations stepped along {self.linear_solver.directions} that missed the "
                f"accuracy condition ({state.inaccurate_steps}) or along -grad of the merit ({state.fallback_steps}): "
                f"{self.linear_solver.stall_hint} (exact_fallback=True or al-newton solve them exactly)")]))
        message = f"{status.message}: {note}" if note else ""
        if status is Status.INFEASIBLE:  # the certificate: ||G^T c|| (about 0) next to ||c||
            info = dataclasses.replace(info, residuals={
                **info.residuals, "infeasibility_stationarity": _infeasibility_stationarity(state.point)})
        extra = {"multipliers": {"eq": state.point.lam.copy(), "ineq": np.zeros(0),
                                 "bounds": np.zeros(state.run.problem.n)},
                 "penalty": state.mu, "nu": state.nu, "inner_iterations": state.inner_iterations,
                 "fallback_steps": state.fallback_steps, "exact_fallbacks": state.exact_fallbacks,
                 "inaccurate_steps": state.inaccurate_steps, "njev": ev.njev, "ncev": ev.ncev}
        return make_result(info, status, history, counters=ev.counters(), message=message, extra=extra)
