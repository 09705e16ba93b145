"""sl-BAMM: single-loop bi-level averaged method of multipliers (Liu et al., ICML 2023).

For a lower level that is convex in y (not necessarily strongly), y solves the
lower level iff :math:`\\nabla_y f(x, y) = 0`, so the bilevel problem is the
single-level problem :math:`\\min_{x \\in X, y} F(x, y)` s.t. :math:`\\nabla_y f(x, y) = 0`,
whose KKT conditions, with a multiplier :math:`v \\in \\mathbb{R}^m`, read

.. math::

    \\nabla_y f(x, y) = 0, \\qquad
    \\nabla^2_{yy} f(x, y)\\, v = \\nabla_y F(x, y), \\qquad
    0 \\in \\nabla_x F(x, y) - \\nabla^2_{xy} f(x, y)\\, v + N_X(x).

Without lower-level strong convexity :math:`\\nabla^2_{yy} f` is singular and the
solution set of the lower level is not a point; sl-BAMM *averages* the two levels,

.. math::

    \\varphi_k(x, y) = (1 - \\mu_k)\\, f(x, y) + \\mu_k\\, F(x, y), \\qquad \\mu_k \\in (0, 1),

whose minimizer in y is unique when F is strongly convex in y and tends, as
:math:`\\mu_k \\to 0`, to the optimistic lower-level solution (the one with the
smallest F). Iteration k (one step of each block, single loop):

1. **y step** on the averaged lower objective:
   :math:`y_{k+1} = y_k - t_k \\nabla_y \\varphi_k(x_k, y_k)`;
2. **multiplier step**, one gradient step on the quadratic
   :math:`\\tfrac12 v^\\top H_k v - v^\\top \\nabla_y F(x_k, y_{k+1})`,
   :math:`H_k = \\nabla^2_{yy}\\varphi_k(x_k, y_{k+1})`:
   :math:`r_k = H_k v_k - \\nabla_y F`, :math:`v_{k+1} = v_k - \\eta_k r_k`;
3. **x step** along the multiplier estimate of the hypergradient of the averaged problem,
   :math:`d_k = \\nabla_x F(x_k, y_{k+1}) - \\nabla^2_{xy}\\varphi_k(x_k, y_{k+1})\\, v_{k+1}`,
   :math:`x_{k+1} = P_X(x_k - \\beta_k d_k)`.

Every product with a Hessian is a Hessian-vector product by JAX autodiff
(``jax.linearize`` / ``jax.vjp`` of the gradient map); no Hessian is formed.

Step sizes (scale-free; the authors' code uses the first rule for v, the other two are ours):

* :math:`\\eta_k = \\|r_k\\|^2 / r_k^\\top H_k r_k`, the exact line search on the multiplier
  quadratic (the authors' ``BAMM_CG`` branch, variable ``ita``);
* :math:`t_k = \\|g_k\\|^2 / g_k^\\top \\nabla^2_{yy}\\varphi_k\\, g_k` with
  :math:`g_k = \\nabla_y\\varphi_k(x_k, y_k)`, the same exact line search on the local
  quadratic model of :math:`\\varphi_k` (``lower_step_size`` sets a constant instead,
  as the code's ``y_lr``). Where the curvature is not positive (a nonconvex or flat
  direction: no minimizer along it) or the step would exceed :math:`10^4`, the last
  line-search step is reused (the first: 1), for :math:`t_k` and :math:`\\eta_k` alike;
* :math:`\\beta_k = 1/L_k`, :math:`L_k = \\max(\\rho_L L_{k-1},\\,
  \\|d_k - d_{k-1}\\| / \\|x_k - x_{k-1}\\|)` (a secant estimate of the Lipschitz
  constant of the x-direction that forgets at rate ``lipschitz_decay`` =
  :math:`\\rho_L`), :math:`L_0 = 1/` ``step_size``.

Averaging schedule :math:`\\mu_k` (``averaging_schedule``):

* ``"power"``: :math:`\\mu_k = \\mu_0 (k+1)^{-1/p}` (``averaging`` = :math:`\\mu_0`,
  ``averaging_power`` = p), the schedule of the authors' code (``--thelr``:
  ``alpha = mu0 / (k+1)**(1/p0)``, ``mu0 = 0.9``; the README's command uses
  ``--p0 10``); that it is the paper's analysis schedule could not be checked;
* ``"adaptive"`` (default; ours): :math:`\\mu` is kept while the averaged problem is
  not yet solved and multiplied by ``averaging_decrease`` once its KKT residual
  (the largest of :math:`\\|g_k\\|_\\infty`, :math:`\\|r_k\\|_\\infty` and the projected
  :math:`\\|d_k\\|_\\infty`) falls below ``averaging_trigger`` times the KKT residual of
  the original problem (the residuals below, at :math:`(x_k, y_{k+1}, v_{k+1})`),
  i.e. once the remaining error is the averaging bias; floor ``averaging_min``.
  Why: the averaged problem's solution is :math:`O(\\mu)` from the bilevel
  solution when the lower level is strongly convex (the quadratic toy: x =
  1/(1 + (1-mu)^2) instead of 1/2), so the paper's slowly decaying power schedule
  cannot reach 1e-4 in a practical number of iterations (p = 10: x = 0.749 instead
  of 0.5 after 2000 iterations, tested), while a merely convex lower level needs
  :math:`\\mu` to stay large enough to select the optimistic solution. On the
  merely convex toy, whose averaged problems all share the solution x = 1, the
  adaptive rule never decreases :math:`\\mu`; on the strongly convex quadratics it
  decreases it geometrically as the iterates converge.

Stopping test (certified, not the step length): the KKT residuals of the
*original* problem (:math:`\\mu = 0`) at the reported iterate :math:`(x, y, v)`, on the
full data, Euclidean norms like the family's other residuals,

* ``stationarity`` :math:`= \\|x - P_X(x - [\\nabla_x F - \\nabla^2_{xy} f\\, v])\\|_2`,
* ``multiplier`` :math:`= \\|\\nabla^2_{yy} f\\, v - \\nabla_y F\\|_2`,
* ``lower_gap`` :math:`= \\|\\nabla_y f\\|_2` (the engine's),

each below its tolerance (``stationarity_tol``, ``multiplier_tol``, ``lower_gap_tol``).
Together they certify a KKT point of the value-function-free reformulation; for a
lower level convex in y and an upper level convex in (x, y) along the lower solution
set, a bilevel stationary point. The multiplier v is ``result.multipliers`` (through the
engine's ``result_fields`` hook, from the coupled-constraints branch; without that hook
the result does not carry it).

Defaults and sources: ``averaging`` :math:`\\mu_0 = 0.9` (authors' code ``mu0``);
``averaging_power`` p = 10 (README command ``--p0 10``); the line-search multiplier
step (code); ``step_size`` 0.5 (the first x step only; ours), ``lipschitz_decay``
0.9, ``averaging_decrease`` 0.5, ``averaging_trigger`` 0.3, ``averaging_min`` 1e-12
(ours).

Deviations from the authors' code (strategy3.py, ``--hg_mode BAMM_CG --BDA --thelr``)
and our reading of the paper:

1. the code's y step averages with a *constant* weight 0.1 (``train_loss_BDA``'s
   default argument is bound when the function is defined, before the schedule
   changes ``args.alpha``) with a constant step ``y_lr = 0.1``; mathopt averages with
   :math:`\\mu_k` (the paper's formulation) and uses the line search above;
2. the code's x step is :math:`(k+1)^{-3\\tau/2}\\mu_k^3\\, y_{lr}` with
   :math:`\\tau = 1/40` (the :math:`\\mu_k^3` of the analysis); mathopt's is the
   Lipschitz-estimated :math:`1/L_k`, which does not vanish with :math:`\\mu_k`;
3. the code's x-direction uses the multiplier before its update (:math:`v_k`);
   mathopt uses :math:`v_{k+1}` (ours: the freshest estimate);
4. the averaging schedule ``"adaptive"`` (default) is ours; ``"power"`` is theirs;
5. Y must be the whole space (the KKT system above has no lower-level constraint;
   the setting of the authors' toys); a ``lower_set`` is refused.

Stochastic oracles: each step draws one upper and one lower batch for all its
gradients and Hessian-vector products. The line searches and the secant estimate
are not designed for noise: on ``stochastic_quadratic()`` (batches of 8) the
defaults end 7.6e-2 from x* after 1000 iterations (MAX_ITER).

Provenance: from the authors' repository vis-opt-group/sl-BAMM, read:
``README.md`` and ``merely_convex/strategy3.py`` in full, the BAMM branches and
schedules of ``strongly_convex/strongly_convex.py``, and the parts of
``hypergrad/`` the BAMM branch calls (``GradientDescent``, the gradient helpers).
Of the paper only the abstract and the opening of the introduction
could be retrieved (the search corpora return page openings), so no algorithm or
equation number is cited and the update order above is the code's, with the
averaging of the abstract.

References
----------
.. [1] R. Liu, Y. Liu, W. Yao, S. Zeng, J. Zhang, "Averaged Method of Multipliers for
   Bi-Level Optimization without Lower-Level Strong Convexity", ICML 2023
   (arXiv:2302.03407).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..core.options import OptionError, check_choice, check_positive
from ..core.registry import register
from .options import BilevelOptions, Method, split
from .problem import BilevelProblem

#: Largest step of the line searches; beyond it (flat or concave direction) the last step is reused.
_MAX_LINE_STEP = 1e4


@dataclass(frozen=True)
class SLBAMMOptions(BilevelOptions):
    """Single-loop bi-level averaged method of multipliers (sl-BAMM).

    Parameters
    ----------
    step_size : float, default 0.5
        The first x step 1 / L_0; later x steps are 1 / L_k with L_k the secant
        estimate of the Lipschitz constant of the x-direction.
    lipschitz_decay : float, default 0.9
        rho_L in (0, 1] in L_k = max(rho_L L_{k-1}, ||d_k - d_{k-1}|| / ||x_k - x_{k-1}||);
        1 keeps the largest estimate seen.
    lower_step_size : float or None, default None
        Constant y step; None: the exact line search on the averaged objective's
        local quadratic model.
    averaging : float, default 0.9
        mu_0 in (0, 1), the initial weight of F in (1 - mu) f + mu F (authors' code).
    averaging_schedule : {"adaptive", "power"}, default "adaptive"
        "power": mu_k = mu_0 (k + 1)^(-1/p) (authors' code); "adaptive" (ours):
        mu decreases when the averaged problem is solved to within
        ``averaging_trigger`` times the original problem's KKT residual.
    averaging_power : float, default 10.0
        p of the power schedule (the README command's ``--p0 10``).
    averaging_decrease : float, default 0.5
        Factor in (0, 1) applied to mu by the adaptive schedule.
    averaging_trigger : float, default 0.3
        theta in (0, 1) of the adaptive schedule's test.
    averaging_min : float, default 1e-12
        Floor of mu (both schedules).
    multiplier_tol : float, default 1e-6
        Stop only when ``multiplier`` = ||d2_yy f v - grad_y F||_2 is at most this too
        (with ``stationarity`` <= ``stationarity_tol`` and ``lower_gap`` <= ``lower_gap_tol``).
    """

    step_size: float = 0.5
    lipschitz_decay: float = 0.9
    lower_step_size: float | None = None
    averaging: float = 0.9
    averaging_schedule: str = "adaptive"
    averaging_power: float = 10.0
    averaging_decrease: float = 0.5
    averaging_trigger: float = 0.3
    averaging_min: float = 1e-12
    multiplier_tol: float = 1e-6

    def __post_init__(self):
        super().__post_init__()
        check_choice(self, "averaging_schedule", ("adaptive", "power"))
        for name in ("step_size", "averaging_power", "averaging_min"):
            check_positive(self, name, allow_inf=False)
        check_positive(self, "multiplier_tol", strict=False, allow_inf=False)
        for name, closed in (("lipschitz_decay", True), ("averaging", False), ("averaging_decrease", False),
                             ("averaging_trigger", False)):
            check_positive(self, name, allow_inf=False)
            value = getattr(self, name)
            if value > 1 or (value == 1 and not closed):
                raise OptionError(f"{name} must be in (0, 1{']' if closed else ')'}, got {value!r}")
        if self.averaging_min > self.averaging:
            raise OptionError(f"averaging_min must be <= averaging, got {self.averaging_min!r}")
        if self.lower_step_size is not None:
            check_positive(self, "lower_step_size", allow_inf=False)


def _dot(a, b):
    import jax.numpy as jnp

    return jnp.vdot(a, b)


def _exact_step(direction, curvature, previous):
    """(step, the step to remember): ||d||^2 / d'Hd, or ``previous`` where d'Hd <= ||d||^2 / _MAX_LINE_STEP
    (no minimizer along d, or a huge step); 0 when d = 0."""
    import jax.numpy as jnp

    norm_sq = _dot(direction, direction)
    curved = curvature > norm_sq / _MAX_LINE_STEP
    step = jnp.where(curved, norm_sq / jnp.where(curved, curvature, 1.0), previous)
    return jnp.where(norm_sq > 0, step, 0.0), jnp.where(norm_sq > 0, step, previous)


def _inf_norm(a):
    import jax.numpy as jnp

    return jnp.max(jnp.abs(a))


def _second_order(level, x, y):
    """(grad_y level(x, y), u -> (d2_xy level u, d2_yy level u)) by one linearization."""
    import jax

    grad_y, vjp = jax.vjp(jax.grad(level, argnums=1), x, y)
    return grad_y, vjp


class _SLBAMM(Method):
    name = "slbamm"

    def check(self, problem, opts):
        if not problem.lower_set.is_whole_space():
            raise OptionError("slbamm needs an unconstrained lower level (lower_set=Reals): its multiplier "
                              "system grad^2_yy f v = grad_y F has no lower-level constraint; use penalty-bo "
                              "or pbgd with a lower_set")

    def init(self, oracles, opts, x0, y0, key):
        import jax.numpy as jnp

        return {"x": x0, "y": y0, "v": jnp.zeros_like(y0), "key": key,
                "averaging": jnp.asarray(opts.averaging, dtype=float),
                "lipschitz": jnp.asarray(1.0 / opts.step_size, dtype=float),
                "x_prev": x0, "direction_prev": jnp.zeros_like(x0),
                "lower_step": jnp.asarray(1.0), "multiplier_step": jnp.asarray(1.0)}

    def _averaging(self, opts, state, k):
        import jax.numpy as jnp

        if opts.averaging_schedule == "power":
            mu = opts.averaging * (k + 1.0) ** (-1.0 / opts.averaging_power)
            return jnp.maximum(mu, opts.averaging_min)
        return state["averaging"]

    def step(self, oracles, opts, state, k):
        import jax
        import jax.numpy as jnp

        x, y, v = state["x"], state["y"], state["v"]
        key, (k_upper, k_lower) = split(state["key"], 2)
        upper, lower = oracles.upper_fn(k_upper), oracles.lower_fn(k_lower)
        mu = self._averaging(opts, state, k)
        averaged = lambda a, b: (1.0 - mu) * lower(a, b) + mu * upper(a, b)  # noqa: E731

        # 1. one y step on the averaged lower objective
        grad_avg, hvp = jax.linearize(lambda b: jax.grad(averaged, argnums=1)(x, b), y)
        if opts.lower_step_size is None:
            t, lower_step = _exact_step(grad_avg, _dot(grad_avg, hvp(grad_avg)), state["lower_step"])
        else:
            t, lower_step = opts.lower_step_size, state["lower_step"]
        y_new = oracles.project_y(y - t * grad_avg)

        # 2. one multiplier step (exact line search) with Hessian-vector products at (x_k, y_{k+1})
        upper_x, upper_y = jax.grad(upper, argnums=(0, 1))(x, y_new)
        lower_y, lower_vjp = _second_order(lower, x, y_new)
        _, upper_vjp = _second_order(upper, x, y_new)

        def products(u):
            """(d2_xy f u, d2_yy f u, d2_xy phi u, d2_yy phi u)."""
            (fx, fy), (ux, uy) = lower_vjp(u), upper_vjp(u)
            return fx, fy, (1.0 - mu) * fx + mu * ux, (1.0 - mu) * fy + mu * uy

        pv = products(v)
        residual = pv[3] - upper_y
        pr = products(residual)
        eta, multiplier_step = _exact_step(residual, _dot(residual, pr[3]), state["multiplier_step"])
        v_new = v - eta * residual
        cross_f, hess_f, cross_avg, _ = (a - eta * b for a, b in zip(pv, pr))  # linear in v

        # 3. x step along the hypergradient estimate of the averaged problem, 1/L_k
        direction = upper_x - cross_avg
        dx_norm = jnp.linalg.norm(x - state["x_prev"])
        secant = jnp.linalg.norm(direction - state["direction_prev"]) / jnp.where(dx_norm > 0, dx_norm, 1.0)
        lipschitz = jnp.where(dx_norm > 0, jnp.maximum(opts.lipschitz_decay * state["lipschitz"], secant),
                              state["lipschitz"])
        lipschitz = jnp.maximum(lipschitz, 1e-12)
        x_new = oracles.project_x(x - direction / lipschitz)

        if opts.averaging_schedule == "adaptive":
            averaged_kkt = jnp.maximum(jnp.maximum(_inf_norm(grad_avg), _inf_norm(residual)),
                                       _inf_norm(x - oracles.project_x(x - direction)))
            original_kkt = jnp.maximum(jnp.maximum(_inf_norm(x - oracles.project_x(x - upper_x + cross_f)),
                                                   _inf_norm(hess_f - upper_y)), _inf_norm(lower_y))
            solved = averaged_kkt <= opts.averaging_trigger * original_kkt
            mu = jnp.where(solved, jnp.maximum(mu * opts.averaging_decrease, opts.averaging_min), mu)
        return {"x": x_new, "y": y_new, "v": v_new, "key": key, "averaging": jnp.asarray(mu, dtype=float),
                "lipschitz": lipschitz, "x_prev": x, "direction_prev": direction,
                "lower_step": lower_step, "multiplier_step": multiplier_step}

    def residuals(self, oracles, opts, state):
        """The original problem's KKT residuals (mu = 0) at (x, y, v), full data; with the engine's
        ``lower_gap`` the default ``converged`` tests all three against their ``_tol`` options."""
        import jax.numpy as jnp

        x, y, v = state["x"], state["y"], state["v"]
        upper_x, upper_y = oracles.upper_grad(x, y)
        _, vjp = _second_order(oracles.lower_fn(), x, y)
        cross, hess = vjp(v)
        return {"stationarity": oracles.stationarity([(x, upper_x - cross, oracles.project_x)]),
                "multiplier": jnp.linalg.norm(hess - upper_y)}

    def result_fields(self, state):
        """``result.multipliers``: the multiplier v of grad^2_yy f v = grad_y F (the engine's
        ``result_fields`` hook; the family's field for Lagrange multipliers)."""
        import numpy as np

        return {"multipliers": np.asarray(state["v"], dtype=float)}

    def oracle_calls(self, opts):
        # y: 1 gradient + 1 HVP; v and x: 2 gradients + 4 HVPs (two linearizations, two cotangents)
        return {"ngev": 3, "nhev": 5}


_METHOD = _SLBAMM()


@register("slbamm", problem=BilevelProblem, options=SLBAMMOptions, backends=("jax",), stochastic=True,
          requires=("jax",), method=_METHOD)
def slbamm(problem: BilevelProblem, options: SLBAMMOptions):
    """Single-loop bi-level averaged method of multipliers (Liu et al. 2023); merely convex lower levels."""
    from ._engine import solve

    return solve(_METHOD, problem, options)
