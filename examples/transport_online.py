"""Online optimal transport with Mirror Sinkhorn: a plan learned from a stream of samples.

Two groups of "workers" (sources, 1-D positions) and "tasks" (targets) are
fixed, but their pairwise costs are only observed through noisy samples
arriving one at a time (e.g. measured travel times). Each sample feeds one
Mirror Sinkhorn iteration (``OnlineMirrorSinkhorn.partial_fit``, Ballu &
Berthet 2023, Algorithm 1 with stochastic gradients); the averaged plan
converges to the optimal plan of the expected cost, computed here with
``ot.emd`` for reference. Saves ``examples/transport_online.png``.

Run: ``python examples/transport_online.py``
"""
import pathlib
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import ot  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from mathopt.transport import OnlineMirrorSinkhorn  # noqa: E402

rng = np.random.default_rng(0)
n, m = 30, 25
sources, targets = np.sort(rng.normal(0.0, 1.0, n)), np.sort(rng.normal(0.5, 0.7, m))
a, b = np.full(n, 1 / n), np.full(m, 1 / m)
expected_cost = (sources[:, None] - targets[None, :]) ** 2
optimum = ot.emd2(a, b, expected_cost)

model = OnlineMirrorSinkhorn(a, b, gradient_bound=float(expected_cost.max()))
steps, gaps = [], []
for t in range(1, 20001):
    noisy = expected_cost * rng.exponential(1.0, expected_cost.shape)  # unbiased sample of the cost
    model.partial_fit(noisy)
    if t in np.unique(np.logspace(0, 4.3, 40).astype(int)):
        steps.append(t)
        gaps.append(np.sum(expected_cost * model.plan_) - optimum)

fig, axes = plt.subplots(1, 3, figsize=(13, 4))
axes[0].imshow(model.plan_, cmap="viridis")
axes[0].set_title(f"online plan after {model.n_iter_} samples")
axes[1].imshow(ot.emd(a, b, expected_cost), cmap="viridis")
axes[1].set_title("exact plan of the expected cost (ot.emd)")
axes[2].loglog(steps, np.maximum(gaps, 1e-8), marker=".")
axes[2].set_xlabel("samples")
axes[2].set_ylabel("E<C, P> - OT")
axes[2].set_title("convergence (O(1/sqrt(t)) expected)")
fig.tight_layout()
out = pathlib.Path(__file__).with_suffix(".png")
fig.savefig(out, dpi=100)
print(f"final sub-optimality {gaps[-1]:.3e} (OT = {optimum:.4f}); saved {out}")
