"""Denoising 8x8 digits with learned proximal networks (Fang, Buchanan & Sulam 2024, Sec. 5.2, on
scikit-learn's bundled digits instead of MNIST).

Data: scikit-learn's 1797 digits scaled to [0, 1], split into train (1200) / validation (200) /
test (397). For each noise level sigma in {0.1, 0.2, 0.3} (y = x + N(0, sigma^2 I)):

- an LPN (dense, 64 -> 128 x 3 layers) trained with l1 pre-training then proximal matching,
  gamma = 0.8 sigma * (8, 4, 2, 1) per entry (the authors' 0.08 sqrt(d) at sigma = 0.1);
- the same network trained with the l2 loss for as many steps (the MMSE denoiser);
- TV denoising (``skimage.restoration.denoise_tv_chambolle``), its weight tuned on the validation split;

and reports the mean test PSNR of each. Then evaluates the learned prior R of the sigma = 0.1 LPN
on clean, noisy (sigma 0.1 and 0.2), blurred (Gaussian, width 0.7 px) and convex-combined
(half with another digit) test digits: the paper's check that R ranks clean images lowest.

Run: ``python benchmarks/bench_lpn_digits.py [--steps-scale 1.0] [--out DIR]``; writes
``DIR/figures/prox_lpn_digits_bench.png``, ``DIR/figures/prox_lpn_digits_prior.png``,
``DIR/figures/prox_lpn_digits_bench.md`` and ``CHECKPOINTS/lpn_digits_*.npz`` (DIR: ``./bench-out``).
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

from _lpn_bench import parse  # noqa: E402
from mathopt.prox.lpn import LPN, LPNConfig  # noqa: E402
from mathopt.prox.training import Phase, proximal_matching_schedule, train  # noqa: E402

SIGMAS = (0.1, 0.2, 0.3)
CONFIG = LPNConfig(kind="dense", dim=64, hidden=128, layers=3, beta=10.0, alpha=0.01)


def load_split(seed=0):
    from sklearn.datasets import load_digits

    images = load_digits().data / 16.0
    order = np.random.default_rng(seed).permutation(len(images))
    return images[order[:1200]], images[order[1200:1400]], images[order[1400:]]


def psnr(clean, estimate):
    """Mean PSNR (data range 1) over the rows."""
    mse = np.mean((clean - estimate) ** 2, axis=1)
    return float(np.mean(10 * np.log10(1.0 / mse)))


def tv_denoise(noisy, weight):
    from skimage.restoration import denoise_tv_chambolle

    return np.stack([denoise_tv_chambolle(row.reshape(8, 8), weight=weight).ravel() for row in noisy])


def tuned_tv(validation, noisy_validation):
    weights = np.geomspace(0.01, 1.0, 15)
    scores = [psnr(validation, tv_denoise(noisy_validation, w)) for w in weights]
    return float(weights[int(np.argmax(scores))])


def schedules(sigma, scale):
    n = lambda steps: max(1, int(round(steps * scale)))  # noqa: E731
    matching = proximal_matching_schedule(n(3000), 0.8 * sigma, num_stages=4, pretrain_steps=n(1500),
                                          learning_rate=1e-4, pretrain_learning_rate=1e-3)
    mse = [Phase("l2", n(1500), 1e-3), Phase("l2", n(3000), 1e-4)]
    return {"lpn": matching, "l2": mse}


def perturbations(test, rng):
    from scipy.ndimage import gaussian_filter

    images = test.reshape(-1, 8, 8)
    other = test[rng.permutation(len(test))]
    return {"clean": test,
            "noisy 0.1": test + 0.1 * rng.normal(size=test.shape),
            "noisy 0.2": test + 0.2 * rng.normal(size=test.shape),
            "blurred": np.stack([gaussian_filter(im, 0.7) for im in images]).reshape(test.shape),
            "convex comb.": 0.5 * test + 0.5 * other}


def main(argv=None):
    args, out, checkpoints = parse(__doc__, argv, batch_size=128, add_arguments=lambda parser: parser.add_argument(
        "--prior-samples", type=int, default=100, help="test digits on which the prior is evaluated"))
    train_set, validation, test = load_split(args.seed)
    rng = np.random.default_rng(args.seed + 1)

    rows, nets, examples = [], {}, {}
    for sigma in SIGMAS:
        noisy_test = test + sigma * rng.normal(size=test.shape)
        noisy_validation = validation + sigma * rng.normal(size=validation.shape)
        weight = tuned_tv(validation, noisy_validation)
        row = {"sigma": sigma, "noisy": psnr(test, noisy_test), "tv": psnr(test, tv_denoise(noisy_test, weight)),
               "tv_weight": weight}
        examples[sigma] = {"clean": test[:6], "noisy": noisy_test[:6], "tv": tv_denoise(noisy_test[:6], weight)}
        for name, schedule in schedules(sigma, args.steps_scale).items():
            net, log = train(LPN.create(CONFIG, seed=args.seed), train_set, schedule, noise_sigma=sigma,
                             batch_size=args.batch_size, seed=args.seed, chunk=250, progress=args.progress)
            net.save(checkpoints / f"lpn_digits_{name}_{sigma}.npz",
                     metadata={"schedule": [vars(p) for p in schedule], "noise_sigma": sigma, "seed": args.seed})
            denoised = net.prox_numpy(noisy_test)
            row[name] = psnr(test, denoised)
            row[f"{name}_seconds"] = log.seconds
            examples[sigma][name] = denoised[:6]
            nets[name, sigma] = net
        rows.append(row)
        print(json.dumps(row), flush=True)

    start = time.perf_counter()
    samples = test[:args.prior_samples]
    priors = {}
    for label, images in perturbations(samples, rng).items():
        value = nets["lpn", 0.1].regularizer(images, tol=1e-5, max_iter=2000)
        priors[label] = value.value
        print(f"R on {label}: mean {value.value.mean():.3f}, max residual {value.residual.max():.1e}", flush=True)
    prior_seconds = time.perf_counter() - start

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = ("clean", "noisy", "tv", "l2", "lpn")
    fig, axes = plt.subplots(len(SIGMAS) * 2, len(columns) * 3, figsize=(12, 5.2))
    for s, sigma in enumerate(SIGMAS):
        for c, column in enumerate(columns):
            for i in range(6):
                ax = axes[2 * s + i // 3, 3 * c + i % 3]
                ax.imshow(examples[sigma][column][i].reshape(8, 8), cmap="gray", vmin=0, vmax=1)
                ax.set_xticks([])
                ax.set_yticks([])
                if s == 0 and i == 1:
                    ax.set_title(column)
            axes[2 * s, 0].set_ylabel(f"sigma {sigma}")
    fig.tight_layout()
    fig.savefig(out / "figures" / "prox_lpn_digits_bench.png", dpi=100)
    print(f"wrote {out / 'figures' / 'prox_lpn_digits_bench.png'}")

    fig, ax = plt.subplots(figsize=(6, 3.4))
    labels = list(priors)
    ax.violinplot([priors[k] for k in labels], showmedians=True)
    ax.set_xticks(range(1, len(labels) + 1), labels)
    ax.set(ylabel="R(x) (LPN trained at sigma 0.1)", title="learned prior on perturbed test digits")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "figures" / "prox_lpn_digits_prior.png", dpi=110)
    print(f"wrote {out / 'figures' / 'prox_lpn_digits_prior.png'}")

    lines = ["| sigma | noisy | TV (tuned weight) | l2-trained network | LPN (proximal matching) | "
             "training l2 / LPN (s) |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['sigma']} | {r['noisy']:.2f} | {r['tv']:.2f} ({r['tv_weight']:.3f}) | {r['l2']:.2f} | "
                     f"{r['lpn']:.2f} | {r['l2_seconds']:.0f} / {r['lpn_seconds']:.0f} |")
    lines += ["", "| test digits | mean R | median R | fraction with R above clean's (same digit) |", "|---|---|---|---|"]
    for label in labels:
        above = float(np.mean(priors[label] > priors["clean"]))
        lines.append(f"| {label} | {priors[label].mean():.3f} | {np.median(priors[label]):.3f} | {above:.2f} |")
    lines.append(f"\nPrior evaluation: {len(samples)} digits x {len(labels)} perturbations in {prior_seconds:.0f} s.")
    text = "\n".join(lines)
    print(text)
    (out / "figures" / "prox_lpn_digits_bench.md").write_text(text + "\n")
    print(f"wrote {out / 'figures' / 'prox_lpn_digits_bench.md'}")
    return rows


if __name__ == "__main__":
    main()
