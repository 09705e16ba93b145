"""implicit (approximate implicit differentiation) on the two 2-D toys: CG vs Neumann series.

Each iteration solves the lower level approximately (warm-started gradient
steps), then gets the hypergradient grad_x F - grad_xy f [grad_yy f]^-1 grad_y F
from the implicit function theorem applied to the fixed point y = T(x, y),
T = P_Y(y - beta grad_y f): the adjoint system by conjugate gradients (Y = R^m)
or by a truncated Neumann series (Lorraine et al. 2020; any Y). On the box toy
the projection is differentiated (its Jacobian is 0 where y sits on the bound).

Run: ``python examples/bilevel_implicit.py [--out DIR]`` (writes ``DIR/bilevel_implicit.png``; DIR defaults to
``mathopt-figures``).
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _bilevel_plot import Run, cli  # noqa: E402

TOY = {"inner_step_size": 0.05, "step_size": 0.05}
RUNS = {
    "pbgd_toy": [Run("CG", TOY, [(0.3, 0.5), (1.0, -1.0), (2.6, 0.0)], 600),
                 Run("Neumann, 5 terms", dict(TOY, linear_solver="neumann", linear_steps=5), [(1.0, -1.0)], 600)],
    "box_toy": [Run("Neumann (auto)", {}, [(0.0, 0.0)], 400)],
}


def main(argv=None):
    return cli("implicit", RUNS, "implicit: approximate implicit differentiation (AID) baseline", argv)


if __name__ == "__main__":
    main()
