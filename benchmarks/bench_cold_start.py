"""Cold-start time of the Numba solvers: first solve in a fresh process with an empty Numba cache,
then the same solve in a second process that reuses the disk cache.

Usage: python benchmarks/bench_cold_start.py [--methods mirror-sinkhorn sinkhorn sparse-ot]
Each measurement is a fresh subprocess (``NUMBA_CACHE_DIR`` set to a new temporary folder for the
first, the same folder for the second); the time printed is that of the first ``mathopt.solve``
call in the subprocess (imports excluded), on a 4 x 4 linear OT problem.
"""
import argparse
import os
import subprocess
import sys
import tempfile

_CHILD = """
import time, numpy as np, mathopt
x = np.linspace(0.0, 1.0, 4)
problem = mathopt.TransportProblem(np.full(4, 0.25), np.full(4, 0.25), cost=(x[:, None] - x[None, :]) ** 2)
start = time.perf_counter()
mathopt.solve(problem, method={method!r}, max_iter=10)
print(time.perf_counter() - start)
"""


def first_solve_seconds(method: str, cache_dir: str) -> float:
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
    out = subprocess.run([sys.executable, "-c", _CHILD.format(method=method)], env=env, check=True,
                         capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=["mirror-sinkhorn", "sinkhorn", "sparse-ot"])
    args = parser.parse_args()
    print(f"{'method':18s}{'cold (s)':>10s}{'warm cache (s)':>16s}")
    for method in args.methods:
        with tempfile.TemporaryDirectory() as cache_dir:
            cold = first_solve_seconds(method, cache_dir)
            warm = first_solve_seconds(method, cache_dir)
        print(f"{method:18s}{cold:>10.2f}{warm:>16.2f}", flush=True)


if __name__ == "__main__":
    main()
