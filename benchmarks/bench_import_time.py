"""Import cost of mathopt: `import mathopt` must stay under 0.5 s (target of the core issue).

Each measurement runs a fresh interpreter (so nothing is cached in-process) and
times the statement with time.perf_counter inside it; the median of --repeat
runs is reported next to the cost of importing the heavy dependencies the
library keeps out of `import mathopt` (numpy alone, jax, numba, cvxpy, ot).

    python benchmarks/bench_import_time.py [--repeat 7]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

STATEMENTS = {
    "import numpy": "import numpy",
    "import mathopt": "import mathopt",
    "import mathopt; mathopt.list_solvers()": "import mathopt; mathopt.list_solvers()",
    "import jax": "import jax",
    "import numba": "import numba",
    "import cvxpy": "import cvxpy",
    "import ot": "import ot",
}

PROBE = ("import time, sys; t = time.perf_counter(); exec(sys.argv[1]); "
         "print(time.perf_counter() - t); "
         "print(int(any(m in sys.modules for m in ('jax', 'numba', 'cvxpy', 'ot'))))")


def measure(statement: str, repeat: int) -> tuple[float, bool]:
    times, heavy = [], False
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", PROBE, statement], capture_output=True, text=True, check=True)
        seconds, loaded = out.stdout.split()
        times.append(float(seconds))
        heavy = heavy or loaded == "1"
    return statistics.median(times), heavy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print("| statement | median time (s) | loads jax/numba/cvxpy/ot |")
    print("|---|---:|---|")
    for label, statement in STATEMENTS.items():
        seconds, heavy = measure(statement, args.repeat)
        print(f"| `{label}` | {seconds:.3f} | {'yes' if heavy else 'no'} |")


if __name__ == "__main__":
    main()
