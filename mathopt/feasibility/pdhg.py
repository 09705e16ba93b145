"""``pdhg-lp``: matrix-free PDHG for LPs in the manner of PDLP, with infeasibility certificates.

For the LP ``min q'x  s.t.  l <= Ax <= u`` (a :class:`~mathopt.feasibility.problem.QP` with
``P = 0``), the rows of A with one nonzero become bounds :math:`x \\in X = [x_l, x_u]` (option
``bound_rows``; PDLP's variable bounds), the remaining rows :math:`G` are preconditioned by Ruiz
equilibration and one Pock-Chambolle pass (options ``scaling``, ``pock_chambolle``; Applegate et
al. [2]_, Section 3.4), and the saddle-point problem
:math:`\\min_{x \\in X}\\max_y\\ q^Tx + y^TGx - S_C(y)`, :math:`S_C(y) = u^Ty_+ + l^Ty_-`, is solved by
PDHG (Chambolle & Pock [1]_):

.. math::

   x^+ = \\Pi_X\\big(x - \\tau (q + G^T y)\\big),\\qquad
   w = y/\\sigma + G (2x^+ - x),\\qquad
   y^+ = \\sigma\\big(w - \\Pi_{[l,u]}(w)\\big),

the last step being :math:`\\mathrm{prox}_{\\sigma S_C}` by Moreau's identity. Steps
:math:`\\tau = \\eta/\\omega`, :math:`\\sigma = \\eta\\omega` with :math:`\\eta` = ``step_size`` /
:math:`\\|G\\|_2` (Lanczos estimate with a margin, capped by :math:`\\sqrt{\\|G\\|_1\\|G\\|_\\infty}`;
cuPDLP [4]_ uses 0.998 / ||A||_2 from power iteration) and the primal weight :math:`\\omega`
(PDLP's :math:`\\|q\\|_2/\\|b\\|_2` at the start, then at each restart
:math:`\\log\\omega \\leftarrow \\theta\\log(\\Delta y/\\Delta x) + (1-\\theta)\\log\\omega`,
:math:`\\theta` = ``primal_weight_update``, :math:`\\Delta` the 2-norm distance between the last two
restart points; [2]_, Section 3.3). The map :math:`T: z = (x, y) \\mapsto (x^+, y^+)` is firmly
nonexpansive in the norm of :math:`M = [[I/\\tau, -G^T], [-G, I/\\sigma]]`.

**Restarts** (cuPDLP [4]_, PDLP [2]_ Section 3.2), tested every ``check_interval`` (64)
iterations on the KKT error :math:`K(z) = \\sqrt{\\omega\\|r_p\\|^2 + \\|r_d\\|^2/\\omega + \\mathrm{gap}^2}` of
the scaled LP (:func:`~mathopt.feasibility._pdlp.kkt_error`): the candidate is the current iterate
or the average of the iterates since the last restart, the one with the smaller error
(``restart_to="best"``); restart to it when :math:`K \\le \\beta_{suff} K_0` (``restart_decay``
0.2), or :math:`K \\le \\beta_{nec} K_0` (``restart_necessary`` 0.8) and :math:`K` grew since the
previous test, or the iterations since the restart reach ``restart_fraction`` (0.36) of all
iterations, :math:`K_0` the error at the last restart.

``halpern-pdhg-lp`` (:mod:`mathopt.feasibility.halpern_pdhg`) iterates the reflected Halpern step
of r2HPDHG (Lu & Yang [5]_) on the same map, with restarts on the fixed-point residual.

**Tests** every ``check_interval`` iterations, in the QP's space (the multipliers of the bound
rows are minus the reduced costs :math:`q + G^Ty` over their coefficient,
:func:`~mathopt.feasibility._pdlp.full_point`): convergence of the candidate point
:math:`(x, \\Pi_{[l,u]}(Ax), y)` and the primal / dual infeasibility tests of
:mod:`mathopt.feasibility.admm_operator` on three difference vectors: the last step
:math:`T z - z` (whose limit is the infimal displacement vector, Park & Ryu [3]_), the iterate
minus the last restart point, and the last restart point minus the one before (PDLP's
infeasibility detection uses such differences of iterates, Applegate et al. [6]_). Every
certificate passes :func:`~mathopt.feasibility.admm_operator.primal_certificate` or
``dual_certificate`` on the original data. The iterations between two tests run in a Numba
kernel (two sparse matrix-vector products per iteration).

References
----------
.. [1] A. Chambolle, T. Pock, "A first-order primal-dual algorithm for convex problems with
   applications to imaging", J. Math. Imaging Vis. 40 (2011).
.. [2] D. Applegate et al., "Practical large-scale linear programming using primal-dual hybrid
   gradient", NeurIPS 2021.
.. [3] J. Park, E. K. Ryu, "Accelerated infeasibility detection of constrained optimization
   and fixed-point iterations", ICML 2023.
.. [4] H. Lu, J. Yang, "cuPDLP.jl: a GPU implementation of restarted primal-dual hybrid gradient
   for linear programming in Julia", arXiv:2311.12180 (2023).
.. [5] H. Lu, J. Yang, "Restarted Halpern PDHG for linear programming", arXiv:2407.16144 (2024).
.. [6] D. Applegate, M. Diaz, H. Lu, M. Lubin, "Infeasibility detection with primal-dual hybrid
   gradient for large-scale linear programming", SIAM J. Optim. 34 (2024).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from ..core.driver import Advance, run
from ..core.options import OptionError, check_bool, check_choice, check_fraction, check_positive
from ..core.registry import UnknownMethodError, register
from ..core.status import CODE_NONFINITE, CONTINUE
from . import _pdlp
from . import admm_operator as op
from .options import QPOptions
from .problem import QP, QPResult
from .solver import CertifyingSolver, initial_code, termination_test

#: Values of ``operator_norm`` and ``restart_to``.
NORMS = ("lanczos", "bound")
RESTART_TO = ("best", "current", "average")


@dataclass(frozen=True)
class LPOptions(QPOptions):
    """Options of the PDHG methods for LPs.

    Parameters
    ----------
    max_iter : int, default 100000
        Maximum number of PDHG iterations.
    check_interval : int, default 64
        Test termination and restarts every this many iterations (PDLP's restart frequency).
    scaling : int, default 10
        Ruiz equilibration passes (infinity norms) on the constraint rows (0: none; PDLP: 10).
    pock_chambolle : bool, default True
        After Ruiz, one Pock-Chambolle pass (alpha = 1: rows and columns divided by the square
        roots of their 1-norms), as PDLP (Applegate et al. 2021, Section 3.4).
    bound_rows : bool, default True
        Rows of A with one nonzero become bounds on their column, projected in the primal step
        (PDLP's variable bounds); False keeps them as rows with multipliers.
    step_size : float, default 0.998
        eta ||A||_2, in (0, 1): the steps are tau = eta / omega, sigma = eta omega (cuPDLP, Lu & Yang
        2023, uses 0.998 with a power-iteration estimate of ||A||_2).
    operator_norm : {"lanczos", "bound"}, default "lanczos"
        ``"lanczos"``: ||A||_2 estimated by ARPACK's Lanczos on A'A, times 1 + 1e-3, capped by (and
        falling back to) the bound sqrt(||A||_1 ||A||_inf); ``"bound"``: the bound alone (smaller steps).
    primal_weight : float or None, default None
        Initial primal weight omega; None: PDLP's ||q||_2 / ||b||_2 (scaled data; 1 when either is 0).
    primal_weight_update : float, default 0.5
        Smoothing theta of PDLP's primal-weight update at restarts,
        log omega <- theta log(dy / dx) + (1 - theta) log omega (Applegate et al. 2021, Section 3.3);
        0 keeps omega fixed.
    restarts : bool, default True
        Adaptive restarts (cuPDLP / PDLP; r2HPDHG for ``halpern-pdhg-lp``), tested every ``check_interval``.
    restart_decay : float, default 0.2
        Sufficient decay: restart when the restart measure is at most this fraction of its value at
        the last restart (PDLP's beta_sufficient).
    restart_necessary : float, default 0.8
        Necessary decay: restart when the measure is at most this fraction of its value at the last
        restart and larger than at the previous test (PDLP's beta_necessary).
    restart_fraction : float, default 0.36
        Artificial restart when the iterations since the last restart reach this fraction of all
        iterations (PDLP's beta_artificial); 0 never does.
    """

    max_iter: int = 100000
    check_interval: int = 64
    pock_chambolle: bool = True
    bound_rows: bool = True
    step_size: float = 0.998
    operator_norm: str = "lanczos"
    primal_weight: float | None = None
    primal_weight_update: float = 0.5
    restarts: bool = True
    restart_decay: float = 0.2
    restart_necessary: float = 0.8
    restart_fraction: float = 0.36

    def __post_init__(self):
        super().__post_init__()
        check_bool(self, "pock_chambolle")
        check_bool(self, "bound_rows")
        check_bool(self, "restarts")
        check_positive(self, "step_size", allow_inf=False)
        if self.step_size >= 1.0:
            raise OptionError(f"step_size must be in (0, 1), got {self.step_size!r}")
        check_choice(self, "operator_norm", NORMS)
        if self.primal_weight is not None:
            check_positive(self, "primal_weight", allow_inf=False)
        check_fraction(self, "primal_weight_update", closed=True)
        for name in ("restart_decay", "restart_necessary", "restart_fraction"):
            check_fraction(self, name)


@dataclass(frozen=True)
class PDHGOptions(LPOptions):
    """Options of ``pdhg-lp``.

    Parameters
    ----------
    restart_to : {"best", "current", "average"}, default "best"
        Restart candidate: the current iterate, the average of the iterates since the last restart,
        or the one of the two with the smaller KKT error (PDLP's adaptive choice, on cuPDLP's KKT error).
    """

    restart_to: str = "best"

    def __post_init__(self):
        super().__post_init__()
        check_choice(self, "restart_to", RESTART_TO)


class Setup(NamedTuple):
    problem: QP
    scaled: op.ScaledQP   # identity scaling of the QP: the tests run on the QP's own data
    lp: _pdlp.ReducedLP
    options: Any
    eta: float
    halpern: bool
    reflection: float
    A: tuple              # CSR arrays of the scaled general rows
    AT: tuple             # CSR arrays of their transpose


class State(NamedTuple):
    setup: Setup
    iteration: int
    x: np.ndarray          # the iterate (scaled, reduced LP)
    y: np.ndarray
    anchor_x: np.ndarray   # last restart point (the Halpern anchor)
    anchor_y: np.ndarray
    previous_x: np.ndarray  # the restart point before it
    previous_y: np.ndarray
    sum_x: np.ndarray      # sums of the images since the restart (plain: the average)
    sum_y: np.ndarray
    since: int             # iterations since the restart
    weight: float          # primal weight omega
    restart_measure: float  # KKT error (plain) / fixed-point residual (Halpern) at the last restart
    last_measure: float    # the same at the previous test
    image_x: np.ndarray    # T z of the last iteration and T z - z
    image_y: np.ndarray
    diff_x: np.ndarray
    diff_y: np.ndarray
    image: op.Image        # the reported point, in the QP's space
    residual: float        # ||T z - z||_M at the last iteration
    code: int
    certificate: np.ndarray | None
    restarts: int


def _csr(matrix) -> tuple:
    csr = matrix.tocsr()
    return csr.indptr.astype(np.int64), csr.indices.astype(np.int64), csr.data.astype(np.float64)


def _identity(problem: QP) -> op.ScaledQP:
    return op.ScaledQP(P=problem.P, q=problem.q, A=problem.A, AT=problem.A.T.tocsc(), l=problem.l, u=problem.u,
                       D=np.ones(problem.n), E=np.ones(problem.m), c=1.0,
                       row_kind=np.zeros(problem.m, dtype=np.int8))


def _image(setup: Setup, x, y, dx, dy) -> op.Image:
    """The reported point (x, Pi(Ax), y) and the step difference (dx, dy) in the QP's space."""
    problem, lp = setup.problem, setup.lp
    x_full, y_full = _pdlp.full_point(problem, lp, x, y, homogeneous=False)
    dx_full, dy_full = _pdlp.full_point(problem, lp, dx, dy, homogeneous=True)
    z = np.clip(problem.A @ x_full, problem.l, problem.u)
    return op.Image(x=x_full, v=z, z=z, y=y_full, dx=dx_full, dv=np.zeros_like(z), dy=dy_full)


def _steps(setup: Setup, weight: float) -> tuple[float, float]:
    return setup.eta / weight, setup.eta * weight


def _metric_norm(setup: Setup, weight: float, dx, dy) -> float:
    """||(dx, dy)||_M, M = [[I/tau, -A'], [-A, I/sigma]] (the norm in which T is firmly nonexpansive)."""
    tau, sigma = _steps(setup, weight)
    value = op.dot(dx, dx) / tau + op.dot(dy, dy) / sigma - 2.0 * op.dot(dy, setup.lp.A @ dx)
    return float(np.sqrt(max(value, 0.0)))


def _credible(problem: QP, image: op.Image, code: int, certificate) -> bool:
    """Whether a certificate that passed the tests at ``infeasibility_tol`` also rules out the
    iterate's neighbourhood: a primal certificate y (||y||_inf = 1) shows that no x with
    ``||x||_1 <= R`` is feasible when ``||A'y||_inf R < -S(y)``; it is kept when that holds with
    R = 2 max(1, ||x_k||_1) at the reported iterate (likewise a dual certificate d against
    ``||y_k||_1``: its recession-cone violation times R below ``-q'd``). On vtpbase (feasible, x of
    size 1e5) the polished candidate had ``||A'y||_inf`` = 5e-8 and S(y) = -1.2e-4: a Farkas vector at
    the tolerance, not for the problem's scale."""
    if certificate is None or code not in (op.CODE_PRIMAL_INFEASIBLE, op.CODE_DUAL_INFEASIBLE):
        return True
    if code == op.CODE_PRIMAL_INFEASIBLE:
        violation = float(np.max(np.abs(problem.A.T @ certificate), initial=0.0))
        radius, margin = np.sum(np.abs(image.x)), -op.support(problem, certificate)
    else:
        Ad = problem.A @ certificate
        below = np.where(np.isfinite(problem.l), np.maximum(-Ad, 0.0), 0.0)
        above = np.where(np.isfinite(problem.u), np.maximum(Ad, 0.0), 0.0)
        violation = float(np.max(np.maximum(below, above), initial=0.0))
        radius, margin = np.sum(np.abs(image.y)), -op.dot(problem.q, certificate)
    return violation * 2.0 * max(1.0, radius) < margin


class PDHGSolver(CertifyingSolver):
    """PDHG (plain or reflected-Halpern) with PDLP's preconditioning, steps, primal weight and restarts."""

    def init(self, problem: QP, options) -> State:
        lp = _pdlp.precondition(problem, options.scaling, options.pock_chambolle, options.bound_rows)
        norm = _pdlp.operator_norm(lp.A, options.operator_norm == "lanczos")
        eta = options.step_size / max(norm, 1e-12)
        weight = options.primal_weight if options.primal_weight is not None else _pdlp.initial_primal_weight(lp)
        setup = Setup(problem=problem, scaled=_identity(problem), lp=lp, options=options, eta=eta,
                      halpern=self.halpern, reflection=float(getattr(options, "reflection", 0.0)),
                      A=_csr(lp.A), AT=_csr(lp.AT))
        x, y = np.clip(np.zeros(problem.n), lp.xl, lp.xu), np.zeros(lp.rows.size)
        zero_x, zero_y = np.zeros_like(x), np.zeros_like(y)
        image = _image(setup, x, y, zero_x, zero_y)
        measure = np.inf if self.halpern else _pdlp.kkt_error(lp, x, y, weight)
        return State(setup=setup, iteration=0, x=x, y=y, anchor_x=x, anchor_y=y, previous_x=x, previous_y=y,
                     sum_x=zero_x, sum_y=zero_y, since=0, weight=float(weight), restart_measure=measure,
                     last_measure=np.inf, image_x=x, image_y=y, diff_x=zero_x, diff_y=zero_y, image=image,
                     residual=0.0, code=initial_code(setup, image), certificate=None, restarts=0)

    def advance(self, state: State, nit: int, k: int, record: bool) -> Advance:
        setup, options = state.setup, state.setup.options
        from ._pdhg_kernel import pdhg_iterations

        lp = setup.lp
        done = 0
        while done < k:
            interval = options.check_interval
            steps = min(k - done, interval - state.iteration % interval)
            x, y, sum_x, sum_y = state.x.copy(), state.y.copy(), state.sum_x.copy(), state.sum_y.copy()
            image_x, image_y = np.empty_like(x), np.empty_like(y)
            diff_x, diff_y = np.empty_like(x), np.empty_like(y)
            tau, sigma = _steps(setup, state.weight)
            count, since = pdhg_iterations(
                *setup.A, *setup.AT, lp.q, lp.l, lp.u, lp.xl, lp.xu, tau, sigma, x, y, state.anchor_x,
                state.anchor_y, sum_x, sum_y, image_x, image_y, diff_x, diff_y, state.since, steps,
                setup.halpern, setup.reflection)
            if count == 0:
                return Advance(state, done, CODE_NONFINITE)
            if count < steps:  # the image arrays hold the rejected step: report the last finite iterate
                image_x, image_y = x.copy(), y.copy()
                diff_x, diff_y = np.zeros_like(x), np.zeros_like(y)
            iteration = state.iteration + count
            state = state._replace(iteration=iteration, x=x, y=y, sum_x=sum_x, sum_y=sum_y, since=int(since),
                                   image_x=image_x, image_y=image_y, diff_x=diff_x, diff_y=diff_y,
                                   residual=_metric_norm(setup, state.weight, diff_x, diff_y),
                                   image=_image(setup, image_x, image_y, diff_x, diff_y), code=CONTINUE)
            done += count
            if count < steps:
                return Advance(state, done, CODE_NONFINITE)
            if iteration % interval == 0:
                state = self._check(state)
                if state.code != CONTINUE:
                    break
        return Advance(state, done, state.code)

    def _candidate(self, state: State) -> tuple[np.ndarray, np.ndarray, float]:
        """The restart candidate and its restart measure."""
        setup, options = state.setup, state.setup.options
        if setup.halpern:
            return state.image_x, state.image_y, state.residual
        lp, weight = setup.lp, state.weight
        current = (state.image_x, state.image_y, _pdlp.kkt_error(lp, state.image_x, state.image_y, weight))
        if options.restart_to == "current" or state.since == 0:
            return current
        ax, ay = state.sum_x / state.since, state.sum_y / state.since
        average = (ax, ay, _pdlp.kkt_error(lp, ax, ay, weight))
        if options.restart_to == "average":
            return average
        return average if average[2] < current[2] else current

    def _check(self, state: State) -> State:
        """Termination test, then the restart test (and the primal-weight update) on the candidate."""
        setup, options = state.setup, state.setup.options
        cx, cy, measure = self._candidate(state)
        if cx is not state.image_x:
            state = state._replace(image=_image(setup, cx, cy, state.diff_x, state.diff_y))
        code, certificate = termination_test(setup, state.image, state.iteration)
        if not _credible(setup.problem, state.image, code, certificate):
            code, certificate = CONTINUE, None
        if code == CONTINUE:
            code, certificate = self._window_certificates(state)
        state = state._replace(code=code, certificate=certificate)
        if code != CONTINUE or not options.restarts:
            return state
        if not np.isfinite(state.restart_measure):  # Halpern: the first residual is the reference
            return state._replace(restart_measure=measure, last_measure=measure)
        reference = state.restart_measure
        restart = (measure <= options.restart_decay * reference
                   or (measure <= options.restart_necessary * reference and measure > state.last_measure)
                   or state.since >= options.restart_fraction * state.iteration)
        if not restart:
            return state._replace(last_measure=measure)
        weight = state.weight
        theta = options.primal_weight_update
        dx, dy = _pdlp.norm(cx - state.anchor_x), _pdlp.norm(cy - state.anchor_y)
        if theta > 0 and dx > 1e-10 and dy > 1e-10:
            weight = float(np.exp(theta * np.log(dy / dx) + (1.0 - theta) * np.log(weight)))
        if not setup.halpern:
            measure = _pdlp.kkt_error(setup.lp, cx, cy, weight)
        zero_x, zero_y = np.zeros_like(cx), np.zeros_like(cy)
        return state._replace(x=cx, y=cy, previous_x=state.anchor_x, previous_y=state.anchor_y, anchor_x=cx,
                              anchor_y=cy, sum_x=zero_x, sum_y=zero_y, since=0, weight=weight,
                              restart_measure=measure, last_measure=np.inf, restarts=state.restarts + 1)

    @staticmethod
    def _window_certificates(state: State) -> tuple[int, np.ndarray | None]:
        """The infeasibility tests on the candidate minus the last restart point and on the last two
        restart points' difference (PDLP's differences of iterates), in the QP's space."""
        setup = state.setup
        problem, tol = setup.problem, setup.options.infeasibility_tol
        for dx, dy in ((state.image_x - state.anchor_x, state.image_y - state.anchor_y),
                       (state.anchor_x - state.previous_x, state.anchor_y - state.previous_y)):
            x_full, y_full = _pdlp.full_point(problem, setup.lp, dx, dy, homogeneous=True)
            for code, certificate in ((op.CODE_PRIMAL_INFEASIBLE, op.primal_certificate(problem, y_full, tol)),
                                      (op.CODE_DUAL_INFEASIBLE, op.dual_certificate(problem, x_full, tol))):
                if certificate is not None and _credible(problem, state.image, code, certificate):
                    return code, certificate
        return CONTINUE, None

    def displacement(self, state: State) -> float:
        return state.residual

    def extra(self, state: State) -> dict:
        return {"step_sizes": _steps(state.setup, state.weight), "primal_weight": state.weight,
                "restarts": state.restarts}


def solve_lp(problem: QP, options, name: str, halpern: bool) -> QPResult:
    if not problem.is_lp:
        raise UnknownMethodError(f"method {name!r} solves LPs (P = 0); use admm-qp or halpern-admm for a QP")
    return run(PDHGSolver(halpern=halpern), problem, options, name)


@register("pdhg-lp", problem=QP, options=PDHGOptions, backends=("numba",), requires=("numba",))
def pdhg_lp(problem: QP, options: PDHGOptions) -> QPResult:
    """PDHG for LPs with PDLP's preconditioning, primal weight and adaptive restarts, and infeasibility certificates."""
    return solve_lp(problem, options, "pdhg-lp", halpern=False)
