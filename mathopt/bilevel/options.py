"""Options shared by the bilevel solvers and the method contract (no JAX import here)."""
from __future__ import annotations

import dataclasses

from ..core.options import CommonOptions, check_positive


class Method:
    """A bilevel method: ``init`` and ``step`` on a dict state.

    ``init(oracles, opts, x0, y0, key)`` returns the state (a dict of JAX arrays
    with at least ``x``, ``y`` and ``key``); ``step(oracles, opts, state, k)``
    performs iteration ``k`` (0-based, a traced integer). ``oracles`` is a
    :class:`mathopt.bilevel._engine.Oracles`; ``opts`` an
    :class:`mathopt.bilevel._engine.OptionsView`, whose real-valued options are
    traced scalars (no Python ``if`` on them). The engine owns the loop.
    """

    name = ""

    def init(self, oracles, opts, x0, y0, key):
        raise NotImplementedError

    def step(self, oracles, opts, state, k):
        raise NotImplementedError

    def derived(self, opts) -> dict:
        """Static values computed from the options (loop lengths, branches) that ``step``
        reads as attributes of its options; real-valued options are traced inside the
        compiled loop, so a branch on one of them must be derived here."""
        return {}

    def oracle_calls(self, opts) -> dict:
        """Gradient / Hessian-vector evaluations per iteration (for the result counters)."""
        return {}

    def check(self, problem, opts) -> None:
        """Raise OptionError when the method cannot take ``problem`` with ``opts``."""


def split(key, n):
    """``n`` fresh subkeys and the next key (JAX imported lazily)."""
    import jax

    keys = jax.random.split(key, n + 1)
    return keys[0], keys[1:]


@dataclasses.dataclass(frozen=True)
class BilevelOptions(CommonOptions):
    """Options shared by the bilevel solvers.

    Parameters
    ----------
    lower_gap_tol : float, default 1e-6
        Stop (CONVERGED) when the lower-level projected-gradient norm
        ``lower_gap`` is below this ...
    step_tol : float, default 1e-9
        ... and the last upper-level move ``||x_{k+1} - x_k||`` is below this.
    """

    lower_gap_tol: float = 1e-6
    step_tol: float = 1e-9

    def __post_init__(self):
        super().__post_init__()
        check_positive(self, "lower_gap_tol", strict=False)
        check_positive(self, "step_tol", strict=False)
