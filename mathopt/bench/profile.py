r"""Dolan-More performance profiles.

For problems :math:`p`, solvers :math:`s` and costs :math:`t_{p,s}` (e.g.
wall time; :math:`+\infty` when :math:`s` did not solve :math:`p`), the
performance ratio is :math:`r_{p,s} = t_{p,s} / \min_{s'} t_{p,s'}` and the
profile of solver :math:`s` is

.. math::

    \rho_s(\tau) = \frac{1}{n_p} \,\big|\{p : r_{p,s} \le \tau\}\big| ,

the fraction of problems solved within a factor :math:`\tau` of the best
solver. :math:`\rho_s(1)` is the fraction where :math:`s` is (one of) the
fastest, :math:`\rho_s(\infty)` the fraction it solves. Problems no solver
solves count in :math:`n_p` and for no solver.

Reference: E. D. Dolan and J. J. More, "Benchmarking optimization software
with performance profiles", Math. Program. 91, 201-213, 2002.
"""
from __future__ import annotations

import numpy as np


def performance_ratios(costs: dict) -> dict:
    """``{solver: r_{p,s} array}`` from ``{solver: cost array over the same problems}`` (inf = failed)."""
    names = list(costs)
    table = np.array([np.asarray(costs[s], dtype=float) for s in names])  # solvers x problems
    if table.size and np.any(table <= 0):
        table = np.where(table <= 0, np.finfo(float).tiny, table)  # a zero cost (e.g. 0 s) is the best
    best = np.min(table, axis=0) if table.size else np.zeros(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratios = np.where(np.isfinite(table), table / best, np.inf)
    return {s: ratios[i] for i, s in enumerate(names)}


def performance_profile(costs: dict, taus=None) -> tuple[np.ndarray, dict]:
    """The profile ``rho_s(tau)`` of every solver.

    Parameters
    ----------
    costs : dict ``{solver: array of shape (n_problems,)}``
        Cost of each run; ``inf`` or ``nan`` where the solver failed.
    taus : array, optional
        Where to evaluate; default: 1 and every finite ratio (the step points).

    Returns
    -------
    taus : ndarray
    rho : dict ``{solver: ndarray}`` with ``rho[s][k]`` the fraction of problems
        with ratio ``<= taus[k]``.

    Examples
    --------
    >>> taus, rho = performance_profile({"a": [1.0, 4.0], "b": [2.0, 2.0]}, taus=[1.0, 2.0])
    >>> rho["a"].tolist(), rho["b"].tolist()
    ([0.5, 1.0], [0.5, 1.0])
    """
    clean = {s: np.where(np.isnan(np.asarray(c, dtype=float)), np.inf, np.asarray(c, dtype=float))
             for s, c in costs.items()}
    ratios = performance_ratios(clean)
    if taus is None:
        finite = np.concatenate([r[np.isfinite(r)] for r in ratios.values()] + [np.ones(1)])
        taus = np.unique(finite)
    taus = np.asarray(taus, dtype=float)
    n_problems = max((r.size for r in ratios.values()), default=0)
    rho = {s: (np.sum(r[None, :] <= taus[:, None], axis=1) / n_problems if n_problems else np.zeros(taus.size))
           for s, r in ratios.items()}
    return taus, rho


def plot_profile(costs: dict, path, title: str = "Performance profile", xlabel: str = "wall time") -> bool:
    """Save a step plot of the profile (log2 tau axis) to ``path``; False (with a warning) without matplotlib."""
    import warnings

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        warnings.warn("matplotlib is not installed: the performance-profile plot is skipped", stacklevel=2)
        return False
    taus, rho = performance_profile(costs)
    tau_max = max(2.0, float(taus.max()) * 1.5) if taus.size else 2.0
    grid = np.concatenate([taus, [tau_max]])
    fig, ax = plt.subplots(figsize=(6.0, 4.0))
    for solver, values in rho.items():
        ax.step(grid, np.concatenate([values, values[-1:]]), where="post", label=solver)
    ax.set_xscale("log", base=2)
    ax.set_xlim(1.0, tau_max)
    ax.set_ylim(0.0, 1.02)
    ax.set_xlabel(f"tau (within a factor tau of the best {xlabel})")
    ax.set_ylabel("fraction of problems solved")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True
