"""The solver registry and the ``solve`` entry point.

Solvers register themselves with :func:`register`; ``solve`` looks the name
up, checks that the method handles the problem, validates the options
against the solver's options dataclass and runs it. No if/elif dispatch:
everything is read from the registry entries (:class:`SolverSpec`).

Solver modules are imported on the first registry access, not at
``import mathopt``; they import their heavy dependencies (jax, numba, cvxpy,
ot) inside the solve function, so reading the registry stays cheap.
"""
from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import inspect
import secrets
import time
from dataclasses import dataclass, field
from typing import Callable

from .options import CommonOptions, OptionError, build_options, option_names, options_doc
from .result import Result

#: Family packages searched for solvers. Each family package's ``__init__`` declares
#: ``SOLVER_MODULES``, the (relative) names of its modules that call :func:`register`;
#: they are imported on the first registry access.
#: A new family adds its package here.
FAMILY_PACKAGES: tuple[str, ...] = ("constrained", "bilevel", "transport", "metric", "feasibility", "prox")


class UnknownMethodError(ValueError):
    """No solver of that name, or the solver does not handle that problem."""


@dataclass(frozen=True)
class SolverSpec:
    """A registry entry: what a solver is, handles and needs."""

    name: str
    func: Callable
    problem: type
    options: type
    summary: str
    backends: tuple[str, ...] = ("numpy",)
    stochastic: bool = False
    constraints: frozenset = frozenset()
    requires: tuple[str, ...] = ()
    default: bool = False
    extra: dict = field(default_factory=dict)

    def available(self) -> bool:
        """True when every module the solver needs can be imported."""
        return all(importlib.util.find_spec(module) is not None for module in self.requires)

    def handles(self, problem) -> str | None:
        """None if the solver can take ``problem``, else the reason it cannot."""
        if not isinstance(problem, self.problem):
            return (f"method {self.name!r} solves {self.problem.__name__} problems, "
                    f"not {type(problem).__name__}")
        kinds = getattr(problem, "constraint_types", frozenset())
        unsupported = set(kinds) - set(self.constraints)
        if unsupported:
            return (f"method {self.name!r} does not handle constraints of type "
                    f"{sorted(unsupported)} (it handles {sorted(self.constraints) or 'none'})")
        return None


_REGISTRY: dict[str, SolverSpec] = {}
_loaded = False


def register(name: str, *, problem: type, options: type = CommonOptions,
             backends: tuple[str, ...] = ("numpy",), stochastic: bool = False,
             constraints=(), requires: tuple[str, ...] = (), default: bool = False, **extra):
    """Class/function decorator adding a solver to the registry.

    The decorated callable has signature ``solver(problem, options) -> Result``,
    where ``options`` is an instance of the ``options`` dataclass (a subclass
    of :class:`CommonOptions`). ``constraints`` lists the constraint kinds the
    solver handles (for NLP: ``"eq"``, ``"ineq"``, ``"bounds"``); ``default``
    makes it the method chosen by ``solve(problem)`` for its problem type.
    """
    if not (isinstance(options, type) and issubclass(options, CommonOptions)):
        raise TypeError(f"options of {name!r} must be a subclass of CommonOptions")

    def decorator(func):
        if name in _REGISTRY and _REGISTRY[name].func is not func:
            raise ValueError(f"a solver named {name!r} is already registered")
        doc = inspect.getdoc(func) or ""
        _REGISTRY[name] = SolverSpec(
            name=name, func=func, problem=problem, options=options,
            summary=doc.splitlines()[0] if doc else "", backends=tuple(backends),
            stochastic=stochastic, constraints=frozenset(constraints), requires=tuple(requires),
            default=default, extra=extra)
        return func

    return decorator


def _ensure_loaded() -> None:
    """Import every family's solver modules once. A family whose import fails raises on every
    registry access (never a silently shorter registry), after the other families are loaded."""
    global _loaded
    if _loaded:
        return
    errors = []
    for family in FAMILY_PACKAGES:
        name = f"mathopt.{family}"
        if importlib.util.find_spec(name) is None:
            continue
        try:
            package = importlib.import_module(name)
            for module in getattr(package, "SOLVER_MODULES", ()):
                importlib.import_module(f"{name}.{module}")
        except ImportError as exc:
            errors.append(exc)
    if errors:
        raise errors[0]
    _loaded = True


def get_solver(method: str) -> SolverSpec:
    """The registry entry of ``method``; UnknownMethodError lists the valid names."""
    _ensure_loaded()
    try:
        return _REGISTRY[method]
    except KeyError:
        raise UnknownMethodError(f"unknown method {method!r}; registered methods: "
                                 f"{', '.join(sorted(_REGISTRY))}") from None


def list_solvers(problem_type: type | None = None) -> list[SolverSpec]:
    """Registry entries, optionally only those for ``problem_type``, sorted by name."""
    _ensure_loaded()
    specs = sorted(_REGISTRY.values(), key=lambda s: s.name)
    if problem_type is not None:
        specs = [s for s in specs if issubclass(problem_type, s.problem)]
    return specs


def default_method(problem) -> str:
    """The documented default method for the problem's type."""
    for spec in list_solvers(type(problem)):
        if spec.default and spec.handles(problem) is None:
            return spec.name
    candidates = [s.name for s in list_solvers(type(problem)) if s.handles(problem) is None]
    if not candidates:
        raise UnknownMethodError(f"no registered method handles {type(problem).__name__} problems")
    return candidates[0]


def show_options(method: str, disp: bool = True) -> str | None:
    """Print (or with ``disp=False`` return) the documented options of ``method``."""
    spec = get_solver(method)
    text = f"{spec.name}: {spec.summary}\n\n{options_doc(spec.options)}"
    if disp:
        print(text)
        return None
    return text


def solve(problem, method: str | None = None, **options) -> Result:
    """Solve ``problem`` with a registered method.

    Parameters
    ----------
    problem : a mathopt problem (``NLP``, ``BilevelProblem``, ``TransportProblem``, ...)
    method : str, optional
        Registered name (see :func:`list_solvers` / ``mathopt solvers``);
        ``None`` picks the default method of the problem type (marked in
        ``mathopt solvers``).
    **options
        Options of the method (see :func:`show_options`); unknown names raise
        :class:`~mathopt.core.options.OptionError` listing the valid ones.

    Returns
    -------
    Result
        The family's result type, with ``solver`` and ``wall_time`` filled in;
        randomized methods add the seed they used as ``extra["seed"]``.

    Raises
    ------
    Whatever the user's own functions or callback raise, unchanged. mathopt's
    own numerical failures never raise: they end the run with
    ``Status.NUMERICAL_ERROR`` and the last good iterate.
    """
    if method is None:
        method = default_method(problem)
    spec = get_solver(method)
    reason = spec.handles(problem)
    if reason:
        raise UnknownMethodError(reason)
    opts = build_options(spec.options, method, options)
    if opts.seed is None:  # one meaning in every family: a fresh seed, recorded in the result
        opts = dataclasses.replace(opts, seed=secrets.randbits(63))
    start = time.perf_counter()
    result = spec.func(problem, opts)
    changes = {"solver": spec.name, "wall_time": time.perf_counter() - start}
    if spec.stochastic:
        changes["extra"] = {**result.extra, "seed": opts.seed}
    return result.replace(**changes)


__all__ = ["register", "solve", "list_solvers", "show_options", "get_solver", "default_method",
           "SolverSpec", "UnknownMethodError", "OptionError", "FAMILY_PACKAGES", "option_names"]
