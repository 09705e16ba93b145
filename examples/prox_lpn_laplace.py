"""A learned proximal network recovers soft-thresholding from Laplacian data (Fang et al. 2024, Sec. 5.1).

x ~ Laplace(0, 1), y = x + N(0, 1): the MAP denoiser is soft-thresholding at 1, i.e. the prox of
R(x) = |x|. An LPN trained with proximal matching (l1 pre-training, then a shrinking gamma)
approaches it; the same network trained with the l2 loss learns the MMSE denoiser instead.
The figure shows both learned proxes f(y) and their priors R(x), evaluated by the convex
inversion ``LPN.regularizer``. The full-size run with its error table is
``benchmarks/bench_lpn_laplace.py``.

    python examples/prox_lpn_laplace.py [--scale 1.0] [--out DIR]
"""
import argparse

import jax
import numpy as np

from _output import add_out_argument, output_dir, save_figure

from mathopt.prox.lpn import LPN, LPNConfig
from mathopt.prox.training import Phase, train


def main(argv=None):
    parser = add_out_argument(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the training steps")
    args = parser.parse_args(argv)
    out = output_dir(args)
    steps = lambda n: max(1, int(n * args.scale))  # noqa: E731

    config = LPNConfig(kind="dense", dim=1, hidden=32, layers=3, beta=10.0, alpha=1e-3)
    laplace = lambda key, n: jax.random.laplace(key, (n, 1))  # noqa: E731
    schedules = {
        "proximal matching": [Phase("l1", steps(1500), 1e-3),
                              Phase("prox_matching", steps(1500), 1e-3, 0.5),
                              Phase("prox_matching", steps(1500), 1e-4, 0.3)],
        "l2 loss (MMSE)": [Phase("l2", steps(3000), 1e-3)],
    }
    grid = np.linspace(-3, 3, 61)
    curves = {}
    for label, schedule in schedules.items():
        net, log = train(LPN.create(config, seed=0), laplace, schedule, noise_sigma=1.0, batch_size=500, seed=0)
        f = net.prox_numpy(grid[:, None])[:, 0]
        prior = net.regularizer(grid[:, None], tol=1e-7)
        curves[label] = (f, prior.value - prior.value[len(grid) // 2])
        soft = np.sign(grid) * np.maximum(np.abs(grid) - 1, 0)
        print(f"{label}: {len(log.loss)} steps in {log.seconds:.0f} s, max |f - soft-thresholding| = "
              f"{np.abs(f - soft).max():.3f}, inversion residual {prior.residual.max():.1e}")

    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    axes[0].plot(grid, np.sign(grid) * np.maximum(np.abs(grid) - 1, 0), "k--", label="soft-thresholding")
    axes[1].plot(grid, np.abs(grid), "k--", label="|x|")
    for label, (f, R) in curves.items():
        axes[0].plot(grid, f, label=label)
        axes[1].plot(grid, R, label=label)
    axes[0].set(title="learned prox f(y)", xlabel="y")
    axes[1].set(title="learned prior R(x) - R(0)", xlabel="x")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, out, "prox_lpn_laplace.png", dpi=110)
    return curves


if __name__ == "__main__":
    main()
