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

Full projection (``projection="full"``; our addition beyond Algorithm 1, the
default for a general objective with an exact gradient). Algorithm 1's
half-step is the one-alternation inexact KL projection, and its rate is the
O(1/sqrt T) of mirror descent for Lipschitz objectives whatever the
smoothness of F (measured: 1.6e-3 relative sub-optimality after 1e5
iterations on a quadratic-regularized problem at n = 100). For a smooth F we
instead run the Bregman proximal gradient method of Bauschke, Bolte &
Teboulle (2017) and Lu, Freund & Nesterov (2018) with the entropy
h(P) = sum P log P as the reference function:

.. math::

    P_{t+1} = \\arg\\min_{Q \\in U(a, b)} \\langle \\nabla F(P_t), Q \\rangle
              + L_t \\mathrm{KL}(Q \\,|\\, P_t)
            = \\mathrm{diag}(u)\\, \\big(P_t \\odot e^{-\\nabla F(P_t) / L_t}\\big)\\, \\mathrm{diag}(v),

a full KL projection computed by Sinkhorn on the kernel
:math:`P_t \\odot e^{-\\nabla F(P_t)/L_t}` (compiled, plain domain, rows
shifted by their minimum gradient, warm-started from the previous step's
potentials rescaled to the new L; one fused pass over the kernel per Sinkhorn
iteration), until the column error :math:`\\|Q^\\top\\mathbf 1 - b\\|_1` is at most a tolerance
(rows exact) or ``inner_max_iter`` iterations; the tolerance starts at
1e-6 and never increases: after a step it becomes
min(itself, 10 (F_{t-1} - F_t) / max|grad F|), or a tenth of itself if F did
not decrease, floored at ``inner_tol`` (inexact early, exact near the
optimum; a tolerance allowed to grow back made F of the slightly infeasible
iterates oscillate). L_t is found
by backtracking on the relative-smoothness inequality (LFN 2018, Alg. 1 with
line search)
:math:`F(P_{t+1}) \\le F(P_t) + \\langle \\nabla F(P_t), P_{t+1} - P_t\\rangle + L_t \\mathrm{KL}(P_{t+1} | P_t)`
(L doubled until it holds, 1e-12 max(1, |F|) slack for rounding; KL from the
scalings at no extra pass); after an accepted step L may decrease
(times 0.7) when the projection took at most 30 Sinkhorn iterations, and
grows (divided by 0.7) when it took more than 120: a smaller L is a longer
step but a worse-conditioned kernel. The initial L is the spread
max - min of the first gradient (or 1 / ``step_size``). Rates (exact
projections): F(P_t) - F* <= L KL(P*|P_0) / t for F L-smooth relative to h
(e.g. L = lam max_ij P_ij <= lam min(max a, max b) for lam/2 ||P||^2), and
linear, (1 - mu/L)^t, when F is also mu-strongly convex relative to h (an
entropic term eps sum P log P gives mu = eps). Output: the last iterate,
rounded onto U(a, b). Each iteration costs one gradient, usually one
objective evaluation, one exp per entry and a few Sinkhorn passes.
Stopping test (every 10 iterations): the certified Frank-Wolfe bound at the
rounded iterate R,

.. math::

    \\mathrm{gap} = \\langle \\nabla F(R), R \\rangle - D \\ge
    \\langle \\nabla F(R), R - Q^* \\rangle \\ge F(R) - F^*,
    \\quad Q^* = \\arg\\min_{Q \\in U(a, b)} \\langle \\nabla F(R), Q \\rangle,

with D a dual lower bound of that linear OT from the projection's row
potentials made dual feasible by c-transforms (``linear_ot_lower_bound``;
O(nm), where an exact EMD would cost seconds at n = 1000; D equals the LP
value at a KKT point, where grad F = alpha_i + beta_j on the support;
potentials above 1e6 (1 + max|grad F|) in magnitude are replaced by the row
minima of grad F: their c-transforms cancel catastrophically in floating point).
``CONVERGED`` when gap <= ``gap_tol`` max(1, |F|) (default 1e-6). Fallback
(``objective_change_tol``, default 1e-9, at t = 10, 20, 40, ...): for
objectives whose gradient is unbounded near the boundary (entropic terms
with optimal entries below the floating-point range, where the clamped
gradient makes the bound loose) the relative change of F since t / 2; it
ends ``CONVERGED_INACCURATE`` (not certified), with a message.

Acceleration (``acceleration="abpg"``, full projection; not the default, see "Measured" below): the
accelerated Bregman proximal gradient method of Hanzely, Richtarik & Xiao (2021), ABPG with their gain
adaptation ("ABPG-g"; the unknown L and the gain G form one step constant M_k = G_k L, backtracked). From
x_0 = z_0 = P_0, theta_0 = 1, with gamma = ``acceleration_exponent``:

.. math::

    y_k = (1 - \\theta_k) x_k + \\theta_k z_k, \\qquad
    z_{k+1} = \\arg\\min_{Q \\in U(a, b)} \\langle \\nabla F(y_k), Q \\rangle
              + \\theta_k^{\\gamma - 1} M_k \\mathrm{KL}(Q \\,|\\, z_k), \\qquad
    x_{k+1} = (1 - \\theta_k) x_k + \\theta_k z_{k+1},

the z-step being the same full KL projection as above (kernel :math:`z_k \\odot e^{-\\nabla F(y_k) /
(\\theta_k^{\\gamma-1} M_k)}`, warm-started potentials); M_k doubled until
:math:`F(x_{k+1}) \\le F(y_k) + \\langle \\nabla F(y_k), x_{k+1} - y_k \\rangle + \\theta_k^\\gamma M_k
\\mathrm{KL}(z_{k+1} | z_k)` (the paper's line-search test; the inner product is
:math:`\\theta_k \\langle \\nabla F(y_k), z_{k+1} - z_k \\rangle`, read off the projection); theta_k solves
:math:`(1 - \\theta_k) / \\theta_k^\\gamma = (M_k / M_{k-1}) / \\theta_{k-1}^\\gamma` (recomputed, with y_k
and its gradient, at every backtrack). Proven (exact projections): along accepted steps the test and the
three-point property of KL give :math:`F(x_k) - F^* \\le \\theta_{k-1}^\\gamma M_{k-1} \\mathrm{KL}(P^* | P_0)`
for every gamma (KL(P*|P_0) <= min(H(a), H(b)) for marginals of mass 1); with gamma = 1 the test holds
as soon as M_k >= L because KL is jointly convex (triangle scaling exponent 1), so M_k <= max(M_0, 2L) and
the rate is O(L KL(P*|P_0) / k), that of the plain method; with gamma = 2 the test needs a gain
G_k = M_k / L that the entropy does not bound (its triangle scaling exponent is 1; the paper's
"intrinsic" exponent 2 holds only with such gains), so the O(1/k^2) rate is not guaranteed: the paper
reports it empirically. Ours (heuristic): (i) a monotone restart: an accelerated step (theta_k < 1) with F(x_{k+1}) > F(x_k) is
rejected and the method restarts from x_k (z = x_k, theta = 1: the next step is a plain Bregman proximal
gradient step, accepted as the plain method's, a descent step up to the projections' tolerance), so F(x_k)
does not increase beyond that tolerance (the function-value restart of O'Donoghue &
Candes 2015, with the step rejected; after a restart the bound above starts again from KL(P*|x_k));
(ii) M_k starts from M_{k-1} times 0.7 when the last projection took at most 100 Sinkhorn passes, divided
by 0.7 when it took more than 400 (the rule of the plain method with pass target 100 instead of 30: the
z-steps are long); (iii) a z-step whose projection misses its tolerance within ``inner_max_iter`` passes
also restarts from x_k (z_k, a sum of long z-steps, has become too ill-conditioned to project; an
unconverged z_{k+1} makes x_{k+1} infeasible and F at it meaningless: F fell below F* before this rule;
doubling M instead ended in 60 failed backtracks); a plain step's projection is accepted as the plain
method's is; (iv) inexact projections, as for the plain method. Stopping test:
the certified Frank-Wolfe bound at the rounded x_k, as above. Per step: F and grad F at y_k, F at
x_{k+1}, one projection per backtrack. Reports ``extra["restarts"]``; history also records ``theta``.
Measured (docs/transport.md, "General convex objectives", benchmark ``rowshape`` and ``quad``): each step
costs 4-5x the plain method's Sinkhorn passes (the z-steps grow as theta_k -> 0 and z_k becomes an
ill-conditioned kernel), so it is slower in time to 1e-4 (2.4x on ``rowshape`` at n = 100) and far behind
at n = 1000 (``rowshape`` and ``quad``); it is ahead per iteration on ``rowshape`` at n = 100 (20x lower
sub-optimality after 1000 iterations) and reaches higher accuracy there in the same time (6.3e-7 vs 6.6e-6
in ~16 s). Hence an option, not the default.

Online mode: when the problem has ``stochastic_gradient(P, rng)``, step 1 uses
that draw instead of the exact gradient (the paper's stochastic/online
setting), with ``rng = numpy.random.default_rng(seed)``. For data arriving
over time outside ``solve``, :class:`OnlineMirrorSinkhorn` exposes the same
iteration as ``partial_fit(gradient_sample)``. General objectives and the
online mode run a Python loop (user gradient) around a compiled plain-domain
step (half projection) or projection (full).

History (``history=True``): rows of reported iterates (0, the last, each
one with a callback) hold ``fun`` and the residuals; rows in between hold the
kernel's records: linear OT ``averaged_objective`` (<C, unrounded average>
after each iteration, accumulated at no extra pass); general/online
``objective`` (F at the iterate), ``averaged_objective`` (F at the unrounded
average), ``averaged_marginal`` (its marginal error) and ``gradient_max``
(max |gradient drawn|, a gradient-size proxy); full projection ``objective``
(F at the unrounded iterate), ``smoothness`` (the accepted L) and
``inner_iterations`` (Sinkhorn iterations of that step). The full projection
also reports ``nfev``, ``extra["inner_iterations"]`` (all Sinkhorn
iterations) and ``extra["smoothness"]`` (the last L).

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
at most ``marginal_tol``. Full projection: see above. Half projection
(general objectives and the online mode), at t = 100 * 2^j: ``CONVERGED`` when F at the returned plan changed by at most
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
.. [3] H. H. Bauschke, J. Bolte, M. Teboulle, "A descent lemma beyond
   Lipschitz gradient continuity: first-order methods revisited and
   applications", Math. Oper. Res. 42(2), 2017.
.. [4] H. Lu, R. M. Freund, Y. Nesterov, "Relatively smooth convex
   optimization by first-order methods, and applications", SIAM J. Optim.
   28(1), 2018.
.. [5] F. Hanzely, P. Richtarik, L. Xiao, "Accelerated Bregman proximal
   gradient methods for relatively smooth convex optimization", Comput.
   Optim. Appl. 79, 2021 (arXiv:1808.03045).
.. [6] B. O'Donoghue, E. Candes, "Adaptive restart for accelerated gradient
   schemes", Found. Comput. Math. 15, 2015.

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
from ..core.options import CommonOptions, check_bool, check_choice, check_int, check_number, check_positive
from ..core.options import OptionError
from ..core.registry import register
from ..core.status import CODE_CONVERGED, CODE_NONFINITE, CODE_NUMERICAL_ERROR, CONTINUE, Status

CODE_CONVERGED_INACCURATE = int(Status.CONVERGED_INACCURATE)
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
        normalized to mass 1, zero entries left out). Full projection: the
        initial step 1/L_0 (None: L_0 = max - min of the first gradient).
    averaging : {"uniform", "step"}, default "uniform"
        Output :math:`\\frac1T\\sum_t P_t` ("uniform") or the step-weighted
        :math:`\\sum_t \\eta_t P_t / \\sum_t \\eta_t` ("step"); half projection
        only (the full projection returns its last iterate).
    rounding : bool, default True
        Round the averaged plan onto U(a, b) (Altschuler et al. 2017, Alg. 2).
    projection : {"auto", "half", "full"}, default "auto"
        "half": Algorithm 1 (one Sinkhorn half-step per iteration, averaged
        iterates). "full": our relative-smoothness mode for general objectives
        (a full KL projection onto U(a, b) per step, step 1/L by backtracking,
        last iterate; see the module docstring). "auto": "half" for linear OT
        and the online mode, "full" for a general objective with an exact
        gradient.
    gap_tol : float or None, default None
        Linear OT: converged when the certified duality gap of the rounded
        average, ``residuals["gap"]``, is at most ``gap_tol * max|C|`` (and
        the marginal test below holds); None means 0.01. Full projection:
        converged when the certified Frank-Wolfe gap bound of the rounded
        iterate, ``residuals["gap"]`` (an upper bound on F - F*), is at most
        ``gap_tol * max(1, |F|)``; None means 1e-6.
    marginal_tol : float, default 0.001
        Converged only when the returned plan's marginal error
        (``residuals["marginal"]``) is at most this; it only matters with
        ``rounding=False`` (a rounded plan has exact marginals; the unrounded
        average approaches U(a, b) at the slow O(1/sqrt t) rate).
    objective_change_tol : float or None, default None
        General objectives and the online mode: converged when the marginal
        test holds and F at the output plan changed by at most this, relative
        to max(1, |F|), since iteration t / 2 (half projection: tests at
        t = 100, 200, 400, ..., None means 0.001: at the O(1/sqrt t) rate of
        the method this change is about 0.4 times the sub-optimality; full
        projection: tests at t = 10, 20, 40, ..., None means 1e-9, a fallback
        for objectives whose gradient bound is loose, e.g. entropic terms
        with entries below the floating-point range; ``residuals["objective_change"]``).
    inner_max_iter : int, default 1000
        Full projection: at most this many Sinkhorn iterations per KL
        projection (``extra["inner_iterations"]`` counts them all).
    inner_tol : float, default 1e-10
        Full projection: floor of the projection's tolerance on the column
        error ||Q^T 1 - b||_1 (rows exact) (it starts at 1e-6 and never increases: after each step
        it becomes min(itself, 10 (F_{t-1} - F_t) / max|grad F|), or a tenth
        of itself if F did not decrease; inexact early, exact near the optimum).
    parallel : bool, default True
        Linear OT: run each pass over C threaded over row blocks (Numba
        ``prange``, one block per Numba thread; set their number with
        ``numba.set_num_threads`` or ``NUMBA_NUM_THREADS``) when C has at
        least 2.5e5 entries (1e4 once Numba reports its OpenMP or TBB
        threading layer in this process). The threaded and serial passes give
        the same iterates to rounding. The threaded kernel is compiled on
        its first use only. False keeps the solve on one thread (e.g. when
        many solves run in parallel processes).
    acceleration : {"none", "abpg"}, default "none"
        "abpg": the accelerated Bregman proximal gradient method of Hanzely,
        Richtarik & Xiao (2021) with gain adaptation (backtracked step
        constant M), a monotone restart and the same certified stopping test
        (module docstring, "Acceleration"). Needs an exact gradient and the
        full projection: it selects ``projection="full"`` under "auto" (also
        for linear OT) and is rejected with "half" or the online mode. Not the
        default: fewer iterations but 4-5x the Sinkhorn passes per step, so
        slower in time to 1e-4 on the benchmark (docs/transport.md); ahead
        only at high accuracy on small problems.
    acceleration_exponent : float, default 2.0
        gamma in [1, 2] for ``acceleration="abpg"`` (the triangle scaling
        exponent): 1 is the case proven for the entropy (O(1/k), the rate of
        "none"); 2 the accelerated one, O(1/k^2) only if the backtracked gains
        stay bounded, which the entropy does not guarantee (heuristic).
    """

    max_iter: int = 100000
    step_size: float | None = None
    averaging: str = "uniform"
    rounding: bool = True
    projection: str = "auto"
    gap_tol: float | None = None
    marginal_tol: float = 1e-3
    objective_change_tol: float | None = None
    inner_max_iter: int = 1000
    inner_tol: float = 1e-10
    parallel: bool = True
    acceleration: str = "none"
    acceleration_exponent: float = 2.0

    def __post_init__(self):
        super().__post_init__()
        if self.step_size is not None:
            check_positive(self, "step_size", allow_inf=False)
        check_choice(self, "averaging", ("uniform", "step"))
        check_bool(self, "rounding")
        check_bool(self, "parallel")
        check_choice(self, "projection", ("auto", "half", "full"))
        check_int(self, "inner_max_iter", minimum=1)
        for name in ("gap_tol", "marginal_tol", "objective_change_tol", "inner_tol"):
            if getattr(self, name) is not None:
                check_positive(self, name)
        check_choice(self, "acceleration", ("none", "abpg"))
        exponent = check_number(self, "acceleration_exponent")
        if not 1.0 <= exponent <= 2.0:
            raise OptionError(f"acceleration_exponent must be in [1, 2], got {self.acceleration_exponent!r}")
        if self.acceleration != "none" and self.projection == "half":
            raise OptionError(f"acceleration={self.acceleration!r} needs the full projection (projection='full' "
                              "or 'auto'); Algorithm 1 (projection='half') has no accelerated variant")


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
        gap_tol = 1e-2 if options.gap_tol is None else options.gap_tol
        return (current.gap() <= gap_tol * current.cost_bound
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
                if (change <= _default(options.objective_change_tol, 1e-3)
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
    online = problem.stochastic_gradient is not None
    accelerated = options.acceleration != "none"
    if (options.projection == "full" or accelerated
            or (options.projection == "auto" and not problem.is_linear and not online)):
        if online:
            name = f"acceleration={options.acceleration!r}" if accelerated else "projection='full'"
            raise OptionError(f"{name} needs an exact gradient; the online mode (stochastic_gradient) "
                              "runs Algorithm 1 (projection='half' or 'auto')")
        if options.averaging != "uniform":  # the full projection returns its last iterate: no average
            raise OptionError(f"averaging={options.averaging!r} needs projection='half' (the full projection, "
                              "the default for a general objective, returns its last iterate)")
        solver = AcceleratedMirrorSinkhorn() if accelerated else FullMirrorSinkhorn()
    else:
        solver = LinearMirrorSinkhorn() if problem.is_linear and not online else GeneralMirrorSinkhorn()
    return run(solver, problem, options, "mirror-sinkhorn")


def _default(value, default):
    return default if value is None else value


# Full projection: L is allowed to decrease (times _L_DECREASE) after an accepted step whose projection
# took at most _INNER_TARGET Sinkhorn iterations, and grows (divided by it) after one that took more than
# 4 * _INNER_TARGET: a smaller L is a longer step but a worse-conditioned kernel P exp(-G / L).
_L_DECREASE = 0.7
_INNER_TARGET = 30
_BACKTRACKS = 60
_TOL_FACTOR = 10.0
# acceleration="abpg": the same rule with a pass target of 100 (its z-steps 1 / (theta^(gamma-1) M) are long, so
# its projections take more passes; measured on rowshape, n = 1000, 100 iterations: target 30 / 100 / 300 gave
# F = 2.22e-3 (200 its, 29.9 s) / 2.03e-3 (25.1 s) / 1.96e-3 (41.6 s), see docs/transport.md)
_ABPG_TARGET = 100


def _next_smoothness(smoothness, passes, target):
    """The next step's first L (or M): times _L_DECREASE after a projection of at most ``target`` Sinkhorn
    passes, divided by it after one of more than 4 ``target``, else unchanged."""
    if passes <= target:
        return smoothness * _L_DECREASE
    return smoothness / _L_DECREASE if passes > 4 * target else smoothness


def _record_full(records, k, value, smoothness, passes):
    """History row k of the full projection: F at the iterate, the accepted L (or M), the step's passes."""
    records["objective"][k] = value
    records["smoothness"][k] = smoothness
    records["inner_iterations"][k] = passes


def _next_tolerance(tol, drop, gradient_max, options):
    """The next projection's tolerance: min(tol, 10 drop / max|G|) after a decrease ``drop`` of F, tol / 10
    after none, floored at ``inner_tol``: never increasing (a tolerance that jumps back up lets F of the
    slightly infeasible iterates oscillate)."""
    tol = min(tol, _TOL_FACTOR * drop / max(gradient_max, 1e-300)) if drop > 0 else tol / 10.0
    return max(tol, options.inner_tol)


class _Full(NamedTuple):
    """State of the full-projection mode (arrays are never mutated: each step makes new ones)."""
    problem: TransportProblem
    options: MirrorSinkhornOptions
    grad: object              # plan -> gradient, checked
    plan: np.ndarray          # P_t (in U(a, b) up to the projection tolerance)
    value: float              # F(P_t)
    gradient: np.ndarray      # grad F(P_t)
    alpha: np.ndarray         # potentials of the last projection (warm start)
    beta: np.ndarray
    smoothness: float         # L, the current relative-smoothness estimate
    tolerance: float          # of the next projection (column error ||Q^T 1 - b||_1)
    t: int
    nfev: int
    ngev: int
    inner: int                # Sinkhorn iterations so far
    gap: float                # certified bound on F(R) - F* at the last check (R: rounded iterate)
    checked_value: float      # F at the last stagnation test
    change: float             # relative change of F between the last two stagnation tests
    # acceleration="abpg" only (``AcceleratedMirrorSinkhorn``): plan is x_k, z the second sequence z_k
    z: np.ndarray | None = None
    theta: float = 1.0        # theta_{k-1}
    accepted: float = 0.0     # M_{k-1}, the last accepted step constant (0: none since the last (re)start)
    restarts: int = 0


class FullMirrorSinkhorn(IterativeSolver):
    """General objectives, full projection: Bregman proximal gradient with the entropy and backtracking
    (see the module docstring), a Python loop in ``advance`` around the compiled projection."""

    records = ("objective", "smoothness", "inner_iterations")

    def init(self, problem, options):
        grad = problem.gradient_function()
        plan = np.outer(problem.a, problem.b) / problem.a.sum()
        value = problem.value(plan)
        gradient = grad(plan)
        spread = float(np.max(gradient) - np.min(gradient)) if np.all(np.isfinite(gradient)) else 1.0
        smoothness = 1.0 / options.step_size if options.step_size is not None else (spread if spread > 0 else 1.0)
        state = _Full(problem, options, grad, plan, value, gradient,
                      np.min(gradient, axis=1) if gradient.size else np.zeros(0), np.zeros(problem.shape[1]),
                      smoothness, min(1e-4, max(options.inner_tol, 1e-6)), 0, 1, 1, 0, math.inf, value,
                      math.inf)
        return state._replace(gap=self._gap(state)[0], ngev=2)

    @staticmethod
    def _gap(state):
        """(gap, rounded plan): the certified bound <G(R), R> - D >= <G(R), R - Q*> >= F(R) - F*
        (convexity), R the rounded iterate, Q* = argmin_{U(a, b)} <G(R), Q>, D <= <G(R), Q*> the
        value of the potentials (alpha, c-transforms; ``linear_ot_lower_bound``); inf if G(R) is not finite."""
        problem = state.problem
        rounded = round_to_polytope(state.plan, problem.a, problem.b)
        gradient = state.grad(rounded)
        if not np.all(np.isfinite(gradient)):
            return math.inf, rounded
        alpha = np.where(np.isfinite(state.alpha), state.alpha, 0.0)
        if alpha.size and np.max(np.abs(alpha)) > 1e6 * (1.0 + float(np.max(np.abs(gradient)))):
            # potentials far outside the gradient's range: the c-transforms would cancel catastrophically (the
            # bound is exact in exact arithmetic only), so fall back to the row minima of the gradient
            alpha = np.min(gradient, axis=1)
        bound = linear_ot_lower_bound(gradient, problem.a, problem.b, alpha)
        return max(float(np.sum(gradient * rounded)) - bound, 0.0), rounded

    def advance(self, state, nit, k, record):
        from ._numba_kernels import bregman_projection

        problem, options = state.problem, state.options
        a, b = problem.a, problem.b
        gap_tol = _default(options.gap_tol, 1e-6)
        change_tol = _default(options.objective_change_tol, 1e-9)
        records = {name: np.full(k, np.nan) for name in self.records} if record else None
        for done in range(k):
            tol = state.tolerance
            smoothness, inner, nfev = state.smoothness, state.inner, state.nfev
            for _ in range(_BACKTRACKS):
                candidate = np.empty_like(state.plan)
                alpha, beta = state.alpha.copy(), state.beta.copy()
                its, err, gq, kl, gp, gmax = bregman_projection(
                    state.plan, state.gradient, 1.0 / smoothness, a, b, alpha, beta, candidate, tol,
                    options.inner_max_iter)
                inner += its
                overflow = not math.isfinite(err)
                if overflow:  # the kernel P exp(-G / L) under/overflowed: a shorter step
                    smoothness *= 2.0
                    continue
                value = problem.value(candidate)
                nfev += 1
                if not math.isfinite(value):
                    return Advance(state._replace(nfev=nfev, inner=inner), done, CODE_NONFINITE, records)
                slack = 1e-12 * max(1.0, abs(state.value))
                if value <= state.value + (gq - gp) + smoothness * kl + slack:
                    break
                smoothness *= 2.0
            else:  # no accepted step: NUMERICAL_ERROR unless the last try overflowed (finalize explains)
                return Advance(state._replace(nfev=nfev, inner=inner), done,
                               CODE_NONFINITE if overflow else CODE_NUMERICAL_ERROR, records)
            gradient = state.grad(candidate)
            if not np.all(np.isfinite(gradient)):
                return Advance(state._replace(nfev=nfev, inner=inner, ngev=state.ngev + 1), done, CODE_NONFINITE,
                               records)
            state = state._replace(plan=candidate, value=value, gradient=gradient, alpha=alpha, beta=beta,
                                   smoothness=_next_smoothness(smoothness, its, _INNER_TARGET),
                                   tolerance=_next_tolerance(tol, state.value - value, gmax, options),
                                   t=state.t + 1, nfev=nfev, ngev=state.ngev + 1, inner=inner)
            if record:
                _record_full(records, done, value, smoothness, its)
            state, code = self._stopping_test(state, gap_tol, change_tol)
            if code != CONTINUE:
                return Advance(state, done + 1, code, records)
        return Advance(state, k, CONTINUE, records)

    def _stopping_test(self, state, gap_tol, change_tol):
        """(state, code) after iteration t = state.t: every 10 iterations the certified Frank-Wolfe bound at the
        rounded iterate (``CONVERGED``), at t = 10, 20, 40, ... the stagnation fallback (``CONVERGED_INACCURATE``)."""
        options, value = state.options, state.value
        a, b = state.problem.a, state.problem.b
        code = CONTINUE
        if state.t % 10 == 0 or state.t == options.max_iter:
            gap, rounded = self._gap(state)
            state = state._replace(gap=gap, ngev=state.ngev + 1)
            output = rounded if options.rounding else state.plan
            if gap <= gap_tol * max(1.0, abs(value)) and marginal_error(output, a, b) <= options.marginal_tol:
                code = CODE_CONVERGED
        if is_doubling_check(10 * state.t) and code == CONTINUE:
            change = abs(state.checked_value - value) / max(1.0, abs(value))
            state = state._replace(checked_value=value, change=change)
            if change <= change_tol and marginal_error(state.plan, a, b) <= options.marginal_tol:
                # F stagnates but the certified bound is not met: not certified (a step size blown up
                # by an inconsistent gradient stalls F too), so CONVERGED_INACCURATE, not CONVERGED.
                code = CODE_CONVERGED_INACCURATE
        return state, code

    def info(self, state, nit, elapsed):
        problem = state.problem
        plan = round_to_polytope(state.plan, problem.a, problem.b) if state.options.rounding else state.plan
        residuals = {"gap": state.gap} if math.isfinite(state.gap) else {}
        if math.isfinite(state.change):
            residuals["objective_change"] = state.change
        return plan_info(problem, plan, nit, elapsed, **residuals)

    def finalize(self, state, status, info, history):
        extra = {"inner_iterations": state.inner, "smoothness": state.smoothness}
        message = ""
        if status is Status.NUMERICAL_ERROR:
            message = (f"{status.message}: {_BACKTRACKS} backtracking steps on L found no step along which F "
                       "decreased as the gradient predicts (is gradient the gradient of objective?)")
        elif status is Status.CONVERGED_INACCURATE:
            message = (f"{status.message}: F changed by at most objective_change_tol, but the certified "
                       f"Frank-Wolfe bound {state.gap:.3g} is above gap_tol * max(1, |F|) (an entropic optimum "
                       "with entries below the floating-point range loosens the bound; a gradient inconsistent "
                       "with the objective stalls F too)")
        return make_result(info, status, history, result_cls=TransportResult, message=message,
                           counters={"nfev": state.nfev, "ngev": state.ngev},
                           plan=info.x.reshape(state.problem.shape), regularized_objective=info.fun, extra=extra)


def abpg_theta(previous, ratio, exponent):
    """theta_k in (0, 1] solving (1 - theta_k) / theta_k^gamma = ratio / theta_{k-1}^gamma (Hanzely, Richtarik
    & Xiao 2021, with the gain ratio ``ratio`` = M_k / M_{k-1} of their gain-adaptive variant): the root of the
    increasing theta^gamma - c (1 - theta), c = theta_{k-1}^gamma / ratio; closed form for gamma = 1 and 2,
    bisection otherwise."""
    c = previous ** exponent / ratio
    if exponent == 1.0:
        return c / (1.0 + c)
    if exponent == 2.0:
        return 2.0 * c / (c + math.sqrt(c * c + 4.0 * c))  # (-c + sqrt(c^2 + 4c)) / 2 without cancellation
    low, high = 0.0, 1.0
    for _ in range(100):
        mid = 0.5 * (low + high)
        low, high = (mid, high) if mid ** exponent < c * (1.0 - mid) else (low, mid)
    return high


class AcceleratedMirrorSinkhorn(FullMirrorSinkhorn):
    """``acceleration="abpg"``: the accelerated Bregman proximal gradient method (Hanzely, Richtarik & Xiao
    2021, Algorithm ABPG with their gain adaptation) with the entropy on U(a, b), the full KL projection of
    ``bregman_projection`` for the z-step, backtracking on the step constant M = G L, and a monotone restart
    (see the module docstring, "Acceleration")."""

    records = FullMirrorSinkhorn.records + ("theta",)

    def init(self, problem, options):
        state = super().init(problem, options)
        return state._replace(z=state.plan, theta=1.0, accepted=0.0)

    def advance(self, state, nit, k, record):
        from ._numba_kernels import bregman_projection

        problem, options = state.problem, state.options
        a, b = problem.a, problem.b
        exponent = options.acceleration_exponent
        gap_tol = _default(options.gap_tol, 1e-6)
        change_tol = _default(options.objective_change_tol, 1e-9)
        records = {name: np.full(k, np.nan) for name in self.records} if record else None
        for done in range(k):
            tol, x, z = state.tolerance, state.plan, state.z
            smoothness, inner, nfev, ngev = state.smoothness, state.inner, state.nfev, state.ngev
            fresh, restarts = state.accepted == 0.0, state.restarts
            for _ in range(_BACKTRACKS):
                # theta_k from the gain ratio M_k / M_{k-1}; 1 after a (re)start (then y = z = x: a plain step)
                theta = 1.0 if fresh else abpg_theta(state.theta, smoothness / state.accepted, exponent)
                y = z if theta == 1.0 else (1.0 - theta) * x + theta * z
                if y is x:  # (re)start: y = z = x_k, whose F is known
                    value_y = state.value
                else:
                    value_y = problem.value(y)
                    nfev += 1
                gradient = state.grad(y)
                ngev += 1
                if not (math.isfinite(value_y) and np.all(np.isfinite(gradient))):
                    return Advance(state._replace(nfev=nfev, inner=inner, ngev=ngev), done, CODE_NONFINITE, records)
                step = theta ** (exponent - 1.0) * smoothness  # z-step constant theta^(gamma - 1) M
                candidate = np.empty_like(z)
                alpha, beta = state.alpha.copy(), state.beta.copy()
                its, err, gq, kl, gp, gmax = bregman_projection(
                    z, gradient, 1.0 / step, a, b, alpha, beta, candidate, tol, options.inner_max_iter)
                inner += its
                overflow = not math.isfinite(err)
                if overflow:  # the kernel z exp(-G / step) under/overflowed: a shorter step
                    smoothness *= 2.0
                    continue
                if err > tol and not fresh:
                    # Sinkhorn missed the tolerance in inner_max_iter passes: z_k, the sum of long z-steps, has
                    # become too ill-conditioned to project (an unconverged z_{k+1} makes x_{k+1} infeasible and
                    # F at it meaningless: F fell below F*). Restart from x_k: a plain step, accepted like the
                    # plain method's even if its projection misses the tolerance.
                    z, fresh, restarts = x, True, restarts + 1
                    continue
                x_new = candidate if theta == 1.0 else (1.0 - theta) * x + theta * candidate
                value = problem.value(x_new)
                nfev += 1
                if not math.isfinite(value):
                    return Advance(state._replace(nfev=nfev, inner=inner, ngev=ngev), done, CODE_NONFINITE, records)
                # F(x+) <= F(y) + <G, x+ - y> + theta^gamma M KL(z+ | z), with x+ - y = theta (z+ - z)
                slack = 1e-12 * max(1.0, abs(value_y))
                if value <= value_y + theta * (gq - gp) + theta ** exponent * smoothness * kl + slack:
                    break
                smoothness *= 2.0
            else:
                return Advance(state._replace(nfev=nfev, inner=inner, ngev=ngev), done,
                               CODE_NONFINITE if overflow else CODE_NUMERICAL_ERROR, records)
            next_smoothness = _next_smoothness(smoothness, its, _ABPG_TARGET)
            tolerance = _next_tolerance(tol, state.value - value, gmax, options)
            if theta < 1.0 and value > state.value + 1e-12 * max(1.0, abs(state.value)):
                # safeguard (ours): F increased, so the step is rejected and the method restarts from x_k
                # (z = x_k, theta = 1); the next step is a plain Bregman proximal gradient step, accepted as the
                # plain method's is (a descent step up to the projections' tolerance)
                state = state._replace(z=x, theta=1.0, accepted=0.0, smoothness=next_smoothness, tolerance=tolerance,
                                       alpha=alpha, beta=beta, t=state.t + 1, nfev=nfev, ngev=ngev, inner=inner,
                                       restarts=restarts + 1)
            else:
                state = state._replace(plan=x_new, value=value, z=candidate, theta=theta, accepted=smoothness,
                                       gradient=gradient, alpha=alpha, beta=beta,
                                       smoothness=next_smoothness, tolerance=tolerance, t=state.t + 1, nfev=nfev,
                                       ngev=ngev, inner=inner, restarts=restarts)
            if record:
                _record_full(records, done, state.value, smoothness, its)
                records["theta"][done] = theta
            state, code = self._stopping_test(state, gap_tol, change_tol)
            if code != CONTINUE:
                return Advance(state, done + 1, code, records)
        return Advance(state, k, CONTINUE, records)

    def finalize(self, state, status, info, history):
        result = super().finalize(state, status, info, history)
        result.extra["restarts"] = state.restarts
        return result


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
