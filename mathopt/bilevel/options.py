"""Options shared by the bilevel solvers and the method contract (no JAX import here)."""
from __future__ import annotations

import dataclasses

from ..core.options import CommonOptions, OptionError, check_positive


class Method:
    """A bilevel method: ``init`` and ``step`` on a dict state, and its own stopping test.

    ``init(oracles, opts, x0, y0, key)`` returns the state (a dict of JAX arrays
    with at least ``x``, ``y`` and ``key``); ``step(oracles, opts, state, k)``
    performs iteration ``k`` (0-based, a traced integer). ``oracles`` is a
    :class:`mathopt.bilevel._engine.Oracles`; ``opts`` an
    :class:`mathopt.bilevel._engine.OptionsView`, whose real-valued options are
    traced scalars (no Python ``if`` on them). The engine owns the loop.

    The stopping test (the engine hook). After ``init`` and after every step the
    engine evaluates ``residuals(oracles, opts, state)``: the method's named
    residuals (JAX scalars, infinity norms unless documented otherwise) on the
    full data (``key=None``) at the new iterate, for instance
    ``"stationarity"`` (the norm of the method's own projected merit gradient or
    hypergradient estimate) or ``"penalty_gap"``. They are merged with the
    engine's ``lower_gap`` and ``step`` (a method's key replaces the engine's),
    reported in ``result.residuals`` and recorded in the history. The run ends
    CONVERGED at the first iterate k >= 1 where ``converged(opts, residuals)``
    (traced) holds (the engine passes ``residuals["stationarity"]`` and
    ``residuals["lower_gap"]`` divided by max(1, their values at iterate 0), so that
    the test is relative on badly scaled problems), CONVERGED_INACCURATE where ``inaccurate(opts, residuals)``
    holds too; ``message(opts, status, residuals)`` (host side, plain floats)
    may then say why and which option fixes it. Tolerances are options named
    ``<residual>_tol``.
    """

    name = ""
    #: Residuals the engine's stop test takes relative to max(1, their value at iterate 0), so a
    #: problem scaled by 1e3 stops like the original; a method whose tolerances are absolute (or
    #: whose own updates compare raw residuals with them) sets ``()``.
    relative_residuals: tuple = ("stationarity", "lower_gap")

    def init(self, oracles, opts, x0, y0, key):
        raise NotImplementedError

    def step(self, oracles, opts, state, k):
        raise NotImplementedError

    def residuals(self, oracles, opts, state) -> dict:
        """The method's named residuals at ``state`` on the full data (JAX scalars)."""
        return {}

    def converged(self, opts, residuals):
        """The certified stop test (traced): every residual R that has an option ``R_tol``
        is at most that tolerance, and a ``stationarity`` residual exists (a method that
        reports none never stops on its own: the x-step alone certifies nothing)."""
        import jax.numpy as jnp

        ok = jnp.asarray("stationarity" in residuals)
        for name, value in residuals.items():
            tol = getattr(opts, name + "_tol", None)
            if tol is not None:
                ok = ok & (value <= tol)
        return ok

    def inaccurate(self, opts, residuals):
        """True (traced) when a converged run should be reported CONVERGED_INACCURATE."""
        import jax.numpy as jnp

        return jnp.asarray(False)

    def message(self, opts, status, residuals) -> str:
        """Detail for the result's message (host side; ``residuals`` are floats); "" for the default."""
        return ""

    def result_fields(self, state) -> dict:
        """Extra :class:`~mathopt.bilevel.problem.BilevelResult` fields from the final state
        (host side, e.g. ``multipliers``); ``{}`` by default."""
        return {}

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
    stationarity_tol : float, default 1e-6
        Stop (CONVERGED) when the method's ``stationarity`` residual (the norm of
        its projected merit gradient or hypergradient estimate, see each method),
        divided by max(1, its value at iterate 0), is at most this ...
    lower_gap_tol : float, default 1e-6
        ... and the lower-level projected-gradient norm ``lower_gap`` (of the
        returned y, the optimistic selection), divided by max(1, its value at
        iterate 0), is at most this.
    """

    stationarity_tol: float = 1e-6
    lower_gap_tol: float = 1e-6

    def __post_init__(self):
        super().__post_init__()
        check_positive(self, "stationarity_tol", strict=False)
        check_positive(self, "lower_gap_tol", strict=False)


@dataclasses.dataclass(frozen=True)
class PenaltyOptions(BilevelOptions):
    """Options of the penalty methods (pbgd, penalty-bo, f2sa) with continuation.

    Parameters
    ----------
    penalty : float, default 10.0
        lambda_0, the initial weight of the lower-level value gap f(x, y) - min_z f(x, z).
    penalty_growth : float, default 10.0
        Continuation (mathopt's): lambda is multiplied by this (up to ``penalty_max``)
        whenever the penalty problem of the current lambda is solved to the accuracy
        of its own O(1/lambda) bias (its ``stationarity`` at most
        max(stationarity_tol, lower_gap) while lower_gap > lower_gap_tol); 1 keeps
        lambda constant, as the papers' analyses do.
    penalty_max : float, default 1e8
        Cap of lambda. A run that solves the penalty problem at the cap without
        reaching lower_gap_tol ends CONVERGED_INACCURATE.
    """

    penalty: float = 10.0
    penalty_growth: float = 10.0
    penalty_max: float = 1e8

    def __post_init__(self):
        super().__post_init__()
        check_positive(self, "penalty", allow_inf=False)
        check_positive(self, "penalty_max", allow_inf=True)
        check_positive(self, "penalty_growth", allow_inf=False)
        if self.penalty_growth < 1:
            raise OptionError(f"penalty_growth must be >= 1, got {self.penalty_growth!r}")
        if self.penalty_max < self.penalty:
            raise OptionError(f"penalty_max ({self.penalty_max!r}) must be >= penalty ({self.penalty!r})")


class PenaltyMethod(Method):
    """A penalty method run by :class:`mathopt.bilevel._first_order.PenaltyLoop` (adaptive steps,
    continuation); subclasses give ``settings(opts) -> dict`` (see PenaltyLoop)."""

    def settings(self, opts) -> dict:
        raise NotImplementedError

    def _loop(self):
        from ._first_order import PenaltyLoop

        return PenaltyLoop(self.settings)

    def init(self, oracles, opts, x0, y0, key):
        return self._loop().init(oracles, opts, x0, y0, key)

    def step(self, oracles, opts, state, k):
        return self._loop().step(oracles, opts, state)

    def residuals(self, oracles, opts, state):
        return self._loop().residuals(state)

    def converged(self, opts, residuals):
        return self._loop().converged(opts, residuals, opts.penalty_max)

    def inaccurate(self, opts, residuals):
        return self._loop().inaccurate(opts, residuals)

    def message(self, opts, status, residuals):
        return self._loop().message(self.name, opts, status, residuals)
