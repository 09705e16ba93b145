r"""``al-sketch``: adaptive inexact Newton method with randomized iterative sketching.

.. math::

    \min_x f(x) \quad \text{s.t.} \quad c(x) = 0 .

The method of Hong, Na, Mahoney & Kolar (2023) ("AdaSketch-Newton",
Algorithm 1): each iteration solves the Lagrangian Newton system

.. math::

    \begin{pmatrix} H & G^\top \\ G & 0 \end{pmatrix}
    \begin{pmatrix} \Delta x \\ \Delta\lambda \end{pmatrix}
    = -\begin{pmatrix} \nabla_x L \\ c \end{pmatrix}

inexactly with a randomized sketch-and-project solver, stopped by the
adaptive accuracy condition

.. math::

    \|K\Delta + \nabla\mathcal L_t\| \le \theta_t \|\nabla\mathcal L_t\|,
    \qquad \theta_t = \theta\,\min(1, \|\nabla\mathcal L_t\|)^{r},

(``r = accuracy_sharpening``; ``r = 0`` is the basic condition giving local
linear convergence, ``r > 0`` sharpens it as the KKT residual vanishes, which
gives local superlinear convergence of order ``1 + r``), then performs an
Armijo line search on the exact augmented Lagrangian
:math:`\mathcal L_{\mu,\nu} = L + \tfrac\mu2\|c\|^2 + \tfrac\nu2\|\nabla_x L\|^2`,
raising :math:`\mu`, lowering :math:`\nu` and tightening :math:`\theta` until
the direction is a descent direction. The outer loop, the merit gradient (which needs the
Hessian of the Lagrangian) and the safeguards are in
:mod:`mathopt.constrained._exact_al`, shared with ``al-newton``.

Sketches (Numba kernels, :mod:`mathopt.constrained._sketch_kernels`):
``"kaczmarz"`` (row sampling with probabilities proportional to squared row
norms) and ``"gaussian"`` (``N x sketch_size`` Gaussian blocks). Dense KKT
matrices, or CSR when the Jacobian or the Lagrangian Hessian is
``scipy.sparse`` (the KKT matrix is then never densified).

Large sparse systems (``inner_solver="minres"``, ours, not in the paper):
preconditioned MINRES (:mod:`mathopt.constrained._krylov`) replaces the
sketch, stopped by the same adaptive accuracy condition; the randomization
then sits in the preconditioner, e.g. the randomized approximate Cholesky
factorization (Kyng & Sachdeva 2016; :mod:`mathopt.constrained._approx_chol`)
inside :func:`mathopt.problems.pde.kkt_preconditioner`. On the PDE-control
problem, whose spread Laplacian spectrum makes Kaczmarz need ~N^6 steps per
e-fold, it converges at n >= 1e5 (docs/benchmarks.md, "Scale").

Returns the method's multipliers in ``extra["multipliers"]["eq"]`` and the
number of sketching steps (MINRES iterations with ``inner_solver="minres"``)
in ``extra["inner_iterations"]``.

Deviations: see :mod:`mathopt.constrained._exact_al` (the paper's full text
was not available here, so its rules are taken from the authors' released
code and equation numbers are not cited). Specific to ``al-sketch``: the
sketch runs on the Ruiz-equilibrated system (``equilibrate``), is warm-started
and corrected in a subspace of recent directions (``recycle``, see the option),
and an iteration whose sketch stalls can be solved exactly on request
(``exact_fallback=True``, off by default, counted in
``extra["exact_fallbacks"]``).

References
----------
.. [1] I. Hong, S. Na, M. W. Mahoney, M. Kolar, "Constrained Optimization via
   Exact Augmented Lagrangian and Randomized Iterative Sketching", ICML 2023
   (arXiv:2305.18379).
.. [2] R. M. Gower, P. Richtarik, "Randomized iterative methods for linear
   systems", SIAM J. Matrix Anal. Appl. 36(4), 2015.
.. [3] T. Strohmer, R. Vershynin, "A randomized Kaczmarz algorithm with
   exponential convergence", J. Fourier Anal. Appl. 15, 2009.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from ..core.lazy import lazy_module

sp = lazy_module("scipy.sparse")

from ..core.driver import run
from ..core.nlp import NLP
from ..core.options import check_bool, check_choice, check_int, check_positive
from ..core.registry import register
from ._exact_al import ExactALNewton, ExactALOptions, KKTLinearSolver, LinearSolve


@dataclass(frozen=True)
class ALSketchOptions(ExactALOptions):
    """AdaSketch-Newton: exact-AL line search with a randomized sketching KKT solver.

    Parameters
    ----------
    sketch : {"kaczmarz", "gaussian"}, default "kaczmarz"
        Randomized Kaczmarz (row sampling) or Gaussian block sketch.
    sketch_size : int, default 4
        Columns of the Gaussian sketch (ignored by ``"kaczmarz"``).
    accuracy : float, default 0.1
        ``theta`` of the adaptive accuracy condition (0 < theta < 1).
    accuracy_sharpening : float, default 0.5
        ``r`` in ``theta_t = theta * min(1, ||KKT||)^r``; 0 gives the basic
        (linear-rate) condition, r > 0 superlinear local convergence.
    inner_max_iter : int or None, default None
        Maximum sketching steps per linear solve; None means
        ``max(10**6, 100 * (n + m))`` (``n + m`` is the size of the KKT system;
        randomized Kaczmarz needs about ``||K||_F^2 / sigma_min(K)^2`` steps per
        digit of accuracy, so ill-conditioned systems need more).
    equilibrate : bool, default True
        Sketch the symmetrically scaled system ``(D K D) y = D b``, ``z = D y``,
        with ``D`` from Ruiz's equilibration (every row and column of ``D K D``
        of unit max-norm). The accuracy condition is still checked on the
        residual of the original system. On the built-in set this cuts the
        median of ``||K||_F^2 / sigma_min^2`` (Kaczmarz steps per digit) over
        the iterates from 1.8e6 to 43 (HS27) and from 4.8e15 to 120 (BT8).
    exact_fallback : bool, default False
        When True and the sketching solver gives no direction passing the
        descent test (it stalls: ``inner_max_iter`` steps without meeting the
        accuracy condition three times in one iteration), that iteration's KKT
        system is solved exactly (LU) instead; counted in
        ``result.extra["exact_fallbacks"]``. ``extra["inaccurate_steps"]``
        counts sketched directions used after running out of inner steps. The
        default ``False`` is the pure method (a stalled iteration steps along
        ``-grad L_{mu,nu}``).
    recycle : int, default 3
        Subspace recycling (ours, not in the paper): the last ``recycle``
        directions of earlier solves span a subspace ``V`` (at most half the
        system size). Each solve starts at the Galerkin point of ``span(V)``
        and, after every 16 Kaczmarz epochs (or every residual check of the
        Gaussian sketch), corrects its iterate by the Galerkin step in
        ``span(V)`` (the minimum-residual step when the Galerkin one would raise
        the residual above ``||rhs||``; see :func:`_subspace_correction`):
        ``recycle`` products with ``K`` per solve, one per correction. At a
        degenerate solution (singular reduced Hessian, e.g. HS46 and HS49) the
        Newton direction is dominated by a direction of tiny curvature that
        persists from one iteration to the next; randomized Kaczmarz needs
        ``||K||_F^2 / sigma_min^2`` (1e9 - 1e10 there) steps per digit along
        it, the correction removes it in one least-squares solve of size
        ``recycle``. ``0`` gives the plain sketch-and-project solver.
    inner_solver : {"sketch", "minres"}, default "sketch"
        ``"sketch"``: the randomized sketching solver above (the paper's method).
        ``"minres"``: preconditioned MINRES on the KKT system
        (:mod:`mathopt.constrained._krylov`), stopped exactly when the adaptive
        accuracy condition ``||K Delta + grad L|| <= theta_t ||grad L||`` holds
        (``sketch``, ``sketch_size`` and ``recycle`` are then unused,
        ``equilibrate`` only chooses the default preconditioner;
        ``inner_max_iter`` counts MINRES iterations, None meaning
        ``max(100, min(10 (n + m), 10**5))``). For large sparse systems with a
        spread spectrum (PDEs), where sketching needs far too many steps.
    preconditioner : callable or None, default None
        For ``inner_solver="minres"``: ``preconditioner(B, G)`` returns a
        symmetric positive definite operator (``LinearOperator``, matrix or
        function ``r -> P^{-1} r``) approximating ``|K|^{-1}`` for
        ``K = [[B, G^T], [G, 0]]`` (``B`` the modified Lagrangian Hessian,
        ``G`` the Jacobian); called when ``B`` or ``G`` changes, at most once
        per linear system. None: the Ruiz equilibration ``D`` of ``K``
        (``P^{-1} = D^2``; the identity when ``equilibrate=False``). For the PDE-control problem,
        :func:`mathopt.problems.pde.kkt_preconditioner` (randomized
        approximate Cholesky).
    """

    sketch: str = "kaczmarz"
    sketch_size: int = 4
    accuracy: float = 0.1
    accuracy_sharpening: float = 0.5
    inner_max_iter: int | None = None
    equilibrate: bool = True
    exact_fallback: bool = False
    recycle: int = 3
    inner_solver: str = "sketch"
    preconditioner: object = None

    def __post_init__(self):
        super().__post_init__()
        check_choice(self, "inner_solver", ("sketch", "minres"))
        if self.preconditioner is not None and not callable(self.preconditioner):
            from ..core.options import OptionError

            raise OptionError(f"preconditioner must be None or a callable preconditioner(B, G), "
                              f"got {type(self.preconditioner).__name__}")
        if self.preconditioner is not None and self.inner_solver != "minres":
            from ..core.options import OptionError

            raise OptionError("preconditioner needs inner_solver='minres' (the sketching solver takes none)")
        check_int(self, "recycle", minimum=0)
        check_bool(self, "equilibrate")
        check_bool(self, "exact_fallback")
        check_choice(self, "sketch", ("kaczmarz", "gaussian"))
        check_int(self, "sketch_size", minimum=1)
        if self.inner_max_iter is not None:
            check_int(self, "inner_max_iter", minimum=1)
        check_positive(self, "accuracy", allow_inf=False)
        check_positive(self, "accuracy_sharpening", strict=False, allow_inf=False)
        if self.accuracy >= 1.0:
            from ..core.options import OptionError

            raise OptionError(f"accuracy must be < 1, got {self.accuracy!r}")


class SketchKKTSolver(KKTLinearSolver):
    """Sketch-and-project on the (dense or CSR) KKT matrix, warm-started.

    The compiled kernel runs in chunks (about 2**20 Kaczmarz steps, or 1000
    Gaussian steps, each chunk seeded with ``seed + chunk index``) so that
    ``max_time`` is honoured inside a long linear solve too: once the run's
    time is spent the solve returns its current iterate (which then fails the
    accuracy condition) and the driver stops with ``MAX_TIME``. On a large,
    ill-conditioned KKT system one solve can otherwise take
    ``inner_max_iter`` steps of O(nnz) work each (Gaussian) -- hours.

    The recent directions (for ``recycle``) come in as ``memory`` and go out
    in ``LinearSolve.memory``: the outer loop keeps them in its state.
    """

    exact = False

    def __init__(self, options: ALSketchOptions):
        self.options = options
        self.deadline = time.perf_counter() + options.max_time  # the driver starts its clock right after

    def solve(self, K, rhs, accuracy, seed, warm=None, memory=(), n=None) -> LinearSolve:
        from . import _sketch_kernels as kern

        opts = self.options
        z = np.zeros(rhs.size)
        deflation = self._recycled_basis(K, rhs, warm, memory) if opts.recycle else None
        if deflation is None and warm is not None:
            z = np.array(warm, dtype=float)
        K_orig, rhs_orig, scale = K, rhs, None
        if opts.equilibrate:
            scale = _ruiz_scaling(K)
            if sp.issparse(K):
                D = sp.diags(scale)
                K = (D @ sp.csr_matrix(K) @ D).tocsr()
            else:
                K = scale[:, None] * np.asarray(K) * scale[None, :]
            rhs = scale * rhs
            z = z / scale
            if deflation is not None:  # the same subspace in the scaled variables
                deflation = (deflation[0] / scale[:, None], scale[:, None] * deflation[1])
            accuracy = accuracy * float(np.min(scale))  # ||D r|| <= tol min(D) implies ||r|| <= tol
        kaczmarz = opts.sketch == "kaczmarz"
        # Residual checks cost one product with K (about two Kaczmarz epochs of work on a sparse K):
        # Kaczmarz checks once per epoch (N steps), Gaussian steps (each a product with K) every 1000.
        every = rhs.size if kaczmarz else max(1, min(rhs.size, 1000))
        chunk = every * max(1, 2**20 // every) if kaczmarz else every
        if deflation is not None:  # start at the Galerkin point of span(V), correct after each chunk
            V, KV = deflation
            rhs_norm = float(np.linalg.norm(rhs))
            coef, _ = _subspace_correction(V, KV, -rhs, rhs_norm)
            z = V @ coef
            chunk = every * 16 if kaczmarz else every
        q = min(opts.sketch_size, rhs.size)
        max_steps = opts.inner_max_iter if opts.inner_max_iter is not None else max(10**6, 100 * rhs.size)
        if sp.issparse(K):
            K = sp.csr_matrix(K)
            matrix = (K.indptr.astype(np.int64), K.indices.astype(np.int64), K.data.astype(float))
            kernel = kern.kaczmarz_csr if kaczmarz else kern.gaussian_csr
        else:
            matrix = (np.ascontiguousarray(K),)
            kernel = kern.kaczmarz_dense if kaczmarz else kern.gaussian_dense
        if kaczmarz:  # sampling weights and alias table: once per solve, not once per chunk
            row_norm2 = kern.row_norms_csr(matrix[0], matrix[2]) if sp.issparse(K) else kern.row_norms_dense(*matrix)
            extra = (row_norm2, *kern.alias_table(row_norm2))
        else:
            extra = (q,)
        steps, call, res = 0, 0, np.nan  # the residual carries over between chunks (nan: compute it)
        residuals = []
        while True:
            budget = min(chunk, max_steps - steps)
            z, res, done = kernel(*matrix, rhs, z, accuracy, budget, every, (seed + call) % 2**32, res, *extra)
            steps, call = steps + int(done), call + 1
            if deflation is not None and res > accuracy and np.isfinite(res):
                coef, res = _subspace_correction(V, KV, np.asarray(K @ z).ravel() - rhs, rhs_norm)
                z = z + V @ coef
            residuals.append(res)
            if not res > accuracy or steps >= max_steps or time.perf_counter() > self.deadline:
                break
            if _hopeless(residuals, accuracy, (max_steps - steps) / max(chunk, 1)):
                break  # stalled (e.g. an inconsistent system): the caller treats it as a stalled solve
        if scale is not None:
            z = scale * z
            res = np.linalg.norm(np.asarray(K_orig @ z).ravel() - rhs_orig)
        if opts.recycle and np.all(np.isfinite(z)):
            memory = (*memory, z.copy())[-opts.recycle:]
        return LinearSolve(z, float(res), steps, ok=bool(np.isfinite(res)), memory=tuple(memory))

    @staticmethod
    def _recycled_basis(K, rhs, warm, memory):
        """``(V, K V)`` for the recent directions (and ``warm``), or None: ``recycle`` products with ``K``."""
        basis = [v for v in memory if v.size == rhs.size]
        if warm is not None:
            basis.append(np.asarray(warm, dtype=float))
        basis = basis[max(0, len(basis) - rhs.size // 2):] if rhs.size >= 2 else []  # at most half the size
        if not basis:
            return None
        V = np.column_stack(basis)
        KV = np.column_stack([np.asarray(K @ v).ravel() for v in basis])
        return (V, KV) if np.all(np.isfinite(KV)) and np.all(np.isfinite(V)) else None


#: Chunks over which the sketch's rate of progress is measured.
_WINDOW = 16


def _hopeless(residuals: list, accuracy: float, chunks_left: float) -> bool:
    """True when the residual's progress over the last ``_WINDOW`` chunks, extrapolated, would need
    more than 100 times the chunks left to reach ``accuracy`` (or it did not decrease at all).

    Randomized Kaczmarz on an inconsistent system (linearized constraints with
    no solution) stops decreasing its residual at a floor; on a consistent one
    it decreases geometrically. Without this test a stalled solve runs its
    whole ``inner_max_iter`` budget in every try of every iteration.
    """
    if len(residuals) < _WINDOW + 4:
        return False
    now, before = min(residuals[-4:]), min(residuals[-_WINDOW - 4:-4])  # best of each, against the noise
    if not (np.isfinite(now) and np.isfinite(before)) or now >= before:
        return True
    rate = (now / before) ** (1.0 / _WINDOW)  # per chunk
    return math.log(accuracy / now) / math.log(rate) > 100.0 * chunks_left


def _subspace_correction(V, KV, r, limit: float) -> tuple[np.ndarray, float]:
    """``(c, ||r + K V c||)`` for the correction ``z += V c`` in ``span(V)``, ``r = K z - rhs``.

    First the Galerkin choice ``V^T (r + K V c) = 0``, ``c = -(V^T K V)^+ V^T r``
    (``K`` symmetric): it weighs the residual by ``V`` itself, so it removes the
    error along a direction of tiny curvature contained in ``V`` even when the
    other components of ``V`` are inexact (the residual they add is removed by
    the next sketching steps). ``V^T K V`` is indefinite for a KKT matrix and
    can be nearly singular, so the Galerkin step is kept only if its residual
    is at most ``limit`` (the caller passes ``||rhs||``, the residual of
    ``z = 0``); otherwise the minimum-residual choice
    ``c = argmin ||r + K V c||``, which never raises the residual. The new
    residual norm comes from ``K V`` (no further product with ``K``).
    """
    # (V^T K V)^+ by one symmetric eigendecomposition (numpy's pinv costs more in overhead than in
    # flops on these k x k matrices, k <= recycle + 1)
    values, vectors = np.linalg.eigh(0.5 * (V.T @ KV + KV.T @ V))
    keep = np.abs(values) > 1e-12 * np.max(np.abs(values), initial=0.0)
    coef = -(vectors[:, keep] @ ((vectors[:, keep].T @ (V.T @ r)) / values[keep]))
    if np.all(np.isfinite(coef)):
        res = float(np.linalg.norm(r + KV @ coef))
        if res <= limit:
            return coef, res
    coef, *_ = np.linalg.lstsq(KV, -r, rcond=None)
    if not np.all(np.isfinite(coef)):
        return np.zeros(V.shape[1]), float(np.linalg.norm(r))
    return coef, float(np.linalg.norm(r + KV @ coef))


def _ruiz_scaling(K, iterations: int = 10) -> np.ndarray:
    """Diagonal ``D`` with every row of ``D K D`` of max-norm about 1 (Ruiz 2001, symmetric case)."""
    d = np.ones(K.shape[0])
    for _ in range(iterations):
        if sp.issparse(K):
            scaled = sp.diags(d) @ sp.csr_matrix(K) @ sp.diags(d)
            row_max = np.asarray(abs(scaled).max(axis=1).todense()).ravel()
        else:
            row_max = np.max(np.abs(d[:, None] * K * d[None, :]), axis=1)
        row_max[row_max == 0.0] = 1.0
        d = d / np.sqrt(row_max)
    return d


@register("al-sketch", problem=NLP, options=ALSketchOptions, constraints=("eq",), backends=("numba",),
          stochastic=True, requires=("scipy", "numba"))
def al_sketch(problem: NLP, options: ALSketchOptions):
    """AdaSketch-Newton (Hong et al. 2023, Algorithm 1): exact-AL line search, sketched KKT solves."""
    fallback = None
    if options.exact_fallback:
        from .al_newton import DirectKKTSolver

        fallback = DirectKKTSolver()
    if options.inner_solver == "minres":
        from ._krylov import MinresKKTSolver

        inner = MinresKKTSolver(options)
    else:
        inner = SketchKKTSolver(options)
    solver = ExactALNewton(inner, accuracy=options.accuracy,
                           sharpening=options.accuracy_sharpening, exact_fallback=fallback)
    return run(solver, problem, options, "al-sketch")
