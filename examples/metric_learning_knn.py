"""ITML metric learning with Project and Forget, then 5-NN classification.

The wine data set (scikit-learn, 13 features, z-scored) is split 60/40. From
the training labels we draw 400 similar and 400 dissimilar pairs; the bounds
are the 5th and 95th percentiles of the training pair distances (the recipe of
Davis et al. 2007), and ITML's slack weight is 1. The learned Mahalanobis
matrix M = L L^T maps x to L^T x; 5-NN accuracy on the test split is compared
with the Euclidean metric. The plot shows the test points on the two leading
directions of each metric.

Run: ``python examples/metric_learning_knn.py [--out DIR]`` (writes ``DIR/metric_learning_knn.png``;
DIR defaults to ``mathopt-figures``).
"""
import pathlib
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_wine
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

import mathopt

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _output import output_dir, save_figure  # noqa: E402


def sample_pairs(labels, count, same, rng):
    pairs = []
    while len(pairs) < count:
        i, j = rng.integers(0, len(labels), 2)
        if i != j and (labels[i] == labels[j]) == same:
            pairs.append((i, j))
    return np.array(pairs)


def knn_accuracy(train, y_train, test, y_test):
    return KNeighborsClassifier(n_neighbors=5).fit(train, y_train).score(test, y_test)


def main(seed=0, out=None):
    """Run the example; write ``out/metric_learning_knn.png`` (``out``: a folder)."""
    rng = np.random.default_rng(seed)
    X, y = load_wine(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.4, random_state=seed, stratify=y)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

    similar = sample_pairs(y_train, 400, True, rng)
    dissimilar = sample_pairs(y_train, 400, False, rng)
    all_pairs = sample_pairs(y_train, 2000, True, rng).tolist() + sample_pairs(y_train, 2000, False, rng).tolist()
    all_pairs = np.array(all_pairs)
    distances = np.sum((X_train[all_pairs[:, 0]] - X_train[all_pairs[:, 1]]) ** 2, axis=1)
    upper, lower = np.percentile(distances, [5, 95])

    problem = mathopt.MetricProblem.metric_learning(X_train, similar, dissimilar, upper, lower)
    result = mathopt.solve(problem, method="project-and-forget", slack=1.0, max_iter=5000,
                           max_violation_tol=1e-6, change_tol=1e-8)
    print(result)
    M = result.matrix  # result.x: M flattened (C order)
    print(f"learned M: symmetric positive definite, eigenvalues in [{np.linalg.eigvalsh(M).min():.3g}, "
          f"{np.linalg.eigvalsh(M).max():.3g}]")
    L = np.linalg.cholesky(M)
    before = knn_accuracy(X_train, y_train, X_test, y_test)
    after = knn_accuracy(X_train @ L, y_train, X_test @ L, y_test)
    print(f"5-NN test accuracy: Euclidean {before:.3f}, learned Mahalanobis {after:.3f}")

    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    panels = [("Euclidean", X_test, before), ("ITML (Project and Forget)", X_test @ L, after)]
    for ax, (name, Z, acc) in zip(axes, panels):
        centred = Z - Z.mean(0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        coords = centred @ vt[:2].T
        ax.scatter(coords[:, 0], coords[:, 1], c=y_test, cmap="viridis", s=14)
        ax.set_title(f"{name}: 5-NN accuracy {acc:.2f}")
        ax.set_xlabel("principal direction 1")
        ax.set_ylabel("principal direction 2")
    fig.suptitle("Wine test set under the Euclidean and the learned metric")
    fig.tight_layout()
    save_figure(fig, out, "metric_learning_knn.png", dpi=110)


if __name__ == "__main__":
    main(out=output_dir(description="ITML metric learning, then 5-NN"))
