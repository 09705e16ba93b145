"""Regenerate the figures of the documentation: run every example with ``--out DIR``.

    python examples/make_figures.py --out docs/figures        # every example
    python examples/make_figures.py --out /tmp/figs metric_repair_digits bilevel_pbgd
    python examples/make_figures.py --list                     # which figure comes from where

Each example runs in its own interpreter (``python examples/NAME.py --out DIR``,
with this checkout first on ``PYTHONPATH``, so the figures show this checkout's
mathopt, not another installed copy) and must write the figure listed in :data:`EXAMPLES`; a script that fails or
does not write it makes the command exit with status 1. The default folder is
``./mathopt-figures`` (ignored by git), like every example's.

The other figures in ``docs/figures/`` come from the benchmarks (minutes to
hours, machine-dependent timings); :data:`BENCHMARK_FIGURES` names the command
of each, printed by ``--list``.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from _output import add_out_argument, output_dir  # noqa: E402

#: example script (examples/NAME.py) -> the figures it writes into --out
EXAMPLES = {
    "bilevel_pbgd": ["bilevel_pbgd.png"],
    "bilevel_f2sa": ["bilevel_f2sa.png"],
    "bilevel_penalty_bo": ["bilevel_penalty_bo.png"],
    "bilevel_implicit": ["bilevel_implicit.png"],
    "bilevel_itd": ["bilevel_itd.png"],
    "bilevel_slbamm": ["bilevel_slbamm.png"],
    "bilevel_lvhba": ["bilevel_lvhba.png"],
    "bilevel_svm": ["bilevel_svm.png"],
    "constrained_logistic_regression": ["constrained_logistic_regression.png"],
    "metric_repair_digits": ["metric_repair_digits.png"],
    "metric_learning_knn": ["metric_learning_knn.png"],
    "transport_online": ["transport_online.png"],
    "transport_token_experts": ["transport_token_experts.png"],
    "feasibility_certificate": ["feasibility_certificate.png", "feasibility_rates.png"],
    "prox_deblur_tv": ["prox_deblur_tv.png"],
    "prox_lpn_laplace": ["prox_lpn_laplace.png"],
    "prox_lpn_digits": ["prox_lpn_digits.png"],
}

#: figures (and generated tables) of docs/ written by a benchmark, and the command that writes them
BENCHMARK_FIGURES = {
    "docs/figures/bench_profile.png, the tables of docs/benchmarks.md":
        "python benchmarks/bench_nlp_builtin.py --docs docs",
    "docs/figures/bilevel_hypercleaning.png, docs/figures/bilevel_bench.md":
        "python benchmarks/bench_hypercleaning.py --budget 10 --out docs",
    "docs/figures/bilevel_hypercleaning_batch64.png, docs/figures/bilevel_bench_batch64.md":
        "python benchmarks/bench_hypercleaning.py --budget 10 --batch-size 64 --out docs",
    "docs/figures/metric_nearness_scaling.png, the tables of docs/metric.md":
        "python benchmarks/bench_metric.py  (writes bench-out/metric_bench.md and "
        "bench-out/figures/metric_nearness_scaling.png; copy them into the docs)",
    "docs/figures/transport_linear_*.png, docs/transport_benchmarks.md":
        "python benchmarks/bench_transport.py --sizes 100 1000 5000 --budgets 10 30 100 300 1000 3000 10000 --regs 0.03 0.01 0.003 0.001 0.0003 0.0001 --log-regs 0.001 0.0001 --large-budgets 10 30 100 300 1000 --time-budget 60 --skip-sparse --out docs",
    "docs/figures/prox_lpn_laplace_bench.png, docs/figures/prox_lpn_laplace_bench.md":
        "python benchmarks/bench_lpn_laplace.py --out docs",
    "docs/figures/prox_lpn_digits_bench.png, docs/figures/prox_lpn_digits_prior.png, docs/figures/prox_lpn_digits_bench.md":
        "python benchmarks/bench_lpn_digits.py --out docs",
    "docs/figures/prox_lpn_deblur.png, docs/figures/prox_lpn_deblur_convergence.png, docs/figures/prox_lpn_deblur.md":
        "python benchmarks/bench_lpn_deblur.py --out docs",
    "docs/transport_benchmarks_sparse.md":
        "python benchmarks/bench_transport.py --skip-linear --sparse-size 1000 --out docs",
}


def run_example(name: str, out: pathlib.Path) -> list[str]:
    """Run ``examples/name.py --out out``; the list of problems (empty when it wrote its figures)."""
    expected = [out / figure for figure in EXAMPLES[name]]
    before = {path: path.stat().st_mtime_ns if path.exists() else None for path in expected}
    start = time.perf_counter()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    done = subprocess.run([sys.executable, str(HERE / f"{name}.py"), "--out", str(out)], env=env)
    print(f"[{name}: exit status {done.returncode}, {time.perf_counter() - start:.0f} s]", flush=True)
    problems = [f"{name} exited with status {done.returncode}"] if done.returncode else []
    for path in expected:
        if not path.exists() or path.stat().st_mtime_ns == before[path]:
            problems.append(f"{name} did not write {path}")
    return problems


def main(argv=None) -> int:
    parser = add_out_argument(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    parser.add_argument("names", nargs="*", metavar="NAME", help="examples to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the figures and their commands, run nothing")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(EXAMPLES))
    if unknown:
        parser.error(f"unknown example(s) {', '.join(unknown)}; known: {', '.join(EXAMPLES)}")
    if args.list:
        for name, figures in EXAMPLES.items():
            print(f"{', '.join(figures):40s} python examples/{name}.py --out DIR")
        for figures, command in BENCHMARK_FIGURES.items():
            print(f"{figures}\n    {command}")
        return 0
    out = output_dir(args)
    problems = []
    for name in args.names or EXAMPLES:
        problems += run_example(name, out)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    print(f"figures in {out}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
