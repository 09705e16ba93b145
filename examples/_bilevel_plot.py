"""Shared plotting of the bilevel teaching examples (``examples/bilevel_*.py``).

Each example names a method and a few runs (option sets, starting points) on
the two 2-D toys of :mod:`mathopt.problems.bilevel` (one x, one y):

* ``pbgd_toy``: the nonconvex toy of Shen & Chen (2023); the lower level has the
  solution set y = -x, the hyper-objective phi(x) = F(x, -x) has three local
  minimizers on X = [0, 3] (the global one near 1.2151);
* ``box_toy``: F = 1/2(x-2)^2 + 1/2(y-2)^2, f = 1/2(y-x)^2, Y = [0, 1]; the lower
  solution is y*(x) = clip(x, 0, 1) and the bilevel solution (2, 1).

:func:`show` runs them through :func:`mathopt.solve` (a callback collects the
iterates (x_k, y_k), ``history=True`` the residuals) and writes one PNG: top row
the iterates over the contours of F with the lower-level solution set dashed,
bottom row the convergence curves |x_k - x*| (x* the nearest local minimizer of
phi) and the lower-level gap ||y - P_Y(y - grad_y f)|| per iteration.
"""
from __future__ import annotations

import argparse
import dataclasses
import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

@dataclasses.dataclass
class Run:
    """One option set of a method, started from one or more points (x0, y0)."""

    label: str
    options: dict
    starts: list
    max_iter: int


def _toy(name):
    from mathopt.problems import bilevel as problems

    return problems.pbgd_toy if name == "pbgd_toy" else problems.box_toy


def _pbgd_phi(x):
    """phi(x) = F(x, -x) of the PBGD toy (numpy, for the local minimizers and the plot)."""
    y = -x
    return np.cos(4 * y + 2) / (1 + np.exp(2 - 4 * x)) + 0.5 * np.log((4 * x - 2) ** 2 + 1)


def local_minimizers(name):
    """Local minimizers x* of the hyper-objective on X (grid search, 1e-5 spacing)."""
    if name == "box_toy":
        return np.array([2.0])
    grid = np.linspace(0.0, 3.0, 300_001)
    phi = _pbgd_phi(grid)
    inner = np.flatnonzero((phi[1:-1] < phi[:-2]) & (phi[1:-1] <= phi[2:])) + 1
    ends = [i for i, ok in ((0, phi[0] < phi[1]), (len(grid) - 1, phi[-1] < phi[-2])) if ok]
    return grid[np.sort(np.concatenate([inner, ends]).astype(int))]


def trajectory(name, method, options, start, max_iter):
    """Iterates (k, 2) array of (x_k, y_k), k = 0..nit, and the result (history on)."""
    import mathopt

    problem = _toy(name)(x0=start[0], y0=start[1])
    points = []  # the callback sees every iterate, k = 0..nit
    result = mathopt.solve(problem, method, max_iter=max_iter, history=True,
                           callback=lambda info: points.append((info.x[0], info.extra["y"][0])), **options)
    return np.array(points), result


_GRIDS = {"pbgd_toy": (np.linspace(0.0, 3.0, 240), np.linspace(-3.5, 1.0, 240)),
          "box_toy": (np.linspace(-0.5, 2.6, 240), np.linspace(-0.6, 2.2, 240))}


def _contours(ax, name):
    from mathopt.problems import bilevel as problems

    X, Y = np.meshgrid(*_GRIDS[name])
    if name == "pbgd_toy":
        F = np.cos(4 * Y + 2) / (1 + np.exp(2 - 4 * X)) + 0.5 * np.log((4 * X - 2) ** 2 + 1)
        ax.plot([0, 3], [0, -3], "k--", lw=0.9, label="lower solutions y = -x")
        ax.set_title("PBGD toy (nonconvex): X = [0, 3]")
    else:
        F = 0.5 * (X - 2) ** 2 + 0.5 * (Y - 2) ** 2
        xs = _GRIDS[name][0]
        ax.plot(xs, np.clip(xs, 0, 1), "k--", lw=0.9, label="lower solution y = clip(x, 0, 1)")
        ax.axhspan(0.0, 1.0, color="tab:green", alpha=0.07, label="Y = [0, 1]")
        ax.set_title("box toy: F = (x-2)²/2 + (y-2)²/2, Y = [0, 1]")
    ax.contour(X, Y, F, levels=20, cmap="Greys", linewidths=0.6)
    minima = local_minimizers(name)
    lower = -minima if name == "pbgd_toy" else np.ones_like(minima)
    ax.plot(minima, lower, "k*", ms=11, label="local solutions" if len(minima) > 1 else "solution")
    known = problems.pbgd_toy().known_solution if name == "pbgd_toy" else problems.box_toy().known_solution
    ax.plot(known["x"], known["y"], "*", color="gold", mec="k", ms=15, label="global solution")
    ax.set_xlabel("x (upper)")
    ax.set_ylabel("y (lower)")


def show(method: str, runs: dict, out: pathlib.Path, title: str, scale: float = 1.0, solver=trajectory):
    """Run every ``Run`` of ``runs`` (``{"pbgd_toy": [...], "box_toy": [...]}``) and write the PNG.

    ``scale`` multiplies every ``max_iter``; ``solver`` is :func:`trajectory`
    (the tests pass a stand-in to check the drawing without compiling a solver).
    Returns a dict ``{(toy, label, start): (final x, final y, nit)}``.
    """
    names = list(runs)
    fig, axes = plt.subplots(2, len(names), figsize=(5.6 * len(names), 9), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    summary = {}
    for col, name in enumerate(names):
        top, bottom = axes[0, col], axes[1, col]
        _contours(top, name)
        minima = local_minimizers(name)
        color_index = 0
        for run in runs[name]:
            for start in run.starts:
                color = colors[color_index % len(colors)]
                color_index += 1
                max_iter = max(2, int(run.max_iter * scale))
                path, result = solver(name, method, run.options, start, max_iter)
                label = f"{run.label}, start ({start[0]:g}, {start[1]:g})"
                top.plot(path[:, 0], path[:, 1], "-", color=color, lw=1.1, alpha=0.9, label=label)
                top.plot(path[0, 0], path[0, 1], "o", color=color, ms=5)
                top.plot(path[-1, 0], path[-1, 1], "X", color=color, mec="k", ms=8)
                error = np.min(np.abs(path[:, :1] - minima[None, :]), axis=1)
                k = np.arange(len(path))
                bottom.semilogy(k, np.maximum(error, 1e-12), "-", color=color, label=f"|x_k - x*|: {label}")
                bottom.semilogy(result.history["nit"], np.maximum(result.history["lower_gap"], 1e-12), ":",
                                color=color,
                                label=f"lower gap: {run.label}")
                summary[(name, run.label, tuple(start))] = (float(result.x[0]), float(result.y[0]), result.nit)
        top.legend(fontsize=7, loc="best")
        bottom.set_xlabel("iteration k")
        bottom.set_ylabel("|x_k - x*| (solid), lower gap (dotted)")
        bottom.set_title("convergence (x*: nearest local solution)")
        bottom.legend(fontsize=6, loc="best")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    out = pathlib.Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return summary


def cli(method: str, runs: dict, title: str, argv=None):
    """Command line of an example: ``--out DIR`` (see ``examples/_output.py``), ``--scale``.

    Writes ``DIR/bilevel_<method>.png`` (default folder ``./mathopt-figures``).
    """
    from _output import add_out_argument, output_dir  # examples/ is on sys.path (the examples put it there)

    parser = add_out_argument(argparse.ArgumentParser(description=title))
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every iteration count")
    args = parser.parse_args(argv)
    path = output_dir(args) / f"bilevel_{method.replace('-', '_')}.png"
    summary = show(method, runs, path, title, args.scale)
    for (name, label, start), (x, y, nit) in summary.items():
        print(f"{name:9s} {label:28s} start {start}: x = {x:.4f}, y = {y:.4f} after {nit} iterations")
    print(f"wrote {path}")
    return summary
