"""The ``mathopt`` command line: ``mathopt solvers``, ``mathopt show-options METHOD``, ``mathopt bench``."""
from __future__ import annotations

import argparse
import sys

from .core.registry import list_solvers, show_options, UnknownMethodError


def _format_table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def cmd_solvers(args) -> int:
    rows = []
    for spec in list_solvers():
        rows.append([spec.name, spec.problem.__name__, ",".join(spec.backends),
                     ",".join(sorted(spec.constraints)) or "-", "yes" if spec.stochastic else "no",
                     "yes" if spec.default else "", "yes" if spec.available() else "no", spec.summary])
    print(_format_table(rows, ["method", "problem", "backends", "constraints", "stochastic", "default",
                               "available", "summary"]))
    return 0


def cmd_show_options(args) -> int:
    try:
        show_options(args.method)
    except UnknownMethodError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _bench_entry():
    try:
        from .bench.cli import add_arguments, run_from_args
    except ImportError:
        return None, None
    return add_arguments, run_from_args


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="mathopt", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("solvers", help="list the registered solvers").set_defaults(func=cmd_solvers)
    show = sub.add_parser("show-options", help="print a method's documented options")
    show.add_argument("method")
    show.set_defaults(func=cmd_show_options)
    add_arguments, run_from_args = _bench_entry()
    bench = sub.add_parser("bench", help="run solvers over a problem suite (benchmark runner)")
    if add_arguments is not None:
        add_arguments(bench)
        bench.set_defaults(func=run_from_args)
    else:
        bench.set_defaults(func=lambda a: (print("mathopt bench is not available in this build", file=sys.stderr), 2)[1])
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
