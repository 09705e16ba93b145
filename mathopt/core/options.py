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
import numbers
from dataclasses import dataclass
from typing import Callable

import numpy as np


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
        Record per-iteration values (objective, residuals) in ``result.history``:
        one row per reported iterate, ``nit = 0, 1, ..., result.nit``.
    verbose : bool or int, default False
        Print a progress line every ``verbose`` iterations (True means 1) to
        standard error. Off by default.
    seed : int or None, default None
        Seed of randomized methods (an integer >= 0); equal seeds give equal
        results. None draws a fresh seed from the operating system's entropy,
        the same in every family; randomized methods record the seed they used
        in ``result.extra["seed"]``, so any run can be repeated.

    Numbers may be Python or NumPy scalars (``np.int64(5)``, ``np.float32(1.5)``);
    strings, complex numbers and booleans in numeric fields are rejected with an
    :class:`OptionError` naming the field.
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
        check_bool(self, "history")
        if not _is_bool(self.verbose):
            check_int(self, "verbose", minimum=0)
        else:
            _set(self, "verbose", bool(self.verbose))
        if self.seed is not None:
            check_int(self, "seed", minimum=0)
            if self.seed >= 2 ** 63:
                raise OptionError(f"seed must be below 2**63, got {self.seed!r}")

    @property
    def progress_every(self) -> int:
        """Print period of the progress display (0: off)."""
        return int(self.verbose) if self.verbose is not True else 1


def _set(options, name, value) -> None:
    object.__setattr__(options, name, value)  # options classes are frozen: normalize in place once


def _is_bool(value) -> bool:
    return isinstance(value, (bool, np.bool_))


def check_number(options, name: str) -> float:
    """Raise OptionError unless ``options.<name>`` is a real number (Python or NumPy, not bool
    or str); store it as a Python float and return it."""
    value = getattr(options, name)
    if _is_bool(value) or not isinstance(value, numbers.Real):
        raise OptionError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    number = float(value)
    _set(options, name, number)
    return number


def check_positive(options, name: str, *, strict: bool = True, allow_inf: bool = True) -> None:
    """Raise OptionError unless ``options.<name>`` is a positive (or nonnegative) number."""
    value = getattr(options, name)
    number = check_number(options, name)
    if math.isnan(number) or (number <= 0 if strict else number < 0) or (not allow_inf and math.isinf(number)):
        raise OptionError(f"{name} must be {'positive' if strict else 'nonnegative'}"
                          f"{'' if allow_inf else ' and finite'}, got {value!r}")


def check_fraction(options, name: str, *, closed: bool = False) -> float:
    """Raise OptionError unless ``options.<name>`` is a number in [0, 1) (``closed``: [0, 1]);
    store it as a Python float and return it."""
    value = check_number(options, name)
    if not (0.0 <= value <= 1.0 if closed else 0.0 <= value < 1.0):
        raise OptionError(f"{name} must be in [0, 1{']' if closed else ')'}, got {value!r}")
    return value


def check_int(options, name: str, *, minimum: int = 0) -> None:
    """Raise OptionError unless ``options.<name>`` is an integer >= minimum (Python or NumPy);
    store it as a Python int."""
    value = getattr(options, name)
    if _is_bool(value) or not isinstance(value, numbers.Integral) or value < minimum:
        raise OptionError(f"{name} must be an integer >= {minimum}, got {value!r}")
    _set(options, name, int(value))


def check_bool(options, name: str) -> None:
    """Raise OptionError unless ``options.<name>`` is True or False (NumPy booleans too)."""
    value = getattr(options, name)
    if not _is_bool(value):
        raise OptionError(f"{name} must be True or False, got {value!r}")
    _set(options, name, bool(value))


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
    family's, e.g. NLP tolerances, then the common options). The dataclass is
    the one source of truth for defaults: an option documented by a more
    derived class is not repeated by its bases, and every ``default ...`` shown
    is the field's actual default for ``options_cls``.
    """
    own = inspect.getdoc(options_cls) or ""
    parts = [own.split("Parameters\n----------\n", 1)[0].strip()]
    defaults = {f.name: f.default for f in dataclasses.fields(options_cls)
                if f.default is not dataclasses.MISSING}
    documented: set[str] = set()
    for cls in options_cls.__mro__:
        if not (isinstance(cls, type) and issubclass(cls, CommonOptions)):
            continue
        doc = inspect.getdoc(cls) or ""
        if "Parameters\n----------\n" not in doc or "__doc__" not in cls.__dict__:
            continue
        title = "Options" if cls is options_cls else (
            "Common options" if cls is CommonOptions else f"Inherited from {cls.__name__}")
        params = doc.split("Parameters\n----------\n", 1)[1].strip()
        blocks = _parameter_blocks(params)
        kept = []
        for name, block in blocks:
            if name in documented:
                continue
            documented.add(name)
            kept.append(_true_default(block, defaults.get(name, dataclasses.MISSING)))
        if kept:
            parts.append(f"{title}\n{'-' * len(title)}\n" + "\n".join(kept))
    return "\n\n".join(p for p in parts if p)


def _parameter_blocks(params: str) -> list[tuple[str, str]]:
    """Split a numpydoc Parameters section into (name, text) blocks; the trailing prose after a
    blank line that is not indented stays with the last block."""
    blocks: list[list[str]] = []
    for line in params.splitlines():
        if line and not line[0].isspace() and " : " in line:
            blocks.append([line])
        elif blocks:
            blocks[-1].append(line)
        else:
            blocks.append([line])
    return [(b[0].split(" : ", 1)[0].strip(), "\n".join(b).rstrip()) for b in blocks]


def _true_default(block: str, default) -> str:
    """Rewrite ``name : type, default X`` with the field's actual default."""
    if default is dataclasses.MISSING:
        return block
    head, _, rest = block.partition("\n")
    if ", default " in head:
        head = head.split(", default ", 1)[0] + f", default {_show(default)}"
    return head + ("\n" + rest if rest else "")


def _show(value) -> str:
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    return repr(value) if isinstance(value, str) else str(value)
