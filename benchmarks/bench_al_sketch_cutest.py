"""al-sketch against al-newton on the CUTEst list of Hong et al. (2023), in one warm process.

Issue 16 §2 (small systems): al-sketch's median time within 3x of al-newton's on the CUTEst
equality set with the same solved count and no exact solves, and the paper's measure, the median
number of outer iterations to ``||(grad_x L, c)||_2 <= 1e-4``, at most 5.

For each problem of ``mathopt.bench.suites.AL_PAPER_PROBLEMS`` that is in MASTSIF (40 of 47), each
solver runs once untimed (loading Numba kernels and tracing nothing else: CUTEst supplies the
derivatives), then ``--repeats`` timed runs with default options (seed 0), whose median CPU time
(``time.process_time``: not inflated by other jobs on a shared machine, unlike wall time) and wall
time are reported; one more run with a callback records the first outer iteration with
KKT <= 1e-4. "Solved" is the residual part of ``mathopt bench``'s criterion (stationarity <= 1e-6,
feasibility <= 1e-8 at the returned point).

Usage (CUTEst built, ``source ~/.cache/cutest/cutest.env``)::

    python benchmarks/bench_al_sketch_cutest.py [--repeats 3] [--problems HS6,BT5]
"""
import argparse
import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import mathopt  # noqa: E402
from mathopt.bench.report import FEASIBILITY_TOL, STATIONARITY_TOL  # noqa: E402
from mathopt.bench.suites import AL_PAPER_NOT_IN_MASTSIF, AL_PAPER_PROBLEMS  # noqa: E402
from mathopt.problems import cutest  # noqa: E402

SOLVERS = ("al-sketch", "al-newton")


def measure(problem, method, repeats):
    mathopt.solve(problem, method, seed=0, max_iter=1000, max_time=60.0)  # untimed: kernels loaded
    cpu, wall = [], []
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        result = mathopt.solve(problem, method, seed=0, max_iter=1000, max_time=60.0)
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    first = []

    def callback(info):
        if not first and info.extra.get("kkt_norm", float("inf")) <= 1e-4:
            first.append(info.nit)

    mathopt.solve(problem, method, seed=0, max_iter=1000, max_time=60.0, callback=callback)
    solved = (result.residuals["stationarity"] <= STATIONARITY_TOL
              and result.residuals["feasibility"] <= FEASIBILITY_TOL)
    return dict(cpu=statistics.median(cpu), wall=statistics.median(wall), nit=result.nit, solved=solved,
                first=first[0] if first else None, status=result.status.name,
                exact=result.extra.get("exact_fallbacks", 0))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--problems", default=None, help="comma-separated subset (default: the 40 in MASTSIF)")
    args = parser.parse_args(argv)
    names = (args.problems.split(",") if args.problems
             else [p for p in AL_PAPER_PROBLEMS if p not in AL_PAPER_NOT_IN_MASTSIF])
    rows = {}
    print("| problem | n | m | " + " | ".join(f"{s} (nit, to 1e-4, CPU ms)" for s in SOLVERS) + " | CPU ratio |")
    print("|---|---:|---:|" + "---|" * len(SOLVERS) + "---:|")
    for name in names:
        problem = cutest.load(name)
        rows[name] = {s: measure(problem, s, args.repeats) for s in SOLVERS}
        cells = [f"{'ok' if r['solved'] else r['status']} ({r['nit']}, {r['first']}, {1e3 * r['cpu']:.1f})"
                 for r in rows[name].values()]
        ratio = rows[name]["al-sketch"]["cpu"] / max(rows[name]["al-newton"]["cpu"], 1e-9)
        print(f"| {name} | {problem.n} | {problem.n_eq} | " + " | ".join(cells) + f" | {ratio:.2f} |", flush=True)
    print()
    print("| solver | solved | runs with exact solves | median outer iterations to KKT <= 1e-4 "
          "| median CPU time [ms] | median wall time [ms] |")
    print("|---|---:|---:|---:|---:|---:|")
    for s in SOLVERS:
        runs = [r[s] for r in rows.values()]
        firsts = [r["first"] for r in runs if r["first"] is not None]
        print(f"| {s} | {sum(r['solved'] for r in runs)}/{len(runs)} | {sum(r['exact'] > 0 for r in runs)} "
              f"| {statistics.median(firsts) if firsts else float('nan'):g} "
              f"| {1e3 * statistics.median(r['cpu'] for r in runs):.1f} "
              f"| {1e3 * statistics.median(r['wall'] for r in runs):.1f} |")
    ratios = [r["al-sketch"]["cpu"] / max(r["al-newton"]["cpu"], 1e-9) for r in rows.values()]
    medians = [statistics.median(r[s]["cpu"] for r in rows.values()) for s in SOLVERS]
    print(f"\nratio of median CPU times al-sketch / al-newton: {medians[0] / medians[1]:.2f}; "
          f"median of per-problem ratios: {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
