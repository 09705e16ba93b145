"""Mirror Sinkhorn on general smooth convex transport objectives vs POT's conditional gradients and cvxpy.

Issue 17, section 2. Objectives over U(a, b) (a = b uniform, C = squared distances between uniform
points in the unit square, normalized to max 1), lam = ``--lam-scale`` * n, eps = ``--eps``:

* ``quad``:     F(P) = <C, P> + lam/2 ||P||_F^2                  (peers: ot.optim.cg, ot.smooth.smooth_ot_dual)
* ``entquad``:  F(P) = <C, P> + eps sum P log P + lam/2 ||P||_F^2 (peer: ot.optim.gcg)
* ``refdist``:  F(P) = <C, P> + lam/2 ||P - P_ref||_F^2 (squared distance to a reference plan; peer: cg)
* ``rowshape``: F(P) = <C, P> + lam/2 ||P x - t||^2 (a convex penalty on each row's barycentre; peer: cg)
* ``tokens``:   token-to-expert assignment (``make_token_instance``: n tokens x ``--experts`` experts, a = 1/n,
  b = 1/experts (balanced experts), C = negative affinity of random embeddings, normalized to [0, 1]);
  F(P) = <C, P> + lam/2 ||P||_F^2 with lam = ``--token-lam-scale`` * n: the quadratically regularized
  (sparse, smooth) relaxation of the balanced assignment (Blondel et al. 2018; the smooth relaxation used
  for token routing by Liu, Puigcerver & Blondel 2023) (peers: ot.optim.cg, ot.smooth.smooth_ot_dual)
* ``tokens-graph``: the same plus mu/2 tr(P^T L P) = mu/2 sum_{(i,k) in E} ||P_i - P_k||^2, L the Laplacian
  of the symmetric k-nearest-neighbour graph of the token embeddings, mu = ``--graph-weight`` * lam:
  similar tokens are routed alike (Laplacian-regularized OT, Flamary et al. 2014) (peer: ot.optim.cg)

and cvxpy/Clarabel at n <= ``--cvxpy-max-n``. Every plan is rounded onto U(a, b) (Altschuler et al.
2017, Alg. 2) before F is evaluated. Timing:

* mirror-sinkhorn (full projection, the default for these objectives; Algorithm 1 = projection "half"
  too up to ``--half-max-n``; with ``--abpg`` also ``acceleration="abpg"``): one solve per iteration budget (2, 3, 6, 10, 20, 30, 60, ...;
  stopping tests that cannot fire), each timed alone, until a solve takes over half the time limit.
* ot.optim.cg / gcg: ONE run (``--pot-time-limit`` per size); the gradient callback ``df`` (called once
  per outer iteration) records the wall time minus the time spent evaluating F there.
* ot.smooth.smooth_ot_dual (``quad`` only, reg = lam, reg_type "l2"): one run per iteration budget.
* cvxpy: Clarabel at 1e-12 tolerances, one point (compilation included).

From ``--single-run-min-n`` on (default 2000) mirror-sinkhorn is instead ONE solve (stopping test
gap_tol 1e-8, ``max_time`` = the time limit) timed by its callback (``run_mirror_once``).

Reference F*: the lowest F of all runs and of an untimed long mirror-sinkhorn run (``--reference-time``,
0 = none), with a CERTIFIED lower bound: the Frank-Wolfe bound F(R) + min_Q <grad F(R), Q - R> at the
final plans (the linear step solved exactly by ot.emd; up to ``--fw-bound-max-n``), the certified gaps of
the single mirror-sinkhorn run (c-transform dual, ``run_mirror_once``), smooth_ot_dual's dual value
(``quad``, ``tokens``), and for the separable ``entquad`` a Lagrangian dual bound
(``entquad_dual_bound``, ``--dual-ascent`` rounds); the table states to which
relative accuracy F* is known. Prints a table of time-to-target and writes figures
``transport_general_<objective>_n<n>.png`` and ``transport_general.md`` to ``--out``
(default ``bench-out/``; ``--out docs`` writes the figures to ``docs/figures/``).
"""
from __future__ import annotations

import argparse
import math
import os
import subprocess
import time

import numpy as np


def make_instance(n, seed):
    import ot

    rng = np.random.default_rng(seed)
    C = ot.dist(rng.random((n, 2)), rng.random((n, 2)))
    C /= C.max()
    a = np.full(n, 1.0 / n)
    return a, a.copy(), C


TOKEN_KINDS = ("tokens", "tokens-graph")


def make_token_instance(n, experts, seed, dim=32, neighbours=10):
    """n tokens x ``experts`` experts: tokens and expert centres are standard normal in R^dim, the cost is the
    negative affinity C_ij = max(A) - A_ij, A = tokens @ centres^T / sqrt(dim), normalized to max 1;
    a = 1/n (every token routed once), b = 1/experts (balanced experts). Also returns the (edges x n) signed
    incidence matrix B of the symmetric ``neighbours``-nearest-neighbour graph of the tokens (Euclidean), so
    that B^T B is the graph Laplacian L and tr(P^T L P) = ||B P||_F^2."""
    import scipy.sparse as sp
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(seed)
    tokens = rng.normal(size=(n, dim))
    centres = rng.normal(size=(experts, dim))
    affinity = tokens @ centres.T / np.sqrt(dim)
    C = affinity.max() - affinity
    C /= C.max()
    _, nearest = cKDTree(tokens).query(tokens, min(neighbours, n - 1) + 1)
    edges = {(min(i, k), max(i, k)) for i in range(n) for k in nearest[i, 1:] if k != i}
    i, k = np.array(sorted(edges)).T
    rows = np.arange(i.size)
    incidence = sp.csr_matrix((np.r_[np.ones(i.size), -np.ones(i.size)], (np.r_[rows, rows], np.r_[i, k])),
                              shape=(i.size, n))
    return np.full(n, 1.0 / n), np.full(experts, 1.0 / experts), C, incidence


def objective_functions(kind, C, lam, eps, incidence=None, mu=0.0):
    """F and grad F in NumPy (the same callables for every solver; POT's cg/gcg get them as f/df minus the
    part they handle themselves: see ``run_pot``)."""
    n, m = C.shape
    if kind == "refdist":
        reference = _reference_plan(n, m)
        shifted = C - lam * reference
        offset = 0.5 * lam * float(np.sum(reference * reference))

        def f(P):
            return float(np.vdot(shifted, P) + 0.5 * lam * np.vdot(P, P)) + offset

        def g(P):
            return shifted + lam * P
        return f, g
    if kind == "rowshape":
        x, target = _row_shape(n, m)

        def f(P):
            r = P @ x - target
            return float(np.vdot(C, P) + 0.5 * lam * (r @ r))

        def g(P):
            return C + lam * np.outer(P @ x - target, x)
        return f, g
    if kind == "tokens-graph":
        def f(P):
            BP = incidence @ P
            return float(np.vdot(C, P) + 0.5 * lam * np.vdot(P, P) + 0.5 * mu * np.vdot(BP, BP))

        def g(P):
            return C + lam * P + mu * (incidence.T @ (incidence @ P))
        return f, g
    if kind in ("quad", "tokens"):
        def f(P):
            return float(np.vdot(C, P) + 0.5 * lam * np.vdot(P, P))

        def g(P):
            return C + lam * P
    else:
        def f(P):
            return float(np.vdot(C, P) + eps * np.vdot(P, np.log(np.maximum(P, 1e-300))) + 0.5 * lam * np.vdot(P, P))

        def g(P):
            return C + eps * (np.log(np.maximum(P, 1e-300)) + 1.0) + lam * P
    return f, g


def _reference_plan(n, m):
    """A reference plan for ``refdist``: the independent coupling blended with a banded one (mass 1)."""
    i, j = np.meshgrid(np.arange(n) / n, np.arange(m) / m, indexing="ij")
    band = np.exp(-((i - j) ** 2) / 0.01)
    band /= band.sum()
    return 0.5 * band + 0.5 / (n * m)


def _row_shape(n, m):
    """``rowshape``: penalize the barycentre sum_j P_ij x_j of each row against a target t_i (x in [0, 1])."""
    x = np.linspace(0.0, 1.0, m)
    target = np.linspace(0.2, 0.8, n) / n  # rows of mass 1/n
    return x, target


BUDGETS = [k * 10 ** e for e in range(7) for k in (1, 2, 3, 6)][1:]  # 2, 3, 6, 10, 20, 30, 60, 100, ...


def run_mirror(a, b, C, f, g, time_limit, step_size, projection="full", first_budget=3, acceleration="none"):
    """One solve per iteration budget (3, 6, 10, 20, ...; stopping tests that cannot fire), each timed alone,
    until a solve takes more than half the time limit; returns the points and the last plan."""
    import mathopt
    from mathopt.transport.mirror_sinkhorn import round_to_polytope

    problem = mathopt.TransportProblem(a, b, objective=f, gradient=g)
    fixed = {"gap_tol": 1e-300, "objective_change_tol": 1e-300, "projection": projection, "step_size": step_size,
             "acceleration": acceleration}
    mathopt.solve(problem, method="mirror-sinkhorn", max_iter=3, **fixed)  # compile
    points = []
    for budget in [k for k in BUDGETS if k >= first_budget]:
        t0 = time.perf_counter()
        r = mathopt.solve(problem, method="mirror-sinkhorn", max_iter=budget, **fixed)
        elapsed = time.perf_counter() - t0
        points.append((elapsed, f(round_to_polytope(r.plan, a, b)), budget))
        if elapsed > time_limit / 2 or r.nit < budget:
            break
    return points, round_to_polytope(r.plan, a, b)


def run_mirror_once(a, b, f, g, time_limit, gap_tol=1e-8):
    """ONE mirror-sinkhorn solve (defaults: full projection; stopping test gap_tol, ``max_time`` = time_limit)
    whose callback records, at every iterate, the driver's elapsed time and F at the rounded iterate (the
    driver's own ``info``, so the rounding and that evaluation of F count as solver time: in the peers' favour).
    For large n, where re-solving per budget (``run_mirror``) costs ~2x the longest run. Returns the points,
    the final rounded plan, and certified lower bounds F(R_t) - gap_t on F* at the iterates t where the
    solver's certified gap (c-transform dual of the linear problem, every 10 iterations) was computed."""
    import mathopt
    from mathopt.transport.mirror_sinkhorn import round_to_polytope

    points, lower = [], []

    def record(info):
        points.append((info.elapsed, info.fun, info.nit))
        if info.nit % 10 == 0 and math.isfinite(info.residuals.get("gap", math.inf)):
            lower.append(info.fun - info.residuals["gap"])
        return False

    problem = mathopt.TransportProblem(a, b, objective=f, gradient=g)
    mathopt.solve(mathopt.TransportProblem(a[:3] / a[:3].sum(), b[:3] / b[:3].sum(), objective=lambda P: 0.5 * np.vdot(P, P),
                                           gradient=lambda P: P), method="mirror-sinkhorn", max_iter=3)  # compile
    r = mathopt.solve(problem, method="mirror-sinkhorn", gap_tol=gap_tol, max_time=time_limit, callback=record)
    print(f"  mirror-sinkhorn single run: {r.status.name}, {r.nit} its, {r.extra['inner_iterations']} Sinkhorn "
          f"passes, {points[-1][0]:.1f} s", flush=True)
    return points, round_to_polytope(r.plan, a, b), max(lower, default=-math.inf)


def reference_mirror(a, b, f, g, max_time):
    """An untimed long mirror-sinkhorn run (full projection, certified gap 1e-10, F stagnant to 1e-9 or
    ``max_time`` s): a
    candidate for F* and, through its certificate, a lower bound on F*."""
    import mathopt
    from mathopt.transport.mirror_sinkhorn import round_to_polytope

    problem = mathopt.TransportProblem(a, b, objective=f, gradient=g)
    r = mathopt.solve(problem, method="mirror-sinkhorn", projection="full", gap_tol=1e-10, max_time=max_time)
    return round_to_polytope(r.plan, a, b), r


def run_pot(a, b, C, f, g, kind, lam, eps, time_limit, max_iter):
    """ONE run of ot.optim.gcg (entquad: POT handles <C, P> + eps sum P log P, we give lam/2 ||P||^2) or
    ot.optim.cg (the other objectives: POT handles <C, P>, we give F - <C, P> and its gradient); the time
    of each outer iteration is read in the gradient callback, minus the time spent evaluating F there."""
    import ot
    from mathopt.transport.mirror_sinkhorn import round_to_polytope

    points = []
    clock = {"t0": 0.0, "excluded": 0.0, "k": 0}

    class Stop(Exception):
        pass

    if kind in ("quad", "entquad", "tokens"):
        def rest(G):
            return 0.5 * float(np.sum(G * G))

        def rest_gradient(G):
            return G
        weight = lam
    else:
        def rest(G):
            return f(G) - float(np.vdot(C, G))

        def rest_gradient(G):
            return g(G) - C
        weight = 1.0

    def df(G):
        now = time.perf_counter()
        elapsed = now - clock["t0"] - clock["excluded"]
        points.append((elapsed, f(round_to_polytope(G, a, b)), clock["k"]))
        clock["k"] += 1
        clock["excluded"] += time.perf_counter() - now
        if elapsed > time_limit:
            raise Stop
        return rest_gradient(G)

    clock["t0"] = time.perf_counter()
    try:
        if kind == "entquad":
            G = ot.optim.gcg(a, b, C, eps, lam, rest, df, numItermax=max_iter, numInnerItermax=200,
                             stopThr=0.0, stopThr2=0.0)
        else:
            G = ot.optim.cg(a, b, C, weight, rest, df, numItermax=max_iter, stopThr=0.0, stopThr2=0.0)
        elapsed = time.perf_counter() - clock["t0"] - clock["excluded"]
        points.append((elapsed, f(round_to_polytope(G, a, b)), clock["k"]))
    except Stop:
        pass
    return points


def frank_wolfe_bound(a, b, g, plan):
    """A certified lower bound on F*: F(R) - <grad F(R), R - Q*> with Q* = argmin_{U(a, b)} <grad F(R), Q>
    solved exactly by ot.emd (convexity: F* >= F(R) + min_Q <grad F(R), Q - R>); R = ``plan``, feasible."""
    import ot

    gradient = g(plan)
    return -float(np.sum(gradient * plan)) + float(ot.emd2(a, b, gradient, numItermax=10 ** 8))


def run_smooth_dual(a, b, C, f, lam, time_limit):
    """POT's dedicated solver of the quad objective: ot.smooth.smooth_ot_dual(reg=lam, reg_type="l2")
    (L-BFGS-B on the smooth dual of Blondel et al. 2018); one run per iteration budget. Also returns
    the dual value of the longest run, a lower bound on F*."""
    import ot
    from mathopt.transport.mirror_sinkhorn import round_to_polytope

    points, budget, dual = [], 10, None
    while True:
        t0 = time.perf_counter()
        G, log = ot.smooth.smooth_ot_dual(a, b, C, lam, reg_type="l2", numItermax=budget, stopThr=1e-15, log=True)
        elapsed = time.perf_counter() - t0
        points.append((elapsed, f(round_to_polytope(G, a, b)), budget))
        alpha, beta = log["alpha"], log["beta"]
        dual = float(alpha @ a + beta @ b - np.sum(np.maximum(alpha[:, None] + beta[None, :] - C, 0) ** 2) / (2 * lam))
        if elapsed > time_limit / 3 or budget >= 30000:
            return points, dual
        budget = budget * 3 if str(budget)[0] == "1" else budget * 10 // 3


def run_cvxpy(a, b, C, kind, lam, eps, incidence=None, mu=0.0):
    import cvxpy as cp

    n, m = C.shape
    P = cp.Variable((n, m), nonneg=True)
    obj = cp.sum(cp.multiply(C, P))
    if kind in ("quad", "entquad") + TOKEN_KINDS:
        obj = obj + 0.5 * lam * cp.sum_squares(P)
    if kind == "tokens-graph":
        obj = obj + 0.5 * mu * cp.sum_squares(incidence @ P)
    if kind == "entquad":
        obj = obj - eps * cp.sum(cp.entr(P))
    if kind == "refdist":
        obj = obj + 0.5 * lam * cp.sum_squares(P - _reference_plan(n, m))
    if kind == "rowshape":
        x, target = _row_shape(n, m)
        obj = obj + 0.5 * lam * cp.sum_squares(P @ x - target)
    prob = cp.Problem(cp.Minimize(obj), [cp.sum(P, axis=1) == a, cp.sum(P, axis=0) == b])
    t0 = time.perf_counter()
    prob.solve(solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    return time.perf_counter() - t0, np.maximum(P.value, 0.0)


def time_to(points, ref, target):
    """The shortest time of a point at relative sub-optimality <= target (None: none)."""
    times = [t for t, v, _ in points if (v - ref) / abs(ref) <= target]
    return min(times) if times else None


def _entquad_inner(C, s, lam, eps, w=None, newton=200):
    """w = log p for p = argmin_{p >= 0} C p + eps p log p + lam/2 p^2 - s p, entrywise: Newton's method on
    the convex increasing h(w) = C - s + eps (w + 1) + lam e^w, started right of its root (monotone
    convergence; a previous w is moved right of the root first). Returns w and the residual max |h|."""
    start = np.minimum((s - C) / eps - 1.0, 5.0)
    w = start if w is None else np.maximum(w, np.minimum(w + 1.0, start))
    for _ in range(newton):
        e = lam * np.exp(w)
        h = C - s + eps * (w + 1.0) + e
        if float(np.max(np.abs(h))) < 1e-13:
            break
        w = w - h / (eps + e)
    return w, float(np.max(np.abs(C - s + eps * (w + 1.0) + lam * np.exp(w))))


def entquad_dual_bound(a, b, C, lam, eps, plan, gradient, rounds=50, ascent=60):
    """A certified lower bound on F* for the separable ``entquad`` F = sum_ij phi_ij(P_ij),
    phi(p) = C p + eps p log p + lam/2 p^2: weak Lagrangian duality,

        F* >= D(f, g) = <a, f> + <b, g> + sum_ij min_{p >= 0} [phi_ij(p) - (f_i + g_j) p]

    for any potentials (f, g). Start: grad F(plan) ~ f_i + g_j (weighted least squares, ``rounds``
    alternations); then ``ascent`` rounds of block dual ascent (one Newton step on every f_i, then on every
    g_j: f_i += (a_i - sum_j p_ij) / sum_j dp_ij/ds, dp/ds = 1 / (eps / p + lam)); the best D is returned,
    each with its inner minimizers computed by ``_entquad_inner`` to a residual below 1e-9. Unlike the
    Frank-Wolfe bound this stays tight when optimal entries underflow (their terms are ~ -eps p)."""
    f = np.zeros(a.size)
    g = np.zeros(b.size)
    for _ in range(rounds):
        f = ((plan * (gradient - g[None, :])).sum(axis=1)) / a
        g = ((plan * (gradient - f[:, None])).sum(axis=0)) / b
    best, w = -np.inf, None
    for k in range(ascent + 1):
        s = f[:, None] + g[None, :]
        w, residual = _entquad_inner(C, s, lam, eps, w)
        if residual > 1e-9:
            raise RuntimeError(f"entquad dual bound: Newton residual {residual:g}")
        p = np.exp(w)
        value = float(a @ f + b @ g + ((C - s) * p + eps * p * w + 0.5 * lam * p * p).sum())
        best = max(best, value)
        if k == ascent:
            break
        slope = 1.0 / (eps / np.maximum(p, 1e-300) + lam)
        if k % 2 == 0:
            f = f + (a - p.sum(axis=1)) / np.maximum(slope.sum(axis=1), 1e-300)
        else:
            g = g + (b - p.sum(axis=0)) / np.maximum(slope.sum(axis=0), 1e-300)
    return best


TITLES = {"quad": "F = <C,P> + lam/2 ||P||^2", "entquad": "F = <C,P> + eps sum P log P + lam/2 ||P||^2",
          "refdist": "F = <C,P> + lam/2 ||P - P_ref||^2", "rowshape": "F = <C,P> + lam/2 ||P x - t||^2",
          "tokens": "tokens x experts, F = <C,P> + lam/2 ||P||^2",
          "tokens-graph": "tokens x experts, F = <C,P> + lam/2 ||P||^2 + mu/2 tr(P^T L P)"}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--objectives", nargs="+", default=["quad", "entquad", "refdist", "rowshape"],
                        choices=list(TITLES))
    parser.add_argument("--lam-scale", type=float, default=1.0)
    parser.add_argument("--eps", type=float, default=1e-3)
    parser.add_argument("--experts", type=int, default=64, help="tokens / tokens-graph: number of experts")
    parser.add_argument("--token-lam-scale", type=float, default=0.1,
                        help="tokens / tokens-graph: lam = this * n (n = number of tokens)")
    parser.add_argument("--graph-weight", type=float, default=0.1, help="tokens-graph: mu = this * lam")
    parser.add_argument("--time-limit", type=float, default=30.0, help="seconds per solver and instance")
    parser.add_argument("--pot-max-iter", type=int, default=100000)
    parser.add_argument("--pot-time-limit", type=float, nargs="+", default=None,
                        help="seconds for POT's cg/gcg, one per size (default: --time-limit)")
    parser.add_argument("--reference-time", type=float, default=60.0,
                        help="seconds of the untimed long mirror-sinkhorn run that certifies F*")
    parser.add_argument("--step-size", type=float, default=None,
                        help="mirror-sinkhorn step_size (half: step constant c; full: initial 1/L)")
    parser.add_argument("--half-max-n", type=int, default=100,
                        help="also run Algorithm 1 (projection='half') up to this n, time limit min(10, --time-limit)")
    parser.add_argument("--abpg", action="store_true",
                        help="also run mirror-sinkhorn with acceleration='abpg' (accelerated Bregman proximal "
                             "gradient, Hanzely et al. 2021; full projection, default exponent 2), timed as the default")
    parser.add_argument("--cvxpy-max-n", type=int, default=100)
    parser.add_argument("--single-run-min-n", type=int, default=2000,
                        help="from this n on, mirror-sinkhorn is ONE solve timed by its callback (run_mirror_once)")
    parser.add_argument("--fw-bound-max-n", type=int, default=2000,
                        help="Frank-Wolfe bounds by exact EMD only up to this n (one EMD of n^2 entries per plan)")
    parser.add_argument("--dual-ascent", type=int, default=60, help="entquad: rounds of the Lagrangian dual ascent")
    parser.add_argument("--targets", type=float, nargs="+", default=[1e-2, 1e-3, 1e-4])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="bench-out")
    args = parser.parse_args(argv)
    from mathopt.transport.mirror_sinkhorn import round_to_polytope

    figdir = os.path.join(args.out, "figures") if os.path.basename(os.path.normpath(args.out)) == "docs" else args.out
    os.makedirs(figdir, exist_ok=True)
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    lines = [f"# Mirror Sinkhorn on general convex objectives (bench_transport_general.py)", "",
             f"load at start: `{load}`", "",
             f"lam = {args.lam_scale} * n, eps = {args.eps}, time limit {args.time_limit} s per solver", ""]
    header = "| objective | n | solver | " + " | ".join(f"time to {t:g} (s)" for t in args.targets) \
        + " | best rel. sub-opt. | its / time of last point |"
    lines += [header, "|" + "---|" * (header.count("|") - 1)]
    t_start = time.perf_counter()
    pot_limits = args.pot_time_limit or [args.time_limit] * len(args.sizes)
    for n, pot_limit in zip(args.sizes, pot_limits):
        for kind in args.objectives:
            incidence, mu = None, 0.0
            if kind in TOKEN_KINDS:
                a, b, C, incidence = make_token_instance(n, args.experts, args.seed)
                lam = args.token_lam_scale * n
                mu = args.graph_weight * lam if kind == "tokens-graph" else 0.0
            else:
                a, b, C = make_instance(n, args.seed)
                lam = args.lam_scale * n
            f, g = objective_functions(kind, C, lam, args.eps, incidence, mu)
            size = f"{n}x{C.shape[1]}" if kind in TOKEN_KINDS else f"{n}"
            curves, plans = {}, {}
            name = "mirror-sinkhorn (full projection)"
            bounds = {}
            if n >= args.single_run_min_n:
                curves[name], plans[name], bound = run_mirror_once(a, b, f, g, args.time_limit)
                bounds["certified gap of the mirror-sinkhorn run"] = bound
            else:
                curves[name], plans[name] = run_mirror(a, b, C, f, g, args.time_limit, args.step_size)
            if args.abpg:
                name = "mirror-sinkhorn (abpg)"
                curves[name], plans[name] = run_mirror(a, b, C, f, g, args.time_limit, args.step_size,
                                                       acceleration="abpg")
            if n <= args.half_max_n:
                name = "mirror-sinkhorn (Alg. 1, half)"
                curves[name], plans[name] = run_mirror(a, b, C, f, g, min(10.0, args.time_limit), None,
                                                       projection="half", first_budget=10)
            pot_name = "ot.optim.gcg" if kind == "entquad" else "ot.optim.cg"
            curves[pot_name] = run_pot(a, b, C, f, g, kind, lam, args.eps, pot_limit, args.pot_max_iter)
            dual = None
            if kind in ("quad", "tokens"):
                curves["ot.smooth.smooth_ot_dual (l2)"], dual = run_smooth_dual(a, b, C, f, lam, args.time_limit)
            if n <= args.cvxpy_max_n:
                t, P = run_cvxpy(a, b, C, kind, lam, args.eps, incidence, mu)
                plans["cvxpy (Clarabel)"] = round_to_polytope(P, a, b)
                curves["cvxpy (Clarabel)"] = [(t, f(plans["cvxpy (Clarabel)"]), 0)]
            candidates = [(v, name) for name, pts in curves.items() for _, v, _ in pts]
            if args.reference_time > 0:
                plans["reference run"], long_run = reference_mirror(a, b, f, g, args.reference_time)
                candidates.append((f(plans["reference run"]), f"untimed mirror-sinkhorn reference run "
                                                              f"({long_run.nit} its, {long_run.status.name})"))
            ref, ref_source = min(candidates)
            # certified lower bounds on F*: Frank-Wolfe (exact EMD) at the final plans, smooth_ot_dual's dual value
            if n <= args.fw_bound_max_n:
                bounds.update({f"FW gap at {name}": f(plan) + frank_wolfe_bound(a, b, g, plan)
                               for name, plan in plans.items()})
            if dual is not None:
                bounds["dual of smooth_ot_dual"] = dual
            if kind == "entquad":
                for name, plan in plans.items():
                    bounds[f"Lagrangian dual at {name}"] = entquad_dual_bound(a, b, C, lam, args.eps, plan, g(plan),
                                                                              ascent=args.dual_ascent)
            lower, lower_source = max((v, name) for name, v in bounds.items())
            certificate = (ref - lower) / abs(ref)
            lines.append(f"| {kind} | {size} | F* = {ref:.12g} (best: {ref_source}); certified F* >= {lower:.12g} "
                         f"({lower_source}): F* known to {certificate:.1e} relative | | | | | |")
            print(f"\n(load {os.getloadavg()}, {time.perf_counter() - t_start:.0f} s)\n" + lines[-1], flush=True)
            for name, pts in curves.items():
                ttt = [time_to(pts, ref, tgt) for tgt in args.targets]
                best = min((v - ref) / abs(ref) for _, v, _ in pts)
                last = pts[-1]
                cells = " | ".join("not reached" if x is None else f"{x:.3g}" for x in ttt)
                lines.append(f"| {kind} | {size} | {name} | {cells} | {best:.2e} | {last[2]} its, {last[0]:.3g} s |")
                print(lines[-1], flush=True)
            _plot(curves, ref, os.path.join(figdir, f"transport_general_{kind}_n{n}.png"),
                  f"{kind}: {TITLES[kind]}" + ("\n" if kind in TOKEN_KINDS else ", ")
                  + f"n = {n}" + (f" x {C.shape[1]}" if kind in TOKEN_KINDS else "")
                  + f", lam = {lam:g}" + (f", eps = {args.eps:g}" if kind == "entquad" else "")
                  + (f", mu = {mu:g}" if mu else "")
                  + f"\nF* certified to {certificate:.0e} relative")
    lines += ["", f"load at end: `{subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}`",
              f"total {time.perf_counter() - t_start:.0f} s"]
    with open(os.path.join(args.out, "transport_general.md"), "w") as fh:
        fh.write("\n".join(lines) + "\n")


def _plot(curves, ref, path, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    floor = 1e-10
    for name, pts in curves.items():
        t = [p[0] for p in pts]
        s = [max((p[1] - ref) / abs(ref), floor) for p in pts]
        ax.loglog(t, s, "o-" if len(pts) > 1 else "*", label=name, markersize=4)
    ax.axhline(1e-4, color="gray", ls=":", lw=1, label="1e-4")
    ax.set_xlabel("wall time (s)")
    ax.set_ylabel("relative sub-optimality (F - F*) / |F*|")
    ax.set_title(title, fontsize=8)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
