"""Every equality-capable NLP solver on the built-in equality set; with ``--docs docs``, refresh docs/benchmarks.md.

Runs the same benchmark as ``mathopt bench --out bench-out`` (all registered,
available NLP solvers that handle equality constraints, on
``mathopt.problems.hs.names("equality")``, max_iter 1000, time limit 60 s per
run) and writes the full report to ``--out DIR`` (default ``./bench-out``).
With ``--docs DIR`` (the documentation: ``--docs docs``) it also replaces the
tables between the ``<!-- bench-builtin:begin/end -->`` markers of
``DIR/benchmarks.md`` and copies the performance profile to
``DIR/figures/bench_profile.png``; without it nothing tracked is written. Newly
registered solvers (al-sketch, al-newton, auglag, penalty, ipopt) appear
automatically.

Usage::

    python benchmarks/bench_nlp_builtin.py [--workers K] [--solvers a,b] [--out DIR] [--docs docs]
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
    parser.add_argument("--out", metavar="DIR", default="bench-out",
                        help="folder of the full report, created if missing (default: ./bench-out)")
    parser.add_argument("--docs", metavar="DIR", default=None,
                        help="documentation folder to update (DIR/benchmarks.md, DIR/figures/bench_profile.png); "
                             "default: none")
    args = parser.parse_args(argv)
    solvers = args.solvers.split(",") if args.solvers else default_solvers()
    start = time.perf_counter()
    records = run_benchmark(hs.names("equality"), solvers, max_iter=1000, time_limit=60.0, workers=args.workers)
    elapsed = time.perf_counter() - start
    paths = report.write_report(records, args.out, command="python benchmarks/bench_nlp_builtin.py")
    print(f"wrote {', '.join(str(path) for path in paths.values())}")
    machine = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, "
               f"Python {platform.python_version()}; whole run {elapsed:.0f} s wall with "
               f"{args.workers or os.cpu_count()} workers")
    block = "\n\n".join([f"Measured on: {machine}.", report.summary_table(records), "Per problem (\"ok (k it)\": "
                         "solved in k iterations; otherwise the solver's status and the objective it reached):",
                         report.problem_table(records)])
    if args.docs:
        docs = pathlib.Path(args.docs)
        report.replace_marked_block(docs / "benchmarks.md", "bench-builtin", block)
        print(f"wrote {docs / 'benchmarks.md'}")
        if "profile" in paths:
            (docs / "figures").mkdir(parents=True, exist_ok=True)
            shutil.copyfile(paths["profile"], docs / "figures" / "bench_profile.png")
            print(f"wrote {docs / 'figures' / 'bench_profile.png'}")
    print(report.summary_table(records))


if __name__ == "__main__":
    main()
