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

mathopt's additions (issue 13; stated as ours, see docs/bilevel.md "Stop tests, step sizes
and penalty continuation"): ``step_size`` None: the adaptive x step of Malitsky & Mishchenko (2020);
``inner_step_size`` None: beta = 1 / L_f from power iteration on the lower Hessian. Stop
test: ``stationarity`` = ||x - P_X(x - h_K)|| with ``lower_gap``; once it passes, the
truncation bias is estimated as ``truncation_bias`` = ||h_2K - h_K|| (the change of the
hypergradient when K more steps are back-propagated from the same start) and a bias above
``truncation_bias_tol`` ends the run CONVERGED_INACCURATE with a message naming
``inner_steps``: ITD's fixed point is biased (e.g. x = 1 / (1 + s), s = 1 - (1 - beta)^K on the
quadratic toy) and only a longer unrolling removes it.

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
    step_size : float or None, default None
        alpha, the x step along the hypergradient; None: the adaptive step of
        Malitsky & Mishchenko (mathopt's).
    inner_steps : int, default 20
        T, the unrolled projected gradient steps per outer iteration.
    truncation : int or None, default None
        K <= T, the number of final inner steps back-propagated through; None: K = T.
    inner_step_size : float or None, default None
        beta, the inner step; None: 1 / L with L estimated by power iteration on the
        lower Hessian at the start (mathopt's).
    warm_start : bool, default True
        Start the inner steps from the previous lower iterate (else from y0).
    truncation_bias_tol : float or None, default None
        Largest accepted estimate of the truncation bias of the hypergradient
        (residual ``truncation_bias``); above it a converged run ends
        CONVERGED_INACCURATE. None: ``stationarity_tol``.
    """

    step_size: float | None = None
    inner_steps: int = 20
    truncation: int | None = None
    inner_step_size: float | None = None
    warm_start: bool = True
    truncation_bias_tol: float | None = None

    def __post_init__(self):
        super().__post_init__()
        for name in ("step_size", "inner_step_size", "truncation_bias_tol"):
            if getattr(self, name) is not None:
                check_positive(self, name, allow_inf=False, strict=name != "truncation_bias_tol")
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

    def _hypergradient(self, oracles, opts, x, start, lipschitz, keys, backprop=None):
        """(h, y_T, L): the K-RMD hypergradient from ``start``, the last inner iterate and the
        Lipschitz estimate; ``keys`` = (head, tail, upper) batch keys, or None for the full data;
        ``backprop`` overrides K (the inner steps then are T - K_default + K)."""
        import jax

        from ._steps import descend

        k_head, k_tail, k_upper = (None, None, None) if keys is None else keys
        backprop = opts.backprop_steps if backprop is None else backprop
        head = opts.inner_steps - opts.backprop_steps
        grad = lambda v, k: oracles.lower_grad_y(x, v, k)  # noqa: E731
        y_mid, lipschitz = descend(grad, oracles.project_y, start, lipschitz, head, k_head,
                                   adapt=opts.inner_step_size is None and oracles.batch_size is None)
        y_mid = jax.lax.stop_gradient(y_mid)
        tail_keys = None if k_tail is None else jax.random.split(k_tail, backprop)
        upper = oracles.upper_fn(k_upper)
        beta = jax.lax.stop_gradient(1.0 / lipschitz)

        def unrolled(a):
            def body(z, sub):
                grad = jax.grad(oracles.lower_fn(sub), argnums=1)(a, z)
                return oracles.project_y(z - beta * grad), None

            y_end, _ = jax.lax.scan(body, y_mid, tail_keys, length=backprop)
            return upper(a, y_end), y_end

        (_, y_end), h = jax.value_and_grad(unrolled, has_aux=True)(x)
        return h, y_end, lipschitz

    def _start(self, opts, state):
        return state["y"] if opts.warm_start else state["y0"]

    def init(self, oracles, opts, x0, y0, key):
        import jax.numpy as jnp

        from ._steps import lower_lipschitz, upper_init

        key, keys = split(key, 3)
        lipschitz = lower_lipschitz(oracles, opts, x0, y0)
        h, y, lipschitz = self._hypergradient(oracles, opts, x0, y0, lipschitz, tuple(keys))
        # the engine's relative stop test divides by max(1, stationarity at iterate 0): so does the bias trigger
        scale = jnp.maximum(1.0, oracles.stationarity([(x0, h, oracles.project_x)]))
        return {"x": x0, "y": y, "y0": y0, "key": key, "h": h, "lipschitz": lipschitz, "scale": scale,
                **upper_init(x0, h)}

    def step(self, oracles, opts, state, k):
        from ._steps import upper_move

        key, keys = split(state["key"], 3)
        x, moves = upper_move(state, state["h"], oracles.project_x, opts.step_size)
        h, y, lipschitz = self._hypergradient(oracles, opts, x, self._start(opts, state), state["lipschitz"],
                                              tuple(keys))
        return {"x": x, "y": y, "y0": state["y0"], "key": key, "h": h, "lipschitz": lipschitz,
                "scale": state["scale"], **moves}

    def residuals(self, oracles, opts, state):
        """``stationarity``: the projected K-RMD hypergradient at the new iterate (full data);
        ``truncation_bias``: once stationary, ||h_{2K} - h_K||, the change of the hypergradient
        when K more steps are back-propagated from the same start (an estimate of the bias of
        h_K; 0 before the stationarity test passes, to save the extra unrolling)."""
        import jax
        import jax.numpy as jnp

        x, h = state["x"], state["h"]
        if oracles.batch_size is not None:
            h = self._hypergradient(oracles, opts, x, self._start(opts, state), state["lipschitz"], None)[0]
        stationarity = oracles.stationarity([(x, h, oracles.project_x)])

        def bias(_):
            longer = self._hypergradient(oracles, opts, x, state["y"], state["lipschitz"], None,
                                         2 * opts.backprop_steps)[0]
            short = self._hypergradient(oracles, opts, x, state["y"], state["lipschitz"], None)[0]
            return jnp.linalg.norm(longer - short)

        stationary = stationarity <= opts.stationarity_tol * state["scale"]
        truncation = jax.lax.cond(stationary, bias, lambda _: jnp.zeros_like(stationarity), None)
        from ._steps import singular_lower_check

        return {"stationarity": stationarity, "truncation_bias": truncation,
                "lower_curvature": singular_lower_check(oracles, opts, state, stationarity, state["scale"])}

    def _bias_tol(self, opts):
        return opts.stationarity_tol if opts.truncation_bias_tol is None else opts.truncation_bias_tol

    def converged(self, opts, residuals):
        # the truncation bias does not block the stop: it decides CONVERGED vs CONVERGED_INACCURATE
        return ((residuals["stationarity"] <= opts.stationarity_tol)
                & (residuals["lower_gap"] <= opts.lower_gap_tol))

    def inaccurate(self, opts, residuals):
        from ._steps import SINGULAR

        return (residuals["truncation_bias"] > self._bias_tol(opts)) | (residuals["lower_curvature"] < SINGULAR)

    def message(self, opts, status, residuals):
        from ..core.status import Status
        from ._steps import SINGULAR, singular_message

        if status is not Status.CONVERGED_INACCURATE:
            return ""
        if residuals["lower_curvature"] < SINGULAR:
            return singular_message(self.name, residuals)
        return (f"itd stopped at a stationary point of its truncated hypergradient, whose bias is about "
                f"{residuals['truncation_bias']:.1e} (> {self._bias_tol(opts):.1e}): the unrolled inner "
                f"loop of inner_steps={opts.inner_steps} steps (truncation={opts.truncation}) is too short "
                f"for this lower level; raise inner_steps (and truncation) or use method='implicit'")

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
