"""Infeasibility certificates of a small LP, and the rate at which fixed-point iterations find them.

Figure 1 (``feasibility_certificate.png``): the LP ``min x1 + x2  s.t.  x1 + x2 <= 1,
x1 >= 1, x2 >= k`` for k = -0.5, 0, 0.25, 0.5. While k <= 0 the feasible set (shaded) is not
empty and ``halpern-admm`` converges; for k > 0 it is empty and the solver returns a Farkas
vector y with A'y = 0 and u'y_+ + l'y_- < 0: the constraint normals weighted by y (arrows,
head to tail) add up to zero, while the weighted bounds add up to a negative number, so the
weighted sum of the constraints reads 0 <= (negative).

Figure 2 (``feasibility_rates.png``): the error ||v_k - v|| of the estimate of the infimal
displacement vector v (Park & Ryu, ICML 2023) for the plain iteration (differences
z_k - z_{k+1}) and the Halpern iteration (fixed-point residual z_k - T z_k), with O(1/sqrt k)
and O(1/k) reference slopes, on (a) an averaged linear operator with a spread spectrum plus a
translation (the plain iteration's worst-case regime) and (b) the ADMM operator of the k = 0.5
LP (polyhedral: the plain differences are exact after finitely many steps, Halpern keeps its
O(1/k)).

Run: ``python examples/feasibility_certificate.py [--out DIR]`` (default ``mathopt-figures/``).
"""
from __future__ import annotations

import argparse
import pathlib
import sys

import numpy as np

import mathopt
from mathopt.feasibility import admm_operator as op
from mathopt.feasibility import fixed_point

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _output import add_out_argument, output_dir, save_figure  # noqa: E402

STEPS = (-0.5, 0.0, 0.25, 0.5)


def lp(k: float) -> "mathopt.QP":
    A = np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    return mathopt.QP(None, [1.0, 1.0], A, [-np.inf, 1.0, k], [1.0, np.inf, np.inf])


def draw_lp(ax, k: float) -> None:
    problem = lp(k)
    result = mathopt.solve(problem, method="halpern-admm")
    grid = np.linspace(-1.0, 2.5, 400)
    X1, X2 = np.meshgrid(grid, grid)
    feasible = (X1 + X2 <= 1.0) & (X1 >= 1.0) & (X2 >= k)
    ax.contourf(X1, X2, feasible.astype(float), levels=[0.5, 1.5], colors=["tab:green"], alpha=0.35)
    ax.plot(grid, 1.0 - grid, color="tab:blue", label="x1 + x2 <= 1")
    ax.axvline(1.0, color="tab:orange", label="x1 >= 1")
    ax.axhline(k, color="tab:purple", label=f"x2 >= {k:g}")
    title = f"k = {k:g}: {result.status.name}"
    if result.status is mathopt.Status.PRIMAL_INFEASIBLE:
        y = result.certificate
        start = np.array([-0.7, 0.9])
        for weight, normal, color in zip(y, problem.A.toarray(), ("tab:blue", "tab:orange", "tab:purple")):
            step = 0.6 * weight * normal
            ax.annotate("", start + step, start, arrowprops=dict(arrowstyle="->", color=color, lw=2))
            start = start + step
        s = float(np.sum(np.where(y > 0, problem.u, 0.0) * np.maximum(y, 0))
                  + np.sum(np.where(y < 0, problem.l, 0.0) * np.minimum(y, 0)))
        ax.text(-0.9, 2.2, f"y = ({', '.join(f'{v:.2f}' for v in y)})\nA'y = 0,  u'y+ + l'y- = {s:.2f} < 0",
                fontsize=8)
    elif result.success:
        ax.plot(*result.x, "k*", markersize=10, label=f"x* (value {result.fun:.2f})")
    ax.set(title=title, xlabel="x1", ylabel="x2", xlim=(-1.0, 2.5), ylim=(-1.0, 2.5))
    ax.legend(loc="lower left", fontsize=7)


def spread_operator(blocks: int = 300):
    """T(z, t) = ((I + R) z / 2, t - 1): averaged rotations with angles log-spaced in (1e-4, pi),
    plus a translation; v = (0, ..., 0, 1)."""
    angles = np.geomspace(1e-4, np.pi, blocks)
    cos, sin = np.cos(angles), np.sin(angles)

    def T(w):
        a, b = w[0:-1:2], w[1:-1:2]
        out = np.empty_like(w)
        out[0:-1:2] = 0.5 * (a + cos * a - sin * b)
        out[1:-1:2] = 0.5 * (b + sin * a + cos * b)
        out[-1] = w[-1] - 1.0
        return out

    v = np.zeros(2 * blocks + 1)
    v[-1] = 1.0
    z0 = np.zeros(2 * blocks + 1)
    z0[0:-1:2] = 1.0
    return T, z0, v


def lp_operator():
    """The ADMM operator of the k = 0.5 LP (no scaling, rho = 1, alpha = 1.6); v from a long Halpern run."""
    problem = lp(0.5)
    scaled = op.scale_problem(problem, 0)
    rho = op.rho_vector(scaled, 1.0)
    factor = op.factor_kkt(scaled, 1e-6, rho)

    def T(w):
        image = op.apply_operator(scaled, factor, 1e-6, rho, 1.6, w[:2], w[2:])
        return np.concatenate([image.x, image.v])

    z0 = np.zeros(5)
    v = fixed_point(T, z0, "none", max_iter=2000).displacement
    return T, z0, v


def draw_rates(ax, T, z0, v, iterations: int, title: str) -> None:
    k = np.arange(1, iterations + 1)
    for acceleration, color in (("none", "tab:red"), ("halpern", "tab:blue")):
        out = fixed_point(T, z0, acceleration, max_iter=iterations, keep_differences=True)
        error = np.linalg.norm(out.differences - v, axis=1)
        label = "plain: z_k - z_(k+1)" if acceleration == "none" else "Halpern: z_k - T z_k"
        ax.loglog(k, np.maximum(error, 1e-16), color=color, label=label)
    anchor = np.linalg.norm(z0) + 1.0
    ax.loglog(k, anchor / np.sqrt(k), "k--", lw=1, label="O(1/sqrt k)")
    ax.loglog(k, anchor / k, "k:", lw=1, label="O(1/k)")
    ax.set(title=title, xlabel="iteration k", ylabel="||v_k - v||", ylim=(1e-12, 1e2))
    ax.legend(fontsize=8)


def main(argv=None):
    parser = add_out_argument(argparse.ArgumentParser(description=__doc__.split("\n\n")[0]))
    parser.add_argument("--iterations", type=int, default=3000, help="iterations of the rate figure")
    args = parser.parse_args(argv)
    out = output_dir(args)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(STEPS), figsize=(4.2 * len(STEPS), 4.2))
    for ax, k in zip(axes, STEPS):
        draw_lp(ax, k)
    fig.tight_layout()
    save_figure(fig, out, "feasibility_certificate.png", dpi=110)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    draw_rates(axes[0], *spread_operator(), args.iterations, "(a) averaged rotations + translation")
    draw_rates(axes[1], *lp_operator(), args.iterations, "(b) ADMM operator of the infeasible LP (k = 0.5)")
    fig.tight_layout()
    save_figure(fig, out, "feasibility_rates.png", dpi=110)


if __name__ == "__main__":
    main()
