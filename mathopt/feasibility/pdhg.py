"""``pdhg-lp``: matrix-free primal-dual hybrid gradient for LPs, with infeasibility certificates.

For the LP ``min q'x  s.t.  l <= Ax <= u`` (a :class:`~mathopt.feasibility.problem.QP` with
``P = 0``), the saddle-point problem :math:`\\min_x \\max_y\\ q^Tx + y^TAx - S_C(y)`,
:math:`S_C(y) = u^Ty_+ + l^Ty_-`, is solved by PDHG (Chambolle & Pock 2011; PDLP, Applegate
et al. 2021, without its adaptive steps and presolve) on the Ruiz-scaled data:

.. math::

   x^+ = x - \\tau (q + A^T y),\\qquad
   w = y + \\sigma A (2x^+ - x),\\qquad
   y^+ = w - \\sigma\\, \\Pi_{[l,u]}(w / \\sigma),

the last step being :math:`\\mathrm{prox}_{\\sigma S_C}` by Moreau's identity. With
:math:`\\tau = \\eta/\\omega`, :math:`\\sigma = \\eta\\omega`, :math:`\\eta = 0.9/\\sqrt{\\|A\\|_1\\|A\\|_\\infty}`
(an upper bound of :math:`\\|A\\|_2`) and :math:`\\omega` = ``primal_weight``, the map :math:`T: (x, y) \\mapsto (x^+, y^+)` is
firmly nonexpansive in the norm of :math:`M = [[I/\\tau, -A^T], [-A, I/\\sigma]]`, so its
differences converge to the infimal displacement vector; their blocks are the certificates
(:math:`y^+ - y` for primal infeasibility, :math:`x^+ - x` for dual infeasibility), tested as in
:mod:`mathopt.feasibility.admm_operator`, together with the convergence test on the point
:math:`(x^+, \\Pi_{[l,u]}(Ax^+), y^+)`, every ``check_interval`` iterations.

``halpern-pdhg-lp`` (:mod:`mathopt.feasibility.halpern_pdhg`) anchors the same map (Park & Ryu
2023) with the restarts of ``halpern-admm``. The iterations run in a Numba kernel (two sparse
matrix-vector products per iteration) between termination tests.

References
----------
.. [1] A. Chambolle, T. Pock, "A first-order primal-dual algorithm for convex problems with
   applications to imaging", J. Math. Imaging Vis. 40 (2011).
.. [2] D. Applegate et al., "Practical large-scale linear programming using primal-dual hybrid
   gradient", NeurIPS 2021.
.. [3] J. Park, E. K. Ryu, "Accelerated infeasibility detection of constrained optimization
   and fixed-point iterations", ICML 2023.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from ..core.driver import Advance, run
from ..core.options import check_positive
from ..core.registry import UnknownMethodError, register
from ..core.status import CODE_NONFINITE, CONTINUE
from . import admm_operator as op
from .options import QPOptions
from .problem import QP, QPResult
from .solver import CertifyingSolver, initial_code, termination_test

_KERNEL = None


def _kernel():
    """The compiled PDHG loop (built on first use, cached on disk)."""
    global _KERNEL
    if _KERNEL is None:
        from ._pdhg_kernel import pdhg_iterations

        _KERNEL = pdhg_iterations
    return _KERNEL


@dataclass(frozen=True)
class PDHGOptions(QPOptions):
    """Options of ``pdhg-lp``.

    Parameters
    ----------
    max_iter : int, default 100000
        Maximum number of PDHG iterations.
    primal_weight : float, default 1.0
        omega: primal step 0.9 / (omega N), dual step 0.9 omega / N, N = sqrt(||A||_1 ||A||_inf).
    check_interval : int, default 64
        Test termination every this many iterations.
    """

    max_iter: int = 100000
    primal_weight: float = 1.0
    check_interval: int = 64

    def __post_init__(self):
        super().__post_init__()
        check_positive(self, "primal_weight", allow_inf=False)


class Setup(NamedTuple):
    problem: QP
    scaled: op.ScaledQP
    options: Any
    tau: float
    sigma: float
    halpern: bool
    restart_decay: float
    restart_fraction: float
    A: tuple          # CSR arrays of the scaled A
    AT: tuple         # CSR arrays of its transpose


class State(NamedTuple):
    setup: Setup
    iteration: int
    x: np.ndarray
    y: np.ndarray
    image: op.Image   # T at the previous iterate: the reported point and the differences
    anchor_x: np.ndarray
    anchor_y: np.ndarray
    since_anchor: int
    anchor_residual: float
    code: int
    certificate: np.ndarray | None
    restarts: int


def _csr(matrix) -> tuple:
    csr = matrix.tocsr()
    return csr.indptr.astype(np.int64), csr.indices.astype(np.int64), csr.data.astype(np.float64)


def _operator_norm(A) -> float:
    """An upper bound of ||A||_2: sqrt(||A||_1 ||A||_inf). (Power iteration gives a lower bound,
    and a step past 1/||A|| makes PDHG diverge.)"""
    if A.nnz == 0:
        return 0.0
    absolute = abs(A)
    return float(np.sqrt(absolute.sum(axis=0).max() * absolute.sum(axis=1).max()))


class PDHGSolver(CertifyingSolver):
    """PDHG (plain or Halpern-anchored) on the core driver, iterations in a Numba kernel."""

    def init(self, problem: QP, options) -> State:
        scaled = op.scale_problem(problem, options.scaling)
        eta = 0.9 / max(_operator_norm(scaled.A), 1e-12)
        setup = Setup(problem=problem, scaled=scaled, options=options, tau=eta / options.primal_weight,
                      sigma=eta * options.primal_weight, halpern=self.halpern,
                      restart_decay=float(getattr(options, "restart_decay", 0.0)),
                      restart_fraction=float(getattr(options, "restart_fraction", 0.0)),
                      A=_csr(scaled.A), AT=_csr(scaled.AT))
        x, y = np.zeros(problem.n), np.zeros(problem.m)
        image = self._image(setup, x, y, np.zeros_like(x), np.zeros_like(y))
        code = initial_code(setup, image)
        return State(setup=setup, iteration=0, x=x, y=y, image=image, anchor_x=x, anchor_y=y, since_anchor=0,
                     anchor_residual=np.inf, code=code, certificate=None, restarts=0)

    @staticmethod
    def _image(setup: Setup, x, y, dx, dy) -> op.Image:
        z = np.clip(setup.scaled.A @ x, setup.scaled.l, setup.scaled.u)
        return op.Image(x=x, v=z, z=z, y=y, dx=dx, dv=np.zeros_like(z), dy=dy)

    def advance(self, state: State, nit: int, k: int, record: bool) -> Advance:
        setup, options = state.setup, state.setup.options
        kernel = _kernel()
        done = 0
        while done < k:
            interval = options.check_interval
            steps = min(k - done, interval - state.iteration % interval)
            x, y = state.x.copy(), state.y.copy()
            anchor_x, anchor_y = state.anchor_x.copy(), state.anchor_y.copy()
            image_x, image_y = np.empty_like(x), np.empty_like(y)
            diff_x, diff_y = np.empty_like(x), np.empty_like(y)
            count, since, anchor_residual, restarts = kernel(
                *setup.A, *setup.AT, setup.scaled.q, setup.scaled.l, setup.scaled.u, setup.tau, setup.sigma,
                x, y, anchor_x, anchor_y, image_x, image_y, diff_x, diff_y, state.since_anchor,
                state.anchor_residual, state.iteration, steps, setup.halpern, setup.restart_decay,
                setup.restart_fraction)
            if count == 0:
                return Advance(state, done, CODE_NONFINITE)
            image = self._image(setup, image_x, image_y, diff_x, diff_y)
            iteration = state.iteration + count
            code, certificate = CONTINUE, None
            if iteration % interval == 0:
                code, certificate = termination_test(setup, image, iteration)
            state = State(setup=setup, iteration=iteration, x=x, y=y, image=image, anchor_x=anchor_x,
                          anchor_y=anchor_y, since_anchor=int(since), anchor_residual=float(anchor_residual),
                          code=code, certificate=certificate, restarts=state.restarts + int(restarts))
            done += count
            if count < steps:
                return Advance(state, done, CODE_NONFINITE)
            if code != CONTINUE:
                break
        return Advance(state, done, state.code)

    def displacement(self, state: State) -> float:
        setup, image = state.setup, state.image
        return float(np.sqrt(image.dx @ image.dx / setup.tau + image.dy @ image.dy / setup.sigma))

    def extra(self, state: State) -> dict:
        return {"step_sizes": (state.setup.tau, state.setup.sigma)}


def solve_lp(problem: QP, options, name: str, halpern: bool) -> QPResult:
    if not problem.is_lp:
        raise UnknownMethodError(f"method {name!r} solves LPs (P = 0); use admm-qp or halpern-admm for a QP")
    return run(PDHGSolver(halpern=halpern), problem, options, name)


@register("pdhg-lp", problem=QP, options=PDHGOptions, backends=("numba",), requires=("numba",))
def pdhg_lp(problem: QP, options: PDHGOptions) -> QPResult:
    """Matrix-free PDHG for LPs (Chambolle-Pock; PDLP without adaptive steps) with infeasibility certificates."""
    return solve_lp(problem, options, "pdhg-lp", halpern=False)
