"""``admm-qp``: OSQP-style ADMM for convex QPs, with infeasibility certificates.

Solves :class:`~mathopt.feasibility.problem.QP` by iterating the operator :math:`T` of
:mod:`mathopt.feasibility.admm_operator` (OSQP [1]_, Algorithm 1: relaxation ``relaxation``
= :math:`\\alpha`, proximal weight ``sigma``, Ruiz scaling, one cached sparse LU of the KKT
matrix per penalty value, OSQP's penalty adaptation with refactorization) from
:math:`x = 0, v = 0`:

.. math::

   s_{k+1} = T s_k \\qquad\\text{(admm-qp)},\\qquad
   s_{k+1} = \\tfrac{1}{j+2} s_{a} + \\tfrac{j+1}{j+2} T s_k \\qquad\\text{(halpern-admm)},

with :math:`s_a` the anchor and :math:`j` the iterations since it was set (see
:mod:`mathopt.feasibility.halpern_admm`). Every ``check_interval`` iterations the point
:math:`T s_k` is tested for convergence (the three residuals ``feasibility``,
``stationarity``, ``gap``: absolute tolerance ``R_tol`` plus ``rel_tol`` times the scale of
the residual) and the difference :math:`T s_k - s_k`, an estimate of minus the infimal
displacement vector, for primal or dual infeasibility (Banjac et al. [2]_); the status is
``CONVERGED``, ``PRIMAL_INFEASIBLE`` or ``DUAL_INFEASIBLE`` with the certificate in
``result.certificate``.

Deviations from OSQP: the penalty is adapted at iterations ``penalty_interval * 2^j``
rather than at an interval set by the measured factorization time, so runs are
reproducible and a large problem is refactored at most ``log2(max_iter / penalty_interval)``
times (option ``penalty_schedule="averaged"``, the default of ``admm-qp-aa``: at every test, with the
geometric mean of OSQP's factors since the last change, after SCS 3's adaptive scale), and (option ``penalty_reset_fraction``) set back to ``penalty`` and fixed at 10 % of
``max_iter`` when it drifted by more than a factor 10 on a run that is not primal feasible yet and
whose multipliers keep growing (option ``penalty_reset_growth``);
the default tolerances are 1e-6 (OSQP: 1e-3); an infeasibility candidate is also
polished into an exact Farkas vector (projection, then NNLS on its support:
:func:`~mathopt.feasibility.admm_operator.polished_primal_certificate`), which OSQP does not do;
and OSQP's solution polishing is also tried during the run (option ``polish``, at the
certificate-polishing tests, on a point within 1e3 of the tolerances:
:func:`~mathopt.feasibility.solver.early_solution`), which ends the run ``CONVERGED`` when the polished
point meets the tolerances (OSQP polishes only after its own test; with the default options this
took ``admm-qp`` from 9 of 24 small random LPs at MAX_ITER to none, ``docs/feasibility.md``).

Option ``acceleration="anderson"`` (method ``admm-qp-aa`` has it by default; own addition, after SCS 3
[3]_, [4]_): safeguarded Anderson acceleration of T in the kernel :mod:`mathopt.feasibility._anderson_kernel`
(type II by default, memory 10, mixing every 5 iterations, an Anderson point kept only if its
fixed-point residual is at most that of the point it replaces; the memory is emptied when rho changes;
the penalty reset of ``penalty_reset_fraction`` is provisional until the acceleration stops).
Infeasibility verdicts are taken from plain iterations only: the first verdict of an accelerated run
switches the acceleration off and restarts the plain iteration from s = 0 (:func:`_plain_from_start`),
and the penalty freeze (option ``freeze_penalty``) looks at plain iterations only, so rho adapts
while the acceleration runs (frozen by the accelerated differences, QSHARE2B was not solved);
see :class:`~mathopt.feasibility.options.AndersonOptions` and docs/feasibility.md for the measured choices.

The loop (option ``loop="compiled"``, the default) is a Numba kernel
(:mod:`mathopt.feasibility._admm_kernel`) that runs the iterations between two termination tests
or penalty updates: the KKT matrix is factored in Python (once per value of rho; QDLDL's LDL',
:func:`admm_operator.quasidefinite_factor`) and
its triangular factors are solved inside the kernel, so an iteration costs the two sparse
triangular solves and a few vector loops, with no Python overhead. The tests (every
``check_interval`` iterations), the certificate polishing and the penalty update stay in Python.
``loop="python"`` is the NumPy reference of the same iteration (one ``apply_operator`` call per
iteration), kept as the readable specification the compiled loop is tested against.

References [1]_ (OSQP, Stellato et al. 2020) and [2]_ (Banjac et al. 2019): see
:mod:`mathopt.feasibility.admm_operator`.

.. [3] J. Zhang, B. O'Donoghue, S. Boyd, "Globally convergent type-I Anderson acceleration for
   nonsmooth fixed-point iterations", SIAM J. Optim. 30 (2020).
.. [4] B. O'Donoghue, "Operator splitting for a homogeneous embedding of the linear complementarity
   problem", SIAM J. Optim. 31 (2021).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from ..core.driver import Advance, run
from ..core.options import OptionError, check_bool, check_choice, check_fraction, check_int, check_number, check_positive
from ..core.problem import all_finite
from ..core.registry import register
from ..core.status import CODE_CONVERGED, CODE_DUAL_INFEASIBLE, CODE_NONFINITE, CODE_PRIMAL_INFEASIBLE, CONTINUE
from . import admm_operator as op
from .fixed_point import halpern_point
from .options import ANDERSON_MAX_WEIGHT, AndersonOptions, QPOptions
from .problem import QP, QPResult
from .solver import CertifyingSolver, early_solution, initial_code, polish_scheduled, termination_test

#: Values of the option ``penalty_schedule``.
PENALTY_SCHEDULES = ("doubling", "averaged")
#: Values of the option ``penalty_balance``.
PENALTY_BALANCES = ("residuals", "gap")
#: Verdicts that an accelerated run does not take (see option ``acceleration``).
INFEASIBLE_CODES = (CODE_PRIMAL_INFEASIBLE, CODE_DUAL_INFEASIBLE)
#: Values of the option ``loop``.
LOOPS = ("compiled", "python")


@dataclass(frozen=True)
class ADMMOptions(QPOptions):
    """Options of ``admm-qp``.

    Parameters
    ----------
    max_iter : int, default 10000
        Maximum number of ADMM iterations (applications of the operator).
    penalty : float, default 0.1
        Initial ADMM penalty rho (inequality rows; 1e3 rho on equality rows).
    penalty_interval : int, default 25
        With ``penalty_schedule="doubling"``: adapt rho (OSQP's rule; refactor when it changes by more
        than the factor ``penalty_change``) at iterations ``penalty_interval * 2^j``, j = 0, 1, ...;
        with ``"averaged"``: the least number of iterations between two changes of rho. 0 keeps rho fixed.
    penalty_schedule : {"doubling", "averaged"}, default "doubling"
        ``"doubling"``: OSQP's rule rho <- rho sqrt(r_p / r_d) (relative primal and dual residuals,
        :func:`~mathopt.feasibility.admm_operator.adapted_penalty`) at the iterations above, so at most
        log2(max_iter / penalty_interval) refactorizations. ``"averaged"`` (after SCS 3's adaptive
        ``scale``): at every termination test the factor sqrt(r_p / r_d) is recorded, and at a test at
        least ``penalty_interval`` iterations after the last change rho is multiplied by the geometric
        mean of the factors recorded since that change when the mean is beyond ``penalty_change``; the
        record starts again at each change. A change also waits until 0.4 times the time of the last
        factorization has passed since it ended, when that factorization took over 0.05 s (OSQP's
        ``adaptive_rho_fraction``; :func:`_refactor_waits`). Our rule differs from SCS's in the operator (OSQP's, not
        the homogeneous embedding), the threshold (``penalty_change``) and the interval (a multiple of
        ``check_interval``, the tests being where the residuals are computed).
    penalty_balance : {"residuals", "gap"}, default "residuals"
        What the penalty rule balances. ``"residuals"``: OSQP's relative primal and dual residuals,
        rho sqrt(r_p / r_d) (:func:`~mathopt.feasibility.admm_operator.adapted_penalty`). ``"gap"`` (own
        rule): the primal and dual errors of the termination test, each with its term of the duality gap
        (gap = x'(Px + q + A'y) - y'(Ax - z) at an iterate), relative to their tolerances
        (:func:`~mathopt.feasibility.admm_operator.gap_balanced_penalty`); OSQP's residuals meet their
        tolerances long before the gap on LP-like QPs (QFORPLAN, QCAPRI), where the rule then stops moving
        rho. Measured with ``admm-qp-aa`` (1e5 iterations): solves QCAPRI, QFORPLAN, QSEBA and QGFRDXPN, which
        "residuals" does not, loses QSCFXM2; certifies the infeasible Netlib LPs as often and earlier; a
        polished certificate of its accelerated phase ends feasible QPCBOEI2 PRIMAL_INFEASIBLE
        (docs/feasibility.md, "LP-like QPs, continued"). ``admm-qp-aa`` defaults to "gap" (with
        ``penalty_window=8``): 114 of the 137 Maros-Meszaros QPs at 10 s against 107 with "residuals"
        (docs/feasibility.md, "Benchmark: Maros-Meszaros QPs, all 137"); ``admm-qp`` and
        ``halpern-admm`` keep "residuals".
    penalty_window : int, default 0
        With ``penalty_schedule="averaged"``: the most factors the record holds (0: no limit, every test
        since the last change of rho). When the record is full, its sum is scaled to ``penalty_window - 1``
        terms of its mean before the new factor is added (exponential forgetting with weight
        1 / ``penalty_window``). Own addition: without it, a record of hundreds of tests at one wish delays
        a new one by as many tests (QBORE3D: rho at its floor 1e-6 from iteration 250 to about 20 000
        while the rule asked for 400-570 from 15 500; docs/feasibility.md, "LP-like QPs, continued"). With
        ``penalty_balance="gap"`` and 8, QSCFXM2 is solved again and QFORPLAN, QSEBA, QGFRDXPN, QSCFXM3 take about
        half the iterations; QCAPRI (at 1e5 iterations; solved at 10 s after the faster kernel of
        session 27), QPCBOEI2 (false certificate) and reactor (infeasible) are lost. 8 with
        ``admm-qp-aa`` (see ``penalty_balance``), 0 with the other methods.
    penalty_change : float, default 5.0
        The factor of change of the wanted rho that triggers a refactorization (> 1; OSQP: 5; SCS 3:
        sqrt(10)).
    sigma : float, default 1e-06
        Proximal weight on x (regularizes the KKT matrix).
    relaxation : float, default 1.6
        Relaxation alpha in (0, 2].
    freeze_penalty : bool, default True
        Skip a penalty update while the difference of the dual iterates looks like a Farkas vector
        (:func:`~mathopt.feasibility.admm_operator.farkas_candidate`): OSQP's rule balances primal
        and dual residuals, which an infeasible problem never balances, and each change of rho
        changes the operator whose displacement the test estimates.
    penalty_reset_fraction : float, default 0.1
        At the first test at or after this fraction of ``max_iter`` without a verdict, if the adapted
        rho is more than a factor ``PENALTY_DRIFT`` = 10 away from ``penalty``, the point does not
        meet the ``feasibility`` tolerance and the multipliers keep growing (``penalty_reset_growth``),
        set rho back to ``penalty`` (with its refactorization and a re-anchoring) and stop adapting it;
        0 never does. While the acceleration runs (``acceleration="anderson"``) the reset is provisional:
        rho is set back and held up to iteration 2 R (R the reset iteration), then adapts again; it is
        set back and fixed for good at the first infeasibility verdict, when the plain iteration starts
        again (:func:`_plain_from_start`); a final reset there had fixed a wrong rho for 90 % of the budget on feasible QSHARE1B, QSCAGR7 and QSTAIR, whose
        accelerated multipliers pass the growth test (docs/feasibility.md, "LP-like QPs"). The rule is for primal infeasibility, where
        ||Ax - z||_inf stays above the distance from the range of A to [l, u] (> 0): a run whose
        primal residual already meets its tolerance (DUALC1 at iteration 1 000, 1e-10) keeps OSQP's
        rule. On an infeasible problem OSQP's rule drifts rho by decades (greenbea: 0.1 to 3e-6 by
        iteration 400, where the difference sequence has not given a certificate in 1e5 iterations;
        with rho fixed at any value in [1e-4, 100] it is certified by iteration 1 600), so the rest of
        the budget iterates one fixed operator of moderate penalty, whose displacement the test
        estimates. A solvable problem that converges before this fraction, or whose rho stayed
        within the factor 10, is not affected (without that condition QSHARE2B, whose rho is still
        0.1 at iteration 10 000, lost the later adaptations with which ``admm-qp`` solves it). The
        factor 10 is measured, not derived: with 100, gosh (rho 0.1 -> 1.2e-3, a factor 85) is not
        reset, and without a reset it was not certified in the 67 000 iterations a 600 s run reached
        (nor in 30 000 here, ||A'y||_inf still 0.1); with 10 ``halpern-admm`` certifies it at 77 050.
    penalty_reset_growth : float, default 0.5
        The reset's infeasibility evidence: with R the reset test and y the unscaled multipliers, the
        mean change per iteration ||y_R - y_{R/2}||_inf / (R/2) must be at least this fraction of
        ||y_{R/2} - y_{R/4}||_inf / (R/4) (tests nearest R/4 and R/2; :func:`_dual_growth`). On a primal
        infeasible problem y_k grows like k dy* (dy* != 0, the dual block of the infimal displacement;
        Banjac et al.), a ratio near 1; on a feasible one y_k converges, and y_k - y* ~ k^-p gives
        2^-(p+1) < 1/2 for every p > 0. Rule of thumb, measured at R = 10 000 (1e5 iterations):
        PRIMALC5 (feasible, rho drifted 0.1 -> 1e-6) 0.34 for both ADMM methods, so it is not reset and
        is solved; greenbea 1.62 / 0.81 (``admm-qp`` / ``halpern-admm``) and gosh 0.75 / 0.91 are reset
        and certified as before. The cost: on reactor (0.14 / 0.17) and refinery (``halpern-admm``,
        0.35), infeasible, the multipliers under the drifted rho still look converging at R, so they
        are not reset and are certified later (reactor ``admm-qp`` 31 575 instead of 10 350, refinery
        ``halpern-admm`` 61 650 instead of 12 925). 0: the reset without this condition (the rule
        before 2026-12-02).
    polish_interval : int, default 25
        Try certificate polishing (:func:`~mathopt.feasibility.admm_operator.polished_primal_certificate`)
        when the primal-infeasibility test fails, at the first test at or after each iteration
        ``polish_interval * polish_growth^j``, j = 0, 1, ...; 0 never polishes.
    polish_growth : float, default 1.25
        Ratio of successive polishing iterations (> 1): every test up to iteration 150 (with
        ``check_interval=25``), then 25 % apart, so the iteration at which a run is certified is
        known to within 25 % (with 2, the doubling of ``pdhg-lp``, two methods certified at the first
        polishing at iteration 100 could not be told apart) at the cost of about 35 polishings in 1e5
        iterations.
    polish_budget : float, default 0.2
        The share of the run's time that polishing may take (certificate polishing and the early
        solution polishing of :func:`~mathopt.feasibility.solver.early_solution`, which come at the same
        tests): once the tries have taken more than ``POLISH_BUDGET_FLOOR`` = 1 s in all, a scheduled try
        is put off while their time exceeds this fraction of the time since the start of the run, and
        made at the first test where it no longer does. In [0, 1]: 1 never puts a try off, 0 makes no
        more tries once they have taken 1 s. Our addition
        (like OSQP's ``adaptive_rho_fraction``, a rule on measured time): on feasible problems every try
        fails, and tries took 92 % of a 10 s QSTAIR run and 57 % of AUG2DQP's (docs/feasibility.md,
        "Polishing budget"); on the Netlib infeasible LPs they took under 1.2 s of a run, so the rule
        does not change when those are certified. Being a rule on time, it makes the iteration
        of a verdict depend on the machine's speed once tries have taken 1 s; 1 restores the
        schedule alone.
    loop : {"compiled", "python"}, default "compiled"
        ``"compiled"``: the iterations between two tests run in a Numba kernel
        (:mod:`mathopt.feasibility._admm_kernel`, the two triangular solves with the KKT
        factors included); ``"python"``: one NumPy application of the operator (the factor's solve) per
        iteration (:func:`~mathopt.feasibility.admm_operator.apply_operator`), the readable
        reference the compiled loop is tested against (same iterates up to rounding).
    """

    max_iter: int = 10000
    penalty: float = 0.1
    penalty_interval: int = 25
    penalty_schedule: str = "doubling"
    penalty_balance: str = "residuals"
    penalty_window: int = 0
    penalty_change: float = 5.0
    sigma: float = 1e-6
    relaxation: float = 1.6
    freeze_penalty: bool = True
    penalty_reset_fraction: float = 0.1
    penalty_reset_growth: float = 0.5
    polish_interval: int = 25
    polish_growth: float = 1.25
    polish_budget: float = 0.2
    loop: str = "compiled"

    def __post_init__(self):
        super().__post_init__()
        for name in ("penalty", "sigma", "relaxation"):
            check_positive(self, name, allow_inf=False)
        if self.relaxation > 2.0:
            raise OptionError(f"relaxation must be in (0, 2], got {self.relaxation!r}")
        check_int(self, "penalty_interval", minimum=0)
        check_choice(self, "penalty_schedule", PENALTY_SCHEDULES)
        check_choice(self, "penalty_balance", PENALTY_BALANCES)
        check_int(self, "penalty_window", minimum=0)
        change = check_number(self, "penalty_change")
        if not 1.0 < change < math.inf:
            raise OptionError(f"penalty_change must be > 1 and finite, got {change!r}")
        check_bool(self, "freeze_penalty")
        check_fraction(self, "penalty_reset_fraction", closed=True)
        check_positive(self, "penalty_reset_growth", strict=False, allow_inf=False)
        growth = check_number(self, "polish_growth")
        if not growth > 1.0:
            raise OptionError(f"polish_growth must be > 1, got {growth!r}")
        check_fraction(self, "polish_budget", closed=True)
        check_choice(self, "loop", LOOPS)


@dataclass(frozen=True)
class AdmmQPOptions(ADMMOptions, AndersonOptions):
    """Options of ``admm-qp``: those of :class:`ADMMOptions` and the Anderson acceleration of
    :class:`~mathopt.feasibility.options.AndersonOptions` (compiled loop only)."""

    def __post_init__(self):
        super().__post_init__()
        if self.acceleration != "none" and self.loop != "compiled":
            raise OptionError(f"acceleration={self.acceleration!r} needs loop='compiled', got loop={self.loop!r}")


class AndersonMemory(NamedTuple):
    """The state of the Anderson acceleration carried between kernel calls
    (:func:`_anderson_kernel.anderson_iterations`); a new one (empty memory) after each change of rho."""

    steps: np.ndarray             # memory x (n + m): s_{i+1} - s_i
    changes: np.ndarray           # memory x (n + m): g_{i+1} - g_i
    previous_point: np.ndarray    # s_k of the last plain evaluation
    previous_residual: np.ndarray # g(s_k)
    saved_image: np.ndarray       # T(s_k) while an Anderson point waits for its safeguard test
    saved_norm: np.ndarray        # ||g(s_k)||_W, same
    counters: np.ndarray          # the slots of _anderson_kernel (COUNT ... REJECTED)

    @classmethod
    def empty(cls, memory: int, size: int, accepted: int = 0, rejected: int = 0) -> "AndersonMemory":
        from ._anderson_kernel import ACCEPTED, REJECTED

        counters = np.zeros(7, dtype=np.int64)
        counters[ACCEPTED], counters[REJECTED] = accepted, rejected
        return cls(np.zeros((memory, size)), np.zeros((memory, size)), np.zeros(size), np.zeros(size),
                   np.zeros(size), np.zeros(1), counters)

    def copy(self) -> "AndersonMemory":
        return AndersonMemory(*(a.copy() for a in self))

    def counts(self) -> tuple[int, int]:
        """(accepted, rejected) Anderson points so far."""
        from ._anderson_kernel import ACCEPTED, REJECTED

        return int(self.counters[ACCEPTED]), int(self.counters[REJECTED])

    def restarted(self) -> "AndersonMemory":
        """An empty memory (the operator changed) that keeps the accepted/rejected counts."""
        from ._anderson_kernel import ACCEPTED, REJECTED

        return AndersonMemory.empty(self.steps.shape[0], self.steps.shape[1], int(self.counters[ACCEPTED]),
                                    int(self.counters[REJECTED]))


def _uses_anderson(options) -> bool:
    return getattr(options, "acceleration", "none") == "anderson"


class Setup(NamedTuple):
    """What does not change during a run."""

    problem: QP
    scaled: op.ScaledQP
    options: Any
    halpern: bool
    restart_decay: float
    restart_fraction: float
    started: float = 0.0        # time.perf_counter() at init (option polish_budget)


class State(NamedTuple):
    setup: Setup
    iteration: int
    x: np.ndarray               # the iterate s = (x, v), scaled
    v: np.ndarray
    image: op.Image             # T at the previous iterate (the reported point)
    penalty: float
    rho: np.ndarray
    factor: Any
    anchor_x: np.ndarray        # Halpern anchor
    anchor_v: np.ndarray
    since_anchor: int
    anchor_residual: float
    code: int                   # status code of the last termination test
    certificate: np.ndarray | None
    refactorizations: int
    restarts: int
    penalty_reset: bool         # rho was set back to ``penalty`` (option penalty_reset_fraction): no more adaptation
    polished_point: op.Unscaled | None = None   # the polished solution that ended the run (solver.early_solution)
    y_snapshots: tuple = ()     # (iteration, unscaled y) at the tests of _snapshot_iterations, for _dual_growth
    anderson: AndersonMemory | None = None   # option acceleration="anderson"; None once switched off
    anderson_stopped: int = -1               # iteration at which an infeasibility verdict switched it off
    anderson_counts: tuple = (0, 0)          # (accepted, rejected) Anderson points before that
    penalty_log_sum: float = 0.0             # penalty_schedule="averaged": sum of log(wanted / rho) since the
    penalty_log_count: int = 0               # last change of rho, the number of terms,
    penalty_since: int = 0                   # and the iteration of that change
    reset_pending: bool = False              # a penalty reset made while accelerated (rho still adapts)
    polish_seconds: float = 0.0              # time of the tests with polishing tries so far (option polish_budget)
    polish_owed: bool = False                # a scheduled try was put off by polish_budget


def _weighted_norm(setup: Setup, rho: np.ndarray, dx: np.ndarray, dv: np.ndarray) -> float:
    """The norm sqrt(sigma ||dx||^2 + ||dv||_rho^2) in which T is nonexpansive."""
    return float(np.sqrt(setup.options.sigma * op.dot(dx, dx) + op.dot(dv, rho * dv)))


def _adapts_at(iteration: int, options) -> bool:
    """An iteration at which the penalty rule looks at the residuals: ``penalty_interval * 2^j`` (schedule
    "doubling", at most log2(max_iter / penalty_interval) refactorizations) or every test ("averaged")."""
    interval = options.penalty_interval
    if not interval:
        return False
    if options.penalty_schedule == "averaged":
        return iteration % options.check_interval == 0
    if iteration % interval:
        return False
    blocks = iteration // interval
    return blocks & (blocks - 1) == 0


class Factor(NamedTuple):
    """The factorization of the KKT matrix (:func:`admm_operator.quasidefinite_factor`) and, for the
    compiled loop, its triangular factors; ``seconds`` it took and ``done`` (``time.perf_counter()``
    when it ended), for :func:`_refactor_waits`."""

    lu: Any
    triangular: Any
    seconds: float = 0.0
    done: float = 0.0


def _factor(setup: Setup, rho: np.ndarray) -> Factor:
    start = time.perf_counter()
    lu = op.factor_kkt(setup.scaled, setup.options.sigma, rho)
    triangular = None
    if setup.options.loop != "python":
        from ._admm_kernel import triangular_factors

        triangular = triangular_factors(lu)
    done = time.perf_counter()
    return Factor(lu, triangular, done - start, done)


#: :func:`_refactor_waits`: OSQP's ``adaptive_rho_fraction`` (its default), and the factorization time
#: under which the rule does not act (so that runs with cheap factorizations do not depend on timing).
REFACTOR_FRACTION = 0.4
REFACTOR_FLOOR = 0.05


def _refactor_waits(state: State) -> bool:
    """True while the time since the last factorization of the KKT matrix is below ``REFACTOR_FRACTION``
    times that factorization's time (when it took more than ``REFACTOR_FLOOR`` seconds): OSQP's rule for
    its automatic ``adaptive_rho_interval`` (the iterations between two updates of rho take 0.4 times the
    setup's factorization time), so that expensive refactorizations take at most about 70 % of a run.
    Used by the "averaged" schedule, whose changes could otherwise come every ``penalty_interval``
    iterations (CVXQP2_L: 1.5-2 s per factorization, two changes in the first 100 iterations of 10 s runs)."""
    factor = state.factor
    return factor.seconds > REFACTOR_FLOOR and time.perf_counter() - factor.done < REFACTOR_FRACTION * factor.seconds


def _is_event(iteration: int, options) -> bool:
    """An iteration followed by a termination test or a penalty update."""
    return iteration % options.check_interval == 0 or _adapts_at(iteration, options)


def _next_event(iteration: int, options) -> int:
    """The first iteration after ``iteration`` with a termination test or a penalty update."""
    event = (iteration // options.check_interval + 1) * options.check_interval
    interval = options.penalty_interval
    if interval and options.penalty_schedule == "doubling":  # "averaged" adapts at the tests only
        block = max(iteration // interval + 1, 1)
        power = 1 << (block - 1).bit_length()  # the least power of 2 >= block
        event = min(event, interval * power)
    return event


def _reset_iteration(options) -> int:
    """The test iteration at which the penalty returns to ``penalty`` and stops adapting (option
    ``penalty_reset_fraction``): the first multiple of ``check_interval`` at or after that fraction of
    ``max_iter``; beyond ``max_iter`` when the option is 0."""
    fraction = options.penalty_reset_fraction
    if not fraction or not options.penalty_interval:
        return options.max_iter + 1
    checks = math.ceil(fraction * options.max_iter / options.check_interval)
    return max(checks, 1) * options.check_interval


def _resets_at(iteration: int, options) -> bool:
    return iteration == _reset_iteration(options)


def _holds_reset(state) -> bool:
    """A provisional reset (made while accelerated) holds rho at ``penalty`` up to twice the reset
    iteration R: long enough for an infeasible run to give its verdict under the moderate rho (greenbea:
    350 iterations after R), after which a feasible run adapts again."""
    return state.reset_pending and state.iteration < 2 * _reset_iteration(state.setup.options)


def _snapshot_iterations(options) -> tuple[int, int]:
    """The tests nearest a quarter and a half of the reset iteration R (multiples of ``check_interval``,
    0 allowed: y = 0 there), where :func:`_dual_growth` takes the multipliers."""
    reset, interval = _reset_iteration(options), options.check_interval
    return (int(math.floor(reset / 4 / interval + 0.5)) * interval,
            int(math.floor(reset / 2 / interval + 0.5)) * interval)


def _dual_growth(snapshots: tuple, iteration: int, y: np.ndarray) -> float:
    """The mean change of the multipliers per iteration over [R/2, R] divided by that over [R/4, R/2],
    in the infinity norm (unscaled y; R = ``iteration``, the reset test; see option
    ``penalty_reset_growth``). inf when y did not move over [R/4, R/2] but did afterwards, 0 when it
    moved in neither, nan when a snapshot is missing or a window is empty."""
    if len(snapshots) != 2:
        return math.nan
    (k1, y1), (k2, y2) = snapshots
    if not 0 <= k1 < k2 < iteration:
        return math.nan
    late = float(np.max(np.abs(y - y2), initial=0.0)) / (iteration - k2)
    early = float(np.max(np.abs(y2 - y1), initial=0.0)) / (k2 - k1)
    if early == 0.0:
        return math.inf if late > 0.0 else 0.0
    return late / early


#: :func:`_drifted`: the factor between the adapted and the initial penalty above which the reset applies.
PENALTY_DRIFT = 10.0


def _drifted(penalty: float, initial: float) -> bool:
    """True when the adapted penalty is more than :data:`PENALTY_DRIFT` away from the initial one."""
    return max(penalty / initial, initial / penalty) > PENALTY_DRIFT


def _primal_feasible(setup: Setup, image: op.Image) -> bool:
    """Whether the reported point meets the ``feasibility`` tolerance (||Ax - z||_inf, unscaled)."""
    point = op.unscale(setup.scaled, image.x, image.z, image.y)
    values, scales = op.residuals(setup.problem, point)
    return values["feasibility"] <= setup.options.feasibility_tol + setup.options.rel_tol * scales["feasibility"]


def _change_penalty(state: State, penalty: float) -> State:
    """A new rho with its refactorization: keeps (z, y), sets the new v = z + y / rho and re-anchors."""
    setup, v = state.setup, state.v
    new_rho = op.rho_vector(setup.scaled, penalty)
    z = np.clip(v, setup.scaled.l, setup.scaled.u)
    v = z + (state.rho / new_rho) * (v - z)   # same (z, y), new v = z + y / rho
    anderson = state.anderson.restarted() if state.anderson is not None else None  # a new T: new memory
    return state._replace(v=v, penalty=penalty, rho=new_rho, factor=_factor(setup, new_rho),
                          refactorizations=state.refactorizations + 1,
                          anchor_x=state.x, anchor_v=v, since_anchor=0, anderson=anderson,  # a new T: re-anchor
                          penalty_log_sum=0.0, penalty_log_count=0, penalty_since=state.iteration)


def _wanted_penalty(setup: Setup, image: op.Image, penalty: float) -> float:
    """The penalty the rule asks for at ``image`` (option ``penalty_balance``)."""
    options = setup.options
    if options.penalty_balance == "gap":
        return op.gap_balanced_penalty(setup.problem, setup.scaled, image, penalty, options.residual_tolerances(),
                                       options.rel_tol)
    return op.adapted_penalty(setup.scaled, image, penalty)


def _averaged_penalty(state: State, wanted: float) -> State:
    """Option ``penalty_schedule="averaged"``: record log(wanted / rho) (at most ``penalty_window`` terms
    when that is set); at least ``penalty_interval`` iterations after the last change, change rho by the
    geometric mean of the recorded factors when it is beyond ``penalty_change``."""
    options = state.setup.options
    total, count = state.penalty_log_sum, state.penalty_log_count
    if options.penalty_window and count >= options.penalty_window:  # a full record: forget (option penalty_window)
        total, count = total * (options.penalty_window - 1) / count, options.penalty_window - 1
    total, count = total + math.log(wanted / state.penalty), count + 1
    state = state._replace(penalty_log_sum=total, penalty_log_count=count)
    if state.iteration - state.penalty_since < options.penalty_interval or _refactor_waits(state):
        return state
    factor = math.exp(total / count)
    if factor > options.penalty_change or factor < 1.0 / options.penalty_change:
        return _change_penalty(state, float(np.clip(state.penalty * factor, op.RHO_MIN, op.RHO_MAX)))
    return state


def _plain_from_start(state: State, iteration: int) -> State:
    """An infeasibility verdict of an accelerated run is not taken: the acceleration is switched off and
    the plain iteration starts again from s = 0 (with the current rho), so that every certificate comes
    from a plain sequence from the standard start, the sequence Banjac et al.'s result is about (from the
    accelerated point, plain iterations certified the feasible QPCBOEI2: docs/feasibility.md). A penalty
    reset made while accelerated (``reset_pending``) becomes final here: rho back to ``penalty``, fixed."""
    if state.reset_pending:
        penalty = state.setup.options.penalty
        state = (_change_penalty(state, penalty) if state.penalty != penalty else state)._replace(penalty_reset=True)
    x, v = np.zeros_like(state.x), np.zeros_like(state.v)
    return state._replace(code=CONTINUE, certificate=None, x=x, v=v, anchor_x=x, anchor_v=v, since_anchor=0,
                          anderson=None, anderson_stopped=iteration, anderson_counts=state.anderson.counts())


#: Option ``polish_budget`` acts once the polishing tries of a run have taken this many seconds.
POLISH_BUDGET_FLOOR = 1.0


def _polish_now(state: State) -> tuple[State, bool]:
    """(state, whether the test at ``state.iteration`` tries polishing): at the tests of the schedule
    (:func:`~mathopt.feasibility.solver.polish_scheduled`) and at the first test after a try that
    ``polish_budget`` put off, unless the tries so far took more than ``POLISH_BUDGET_FLOOR`` seconds
    and more than the budget's share of the time since the start of the run."""
    options = state.setup.options
    owed = state.polish_owed or polish_scheduled(options, state.iteration)
    if not owed:
        return state, False
    spent = state.polish_seconds
    if spent > POLISH_BUDGET_FLOOR and spent > options.polish_budget * (time.perf_counter() - state.setup.started):
        return state._replace(polish_owed=True), False
    return state._replace(polish_owed=False), True


class ADMMSolver(CertifyingSolver):
    """OSQP-style ADMM (plain or Halpern-anchored) on the core driver."""

    def init(self, problem: QP, options) -> State:
        started = time.perf_counter()
        scaled = op.scale_problem(problem, options.scaling)
        setup = Setup(problem, scaled, options, self.halpern, float(getattr(options, "restart_decay", 0.0)),
                      float(getattr(options, "restart_fraction", 0.0)), started)
        rho = op.rho_vector(scaled, options.penalty)
        x, v = np.zeros(problem.n), np.zeros(problem.m)
        z = np.clip(v, scaled.l, scaled.u)
        y = rho * (v - z)
        image = op.Image(x=x, v=v, z=z, y=y, dx=np.zeros_like(x), dv=np.zeros_like(v), dy=np.zeros_like(y))
        code = initial_code(setup, image)
        anderson = (AndersonMemory.empty(options.anderson_memory, problem.n + problem.m)
                    if _uses_anderson(options) else None)
        return State(setup=setup, iteration=0, x=x, v=v, image=image, penalty=options.penalty, rho=rho,
                     factor=_factor(setup, rho), anchor_x=x, anchor_v=v,
                     since_anchor=0, anchor_residual=np.inf, code=code, certificate=None,
                     refactorizations=1, restarts=0, penalty_reset=False, anderson=anderson)

    def advance(self, state: State, nit: int, k: int, record: bool) -> Advance:
        if state.setup.options.loop == "python":
            return self._advance_python(state, k)
        return self._advance_compiled(state, k)

    def _advance_python(self, state: State, k: int) -> Advance:
        """The reference loop: one :func:`admm_operator.apply_operator` per iteration."""
        done = 0
        for _ in range(k):
            new = self._iterate(state)
            if new is None:
                return Advance(state, done, CODE_NONFINITE)
            state, done = new, done + 1
            if state.code != CONTINUE:
                break
        return Advance(state, done, state.code)

    def _advance_compiled(self, state: State, k: int) -> Advance:
        """Numba kernel calls (:func:`_admm_kernel.admm_iterations`) up to each iteration with a
        termination test or penalty update, which run here in Python (:meth:`_event`). The kernel
        works in place on copies made here, so ``state`` is left as it was."""
        from ._admm_kernel import admm_iterations

        setup, options = state.setup, state.setup.options
        scaled = setup.scaled
        x, v = state.x.copy(), state.v.copy()
        anchor_x, anchor_v = state.anchor_x.copy(), state.anchor_v.copy()
        n, m = x.shape[0], v.shape[0]
        image = op.Image(x=np.empty(n), v=np.empty(m), z=np.empty(m), y=np.empty(m),
                         dx=np.empty(n), dv=np.empty(m), dy=np.empty(m))
        anderson = state.anderson.copy() if state.anderson is not None else None
        done = 0
        while done < k:
            steps = min(k - done, _next_event(state.iteration, options) - state.iteration)
            if anderson is not None:
                count = self._anderson_kernel(state, x, v, image, anderson, steps)
                since, anchor_residual, restarts = state.since_anchor, state.anchor_residual, 0
            else:
                count, since, anchor_residual, restarts = admm_iterations(
                    *state.factor.triangular, scaled.q, scaled.l, scaled.u, state.rho, options.sigma,
                    options.relaxation, x, v, anchor_x, anchor_v, *image, state.since_anchor,
                    state.anchor_residual, state.iteration, steps, setup.halpern, setup.restart_decay,
                    setup.restart_fraction)
            if count == 0:
                return Advance(state, done, CODE_NONFINITE)
            done += count
            state = state._replace(iteration=state.iteration + count, x=x, v=v, image=image,
                                   anchor_x=anchor_x, anchor_v=anchor_v, since_anchor=since,
                                   anchor_residual=anchor_residual, restarts=state.restarts + restarts,
                                   anderson=anderson)
            if count < steps:  # a non-finite image: the state holds the last finite iterate
                return Advance(state, done, CODE_NONFINITE)
            state = self._event(state)
            if state.code != CONTINUE:
                break
            if state.v is not v or state.anchor_x is not anchor_x:  # the penalty changed: fresh arrays
                x, v = state.x.copy(), state.v.copy()
                anchor_x, anchor_v = state.anchor_x.copy(), state.anchor_v.copy()
                state = state._replace(x=x, v=v, anchor_x=anchor_x, anchor_v=anchor_v)
            if state.anderson is not anderson:  # rho changed (an empty memory) or an infeasibility verdict (None)
                anderson = state.anderson
            if done < k:  # the next kernel call writes its own image
                image = op.Image(*(np.empty_like(a) for a in image))
        return Advance(state, done, state.code)

    @staticmethod
    def _anderson_kernel(state: State, x, v, image: op.Image, anderson: AndersonMemory, steps: int) -> int:
        """``steps`` iterations of :func:`_anderson_kernel.anderson_iterations`, in place on x, v, image
        and ``anderson``; returns the iterations done."""
        from ._anderson_kernel import anderson_iterations

        options, scaled = state.setup.options, state.setup.scaled
        return anderson_iterations(*state.factor.triangular, scaled.q, scaled.l, scaled.u, state.rho, options.sigma,
                                   options.relaxation, x, v, *image, steps, *anderson, options.anderson_interval,
                                   options.anderson_regularization, options.anderson_safeguard, ANDERSON_MAX_WEIGHT,
                                   options.anderson_type == 1)

    def _iterate(self, state: State) -> State | None:
        """One iteration (Python), its termination test and penalty update; None when T gives a
        non-finite point."""
        setup, options = state.setup, state.setup.options
        image = op.apply_operator(setup.scaled, state.factor.lu, options.sigma, state.rho, options.relaxation,
                                  state.x, state.v)
        if not all_finite(image.x, image.v):
            return None
        anchor_x, anchor_v, since, anchor_residual, restarts = (
            state.anchor_x, state.anchor_v, state.since_anchor, state.anchor_residual, state.restarts)
        if setup.halpern:
            residual = _weighted_norm(setup, state.rho, image.dx, image.dv)
            if since == 0:
                anchor_residual = residual
            elif (residual <= setup.restart_decay * anchor_residual
                  or since >= setup.restart_fraction * state.iteration > 0):  # restart: anchor at s_k
                anchor_x, anchor_v, since, anchor_residual = state.x, state.v, 0, residual
                restarts += 1
            x = halpern_point(anchor_x, image.x, since)
            v = halpern_point(anchor_v, image.v, since)
            since += 1
        else:
            x, v = image.x, image.v
        state = state._replace(iteration=state.iteration + 1, x=x, v=v, image=image, anchor_x=anchor_x,
                               anchor_v=anchor_v, since_anchor=since, anchor_residual=anchor_residual,
                               restarts=restarts)
        return self._event(state) if _is_event(state.iteration, options) else state

    def _event(self, state: State) -> State:
        """At an iteration with a termination test (every ``check_interval``) or a penalty update
        (:func:`_adapts_at`): the test on ``state.image``, then the update of rho with its
        refactorization, which keeps (z, y), sets the new v and re-anchors."""
        setup, options = state.setup, state.setup.options
        iteration, image = state.iteration, state.image
        code, certificate = CONTINUE, None
        if iteration % options.check_interval == 0:
            state, polish = _polish_now(state)
            started = time.perf_counter()
            code, certificate = termination_test(setup, image, iteration, polish=polish)
            if code in INFEASIBLE_CODES and state.anderson is not None:
                return _plain_from_start(state, iteration)
            point = early_solution(setup, image, polish) if code == CONTINUE else None
            if polish:
                state = state._replace(polish_seconds=state.polish_seconds + time.perf_counter() - started)
            if point is not None:
                return state._replace(code=CODE_CONVERGED, certificate=None, polished_point=point)
        state = state._replace(code=code, certificate=certificate)
        if code != CONTINUE:
            return state
        if not state.penalty_reset and iteration in _snapshot_iterations(options) and len(state.y_snapshots) < 2:
            state = state._replace(y_snapshots=state.y_snapshots + ((iteration, op.unscale_y(setup.scaled, image.y)),))
        if (_resets_at(iteration, options) and _drifted(state.penalty, options.penalty)
                and not _primal_feasible(setup, image) and self._dual_grows(state)):
            state = _change_penalty(state, options.penalty)._replace(y_snapshots=())
            if state.anderson is not None:  # provisional while accelerated: rho still adapts (_plain_from_start)
                return state._replace(reset_pending=True)
            return state._replace(penalty_reset=True)
        if (not state.penalty_reset and _adapts_at(iteration, options) and not _holds_reset(state)
                and not (options.freeze_penalty and state.anderson is None  # evidence from plain iterations only
                         and op.farkas_candidate(setup.problem, setup.scaled.E * image.dy))):
            wanted = _wanted_penalty(setup, image, state.penalty)
            if options.penalty_schedule == "averaged":
                return _averaged_penalty(state, wanted)
            if wanted > options.penalty_change * state.penalty or wanted < state.penalty / options.penalty_change:
                return _change_penalty(state, wanted)
        return state

    def _dual_grows(self, state: State) -> bool:
        """The reset's infeasibility evidence (option ``penalty_reset_growth``): the multipliers keep
        changing at at least that fraction of their earlier mean rate; always True with 0 or when the
        ratio cannot be formed (a reset iteration too early for two windows)."""
        threshold = state.setup.options.penalty_reset_growth
        if threshold == 0.0:
            return True
        growth = _dual_growth(state.y_snapshots, state.iteration, op.unscale_y(state.setup.scaled, state.image.y))
        return math.isnan(growth) or growth >= threshold

    def displacement(self, state: State) -> float:
        return _weighted_norm(state.setup, state.rho, state.image.dx, state.image.dv)

    def extra(self, state: State) -> dict:
        extra = {"penalty": state.penalty, "refactorizations": state.refactorizations}
        if _uses_anderson(state.setup.options):
            accepted, rejected = state.anderson.counts() if state.anderson is not None else state.anderson_counts
            extra.update(anderson_accepted=accepted, anderson_rejected=rejected,
                         anderson_stopped=state.anderson_stopped)
        return extra


@register("admm-qp", problem=QP, options=AdmmQPOptions, default=True)
def admm_qp(problem: QP, options: AdmmQPOptions) -> QPResult:
    """OSQP-style ADMM for convex QPs with primal/dual infeasibility certificates (Stellato et al. 2020; Banjac et al. 2019)."""
    return run(ADMMSolver(halpern=False), problem, options, "admm-qp")


@dataclass(frozen=True)
class AndersonADMMOptions(AdmmQPOptions):
    """Options of ``admm-qp-aa``: those of ``admm-qp``, with ``acceleration="anderson"`` and
    ``penalty_schedule="averaged"`` by default (with the doubling schedule rho sat 4-470x off OSQP's wish for
    thousands of iterations on LP-like QPs; averaged, QSHARE1B, QSCAGR7, QSCRS8, QSHIP04L, QSTAIR, QSCFXM2 and
    QSCFXM3 are solved in 1e5 iterations, which base-s26 (doubling, final reset) did not: docs/feasibility.md, "LP-like QPs"),
    and ``penalty_balance="gap"``, ``penalty_window=8`` (the gap in the penalty rule: 114 of the 137
    Maros-Meszaros QPs at 10 s instead of 107, gaining LISWET1/2/3/6, CONT-100, QCAPRI, QFORPLAN, QGFRDXPN
    and QSCFXM3, losing QPCBOEI2 and QSCORPIO: docs/feasibility.md, "LP-like QPs, continued")."""

    acceleration: str = "anderson"
    penalty_schedule: str = "averaged"
    penalty_balance: str = "gap"
    penalty_window: int = 8


@register("admm-qp-aa", problem=QP, options=AndersonADMMOptions)
def admm_qp_aa(problem: QP, options: AndersonADMMOptions) -> QPResult:
    """``admm-qp`` with safeguarded Anderson acceleration (Zhang, O'Donoghue & Boyd 2020), a method name of
    its own so that benchmarks run it beside plain ``admm-qp``."""
    return run(ADMMSolver(halpern=False), problem, options, "admm-qp-aa")
