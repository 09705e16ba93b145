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
    python benchmarks/bench_nlp_scale.py --sizes 224 --solvers al-newton,al-sketch:minres
    python benchmarks/bench_nlp_scale.py --dim 3 --sizes 24,32,48 --solvers al-newton,al-sketch:minres \
        --mem-cap-gb 12 --time-limit 300

``al-sketch:minres`` is al-sketch with ``inner_solver="minres"`` and the
PDE preconditioner :func:`mathopt.problems.pde.kkt_preconditioner` (randomized
approximate Cholesky). ``--mem-cap-gb`` caps the address space of the
``al-newton`` workers (``resource.setrlimit(RLIMIT_AS)``; a ``MemoryError`` is
recorded as ``OUT_OF_MEMORY``) and ``--time-limit`` kills any worker after that
many seconds (recorded as ``TIME_LIMIT``: a sparse LU cannot be interrupted
by ``max_time``).
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
#: The exact solution is computed (one sparse LU, after the run's peak RSS is read) up to this many
#: constraints: 2-D up to N = 224 (a few seconds), 3-D up to N = 16 (its LU fills in like al-newton's).
EXACT_MAX_M = {2: 224 ** 2, 3: 16 ** 3}
#: Gaussian sketch steps each cost a product with K (O(nnz * sketch_size)) plus a q x q pseudo-inverse, and
#: the time limit is only checked between outer iterations, so that variant runs on the smallest grid only.
GAUSSIAN_MAX_N = 4


def worker(N: int, method: str, max_iter: int, max_time: float, kappa: float = 0.0, dim: int = 2,
           mem_cap_gb: float = 0.0) -> dict:
    """One run, in this (fresh) process; returns the record as a dict."""
    import resource

    import numpy as np

    import mathopt
    from mathopt.problems.pde import exact_solution, kkt_preconditioner, poisson_control

    problem = poisson_control(N, kappa=kappa, dim=dim)
    record = {"N": N, "dim": dim, "n": problem.n, "m": problem.n_eq, "solver": method, "kappa": kappa}
    if method == "baseline":
        record["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return record
    start = time.perf_counter()
    name, _, sketch = method.partition(":")
    if sketch == "minres":
        options = {"inner_solver": "minres", "preconditioner": kkt_preconditioner(seed=0)}
    else:
        options = {"sketch": sketch} if sketch else {}
    if name == "al-sketch":
        # The pure method (the default; explicit here): exact LU solves would hide what sketching achieves.
        options["exact_fallback"] = False
    if name == "al-newton" and mem_cap_gb > 0:
        hard = resource.getrlimit(resource.RLIMIT_AS)[1]
        resource.setrlimit(resource.RLIMIT_AS, (int(mem_cap_gb * 2**30), hard))  # the soft limit
    try:
        result = mathopt.solve(problem, method=name, max_iter=max_iter, max_time=max_time, seed=0, **options)
    except MemoryError:
        record.update(status="OUT_OF_MEMORY", wall_s=time.perf_counter() - start,
                      maxrss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        return record
    wall = time.perf_counter() - start
    record["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if name == "al-newton" and mem_cap_gb > 0:
        resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
    x_star, _ = exact_solution(N, dim=dim) if problem.n_eq <= EXACT_MAX_M[dim] and kappa == 0 else (None, None)
    record.update(status=result.status.name, nit=result.nit, wall_s=wall,
                  per_iter_s=wall / max(result.nit, 1), stationarity=result.residuals["stationarity"],
                  feasibility=result.residuals["feasibility"],
                  inner_steps=int(result.extra.get("inner_iterations", 0)),
                  exact_fallbacks=int(result.extra.get("exact_fallbacks", 0)),
                  error=float(np.max(np.abs(result.x - x_star))) if x_star is not None else None)
    return record


def run_in_subprocess(N, method, max_iter, max_time, kappa=0.0, dim=2, mem_cap_gb=0.0, time_limit=None) -> dict:
    cmd = [sys.executable, __file__, "--worker", f"{N},{method},{max_iter},{max_time},{kappa},{dim},{mem_cap_gb}"]
    limit = max_time + 600 if time_limit is None else time_limit
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        stdout, stderr = proc.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        record = {"N": N, "dim": dim, "n": 2 * N ** dim, "m": N ** dim, "solver": method,
                  "status": f"TIME_LIMIT (killed after {limit:g} s)", "wall_s": time.perf_counter() - start}
        try:  # the worker's peak RSS so far (Linux), read before the kill
            status = pathlib.Path(f"/proc/{proc.pid}/status").read_text()
            record["maxrss_mb"] = int(status.split("VmHWM:")[1].split()[0]) / 1024
        except (OSError, IndexError, ValueError):
            pass
        proc.kill()
        proc.communicate()
        return record
    out = subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)
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
        dim = r.get("dim", 2)
        n, m = r.get("n", 2 * r["N"] ** dim), r.get("m", r["N"] ** dim)
        dense_gb = (n + m) ** 2 * 8 / 1e9
        err = "-" if r.get("error") is None else f"{r['error']:.1e}"
        if "nit" not in r:
            wall = f"{r['wall_s']:.3g}" if "wall_s" in r else "-"
            rss = f"{r['maxrss_mb']:.0f}" if "maxrss_mb" in r else "-"
            rows.append(f"| {r['N']} | {n} | {m} | {dense_gb:.3g} | {r['solver']} | {r['status']} | - | - | {wall} |"
                        + " - |" * 4 + f" {rss} |")
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
    parser.add_argument("--dim", type=int, default=2, choices=(2, 3), help="2-D (the paper's) or 3-D grid")
    parser.add_argument("--mem-cap-gb", type=float, default=0.0,
                        help="address-space cap of the al-newton workers (GB; 0: none)")
    parser.add_argument("--time-limit", type=float, default=None,
                        help="wall-clock limit of every worker process (s; default max-time + 600)")
    parser.add_argument("--out", metavar="DIR", default="bench-out",
                        help="folder of the raw records DIR/nlp_scale.json, created if missing (default: ./bench-out)")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        N, method, max_iter, max_time, kappa, dim, cap = args.worker.split(",")
        print(json.dumps(worker(int(N), method, int(max_iter), float(max_time), float(kappa), int(dim), float(cap))))
        return
    records = []
    for N in (int(s) for s in args.sizes.split(",")):
        for method in ("baseline", *args.solvers.split(",")):
            if method.endswith(":gaussian") and N > GAUSSIAN_MAX_N:
                continue
            rec = run_in_subprocess(N, method, args.max_iter, args.max_time, args.kappa, args.dim, args.mem_cap_gb,
                                    args.time_limit)
            print(json.dumps(rec), flush=True)
            records.append(rec)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = "nlp_scale.json" if args.dim == 2 else "nlp_scale_3d.json"
    (out / name).write_text(json.dumps(records, indent=1))
    print(f"wrote {out / name}")
    print(f"\nMachine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, "
          f"Python {platform.python_version()}\n")
    print(table(records))
    if args.kappa != 0 or args.dim != 2:
        return
    print("\n| N | cond(K) | sigma_min(K) | Kaczmarz steps per e-fold ||K||_F^2/sigma_min^2 |\n|---|---|---|---|")
    for N in (4, 8, 16):
        cond, smin, steps = kaczmarz_step_scale(N)
        print(f"| {N} | {cond:.3g} | {smin:.3g} | {steps:.3g} |")


if __name__ == "__main__":
    main()
