"""Refresh docs/benchmarks.md: every equality-capable NLP solver on the built-in equality set.

Runs the same benchmark as ``python -m mathopt.cli bench --out bench-out``
(all registered, available NLP solvers that handle equality constraints, on
``mathopt.problems.hs.names("equality")``, max_iter 1000, time limit 60 s per
run), writes the full report to ``bench-out/``, then replaces the tables
between the ``<!-- bench-builtin:begin/end -->`` markers of
``docs/benchmarks.md`` and copies the performance profile to
``docs/figures/bench_profile.png``. Newly registered solvers (al-sketch,
al-newton, auglag, penalty, ipopt) appear automatically.

Usage::

    python benchmarks/bench_nlp_builtin.py [--workers K] [--solvers a,b]
"""
import argparse
import os
import pathlib
import platform
import shutil
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the checkout's mathopt, not an installed one

from mathopt.bench import report, run_benchmark  # noqa: E402
from mathopt.bench.cli import default_solvers  # noqa: E402
from mathopt.problems import hs  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--solvers", default=None)
    parser.add_argument("--out", default=str(ROOT / "bench-out"))
    args = parser.parse_args(argv)
    solvers = args.solvers.split(",") if args.solvers else default_solvers()
    start = time.perf_counter()
    records = run_benchmark(hs.names("equality"), solvers, max_iter=1000, time_limit=60.0, workers=args.workers)
    elapsed = time.perf_counter() - start
    paths = report.write_report(records, args.out, command="python benchmarks/bench_nlp_builtin.py")
    machine = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, "
               f"Python {platform.python_version()}; whole run {elapsed:.0f} s wall with "
               f"{args.workers or os.cpu_count()} workers")
    block = "\n\n".join([f"Measured on: {machine}.", report.summary_table(records), "Per problem (\"ok (k it)\": "
                         "solved in k iterations; otherwise the solver's status and the objective it reached):",
                         report.problem_table(records)])
    report.replace_marked_block(ROOT / "docs" / "benchmarks.md", "bench-builtin", block)
    if "profile" in paths:
        shutil.copyfile(paths["profile"], ROOT / "docs" / "figures" / "bench_profile.png")
    print(report.summary_table(records))


if __name__ == "__main__":
    main()
