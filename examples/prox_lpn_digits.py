"""Denoising 8x8 digits with a learned proximal network, and its prior on perturbed digits
(Fang et al. 2024, Sec. 5.2, on scikit-learn's bundled digits).

An LPN (dense, 64 inputs) is trained with proximal matching on noisy digits (sigma = 0.2),
compared on held-out digits with TV denoising (scikit-image) and the noisy input; then its prior
R is evaluated on clean, noisy, blurred and convex-combined digits: the learned prior should be
lowest on clean digits. The full comparison (three noise levels, an l2-trained network, the TV
weight tuned on a validation split) is ``benchmarks/bench_lpn_digits.py``.

    python examples/prox_lpn_digits.py [--scale 1.0] [--out DIR]
"""
import argparse

import numpy as np

from _output import add_out_argument, output_dir, save_figure

from mathopt.prox.lpn import LPN, LPNConfig
from mathopt.prox.training import proximal_matching_schedule, train

SIGMA = 0.2


def psnr(clean, estimate):
    return float(np.mean(10 * np.log10(1.0 / np.mean((clean - estimate) ** 2, axis=1))))


def main(argv=None):
    parser = add_out_argument(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the training steps")
    args = parser.parse_args(argv)
    out = output_dir(args)
    from scipy.ndimage import gaussian_filter
    from skimage.restoration import denoise_tv_chambolle
    from sklearn.datasets import load_digits

    images = load_digits().data / 16.0
    rng = np.random.default_rng(0)
    order = rng.permutation(len(images))
    train_set, test = images[order[:1400]], images[order[1400:1450]]

    schedule = proximal_matching_schedule(max(4, int(2000 * args.scale)), 0.8 * SIGMA,
                                          pretrain_steps=max(1, int(1000 * args.scale)))
    config = LPNConfig(kind="dense", dim=64, hidden=64, layers=2, beta=10.0, alpha=0.01)
    net, log = train(LPN.create(config, seed=0), train_set, schedule, noise_sigma=SIGMA, batch_size=128, seed=0)

    noisy = test + SIGMA * rng.normal(size=test.shape)
    denoised = net.prox_numpy(noisy)
    tv = np.stack([denoise_tv_chambolle(v.reshape(8, 8), weight=0.1).ravel() for v in noisy])
    print(f"training: {len(log.loss)} steps in {log.seconds:.0f} s")
    print(f"PSNR noisy {psnr(test, noisy):.2f} dB, TV {psnr(test, tv):.2f} dB, LPN {psnr(test, denoised):.2f} dB")

    perturbed = {"clean": test, "noisy 0.1": test + 0.1 * rng.normal(size=test.shape),
                 "blurred": np.stack([gaussian_filter(v.reshape(8, 8), 0.7).ravel() for v in test]),
                 "convex comb.": 0.5 * test + 0.5 * test[::-1]}
    priors = {label: net.regularizer(x, tol=1e-5, max_iter=1000).value for label, x in perturbed.items()}
    for label, value in priors.items():
        print(f"R on {label}: mean {value.mean():.3f}")

    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(10, 3.4))
    for row, (label, x) in enumerate((("clean", test), ("noisy", noisy), ("TV", tv), ("LPN", denoised))):
        for col in range(5):
            ax = fig.add_subplot(4, 10, 10 * row + col + 1)
            ax.imshow(x[col].reshape(8, 8), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if col == 0:
                ax.set_ylabel(label, fontsize=8)
    ax = fig.add_subplot(1, 2, 2)
    ax.boxplot(list(priors.values()))
    ax.set_xticks(range(1, len(priors) + 1), list(priors), fontsize=8)
    ax.set(title=f"learned prior R (LPN at sigma {SIGMA})")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    save_figure(fig, out, "prox_lpn_digits.png", dpi=110)
    return priors


if __name__ == "__main__":
    main()
