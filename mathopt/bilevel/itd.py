"""``itd``: iterative differentiation by truncated back-propagation (Shaban et al. 2019).

Iteration k: starting from the previous lower iterate (warm start), run
``inner_steps`` = T projected gradient steps
:math:`y_{t+1} = \\Phi(x, y_t) = P_Y(y_t - \\beta \\nabla_y f(x, y_t))`, and
differentiate :math:`x \\mapsto F(x, y_T(x))` by reverse mode through the last
K = ``truncation`` steps only (the first T-K are treated as constants; the paper's K-step
truncated reverse mode, K-RMD):

.. math::

    h_k = \\nabla_x F(x, y_T) + \\sum_{t=T-K}^{T-1} B_{t}\\, A_{t+1} \\cdots A_{T-1}\\, \\nabla_y F(x, y_T),
    \\quad A_t = \\partial_y \\Phi(x, y_t)^\\top,\\; B_t = \\partial_x \\Phi(x, y_t)^\\top,

then :math:`x_{k+1} = P_X(x_k - \\alpha h_k)`. K = T is full back-propagation
(ITD); small K trades bias (bounded in the paper for strongly convex f) for memory and time. Stochastic problems use a fresh batch per inner step.

Defaults: T = 20 unrolled steps with K = T (full reverse mode; the paper studies
K < T as the memory-saving variant and bounds its bias for strongly convex f,
decaying geometrically in K), :math:`\\beta = 0.1` (must be below :math:`2/L_f`),
:math:`\\alpha = 0.1`.

Deviations: the paper restarts the inner problem from a fixed y0 at every outer
step; mathopt warm-starts by default (``warm_start=False`` restores the paper's
scheme; cold starts need a T long enough for the inner solve, or the
hypergradient is biased by the unconverged y_T).

References
----------
.. [1] A. Shaban, C.-A. Cheng, N. Hatch, B. Boots, "Truncated Back-propagation
   for Bilevel Optimization", AISTATS 2019.
.. [2] L. Franceschi, M. Donini, P. Frasconi, M. Pontil, "Forward and Reverse
   Gradient-Based Hyperparameter Optimization", ICML 2017.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..core.options import OptionError, check_int, check_positive
from ..core.registry import register
from .options import BilevelOptions, Method, split
from .problem import BilevelProblem


@dataclass(frozen=True)
class ITDOptions(BilevelOptions):
    """Truncated back-propagation through unrolled inner gradient steps.

    Parameters
    ----------
    step_size : float, default 0.1
        alpha, the x step along the hypergradient.
    inner_steps : int, default 20
        T, the unrolled projected gradient steps per outer iteration.
    truncation : int or None, default None
        K <= T, the number of final inner steps back-propagated through; None: K = T.
    inner_step_size : float, default 0.1
        beta, the inner step.
    warm_start : bool, default True
        Start the inner steps from the previous lower iterate (else from y0).
    """

    step_size: float = 0.1
    inner_steps: int = 20
    truncation: int | None = None
    inner_step_size: float = 0.1
    warm_start: bool = True

    def __post_init__(self):
        super().__post_init__()
        check_positive(self, "step_size", allow_inf=False)
        check_positive(self, "inner_step_size", allow_inf=False)
        check_int(self, "inner_steps", minimum=1)
        if self.truncation is not None:
            check_int(self, "truncation", minimum=1)
            if self.truncation > self.inner_steps:
                raise OptionError(f"truncation ({self.truncation}) must be <= inner_steps ({self.inner_steps})")

    @property
    def backprop_steps(self) -> int:
        return self.inner_steps if self.truncation is None else self.truncation


class _ITD(Method):
    name = "itd"

    def init(self, oracles, opts, x0, y0, key):
        return {"x": x0, "y": y0, "y0": y0, "key": key}

    def _hypergradient(self, oracles, opts, x, start, keys):
        """(h, y_T): the K-RMD hypergradient from ``start`` and the last inner iterate;
        ``keys`` = (head, tail, upper) batch keys, or None for the full data."""
        import jax

        k_head, k_tail, k_upper = (None, None, None) if keys is None else keys
        head = opts.inner_steps - opts.backprop_steps
        y_mid, _ = oracles.lower_descent(x, start, opts.inner_step_size, head, k_head)
        y_mid = jax.lax.stop_gradient(y_mid)
        tail_keys = None if k_tail is None else jax.random.split(k_tail, opts.backprop_steps)
        upper = oracles.upper_fn(k_upper)

        def unrolled(a):
            def body(z, sub):
                grad = jax.grad(oracles.lower_fn(sub), argnums=1)(a, z)
                return oracles.project_y(z - opts.inner_step_size * grad), None

            y_end, _ = jax.lax.scan(body, y_mid, tail_keys, length=opts.backprop_steps)
            return upper(a, y_end), y_end

        (_, y_end), h = jax.value_and_grad(unrolled, has_aux=True)(x)
        return h, y_end

    def step(self, oracles, opts, state, k):
        key, keys = split(state["key"], 3)
        x = state["x"]
        start = state["y"] if opts.warm_start else state["y0"]
        h, y_end = self._hypergradient(oracles, opts, x, start, tuple(keys))
        return {"x": oracles.project_x(x - opts.step_size * h), "y": y_end, "y0": state["y0"], "key": key}

    def residuals(self, oracles, opts, state):
        x = state["x"]
        start = state["y"] if opts.warm_start else state["y0"]
        h, _ = self._hypergradient(oracles, opts, x, start, None)
        return {"stationarity": oracles.stationarity([(x, h, oracles.project_x)])}

    def derived(self, opts):
        return {"backprop_steps": opts.backprop_steps}

    def oracle_calls(self, opts):
        return {"ngev": opts.inner_steps + 1, "nhev": opts.backprop_steps}


_METHOD = _ITD()


@register("itd", problem=BilevelProblem, options=ITDOptions, backends=("jax",), stochastic=True,
          requires=("jax",), method=_METHOD)
def itd(problem: BilevelProblem, options: ITDOptions):
    """Truncated back-propagation through K of T unrolled inner steps (Shaban et al. 2019)."""
    from ._engine import solve

    return solve(_METHOD, problem, options)
