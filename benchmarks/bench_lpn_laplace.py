"""Learned proximal network on the Laplacian toy (Fang, Buchanan & Sulam 2024, Sec. 5.1).

Data: x ~ Laplace(0, b=1), y = x + N(0, sigma^2), sigma = 1. The MAP denoiser is
argmin_x |x| / b + (x - y)^2 / (2 sigma^2) = soft-thresholding at sigma^2 / b = 1, so an LPN
trained with proximal matching should learn f = soft-thresholding and R = |x| (up to a constant);
the same network trained with the l2 loss learns the MMSE denoiser E[x | y], a smooth shrinkage.

Reports the max error of f against soft-thresholding on the grid [-3, 3], the max error of the
recovered R against |x| up to the best constant (on [-3, 3]), the inversion residuals, and the
training times; draws the learned prox and R of both networks (the paper's Fig. 2).

Run: ``python benchmarks/bench_lpn_laplace.py [--steps-scale 1.0] [--out DIR]``; writes
``DIR/figures/prox_lpn_laplace_bench.png``, ``DIR/figures/prox_lpn_laplace_bench.md`` and the checkpoints
``CHECKPOINTS/lpn_laplace_{pm,l2}.npz`` (DIR defaults to ``./bench-out``).
"""
from __future__ import annotations

import json
import pathlib
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import jax  # noqa: E402

from _lpn_bench import parse  # noqa: E402
from mathopt.prox.lpn import LPN, LPNConfig  # noqa: E402
from mathopt.prox.training import Phase, train  # noqa: E402

SIGMA = 1.0
GRID = np.linspace(-3.0, 3.0, 121)


def soft_threshold(x, threshold=1.0):
    return np.sign(x) * np.maximum(np.abs(x) - threshold, 0.0)


def schedules(scale: float):
    """Proximal matching (l1 pre-training, then gamma 0.5 -> 0.1) and the l2 baseline, in steps * scale."""
    n = lambda steps: max(1, int(round(steps * scale)))  # noqa: E731
    # the authors' notebook lowers gamma 0.5 -> 0.1 over 24000 steps of batch 2000; CPU-sized here
    matching = [Phase("l1", n(3000), 1e-3),
                Phase("prox_matching", n(3000), 1e-3, 0.5), Phase("prox_matching", n(3000), 3e-4, 0.3),
                Phase("prox_matching", n(3000), 1e-4, 0.2), Phase("prox_matching", n(3000), 3e-5, 0.1)]
    mse = [Phase("l2", n(6000), 1e-3), Phase("l2", n(2000), 1e-4)]
    return {"pm": matching, "l2": mse}


def laplace(key, n):
    return jax.random.laplace(key, (n, 1))


def evaluate(net: LPN) -> dict:
    f = net.prox_numpy(GRID[:, None])[:, 0]
    prior = net.regularizer(GRID[:, None], tol=1e-8, max_iter=1000)
    gap = prior.value - np.abs(GRID)
    return {"f": f, "R": prior.value, "prox_error": float(np.max(np.abs(f - soft_threshold(GRID)))),
            "R_error": float((gap.max() - gap.min()) / 2), "R_residual": float(prior.residual.max())}


def main(argv=None):
    args, out, checkpoints = parse(__doc__, argv, batch_size=500)

    config = LPNConfig(kind="dense", dim=1, hidden=50, layers=4, beta=10.0, alpha=1e-3)
    rows, curves, logs = {}, {}, {}
    for name, schedule in schedules(args.steps_scale).items():
        net = LPN.create(config, seed=args.seed)
        net, log = train(net, laplace, schedule, noise_sigma=SIGMA, batch_size=args.batch_size,
                         seed=args.seed, chunk=250, progress=args.progress)
        net.save(checkpoints / f"lpn_laplace_{name}.npz",
                 metadata={"schedule": [vars(p) for p in schedule], "noise_sigma": SIGMA, "seed": args.seed})
        start = time.perf_counter()
        curves[name] = evaluate(net)
        curves[name]["R_seconds"] = time.perf_counter() - start
        logs[name] = log
        rows[name] = {k: v for k, v in curves[name].items() if k not in ("f", "R")}
        rows[name].update(train_seconds=log.seconds, steps=int(len(log.loss)))
        print(name, json.dumps(rows[name]), flush=True)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    axes[0].plot(GRID, soft_threshold(GRID), "k--", label="soft-thresholding (MAP)")
    axes[0].plot(GRID, curves["pm"]["f"], label="LPN, proximal matching")
    axes[0].plot(GRID, curves["l2"]["f"], label="LPN, l2 loss (MMSE)")
    axes[0].set(title="learned prox f(y)", xlabel="y")
    axes[1].plot(GRID, np.abs(GRID), "k--", label="|x|")
    for name, label in (("pm", "proximal matching"), ("l2", "l2 loss")):
        R = curves[name]["R"]
        axes[1].plot(GRID, R - R[len(GRID) // 2], label=label)
    axes[1].set(title="recovered prior R(x) - R(0)", xlabel="x")
    for name, label in (("pm", "proximal matching"), ("l2", "l2 loss")):
        axes[2].semilogy(logs[name].loss, label=label, lw=0.6)
    axes[2].set(title="training loss", xlabel="step")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "figures" / "prox_lpn_laplace_bench.png", dpi=110)
    print(f"wrote {out / 'figures' / 'prox_lpn_laplace_bench.png'}")

    lines = ["| training | steps | max abs(f - soft-thr.) on [-3, 3] | max abs(R - abs(x) - c) on [-3, 3] | "
             "inversion residual | training (s) | R evaluation (s) |", "|---|---|---|---|---|---|---|"]
    for name, label in (("pm", "proximal matching"), ("l2", "l2 (MMSE)")):
        r = rows[name]
        lines.append(f"| {label} | {r['steps']} | {r['prox_error']:.3f} | {r['R_error']:.3f} | "
                     f"{r['R_residual']:.1e} | {r['train_seconds']:.0f} | {r['R_seconds']:.1f} |")
    text = "\n".join(lines)
    print(text)
    (out / "figures" / "prox_lpn_laplace_bench.md").write_text(text + "\n")
    print(f"wrote {out / 'figures' / 'prox_lpn_laplace_bench.md'}")
    return rows


if __name__ == "__main__":
    main()
