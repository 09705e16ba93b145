"""Fixed-point iterations of a nonexpansive operator and their infimal displacement vector.

For a nonexpansive :math:`T : \\mathbb{R}^d \\to \\mathbb{R}^d` the set
:math:`\\overline{\\mathrm{range}}(I - T)` is closed and convex, and its least-norm element

.. math::

   v = \\Pi_{\\overline{\\mathrm{range}}(I - T)}(0)

is the *infimal displacement vector* (Pazy 1971). :math:`v = 0` when :math:`T` has a fixed
point; for the Douglas-Rachford / ADMM / PDHG operator of an infeasible convex program
:math:`v \\ne 0` and its blocks are the infeasibility certificates (Banjac et al. 2019).

Three iterations are provided:

* ``acceleration="none"`` (Krasnosel'skii-Mann / Picard): :math:`z_{k+1} = T z_k`. Its
  differences :math:`z_k - z_{k+1}` converge to :math:`v` at rate :math:`O(1/\\sqrt{k})` in
  norm and the normalized iterates :math:`(z_0 - z_k)/k` at :math:`O(1/k)` (Park & Ryu [1]_,
  Theorems 1 and 2: :math:`O(1/k)` and :math:`O(1/k^2)` for the squared norms).
* ``acceleration="halpern"``: :math:`z_{k+1} = \\beta_k z_0 + (1 - \\beta_k) T z_k` with
  :math:`\\beta_k = 1/(k+2)`. Its fixed-point residual :math:`z_k - T z_k` and the normalized
  iterate :math:`2 (z_0 - z_k)/k` converge to :math:`v` at :math:`O(1/k)` in norm, the optimal
  rate (Park & Ryu [1]_, Theorem 3 and the lower bound of Section 5). Optional restarts put
  the anchor :math:`z_0` at the current point when the residual has fallen below
  ``restart_decay`` times its value at the anchor, or when the iterations since the anchor
  reach ``restart_fraction`` of all iterations (deviations from the paper, which does not
  restart; the second kind moves the anchor into the asymptotic regime of an infeasible
  problem, see docs/feasibility.md).

* ``acceleration="anderson"``: safeguarded Anderson acceleration (Zhang, O'Donoghue & Boyd [3]_,
  SCS 3's scheme): every ``anderson_interval`` iterations the next iterate is the Anderson point
  :math:`T z_k - (S - Y)\\gamma` of the last ``anderson_memory`` steps :math:`S` and residual
  changes :math:`Y` (type II: :math:`\\gamma` minimizes :math:`\\|g_k - Y\\gamma\\|` with a Tikhonov
  term; type I: :math:`S^TY\\gamma = S^Tg_k`; :mod:`mathopt.feasibility._anderson_kernel`), kept
  only if its residual is at most ``anderson_safeguard`` times :math:`\\|g_k\\|`, else the next
  iterate is :math:`T z_k`. For a map with a fixed point it converges faster when the iteration
  is locally linear; no rate towards :math:`v` is claimed for an infeasible problem (the
  differences of an accelerated sequence are not those Park & Ryu and Banjac et al. analyse), so
  certificates are taken from plain iterations (``admm-qp`` does this, see
  :mod:`mathopt.feasibility.admm`).

The estimate :math:`v_k` of :math:`v` returned is :math:`z_k - T z_k` for both iterations
(for the plain iteration it is the difference :math:`z_k - z_{k+1}`).

References
----------
.. [1] J. Park, E. K. Ryu, "Accelerated infeasibility detection of constrained optimization
   and fixed-point iterations", ICML 2023, arXiv:2303.15876.
.. [2] A. Pazy, "Asymptotic behavior of contractions in Hilbert space", Israel J. Math. 9 (1971).
.. [3] J. Zhang, B. O'Donoghue, S. Boyd, "Globally convergent type-I Anderson acceleration for
   nonsmooth fixed-point iterations", SIAM J. Optim. 30 (2020).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

ACCELERATIONS = ("none", "halpern", "anderson")


def halpern_point(anchor, image, j: int):
    """The Halpern (anchored) update :math:`\\beta_j z_0 + (1 - \\beta_j) T z_j`, :math:`\\beta_j = 1/(j+2)`,
    with ``j`` the iterations since the anchor was set."""
    beta = 1.0 / (j + 2)
    return beta * anchor + (1.0 - beta) * image


class AndersonMixer:
    """The Anderson state of :func:`fixed_point` (Euclidean metric): the safeguard test here, the memory
    and the mixing by the compiled loop's own :func:`mathopt.feasibility._anderson_kernel.anderson_record`
    (the rule of ``admm-qp``'s :func:`~mathopt.feasibility._anderson_kernel.anderson_iterations`), one
    step per call."""

    def __init__(self, size: int, memory: int, interval: int, type_one: bool, regularization: float,
                 safeguard: float):
        self.steps, self.changes = np.zeros((memory, size)), np.zeros((memory, size))
        self.previous_point, self.previous_residual, self.residual = np.zeros(size), np.zeros(size), np.zeros(size)
        self.counters = np.zeros(7, dtype=np.int64)
        self.accepted = self.rejected = 0
        self.pending, self.saved_image, self.saved_norm = False, None, 0.0
        self.interval, self.type_one, self.regularization, self.safeguard = interval, type_one, regularization, safeguard
        self.metric = np.ones(size)

    def next_point(self, z: np.ndarray, image: np.ndarray, residual_norm: float) -> np.ndarray:
        """The iterate after ``z``, whose image is ``image`` (residual norm ``residual_norm``)."""
        from ._anderson_kernel import anderson_record
        from .options import ANDERSON_MAX_WEIGHT

        if self.pending:
            self.pending = False
            if not residual_norm <= self.safeguard * self.saved_norm:  # rejected (or not finite)
                self.rejected += 1
                return self.saved_image
            self.accepted += 1
        mixed = np.empty_like(z)
        if anderson_record(np.asarray(z, dtype=float), np.asarray(image, dtype=float), self.residual, self.metric,
                           self.steps, self.changes, self.previous_point, self.previous_residual, self.counters,
                           self.interval, self.regularization, ANDERSON_MAX_WEIGHT, self.type_one, mixed):
            self.pending, self.saved_image, self.saved_norm = True, image, residual_norm
            return mixed
        return image


@dataclass(frozen=True)
class FixedPointResult:
    """Outcome of :func:`fixed_point`.

    Attributes
    ----------
    z : ndarray
        The last iterate :math:`z_k`.
    nit : int
        Iterations performed (applications of T).
    displacement : ndarray
        The estimate :math:`v_k = z_{k-1} - T z_{k-1}` of the infimal displacement vector at
        the last iterate where T was applied.
    normalized : ndarray
        The normalized iterate: :math:`(z_0 - z_k)/k` (plain, and Anderson, for which no rate is claimed) or :math:`2 (z_0 - z_k)/k`
        (Halpern, anchor :math:`z_0` = the last restart point); exact for a translation
        :math:`T z = z - v`.
    residual_norms : ndarray
        :math:`\\|z_j - T z_j\\|_2` for :math:`j = 0, \\ldots, k-1`.
    differences : ndarray or None
        The estimates :math:`v_j = z_j - T z_j`, one row per iteration (with
        ``keep_differences=True``).
    restarts : int
        Number of Halpern restarts.
    anderson : tuple
        (accepted, rejected) Anderson points (``acceleration="anderson"``; else (0, 0)).
    """

    z: np.ndarray
    nit: int
    displacement: np.ndarray
    normalized: np.ndarray
    residual_norms: np.ndarray
    differences: np.ndarray | None
    restarts: int
    anderson: tuple = (0, 0)


def fixed_point(T: Callable[[np.ndarray], np.ndarray], z0, acceleration: str = "none", *,
                max_iter: int = 1000, tol: float = 0.0, restart_decay: float | None = None,
                restart_fraction: float | None = None, keep_differences: bool = False,
                anderson_memory: int = 10, anderson_type: int = 2, anderson_interval: int = 5,
                anderson_regularization: float = 1e-10, anderson_safeguard: float = 1.0) -> FixedPointResult:
    """Iterate a nonexpansive operator ``T`` from ``z0`` and estimate its infimal displacement vector.

    Parameters
    ----------
    T : callable
        ``T(z) -> ndarray`` of the same shape, nonexpansive in the Euclidean norm (or in
        any fixed norm: the iterations do not depend on the norm).
    z0 : array
        Starting point (also the Halpern anchor).
    acceleration : {"none", "halpern", "anderson"}, default "none"
        The plain, Halpern or Anderson-accelerated iteration (see the module docstring).
    max_iter : int, default 1000
        Number of applications of T.
    tol : float, default 0.0
        Stop early when :math:`\\|z_k - T z_k\\|_2 \\le` ``tol`` (a fixed point up to ``tol``).
    restart_decay : float or None, default None
        Halpern only: move the anchor to :math:`z_k` when the residual is at most
        ``restart_decay`` times the residual at the anchor (e.g. 0.2); None never restarts.
    restart_fraction : float or None, default None
        Halpern only: also move the anchor when the iterations since the anchor reach this
        fraction of all iterations (e.g. 0.2: the anchors move geometrically forward).
    keep_differences : bool, default False
        Keep every :math:`v_j` in ``result.differences`` (``max_iter x d`` floats).
    anderson_memory, anderson_type, anderson_interval, anderson_regularization, anderson_safeguard
        Anderson only: as the options of ``admm-qp``
        (:class:`~mathopt.feasibility.options.AndersonOptions`), same defaults (10, 2, 5, 1e-10, 1.0).

    Examples
    --------
    A translation restricted to a half-line has displacement ``v = -1`` (it pushes right):

    >>> import numpy as np
    >>> T = lambda z: np.maximum(z + 1.0, 0.0)
    >>> out = fixed_point(T, np.zeros(1), "halpern", max_iter=50)
    >>> float(np.round(out.displacement[0], 6))
    -1.0
    """
    if acceleration not in ACCELERATIONS:
        raise ValueError(f"acceleration must be one of {ACCELERATIONS}, got {acceleration!r}")
    if restart_decay is not None and not 0.0 < restart_decay < 1.0:
        raise ValueError(f"restart_decay must be in (0, 1) or None, got {restart_decay!r}")
    if restart_fraction is not None and not 0.0 < restart_fraction < 1.0:
        raise ValueError(f"restart_fraction must be in (0, 1) or None, got {restart_fraction!r}")
    if acceleration == "anderson":
        _check_anderson(anderson_memory, anderson_type, anderson_interval, anderson_regularization,
                        anderson_safeguard)
    z = np.array(z0, dtype=float)
    mixer = (AndersonMixer(z.size, anderson_memory, anderson_interval, anderson_type == 1,
                           float(anderson_regularization), float(anderson_safeguard))
             if acceleration == "anderson" else None)
    anchor, anchor_residual, since_anchor, restarts = z.copy(), np.inf, 0, 0
    norms, kept = [], []
    displacement = np.zeros_like(z)
    nit = 0
    for nit in range(1, max_iter + 1):
        image = np.asarray(T(z), dtype=float)
        displacement = z - image
        norms.append(float(np.linalg.norm(displacement)))
        if keep_differences:
            kept.append(displacement.copy())
        if acceleration == "none":
            z = image
        elif mixer is not None:
            z = mixer.next_point(z, image, norms[-1])
        else:
            if since_anchor == 0:
                anchor_residual = norms[-1]
            elif ((restart_decay is not None and norms[-1] <= restart_decay * anchor_residual)
                  or (restart_fraction is not None and since_anchor >= restart_fraction * (nit - 1))):
                anchor, anchor_residual, since_anchor = z.copy(), norms[-1], 0
                restarts += 1
            z = halpern_point(anchor, image, since_anchor)
            since_anchor += 1
        if norms[-1] <= tol:
            break
    steps = since_anchor if acceleration == "halpern" else nit
    scale = (2.0 if acceleration == "halpern" else 1.0) / max(steps, 1)
    start = anchor if acceleration == "halpern" else np.asarray(z0, dtype=float)
    return FixedPointResult(z=z, nit=nit, displacement=displacement, normalized=scale * (start - z),
                            residual_norms=np.array(norms),
                            differences=np.array(kept) if keep_differences else None, restarts=restarts,
                            anderson=(mixer.accepted, mixer.rejected) if mixer is not None else (0, 0))


def _check_anderson(memory, kind, interval, regularization, safeguard) -> None:
    """Raise ValueError naming the first bad Anderson argument of :func:`fixed_point`."""
    for name, value in (("anderson_memory", memory), ("anderson_interval", interval)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if kind not in (1, 2):
        raise ValueError(f"anderson_type must be 1 or 2, got {kind!r}")
    if not (isinstance(regularization, (int, float)) and 0.0 <= regularization < np.inf):
        raise ValueError(f"anderson_regularization must be a finite number >= 0, got {regularization!r}")
    if not (isinstance(safeguard, (int, float)) and 0.0 < safeguard < np.inf):
        raise ValueError(f"anderson_safeguard must be a finite number > 0, got {safeguard!r}")
