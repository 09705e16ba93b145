"""penalty-bo (Kwon et al., ICLR 2024) on the two 2-D toys: double loop vs single loop.

The penalty method with sigma = 1/penalty: y follows projected steps on
sigma F + f, z projected steps on f (both over Y), and x moves along
grad_x F(x, y) + (grad_x f(x, y) - grad_x f(x, z)) / sigma, the gradient of the
penalty function psi_sigma. With ``single_loop=True`` every x step takes one y
and one z step (warm started). The lower level only needs an error bound on a
closed convex Y -- the box toy's Y = [0, 1] is handled by projection.

Run: ``python examples/bilevel_penalty_bo.py [--out DIR]`` (writes ``DIR/bilevel_penalty_bo.png``; DIR defaults to
``mathopt-figures``).
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _bilevel_plot import Run, cli  # noqa: E402

TOY = {"penalty": 50.0, "step_size": 0.002, "lower_step_size": 0.2, "inner_steps": 20}
RUNS = {
    "pbgd_toy": [Run("double loop, T = 20", TOY, [(0.3, 0.5), (1.0, -1.0), (2.6, 0.0)], 1500),
                 Run("single loop", dict(TOY, single_loop=True), [(1.0, -1.0)], 1500)],
    "box_toy": [Run("double loop (defaults)", {}, [(0.0, 0.0)], 1000),
                Run("single loop", {"single_loop": True}, [(0.0, 0.0)], 1000)],
}


def main(argv=None):
    return cli("penalty-bo", RUNS, "penalty-bo: penalty method on closed convex sets (Kwon et al. 2024)", argv)


if __name__ == "__main__":
    main()
