"""Cold-start cost of the Numba-backed solvers: ``import mathopt`` + the first solve, in fresh processes.

For every registered solver whose backends include ``"numba"`` (or those named
with ``--solvers``), with a new empty ``NUMBA_CACHE_DIR`` (a temporary folder):

1. **cold**: a fresh Python process times ``import mathopt`` plus the first
   solve of a tiny problem of the solver's class (the first problem
   ``benchmarks/smoke_per_family.py`` builds for that class), so every kernel the
   solve needs is compiled and written to the empty cache;
2. **warm**: a second fresh process with the same cache folder times the same
   thing again: the kernels now load from the disk cache.

Prints a Markdown table (solver, cold s, warm s, the import alone, the CPU
seconds of both processes, and the targets on wall-clock time: cold < 10 s,
warm < 1 s). The times cover ``import mathopt`` and the solve call (building
the tiny problem is excluded); the solve includes loading the registry and
importing Numba. On a shared machine wall time exceeds CPU time by the load
factor: the CPU seconds are the idle-machine estimate. Each row is one cold and
one warm process; ``--repeat`` runs several fresh cache folders and keeps the
best::

    python benchmarks/bench_cold_start.py [--solvers project-and-forget sinkhorn] [--repeat 1]
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
COLD_TARGET, WARM_TARGET = 10.0, 1.0

_CHILD = r"""
import json, sys, time
start, cpu_start = time.perf_counter(), time.process_time()
import mathopt
imported, cpu_imported = time.perf_counter(), time.process_time()
sys.path.insert(0, {benchmarks!r})
from smoke_per_family import load_families, tiny_problems
from mathopt.core import registry
load_families(registry, None)
spec = registry.get_solver({method!r})
problem = tiny_problems(mathopt)[spec.problem.__name__][0]()
built, cpu_built = time.perf_counter(), time.process_time()
result = mathopt.solve(problem, method={method!r}, seed=0)
solved, cpu_solved = time.perf_counter(), time.process_time()
print(json.dumps({{"import": imported - start, "solve": solved - built, "total": (imported - start) + (solved - built),
                  "cpu": (cpu_imported - cpu_start) + (cpu_solved - cpu_built),
                  "status": result.status.name, "nit": result.nit}}))
"""


def numba_solvers() -> list[str]:
    sys.path.insert(0, str(HERE))
    from smoke_per_family import load_families

    import mathopt
    from mathopt.core import registry

    load_families(registry, None)
    return [s.name for s in mathopt.list_solvers() if "numba" in s.backends and s.available()]


def time_process(method: str, cache: str) -> dict:
    """One fresh process: import + first solve of ``method`` with NUMBA_CACHE_DIR=cache."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    code = _CHILD.format(benchmarks=str(HERE), method=method)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=tempfile.gettempdir())
    if out.returncode != 0:
        raise RuntimeError(f"{method}: the timing process failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(method: str, repeat: int) -> tuple[dict, dict]:
    """Best (smallest total) cold and warm timings over ``repeat`` fresh cache folders."""
    colds, warms = [], []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="numba-cache-") as cache:
            colds.append(time_process(method, cache))
            warms.append(time_process(method, cache))
    best = lambda runs: min(runs, key=lambda r: r["total"])  # noqa: E731
    return best(colds), best(warms)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--solvers", nargs="+", help="registered names (default: every Numba-backed solver)")
    parser.add_argument("--repeat", type=int, default=1, help="cold/warm pairs per solver (best kept)")
    args = parser.parse_args(argv)
    methods = args.solvers or numba_solvers()
    print(f"| solver | cold s (import + first solve) | warm s (disk cache) | import s | cold / warm CPU s | "
          f"target cold < {COLD_TARGET:g} s / warm < {WARM_TARGET:g} s | status |")
    print("|---|---:|---:|---:|---:|---|---|")
    missed = 0
    for method in methods:
        cold, warm = measure(method, args.repeat)
        met = cold["total"] < COLD_TARGET and warm["total"] < WARM_TARGET
        missed += not met
        print(f"| {method} | {cold['total']:.2f} | {warm['total']:.2f} | {warm['import']:.2f} | "
              f"{cold['cpu']:.2f} / {warm['cpu']:.2f} | {'met' if met else 'MISSED'} | "
              f"{cold['status']} nit={cold['nit']} |", flush=True)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
