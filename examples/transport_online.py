"""Online optimal transport with Mirror Sinkhorn: a plan learned from a stream of samples.

Two groups of "workers" (sources, 1-D positions) and "tasks" (targets) are
fixed, but their pairwise costs are only observed through noisy samples
arriving one at a time (e.g. measured travel times). Each sample feeds one
Mirror Sinkhorn iteration (``OnlineMirrorSinkhorn.partial_fit``, Ballu &
Berthet 2023, Algorithm 1 with stochastic gradients); the averaged plan
converges to the optimal plan of the expected cost, computed here with
``ot.emd`` for reference. Writes ``transport_online.png`` into ``--out``
(default ``mathopt-figures/`` in the current directory, created if missing).

Run: ``python examples/transport_online.py [--out DIR]``
"""
import argparse
import pathlib
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import ot  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _output import add_out_argument, output_dir, save_figure  # noqa: E402
from mathopt.transport import OnlineMirrorSinkhorn  # noqa: E402

parser = argparse.ArgumentParser(description="Online OT with Mirror Sinkhorn")
out_dir = output_dir(add_out_argument(parser).parse_args())

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

fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
exact = ot.emd(a, b, expected_cost)
top = max(model.plan_.max(), exact.max())
for ax, plan, title in ((axes[0], model.plan_, f"online plan after {model.n_iter_} samples"),
                        (axes[1], exact, "exact plan of the expected cost (ot.emd)")):
    image = ax.imshow(plan, cmap="viridis", vmin=0.0, vmax=top)
    ax.set_title(title)
    ax.set_xlabel("task j (sorted position)")
    ax.set_ylabel("worker i (sorted position)")
    fig.colorbar(image, ax=ax, label="mass P_ij")
steps, gaps = np.array(steps), np.maximum(gaps, 1e-8)
axes[2].loglog(steps, gaps, marker=".", label="E<C, P_t> - OT (rounded average)")
reference = gaps[len(gaps) // 2] * np.sqrt(steps[len(steps) // 2] / steps)  # c / sqrt(t) through the middle point
axes[2].loglog(steps, reference, "k--", label="reference c / sqrt(t)")
axes[2].set_xlabel("samples t")
axes[2].set_ylabel("sub-optimality E<C, P_t> - OT")
axes[2].set_title("convergence vs the O(1/sqrt(t)) rate")
axes[2].legend()
fig.tight_layout()
save_figure(fig, out_dir, "transport_online.png", dpi=100)
print(f"final sub-optimality {gaps[-1]:.3e} (OT = {optimum:.4f})")
