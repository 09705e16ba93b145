"""Mirror Sinkhorn on general smooth convex transport objectives vs POT's conditional gradients and cvxpy.

Issue 17, section 2. Two objectives over U(a, b) (a = b uniform, C = squared distances between
uniform points in the unit square, normalized to max 1):

* ``quad``:    F(P) = <C, P> + lam/2 ||P||_F^2                 (mirror-sinkhorn, ot.optim.cg, cvxpy)
* ``entquad``: F(P) = <C, P> + eps sum P log P + lam/2 ||P||_F^2 (mirror-sinkhorn, ot.optim.gcg, cvxpy)

with lam = ``--lam-scale`` * n (so that the quadratic term is of the order of the transport cost
for a plan spread over a few neighbours) and eps = ``--eps``.

Every solver's plan is rounded onto U(a, b) (Altschuler et al. 2017, Alg. 2) before F is
evaluated, so all values are of feasible plans. Timing:

* mirror-sinkhorn: one solve per budget (10, 30, 100, ... iterations, until a run exceeds
  ``--time-limit``), each timed alone (``objective_change_tol`` tiny so that it runs the budget).
* ot.optim.cg / gcg: ONE run; the gradient callback ``df`` (called once per outer iteration at
  the current plan) records the wall time, minus the time spent evaluating F at the recorded
  plans (that evaluation is excluded from the clock).
* ot.smooth.smooth_ot_dual (``quad`` only: POT's solver dedicated to exactly this objective,
  reg = lam, reg_type "l2"): one run per iteration budget; the dual value of its longest run is a
  lower bound on F* (printed as a certificate of the reference).
* cvxpy (n <= ``--cvxpy-max-n``): Clarabel, high accuracy, one point (its total time, problem
  compilation included).

Reference optimum F*: the lowest F over all runs at that n (cvxpy/Clarabel at n = 100; at larger
n the long smooth_ot_dual run for ``quad``, the long gcg run for ``entquad``: see the table); relative
sub-optimality (F - F*) / |F*|. Prints a table of time-to-target and writes figures
``transport_general_<objective>_n<n>.png`` and ``transport_general.md`` to ``--out``
(default ``bench-out/``; ``--out docs`` writes the figures to ``docs/figures/``).
"""
from __future__ import annotations

import argparse
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


def objective_functions(kind, C, lam, eps):
    if kind == "quad":
        def f(P):
            return float(np.sum(C * P) + 0.5 * lam * np.sum(P * P))

        def g(P):
            return C + lam * P
    else:
        def f(P):
            Q = np.maximum(P, 1e-300)
            return float(np.sum(C * P) + eps * np.sum(P * np.log(Q)) + 0.5 * lam * np.sum(P * P))

        def g(P):
            return C + eps * (np.log(np.maximum(P, 1e-300)) + 1.0) + lam * P
    return f, g


def run_mirror(a, b, C, f, g, time_limit, step_size):
    import mathopt
    from mathopt.transport.mirror_sinkhorn import round_to_polytope

    problem = mathopt.TransportProblem(a, b, objective=f, gradient=g)
    mathopt.solve(problem, method="mirror-sinkhorn", max_iter=3, step_size=step_size)  # compile
    points = []
    budget = 10
    while True:
        t0 = time.perf_counter()
        r = mathopt.solve(problem, method="mirror-sinkhorn", max_iter=budget, objective_change_tol=1e-15,
                          step_size=step_size)
        elapsed = time.perf_counter() - t0
        points.append((elapsed, f(round_to_polytope(r.plan, a, b)), budget))
        if elapsed > time_limit / 3:
            return points
        budget = budget * 3 if str(budget)[0] == "1" else budget * 10 // 3


def run_pot(a, b, C, f, kind, lam, eps, time_limit, max_iter):
    import ot
    from mathopt.transport.mirror_sinkhorn import round_to_polytope

    points = []
    clock = {"t0": 0.0, "excluded": 0.0, "k": 0}

    class Stop(Exception):
        pass

    def df(G):
        now = time.perf_counter()
        elapsed = now - clock["t0"] - clock["excluded"]
        points.append((elapsed, f(round_to_polytope(G, a, b)), clock["k"]))
        clock["k"] += 1
        clock["excluded"] += time.perf_counter() - now
        if elapsed > time_limit:
            raise Stop
        return G

    def fq(G):
        return 0.5 * float(np.sum(G * G))

    clock["t0"] = time.perf_counter()
    try:
        if kind == "quad":
            G = ot.optim.cg(a, b, C, lam, fq, df, numItermax=max_iter, stopThr=0.0, stopThr2=0.0)
        else:
            G = ot.optim.gcg(a, b, C, eps, lam, fq, df, numItermax=max_iter, numInnerItermax=200,
                             stopThr=0.0, stopThr2=0.0)
        elapsed = time.perf_counter() - clock["t0"] - clock["excluded"]
        points.append((elapsed, f(round_to_polytope(G, a, b)), clock["k"]))
    except Stop:
        pass
    return points


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


def run_cvxpy(a, b, C, kind, lam, eps):
    import cvxpy as cp

    n, m = C.shape
    P = cp.Variable((n, m), nonneg=True)
    obj = cp.sum(cp.multiply(C, P)) + 0.5 * lam * cp.sum_squares(P)
    if kind == "entquad":
        obj = obj - eps * cp.sum(cp.entr(P))
    prob = cp.Problem(cp.Minimize(obj), [cp.sum(P, axis=1) == a, cp.sum(P, axis=0) == b])
    t0 = time.perf_counter()
    prob.solve(solver="CLARABEL", tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    return time.perf_counter() - t0, np.maximum(P.value, 0.0)


def time_to(points, ref, target):
    for t, v, _ in points:
        if (v - ref) / abs(ref) <= target:
            return t
    return None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--objectives", nargs="+", default=["quad", "entquad"], choices=["quad", "entquad"])
    parser.add_argument("--lam-scale", type=float, default=1.0)
    parser.add_argument("--eps", type=float, default=1e-3)
    parser.add_argument("--time-limit", type=float, default=30.0, help="seconds per solver and instance")
    parser.add_argument("--pot-max-iter", type=int, default=100000)
    parser.add_argument("--step-size", type=float, default=None, help="mirror-sinkhorn step constant c")
    parser.add_argument("--cvxpy-max-n", type=int, default=100)
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
    header = "| objective | n | solver | F* source | " + " | ".join(f"time to {t:g} (s)" for t in args.targets) \
        + " | best rel. sub-opt. | its / time of last point |"
    lines += [header, "|" + "---|" * (header.count("|") - 1)]
    for n in args.sizes:
        a, b, C = make_instance(n, args.seed)
        lam = args.lam_scale * n
        for kind in args.objectives:
            f, g = objective_functions(kind, C, lam, args.eps)
            curves = {}
            curves["mirror-sinkhorn"] = run_mirror(a, b, C, f, g, args.time_limit, args.step_size)
            pot_name = "ot.optim.cg" if kind == "quad" else "ot.optim.gcg"
            curves[pot_name] = run_pot(a, b, C, f, kind, lam, args.eps, args.time_limit, args.pot_max_iter)
            dual = None
            if kind == "quad":
                curves["ot.smooth.smooth_ot_dual (l2)"], dual = run_smooth_dual(a, b, C, f, lam, args.time_limit)
            ref, ref_source = min((v, f"best run: {name}") for name, pts in curves.items() for _, v, _ in pts)
            if n <= args.cvxpy_max_n:
                t, P = run_cvxpy(a, b, C, kind, lam, args.eps)
                value = f(round_to_polytope(P, a, b))
                curves["cvxpy (Clarabel)"] = [(t, value, 0)]
                if value <= ref:
                    ref, ref_source = value, "cvxpy/Clarabel"
            print(f"\n{kind} n={n} F*={ref:.12g} ({ref_source}); load {os.getloadavg()}", flush=True)
            if dual is not None:
                lines.append(f"| {kind} | {n} | (certificate) | dual value of the longest smooth_ot_dual run "
                             f"{dual:.12g}: F* - dual <= {(ref - dual) / abs(ref):.1e} relative | | | | | |")
                print(lines[-1], flush=True)
            for name, pts in curves.items():
                ttt = [time_to(pts, ref, tgt) for tgt in args.targets]
                best = min((v - ref) / abs(ref) for _, v, _ in pts)
                last = pts[-1]
                cells = " | ".join("not reached" if x is None else f"{x:.3g}" for x in ttt)
                lines.append(f"| {kind} | {n} | {name} | {ref_source} | {cells} | {best:.2e} | {last[2]} its, {last[0]:.3g} s |")
                print(lines[-1], flush=True)
            _plot(curves, ref, os.path.join(figdir, f"transport_general_{kind}_n{n}.png"),
                  f"{kind}: F = <C,P>" + (" + eps sum P log P" if kind == "entquad" else "")
                  + f" + lam/2 ||P||^2, n = {n}, lam = {lam:g}" + (f", eps = {args.eps:g}" if kind == "entquad" else ""))
    lines += ["", f"load at end: `{subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}`"]
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
