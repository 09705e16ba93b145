"""PBGD (Shen & Chen, ICML 2023) on the two 2-D toys: V-PBGD and G-PBGD.

V-PBGD (Algorithm 1) takes joint projected gradient steps on the penalized
objective F + gamma (f - v), v(x) = min_y f(x, y) approximated by warm-started
inner steps; G-PBGD (Algorithm 2) penalizes ||grad_y f||^2 instead (no inner
loop, Hessian-vector products, unconstrained Y only -- so it is not run on the
box toy). On the nonconvex toy, starts in different basins end at different
local solutions of phi(x) = F(x, -x), as in the paper's Figure of 1000 random
starts. With defaults the penalty grows (gamma x10 per stage, ours), which removes the
O(1/gamma) offset from y = -x that a constant gamma leaves (the G-PBGD run and the box toy's
gamma = 100 run keep a constant penalty, as in the paper).

Run: ``python examples/bilevel_pbgd.py [--out DIR]`` (writes ``DIR/bilevel_pbgd.png``; DIR defaults to
``mathopt-figures``).
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _bilevel_plot import Run, cli  # noqa: E402

TOY_STARTS = [(0.3, 0.5), (1.0, -1.0), (2.6, 0.0)]
RUNS = {
    "pbgd_toy": [Run("V-PBGD (defaults)", {}, TOY_STARTS, 1500),
                 Run("G-PBGD, constant penalty", {"variant": "gradient", "step_size": 0.002, "penalty_growth": 1.0}, [(1.0, -1.0)], 1500)],
    "box_toy": [Run("V-PBGD (defaults)", {}, [(0.0, 0.0)], 1500),
                Run("V-PBGD, gamma = 100", {"penalty": 100.0, "penalty_growth": 1.0, "step_size": 0.004}, [(0.0, 0.0)], 1500)],
}


def main(argv=None):
    return cli("pbgd", RUNS, "pbgd: penalty-based bilevel gradient descent (Shen & Chen 2023)", argv)


if __name__ == "__main__":
    main()
