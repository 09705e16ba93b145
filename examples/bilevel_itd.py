"""itd (truncated back-propagation, Shaban et al. 2019) on the two 2-D toys: K = T vs K < T.

Each iteration unrolls T projected gradient steps on the lower level and
differentiates F(x, y_T(x)) by reverse mode through the last K of them. Full
back-propagation (K = T) approximates the hypergradient as well as T steps
allow; a short truncation K saves memory and time but biases the hypergradient
(here visible as a shifted end point on the nonconvex toy).

Run: ``python examples/bilevel_itd.py [--out DIR]`` (writes ``DIR/bilevel_itd.png``; DIR defaults to
``mathopt-figures``).
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _bilevel_plot import Run, cli  # noqa: E402

TOY = {"inner_step_size": 0.05, "step_size": 0.05}
RUNS = {
    "pbgd_toy": [Run("K = T = 20", TOY, [(0.3, 0.5), (1.0, -1.0), (2.6, 0.0)], 600),
                 Run("K = 2 of T = 20", dict(TOY, truncation=2), [(1.0, -1.0)], 600)],
    "box_toy": [Run("K = T = 20 (defaults)", {}, [(0.0, 0.0)], 400),
                Run("K = 2, cold start (paper)", {"truncation": 2, "warm_start": False}, [(0.0, 0.0)], 400)],
}


def main(argv=None):
    return cli("itd", RUNS, "itd: truncated back-propagation through unrolled inner steps (Shaban et al. 2019)", argv)


if __name__ == "__main__":
    main()
