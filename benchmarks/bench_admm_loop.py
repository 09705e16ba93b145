"""Time per iteration of the ADMM loop: ``loop="python"`` (NumPy + SuperLU solve) against the
compiled kernel (``loop="compiled"``), on infeasible Netlib LPs of several sizes.

Both loops run ``halpern-admm`` with a fixed penalty and no termination tests (``advance`` only,
after one warm-up call that loads the compiled kernel), best of two runs; setup (scaling,
factorization) is not timed. Run from the repository root::

    python benchmarks/bench_admm_loop.py [--problems galenet,klein1,...] [--iterations 3000]

(data: ``$MATHOPT_DATA_DIR`` or ``../shared/data``, as for ``mathopt bench``).

Prints a Markdown table (problem, n, m, nnz(A), microseconds per iteration of each loop, ratio).
"""
from __future__ import annotations

import argparse
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mathopt.bench.qp import data_dir  # noqa: E402
from mathopt.feasibility.admm import ADMMSolver  # noqa: E402
from mathopt.feasibility.halpern_admm import HalpernADMMOptions  # noqa: E402
from mathopt.problems.lp import read_mps  # noqa: E402

PROBLEMS = "galenet,klein1,refinery,reactor,pilot4i,ceria3d,gran,greenbea,gosh"


def seconds_per_iteration(problem, loop: str, iterations: int) -> float:
    options = HalpernADMMOptions(max_iter=10**9, loop=loop, penalty_interval=0, check_interval=10**9,
                                 polish_interval=0)
    solver = ADMMSolver(halpern=True)
    state = solver.init(problem, options)
    solver.advance(state, 0, 2, False)  # warm-up: loads the cached kernel
    start = time.perf_counter()
    out = solver.advance(state, 0, iterations, False)
    return (time.perf_counter() - start) / max(out.done, 1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", default=PROBLEMS)
    parser.add_argument("--iterations", type=int, default=3000)
    args = parser.parse_args(argv)
    folder = data_dir() / "netlib-infeas"
    print("| problem | n | m | nnz(A) | Python loop [us] | compiled [us] | speed-up |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in args.problems.split(","):
        problem = read_mps(folder / f"{name}.mps.gz")
        best = {loop: min(seconds_per_iteration(problem, loop, args.iterations) for _ in range(2))
                for loop in ("python", "compiled")}
        print(f"| {name} | {problem.n} | {problem.m} | {problem.A.nnz} | {best['python'] * 1e6:.0f} | "
              f"{best['compiled'] * 1e6:.0f} | {best['python'] / best['compiled']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
