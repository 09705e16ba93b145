"""``lvhba``: LV-HBA, the proximal Lagrangian value function method of Yao et al. (ICLR 2024).

For bilevel problems whose lower level has constraints coupling x and y,

.. math::

    \\min_{x \\in X, y \\in Y} F(x, y) \\quad\\text{s.t.}\\quad
    y \\in S(x) = \\operatorname{argmin}_{\\theta \\in Y} \\{ f(x, \\theta) : g(x, \\theta) \\le 0 \\},

with f(x, .) and g(x, .) convex (g = ``lower_constraints``, m components), the paper
replaces the value function by the *proximal Lagrangian value function*

.. math::

    v_\\gamma(x, y, z) = \\min_{\\theta \\in Y} \\max_{\\lambda \\ge 0} \\Big\\{ f(x, \\theta) + \\lambda^T g(x, \\theta)
        + \\frac{1}{2\\gamma_1}\\|\\theta - y\\|^2 - \\frac{1}{2\\gamma_2}\\|\\lambda - z\\|^2 \\Big\\},

which is differentiable (its inner problem is strongly convex-concave), with
:math:`\\nabla_x v_\\gamma = \\nabla_x f(x, \\theta^*) + \\nabla_x g(x, \\theta^*)^T \\lambda^*`,
:math:`\\nabla_y v_\\gamma = (y - \\theta^*)/\\gamma_1`, :math:`\\nabla_z v_\\gamma = (\\lambda^* - z)/\\gamma_2`.
The bilevel problem is equivalent to :math:`\\min F` s.t. :math:`f(x, y) - v_\\gamma(x, y, z) \\le 0`,
:math:`g(x, y) \\le 0`, and LV-HBA (Algorithm 1) is a single-loop, Hessian-free
method on the penalized merit :math:`\\varphi_k = F/c_k + f - v_\\gamma` with growing :math:`c_k`.
Iteration k:

1. one step on the inner saddle problem of :math:`v_\\gamma`:

   .. math::

       \\theta_{k+1} &= P_Y\\big(\\theta_k - \\eta[\\nabla_y f(x_k, \\theta_k) + \\nabla_y g(x_k, \\theta_k)^T \\lambda_k
                   + (\\theta_k - y_k)/\\gamma_1]\\big), \\\\
       \\lambda_{k+1} &= P_{[0, r]}\\big(\\lambda_k + \\eta[g(x_k, \\theta_{k+1}) - (\\lambda_k - z_k)/\\gamma_2]\\big);

2. the projected (x, y) step on :math:`\\varphi_k` with :math:`\\nabla v_\\gamma` evaluated at
   :math:`(\\theta_{k+1}, \\lambda_{k+1})`:

   .. math::

       d_x &= \\nabla_x F(x_k, y_k)/c_k + \\nabla_x f(x_k, y_k) - \\nabla_x f(x_k, \\theta_{k+1})
             - \\nabla_x g(x_k, \\theta_{k+1})^T \\lambda_{k+1}, \\\\
       d_y &= \\nabla_y F(x_k, y_k)/c_k + \\nabla_y f(x_k, y_k) - (y_k - \\theta_{k+1})/\\gamma_1, \\\\
       (x_{k+1}, y_{k+1}) &= P_C\\big((x_k, y_k) - \\alpha (d_x, d_y)\\big),\\qquad
       z_{k+1} = P_{[0, r]}\\big(z_k + \\beta (\\lambda_{k+1} - z_k)/\\gamma_2\\big),

   with :math:`C = \\{(x, y) \\in X \\times Y : g(x, y) \\le 0\\}`.

Only gradients of F and f and products :math:`\\nabla g^T \\lambda` (one reverse pass each)
are used: no Hessian, no inner loop. The lower-level constraints enter through
:meth:`~mathopt.bilevel._engine.Oracles.constraints` and ``constraints_vjp``.

Stopping test (certified, not the step): at every iterate the method reports

* ``lower_kkt``: the KKT residual of the returned y with the returned multipliers
  :math:`\\lambda` (``result.multipliers``) for the lower level at x, the largest of
  :math:`\\|y - P_Y(y - \\nabla_y f - \\nabla_y g^T\\lambda)\\|_\\infty` (Lagrangian stationarity),
  :math:`\\|\\min(\\lambda, -g(x, y))\\|_\\infty` (complementarity) and the violation;
* ``constraint_violation``: :math:`\\|\\max(g(x, y), 0)\\|_\\infty`;
* ``stationarity``: :math:`c_k \\|w - P_{X\\times Y}(w - d)\\|_\\infty`, w = (x, y), the projected
  gradient of the merit (with its feasibility term below) in units of F;
* ``lower_gap``: replaces the engine's: :math:`\\|y - P_Y(y - \\nabla_y f - \\nabla_y g^T\\lambda)\\|_2`,
  the projected gradient of the lower Lagrangian (2-norm, as the engine's).

It stops CONVERGED when ``stationarity <= stationarity_tol``, ``lower_kkt <= lower_kkt_tol`` and
``constraint_violation <= constraint_violation_tol``. Without ``lower_constraints`` the method
runs with m = 0 (the proximal value function of f alone) and ``lower_kkt`` is the
projected-gradient norm of f.

Defaults and their sources. The authors' code for the coupled toy (repository
SUSTech-Optimization/LV-HBA, ``Toy-example/LLC/LV-HBA.py``) uses
:math:`\\gamma_1 = \\gamma_2 = 10` (kept: ``lower_prox``, ``multiplier_prox``), the bound
r = 1000 (kept: ``multiplier_max``, on the normalized constraints below),
:math:`\\alpha = 0.008`, :math:`\\beta = 0.02`, :math:`\\eta = 0.01` and
:math:`c_k = 0.025 (k+1)^{0.3}` (the paper: :math:`c_k = \\underline{c}(k+1)^p`, p in (0, 1/2)).
With that schedule the O(1/c_k) bias of the penalized merit is still 0.1 (relative
0.3) after 20000 iterations on that toy (our NumPy re-run of the update), so mathopt's
defaults are ours: steps relative to Lipschitz estimates at (x0, y0),
:math:`\\eta` = ``lower_step_size`` / :math:`(L_{f,y} + 1/\\gamma_1 + \\|J_y\\|)`,
:math:`\\alpha` = ``step_size`` / :math:`(L_F/c_0 + L_f + 1/\\gamma_1 + \\rho \\|J\\|^2)`,
:math:`\\beta` = ``multiplier_step_size`` :math:`\\cdot \\eta` (all three 1), with L the
largest curvature of the gradients of F, f (in (x, y)) and f (in y) from 20 power iterations
on gradient differences (no Hessian) and J the Jacobian of the normalized g; and an
adaptive schedule: :math:`c_0` = ``penalty`` = 10, doubled (``penalty_growth``) whenever
``stationarity <= stationarity_tol`` (the merit at the current c is minimized) while
``lower_kkt > lower_kkt_tol``, capped at ``penalty_max`` = 1e8; ``penalty_power`` = p > 0
multiplies c by :math:`((k+2)/(k+1))^p` per iteration, the paper's :math:`(k+1)^p` law.

Provenance: the abstract (``shared/PAPERS.md``) and the authors' code (toy ``LLC`` and the
linear-SVM scripts) were read in this session; the update rules above are the code's
(``d4_0``, ``d4_1``, ``d1``, ``d2``, ``d3`` there), our reading of the paper's Algorithm 1,
whose text (and line numbers) we did not have.

Deviations (ours):

* **Normalization**: g is divided row-wise by the norm of its Jacobian rows at
  (x0, y0) (1 where that is below 1e-8), so that the steps need not know the scale of
  the constraints; multipliers are reported for the user's g.
* **Gauss-Seidel** multiplier update: :math:`\\lambda_{k+1}` uses :math:`\\theta_{k+1}` (the
  authors' code uses :math:`\\theta_k`); in our NumPy prototype with larger steps the
  simultaneous update diverged on the coupled toy with n = 100 (unnormalized g, coupling
  of norm sqrt(2n)); the alternating one is the usual remedy for bilinear coupling.
* **Step sizes** from Lipschitz estimates at the start (above); a start where a gradient
  is much steeper than along the run makes the steps small (``step_size`` > 1 then helps).
* **No projection onto C**: mathopt cannot project onto a general coupled set C
  (the authors' code projects onto the hyperplane of its toy). The (x, y) step
  projects onto X x Y and enforces :math:`g(x, y) \\le 0` by an augmented Lagrangian
  term: :math:`d \\mathrel{+}= \\nabla g(x_k, y_k)^T \\max(0, \\mu_k + \\rho g(x_k, y_k))`,
  :math:`\\mu_{k+1} = \\max(0, \\mu_k + \\rho g(x_{k+1}, y_{k+1}))` (``feasibility_penalty`` = rho = 1).
* **Penalty schedule** adaptive as above (the paper's power law with
  ``penalty_power``).
* Full-batch oracles only (a problem with ``batch_size`` is refused).

References
----------
.. [1] W. Yao, C. Yu, S. Zeng, J. Zhang, "Constrained Bi-Level Optimization: Proximal
   Lagrangian Value Function Approach and Hessian-free Algorithm", ICLR 2024
   ; code: github.com/SUSTech-Optimization/LV-HBA.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.options import OptionError, check_positive
from ..core.problem import ProblemError
from ..core.registry import register
from .options import BilevelOptions, Method
from .problem import BilevelProblem

#: Rows of the constraint Jacobian with a smaller norm at (x0, y0) are not rescaled.
_MIN_ROW_NORM = 1e-8
#: Power iterations of the Lipschitz estimates at (x0, y0).
_POWER_ITERATIONS = 20


def _lipschitz(grad, w, key):
    """Largest curvature of ``grad`` near ``w`` by a power iteration on gradient differences
    (secants along the iterate, no Hessian): ||grad(w + t v) - grad(w)|| / t for unit v."""
    import jax
    import jax.numpy as jnp

    if w.shape[0] == 0:
        return jnp.asarray(0.0)
    g0 = grad(w)
    t = 1e-4 * (1.0 + jnp.linalg.norm(w))
    v = jax.random.normal(key, w.shape)
    v = v / jnp.linalg.norm(v)

    def body(_, carry):
        v, _ = carry
        u = (grad(w + t * v) - g0) / t
        norm = jnp.linalg.norm(u)
        return jnp.where(norm > 0, u / jnp.maximum(norm, 1e-300), v), norm

    _, norm = jax.lax.fori_loop(0, _POWER_ITERATIONS, body, (v, jnp.asarray(0.0)))
    return jnp.where(jnp.isfinite(norm), norm, 0.0)


def _operator_norm(apply, apply_t, n, key):
    """Spectral norm of a linear map A (given A v and A^T u) by a power iteration on A^T A."""
    import jax
    import jax.numpy as jnp

    v = jax.random.normal(key, (n,))
    v = v / jnp.linalg.norm(v)

    def body(_, carry):
        v, _ = carry
        u = apply_t(apply(v))
        norm = jnp.linalg.norm(u)
        return jnp.where(norm > 0, u / jnp.maximum(norm, 1e-300), v), norm

    _, norm = jax.lax.fori_loop(0, _POWER_ITERATIONS, body, (v, jnp.asarray(0.0)))
    return jnp.sqrt(norm)


@dataclass(frozen=True)
class LVHBAOptions(BilevelOptions):
    """LV-HBA (Yao et al. 2024): proximal Lagrangian value function, single loop, Hessian-free.

    Parameters
    ----------
    max_iter : int, default 100000
        Iteration budget (a penalty method whose penalty grows to about 1e4-1e5 needs
        tens of thousands of cheap iterations).
    stationarity_tol : float, default 0.0001
        Tolerance on ``stationarity`` (projected merit gradient, units of F); also the
        level at which the penalty grows.
    lower_kkt_tol : float, default 1e-05
        Tolerance on ``lower_kkt``, the lower-level KKT residual of (y, multipliers).
    constraint_violation_tol : float, default 1e-06
        Tolerance on ``constraint_violation``, the largest g(x, y).
    lower_gap_tol : float, default inf
        Tolerance on ``lower_gap`` (the Lagrangian projected-gradient 2-norm; already part of
        ``lower_kkt``, so not tested by default).
    step_size : float, default 1.0
        alpha, the (x, y) step, relative: alpha = step_size / (L_F / c_0 + L_f + 1 / gamma_1 +
        rho ||J||^2) with the Lipschitz estimates at (x0, y0) (authors' code: alpha = 0.008).
    lower_step_size : float, default 1.0
        eta, the theta and lambda step, relative: eta = lower_step_size / (L_fy + 1 / gamma_1 +
        ||J_y||) (authors' code: eta = 0.01).
    multiplier_step_size : float, default 1.0
        beta / eta, the z step relative to eta (authors' code: beta = 0.02).
    lower_prox : float, default 10.0
        gamma_1, the proximal parameter of theta (authors' code: 10).
    multiplier_prox : float, default 10.0
        gamma_2, the proximal parameter of lambda (authors' code: 10).
    multiplier_max : float, default 1000.0
        r: lambda and z stay in [0, r] (normalized constraints; authors' code: 1000).
    penalty : float, default 10.0
        c_0, the initial penalty (the merit is F / c + f - v).
    penalty_growth : float, default 2.0
        Factor applied to c whenever ``stationarity <= stationarity_tol`` while
        ``lower_kkt > lower_kkt_tol`` (ours; the paper's c_k follows a power law).
    penalty_max : float, default 100000000.0
        Cap on c (the other penalty methods' cap). The lower-level KKT residual keeps a bias of
        about ||grad_y F|| / c, so a cap of 1e5 left ``lower_kkt`` at 1.1e-5 > ``lower_kkt_tol``
        when ||grad_y F|| = 1 and the run ended MAX_ITER.
    penalty_power : float, default 0.0
        p: c_k = c (k + 1)^p between growths (the paper's schedule has p in (0, 1/2)).
    feasibility_penalty : float, default 1.0
        rho, the augmented Lagrangian parameter enforcing g(x, y) <= 0 on the (x, y) step.
    """

    max_iter: int = 100000
    stationarity_tol: float = 1e-4
    lower_kkt_tol: float = 1e-5
    constraint_violation_tol: float = 1e-6
    lower_gap_tol: float = float("inf")
    step_size: float = 1.0
    lower_step_size: float = 1.0
    multiplier_step_size: float = 1.0
    lower_prox: float = 10.0
    multiplier_prox: float = 10.0
    multiplier_max: float = 1000.0
    penalty: float = 10.0
    penalty_growth: float = 2.0
    penalty_max: float = 1e8
    penalty_power: float = 0.0
    feasibility_penalty: float = 1.0

    def __post_init__(self):
        super().__post_init__()
        for name in ("lower_kkt_tol", "constraint_violation_tol"):
            check_positive(self, name, strict=False)
        for name in ("step_size", "lower_step_size", "multiplier_step_size", "lower_prox", "multiplier_prox",
                     "multiplier_max", "penalty", "penalty_max", "feasibility_penalty"):
            check_positive(self, name, allow_inf=False)
        check_positive(self, "penalty_growth", allow_inf=False)
        check_positive(self, "penalty_power", strict=False, allow_inf=False)
        if self.penalty_growth < 1.0:
            raise OptionError(f"penalty_growth must be >= 1, got {self.penalty_growth!r}")
        if self.penalty_max < self.penalty:
            raise OptionError(f"penalty_max ({self.penalty_max!r}) must be >= penalty ({self.penalty!r})")


class _LVHBA(Method):
    name = "lvhba"
    # absolute tolerances: the penalty update compares the raw stationarity with stationarity_tol
    relative_residuals = ()

    def check(self, problem, opts):
        if problem.stochastic:
            raise ProblemError("batch_size", "lvhba uses full-batch oracles; pass batch_size=None")

    # --- the constraints, normalized row-wise (zero rows when the problem has none) ---

    @staticmethod
    def _g(oracles, state, x, y):
        import jax.numpy as jnp

        if not oracles.has_constraints:
            return jnp.zeros(0)
        return state["scale"] * oracles.constraints(x, y)

    @staticmethod
    def _gvjp(oracles, state, x, y, m):
        import jax.numpy as jnp

        if not oracles.has_constraints:
            return jnp.zeros_like(x), jnp.zeros_like(y)
        return oracles.constraints_vjp(x, y, state["scale"] * m)

    def init(self, oracles, opts, x0, y0, key):
        import jax
        import jax.numpy as jnp

        nx = x0.shape[0]
        keys = jax.random.split(jax.random.PRNGKey(0), 4)  # the estimates do not depend on the seed
        if oracles.has_constraints:
            norms = oracles.constraint_row_norms(x0, y0)
            scale = jnp.where(norms > _MIN_ROW_NORM, 1.0 / jnp.maximum(norms, _MIN_ROW_NORM), 1.0)
            g = lambda w: scale * oracles.constraints(w[:nx], w[nx:])  # noqa: E731
            w0 = jnp.concatenate([x0, y0])
            _, jvp = jax.linearize(g, w0)
            _, vjp = jax.vjp(g, w0)
            # ||J||, J the Jacobian of the normalized g in (x, y), and ||J_y||
            coupling = _operator_norm(jvp, lambda u: vjp(u)[0], w0.shape[0], keys[0])
            coupling_y = _operator_norm(lambda v: jvp(jnp.concatenate([jnp.zeros(nx), v])),
                                        lambda u: vjp(u)[0][nx:], y0.shape[0], keys[1])
        else:
            scale = jnp.zeros(0)
            coupling = coupling_y = jnp.asarray(0.0)
        # Lipschitz constants at (x0, y0) from gradient differences: the steps are relative to them
        joint = lambda fn: (lambda w: jnp.concatenate(fn(w[:nx], w[nx:])))  # noqa: E731
        w0 = jnp.concatenate([x0, y0])
        L_F = _lipschitz(joint(oracles.upper_grad), w0, keys[2])
        L_f = _lipschitz(joint(oracles.lower_grad), w0, keys[3])
        L_fy = _lipschitz(lambda y: oracles.lower_grad_y(x0, y), y0, keys[3])
        eta = opts.lower_step_size / (L_fy + 1.0 / opts.lower_prox + coupling_y)
        alpha = opts.step_size / (L_F / opts.penalty + L_f + 1.0 / opts.lower_prox
                                  + opts.feasibility_penalty * coupling ** 2)
        zeros = jnp.zeros_like(scale)
        state = {"x": x0, "y": y0, "theta": y0, "lam": zeros, "z": zeros, "mu": zeros, "scale": scale,
                 "penalty": jnp.asarray(opts.penalty, dtype=float), "alpha": alpha, "eta": eta, "key": key}
        return {**state, "residuals": self._residuals(oracles, opts, state)}

    def _merit(self, oracles, opts, s, theta=None, lam=None):
        """(d_x, d_y, stationarity) of the merit at (x, y) with (theta, lambda)."""
        import jax.numpy as jnp

        x, y, c = s["x"], s["y"], s["penalty"]
        theta = s["theta"] if theta is None else theta
        lam = s["lam"] if lam is None else lam
        Fx, Fy = oracles.upper_grad(x, y)
        fx, fy = oracles.lower_grad(x, y)
        fx_theta = oracles.lower_grad(x, theta)[0]
        gx_theta, _ = self._gvjp(oracles, s, x, theta, lam)
        # augmented Lagrangian term for g(x, y) <= 0 (replaces the projection onto C)
        m = jnp.maximum(0.0, s["mu"] + opts.feasibility_penalty * self._g(oracles, s, x, y))
        gx, gy = self._gvjp(oracles, s, x, y, m)
        dx = Fx / c + fx - fx_theta - gx_theta + gx
        dy = Fy / c + fy - (y - theta) / opts.lower_prox + gy
        stationarity = c * jnp.maximum(jnp.max(jnp.abs(x - oracles.project_x(x - dx)), initial=0.0),
                                       jnp.max(jnp.abs(y - oracles.project_y(y - dy)), initial=0.0))
        return dx, dy, stationarity

    def step(self, oracles, opts, s, k):
        import jax.numpy as jnp

        x, y, theta, lam, z = s["x"], s["y"], s["theta"], s["lam"], s["z"]
        r = opts.multiplier_max
        # 1. theta and lambda: one step on the saddle problem of v_gamma (lambda sees the new theta)
        _, gy_theta = self._gvjp(oracles, s, x, theta, lam)
        d_theta = oracles.lower_grad_y(x, theta) + gy_theta + (theta - y) / opts.lower_prox
        theta = oracles.project_y(theta - s["eta"] * d_theta)
        d_lam = self._g(oracles, s, x, theta) - (lam - z) / opts.multiplier_prox
        lam = jnp.clip(lam + s["eta"] * d_lam, 0.0, r)
        # 2. the projected (x, y) step on F / c + f - v_gamma, then z
        dx, dy, stationarity = self._merit(oracles, opts, s, theta, lam)
        x_new = oracles.project_x(x - s["alpha"] * dx)
        y_new = oracles.project_y(y - s["alpha"] * dy)
        mu = jnp.maximum(0.0, s["mu"] + opts.feasibility_penalty * self._g(oracles, s, x_new, y_new))
        z = jnp.clip(z + opts.multiplier_step_size * s["eta"] * (lam - z) / opts.multiplier_prox, 0.0, r)
        # 3. the penalty: grow when the merit at the current c is stationary but y is not yet a
        #    certified lower-level solution (ours), times ((k+2)/(k+1))^p (the paper's power law)
        c = s["penalty"]
        grow = (stationarity <= opts.stationarity_tol) & (s["residuals"]["lower_kkt"] > opts.lower_kkt_tol)
        c = jnp.where(grow, jnp.minimum(c * opts.penalty_growth, opts.penalty_max), c)
        c = jnp.minimum(c * ((k + 2.0) / (k + 1.0)) ** opts.penalty_power, opts.penalty_max)
        new = {**s, "x": x_new, "y": y_new, "theta": theta, "lam": lam, "z": z, "mu": mu, "penalty": c}
        # the certified residuals of the new iterate, computed once (the engine reads them back)
        return {**new, "residuals": self._residuals(oracles, opts, new)}

    @staticmethod
    def _kkt(oracles, s):
        """(Lagrangian projected gradient, violation, complementarity) of the lower level at (x, y, lambda)."""
        import jax.numpy as jnp

        x, y = s["x"], s["y"]
        lam = s["lam"] * s["scale"]  # the multipliers of the user's g
        if oracles.has_constraints:
            g = oracles.constraints(x, y)
            _, gy = oracles.constraints_vjp(x, y, lam)
        else:
            g, gy = jnp.zeros(0), jnp.zeros_like(y)
        lagrangian = y - oracles.project_y(y - oracles.lower_grad_y(x, y) - gy)
        violation = jnp.max(jnp.maximum(g, 0.0), initial=0.0)
        complementarity = jnp.max(jnp.abs(jnp.minimum(lam, -g)), initial=0.0)
        kkt = jnp.maximum(jnp.max(jnp.abs(lagrangian)), jnp.maximum(complementarity, violation))
        return lagrangian, violation, kkt

    def residuals(self, oracles, opts, s):
        return dict(s["residuals"])

    def _residuals(self, oracles, opts, s):
        import jax.numpy as jnp

        lagrangian, violation, kkt = self._kkt(oracles, s)
        return {"lower_kkt": kkt, "constraint_violation": violation, "stationarity": self._merit(oracles, opts, s)[2],
                "lower_gap": jnp.linalg.norm(lagrangian)}

    def converged(self, opts, residuals):
        return ((residuals["stationarity"] <= opts.stationarity_tol)
                & (residuals["lower_kkt"] <= opts.lower_kkt_tol)
                & (residuals["constraint_violation"] <= opts.constraint_violation_tol))

    def message(self, opts, status, residuals):
        if status.name != "MAX_ITER":
            return ""
        failing = [name for name in ("stationarity", "lower_kkt", "constraint_violation")
                   if not residuals[name] <= getattr(opts, name + "_tol")]
        return (f"iteration budget spent with {', '.join(failing) or 'the residuals'} above tolerance; "
                "raise max_iter, or lower step_size if the residuals oscillate")

    def result_fields(self, state):
        scale = np.asarray(state["scale"])
        return {"multipliers": np.asarray(state["lam"]) * scale,
                "extra": {"penalty": float(state["penalty"])}}

    def oracle_calls(self, opts):
        # step: 1 + 3 (merit); residuals of the new iterate: 3 (merit) + 1 (KKT)
        return {"ngev": 8}


_METHOD = _LVHBA()


@register("lvhba", problem=BilevelProblem, options=LVHBAOptions, backends=("jax",),
          constraints=("lower_constraints",), requires=("jax",), method=_METHOD)
def lvhba(problem: BilevelProblem, options: LVHBAOptions):
    """LV-HBA: proximal Lagrangian value function, single loop, Hessian-free; coupled lower constraints."""
    from ._engine import solve

    return solve(_METHOD, problem, options)
