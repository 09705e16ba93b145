"""Per-iteration time of a bilevel solver: compiled whole run vs Python loop vs eager vs jaxopt.

Problem (y in R^dim_y, x in R^dim_y, n = 200 samples, A of shape n x dim_y):

    F(x, y) = 1/(2n) ||A y - b||^2,   f(x, y) = 1/(2n) ||A y - b||^2 + 1/2 sum_i exp(x_i) y_i^2,

solved by ``implicit`` (10 inner gradient steps, 10 CG steps per outer step;
``lower_gap_tol = stationarity_tol = 0`` so that every mode runs exactly the same number of
iterations). Measured, interleaved in ``--rounds`` rounds (the machine is shared:
the minimum and the median over rounds are reported):

* ``compiled``: ``mathopt.solve`` without callback -- the driver asks the solver's
  ``advance`` for the whole budget, one jitted ``lax.while_loop`` (time / iterations,
  per-call overhead included);
* ``compiled + history``: the same with ``history=True`` (history rows written
  inside the loop; a separate compilation, record capacity 64);
* ``python loop``: ``mathopt.solve`` with a callback -- the driver calls
  ``advance(state, i, 1, ...)`` once per iteration (one jitted call and one host copy of
  x, y and the residuals per iteration) and the callback;
* ``mathopt advance(k=1)``: ``BilevelSolver(method).advance(state, i, 1, False)`` in a
  bare Python loop (the same calls without the driver's bookkeeping);
* ``jaxopt``: one outer step of jaxopt's implicit differentiation (GradientDescent
  with ``implicit_diff=True``, the same 10 inner steps and 10 CG steps), jitted,
  in a bare Python loop -- no residuals computed, no host copy;
* ``eager``: the callback loop under ``jax.disable_jit()`` (op-by-op), ``--eager-iterations``.

Compilation time (first call minus a steady-state call) is reported separately. The
compiled run is keyed on structure only, so modes that reuse an earlier mode's
compilation (the callback path and the bare loop reuse the history-free loop) show
only their first-call overhead there.
A second table repeats the compiled-vs-Python-loop comparison on the 2-D
quadratic toy, where per-iteration dispatch, not arithmetic, dominates.

Run: ``python benchmarks/bench_bilevel_speed.py [--dim 10000] [--iterations 30] [--rounds 5]``
"""
from __future__ import annotations

import argparse
import pathlib
import statistics
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

import mathopt  # noqa: E402
from mathopt.core.jax_utils import enable_x64  # noqa: E402

#: Every mode runs exactly max_iter iterations (no stopping test can end a run early).
NO_STOP = dict(lower_gap_tol=0.0, stationarity_tol=0.0)
OPTIONS = dict(step_size=0.1, inner_steps=10, inner_step_size=0.5, linear_steps=10, **NO_STOP)


def upper_ls(x, y, d):
    return 0.5 * jnp.mean((d["a"] @ y - d["b"]) ** 2)


def lower_ls(x, y, d):
    return 0.5 * jnp.mean((d["a"] @ y - d["b"]) ** 2) + 0.5 * jnp.sum(jnp.exp(x) * y ** 2)


def least_squares_problem(dim_y, n=200, seed=0):
    rng = np.random.default_rng(seed)
    data = {"a": rng.standard_normal((n, dim_y)) / np.sqrt(dim_y), "b": rng.standard_normal(n)}
    return mathopt.BilevelProblem(upper_ls, lower_ls, np.zeros(dim_y), np.zeros(dim_y), data=data,
                                  name=f"least-squares({dim_y})")


def _advance_loop(problem, options, iterations):
    """mathopt's solver on its own, driven one iteration at a time in a bare Python loop.

    ``BilevelSolver(method).advance(state, i, 1, False)`` is what the driver calls per
    iteration when a callback is given (one jitted call, one device-to-host copy of the
    report x, y, residuals), without the driver's bookkeeping and the callback itself.
    """
    from mathopt.bilevel._engine import BilevelSolver
    from mathopt.core.options import build_options
    from mathopt.core.registry import get_solver

    spec = get_solver("implicit")
    opts = build_options(spec.options, "implicit", dict(options, seed=0, max_iter=iterations))
    solver = BilevelSolver(spec.extra["method"])
    start = []  # the initial state, made on the first run (its compilation counted there)

    def run():
        if not start:
            start.append(solver.init(problem, opts))
        state = start[0]  # immutable JAX arrays: every run starts from the same state
        for i in range(iterations):
            state = solver.advance(state, i, 1, False).state
        jax.block_until_ready(state.device)
    return run


def _jaxopt_step_loop(problem, iterations):
    import jaxopt

    with enable_x64():
        d = jax.tree_util.tree_map(jnp.asarray, problem.lower_data)
        cg = lambda matvec, b, **kw: jaxopt.linear_solve.solve_cg(  # noqa: E731
            matvec, b, maxiter=OPTIONS["linear_steps"], tol=1e-12, **kw)
        inner = jaxopt.GradientDescent(fun=lambda y, x: lower_ls(x, y, d), maxiter=OPTIONS["inner_steps"],
                                       stepsize=OPTIONS["inner_step_size"], acceleration=False, tol=0.0,
                                       implicit_diff=True, implicit_diff_solve=cg)

        def outer(x, y):
            y_star = inner.run(y, x).params
            return upper_ls(x, y_star, d), y_star

        @jax.jit
        def step(x, y):
            (_, y_star), g = jax.value_and_grad(outer, has_aux=True)(x, y)
            return x - OPTIONS["step_size"] * g, y_star

        x0, y0 = jnp.asarray(problem.x0), jnp.asarray(problem.y0)

        def run():
            with enable_x64():
                x, y = x0, y0
                for _ in range(iterations):
                    x, y = step(x, y)
                jax.block_until_ready(x)
        return run


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _measure(modes, iterations, rounds):
    """Rows (name, min, median, compile): compile time first, then the modes alternating in each round."""
    compile_s = {name: _timed(fn) - _timed(fn) for name, fn in modes.items()}
    times = {name: [] for name in modes}
    for _ in range(rounds):
        for name, fn in modes.items():
            times[name].append(_timed(fn) / iterations)
    return [(name, min(v), statistics.median(v), compile_s[name]) for name, v in times.items()]


def _modes(problem, options, iterations):
    solve = lambda **kw: mathopt.solve(problem, "implicit", max_iter=iterations, **options, **kw)  # noqa: E731
    return {"compiled (lax.while_loop, one jit)": lambda: solve(),
            "compiled + history=True": lambda: solve(history=True),
            "Python loop over jitted advance(k=1) (callback)": lambda: solve(callback=lambda info: None),
            "mathopt advance(k=1), bare Python loop": _advance_loop(problem, options, iterations)}


def _check_iterations(problem, options, iterations):
    result = mathopt.solve(problem, "implicit", max_iter=iterations, **options)
    if result.nit != iterations or result.status is not mathopt.Status.MAX_ITER:
        raise RuntimeError(f"expected {iterations} iterations and MAX_ITER, got {result.nit}, {result.status}")


def large(dim, iterations, rounds, eager_iterations):
    problem = least_squares_problem(dim)
    modes = _modes(problem, OPTIONS, iterations)
    modes["jaxopt implicit diff, jitted step, bare Python loop"] = _jaxopt_step_loop(problem, iterations)
    rows = _measure(modes, iterations, rounds)
    _check_iterations(problem, OPTIONS, iterations)  # after _measure: it would compile first
    if eager_iterations:
        with jax.disable_jit():
            eager = _timed(lambda: mathopt.solve(problem, "implicit", max_iter=eager_iterations,
                                                 callback=lambda info: None, **OPTIONS)) / eager_iterations
        rows.append(("eager (jax.disable_jit, callback loop)", eager, eager, None))
    return rows


def small(iterations, rounds):
    from mathopt.problems.bilevel import quadratic_toy

    problem = quadratic_toy(2)
    rows = _measure(_modes(problem, NO_STOP, iterations), iterations, rounds)
    _check_iterations(problem, NO_STOP, iterations)  # after _measure: it would compile first
    return rows


def table(rows):
    lines = ["| loop | s / iteration (min) | s / iteration (median) | compile (s) |", "|---|---|---|---|"]
    for name, best, median, compile_s in rows:
        lines.append(f"| {name} | {best:.4g} | {median:.4g} | {'' if compile_s is None else f'{compile_s:.2f}'} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dim", type=int, default=10_000)
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--eager-iterations", type=int, default=2)
    parser.add_argument("--small-iterations", type=int, default=2000)
    args = parser.parse_args()
    print(f"### implicit, least squares, y in R^{args.dim} ({args.iterations} iterations x {args.rounds} rounds)\n")
    print(table(large(args.dim, args.iterations, args.rounds, args.eager_iterations)))
    print(f"\n### implicit, 2-D quadratic toy ({args.small_iterations} iterations x {args.rounds} rounds)\n")
    print(table(small(args.small_iterations, args.rounds)))


if __name__ == "__main__":
    main()
