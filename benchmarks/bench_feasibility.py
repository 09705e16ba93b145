"""Infeasibility detection on the 23 infeasible Netlib LPs: mathopt's ADMM and PDHG (plain and Halpern), OSQP, SCS.

For each LP of ``../shared/data/netlib-infeas`` (read by HiGHS, column bounds as rows) and
each solver, within the same iteration budget and per-problem time limit, record the status,
the iterations, the time and whether the primal infeasibility certificate passes the
independent check of ``tests/feasibility/certificates.py`` (||A'y||_inf <= 1e-4,
u'y_+ + l'y_- <= -1e-4 after scaling y to ||y||_inf = 1). OSQP's certificate is its
``prim_inf_cert``; SCS's dual ray on its split rows is mapped back to one multiplier per
row (y_eq + y_upper - y_lower); the peers are those of :mod:`mathopt.bench.qp` (also
``mathopt bench --suite netlib-infeas --solvers halpern-admm,osqp,scs``).

Run from the repository root::

    python benchmarks/bench_feasibility.py --max-iter 100000 --time-limit 20

Prints a Markdown table and the summary and writes them (and a JSON file) to ``--out``
(default ``bench-out/feasibility``, a build folder).
"""
from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import mathopt  # noqa: E402
from mathopt.problems.lp import read_mps  # noqa: E402
from mathopt.bench.qp import PEERS, primal_certificate_ok  # noqa: E402

SOLVERS = ("halpern-admm", "admm-qp", "halpern-pdhg-lp", "pdhg-lp", "osqp", "scs")


def run_mathopt(problem, method, max_iter, time_limit):
    result = mathopt.solve(problem, method=method, max_iter=max_iter, max_time=time_limit)
    cert = result.certificate if result.status is mathopt.Status.PRIMAL_INFEASIBLE else None
    return result.status.name, result.nit, cert


def run_one(problem, solver, max_iter, time_limit):
    start = time.perf_counter()
    if solver in PEERS:
        status, _, _, cert, nit = PEERS[solver][1](problem, max_iter, time_limit)
    else:
        status, nit, cert = run_mathopt(problem, solver, max_iter, time_limit)
    seconds = time.perf_counter() - start
    verified, why = (False, "no certificate")
    if cert is not None:
        verified, why = primal_certificate_ok(problem.A, problem.l, problem.u, cert)
    return {"status": status, "nit": nit, "seconds": seconds, "verified": bool(verified), "check": why}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "netlib-infeas"))
    parser.add_argument("--max-iter", type=int, default=100000)
    parser.add_argument("--time-limit", type=float, default=20.0, help="seconds per problem and solver")
    parser.add_argument("--solvers", nargs="+", default=list(SOLVERS), choices=SOLVERS)
    parser.add_argument("--problems", nargs="*", default=None, help="names (without .mps.gz); default all")
    parser.add_argument("--out", default="bench-out/feasibility")
    args = parser.parse_args(argv)
    data = pathlib.Path(args.data)
    if not data.is_dir():
        sys.exit(f"no data folder {data} (the Netlib infeasible LPs; see ../shared/data/README.md)")
    files = sorted(data.glob("*.mps.gz"))
    if args.problems:
        files = [f for f in files if f.name.split(".")[0] in args.problems]
    rows = {}
    for path in files:
        name = path.name.split(".")[0]
        problem = read_mps(path)
        rows[name] = {"n": problem.n, "m": problem.m}
        for solver in args.solvers:
            rows[name][solver] = run_one(problem, solver, args.max_iter, args.time_limit)
            r = rows[name][solver]
            print(f"{name:10s} {solver:13s} {r['status']:28s} nit={r['nit']:7d} {r['seconds']:7.2f}s "
                  f"verified={r['verified']} ({r['check']})", flush=True)
    text = report(rows, args)
    print(text)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "feasibility.md").write_text(text)
    (out / "feasibility.json").write_text(json.dumps({"args": vars(args), "rows": rows}, indent=1))


def _cell(r):
    mark = "**cert**" if r["verified"] else r["status"].lower().replace("_", " ")[:16]
    return f"{mark} {r['nit']} it, {r['seconds']:.1f} s"


def report(rows, args) -> str:
    solvers = args.solvers
    lines = [f"Budget: {args.max_iter} iterations and {args.time_limit:g} s per problem and solver; "
             f"**cert** = PRIMAL_INFEASIBLE with a certificate that passes the independent check.", "",
             "| problem | n | m | " + " | ".join(solvers) + " |", "|---|---|---|" + "---|" * len(solvers)]
    for name, row in rows.items():
        lines.append(f"| {name} | {row['n']} | {row['m']} | " + " | ".join(_cell(row[s]) for s in solvers) + " |")
    lines.append("")
    counts = {s: sum(row[s]["verified"] for row in rows.values()) for s in solvers}
    lines.append("Verified certificates: " + ", ".join(f"{s} {counts[s]}/{len(rows)}" for s in solvers) + ".")
    for accelerated, plain in (("halpern-admm", "admm-qp"), ("halpern-pdhg-lp", "pdhg-lp")):
        if accelerated not in solvers or plain not in solvers:
            continue
        both = [r for r in rows.values() if r[accelerated]["verified"] and r[plain]["verified"]]
        if both:
            fast = statistics.median(r[accelerated]["nit"] for r in both)
            slow = statistics.median(r[plain]["nit"] for r in both)
            lines.append(f"Median iterations on the {len(both)} problems both certify: {accelerated} {fast:g}, "
                         f"{plain} {slow:g} (ratio {fast / slow:.2f}).")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
