"""Iterates of every bilevel method on two 2-D toy problems (one x, one y).

Left: the nonconvex toy of Shen & Chen (2023), lower solutions y = -x on X = [0, 3],
global minimizer x* ~ 1.2151. Right: the box toy F = 1/2(x-2)^2 + 1/2(y-2)^2,
f = 1/2(y - x)^2, Y = [0, 1], solution (2, 1). The callback collects (x, y)
each iteration (``info.extra["y"]``). Run: ``python examples/bilevel_methods.py``
(writes docs/figures/bilevel_iterates.png).
"""
import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import jax  # noqa: E402
import numpy as np  # noqa: E402

import mathopt  # noqa: E402
from mathopt.problems import bilevel as problems  # noqa: E402

METHODS = {
    "pbgd": dict(penalty=50.0, step_size=0.004, inner_steps=50),
    "f2sa": dict(step_size=0.05),
    "penalty-bo": dict(penalty=50.0, step_size=0.002, lower_step_size=0.2, inner_steps=20),
    "implicit": dict(inner_step_size=0.05, step_size=0.05),
    "itd": dict(inner_step_size=0.05, step_size=0.05, truncation=10),
}


def trajectory(problem, method, options, max_iter):
    points = [(problem.x0[0], problem.y0[0])]
    mathopt.solve(problem, method, max_iter=max_iter,
                  callback=lambda info: points.append((info.x[0], info.extra["y"][0])), **options)
    return np.array(points)


def main(out=pathlib.Path(__file__).resolve().parents[1] / "docs" / "figures" / "bilevel_iterates.png"):
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, problem, max_iter, grid in [
            (axes[0], problems.pbgd_toy(x0=2.0, y0=0.0), 1500, (np.linspace(0, 3, 200), np.linspace(-3.2, 0.5, 200))),
            (axes[1], problems.box_toy(x0=0.0, y0=0.0), 600, (np.linspace(-0.5, 2.5, 200), np.linspace(-0.3, 1.3, 200)))]:
        X, Y = np.meshgrid(*grid)
        pointwise = jax.vmap(lambda a, b: problem.upper(a[None], b[None]))
        values = np.asarray(pointwise(X.ravel(), Y.ravel())).reshape(X.shape)
        ax.contour(X, Y, values, levels=25, cmap="Greys", linewidths=0.6)
        for method, options in METHODS.items():
            path = trajectory(problem, method, options, max_iter)
            ax.plot(path[:, 0], path[:, 1], lw=1.2, label=method)
        known = problem.known_solution
        ax.plot(known["x"], known["y"], "k*", ms=14, label="solution")
        ax.set_title(problem.name)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
    axes[0].plot([0, 3], [0, -3], "k--", lw=0.8, label="y = -x")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
