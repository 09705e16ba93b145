"""Online / stochastic OT: Mirror Sinkhorn's online mode vs POT's stochastic entropic OT solvers.

Issue 17, section 3. The true cost C (squared distances between uniform points in the unit
square, normalized to max 1; a = b uniform) is only observed through noisy samples: every
observed cost entry is C_ij + sigma * N(0, 1), a fresh draw at every observation.

Sample budget (how it is made comparable): one SAMPLE is one noisy realization of the whole
cost matrix, i.e. n * m noisy entries.

* mirror-sinkhorn online (``mathopt.transport.OnlineMirrorSinkhorn``): one sample per iteration,
  ``partial_fit(C + sigma Z_t)`` (the stochastic gradient of <C, P>); the averaged, rounded
  plan ``plan_`` is read at each budget (one pass over the stream).
* POT ``ot.stochastic``: the solvers read the cost matrix through an object whose indexing
  returns fresh noisy entries. ``sag_entropic_transport`` / ``averaged_sgd_entropic_transport``
  (the two methods of ``solve_semi_dual_entropic``) read one row M[i, :] (m entries) per
  iteration: a budget of B samples = B * n iterations. ``sgd_entropic_regularization`` (the
  solver of ``solve_dual_entropic``) with batch size k reads M[batch_i, :][:, batch_j]: counted as
  k^2 entries per iteration (it draws k * m; counting only the k^2 it uses is in POT's favour), so
  B samples = B * n * m / k^2 iterations. POT's default learning rates. One run per budget, or
  with ``--pot-one-run`` one run per reg to the largest budget for SAG / ASGD, whose iterate after
  B * n iterations is copied from the solver's state as it reads its cost for iteration B * n + 1:
  the same numbers as separate runs (same seeds; neither solver's iteration depends on
  ``numItermax``), checked in the tests, for the cost of the largest budget alone.
  The final plan is formed from POT's potentials with the TRUE C (POT's own formula
  exp((alpha + beta - C) / reg) a b^T, alpha the entropic c-transform for the semi-dual): this
  extra exact information is in POT's favour.

Evaluation: every plan is rounded onto U(a, b) (Altschuler et al. 2017, Alg. 2) and its
sub-optimality <C, P> - OT(a, b) is measured on the TRUE expected cost against ``ot.emd2``.
POT's solvers target entropic OT, so each reg's entropic bias floor (<C, P_reg> - OT for the
exact Sinkhorn plan at that reg, rounded) is printed too; POT's value per budget is the best over
``--regs`` (in its favour). Figure: sub-optimality vs samples (log-log), with an O(1/sqrt t) slope.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np


class NoisyCost:
    """Indexing returns C[key] + sigma * fresh Gaussian noise (what POT's solvers read)."""

    def __init__(self, C, sigma, rng):
        self.C, self.sigma, self.rng = C, sigma, rng
        self.shape = C.shape

    def __getitem__(self, key):
        x = self.C[key]
        return x + self.sigma * self.rng.standard_normal(np.shape(x))


#: POT's semi-dual solvers (``ot.stochastic``) by method, and their variable that holds the returned
#: potential after each iteration.
SNAPSHOT_VARIABLE = {"sag": ("sag_entropic_transport", "cur_beta"),
                     "asgd": ("averaged_sgd_entropic_transport", "ave_beta")}


class SnapshotCost(NoisyCost):
    """A NoisyCost that also copies the semi-dual solver's potential when it reads its cost for
    iteration k + 1, for each k in ``at``: the potential a run of k iterations returns."""

    def __init__(self, C, sigma, rng, method, at):
        super().__init__(C, sigma, rng)
        self.function, self.variable = SNAPSHOT_VARIABLE[method]
        self.at, self.calls, self.snapshots, self.times = set(at), 0, {}, {}
        self.start = time.perf_counter()

    def __getitem__(self, key):
        if self.calls in self.at:
            frame = sys._getframe(2)  # the solver, which called coordinate_grad_semi_dual, which reads M[i, :]
            if frame.f_code.co_name != self.function:
                raise RuntimeError(f"expected to be read from {self.function}, not {frame.f_code.co_name}")
            self.snapshots[self.calls] = np.array(frame.f_locals[self.variable], copy=True)
            self.times[self.calls] = time.perf_counter() - self.start
        self.calls += 1
        return super().__getitem__(key)


def run_pot_snapshots(method, a, b, C, sigma, reg, iterations, seed):
    """One run of ``method`` ("sag" or "asgd") to max(iterations) iterations: ``{k: (plan after k
    iterations, seconds to reach k)}``, the same plans as separate runs of k iterations each."""
    import ot.stochastic as st

    last = max(iterations)
    noisy = SnapshotCost(C, sigma, np.random.default_rng(seed + 1), method, [k for k in iterations if k < last])
    final = getattr(st, SNAPSHOT_VARIABLE[method][0])(a, b, noisy, reg, numItermax=last, random_state=seed)
    noisy.snapshots[last], noisy.times[last] = final, time.perf_counter() - noisy.start
    return {k: (pot_plan(a, b, C, reg, st.c_transform_entropic(b, C, reg, beta), beta), noisy.times[k])
            for k, beta in noisy.snapshots.items()}


def pot_plan(a, b, C, reg, alpha, beta):
    return np.exp((alpha[:, None] + beta[None, :] - C) / reg) * a[:, None] * b[None, :]


def run_pot(method, a, b, C, sigma, reg, iterations, batch, seed):
    import ot.stochastic as st

    noisy = NoisyCost(C, sigma, np.random.default_rng(seed + 1))
    if method == "sgd-dual":
        alpha, beta = st.sgd_entropic_regularization(a, b, noisy, reg, batch, iterations, lr=1.0, random_state=seed)
    else:
        beta = getattr(st, SNAPSHOT_VARIABLE[method][0])(a, b, noisy, reg, numItermax=iterations, random_state=seed)
        alpha = st.c_transform_entropic(b, C, reg, beta)
    return pot_plan(a, b, C, reg, alpha, beta)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--sigma", type=float, default=0.2)
    parser.add_argument("--budgets", type=int, nargs="+", default=[100, 1000, 10000, 100000])
    parser.add_argument("--pot-max-budget", type=int, default=10000,
                        help="largest budget given to POT's Python-loop solvers (time)")
    parser.add_argument("--regs", type=float, nargs="+", default=[0.1, 0.03, 0.01],
                        help="regs whose entropic bias floors are printed (and POT's regs unless --pot-regs)")
    parser.add_argument("--pot-regs", type=float, nargs="+", default=None,
                        help="regs POT's solvers are run at (default: --regs); e.g. only the best one")
    parser.add_argument("--method-max-budget", nargs="+", default=[], metavar="METHOD=B",
                        help="per-method largest budget, overriding --pot-max-budget (e.g. sgd-dual=10000)")
    parser.add_argument("--tag", default="", help="suffix of the output file names")
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--methods", nargs="+", default=["sag", "asgd", "sgd-dual"])
    parser.add_argument("--pot-one-run", action="store_true",
                        help="SAG / ASGD: one run per reg to the largest budget, the smaller budgets read "
                             "from the solver's state on the way (same numbers as separate runs)")
    parser.add_argument("--no-mirror", action="store_true",
                        help="run POT's solvers only (e.g. one method per process, mirror-sinkhorn in another)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="bench-out")
    parser.add_argument("--merge", nargs="+", metavar="JSON",
                        help="only write the table and figure of these runs' JSON files together "
                             "(to --out, with --tag)")
    args = parser.parse_args(argv)
    if args.merge:
        return merge(args.merge, args.out, args.tag)
    max_budget = {m: args.pot_max_budget for m in args.methods}
    for item in args.method_max_budget:
        method, _, value = item.partition("=")
        if method not in max_budget or not value:
            parser.error(f"--method-max-budget: expected METHOD=B with METHOD in {args.methods}, got {item!r}")
        max_budget[method] = int(float(value))
    pot_regs = args.pot_regs if args.pot_regs is not None else args.regs
    import json
    import ot
    from mathopt.transport import OnlineMirrorSinkhorn
    from mathopt.transport.mirror_sinkhorn import round_to_polytope

    figdir = os.path.join(args.out, "figures") if os.path.basename(os.path.normpath(args.out)) == "docs" else args.out
    os.makedirs(figdir, exist_ok=True)
    n = args.n
    rng = np.random.default_rng(args.seed)
    C = ot.dist(rng.random((n, 2)), rng.random((n, 2)))
    C /= C.max()
    a = np.full(n, 1.0 / n)
    b = a.copy()
    ot_value = float(ot.emd2(a, b, C))
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"n={n} sigma={args.sigma} OT={ot_value:.6g}; load: {load}", flush=True)

    def gap(P):
        return float(np.sum(C * round_to_polytope(P, a, b))) - ot_value

    floors = {reg: gap(ot.sinkhorn(a, b, C, reg, method="sinkhorn_log", numItermax=100000, stopThr=1e-12))
              for reg in args.regs}
    print("entropic bias floors:", {r: f"{v:.3e}" for r, v in floors.items()}, flush=True)

    results = {}
    stem = os.path.join(args.out, f"transport_online_bench_n{n}{args.tag}")

    def save():  # after every cell, so that a run stopped for time keeps what it measured
        with open(stem + ".json", "w") as fh:
            json.dump({"n": n, "sigma": args.sigma, "ot": ot_value, "load_start": load,
                       "floors": {str(r): v for r, v in floors.items()}, "results": results}, fh, indent=1)

    noise = np.random.default_rng(args.seed + 2)
    model = OnlineMirrorSinkhorn(a, b)  # default step rule, G = max |first sample|
    t0 = time.perf_counter()
    mirror = []
    for budget in ([] if args.no_mirror else sorted(args.budgets)):
        while model.n_iter_ < budget:
            model.partial_fit(C + args.sigma * noise.standard_normal(C.shape))
        mirror.append((budget, gap(model.plan_), time.perf_counter() - t0))
        print(f"mirror-sinkhorn online  B={budget:>7}  gap={mirror[-1][1]:.3e}  t={mirror[-1][2]:.1f}s", flush=True)
        results["mirror-sinkhorn (online)"] = mirror
        save()
    for method in args.methods:
        rows = []
        results[f"POT {method}"] = rows
        budgets = [B for B in sorted(args.budgets) if B <= max_budget[method]]
        if args.pot_one_run and method in SNAPSHOT_VARIABLE and budgets:
            per_reg = {reg: run_pot_snapshots(method, a, b, C, args.sigma, reg, [B * n for B in budgets], args.seed)
                       for reg in pot_regs}
            for budget in budgets:
                values = [(gap(runs[budget * n][0]), reg) for reg, runs in per_reg.items()]
                values = [v for v in values if np.isfinite(v[0])]
                best = min(values) if values else None
                elapsed = sum(runs[budget * n][1] for runs in per_reg.values())
                rows.append((budget, best[0] if best else np.nan, elapsed, best[1] if best else None, budget * n))
                print(f"POT {method:9s} B={budget:>7}  its={budget * n:>9}  gap={rows[-1][1]:.3e} (reg {rows[-1][3]})"
                      f"  t={elapsed:.1f}s (one run per reg, to this budget)", flush=True)
            save()
            continue
        for budget in budgets:
            if method == "sgd-dual":
                iterations = max(1, budget * n * n // args.batch ** 2)
            else:
                iterations = budget * n
            best = None
            t0 = time.perf_counter()
            for reg in pot_regs:
                value = gap(run_pot(method, a, b, C, args.sigma, reg, iterations, args.batch, args.seed))
                if not np.isfinite(value):
                    continue
                if best is None or value < best[0]:
                    best = (value, reg)
            elapsed = time.perf_counter() - t0
            rows.append((budget, best[0] if best else np.nan, elapsed, best[1] if best else None, iterations))
            print(f"POT {method:9s} B={budget:>7}  its={iterations:>9}  gap={rows[-1][1]:.3e} (reg {rows[-1][3]})"
                  f"  t={elapsed:.1f}s (all regs)", flush=True)
            save()
    load_end = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    _report(results, floors, n, args.sigma, f"OT = {ot_value:.6g}, seed {args.seed}; load at start `{load}`, "
            f"at end `{load_end}`", stem, os.path.join(figdir, f"transport_online_bench_n{n}{args.tag}.png"))


def merge(paths, out, tag):
    """Table and figure of several runs' JSON files (e.g. one POT method per process, run side by
    side), which must share n, sigma and the cost (the same seed)."""
    import json

    runs = [json.loads(open(p).read()) for p in paths]
    first = runs[0]
    for run in runs[1:]:
        if (run["n"], run["sigma"], run["ot"]) != (first["n"], first["sigma"], first["ot"]):
            raise SystemExit(f"--merge: runs differ in n, sigma or cost: {paths}")
    results = {name: rows for run in runs for name, rows in run["results"].items()}
    floors = {float(r): v for r, v in first["floors"].items()}
    n = first["n"]
    stem = os.path.join(out, f"transport_online_bench_n{n}{tag}")
    _report(results, floors, n, first["sigma"], f"OT = {first['ot']:.6g}; merged from "
            + ", ".join(os.path.basename(p) for p in paths) + "; loads at start: "
            + "; ".join(f"`{run['load_start']}`" for run in runs), stem,
            os.path.join(out, f"transport_online_bench_n{n}{tag}.png"))


def _report(results, floors, n, sigma, context, stem, figure):
    budgets = sorted({row[0] for rows in results.values() for row in rows})
    lines = ["# Online OT (bench_transport_online.py)", "",
             f"n = {n}, sigma = {sigma}, {context}", "",
             "entropic bias floors (rounded exact entropic plan): "
             + ", ".join(f"reg {r:g}: {v:.3e}" for r, v in floors.items()), "",
             "| samples | " + " | ".join(results) + " |", "|---" * (len(results) + 1) + "|"]
    for budget in budgets:
        cells = []
        for name, rows in results.items():
            row = next((r for r in rows if r[0] == budget), None)
            if row is None:
                cells.append("not run")
            elif name.startswith("POT"):
                cells.append(f"{row[1]:.2e} (reg {row[3]:g})")
            else:
                cells.append(f"{row[1]:.2e}")
        lines.append(f"| {budget} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    with open(stem + ".md", "w") as fh:
        fh.write(text)
    _plot(results, floors, n, sigma, figure)


def _plot(results, floors, n, sigma, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, rows in results.items():
        ax.loglog([r[0] for r in rows], [r[1] for r in rows], "o-", label=name, markersize=4)
    reference = results.get("mirror-sinkhorn (online)") or next(rows for rows in results.values() if rows)
    first = reference[0]
    t = np.array([r[0] for r in reference], dtype=float)
    ax.loglog(t, first[1] * np.sqrt(first[0] / t), "k--", lw=1, label="O(1/sqrt t)")
    for reg, v in floors.items():
        ax.axhline(v, color="gray", ls=":", lw=0.8)
        ax.text(t[0], v, f" entropic floor reg={reg:g}", fontsize=6, va="bottom", color="gray")
    ax.set_xlabel("samples (noisy cost matrices; POT: same number of noisy entries)")
    ax.set_ylabel("<C, P> - OT(a, b)  (true cost, rounded plan)")
    ax.set_title(f"online OT, n = {n}, additive noise sigma = {sigma:g}", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
