"""The ADMM operator's KKT factorization: QDLDL (LDL' with approximate minimum degree, what
``admm-qp`` / ``halpern-admm`` use, :func:`mathopt.feasibility.admm_operator.quasidefinite_factor`)
against SuperLU in symmetric mode with multiple minimum degree on A + A' (scipy's ``splu``, the
factorization used before, and the fallback where ``qdldl`` is absent).

The matrix is the operator's, ``[[P + sigma I, A'], [A, -diag(1/rho)]]`` on the unscaled data with
sigma = 1e-6 and rho = 0.1 (the penalty does not change the sparsity). For each problem: factor time
(best of ``--repeat``), the number of entries of the factors (L and U for SuperLU; for QDLDL, L twice
plus the diagonal, the entries the compiled loop's two triangular solves read), and the time of one
solve. Run from the repository root::

    python benchmarks/bench_kkt_factor.py [--suite maros-meszaros] [--problems BOYD1,CVXQP1_L,...] [--repeat 2]

(data: ``$MATHOPT_DATA_DIR`` or ``../shared/data``, as for ``mathopt bench``). Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import pathlib
import sys
import time

import numpy as np
import scipy.sparse as sp

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mathopt.bench import qp as bench_qp  # noqa: E402

PROBLEMS = "BOYD1,BOYD2,CVXQP1_L,CVXQP2_L,CVXQP3_L,CONT-200,CONT-300,LISWET1,HUESTIS,QSHIP08L,AUG3DCQP"


def kkt(problem, sigma: float = 1e-6, rho: float = 0.1):
    n = problem.n
    P = sp.csc_matrix(problem.P) if problem.P is not None else sp.csc_matrix((n, n))
    A = sp.csc_matrix(problem.A)
    return sp.bmat([[P + sigma * sp.eye(n), A.T], [A, -sp.eye(A.shape[0]) / rho]], format="csc")


def best_time(make, repeat: int):
    best, out = np.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        out = make()
        best = min(best, time.perf_counter() - start)
    return best, out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="maros-meszaros", choices=["maros-meszaros", "netlib-lp", "netlib-infeas"])
    parser.add_argument("--problems", default=PROBLEMS)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    import qdldl
    from scipy.sparse.linalg import splu

    print("| problem | n + m | nnz(K) | QDLDL factor [s] | QDLDL entries | QDLDL solve [ms] "
          "| SuperLU factor [s] | SuperLU entries | SuperLU solve [ms] | factor time SuperLU / QDLDL |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in args.problems.split(","):
        K = kkt(bench_qp.load(args.suite, name))
        size = K.shape[0]
        b = np.ones(size)
        tq, ldl = best_time(lambda: qdldl.Solver(K), args.repeat)
        sq, _ = best_time(lambda: ldl.solve(b), args.repeat)
        lower = ldl.factors()[0]
        tl, lu = best_time(lambda: splu(K, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                                        options={"SymmetricMode": True}), args.repeat)
        sl, _ = best_time(lambda: lu.solve(b), args.repeat)
        print(f"| {name} | {size} | {K.nnz} | {tq:.3f} | {2 * lower.nnz + size} | {1e3 * sq:.2f} "
              f"| {tl:.3f} | {lu.L.nnz + lu.U.nnz} | {1e3 * sl:.2f} | {tl / tq:.1f} |", flush=True)


if __name__ == "__main__":
    main()
