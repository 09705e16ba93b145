"""Repair a noisy distance matrix into a metric (weighted l2 metric nearness).

Distances between 300 scikit-learn digits are corrupted (multiplicative
log-normal noise on every pair, and 5 % of the pairs replaced by random
values), which breaks many triangle inequalities. Project and Forget finds
the closest metric; the plot shows, for every pair (i, j), how much
d_ij exceeds the shortest i-j path (0 for a metric), before and after, and how
far each matrix is from the clean distances.

Run: ``python examples/metric_repair_digits.py [--out DIR]`` (writes ``DIR/metric_repair_digits.png``;
DIR defaults to ``mathopt-figures``).
"""
import pathlib
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from scipy.sparse.csgraph import shortest_path
from scipy.spatial.distance import pdist, squareform
from sklearn.datasets import load_digits

import mathopt

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _output import output_dir, save_figure  # noqa: E402


def pair_violations(matrix):
    """d_ij - (shortest i-j path), over the pairs i < j (all >= 0; 0 for a metric)."""
    paths = shortest_path(np.maximum(matrix, 1e-12), method="D", directed=False)
    rows, cols = np.triu_indices(matrix.shape[0], 1)
    return matrix[rows, cols] - paths[rows, cols]


def main(n=300, seed=0, out=None):
    """Run the example; write ``out/metric_repair_digits.png`` (``out``: a folder)."""
    rng = np.random.default_rng(seed)
    digits = load_digits()
    points = digits.data[rng.choice(len(digits.data), n, replace=False)]
    clean = squareform(pdist(points))
    clean /= clean.max()
    noisy = clean * rng.lognormal(0.0, 0.3, clean.shape)
    corrupt = rng.random(clean.shape) < 0.05
    noisy[corrupt] = rng.uniform(0.0, 1.5, corrupt.sum())
    noisy = np.triu(noisy, 1)
    noisy = noisy + noisy.T

    result = mathopt.solve(mathopt.MetricProblem(noisy), method="project-and-forget",
                           max_violation_tol=1e-6, change_tol=1e-7)
    repaired = result.matrix  # result.x: the same values on the pairs i < j (upper triangle, row-major)
    print(result)
    before, after = pair_violations(noisy), pair_violations(repaired)
    rows, cols = np.triu_indices(n, 1)
    err_noisy = np.linalg.norm((noisy - clean)[rows, cols]) / np.linalg.norm(clean[rows, cols])
    err_repaired = np.linalg.norm((repaired - clean)[rows, cols]) / np.linalg.norm(clean[rows, cols])
    print(f"pairs violating a triangle inequality: before {np.mean(before > 1e-9):.1%}, "
          f"after {np.mean(after > 1e-6):.2%}; max violation before {before.max():.3f}, after {after.max():.1e}")
    print(f"relative distance to the clean matrix: noisy {err_noisy:.3f}, repaired {err_repaired:.3f}")

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    bins = np.linspace(0.0, max(before.max(), 1e-3), 60)
    axes[0].hist(before[before > 1e-9], bins=bins, color="tab:red", alpha=0.7, label="noisy")
    axes[0].hist(after[after > 1e-6], bins=bins, color="tab:blue", alpha=0.7, label="repaired")
    axes[0].set_yscale("log")
    axes[0].set_xlabel(r"violation $d_{ij} - \mathrm{sp}(i, j)$ (pairs with violation > 0)")
    axes[0].set_ylabel("pairs")
    axes[0].set_title(f"{np.mean(before > 1e-9):.0%} of pairs violated before, "
                      f"{np.mean(after > 1e-6):.0%} after")
    axes[0].legend()
    sample = rng.choice(rows.size, 4000, replace=False)
    axes[1].scatter(clean[rows, cols][sample], noisy[rows, cols][sample], s=2, alpha=0.4, color="tab:red",
                    label=f"noisy (rel. error {err_noisy:.2f})")
    axes[1].scatter(clean[rows, cols][sample], repaired[rows, cols][sample], s=2, alpha=0.4, color="tab:blue",
                    label=f"repaired metric (rel. error {err_repaired:.2f})")
    axes[1].plot([0, 1], [0, 1], "k--", lw=1)
    axes[1].set_xlabel("clean distance")
    axes[1].set_ylabel("distance")
    axes[1].legend(markerscale=4)
    fig.suptitle("Metric repair of noisy digit distances (n = %d, Project and Forget)" % n)
    fig.tight_layout()
    save_figure(fig, out, "metric_repair_digits.png", dpi=110)


if __name__ == "__main__":
    main(out=output_dir(description="Metric repair of noisy digit distances"))
