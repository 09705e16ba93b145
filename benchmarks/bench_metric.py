"""Benchmarks of Project and Forget (mathopt.metric) against cvxpy.

1. Weighted l2 metric nearness on complete graphs, D and W uniform random
   (D_ij ~ U(0, 1), W_ij ~ U(0.5, 2)), at the sizes given by ``--sizes``,
   against cvxpy with Clarabel (its best installed QP solver here) on the
   sizes given by ``--cvxpy-sizes``. Each case runs in its own subprocess so
   that the peak resident memory (``ru_maxrss``) belongs to that case; the
   Numba compile time is measured separately (a first solve on n = 8).
2. Correlation clustering on a sparse signed graph with ``--cc-nodes`` nodes
   (generator recipe in :func:`signed_planted_partition`), gamma = 10, 100
   projection sweeps per oracle call, stopped
   after at most 10 minutes (``max_time``).

Writes a Markdown table to ``DIR/metric_bench.md`` and a plot to
``DIR/figures/metric_nearness_scaling.png``, DIR given by ``--out`` (default
``./bench-out``); docs/metric.md quotes the table and shows the plot
(copied from there by hand).

Usage::

    python benchmarks/bench_metric.py                       # the recorded run
    python benchmarks/bench_metric.py --sizes 100 500 --cvxpy-sizes 20 --cc-nodes 2000   # quick
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import resource
import subprocess
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
CC_GAMMA = 10.0  # regularization of the correlation-clustering LP (see docs/metric.md)
CC_SWEEPS = 100  # projection passes per (expensive, n-Dijkstra) oracle call
CC_LANDMARKS = 32  # landmark trees screening/pruning the sparse oracle (0: plain per-node Dijkstra)
CC_ROUNDING_TRIALS = 20  # pivot orders tried by the rounding (the best clustering is kept)
CC_MAX_TIME = 580.0  # seconds allowed to the 10 000-node correlation clustering solve
sys.path.insert(0, str(ROOT))


def nearness_data(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    D = np.triu(rng.random((n, n)), 1)
    W = np.triu(rng.uniform(0.5, 2.0, (n, n)), 1)
    return D + D.T, W + W.T


def signed_planted_partition(n: int, cluster_size: int = 50, intra_degree: float = 8.0,
                             inter_degree: float = 4.0, flip: float = 0.1, seed: int = 0):
    """A sparse signed graph: planted clusters, noisy signs.

    Nodes are split into clusters of ``cluster_size``; each pair inside a
    cluster is an edge with probability ``intra_degree / cluster_size``, each
    pair across clusters with probability ``inter_degree / n`` (so about
    intra_degree + inter_degree edges per node). Edges inside a cluster are
    positive, across clusters negative, then each sign is flipped with
    probability ``flip``; weights are U(0.5, 1.5).
    """
    rng = np.random.default_rng(seed)
    labels = np.arange(n) // cluster_size
    rows, cols = [], []
    for c in range(labels.max() + 1):  # intra-cluster pairs
        members = np.flatnonzero(labels == c)
        i, j = np.triu_indices(members.size, 1)
        keep = rng.random(i.size) < intra_degree / cluster_size
        rows.append(members[i[keep]])
        cols.append(members[j[keep]])
    count = rng.binomial(n * (n - 1) // 2, inter_degree / n)  # inter-cluster pairs, sampled
    i, j = rng.integers(0, n, count), rng.integers(0, n, count)
    keep = labels[i] != labels[j]
    rows.append(np.minimum(i, j)[keep])
    cols.append(np.maximum(i, j)[keep])
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    pairs = np.unique(np.column_stack([rows, cols]), axis=0)
    rows, cols = pairs[:, 0], pairs[:, 1]
    sign = np.where(labels[rows] == labels[cols], 1.0, -1.0)
    sign[rng.random(sign.size) < flip] *= -1.0
    values = sign * rng.uniform(0.5, 1.5, sign.size)
    import scipy.sparse as sp

    A = sp.coo_matrix((np.concatenate([values, values]), (np.concatenate([rows, cols]), np.concatenate([cols, rows]))),
                      shape=(n, n)).tocsr()
    return A, labels


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_case(case: str, n: int) -> dict:
    """One measurement (runs in a subprocess; prints JSON)."""
    import mathopt

    if case == "pf":
        start = time.perf_counter()
        D, W = nearness_data(8)
        mathopt.solve(mathopt.MetricProblem(D, weights=W))
        compile_time = time.perf_counter() - start
        D, W = nearness_data(n)
        rss_before = _peak_rss_mib()
        start = time.perf_counter()
        result = mathopt.solve(mathopt.MetricProblem(D, weights=W), max_violation_tol=1e-6, change_tol=1e-6)
        elapsed = time.perf_counter() - start
        return dict(case=case, n=n, time=elapsed, compile=compile_time, nit=result.nit,
                    status=result.status.name, fun=result.fun, max_violation=result.max_violation,
                    peak_active=result.extra["peak_active"], peak_rss_mib=_peak_rss_mib(),
                    rss_before_mib=rss_before)
    if case == "cvxpy":
        import cvxpy as cp
        import scipy.sparse as sp

        D, W = nearness_data(n)
        rows, cols = np.triu_indices(n, 1)
        m = rows.size
        pair = np.zeros((n, n), dtype=np.int64)
        pair[rows, cols] = np.arange(m)
        pair[cols, rows] = np.arange(m)
        i, j, k = [a.ravel() for a in np.meshgrid(*(np.arange(n),) * 3, indexing="ij")]
        keep = (i < j) & (k != i) & (k != j)
        i, j, k = i[keep], j[keep], k[keep]
        c = np.arange(i.size)
        A = sp.csr_matrix((np.concatenate([np.ones(c.size), -np.ones(c.size), -np.ones(c.size)]),
                           (np.concatenate([c, c, c]), np.concatenate([pair[i, j], pair[i, k], pair[k, j]]))),
                          shape=(c.size, m))
        x = cp.Variable(m)
        problem = cp.Problem(cp.Minimize(0.5 * cp.sum(cp.multiply(W[rows, cols], cp.square(x - D[rows, cols])))),
                             [A @ x <= 0])
        start = time.perf_counter()
        problem.solve(solver="CLARABEL")
        elapsed = time.perf_counter() - start
        violation = float(max(0.0, np.max(A @ x.value)))
        return dict(case=case, n=n, time=elapsed, nit=problem.solver_stats.num_iters, status=problem.status,
                    fun=float(problem.value), max_violation=violation, peak_active=int(A.shape[0]),
                    peak_rss_mib=_peak_rss_mib())
    if case == "cc":
        start = time.perf_counter()
        A, _ = signed_planted_partition(200, seed=1)
        mathopt.solve(mathopt.MetricProblem.from_signed_graph(A), max_iter=3)
        compile_time = time.perf_counter() - start
        A, planted = signed_planted_partition(n)
        problem = mathopt.MetricProblem.from_signed_graph(A)
        start = time.perf_counter()
        result = mathopt.solve(problem, seed=0, gamma=CC_GAMMA, sweeps=CC_SWEEPS, landmarks=CC_LANDMARKS,
                               rounding_trials=CC_ROUNDING_TRIALS,
                               max_violation_tol=1e-6,
                               change_tol=1e-6, max_time=CC_MAX_TIME)
        elapsed = time.perf_counter() - start
        from mathopt.metric.project_and_forget import clustering_objective

        return dict(case=case, n=n, edges=problem.num_pairs, time=elapsed, compile=compile_time, nit=result.nit,
                    status=result.status.name, lp=result.lp_objective, rounded=result.rounded_objective,
                    lower_bound=result.extra["lp_lower_bound"], oracle_landmarks=CC_LANDMARKS,
                    planted=clustering_objective(problem, planted), clusters=int(result.clusters.max() + 1),
                    max_violation=result.max_violation, peak_active=result.extra["peak_active"],
                    peak_rss_mib=_peak_rss_mib())
    raise ValueError(case)


def _subprocess(case: str, n: int, timeout: float) -> dict:
    try:
        out = subprocess.run([sys.executable, __file__, "--single", case, str(n), "--cc-landmarks", str(CC_LANDMARKS)],
                             capture_output=True,
                             text=True, timeout=timeout, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    except subprocess.TimeoutExpired:
        return dict(case=case, n=n, status=f"timeout ({timeout:.0f} s)")
    if out.returncode != 0:
        return dict(case=case, n=n, status="failed: " + out.stderr.strip().splitlines()[-1][:80])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[100, 500, 1000, 1500])
    parser.add_argument("--cvxpy-sizes", type=int, nargs="*", default=[20, 40, 60])
    parser.add_argument("--cc-nodes", type=int, default=10000)
    parser.add_argument("--cc-landmarks", type=int, default=CC_LANDMARKS,
                        help="landmark trees of the sparse oracle (0: the plain per-node Dijkstra oracle)")
    parser.add_argument("--timeout", type=float, default=1200.0)
    parser.add_argument("--single", nargs=2, metavar=("CASE", "N"), help="one case (pf, cvxpy, cc), JSON out")
    parser.add_argument("--out", metavar="DIR", default="bench-out",
                        help="output folder, created if missing (default: ./bench-out)")
    args = parser.parse_args()
    globals()["CC_LANDMARKS"] = args.cc_landmarks
    if args.single:
        print(json.dumps(run_case(args.single[0], int(args.single[1]))))
        return
    rows = []
    for n in sorted(set(args.sizes) | set(args.cvxpy_sizes)):
        if n in args.cvxpy_sizes:
            rows.append(_subprocess("cvxpy", n, args.timeout))
            print(rows[-1], flush=True)
        rows.append(_subprocess("pf", n, args.timeout))
        print(rows[-1], flush=True)
    cc = _subprocess("cc", args.cc_nodes, args.timeout) if args.cc_nodes else None
    print(cc, flush=True)
    write_report(rows, cc, args)


def _fmt(value, spec):
    return format(value, spec) if isinstance(value, (int, float)) else "-"


def write_report(rows, cc, args):
    lines = ["| n | method | status | time (s) | compile (s) | iterations | peak active / constraints "
             "| objective | max violation | peak RSS (MiB) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        name = "project-and-forget" if r["case"] == "pf" else "cvxpy + Clarabel"
        lines.append(f"| {r['n']} | {name} | {r.get('status')} | {_fmt(r.get('time'), '.2f')} | "
                     f"{_fmt(r.get('compile'), '.1f')} | {r.get('nit', '-')} | {r.get('peak_active', '-')} | "
                     f"{_fmt(r.get('fun'), '.8g')} | {_fmt(r.get('max_violation'), '.1e')} | "
                     f"{_fmt(r.get('peak_rss_mib'), '.0f')} |")
    text = ["## Metric nearness (complete graphs, weighted l2)", "", *lines, ""]
    if cc:
        text += ["## Correlation clustering (sparse signed planted-partition graph)", "",
                 "| nodes | edges | status | time (s) | compile (s) | iterations | peak active | max violation "
                 "| LP value | LP lower bound | rounded objective | planted partition objective | clusters "
                 "| peak RSS (MiB) |",
                 "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
                 f"| {cc.get('n')} | {cc.get('edges', '-')} | {cc.get('status')} | {_fmt(cc.get('time'), '.1f')} | "
                 f"{_fmt(cc.get('compile'), '.1f')} | {cc.get('nit', '-')} | {cc.get('peak_active', '-')} | "
                 f"{_fmt(cc.get('max_violation'), '.1e')} | "
                 f"{_fmt(cc.get('lp'), '.6g')} | {_fmt(cc.get('lower_bound'), '.6g')} | {_fmt(cc.get('rounded'), '.6g')} | {_fmt(cc.get('planted'), '.6g')} | "
                 f"{cc.get('clusters', '-')} | {_fmt(cc.get('peak_rss_mib'), '.0f')} |", ""]
    out = pathlib.Path(args.out)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    (out / "metric_bench.md").write_text("\n".join(text))
    print("\n".join(text))
    print(f"wrote {out / 'metric_bench.md'}")
    _plot(rows, out / "figures" / "metric_nearness_scaling.png")


def _plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for case, label, marker in (("pf", "project-and-forget", "o"), ("cvxpy", "cvxpy + Clarabel", "s")):
        pts = [(r["n"], r["time"]) for r in rows if r["case"] == case and "time" in r]
        if pts:
            ax.loglog(*zip(*pts), marker=marker, label=label)
    ax.set_xlabel("n (points)")
    ax.set_ylabel("solve time (s)")
    ax.set_title("Weighted l2 metric nearness")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
