"""Ablation of the PDLP ingredients of ``pdhg-lp`` / ``halpern-pdhg-lp`` on the Netlib feasible LPs.

Each variant (a method and options that switch one ingredient off or change its rule) runs over
the LPs of ``mathopt bench --suite netlib-lp --classification max-size=N`` with the same
iteration and time limits, and is judged by the suite's own criterion
(:func:`mathopt.bench.qp.is_solved`: objective within 1e-6 relative of HiGHS's, feasibility
<= 1e-6). Run from the repository root, one process, one run at a time::

    python benchmarks/bench_pdhg_lp_options.py --max-iter 100000 --time-limit 10 --max-size 1500

Prints one line per run and the solved count of each variant.
"""
from __future__ import annotations

import argparse
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import mathopt  # noqa: E402
from mathopt.bench import qp  # noqa: E402

VARIANTS = {
    "pdhg-lp": ("pdhg-lp", {}),
    "pdhg-lp operator_norm=bound": ("pdhg-lp", {"operator_norm": "bound"}),
    "pdhg-lp restart_to=current": ("pdhg-lp", {"restart_to": "current"}),
    "pdhg-lp restarts=False": ("pdhg-lp", {"restarts": False}),
    "pdhg-lp primal_weight_update=0": ("pdhg-lp", {"primal_weight_update": 0.0}),
    "pdhg-lp pock_chambolle=False": ("pdhg-lp", {"pock_chambolle": False}),
    "pdhg-lp bound_rows=False": ("pdhg-lp", {"bound_rows": False}),
    "halpern-pdhg-lp": ("halpern-pdhg-lp", {}),
    "halpern-pdhg-lp reflection=0": ("halpern-pdhg-lp", {"reflection": 0.0}),
    "halpern-pdhg-lp operator_norm=bound": ("halpern-pdhg-lp", {"operator_norm": "bound"}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-iter", type=int, default=100000)
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--max-size", type=int, default=1500)
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated keys of VARIANTS")
    args = parser.parse_args()
    names = qp.names("netlib-lp", f"max-size={args.max_size}")
    problems = {name: qp.load("netlib-lp", name) for name in names}
    mathopt.solve(problems[names[0]], method="pdhg-lp", max_iter=1)  # compile the kernel once
    counts = {}
    for key in args.variants.split(","):
        method, options = VARIANTS[key]
        solved = 0
        for name, problem in problems.items():
            result = mathopt.solve(problem, method=method, max_iter=args.max_iter, max_time=args.time_limit,
                                   **options)
            values = qp.evaluate(problem, result.x, result.y)
            record = {"suite": "netlib-lp", "known_optimum": qp.reference_optimum("netlib-lp", name),
                      "fun": values["fun"], "feasibility": values["feasibility"]}
            ok = qp.is_solved(record)
            solved += ok
            print(f"{key:40s} {name:10s} {result.status.name:18s} nit={result.nit:6d} "
                  f"t={result.wall_time:6.2f} solved={ok}", flush=True)
        counts[key] = solved
    print()
    for key, solved in counts.items():
        print(f"{key:40s} {solved}/{len(problems)}")


if __name__ == "__main__":
    main()
