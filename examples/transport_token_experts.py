"""Matching tokens to experts with a capacity of k tokens per expert (sparse-ot).

The motivating use of Liu, Puigcerver & Blondel (2023): in a sparse mixture of
experts, each expert (a column of the plan) may process at most k tokens.
Tokens and experts are embedded in a shared space; the cost is the negative
affinity. ``sparse-ot`` with ``max_nz=k`` returns a plan with at most k nonzero
tokens per expert, compared here with entropic Sinkhorn (dense). Writes
``transport_token_experts.png`` into ``--out`` (default ``mathopt-figures/`` in
the current directory, created if missing).

Run: ``python examples/transport_token_experts.py [--out DIR]``
"""
import argparse
import pathlib
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _output import add_out_argument, output_dir, save_figure  # noqa: E402
import mathopt  # noqa: E402

parser = argparse.ArgumentParser(description="Token-to-expert matching with sparse-ot")
out_dir = output_dir(add_out_argument(parser).parse_args())

rng = np.random.default_rng(0)
n_tokens, n_experts, capacity = 64, 8, 8
tokens = rng.normal(size=(n_tokens, 16))
experts = rng.normal(size=(n_experts, 16))
affinity = tokens @ experts.T / 4.0
cost = affinity.max() - affinity                     # tokens x experts, nonnegative
a = np.full(n_tokens, 1 / n_tokens)                 # every token routed once
b = np.full(n_experts, 1 / n_experts)               # balanced experts
problem = mathopt.TransportProblem(a, b, cost=cost)

sparse = mathopt.solve(problem, method="sparse-ot", max_nz=capacity, reg=0.05)
dense = mathopt.solve(problem, method="sinkhorn", reg=0.05)
plan = sparse.plan.toarray()
per_expert = (plan > 0).sum(axis=0)
print(f"sparse-ot: status {sparse.status.name}, tokens per expert {per_expert.tolist()} (capacity {capacity}), "
      f"marginal error {sparse.residuals['marginal']:.1e}")
print(f"sinkhorn: nonzeros per expert {(dense.plan > 1e-12).sum(axis=0).tolist()}")

fig, axes = plt.subplots(1, 2, figsize=(9, 7), sharey=True)
top = max(plan.max(), dense.plan.max())
for ax, values, title in ((axes[0], plan, f"sparse-ot, k = {capacity} tokens / expert"),
                          (axes[1], dense.plan, "entropic sinkhorn (dense)")):
    image = ax.imshow(values, aspect="auto", cmap="magma_r", interpolation="nearest", vmin=0.0, vmax=top)
    ax.set_title(title)
    ax.set_xlabel("expert")
    fig.colorbar(image, ax=ax, label="routed mass P_ij")
axes[0].set_ylabel("token")
fig.tight_layout()
save_figure(fig, out_dir, "transport_token_experts.png", dpi=100)
