"""Issue 13 section 1: do the bilevel methods reach the solution with default options?

For every bilevel method (default options except ``max_iter``) and every problem below,
prints the status, iterations, the error ``max|x - x*|`` and, for the held-out set, whether
``|F - F*| <= 1e-2 max(1, |F*|)`` ("solved"). Problems: random strongly convex quadratics
(exact solution by linear solves) of three sizes, the same scaled by 1e3 and 1e-3, the
``shifted_toy`` (y*(x) = x, x* = 1.5) and the held-out published box-constrained problems
of :func:`mathopt.problems.bilevel.held_out_problems` (when present).

Run: ``PYTHONPATH=$PWD python benchmarks/bench_bilevel_targets.py [--max-iter N] [--methods a,b]``
"""
from __future__ import annotations

import argparse
import time

import jax.numpy as jnp
import numpy as np

import mathopt
from mathopt.problems import bilevel as problems


def _shifted_toy():
    if hasattr(problems, "shifted_toy"):
        return problems.shifted_toy()
    return mathopt.BilevelProblem(lambda x, y: 0.5 * jnp.sum((x - 1) ** 2) + 0.5 * jnp.sum((y - 2) ** 2),
                                  lambda x, y: 0.5 * jnp.sum((y - x) ** 2), [0.0], [0.0], name="shifted_toy",
                                  known_solution={"x": np.array([1.5]), "y": np.array([1.5]), "upper_value": 0.25})


def accuracy_problems():
    out = [problems.random_quadratic(dx, dy, seed=seed) for dx, dy, seed in ((2, 3, 0), (4, 7, 0), (10, 20, 0))]
    out += [problems.random_quadratic(4, 7, seed=0, scale=f) for f in (1e3, 1e-3)]
    out.append(_shifted_toy())
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-iter", type=int, default=20000)
    parser.add_argument("--methods", default="implicit,itd,pbgd,f2sa,penalty-bo")
    args = parser.parse_args()
    methods = args.methods.split(",")
    print(f"{'problem':34}{'method':12}{'status':22}{'nit':>7}{'|x-x*|':>10}{'time':>7}")
    for problem in accuracy_problems():
        for method in methods:
            start = time.perf_counter()
            r = mathopt.solve(problem, method=method, max_iter=args.max_iter)
            err = float(np.max(np.abs(r.x - problem.known_solution["x"])))
            print(f"{problem.name:34}{method:12}{r.status.name:22}{r.nit:>7}{err:>10.1e}"
                  f"{time.perf_counter() - start:>7.1f}", flush=True)
    held = getattr(problems, "held_out_problems", None)
    if held is None:
        return
    solved = dict.fromkeys(methods, 0)
    cases = held()
    for problem in cases:
        for method in methods:
            r = mathopt.solve(problem, method=method, max_iter=args.max_iter)
            star = problem.known_solution["upper_value"]
            ok = abs(r.upper_value - star) <= 1e-2 * max(1.0, abs(star))
            solved[method] += ok
            print(f"{problem.name:34}{method:12}{r.status.name:22}{r.nit:>7}  F={r.upper_value:.4g} F*={star:.4g}"
                  f" {'solved' if ok else 'NOT solved'}", flush=True)
    print("held-out solved:", {m: f"{n}/{len(cases)}" for m, n in solved.items()})


if __name__ == "__main__":
    main()
