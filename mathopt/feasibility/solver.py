"""What the QP solvers share: the termination test, the reported point and the result."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from ..core.driver import IterationInfo, IterativeSolver, make_result
from ..core.status import CONTINUE, Status, from_code
from . import admm_operator as op
from .problem import QPResult


def _rung(iteration: int, interval: int, growth: float) -> int:
    """The largest j with ``interval * growth^j <= iteration`` (-1 below ``interval``)."""
    if iteration < interval:
        return -1
    return int(math.floor(math.log(iteration / interval) / math.log(growth) + 1e-9))


def polishes_at(iteration: int, interval: int, check_interval: int, growth: float = 2.0) -> bool:
    """Certificate polishing at the first test at or after each of the iterations ``interval * growth^j``
    (tests come every ``check_interval``): at most log(max_iter / interval) / log(growth) + 1 tries in a
    run, and at every test while ``interval * growth^j`` is closer than ``check_interval``."""
    if interval <= 0 or iteration < interval:
        return False
    return _rung(iteration, interval, growth) != _rung(iteration - check_interval, interval, growth)


def termination_test(setup, image: op.Image, iteration: int = 0) -> tuple[int, np.ndarray | None]:
    """(status code, certificate) of the termination test at ``image`` (see admm_operator.check), with
    certificate polishing at the iterations of :func:`polishes_at` (option ``polish_interval``)."""
    options = setup.options
    polish = polishes_at(iteration, getattr(options, "polish_interval", 0), options.check_interval,
                         getattr(options, "polish_growth", 2.0))
    verdict = op.check(setup.problem, setup.scaled, image, options.residual_tolerances(), options.rel_tol,
                       options.infeasibility_tol, polish=polish)
    return verdict.code, verdict.certificate


def initial_code(setup, image: op.Image) -> int:
    """The test at the starting point: only convergence can be claimed before any iteration."""
    code, _ = termination_test(setup, image)
    return code if code == op.CODE_CONVERGED else CONTINUE


class CertifyingSolver(IterativeSolver):
    """A fixed-point QP solver whose state carries ``setup`` (problem, scaled data, options),
    ``image`` (T at the previous iterate: the reported point and the differences), ``code``,
    ``certificate`` and ``restarts``. Subclasses give ``init``, ``advance`` and ``displacement``."""

    def __init__(self, halpern: bool = False):
        self.halpern = halpern

    def displacement(self, state) -> float:
        """Norm of the last fixed-point residual, in the metric of the operator."""
        raise NotImplementedError

    def extra(self, state) -> dict:
        """Method-specific entries of ``result.extra``."""
        return {}

    def terminate(self, state) -> Status | None:
        return from_code(state.code)

    def info(self, state, nit: int, elapsed: float) -> IterationInfo:
        setup = state.setup
        point = op.unscale(setup.scaled, state.image.x, state.image.z, state.image.y)
        values, _ = op.residuals(setup.problem, point)
        values["displacement"] = self.displacement(state)
        return IterationInfo(nit=nit, x=point.x, fun=setup.problem.objective(point.x), residuals=values,
                             elapsed=elapsed, extra={"y": point.y, "z": point.z})

    def polished(self, state, info: IterationInfo) -> IterationInfo | None:
        """The reported point after solution polishing (:func:`admm_operator.polish_solution`), or None
        when polishing fails or does not lower the largest residual relative to its tolerance."""
        setup = state.setup
        problem, options = setup.problem, setup.options
        start = op.Unscaled(x=info.x, z=info.extra["z"], y=info.extra["y"])
        point = op.polish_solution(problem, start)
        if point is None:
            return None
        tols = options.residual_tolerances()

        def worst(p):
            values, scales = op.residuals(problem, p)
            return max(values[k] / (tols[k] + options.rel_tol * scales[k]) for k in values), values

        before, _ = worst(start)
        after, values = worst(point)
        if not (np.isfinite(after) and after < before):
            return None
        values["displacement"] = info.residuals["displacement"]
        return replace(info, x=point.x, fun=problem.objective(point.x), residuals=values,
                       extra={"y": point.y, "z": point.z})

    def finalize(self, state, status: Status, info: IterationInfo, history) -> QPResult:
        infeasible = status in (Status.PRIMAL_INFEASIBLE, Status.DUAL_INFEASIBLE)
        polished = None
        if status is Status.CONVERGED and state.setup.options.polish:
            polished = self.polished(state, info)
            info = polished or info
        y = info.extra["y"]
        extra = {"multipliers": y, "z": info.extra["z"], "polished": polished is not None, **self.extra(state)}
        if self.halpern:
            extra["restarts"] = state.restarts
        return make_result(info, status, history, result_cls=QPResult, y=y,
                           certificate=state.certificate if infeasible else None, extra=extra)
