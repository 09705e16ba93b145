"""mathopt: constrained and bilevel optimization solvers behind one API.

>>> import mathopt
>>> problem = mathopt.NLP(lambda x: (x[0] - 1.0) ** 2 + x[1] ** 2, x0=[0.0, 0.0])
>>> result = mathopt.solve(problem)          # the default NLP method
>>> result.status.name
'CONVERGED'

``import mathopt`` stays light: solver modules are loaded on the first
registry access and import JAX, Numba, cvxpy or POT only when they run.
"""
from .core.driver import IterationInfo
from .core.nlp import NLP
from .core.options import CommonOptions, OptionError
from .core.problem import Problem, ProblemError
from .core.batch import solve_many
from .core.registry import UnknownMethodError, list_solvers, register, show_options, solve
from .core.result import Result, SolverError
from .core.status import Status

__version__ = "0.1.0"

#: Names exported lazily (module imported on first access), so families load on demand.
_LAZY = {
    "BilevelProblem": "mathopt.bilevel.problem",
    "BilevelResult": "mathopt.bilevel.problem",
    "TransportProblem": "mathopt.transport.problem",
    "TransportResult": "mathopt.transport.problem",
    "MetricProblem": "mathopt.metric.problem",
    "MetricResult": "mathopt.metric.problem",
    "QP": "mathopt.feasibility.problem",
    "QPResult": "mathopt.feasibility.problem",
    "CompositeProblem": "mathopt.prox.problem",
    "InverseProblem": "mathopt.prox.problem",
    "ProxResult": "mathopt.prox.problem",
}
_LAZY_MODULES = ("sets", "problems", "bilevel", "transport", "metric", "constrained", "prox")


def __getattr__(name):
    import importlib

    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _LAZY_MODULES:
        return importlib.import_module(f"mathopt.{name}")
    raise AttributeError(f"module 'mathopt' has no attribute {name!r}")

__all__ = ["NLP", "Problem", "ProblemError", "Result", "SolverError", "Status", "CommonOptions",
           "OptionError", "UnknownMethodError", "IterationInfo", "solve", "solve_many", "list_solvers",
           "show_options", "register", "__version__"]
