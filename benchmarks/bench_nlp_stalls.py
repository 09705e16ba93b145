"""Issue 18, section 3: al-sketch on equality-constrained CUTEst problems of 40-100 variables.

Each (problem, solver) run happens in a fresh subprocess with a wall-clock
limit (``max_time`` plus a grace period; a run past it is killed and recorded
as ``KILLED``). A problem is ``NAME`` (its SIF file's default size) or
``NAME:KEY=VALUE[,KEY=VALUE]`` (SIF parameters, e.g. ``ORTHRDM2:NPTS=20``).
For ``al-sketch`` and ``al-newton`` the record also holds the diagnostics of
:mod:`mathopt.constrained._exact_al`: final penalty ``mu`` and ``nu``, sketch
steps (``inner_iterations``), ``inaccurate_steps``, ``fallback_steps``,
``exact_fallbacks``, the least eigenvalue ``min_eig_reduced`` of the reduced
Lagrangian Hessian at the last iterate (``Z^T H Z``, ``Z`` a null-space basis
of the constraint Jacobian; negative: not a local minimizer there) and ``kkt_norm``.

Needs CUTEst and pycutest (``source ~/.cache/cutest/cutest.env``).

Usage::

    python benchmarks/bench_nlp_stalls.py --problems DTOC2,ORTHRDM2:NPTS=20 --solvers al-sketch,al-newton \
        --max-time 60 --out stalls.jsonl
"""
import argparse
import json
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the checkout's mathopt, not an installed one

DEFAULT_SOLVERS = "al-sketch,al-newton,scipy-slsqp,auglag,ipopt"


def parse(spec: str) -> tuple[str, dict]:
    """``NAME`` or ``NAME:KEY=VALUE,...`` -> (name, SIF parameters with int values where they parse)."""
    name, _, rest = spec.partition(":")
    params = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        try:
            params[key] = int(value)
        except ValueError:
            params[key] = float(value)
    return name, params


def reduced_hessian_min_eig(problem, result) -> float:
    """Least eigenvalue of ``Z^T H Z`` at ``result.x`` (``H`` the Lagrangian Hessian at the result's
    multipliers, ``Z`` an orthonormal null-space basis of the Jacobian); NaN when not computable."""
    import numpy as np
    import scipy.linalg

    try:
        ev = problem.evaluator()
        lam = result.extra["multipliers"]["eq"]
        H = ev.lagrangian_hessian(result.x, lam, np.zeros(problem.n_ineq))
        G = ev.eq_jacobian(result.x)
        H = H.toarray() if hasattr(H, "toarray") else np.asarray(H)
        G = G.toarray() if hasattr(G, "toarray") else np.asarray(G)
        Z = scipy.linalg.null_space(G)
        return float(np.linalg.eigvalsh(Z.T @ (0.5 * (H + H.T)) @ Z)[0]) if Z.size else float("inf")
    except Exception:  # noqa: BLE001 - a diagnostic only
        return float("nan")


def worker(spec: str, method: str, max_time: float, max_iter: int, options: dict) -> dict:
    import mathopt
    from mathopt.problems import cutest

    name, params = parse(spec)
    problem = cutest.load(name, params or None)
    start = time.perf_counter()
    result = mathopt.solve(problem, method=method, max_time=max_time, max_iter=max_iter, seed=0, **options)
    wall = time.perf_counter() - start
    record = {"problem": spec, "n": problem.n, "m": problem.n_eq, "solver": method, "status": result.status.name,
              "time": wall, "nit": result.nit, "fun": result.fun, **result.residuals,
              "message": result.message[:300]}
    for key in ("penalty", "nu", "inner_iterations", "inaccurate_steps", "fallback_steps", "exact_fallbacks"):
        if key in result.extra:
            record[key] = result.extra[key]
    if method in ("al-sketch", "al-newton") and problem.n <= 2000:
        record["min_eig_reduced"] = reduced_hessian_min_eig(problem, result)
    return record


def run_one(spec: str, method: str, max_time: float, max_iter: int, grace: float, options: dict) -> dict:
    code = ("import json, sys; sys.path.insert(0, sys.argv[1]); "
            "from benchmarks.bench_nlp_stalls import worker; "
            "print('RECORD', json.dumps(worker(sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5]), "
            "json.loads(sys.argv[6]))))")
    start = time.perf_counter()
    try:
        out = subprocess.run([sys.executable, "-c", code, str(ROOT), spec, method, str(max_time), str(max_iter),
                              json.dumps(options)], capture_output=True, text=True, timeout=max_time + grace)
    except subprocess.TimeoutExpired:
        return {"problem": spec, "solver": method, "status": "KILLED", "time": time.perf_counter() - start}
    for line in out.stdout.splitlines():
        if line.startswith("RECORD "):
            return json.loads(line[7:])
    return {"problem": spec, "solver": method, "status": "ERROR", "time": time.perf_counter() - start,
            "message": out.stderr.strip().splitlines()[-1][:300] if out.stderr.strip() else ""}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problems", required=True, help="comma-separated NAME or NAME:KEY=VALUE (';' between "
                        "problems when a problem has several parameters)")
    parser.add_argument("--solvers", default=DEFAULT_SOLVERS)
    parser.add_argument("--max-time", type=float, default=60.0)
    parser.add_argument("--max-iter", type=int, default=100000)
    parser.add_argument("--grace", type=float, default=60.0)
    parser.add_argument("--options", default="{}", help="JSON options for every solver (e.g. '{\"recycle\": 0}')")
    parser.add_argument("--out", default="stalls.jsonl")
    args = parser.parse_args(argv)
    specs = args.problems.split(";") if ";" in args.problems else args.problems.split(",")
    options = json.loads(args.options)
    with open(args.out, "a") as fh:
        for spec in specs:
            for method in args.solvers.split(","):
                opts = options if method in ("al-sketch", "al-newton") else {}
                record = run_one(spec, method, args.max_time, args.max_iter, args.grace, opts)
                fh.write(json.dumps(record) + "\n")
                fh.flush()
                keys = ("n", "m", "nit", "feasibility", "stationarity", "penalty", "inner_iterations",
                        "inaccurate_steps", "fallback_steps", "min_eig_reduced")
                print(f"{spec:22s} {method:12s} {record['status']:22s} {record['time']:7.1f}s "
                      + " ".join(f"{k}={record[k]:.3g}" if isinstance(record.get(k), float) else f"{k}={record.get(k)}"
                                 for k in keys if k in record), flush=True)


if __name__ == "__main__":
    main()
