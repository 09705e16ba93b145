"""Solver options: one dataclass per solver, validated once when ``solve`` is called.

Every options class derives from :class:`CommonOptions`, so every solver takes
the driver's options with the same names and meanings. Tolerances follow one
vocabulary: the tolerance on the residual named ``R`` (``result.residuals[R]``)
is the option ``R_tol`` (e.g. ``stationarity_tol``, ``feasibility_tol``,
``marginal_tol``).
"""
from __future__ import annotations

import dataclasses
import inspect
import math
from dataclasses import dataclass
from typing import Callable


class OptionError(ValueError):
    """An unknown option name or an invalid option value."""


@dataclass(frozen=True)
class CommonOptions:
    """Options every solver accepts.

    Parameters
    ----------
    max_iter : int, default 1000
        Maximum number of (outer) iterations.
    max_time : float, default inf
        Wall-clock limit in seconds; the solver stops with ``Status.MAX_TIME``.
    callback : callable, optional
        ``callback(info) -> bool | None`` called once per iteration with an
        :class:`~mathopt.core.driver.IterationInfo`; returning True stops the
        solve with ``Status.CALLBACK``. Solvers with compiled loops switch to a
        Python-driven loop over a compiled step when a callback is given.
    history : bool, default False
        Record per-iteration values (objective, residuals) in ``result.history``.
    verbose : bool or int, default False
        Print a progress line every ``verbose`` iterations (True means 1) to
        standard error. Off by default.
    seed : int or None, default None
        Seed of randomized methods; equal seeds give equal results.
    """

    max_iter: int = 1000
    max_time: float = math.inf
    callback: Callable | None = None
    history: bool = False
    verbose: bool | int = False
    seed: int | None = None

    def __post_init__(self):
        check_int(self, "max_iter", minimum=0)
        check_positive(self, "max_time")
        if self.callback is not None and not callable(self.callback):
            raise OptionError(f"callback must be callable, got {type(self.callback).__name__}")
        if self.seed is not None and not isinstance(self.seed, int):
            raise OptionError(f"seed must be an int or None, got {self.seed!r}")

    @property
    def progress_every(self) -> int:
        """Print period of the progress display (0: off)."""
        return int(self.verbose) if self.verbose is not True else 1


def check_positive(options, name: str, *, strict: bool = True, allow_inf: bool = True) -> None:
    """Raise OptionError unless ``options.<name>`` is a positive (or nonnegative) number."""
    value = getattr(options, name)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise OptionError(f"{name} must be a number, got {value!r}") from None
    if math.isnan(number) or (number <= 0 if strict else number < 0) or (not allow_inf and math.isinf(number)):
        raise OptionError(f"{name} must be {'positive' if strict else 'nonnegative'}"
                          f"{'' if allow_inf else ' and finite'}, got {value!r}")


def check_int(options, name: str, *, minimum: int = 0) -> None:
    """Raise OptionError unless ``options.<name>`` is an integer >= minimum."""
    value = getattr(options, name)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise OptionError(f"{name} must be an integer >= {minimum}, got {value!r}")


def check_choice(options, name: str, choices) -> None:
    """Raise OptionError unless ``options.<name>`` is one of ``choices``."""
    value = getattr(options, name)
    if value not in choices:
        raise OptionError(f"{name} must be one of {tuple(choices)}, got {value!r}")


def option_names(options_cls) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(options_cls))


def build_options(options_cls, method: str, given: dict):
    """Instantiate ``options_cls`` from user keywords, rejecting unknown names."""
    valid = option_names(options_cls)
    unknown = sorted(set(given) - set(valid))
    if unknown:
        raise OptionError(f"unknown option(s) {unknown} for method {method!r}; "
                          f"valid options: {', '.join(valid)}")
    return options_cls(**given)


def options_doc(options_cls) -> str:
    """The documentation of an options class, with the options it inherits.

    The summary of ``options_cls`` comes first, then the ``Parameters``
    section of each class in its MRO (the method's own options, then the
    family's, e.g. NLP tolerances, then the common options).
    """
    own = inspect.getdoc(options_cls) or ""
    parts = [own.split("Parameters\n----------\n", 1)[0].strip()]
    for cls in options_cls.__mro__:
        if not (isinstance(cls, type) and issubclass(cls, CommonOptions)):
            continue
        doc = inspect.getdoc(cls) or ""
        if "Parameters\n----------\n" not in doc or "__doc__" not in cls.__dict__:
            continue
        title = "Options" if cls is options_cls else (
            "Common options" if cls is CommonOptions else f"Inherited from {cls.__name__}")
        params = doc.split("Parameters\n----------\n", 1)[1].strip()
        parts.append(f"{title}\n{'-' * len(title)}\n{params}")
    return "\n\n".join(p for p in parts if p)
