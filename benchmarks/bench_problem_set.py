"""Cost of the built-in problem set: building all of ``mathopt.problems.hs``, then derivative evaluations.

Prints (1) the time to build every problem in one process (mostly the JIT
compilation of each problem's gradient and Jacobians) and (2) the time of
``--evaluations`` gradient + Jacobian + Lagrangian-Hessian evaluations of one
problem (``--problem``, default BT11) at random points near x0, after a first
call has compiled the Hessian. Prints only; writes nothing.

    python benchmarks/bench_problem_set.py [--problem BT11] [--evaluations 100]
"""
import argparse
import pathlib
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # the checkout's mathopt


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problem", default="BT11")
    parser.add_argument("--evaluations", type=int, default=100)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    from mathopt.problems import hs

    problems = [hs.load(name) for name in hs.names()]
    print(f"built {len(problems)} problems in {time.perf_counter() - start:.1f} s (import included)")
    evaluator = hs.load(args.problem).evaluator()
    n, m = evaluator.problem.n, evaluator.problem.n_eq
    points = evaluator.problem.x0 + 0.1 * np.random.default_rng(0).standard_normal((args.evaluations, n))
    multipliers = np.ones(m)
    evaluator.lagrangian_hessian(points[0], multipliers)  # compiles the Hessian
    start = time.perf_counter()
    for x in points:
        evaluator.gradient(x), evaluator.eq_jacobian(x), evaluator.lagrangian_hessian(x, multipliers)
    print(f"{args.evaluations} gradient + Jacobian + Hessian evaluations of {args.problem}: "
          f"{time.perf_counter() - start:.3f} s")


if __name__ == "__main__":
    main()
