"""Constrained logistic regression (the experiment of Hong, Na, Mahoney & Kolar, ICML 2023).

.. math::

    \\min_{w \\in \\mathbb{R}^d} \\frac1N \\sum_{i=1}^N \\log(1 + e^{-y_i a_i^\\top w})
    \\quad\\text{s.t.}\\quad A w = b,\\; \\|w\\|^2 = 1,

with ``A`` (10 x d) and ``b`` standard Gaussian, as in the authors' code
(``ConstrainedLogisticRegression/*/Eval.jl``: 10 random linear constraints plus
the unit-sphere constraint, start ``w0 = 1``). The paper uses LIBSVM data
sets; here scikit-learn's breast cancer data (N = 569, d = 30, features
standardized, labels +-1), which ships with the package.

Solved by ``al-sketch`` (randomized Kaczmarz on the KKT system), ``al-newton``
(the same outer method with an exact LU solve), ``auglag`` (method of
multipliers with L-BFGS-B inner solves) and ``scipy-slsqp``; every solver
reports the same residuals (``stationarity``, ``feasibility``; the KKT residual
plotted is their maximum). Prints a table and writes
``DIR/constrained_logistic_regression.png``.

Run: ``python examples/constrained_logistic_regression.py [--out DIR]`` (DIR defaults to
``mathopt-figures``).
"""
import pathlib
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer

import mathopt

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _output import output_dir, save_figure  # noqa: E402

SOLVERS = ("al-sketch", "al-newton", "auglag", "scipy-slsqp")


def constrained_logistic_problem(n_linear=10, seed=1):
    """The NLP above on the breast cancer data, with exact derivatives (gradient, Jacobian, Hessian)."""
    data = load_breast_cancer()
    features = (data.data - data.data.mean(axis=0)) / data.data.std(axis=0)
    labels = np.where(data.target == 1, 1.0, -1.0)
    margins_matrix = labels[:, None] * features  # row i: y_i a_i
    count, dim = margins_matrix.shape
    rng = np.random.default_rng(seed)
    con_matrix = rng.standard_normal((n_linear, dim))
    con_rhs = rng.standard_normal(n_linear)
    # feasible iff the minimum-norm solution of A w = b lies inside the unit ball
    min_norm = np.linalg.lstsq(con_matrix, con_rhs, rcond=None)[0]
    assert np.linalg.norm(min_norm) < 1.0, "infeasible draw: pick another seed"

    def objective(w):
        return float(np.mean(np.logaddexp(0.0, -margins_matrix @ w)))

    def gradient(w):
        prob = 0.5 * (1.0 - np.tanh(0.5 * (margins_matrix @ w)))  # sigma(-y a^T w), overflow-free
        return -margins_matrix.T @ prob / count

    def eq(w):
        return np.concatenate([con_matrix @ w - con_rhs, [w @ w - 1.0]])

    def eq_jacobian(w):
        return np.vstack([con_matrix, 2.0 * w])

    def lagrangian_hessian(w, y_eq, y_ineq):
        prob = 0.5 * (1.0 - np.tanh(0.5 * (margins_matrix @ w)))
        weights = prob * (1.0 - prob) / count
        return (margins_matrix.T * weights) @ margins_matrix + 2.0 * y_eq[-1] * np.eye(dim)

    return mathopt.NLP(objective, np.ones(dim), gradient=gradient, eq=eq, eq_jacobian=eq_jacobian,
                       lagrangian_hessian=lagrangian_hessian, name="constrained-logistic-breast-cancer")


def main(out=None):
    """Solve, print the table, write ``out/constrained_logistic_regression.png`` (``out``: a folder)."""
    problem = constrained_logistic_problem()
    results = {}
    print(f"n = {problem.n} variables, m = {problem.n_eq} equality constraints\n")
    print(f"{'solver':<12} {'status':<16} {'iters':>6} {'objective':>12} {'stationarity':>13} "
          f"{'feasibility':>12} {'nfev':>6} {'time (s)':>9}")
    for name in SOLVERS:
        start = time.perf_counter()
        result = mathopt.solve(problem, method=name, history=True, max_iter=500, seed=0)
        elapsed = time.perf_counter() - start
        results[name] = result
        print(f"{name:<12} {result.status.name:<16} {result.nit:>6} {result.fun:>12.6f} "
              f"{result.residuals['stationarity']:>13.2e} {result.residuals['feasibility']:>12.2e} "
              f"{result.nfev:>6} {elapsed:>9.2f}")
    reference = results["al-newton"].x
    for name, result in results.items():
        print(f"||w_{name} - w_al-newton||_inf = {np.max(np.abs(result.x - reference)):.2e}")

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for name, result in results.items():
        hist = result.history or {}
        if "stationarity" in hist and "feasibility" in hist:
            kkt = np.maximum(hist["stationarity"], hist["feasibility"])
            ax.semilogy(np.arange(kkt.size), kkt, marker=".", label=f"{name} ({result.status.name.lower()})")
    ax.axhline(1e-6, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("outer iteration (auglag: one multiplier update, many L-BFGS-B steps)")
    ax.set_ylabel("KKT residual  max(stationarity, feasibility)")
    ax.set_title("Constrained logistic regression, breast cancer (d=30, m=11)")
    ax.legend()
    fig.tight_layout()
    print()
    save_figure(fig, out, "constrained_logistic_regression.png", dpi=120)
    return results


if __name__ == "__main__":
    main(out=output_dir(description="Constrained logistic regression (Hong et al. 2023)"))
