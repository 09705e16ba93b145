"""LV-HBA (Yao et al., ICLR 2024) on lower levels with constraints that couple x and y.

Left: ClarkWesterberg1990a (from ``mathopt.problems.bilevel.constrained_problems()``),
F = (x - 3)^2 + (y - 2)^2 over X = [0, 8], lower level min (y - 5)^2 s.t. y <= 2x + 1,
y >= (x + 2)/2, y <= (14 - x)/2: the lower solution map y*(x) = min(5, 2x + 1, (14 - x)/2)
(black) is piecewise linear because of the constraints; the optimum is (1, 3), F* = 5,
with the lower multiplier 4 on y <= 2x + 1. The (x, y) iterates of LV-HBA (default options)
start at (1, 1), leave the lower solution set while the penalty c is small and return to
it as c grows.

Right: the authors' coupled toy, x in R^100, y in R^200, g = -(1'x + 1'y) <= 0, from
x = y = 10: relative error of F, the lower-level KKT residual of (y, lambda) and the merit
stationarity, with default options (each jump of the stationarity is a doubling of c).

Run: ``python examples/bilevel_lvhba.py [--out DIR]`` (writes ``DIR/bilevel_lvhba.png``).
"""
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _output import output_dir, save_figure  # noqa: E402

import mathopt  # noqa: E402
from mathopt.problems import bilevel as problems  # noqa: E402


def plane_run():
    """LV-HBA on ClarkWesterberg1990a, with the (x, y) path at iterations 0, 1, 2, 3, 5, 7, ...
    (re-runs with growing max_iter share one compiled loop: cheaper than a callback at
    every one of the tens of thousands of iterations)."""
    problem = next(p for p in problems.constrained_problems() if p.name == "ClarkWesterberg1990a")
    result = mathopt.solve(problem, "lvhba")
    budgets = np.unique(np.round(np.geomspace(1, result.nit, 60)).astype(int))
    path = [(problem.x0[0], problem.y0[0])]
    for k in budgets:
        partial = mathopt.solve(problem, "lvhba", max_iter=int(k))
        path.append((partial.x[0], partial.y[0]))
    return problem, np.array(path), result


def toy_run(n=100):
    problem = problems.coupled_toy(n)
    result = mathopt.solve(problem, "lvhba", history=True)
    F_star = problem.known_solution["upper_value"]
    return problem, np.abs(result.history["upper_value"] - F_star) / F_star, result


def main(out=None):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    problem, path, result = plane_run()
    print(f"ClarkWesterberg1990a: {result.status.name} in {result.nit} iterations, x = {result.x[0]:.5f}, "
          f"y = {result.y[0]:.5f}, F = {result.fun:.6f} (F* = 5), multipliers {np.round(result.multipliers, 4)}")
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    ax = axes[0]
    xs = np.linspace(0.0, 8.0, 400)
    X, Y = np.meshgrid(xs, np.linspace(0.0, 7.0, 300))
    ax.contour(X, Y, (X - 3) ** 2 + (Y - 2) ** 2, levels=15, cmap="Greys", linewidths=0.6)
    ax.plot(xs, 2 * xs + 1, "C1--", lw=1, label="y = 2x + 1")
    ax.plot(xs, (xs + 2) / 2, "C2--", lw=1, label="y = (x + 2)/2")
    ax.plot(xs, (14 - xs) / 2, "C4--", lw=1, label="y = (14 - x)/2")
    feasible = (xs + 2) / 2 <= np.minimum(2 * xs + 1, (14 - xs) / 2)
    ax.plot(xs[feasible], np.minimum(5.0, np.minimum(2 * xs + 1, (14 - xs) / 2))[feasible], "k", lw=2,
            label="lower solution y*(x)")
    ax.plot(path[:, 0], path[:, 1], "C0.-", ms=2, lw=0.8, label=f"LV-HBA ({result.nit} it.)")
    ax.plot([1.0], [3.0], "r*", ms=12, label="optimum (1, 3)")
    ax.set_xlim(0, 8)
    ax.set_ylim(0, 7)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title("ClarkWesterberg1990a: coupled lower constraints")
    ax.legend(fontsize=7, loc="upper right")

    problem, errors, result = toy_run()
    h = result.history
    x_error = np.linalg.norm(result.x - problem.known_solution["x"]) / np.linalg.norm(problem.known_solution["x"])
    print(f"coupled_toy(100): {result.status.name} in {result.nit} iterations, relative error of x "
          f"{x_error:.2e}, of F {errors[-1]:.2e}, multiplier {result.multipliers[0]:.6f}, "
          f"penalty {result.extra['penalty']:.3g}")
    ax = axes[1]
    ax.semilogy(h["nit"], np.maximum(errors, 1e-16), label="|F - F*| / F*")
    ax.semilogy(h["nit"], h["lower_kkt"], label="lower_kkt")
    ax.semilogy(h["nit"], h["stationarity"], label="stationarity", alpha=0.7)
    ax.set_xlabel("iteration")
    ax.set_title("coupled toy, n = 100 (Yao et al. 2024)")
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    save_figure(fig, out, "bilevel_lvhba.png", dpi=110)
    return result


if __name__ == "__main__":
    main(out=output_dir())
