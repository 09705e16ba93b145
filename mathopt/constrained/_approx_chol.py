r"""Randomized approximate Cholesky factorization of SDDM matrices, and PCG with it.

An SDDM matrix :math:`M` (symmetric, nonpositive off-diagonal entries,
diagonally dominant, nonsingular) is read as the Laplacian of a weighted
graph on its indices plus one extra *ground* vertex: an off-diagonal entry
:math:`M_{uv} < 0` is an edge of weight :math:`-M_{uv}`, and the excess
:math:`M_{vv} - \sum_{u\ne v}|M_{uv}| \ge 0` is an edge from ``v`` to the
ground. Gaussian elimination of a vertex ``v`` with (merged) neighbor
weights :math:`w_1 \le \dots \le w_d` (the ground among them) and
:math:`W = \sum_i w_i` writes the column :math:`-w_u / W` of a unit lower
triangular factor, the pivot :math:`W`, and replaces the star of ``v`` by
its Schur complement, the clique :math:`\sum_{i<j} (w_i w_j / W)\,(e_i -
e_j)(e_i - e_j)^\top`. The clique has :math:`d(d-1)/2` edges: the fill that
makes exact Cholesky of a 3-D grid Laplacian cost :math:`O(n^2)` flops.

Approximate elimination (Kyng & Sachdeva 2016; the sampling rule below is the
one of Gao, Kyng & Spielman 2023, Laplacians.jl's ``approxchol``) keeps
:math:`d - 1` edges instead: for :math:`i = 1, \dots, d-1` with
:math:`S_i = \sum_{k > i} w_k`, one neighbor :math:`j > i` is drawn with
probability :math:`w_j / S_i` and the edge :math:`(i, j)` gets weight
:math:`w_i S_i / W`. Its expectation is :math:`w_i w_j / W` for every pair, so
the sampled Schur complement is an unbiased estimate of the exact one, and
the sampled edges form a spanning tree of the neighbors (a grounded component
stays grounded, every pivot stays positive). The result is
:math:`M \approx L D L^\top` with ``nnz(L) = O(nnz(M) log n)`` in expectation
for a random elimination order, used as a preconditioner for conjugate
gradients (PCG), which then needs tens of iterations on grid Laplacians where
plain CG needs :math:`O(N)`.

Ours (not from the papers): the elimination order is fixed in advance (a
random permutation, seeded), and each edge is stored once, in the adjacency
list of whichever endpoint is eliminated first, so eliminating ``v`` finds all
of its current edges in its own list (GKS order vertices dynamically by
degree, which needs both endpoints' lists); parallel edges (from ``split`` and from earlier
samples) are kept apart in a star and sampled one by one (a pair of copies of one edge is a
self-loop and dropped), and merged only in the factor's column. Random numbers come from
``numpy.random.default_rng(seed)``, generated before the compiled kernel runs
(no global generator is seeded). The papers were read through their
descriptions; no code was copied.

References
----------
.. [1] R. Kyng, S. Sachdeva, "Approximate Gaussian elimination for Laplacians:
   fast, sparse, and simple", FOCS 2016 (arXiv:1605.02353).
.. [2] Y. Gao, R. Kyng, D. A. Spielman, "Robust and practical solution of
   Laplacian equations by approximate elimination", 2023 (arXiv:2303.00709).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numba as nb

from ..core.lazy import lazy_module
from ..core.numba_utils import csr_matvec as _csr_matvec

sp = lazy_module("scipy.sparse")

__all__ = ["ApproxCholesky", "approx_cholesky", "pcg"]


@nb.njit(cache=True)
def _eliminate(n, indptr, indices, data, order, rank, uniforms, split):
    """Approximate elimination in the order ``order`` (``rank[order[k]] = k``).

    Returns ``(colptr, rows, vals, pivots, used)``: column ``k`` of the unit lower
    factor (vertex ``order[k]``) has rows ``rows[colptr[k]:colptr[k+1]]`` (original
    indices) and values ``vals[...]``; ``pivots[k]`` its pivot; ``used`` the number of
    uniforms consumed, or -1 when ``uniforms`` ran out, -2 when a pivot is not positive
    (a component without a ground edge: a singular matrix).
    """
    # adjacency lists: edge e has neighbor nbr[e], weight wt[e], next edge nxt[e]; head[v] (-1: empty)
    nnz = indptr[n]
    cap = nnz * split + n + 16
    head = -np.ones(n, np.int64)
    nbr = np.zeros(cap, np.int64)
    wt = np.zeros(cap)
    nxt = -np.ones(cap, np.int64)
    free = -1  # free list of edge slots (linked through nxt)
    top = 0    # first never-used slot
    ground = np.zeros(n)
    for v in range(n):
        for p in range(indptr[v], indptr[v + 1]):
            u = indices[p]
            if u == v:
                ground[v] += data[p]
            else:
                ground[v] += data[p]
                if rank[v] < rank[u]:  # each edge once (split times), in the list of its earlier endpoint
                    for _ in range(split):
                        e = top
                        top += 1
                        nbr[e] = u
                        wt[e] = -data[p] / split
                        nxt[e] = head[v]
                        head[v] = e
    for v in range(n):
        if ground[v] < 0.0:
            ground[v] = 0.0  # round-off of an exactly dominant row
    colptr = np.zeros(n + 1, np.int64)
    rows = np.zeros(cap, np.int64)
    vals = np.zeros(cap)
    pivots = np.zeros(n)
    pos = -np.ones(n, np.int64)   # position of a neighbor in the current star
    star = np.zeros(n + 1, np.int64)
    sw = np.zeros(n + 1)
    used = 0
    nf = 0
    for k in range(n):
        v = order[k]
        # gather the star of v (multi-edges kept apart: each is sampled on its own)
        d = 0
        e = head[v]
        while e != -1:
            if d >= star.size:
                star = np.concatenate((star, np.zeros(star.size, np.int64)))
                sw = np.concatenate((sw, np.zeros(sw.size)))
            star[d] = nbr[e]
            sw[d] = wt[e]
            d += 1
            nxt_e = nxt[e]
            nxt[e] = free  # release the slot
            free = e
            e = nxt_e
        head[v] = -1
        if ground[v] > 0.0:
            if d >= star.size:
                star = np.concatenate((star, np.zeros(star.size, np.int64)))
                sw = np.concatenate((sw, np.zeros(sw.size)))
            star[d] = -1  # the ground vertex
            sw[d] = ground[v]
            d += 1
        W = 0.0
        for i in range(d):
            W += sw[i]
        if not W > 0.0:
            return colptr, rows, vals, pivots, -2
        pivots[k] = W
        # the factor's column (multi-edges merged)
        if nf + d > rows.size:
            grow = max(rows.size, nf + d)
            rows = np.concatenate((rows, np.zeros(grow, np.int64)))
            vals = np.concatenate((vals, np.zeros(grow)))
        start = nf
        for i in range(d):
            u = star[i]
            if u >= 0:
                if pos[u] == -1:
                    pos[u] = nf
                    rows[nf] = u
                    vals[nf] = -sw[i] / W
                    nf += 1
                else:
                    vals[pos[u]] -= sw[i] / W
        for p in range(start, nf):
            pos[rows[p]] = -1
        colptr[k + 1] = nf
        if d < 2:
            continue
        # sampled clique: neighbors by increasing weight, i joined to one later j ~ w_j
        perm = np.argsort(sw[:d])
        ws = sw[:d][perm]
        us = star[:d][perm]
        suffix = np.zeros(d + 1)
        for i in range(d - 1, -1, -1):
            suffix[i] = suffix[i + 1] + ws[i]
        if used + d - 1 > uniforms.size:
            return colptr, rows, vals, pivots, -1
        for i in range(d - 1):
            S = suffix[i + 1]
            if not S > 0.0:
                continue
            target = ws[i] + S * uniforms[used]  # the prefix sum of ws[i+1..] that is passed
            used += 1
            # find j > i with prefix(j - 1) < target <= prefix(j), prefix over ws[i+1..]
            lo, hi = i + 1, d - 1
            base = suffix[i]  # suffix[i] - suffix[j+1] = sum ws[i..j]
            while lo < hi:
                mid = (lo + hi) // 2
                if base - suffix[mid + 1] >= target:
                    hi = mid
                else:
                    lo = mid + 1
            j = lo
            weight = ws[i] * S / W
            a, b = us[i], us[j]
            if a == b:
                continue  # two copies of one edge: a self-loop, zero in a Laplacian
            if a < 0:
                ground[b] += weight
            elif b < 0:
                ground[a] += weight
            else:
                if rank[b] < rank[a]:
                    a, b = b, a
                if free != -1:
                    e = free
                    free = nxt[e]
                else:
                    if top >= nbr.size:
                        nbr = np.concatenate((nbr, np.zeros(nbr.size, np.int64)))
                        wt = np.concatenate((wt, np.zeros(wt.size)))
                        nxt = np.concatenate((nxt, -np.ones(nxt.size, np.int64)))
                    e = top
                    top += 1
                nbr[e] = b
                wt[e] = weight
                nxt[e] = head[a]
                head[a] = e
    return colptr, rows[:nf], vals[:nf], pivots, used


@nb.njit(cache=True)
def _ldl_solve(order, colptr, rows, vals, pivots, b):
    """``(L D L^T)^{-1} b``: forward substitution, diagonal, backward substitution."""
    y = b.copy()
    n = order.size
    for k in range(n):
        v = order[k]
        yv = y[v]
        for p in range(colptr[k], colptr[k + 1]):
            y[rows[p]] -= vals[p] * yv
    for k in range(n):
        y[order[k]] /= pivots[k]
    for k in range(n - 1, -1, -1):
        v = order[k]
        s = y[v]
        for p in range(colptr[k], colptr[k + 1]):
            s -= vals[p] * y[rows[p]]
        y[v] = s
    return y


@dataclass(frozen=True)
class ApproxCholesky:
    """``M ~ L D L^T`` in a (seeded random) elimination order; :meth:`solve` applies ``(L D L^T)^{-1}``.

    ``(L D L^T)^{-1}`` is symmetric positive definite (every pivot is positive),
    so it is a valid preconditioner for CG and MINRES.
    """

    order: np.ndarray
    colptr: np.ndarray
    rows: np.ndarray
    vals: np.ndarray
    pivots: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return (self.order.size, self.order.size)

    @property
    def nnz(self) -> int:
        """Stored off-diagonal entries of ``L``."""
        return int(self.rows.size)

    def solve(self, b) -> np.ndarray:
        b = np.asarray(b, dtype=float)
        if b.shape != (self.order.size,):
            raise ValueError(f"b must have shape ({self.order.size},), got {b.shape}")
        return _ldl_solve(self.order, self.colptr, self.rows, self.vals, self.pivots, b)

    def as_operator(self):
        """The factor's inverse as a ``scipy.sparse.linalg.LinearOperator``."""
        from scipy.sparse.linalg import LinearOperator

        return LinearOperator(self.shape, matvec=lambda v: self.solve(np.ravel(v)), dtype=float)


def check_sddm(M, name: str = "M", rtol: float = 1e-12):
    """``M`` as CSR after checking it is SDDM (square, symmetric, off-diagonals <= 0, diagonally dominant).

    Raises ``ValueError`` naming ``name`` otherwise.
    """
    if not sp.issparse(M):
        M = np.asarray(M, dtype=float)
        if M.ndim != 2:
            raise ValueError(f"{name} must be a square matrix, got shape {M.shape}")
    M = sp.csr_matrix(M, dtype=float)
    n = M.shape[0]
    if M.shape != (n, n):
        raise ValueError(f"{name} must be a square matrix, got shape {M.shape}")
    M.sum_duplicates()
    if not np.all(np.isfinite(M.data)):
        raise ValueError(f"{name} has non-finite entries")
    scale = float(np.max(np.abs(M.data), initial=0.0))
    asym = abs(M - M.T)
    if asym.nnz and float(asym.max()) > rtol * max(scale, 1e-300):
        raise ValueError(f"{name} is not symmetric")
    coo = M.tocoo()
    off = coo.row != coo.col
    if np.any(coo.data[off] > 0):
        raise ValueError(f"{name} is not SDDM: it has positive off-diagonal entries")
    diag = M.diagonal()
    offsum = np.asarray(abs(M).sum(axis=1)).ravel() - np.abs(diag)
    if np.any(diag - offsum < -rtol * np.maximum(diag, scale)):
        bad = int(np.argmin(diag - offsum))
        raise ValueError(f"{name} is not SDDM: row {bad} is not diagonally dominant "
                         f"(diagonal {diag[bad]:.3e} < off-diagonal sum {offsum[bad]:.3e})")
    return M


def approx_cholesky(M, seed: int = 0, split: int = 2) -> ApproxCholesky:
    """Approximate Cholesky factor of the SDDM matrix ``M`` (module docstring), seeded.

    ``split``: every edge enters the elimination as ``split`` parallel copies of
    weight ``w / split``, each sampled on its own (Kyng & Sachdeva's edge
    splitting; more samples, a better factor: on a 224 x 224 grid Laplacian PCG
    to 1e-10 takes 41 / 33 / 27 iterations with split = 1 / 2 / 3, factor nnz
    1.2 / 1.4 / 1.6 times the matrix's).

    Raises ``ValueError`` (naming ``M``) when ``M`` is not SDDM or has a
    component with no diagonal excess (a singular Laplacian block).
    """
    if isinstance(split, bool) or int(split) != split or split < 1:
        raise ValueError(f"split must be an integer >= 1, got {split!r}")
    M = check_sddm(M, "M")
    n = M.shape[0]
    rng = np.random.default_rng(seed)
    order = rng.permutation(n).astype(np.int64)
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n)
    indptr, indices = M.indptr.astype(np.int64), M.indices.astype(np.int64)
    size = 4 * split * max(M.nnz, 1) + n
    uniforms = rng.random(size)
    while True:
        colptr, rows, vals, pivots, used = _eliminate(n, indptr, indices, M.data, order, rank, uniforms, int(split))
        if used != -1:
            break
        uniforms = np.concatenate([uniforms, rng.random(uniforms.size)])  # same prefix: same factor
    if used == -2:
        raise ValueError("M is singular: a connected block of M has no diagonal excess (a pure Laplacian)")
    return ApproxCholesky(order, colptr, rows.copy(), vals.copy(), pivots)


@dataclass(frozen=True)
class PCGResult:
    x: np.ndarray
    iterations: int
    residual: float  # ||b - M x|| (2-norm)
    converged: bool


def pcg(M, b, factor=None, tol: float = 1e-10, maxiter: int | None = None, x0=None) -> PCGResult:
    """Preconditioned conjugate gradients for SPD ``M``, stopped at ``||b - M x|| <= tol ||b||``.

    ``factor`` is an :class:`ApproxCholesky`, None (plain CG) or anything with
    ``solve(r)``. With a sparse ``M`` and an :class:`ApproxCholesky` (or None)
    the whole iteration runs in one compiled kernel (no NumPy calls per
    iteration: on a loaded 2-core machine NumPy's multithreaded BLAS made each
    dot product of a 16k-vector cost 13 ms). The residual is updated by the
    recurrence and the true residual is checked before stopping.
    """
    b = np.asarray(b, dtype=float)
    maxiter = 10 * b.size if maxiter is None else int(maxiter)
    x = np.zeros_like(b) if x0 is None else np.array(x0, dtype=float)
    if sp.issparse(M) and (factor is None or isinstance(factor, ApproxCholesky)):
        M = sp.csr_matrix(M)
        f = factor if factor is not None else ApproxCholesky(np.zeros(0, np.int64), np.zeros(1, np.int64),
                                                             np.zeros(0, np.int64), np.zeros(0), np.zeros(0))
        x, it, res, ok = _pcg_kernel(M.indptr.astype(np.int64), M.indices.astype(np.int64), M.data.astype(float),
                                     b, x, factor is not None, f.order, f.colptr, f.rows, f.vals, f.pivots,
                                     float(tol), maxiter)
        return PCGResult(x, int(it), float(res), bool(ok))
    r = b - M @ x if x0 is not None else b.copy()
    target = tol * float(np.linalg.norm(b))
    res = float(np.linalg.norm(r))
    if res <= target:
        return PCGResult(x, 0, res, True)
    z = factor.solve(r) if factor is not None else r.copy()
    p = z.copy()
    rz = float(r @ z)
    for it in range(1, maxiter + 1):
        q = M @ p
        pq = float(p @ q)
        if not pq > 0.0:
            return PCGResult(x, it, float(np.linalg.norm(b - M @ x)), False)
        a = rz / pq
        x += a * p
        r -= a * q
        res = float(np.linalg.norm(r))
        if res <= target:
            res = float(np.linalg.norm(b - M @ x))
            if res <= target:
                return PCGResult(x, it, res, True)
            r = b - M @ x
        z = factor.solve(r) if factor is not None else r.copy()
        rz_new = float(r @ z)
        p = z + (rz_new / rz) * p
        rz = rz_new
    return PCGResult(x, maxiter, float(np.linalg.norm(b - M @ x)), False)


@nb.njit(cache=True)
def _dot(a, b):
    """A plain loop: Numba's np.dot calls the (multithreaded) BLAS."""
    s = 0.0
    for i in range(a.size):
        s += a[i] * b[i]
    return s


@nb.njit(cache=True)
def _pcg_kernel(indptr, indices, data, b, x, precondition, order, colptr, rows, vals, pivots, tol, maxiter):
    """The loop of :func:`pcg` for CSR ``M`` and an approximate Cholesky factor (or none)."""
    n = b.size
    q = np.empty(n)
    _csr_matvec(indptr, indices, data, x, q)
    r = b - q
    target = tol * np.sqrt(_dot(b, b))
    res = np.sqrt(_dot(r, r))
    if res <= target:
        return x, 0, res, True
    z = _ldl_solve(order, colptr, rows, vals, pivots, r) if precondition else r.copy()
    p = z.copy()
    rz = _dot(r, z)
    for it in range(1, maxiter + 1):
        _csr_matvec(indptr, indices, data, p, q)
        pq = _dot(p, q)
        if not pq > 0.0:
            _csr_matvec(indptr, indices, data, x, q)
            return x, it, np.sqrt(_dot(b - q, b - q)), False
        a = rz / pq
        x += a * p
        r -= a * q
        res = np.sqrt(_dot(r, r))
        if res <= target:
            _csr_matvec(indptr, indices, data, x, q)
            r = b - q
            res = np.sqrt(_dot(r, r))
            if res <= target:
                return x, it, res, True
        z = _ldl_solve(order, colptr, rows, vals, pivots, r) if precondition else r.copy()
        rz_new = _dot(r, z)
        p = z + (rz_new / rz) * p
        rz = rz_new
    _csr_matvec(indptr, indices, data, x, q)
    return x, maxiter, np.sqrt(_dot(b - q, b - q)), False
