"""The penalty of the ADMM methods on the LP-like Maros-Meszaros QPs (docs/feasibility.md, "LP-like QPs").

For each problem, runs a method with the given options and ``max_iter`` (default 1e5) and prints the
status, the iterations, the final rho, the refactorizations and the Anderson counts. With ``--log``
it also records, at every termination test, rho and the relative primal / dual residuals r_p, r_d of
OSQP's rule (:func:`mathopt.feasibility.admm_operator.adapted_penalty`), by wrapping
``ADMMSolver._event``, and prints the share of tests at which the rule's factor sqrt(r_p / r_d) is
beyond 5x, whether the penalty reset fired, and rho and the factor at iterations 25 * 2^j. Run from
the repository root::

    python benchmarks/bench_penalty_schedule.py --method admm-qp-aa --log \\
        --options "penalty_schedule='doubling'" --problems QSHARE1B,QSCAGR7

(data: ``$MATHOPT_DATA_DIR`` or ``../shared/data``, as for ``mathopt bench``).
"""
from __future__ import annotations

import argparse
import ast
import pathlib
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import mathopt  # noqa: E402
from mathopt.bench import qp as bq  # noqa: E402
from mathopt.feasibility import admm  # noqa: E402

PROBLEMS = ("QBORE3D,QCAPRI,QFORPLAN,QSHARE1B,QSCRS8,QGFRDXPN,QSCAGR7,QSHIP04L,QSTAIR,QSEBA,"
            "QSCFXM1,QSCFXM2,QSCFXM3,PRIMALC8")


def _options(text: str) -> dict:
    """'name=value, ...' with Python literals as values."""
    call = ast.parse(f"f({text})", mode="eval").body
    return {keyword.arg: ast.literal_eval(keyword.value) for keyword in call.keywords}


def _install_log(log: list) -> None:
    original = admm.ADMMSolver._event

    def event(self, state):
        if state.iteration % state.setup.options.check_interval == 0:
            scaled, image = state.setup.scaled, state.image
            norm = lambda a: float(np.max(np.abs(a), initial=0.0))  # noqa: E731
            ax, px, aty = scaled.A @ image.x, scaled.P @ image.x, scaled.AT @ image.y
            primal = norm(ax - image.z) / max(norm(ax), norm(image.z), 1e-30)
            dual = norm(px + scaled.q + aty) / max(norm(px), norm(aty), norm(scaled.q), 1e-30)
            log.append((state.iteration, state.penalty, primal, dual, state.penalty_reset or state.reset_pending))
        return original(self, state)

    admm.ADMMSolver._event = event


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", default="admm-qp-aa")
    parser.add_argument("--problems", default=PROBLEMS)
    parser.add_argument("--options", default="", help="solver options, e.g. \"penalty_schedule='averaged'\"")
    parser.add_argument("--max-iter", type=int, default=100000)
    parser.add_argument("--log", action="store_true", help="log rho and r_p / r_d at every test")
    args = parser.parse_args()
    options, log = _options(args.options), []
    if args.log:
        _install_log(log)
    print(f"# {args.method} {options} max_iter={args.max_iter}")
    for name in args.problems.split(","):
        log.clear()
        start = time.perf_counter()
        result = mathopt.solve(bq.load("maros-meszaros", name), method=args.method, max_iter=args.max_iter, **options)
        extra = result.extra
        line = (f"{name} {result.status.name} nit={result.nit} t={time.perf_counter() - start:.1f}s "
                f"rho={extra['penalty']:.3g} refactorizations={extra['refactorizations']} "
                f"anderson={extra.get('anderson_accepted')}/{extra.get('anderson_rejected')} f={result.fun:.8g}")
        if log:
            rows = np.array([entry[:4] for entry in log])
            factor = np.sqrt(rows[:, 2] / np.maximum(rows[:, 3], 1e-300))
            off = float(np.mean((factor > 5) | (factor < 0.2)))
            line += f" off5x={off:.2f} reset={log[-1][4]}"
        print(line, flush=True)
        for iteration, penalty, _, _, _ in log:
            if iteration % 25 == 0 and (iteration // 25) & (iteration // 25 - 1) == 0:
                index = [entry[0] for entry in log].index(iteration)
                print(f"    iteration {iteration}: rho {penalty:.3g}, sqrt(r_p / r_d) {factor[index]:.3g}")


if __name__ == "__main__":
    main()
