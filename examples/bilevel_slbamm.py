"""sl-BAMM (single-loop averaged method of multipliers) without lower-level strong convexity.

sl-BAMM takes one y step on the averaged lower objective (1 - mu) f + mu F, one
step on the multiplier v of grad^2_yy phi v = grad_y F and one x step along
grad_x F - grad^2_xy phi v (Hessian-vector products), every iteration. Three panels:

* the merely convex toy of Liu et al. (2023), x in R^100, y = (y_1, y_2), f = 1/2||y_1||^2 - x'y_1
  (y_2 is free in the lower level: f is not strongly convex), F = 1/2||x - y_2||^2 + 1/2||y_1 - 1||^2,
  x* = y* = 1: the averaging selects the optimistic y_2 = x; both schedules of mu converge;
* the strongly convex quadratic toy (x* = y* = 1/2): the paper's schedule mu_k = 0.9 (k+1)^(-1/10)
  keeps the O(mu) bias of the averaged problem, mathopt's adaptive schedule removes it;
* the nonconvex PBGD toy (lower solutions y = -x) in the (x, y) plane, iterates over the contours of F.

Run: ``python examples/bilevel_slbamm.py [--out DIR] [--scale S]`` (writes ``DIR/bilevel_slbamm.png``;
DIR defaults to ``mathopt-figures``).
"""
import argparse
import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _bilevel_plot import Run, _contours, local_minimizers, trajectory  # noqa: E402
from _output import add_out_argument, output_dir  # noqa: E402

POWER = {"averaging_schedule": "power"}
RUNS = {
    "merely_convex_toy": [Run("adaptive mu (default)", {}, [None], 400), Run("power mu, p = 10", POWER, [None], 400)],
    "quadratic_toy": [Run("adaptive mu (default)", {}, [None], 2000), Run("power mu, p = 10", POWER, [None], 2000)],
    "pbgd_toy": [Run("defaults", {}, [(1.0, -1.0), (2.6, 0.0), (0.3, 0.5)], 1000)],
}


def _problem(name):
    from mathopt.problems import bilevel as problems

    return problems.merely_convex_toy(100) if name == "merely_convex_toy" else problems.quadratic_toy(2)


def errors(name, options, max_iter):
    """|x_k - x*|_inf for k = 0..nit (callback), and the result (history on)."""
    import mathopt

    problem = _problem(name)
    points = []
    result = mathopt.solve(problem, "slbamm", max_iter=max_iter, history=True,
                           callback=lambda info: points.append(info.x.copy()), **options)
    return np.max(np.abs(np.array(points) - problem.known_solution["x"]), axis=1), result


def main(argv=None):
    parser = add_out_argument(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every iteration count")
    args = parser.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(17, 5.2))
    titles = {"merely_convex_toy": "merely convex toy (n = 100), x* = y* = 1",
              "quadratic_toy": "strongly convex quadratic toy, x* = y* = 1/2"}
    for ax, name in zip(axes[:2], ("merely_convex_toy", "quadratic_toy")):
        for color, run in zip(("tab:blue", "tab:orange"), RUNS[name]):
            error, result = errors(name, run.options, max(2, int(run.max_iter * args.scale)))
            k = np.arange(len(error))
            ax.semilogy(k, np.maximum(error, 1e-12), "-", color=color, label=f"|x_k - x*|: {run.label}")
            ax.semilogy(result.history["nit"], np.maximum(result.history["stationarity"], 1e-12), ":", color=color,
                        label=f"stationarity: {run.label}")
            print(f"{name:18s} {run.label:22s} {result.status.name:9s} nit = {result.nit:5d}  "
                  f"|x - x*| = {error[-1]:.1e}")
        if name == "quadratic_toy":
            ax.set_xscale("symlog", linthresh=10)  # the adaptive run ends before the power run's plateau
        ax.set_xlabel("iteration k" + (" (linear to 10, then logarithmic)" if name == "quadratic_toy" else ""))
        ax.set_ylabel("|x_k - x*|_inf (solid), stationarity residual (dotted)")
        ax.set_title(titles[name])
        ax.legend(fontsize=7)
    ax = axes[2]
    _contours(ax, "pbgd_toy")
    minima = local_minimizers("pbgd_toy")
    for run in RUNS["pbgd_toy"]:
        for start in run.starts:
            path, result = trajectory("pbgd_toy", "slbamm", run.options, start, max(2, int(run.max_iter * args.scale)))
            line, = ax.plot(path[:, 0], path[:, 1], "-", lw=1.1, label=f"start ({start[0]:g}, {start[1]:g})")
            ax.plot(path[0, 0], path[0, 1], "o", color=line.get_color(), ms=5)
            ax.plot(path[-1, 0], path[-1, 1], "X", color=line.get_color(), mec="k", ms=8)
            nearest = minima[np.argmin(np.abs(minima - result.x[0]))]
            print(f"pbgd_toy           start {start}: {result.status.name:9s} nit = {result.nit:5d}  "
                  f"x = {result.x[0]:.4f} (nearest local solution {nearest:.4f})")
    ax.legend(fontsize=7, loc="lower left")
    fig.suptitle("sl-BAMM: averaged y step, multiplier step, Hessian-vector x step (Liu et al., ICML 2023)")
    fig.tight_layout()
    path = output_dir(args) / "bilevel_slbamm.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
