"""``mathopt bench``: the command-line front end of :mod:`mathopt.bench`.

Example::

    mathopt bench --out bench-out                     # built-in equality set, all NLP solvers
    mathopt bench --solvers scipy-slsqp --problems HS6,BT9 --max-iter 200 --time-limit 30
    mathopt bench --suite cutest --classification "QQR2-AN-*-*" --workers 4
    mathopt bench --suite netlib-infeas --solvers halpern-admm,osqp,scs --max-iter 100000 --workers 1
    mathopt bench --suite maros-meszaros --classification max-size=1000 --data-dir ../shared/data
"""
from __future__ import annotations

import os
import shlex
import sys

from .suites import QP_SUITES, SUITES


def add_arguments(parser) -> None:
    """Add the ``bench`` options to an argparse (sub)parser."""
    parser.add_argument("--suite", default="builtin", choices=SUITES,
                        help="problem suite (default: builtin = mathopt.problems.hs); maros-meszaros, netlib-lp "
                             "and netlib-infeas are the LP/QP suites of mathopt.bench.qp")
    parser.add_argument("--data-dir", default=None,
                        help="folder of the LP/QP collections (holding maros-meszaros/, netlib-lp/, netlib-infeas/); "
                             "default $MATHOPT_DATA_DIR, else ../shared/data")
    parser.add_argument("--solvers", default=None,
                        help="comma-separated methods (default: every available NLP solver that handles "
                             "equality constraints; for the LP/QP suites every QP solver); the LP/QP suites also "
                             "take the peers osqp, scs, pdlp (OR-Tools) and highs")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--problems", default=None, help="comma-separated problem names")
    group.add_argument("--classification", default=None,
                       help="builtin: equality (default), general or all; cutest: a pycutest "
                            "classification pattern such as 'QQR2-AN-*-*' or key=value filters; LP/QP suites: "
                            "max-size=N (the problems with n + m <= N)")
    parser.add_argument("--out", default="bench-out", help="output directory (default: bench-out)")
    parser.add_argument("--max-iter", type=int, default=1000, help="iteration limit per run (default 1000)")
    parser.add_argument("--time-limit", type=float, default=60.0,
                        help="time limit per run in seconds, passed as max_time (default 60)")
    parser.add_argument("--grace", type=float, default=30.0,
                        help="extra seconds (start-up, compilation) before a run is killed (default 30)")
    parser.add_argument("--workers", type=int, default=None, help="parallel runs (default: CPU count)")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="run on a Dask cluster: the scheduler's address (tcp://host:8786), or 'local' "
                             "for a LocalCluster of --workers processes on this machine (needs dask.distributed)")
    parser.add_argument("--profile-metric", default="wall_time", choices=("wall_time", "nfev", "ngev", "nit"),
                        help="cost used by the performance profile (default wall_time)")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bar (default: a bar on a terminal, else a line every 5 s)")


def default_solvers(suite: str = "builtin") -> list[str]:
    """Available NLP solvers that handle equality constraints; for the LP/QP suites, the QP solvers."""
    from ..core.nlp import NLP
    from ..core.registry import list_solvers

    if suite in QP_SUITES:
        from ..feasibility.problem import QP

        return [s.name for s in list_solvers(QP) if s.available()]
    return [s.name for s in list_solvers(NLP) if s.available() and "eq" in s.constraints]


def run_from_args(args) -> int:
    """Run the benchmark described by parsed ``args``; print the summary and the output paths.

    Exit code 2 before any run when a solver or problem name is unknown, a
    solver is not an available solver of the suite's problem class, the cutest suite lacks
    pycutest/CUTEst, or an LP/QP suite's data folder is absent; 1 when no run could take place (every problem failed to
    build or no solver handles any problem); else 0.
    """
    from ..core.registry import UnknownMethodError
    from . import report
    from .runner import BUILD_FAILED, run_benchmark
    from .suites import suite_problems

    if getattr(args, "data_dir", None):
        from .qp import DATA_ENV

        os.environ[DATA_ENV] = os.path.abspath(args.data_dir)
    solvers = args.solvers.split(",") if args.solvers else default_solvers(args.suite)
    cluster = None
    try:
        problems = (args.problems.split(",") if args.problems
                    else suite_problems(args.suite, args.classification))
        executor = None
        if getattr(args, "scheduler", None):
            from .runner import dask_executor

            executor, cluster = dask_executor(args.scheduler, workers=args.workers)
        records = run_benchmark(problems, solvers, executor, suite=args.suite, max_iter=args.max_iter,
                                time_limit=args.time_limit, grace=args.grace, workers=args.workers,
                                progress=False if args.no_progress else None)
    except (UnknownMethodError, ValueError, KeyError, ImportError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if cluster is not None:
            cluster.close()
    command = "mathopt bench " + " ".join(shlex.quote(a) for a in sys.argv[1:] if a != "bench") \
        if os.path.basename(sys.argv[0]) in ("mathopt", "cli.py") else None
    paths = report.write_report(records, args.out, metric=args.profile_metric, command=command)
    print(report.summary_table(records))
    print()
    for kind, path in paths.items():
        print(f"{kind}: {path}")
    if all(r["status"] in ("UNSUPPORTED", BUILD_FAILED) for r in records):
        print("error: no run took place (every problem failed to build or no solver handles it)", file=sys.stderr)
        return 1
    return 0
