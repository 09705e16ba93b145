"""Scale benchmark: al-sketch vs al-newton (sparse LU) on the PDE-constrained control problem.

Problem: :func:`mathopt.problems.pde.poisson_control` (the PDE experiment of
Hong, Na, Mahoney & Kolar 2023, set up as in the authors' code), ``n = 2 N^2``
variables, ``m = N^2`` equality constraints, sparse Jacobian and Lagrangian
Hessian. Each (size, solver) run happens in a fresh subprocess so that its
peak resident memory (``resource.getrusage(RUSAGE_SELF).ru_maxrss``) is its
own; a baseline subprocess that only imports mathopt and builds the problem
gives the memory that is not the solver's. The exact solution of this QP
(one sparse LU solve of its KKT system, :func:`mathopt.problems.pde.exact_solution`)
gives the error ``||x - x*||_inf``. The table also lists what a dense KKT
factorization would need, ``(n + m)^2 * 8`` bytes.

Usage::

    python benchmarks/bench_nlp_scale.py                 # N = 3 (the paper's size), 16, 224 (n = 100352)
    python benchmarks/bench_nlp_scale.py --sizes 3,16 --max-time 60
    python benchmarks/bench_nlp_scale.py --sizes 224 --kappa 1 --solvers al-newton,al-sketch --max-time 120
"""
import argparse
import json
import os
import pathlib
import platform
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the checkout's mathopt, not an installed one

SOLVERS = ("al-newton", "al-sketch", "al-sketch:gaussian")
#: Gaussian sketch steps each cost a product with K (O(nnz * sketch_size)) plus a q x q pseudo-inverse, and
#: the time limit is only checked between outer iterations, so that variant runs on the smallest grid only.
GAUSSIAN_MAX_N = 4


def worker(N: int, method: str, max_iter: int, max_time: float, kappa: float = 0.0) -> dict:
    """One run, in this (fresh) process; returns the record as a dict."""
    import resource

    import numpy as np

    import mathopt
    from mathopt.problems.pde import exact_solution, poisson_control

    problem = poisson_control(N, kappa=kappa)
    record = {"N": N, "n": problem.n, "m": problem.n_eq, "solver": method, "kappa": kappa}
    if method == "baseline":
        record["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return record
    start = time.perf_counter()
    name, _, sketch = method.partition(":")
    options = {"sketch": sketch} if sketch else {}
    if name == "al-sketch":
        # The pure method (the default; explicit here): exact LU solves would hide what sketching achieves.
        options["exact_fallback"] = False
    result = mathopt.solve(problem, method=name, max_iter=max_iter, max_time=max_time, seed=0, **options)
    wall = time.perf_counter() - start
    record["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    x_star, _ = exact_solution(N) if N <= 64 and kappa == 0 else (None, None)
    record.update(status=result.status.name, nit=result.nit, wall_s=wall,
                  per_iter_s=wall / max(result.nit, 1), stationarity=result.residuals["stationarity"],
                  feasibility=result.residuals["feasibility"],
                  inner_steps=int(result.extra.get("inner_iterations", 0)),
                  exact_fallbacks=int(result.extra.get("exact_fallbacks", 0)),
                  error=float(np.max(np.abs(result.x - x_star))) if x_star is not None else None)
    return record


def run_in_subprocess(N, method, max_iter, max_time, kappa=0.0) -> dict:
    cmd = [sys.executable, __file__, "--worker", f"{N},{method},{max_iter},{max_time},{kappa}"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=max_time + 600,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    if out.returncode != 0:
        return {"N": N, "solver": method, "status": f"CRASH rc={out.returncode}", "stderr": out.stderr[-500:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def kaczmarz_step_scale(N: int) -> tuple[float, float, float]:
    """(cond(K), sigma_min(K), ||K||_F^2 / sigma_min(K)^2) of the KKT matrix at x0 (dense SVD: small N only).

    Randomized Kaczmarz reduces the expected squared error by a factor
    ``1 - sigma_min^2 / ||K||_F^2`` per step (Strohmer & Vershynin 2009), so the last
    number is the steps it needs per e-fold of error.
    """
    import numpy as np
    import scipy.sparse as sp

    from mathopt.problems.pde import poisson_control

    problem = poisson_control(N)
    ev = problem.evaluator()
    kkt = sp.bmat([[ev.lagrangian_hessian(problem.x0), ev.eq_jacobian(problem.x0).T],
                   [ev.eq_jacobian(problem.x0), None]]).toarray()
    sing = np.linalg.svd(kkt, compute_uv=False)
    return sing[0] / sing[-1], sing[-1], float(np.sum(sing ** 2) / sing[-1] ** 2)


def table(records) -> str:
    rows = ["| N | n | m | dense KKT LU (GB) | solver | status | outer it | time/it (s) | total (s) | "
            "sketch steps | stationarity | feasibility | max err vs x* | peak RSS (MB) |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        if r["solver"] == "baseline":
            continue
        n, m = r.get("n", 2 * r["N"] ** 2), r.get("m", r["N"] ** 2)
        dense_gb = (n + m) ** 2 * 8 / 1e9
        err = "-" if r.get("error") is None else f"{r['error']:.1e}"
        if "nit" not in r:
            rows.append(f"| {r['N']} | {n} | {m} | {dense_gb:.3g} | {r['solver']} | {r['status']} |" + " - |" * 8)
            continue
        rows.append(f"| {r['N']} | {n} | {m} | {dense_gb:.3g} | {r['solver']} | {r['status']} | {r['nit']} | "
                    f"{r['per_iter_s']:.3g} | {r['wall_s']:.3g} | {r['inner_steps']:.3g} | "
                    f"{r['stationarity']:.1e} | {r['feasibility']:.1e} | {err} | {r['maxrss_mb']:.0f} |")
    base = ", ".join(f"N={r['N']}: {r['maxrss_mb']:.0f} MB" for r in records if r["solver"] == "baseline")
    return "\n".join(rows) + f"\n\nBaseline peak RSS (import mathopt + build the problem, no solve): {base}."


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="3,16,224", help="grid sizes N, comma-separated")
    parser.add_argument("--solvers", default=",".join(SOLVERS))
    parser.add_argument("--max-iter", type=int, default=200)
    parser.add_argument("--max-time", type=float, default=300.0, help="per-run time limit (s)")
    parser.add_argument("--kappa", type=float, default=0.0,
                        help="cubic reaction coefficient (0: the paper's linear problem; > 0: nonlinear)")
    parser.add_argument("--out", metavar="DIR", default="bench-out",
                        help="folder of the raw records DIR/nlp_scale.json, created if missing (default: ./bench-out)")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        N, method, max_iter, max_time, kappa = args.worker.split(",")
        print(json.dumps(worker(int(N), method, int(max_iter), float(max_time), float(kappa))))
        return
    records = []
    for N in (int(s) for s in args.sizes.split(",")):
        for method in ("baseline", *args.solvers.split(",")):
            if method.endswith(":gaussian") and N > GAUSSIAN_MAX_N:
                continue
            rec = run_in_subprocess(N, method, args.max_iter, args.max_time, args.kappa)
            print(json.dumps(rec), flush=True)
            records.append(rec)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "nlp_scale.json").write_text(json.dumps(records, indent=1))
    print(f"wrote {out / 'nlp_scale.json'}")
    print(f"\nMachine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, "
          f"Python {platform.python_version()}\n")
    print(table(records))
    if args.kappa != 0:
        return
    print("\n| N | cond(K) | sigma_min(K) | Kaczmarz steps per e-fold ||K||_F^2/sigma_min^2 |\n|---|---|---|---|")
    for N in (4, 8, 16):
        cond, smin, steps = kaczmarz_step_scale(N)
        print(f"| {N} | {cond:.3g} | {smin:.3g} | {steps:.3g} |")


if __name__ == "__main__":
    main()
