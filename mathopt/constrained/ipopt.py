r"""IPOPT (interior-point filter line search) as a registered baseline, through cyipopt.

.. math::

    \min_x f(x) \quad \text{s.t.} \quad c_E(x) = 0,\; c_I(x) \le 0,\; \ell \le x \le u

is handed to Ipopt as ``g(x) = (c_E(x), c_I(x))`` with bounds ``g_L = (0, -inf)``,
``g_U = (0, 0)`` and the variable bounds ``(\ell, u)``; derivatives come from
the :class:`~mathopt.NLP` oracle (user, JAX or finite differences), with the
exact Hessian of the Lagrangian by default. Ipopt runs its own loop; the
rules of :mod:`mathopt.core.driver` are applied from its intermediate
callback by :class:`~mathopt.constrained.scipy_solvers.LibraryRun` (iterate 0
and every Ipopt iteration reported, ``max_iter``, ``max_time``, the KKT test
of :mod:`mathopt.constrained.kkt` and the unbounded test at every iterate),
with Ipopt's return codes translated into :class:`~mathopt.Status`. NaN or
inf values are passed to Ipopt, whose line search backs off from them. Multipliers are the
least-squares estimates at the returned point (``extra["multipliers"]``);
Ipopt's own ones are in ``extra["ipopt_multipliers"]`` (constraint
multipliers ``mult_g`` in Ipopt's sign convention, ``L = f + mult_g . g``).

Jacobian and Hessian are passed as dense structures (every entry), which is
fine for the small and medium test problems this baseline is meant for.

Install: ``pip install "mathopt[ipopt]"`` (the ``cyipopt-wheels`` package
bundles Ipopt for Linux); without cyipopt the method is listed as
unavailable.

References
----------
.. [1] A. Wachter and L. T. Biegler, "On the implementation of an
   interior-point filter line-search algorithm for large-scale nonlinear
   programming", Math. Program. 106(1), 25-57, 2006.
"""
from __future__ import annotations

from dataclasses import dataclass
import numpy as np

from ..core.nlp import NLP
from ..core.options import check_choice, check_int, check_positive
from ..core.registry import register
from ..core.result import Result
from ..core.status import Status
from .options import UnboundedTestOptions
from .scipy_solvers import LibraryRun

_INF = 1e20  # Ipopt treats |bound| >= 1e19 as infinite

#: Ipopt ApplicationReturnStatus -> mathopt Status (before the residual check).
IPOPT_STATUS = {
    0: Status.CONVERGED,               # Solve_Succeeded
    1: Status.CONVERGED_INACCURATE,    # Solved_To_Acceptable_Level
    2: Status.INFEASIBLE,              # Infeasible_Problem_Detected
    3: Status.NUMERICAL_ERROR,         # Search_Direction_Becomes_Too_Small
    4: Status.UNBOUNDED,               # Diverging_Iterates
    5: Status.CALLBACK,                # User_Requested_Stop
    6: Status.CONVERGED_INACCURATE,    # Feasible_Point_Found
    -1: Status.MAX_ITER,               # Maximum_Iterations_Exceeded
    -2: Status.NUMERICAL_ERROR,        # Restoration_Failed
    -3: Status.NUMERICAL_ERROR,        # Error_In_Step_Computation
    -4: Status.MAX_TIME,               # Maximum_CpuTime_Exceeded
    -5: Status.MAX_TIME,               # Maximum_WallTime_Exceeded
    -10: Status.NUMERICAL_ERROR,       # Not_Enough_Degrees_Of_Freedom
    -13: Status.NONFINITE,             # Invalid_Number_Detected
}


@dataclass(frozen=True)
class IpoptOptions(UnboundedTestOptions):
    """IPOPT through cyipopt.

    Parameters
    ----------
    tol : float, default 1e-8
        Ipopt's overall (scaled) convergence tolerance ``tol`` (Ipopt's
        default). ``stationarity_tol`` and ``feasibility_tol`` are passed as
        ``dual_inf_tol`` and ``constr_viol_tol``.
    hessian : {"exact", "limited-memory"}, default "exact"
        The problem's Lagrangian Hessian, or Ipopt's L-BFGS approximation.
    mu_strategy : {"monotone", "adaptive"}, default "monotone"
        Ipopt's barrier-parameter update (Ipopt's default is monotone).
    print_level : int, default 0
        Ipopt's own output (0: none, 5: Ipopt's default log); ``verbose``
        prints mathopt's progress lines instead.
    """

    tol: float = 1e-8
    hessian: str = "exact"
    mu_strategy: str = "monotone"
    print_level: int = 0

    def __post_init__(self):
        super().__post_init__()
        check_positive(self, "tol")
        check_choice(self, "hessian", ("exact", "limited-memory"))
        check_choice(self, "mu_strategy", ("monotone", "adaptive"))
        check_int(self, "print_level", minimum=0)


class _IpoptModel:
    """The callbacks cyipopt calls, over a counting evaluator.

    Non-finite values are passed on to Ipopt, whose line search backs off from
    them (it ends with ``Invalid_Number_Detected`` only when it cannot).
    """

    def __init__(self, run: LibraryRun):
        self.run, self.ev, self.problem = run, run.ev, run.problem
        n, m = self.problem.n, self.problem.n_eq + self.problem.n_ineq
        self._jac_rows, self._jac_cols = np.unravel_index(np.arange(m * n), (m, n))
        self._hess_rows, self._hess_cols = np.tril_indices(n)
        self.nlp = None  # the cyipopt.Problem, set after construction (for get_current_iterate)

    def objective(self, x):
        return self.ev.fun(x)

    def gradient(self, x):
        return self.ev.gradient(x)

    def constraints(self, x):
        return np.concatenate([self.ev.eq(x), self.ev.ineq(x)])

    def jacobianstructure(self):
        return self._jac_rows, self._jac_cols

    def jacobian(self, x):
        parts = [_dense(self.ev.eq_jacobian(x)), _dense(self.ev.ineq_jacobian(x))]
        return np.vstack(parts).ravel()

    def hessianstructure(self):
        return self._hess_rows, self._hess_cols

    def hessian(self, x, lagrange, obj_factor):
        p = self.problem
        y_eq, y_ineq = lagrange[:p.n_eq], lagrange[p.n_eq:]
        if obj_factor > 0.0:  # obj_factor * Hess(f + (lambda / obj_factor) . g)
            hess = obj_factor * _dense(self.ev.lagrangian_hessian(x, y_eq / obj_factor, y_ineq / obj_factor))
        else:
            zero_eq, zero_ineq = np.zeros(p.n_eq), np.zeros(p.n_ineq)
            hess = _dense(self.ev.lagrangian_hessian(x, y_eq, y_ineq)) - _dense(
                self.ev.lagrangian_hessian(x, zero_eq, zero_ineq))
        return hess[self._hess_rows, self._hess_cols]

    def intermediate(self, alg_mod, iter_count, *args):
        if iter_count == 0:  # Ipopt's starting point: iterate 0, reported already
            return True
        x = self.nlp.get_current_iterate()["x"]
        return not self.run.iterate(x)


def _dense(mat):
    return mat.toarray() if hasattr(mat, "toarray") else np.asarray(mat, dtype=float)


@register("ipopt", problem=NLP, options=IpoptOptions, constraints=("eq", "ineq", "bounds"), requires=("cyipopt",))
def ipopt(problem: NLP, options: IpoptOptions) -> Result:
    """IPOPT (Wachter-Biegler 2006): primal-dual interior point with a filter line search, via cyipopt."""
    import cyipopt

    run = LibraryRun(problem, options, "ipopt", abort_on_nonfinite=False)
    model = _IpoptModel(run)
    m = problem.n_eq + problem.n_ineq
    nlp = cyipopt.Problem(
        n=problem.n, m=m, problem_obj=model,
        lb=np.where(np.isfinite(problem.lb), problem.lb, -_INF), ub=np.where(np.isfinite(problem.ub), problem.ub, _INF),
        cl=np.concatenate([np.zeros(problem.n_eq), np.full(problem.n_ineq, -_INF)]), cu=np.zeros(m))
    model.nlp = nlp
    settings = {"max_iter": options.max_iter, "tol": options.tol, "dual_inf_tol": options.stationarity_tol,
                "constr_viol_tol": options.feasibility_tol, "print_level": options.print_level, "sb": "yes",
                "mu_strategy": options.mu_strategy,
                "hessian_approximation": "exact" if options.hessian == "exact" else "limited-memory"}
    if np.isfinite(options.max_time):
        settings["max_wall_time"] = float(options.max_time)
    for name, value in settings.items():
        nlp.add_option(name, value)
    try:
        solved = run.run(lambda: nlp.solve(problem.x0.copy()))
    finally:
        nlp.close()
    if solved is None:
        return run.finish(None, Status.NUMERICAL_ERROR, "")  # stopped by mathopt: the status is set
    x, info = solved
    code = int(info["status"])
    native = IPOPT_STATUS.get(code, Status.NUMERICAL_ERROR)
    if native is Status.CALLBACK:  # a stop that mathopt did not ask for
        native = Status.NUMERICAL_ERROR
    message = info["status_msg"].decode() if isinstance(info["status_msg"], bytes) else str(info["status_msg"])
    return run.finish(x, native, message, {"ipopt_status": code, "ipopt_multipliers": {
        "g": np.asarray(info["mult_g"], dtype=float), "x_lower": np.asarray(info["mult_x_L"], dtype=float),
        "x_upper": np.asarray(info["mult_x_U"], dtype=float)}})
