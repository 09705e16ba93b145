"""Transport benchmarks: mirror-sinkhorn vs POT Sinkhorn (linear OT), sparse-ot vs POT's sparsity-constrained solver.

Usage (from the repository root)::

    python benchmarks/bench_transport.py --sizes 100 1000 5000 --large-budgets 10 30 100 300 --skip-sparse
    python benchmarks/bench_transport.py --skip-linear --sparse-size 1000

Iterations are counted as each method defines them: one mirror-sinkhorn
iteration is one mirror step plus ONE Sinkhorn half-step (rows or columns,
Ballu & Berthet 2023, Algorithm 1); one POT ``ot.sinkhorn`` iteration is a
full u- AND v-update (two mat-vecs with the fixed kernel K = exp(-C / reg)),
and one ``ot.sinkhorn(method="sinkhorn_log")`` iteration (POT's log-domain
Sinkhorn, the stable one at small reg; ``--log-regs``) two log-sum-exp passes
over C. Per-iteration ratios to both are reported, per method iteration and
per half-step. Thread counts (Numba's for mirror-sinkhorn, BLAS's for POT) are
printed in the header; both use every core by default. Sizes >= ``--large-size``
use ``--large-budgets`` (capped iteration counts). Runs take ``--time-budget``
seconds at most: mirror-sinkhorn through ``max_time``; a POT budget is skipped
when the previous budget's time per iteration predicts more.

Writes ``DIR/transport_benchmarks.md`` (linear OT tables), ``DIR/transport_benchmarks_sparse.md``
(sparse-ot) and PNG plots in ``DIR/figures/``, DIR given by ``--out`` (default ``./bench-out``;
``--out docs`` regenerates the documentation's pages); ``--skip-linear`` / ``--skip-sparse`` run one
part. Compile time (Numba / JAX) is measured separately by a warm-up call on the same shapes and
excluded from the timings.
"""
from __future__ import annotations

import argparse
import pathlib
import sys
import time
import warnings

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's mathopt, not another installed copy

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import ot  # noqa: E402

import mathopt  # noqa: E402
from mathopt.transport.mirror_sinkhorn import round_to_polytope  # noqa: E402

def digits_instance():
    from sklearn.datasets import load_digits

    digits = load_digits()
    x, y = digits.data[digits.target == 3], digits.data[digits.target == 8]
    n = min(len(x), len(y))
    x, y = x[:n], y[:n]
    cost = ot.dist(x, y)
    return "digits 3 vs 8", np.full(n, 1 / n), np.full(n, 1 / n), cost / cost.max()


def random_instance(n, seed=0):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(n, 2)), rng.normal(size=(n, 2)) + 1.0
    a, b = rng.random(n) + 0.1, rng.random(n) + 0.1
    cost = ot.dist(x, y)
    return f"random n={n}", a / a.sum(), b / b.sum(), cost / cost.max()


def thread_counts():
    import os

    import numba
    from threadpoolctl import threadpool_info

    blas = [f"{pool['internal_api']} {pool['num_threads']}" for pool in threadpool_info() if pool["user_api"] == "blas"]
    blas = sorted(set(blas))
    return (f"Threads: mirror-sinkhorn (Numba) {numba.get_num_threads()}, POT's NumPy BLAS "
            f"{', '.join(blas) or 'unknown'}, on {os.cpu_count()} CPUs.")


def timed(fun, repeat=1):
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        out = fun()
        best = min(best, time.perf_counter() - start)
    return out, best


def linear_benchmark(name, a, b, cost, budgets, regs, log_regs, time_budget):
    start = time.perf_counter()
    exact = ot.emd2(a, b, cost, numItermax=100_000_000)
    emd_seconds = time.perf_counter() - start
    problem = mathopt.TransportProblem(a, b, cost=cost)
    mathopt.solve(problem, method="mirror-sinkhorn", max_iter=2)  # compile (Numba cache)
    rows = []
    curves = {"mirror-sinkhorn": []}
    for budget in budgets:
        result, seconds = timed(lambda: mathopt.solve(problem, method="mirror-sinkhorn", max_iter=budget,
                                                      max_time=time_budget, gap_tol=1e-300))  # the full budget
        curves["mirror-sinkhorn"].append((seconds, result.fun - exact))
        rows.append(("mirror-sinkhorn", "-", result.nit, seconds, seconds / max(result.nit, 1), result.fun - exact,
                     ""))
        if result.nit < budget:
            break
    for method, reg in [("sinkhorn", reg) for reg in regs] + [("sinkhorn_log", reg) for reg in log_regs]:
        key = f"POT {method} reg={reg:g}"
        curves[key] = []
        for budget in budgets:
            if rows[-1][0] == key and rows[-1][4] * budget > time_budget:
                break  # predicted to take longer than the time budget
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                (plan, log), seconds = timed(lambda: ot.sinkhorn(a, b, cost, reg, method=method, numItermax=budget,
                                                                  stopThr=0.0, warn=False, log=True))
            # POT's Sinkhorn-Knopp stops (keeping the last finite scalings) when a scaling overflows
            broke = any("numerical errors" in str(w.message) for w in caught)
            done = min(budget, log["niter"] + (0 if broke else 1))
            note = f" (stopped at {done}: numerical errors)" if broke else ""
            value = float(np.sum(cost * round_to_polytope(plan, a, b))) if np.all(np.isfinite(plan)) else np.nan
            curves[key].append((seconds, value - exact))
            rows.append((key, reg, budget, seconds, seconds / max(done, 1), value - exact, note))
    return exact, emd_seconds, rows, curves


def plot_curves(name, curves, path):
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, points in curves.items():
        t, gap = np.array(points).T
        ax.loglog(t, np.maximum(gap, 1e-12), marker="o", label=label)
    ax.set_xlabel("wall time (s)")
    ax.set_ylabel("<C, P> - OT (rounded plan)")
    ax.set_title(f"Linear OT, {name}")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def sparse_benchmark(n, k, reg):
    """POT's solver, then sparse-ot run for as many iterations as it needs to reach POT's dual objective,
    and to convergence."""
    _, a, b, cost = random_instance(n, seed=1)
    (plan_pot, log), pot_seconds = timed(lambda: ot.smooth.smooth_ot_dual(
        a, b, cost, reg, reg_type="sparsity_constrained", max_nz=k, log=True))
    x = log["alpha"][:, None] + log["beta"][None, :] - cost
    pot_dual = log["alpha"] @ a + log["beta"] @ b - ot.smooth.SparsityConstrained(k, reg).delta_Omega(x)[0].sum()
    problem = mathopt.TransportProblem(a, b, cost=cost)
    reached = lambda info: info.extra["dual_objective"] >= pot_dual  # noqa: E731
    # the first iteration whose dual objective reaches POT's (a callback run), then a run of exactly
    # that many iterations timed without the per-iteration callback (L-BFGS is deterministic)
    first = mathopt.solve(problem, method="sparse-ot", max_nz=k, reg=reg, max_iter=5000, callback=reached).nit
    rows = []
    for label, options in [("dual, iterations to reach POT's value", dict(max_iter=first)),
                           ("dual, to convergence", dict(max_iter=5000)),
                           ("semi-dual, to convergence", dict(formulation="semi-dual", max_iter=5000))]:
        options = dict(method="sparse-ot", max_nz=k, reg=reg, **options)
        _, first_seconds = timed(lambda: mathopt.solve(problem, **options))
        result, seconds = timed(lambda: mathopt.solve(problem, **options))
        rows.append((label, first_seconds - seconds, seconds, result.nit, result.dual_objective,
                     int((result.plan.toarray() > 0).sum(axis=0).max()), result.residuals["marginal"]))
    pot_nnz = int((plan_pot > 0).sum(axis=0).max())
    return pot_seconds, pot_dual, pot_nnz, rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[100, 1000])
    parser.add_argument("--budgets", type=int, nargs="*", default=[10, 30, 100, 300, 1000, 3000])
    parser.add_argument("--regs", type=float, nargs="*", default=[0.03, 0.01, 0.003, 0.001, 0.0003, 0.0001])
    parser.add_argument("--log-regs", type=float, nargs="*", default=[0.001])
    parser.add_argument("--large-size", type=int, default=2000)
    parser.add_argument("--large-budgets", type=int, nargs="*", default=[10, 30, 100, 300])
    parser.add_argument("--time-budget", type=float, default=120.0)
    parser.add_argument("--sparse-size", type=int, default=1000)
    parser.add_argument("--max-nz", type=int, default=5)
    parser.add_argument("--sparse-reg", type=float, default=0.1)
    parser.add_argument("--skip-linear", action="store_true")
    parser.add_argument("--skip-sparse", action="store_true")
    parser.add_argument("--out", metavar="DIR", default="bench-out",
                        help="output folder: DIR/*.md and DIR/figures/*.png, created if missing "
                             "(default: ./bench-out; the documentation: docs)")
    args = parser.parse_args()
    out_dir = pathlib.Path(args.out)
    figures_dir = out_dir / "figures"
    figures_dir.mkdir(parents=True, exist_ok=True)
    lines = ["# Transport benchmarks (generated by benchmarks/bench_transport.py)", "",
             f"Command: `python benchmarks/bench_transport.py --sizes {' '.join(map(str, args.sizes))} "
             f"--budgets {' '.join(map(str, args.budgets))} --regs {' '.join(map(str, args.regs))} "
             f"--log-regs {' '.join(map(str, args.log_regs))} "
             f"--large-size {args.large_size} --large-budgets {' '.join(map(str, args.large_budgets))} "
             f"--time-budget {args.time_budget:g}" + (" --skip-sparse" if args.skip_sparse else "")
             + f" --out {args.out}`", "",
             "Costs are normalized to max 1. Sub-optimality is <C, P> - OT(a, b) (ot.emd2) for the plan "
             "rounded onto U(a, b) (Altschuler et al. 2017, Alg. 2; mirror-sinkhorn rounds itself). "
             "Times exclude compilation (warm-up call first); single runs per row, so absolute times are "
             "noisy (run on an idle machine, and compare rows of one table). "
             "Iteration counts: one mirror-sinkhorn iteration = one mirror step + one Sinkhorn half-step "
             "(rows OR columns); one POT iteration = one u- AND one v-update (two mat-vecs for `sinkhorn`, "
             "two log-sum-exp passes over C for `sinkhorn_log`). " + thread_counts(), ""]
    instances = [] if args.skip_linear else [digits_instance()] + [random_instance(n) for n in args.sizes]
    for name, a, b, cost in instances:
        large = a.size >= args.large_size
        exact, emd_seconds, rows, curves = linear_benchmark(
            name, a, b, cost, args.large_budgets if large else args.budgets, args.regs, args.log_regs,
            args.time_budget)
        slug = name.replace(" ", "_").replace("=", "")
        plot_curves(name, curves, figures_dir / f"transport_linear_{slug}.png")
        # per-iteration time of each run at its largest budget (least start-up overhead)
        longest = max(r[2] for r in rows if r[0] == "mirror-sinkhorn")
        mirror_per_iter = [r[4] for r in rows if r[0] == "mirror-sinkhorn" and r[2] == longest][0]
        ratios = []
        for method in ("sinkhorn", "sinkhorn_log"):
            longest_runs = [max((r for r in rows if r[0] == key), key=lambda r: r[2])
                            for key in curves if key.startswith(f"POT {method} ")]
            longest_runs = [r for r in longest_runs if not r[6]]  # leave out runs stopped by numerical errors
            if not longest_runs:
                continue
            pot_per_iter = float(np.median([r[4] for r in longest_runs]))
            iterations = "/".join(str(r[2]) for r in longest_runs)
            ratios.append(f"POT {method} {1e3 * pot_per_iter:.3f} ms (median over the regs that ran their "
                          f"budget; {iterations} iterations): "
                          f"ratio mirror / POT per method iteration **{mirror_per_iter / pot_per_iter:.2f}**, "
                          f"per Sinkhorn half-step (POT time / 2) {2 * mirror_per_iter / pot_per_iter:.2f}")
        lines += [f"## Linear OT: {name} (n = {a.size}, m = {b.size}, OT = {exact:.6g}; ot.emd2 took "
                  f"{emd_seconds:.2f} s)", "",
                  f"![{name}](figures/transport_linear_{slug}.png)", "",
                  "| method | reg | iterations | time (s) | time / iteration (ms) | sub-optimality |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {r[0]} | {r[1]} | {r[2]}{r[6]} | {r[3]:.4f} | {1e3 * r[4]:.4f} | {r[5]:.3e} |" for r in rows]
        lines += ["", f"Per-iteration time: mirror-sinkhorn {1e3 * mirror_per_iter:.3f} ms ({longest} iterations); "
                  + "; ".join(ratios) + ".", ""]
        print("\n".join(lines[-len(rows) - 6:]), flush=True)
    if not args.skip_linear:
        (out_dir / "transport_benchmarks.md").write_text("\n".join(lines) + "\n")
        print(f"wrote {out_dir / 'transport_benchmarks.md'} and {figures_dir / 'transport_linear_*.png'}")
    if args.skip_sparse:
        return
    lines = lines[:2] + ["Command: `python benchmarks/bench_transport.py --skip-linear --sparse-size "
                         f"{args.sparse_size} --max-nz {args.max_nz} --sparse-reg {args.sparse_reg} --out {args.out}`", ""]
    pot_seconds, pot_dual, pot_nnz, rows = sparse_benchmark(args.sparse_size, args.max_nz, args.sparse_reg)
    lines += [f"## sparse-ot vs POT smooth_ot_dual(reg_type='sparsity_constrained'), n = m = {args.sparse_size}, "
              f"k = {args.max_nz}, reg = {args.sparse_reg}", "",
              f"POT (scipy L-BFGS-B, stopThr=1e-9): {pot_seconds:.3f} s, dual objective {pot_dual:.12g}, "
              f"max nonzeros per column {pot_nnz}.", "",
              "The semi-dual's objective (paper eq. 9) is a different (larger) function than the dual's; "
              "its row is for timing only. Compile = first call minus second call (Numba cache).", "",
              "| run | compile (s) | time (s) | iterations | dual objective | rel. diff to POT | "
              "max nnz / column | marginal error | speed-up vs POT |", "|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r[0]} | {r[1]:.2f} | {r[2]:.3f} | {r[3]} | {r[4]:.12g} | {(r[4] - pot_dual) / abs(pot_dual):.2e} | "
              f"{r[5]} | {r[6]:.1e} | {pot_seconds / r[2]:.2f}x |" for r in rows]
    print("\n".join(lines[-len(rows) - 6:]), flush=True)
    (out_dir / "transport_benchmarks_sparse.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out_dir / 'transport_benchmarks_sparse.md'}")


if __name__ == "__main__":
    main()
