"""F2SA (Kwon et al., ICML 2023) on the two 2-D toys: decaying schedules, momentum, constant steps.

F2SA tracks y (minimizer of F + lambda_k f) and z (minimizer of f) with T
gradient steps each and moves x along grad_x F(x, y) + lambda_k (grad_x f(x, y)
- grad_x f(x, z)), a Hessian-free estimate of the hypergradient whose bias
shrinks as the multiplier lambda_k grows (Algorithm 1; lambda_k = gamma_k /
alpha_k grows like k^(a - c) with a = 5/7, c = 4/7). The momentum-assisted
variant replaces the x-direction by a recursive (STORM-type) estimate. With
constant steps (a = c = 0) lambda stays constant and the iterates stop at the
penalty solution, biased by O(1/lambda).

Run: ``python examples/bilevel_f2sa.py [--out DIR]`` (writes ``DIR/bilevel_f2sa.png``; DIR defaults to
``mathopt-figures``).
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _bilevel_plot import Run, cli  # noqa: E402

CONSTANT = {"schedule": "paper", "step_decay": 0.0, "value_step_decay": 0.0, "lower_step_size": 0.005,
            "value_step_size": 0.5, "step_size": 0.05}
PAPER = {"schedule": "paper", "step_size": 0.05}
RUNS = {
    "pbgd_toy": [Run("F2SA, schedule a=5/7, c=4/7", PAPER, [(0.3, 0.5), (1.0, -1.0)], 1500),
                 Run("F2SA + momentum 0.5", dict(PAPER, momentum=0.5), [(1.0, -1.0)], 1500)],
    "box_toy": [Run("F2SA (defaults)", {}, [(0.0, 0.0)], 1500),
                Run("F2SA, constant steps, lambda=100", CONSTANT, [(0.0, 0.0)], 1500)],
}


def main(argv=None):
    return cli("f2sa", RUNS, "f2sa: fully first-order stochastic approximation (Kwon et al. 2023)", argv)


if __name__ == "__main__":
    main()
