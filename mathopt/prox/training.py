"""Training learned proximal networks: losses, the staged schedule and the training loop.

A network :math:`f_\\theta` is trained on pairs (clean x, noisy :math:`y = x + \\sigma\\varepsilon`,
:math:`\\varepsilon \\sim N(0, I)`) to minimise a loss :math:`E\\,\\ell(f_\\theta(y), x)` ([1]_, Sec. 3.3):

- ``"l2"``: :math:`\\|f_\\theta(y) - x\\|_2^2 / d`; its minimiser is the MMSE denoiser :math:`E[x \\mid y]`.
- ``"l1"``: :math:`\\|f_\\theta(y) - x\\|_1 / d` (the pre-training phase; the posterior median).
- ``"prox_matching"``: :math:`1 - \\exp\\big(-\\|f_\\theta(y) - x\\|_2^2 / (d\\,\\gamma^2)\\big)`,
  the proximal matching loss; as :math:`\\gamma \\to 0` its minimiser tends to the MAP denoiser
  :math:`\\operatorname{argmax}_x p(x \\mid y)`, which is :math:`\\operatorname{prox}_{-\\sigma^2\\log p}`
  ([1]_, Thm. 3.2). **Normalisation:** the distance is divided by :math:`\\sqrt d` (d = number of
  entries of x), so :math:`\\gamma` is on the scale of one pixel: the authors' code uses the
  unnormalised distance with :math:`\\gamma_{\\min} = 0.08\\sqrt d`, which is
  ``gamma_min=0.08`` here; for d = 1 the two agree.

The schedule (:func:`proximal_matching_schedule`) is the authors': an l1 pre-training phase,
then ``num_stages`` proximal-matching stages with :math:`\\gamma = \\gamma_{\\min} 2^{S-1-s}`
(halved at each stage), each a :class:`Phase` with its own Adam learning rate (optax Adam; the
optimizer state carries over between phases). After every Adam step the hidden-to-hidden
weights are clamped at zero (``optax.projections.projection_non_negative``), as the authors'
``wclip``: a projection, not a reparametrisation, so the weights stay the plain parameters.

**Jacobian penalty** (``jacobian_penalty`` :math:`\\mu > 0`; our addition, off by default). The
Jacobian of :math:`f_\\theta = \\nabla\\psi_\\theta = \\operatorname{prox}_{R_\\theta}` is the symmetric
:math:`J_f = \\nabla^2\\psi_\\theta = (I + \\nabla^2 R_\\theta)^{-1}` (where R is twice differentiable), so
:math:`\\lambda_{\\max}(J_f) \\le 1` everywhere iff :math:`R_\\theta` is convex, and
:math:`\\lambda_{\\max}(J_f) \\le 1/(1 - r)` iff it is r-weakly convex. The training loss of the phases in
``jacobian_phases`` (default: proximal matching) gains

.. math::

    \\mu \\; \\frac1m \\sum_{i=1}^m \\max\\big(0, \\hat\\lambda(\\tilde x_i) - b\\big)^2,
    \\qquad b = 1 + \\delta \\;(\\texttt{jacobian\\_bound}),

with :math:`\\hat\\lambda(\\tilde x)` the power-iteration estimate of :math:`\\lambda_{\\max}(J_f(\\tilde x))`
(:func:`jacobian_top_eigenvalue`: ``jacobian_iters`` products :math:`J_f v` by ``jax.jvp``, i.e.
Hessian-vector products of :math:`\\psi_\\theta`, from a fresh Gaussian vector each step; the vector
is stopped from gradients and only the final Rayleigh quotient :math:`v^\\top J_f v / v^\\top v` is
differentiated) at the points :math:`\\tilde x_i` = the noisy inputs (``jacobian_points="noisy"``) or
:math:`t_i x_i + (1 - t_i) f_\\theta(y_i)`, :math:`t_i \\sim U(0, 1)` (``"interpolated"``), the first
``jacobian_samples`` of the batch. With ``jacobian_projection`` P (a symmetric linear map, e.g. the
projection on the frequencies a blur removes) the penalised quantity is :math:`\\lambda_{\\max}(P J_f P)`:
the network is kept non-expansive in those directions only. This follows the convergent
plug-and-play training of Hurault, Leclaire & Papadakis [2]_ [3]_ and Pesquet et al. [4]_, who penalise
the spectral norm of a Jacobian estimated by power iteration at such points (Hurault et al.:
:math:`\\mu \\max(\\|\\nabla^2 g_\\sigma\\|_S, 1 - \\epsilon)` on the residual
:math:`I - D_\\sigma = \\nabla g_\\sigma`;
Pesquet et al.: the norm of :math:`2 J_D - I`, for firm non-expansiveness). Ours differ: the penalty
acts on :math:`J_f` itself (symmetric PSD here, so its spectral norm is :math:`\\lambda_{\\max}`) through a
squared hinge above a bound, the power iteration is short and restarted each step, and the
projected (band-limited) variant is ours. The estimate is a lower bound of :math:`\\lambda_{\\max}`,
so the penalty does not certify the bound; measure the result (the benchmark reports
:math:`\\lambda_{\\max}` with 30 iterations in float64).

**Precision.** Training runs in float32 by default (``dtype``): the float64 rule of mathopt's
core is for the optimization solvers, where it decides convergence tests; for stochastic
training float32 is what the paper used and is 2-3x faster on a CPU. The saved checkpoint keeps
the trained dtype; the prox is then evaluated in the dtype of its input (see :mod:`.lpn`).

**Reproducibility.** Step k draws its batch and noise from ``jax.random.fold_in(key(seed), k)``:
the same seed gives the same parameters whatever ``chunk`` (steps compiled together).
**Compilation.** ``step_mode="scan"`` (default): ``chunk`` steps of one loss are one jitted
``lax.scan``, cached per (configuration, loss, chunk length, batch size, dtype, noise, sampler):
training a second network of the same configuration (the l2 baseline, another seed) reuses the
compiled code. ``step_mode="dispatch"``: one jitted step per Python call, cached the same way
(without the chunk length). The convolutions of a ``kind="conv"`` network are the im2col
products in the scan and XLA's convolution when dispatched, the faster one in each setting on a
CPU (``benchmarks/bench_lpn_conv.py``); the two modes compute the same steps up to float rounding.

References
----------
.. [1] Z. Fang, S. Buchanan, J. Sulam. What's in a Prior? Learned Proximal Networks for Inverse
   Problems. ICLR 2024.
.. [2] S. Hurault, A. Leclaire, N. Papadakis. Gradient step denoiser for convergent plug-and-play.
   ICLR 2022.
.. [3] S. Hurault, A. Leclaire, N. Papadakis. Proximal denoiser for convergent plug-and-play
   optimization with nonconvex regularization. ICML 2022.
.. [4] J.-C. Pesquet, A. Repetti, M. Terris, Y. Wiaux. Learning maximally monotone operators for
   image recovery. SIAM J. Imaging Sci. 14 (2021).
"""
from __future__ import annotations

import dataclasses
import functools
import numbers
import time
from typing import NamedTuple

import numpy as np

from .lpn import LPN, init_params, is_nonnegative, prox_map

LOSSES = ("l2", "l1", "prox_matching")


@dataclasses.dataclass(frozen=True)
class Phase:
    """A stretch of training with one loss and one learning rate.

    Parameters
    ----------
    loss : str
        ``"l2"``, ``"l1"`` or ``"prox_matching"``.
    steps : int
        Number of Adam steps.
    learning_rate : float
        Adam step size.
    gamma : float or None
        Width of the proximal matching loss (per-entry scale); required for that loss only.
    """

    loss: str
    steps: int
    learning_rate: float
    gamma: float | None = None

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        if not isinstance(self.steps, (int, np.integer)) or isinstance(self.steps, bool) or self.steps < 0:
            raise ValueError(f"steps must be a nonnegative integer, got {self.steps!r}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate!r}")
        if self.loss == "prox_matching" and not (self.gamma is not None and self.gamma > 0):
            raise ValueError(f"gamma must be positive for the proximal matching loss, got {self.gamma!r}")


def proximal_matching_schedule(steps: int, gamma_min: float, *, num_stages: int = 4, pretrain_steps: int = 0,
                               learning_rate: float = 1e-4, pretrain_learning_rate: float = 1e-3) -> list[Phase]:
    """The authors' schedule: ``pretrain_steps`` of l1, then ``steps`` of proximal matching in
    ``num_stages`` equal stages with :math:`\\gamma = \\gamma_{\\min} 2^{S-1-s}`, s = 0..S-1
    (the last stage takes the remainder)."""
    if not isinstance(num_stages, int) or num_stages < 1:
        raise ValueError(f"num_stages must be a positive integer, got {num_stages!r}")
    phases = [Phase("l1", pretrain_steps, pretrain_learning_rate)] if pretrain_steps else []
    per_stage = steps // num_stages
    for stage in range(num_stages):
        count = per_stage if stage < num_stages - 1 else steps - per_stage * (num_stages - 1)
        phases.append(Phase("prox_matching", count, learning_rate, gamma_min * 2.0 ** (num_stages - 1 - stage)))
    return phases


def loss_value(kind: str, output, target, gamma=None):
    """The mean over the batch (leading axis) of the per-sample loss ``kind`` (module docstring)."""
    import jax.numpy as jnp

    axes = tuple(range(1, output.ndim))
    dim = float(np.prod(output.shape[1:]))
    error = output - target
    if kind == "l2":
        per_sample = jnp.sum(error ** 2, axis=axes) / dim
    elif kind == "l1":
        per_sample = jnp.sum(jnp.abs(error), axis=axes) / dim
    elif kind == "prox_matching":
        per_sample = 1.0 - jnp.exp(-jnp.sum(error ** 2, axis=axes) / (dim * gamma ** 2))
    else:
        raise ValueError(f"loss must be one of {LOSSES}, got {kind!r}")
    return jnp.mean(per_sample)


class TrainLog(NamedTuple):
    """What :func:`train` returns besides the network."""

    loss: np.ndarray          # training loss of every step (float64)
    phase: np.ndarray         # index of the phase of every step
    phase_seconds: list       # wall time of each phase (compilation included)
    seconds: float            # total wall time
    eigenvalue: np.ndarray | None = None   # per step: batch mean of the penalty's lambda_max estimate
                                           # (NaN in steps without the penalty); None when it is off


def _noise_levels(noise_sigma) -> tuple[float, float]:
    """``noise_sigma`` as a validated (low, high) range (low == high for one level)."""
    if np.ndim(noise_sigma) == 0:
        low = high = float(noise_sigma)
    else:
        low, high = (float(s) for s in noise_sigma)
    if not 0 <= low <= high < np.inf:
        raise ValueError(f"noise_sigma must be a level >= 0 or a range (low, high) with 0 <= low <= high, "
                         f"got {noise_sigma!r}")
    return low, high


JACOBIAN_POINTS = ("noisy", "interpolated")


@dataclasses.dataclass(frozen=True)
class JacobianPenalty:
    """Options of the Jacobian penalty of :func:`train` (module docstring, "Jacobian penalty").

    Parameters
    ----------
    weight : float
        :math:`\\mu \\ge 0`; 0 switches the penalty off.
    bound : float
        :math:`1 + \\delta > 0`: eigenvalues of :math:`J_f` above it are penalised (1: :math:`R_\\theta`
        convex; :math:`1/(1 - r)`: :math:`r`-weakly convex).
    iters : int
        Jacobian-vector products per estimate (>= 1): ``iters - 1`` power-iteration steps without
        gradient, then the Rayleigh quotient that is differentiated.
    points : str
        Where :math:`J_f` is evaluated: ``"noisy"`` (the network's training inputs) or
        ``"interpolated"`` (:math:`t x + (1 - t) f(y)`, :math:`t \\sim U(0, 1)` per sample, as
        Hurault et al.).
    phases : tuple of str
        The losses of the phases the penalty is added to (default: proximal matching only).
    samples : int or None
        Evaluate the penalty at the first ``samples`` points of each batch only (cost: each
        estimate is ``iters`` Hessian-vector products, the last one differentiated); None: all.
    projection : callable or None
        A JAX-traceable symmetric linear map :math:`P` on a batch (e.g. a high-pass filter): the
        power iteration then estimates :math:`\\lambda_{\\max}(P J_f P)`, the top of the spectrum
        restricted to the range of P. None: the whole spectrum.
    """

    weight: float = 0.0
    bound: float = 1.0
    iters: int = 5
    points: str = "noisy"
    phases: tuple = ("prox_matching",)
    samples: int | None = None
    projection: object = None

    def __post_init__(self):
        if not (np.isfinite(self.weight) and self.weight >= 0):
            raise ValueError(f"jacobian_penalty must be a finite number >= 0, got {self.weight!r}")
        if not (np.isfinite(self.bound) and self.bound > 0):
            raise ValueError(f"jacobian_bound must be a finite positive number, got {self.bound!r}")
        if not isinstance(self.iters, (int, np.integer)) or isinstance(self.iters, bool) or self.iters < 1:
            raise ValueError(f"jacobian_iters must be an integer >= 1, got {self.iters!r}")
        if self.points not in JACOBIAN_POINTS:
            raise ValueError(f"jacobian_points must be one of {JACOBIAN_POINTS}, got {self.points!r}")
        if not set(self.phases) <= set(LOSSES):
            raise ValueError(f"jacobian_phases must be losses among {LOSSES}, got {self.phases!r}")
        if self.samples is not None and (not isinstance(self.samples, (int, np.integer))
                                         or isinstance(self.samples, bool) or self.samples < 1):
            raise ValueError(f"jacobian_samples must be a positive integer or None, got {self.samples!r}")
        if self.projection is not None and not callable(self.projection):
            raise ValueError(f"jacobian_projection must be a callable batch -> batch or None, "
                             f"got {self.projection!r}")

    def active(self, loss: str) -> bool:
        return self.weight > 0 and loss in self.phases


def jacobian_top_eigenvalue(config, params, points, key, iters: int, projection=None, conv: str = "im2col"):
    """Estimate, per sample of the batch ``points``, the largest eigenvalue of the Jacobian
    :math:`J_f = \\nabla^2\\psi_\\theta` (symmetric, :math:`\\succeq \\alpha I`) of the LPN at that point.

    Power iteration from a Gaussian vector (``key``): ``iters - 1`` steps
    :math:`v \\leftarrow P J_f P v / \\|P J_f P v\\|` through ``jax.jvp`` (a Hessian-vector product of
    :math:`\\psi_\\theta`), with the parameters and the vector stopped from gradients, then the Rayleigh
    quotient :math:`v^\\top P J_f P v / v^\\top v` at the final (stopped) v, which carries the gradient
    with respect to ``params`` (and ``points``). With ``projection`` P (a symmetric linear map on a
    batch) the estimate is :math:`\\lambda_{\\max}(P J_f P)`. Returns shape ``(n,)``; a lower bound of
    :math:`\\lambda_{\\max}` that tightens with ``iters``. ``conv``: the convolution of
    :func:`~mathopt.prox.lpn.potential`. JAX-traceable.
    """
    import jax
    import jax.numpy as jnp

    axes = tuple(range(1, points.ndim))
    project = (lambda v: v) if projection is None else projection
    frozen = jax.lax.stop_gradient(params)
    at = jax.lax.stop_gradient(points)

    def normalise(v):
        return v / jnp.sqrt(jnp.sum(v * v, axis=axes, keepdims=True) + jnp.finfo(v.dtype).tiny)

    def jvp(p, x, v):
        return jax.jvp(lambda y: prox_map(config, p, y, conv), (x,), (v,))[1]

    v = normalise(project(jax.random.normal(key, points.shape, dtype=points.dtype)))
    if iters > 1:
        v = jax.lax.fori_loop(0, iters - 1, lambda _, u: normalise(project(jvp(frozen, at, project(u)))), v)
    v = jax.lax.stop_gradient(v)
    pv = project(v)
    return jnp.sum(pv * jvp(params, points, pv), axis=axes) / jnp.sum(v * v, axis=axes)


STEP_MODES = ("scan", "dispatch")
# the convolution each step mode uses (benchmarks/bench_lpn_conv.py): im2col is the faster one
# inside a lax.scan, XLA's convolution dispatched one jitted step per call
STEP_CONVOLUTIONS = {"scan": "im2col", "dispatch": "xla"}


def _step_function(config, kind: str, batch_size: int, dtype: str, levels: tuple, sampler,
                   perturbation, jacobian: JacobianPenalty | None, conv: str):
    """One training step of one loss, ``step(carry, k) -> (carry, (loss, lambda))`` with
    ``carry = (params, opt_state, gamma, key, clean_set)`` and k the global step index (its batch
    and noise are drawn from ``fold_in(key, k)``); the clean samples are ``sampler(key, n)`` when a
    sampler is given, else rows of ``clean_set``. The body of both step modes of :func:`train`."""
    import jax
    import jax.numpy as jnp
    import optax

    mask = {name: is_nonnegative(name) for name in init_params(config, 0)}
    optimizer = _optimizer()
    low, high = levels

    def project(tree):
        positive = optax.projections.projection_non_negative({k: v for k, v in tree.items() if mask[k]})
        return {k: positive[k] if mask[k] else v for k, v in tree.items()}

    def one_step(carry, step):
        params, opt_state, gamma, key, clean_set = carry
        key_clean, key_level, key_noise = jax.random.split(jax.random.fold_in(key, step), 3)
        key_extra = jax.random.fold_in(key_noise, 1)
        if sampler is not None:
            clean = sampler(key_clean, batch_size).astype(dtype)
        else:
            clean = clean_set[jax.random.randint(key_clean, (batch_size,), 0, clean_set.shape[0])]
        sigma = jax.random.uniform(key_level, (batch_size,), dtype=dtype, minval=low, maxval=high)
        noise = jax.random.normal(key_noise, clean.shape, dtype=dtype)
        noisy = clean + sigma.reshape((-1,) + (1,) * (clean.ndim - 1)) * noise
        if perturbation is not None:
            noisy = noisy + perturbation(key_extra, clean).astype(dtype)

        def objective(p):
            output = prox_map(config, p, noisy, conv)
            loss = loss_value(kind, output, clean, gamma)
            if jacobian is None:
                return loss, (loss, jnp.asarray(jnp.nan, dtype))
            key_t, key_v = jax.random.split(jax.random.fold_in(key_noise, 2))
            if jacobian.points == "noisy":
                points = noisy
            else:
                t = jax.random.uniform(key_t, (batch_size,) + (1,) * (clean.ndim - 1), dtype=dtype)
                points = t * clean + (1 - t) * jax.lax.stop_gradient(output)
            if jacobian.samples is not None:
                points = points[:jacobian.samples]
            lam = jacobian_top_eigenvalue(config, p, points, key_v, jacobian.iters, jacobian.projection, conv)
            excess = jnp.maximum(lam - jacobian.bound, 0.0)
            return loss + jacobian.weight * jnp.mean(excess ** 2), (loss, jnp.mean(jax.lax.stop_gradient(lam)))

        (_, (loss, lam)), grads = jax.value_and_grad(objective, has_aux=True)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        params = project(optax.apply_updates(params, updates))
        return (params, opt_state, gamma, key, clean_set), (loss, lam)

    return one_step


@functools.lru_cache(maxsize=64)
def _compiled_chunk(config, kind: str, length: int, batch_size: int, dtype: str, levels: tuple, sampler,
                    perturbation=None, jacobian: JacobianPenalty | None = None):
    """``length`` training steps of one loss in one jitted ``lax.scan`` (im2col convolutions;
    ``step_mode="scan"``), cached so that training several networks of one configuration (or the
    same one twice) compiles once.

    ``run(params, opt_state, gamma, first_step, key, clean) -> (params, opt_state, losses, lambdas)``.
    """
    import jax
    import jax.numpy as jnp

    one_step = _step_function(config, kind, batch_size, dtype, levels, sampler, perturbation, jacobian,
                              STEP_CONVOLUTIONS["scan"])

    @jax.jit
    def run(params, opt_state, gamma, first_step, key, clean_set):
        steps = first_step + jnp.arange(length)
        (params, opt_state, *_), (losses, lams) = jax.lax.scan(one_step, (params, opt_state, gamma, key, clean_set),
                                                               steps)
        return params, opt_state, losses, lams
    return run


@functools.lru_cache(maxsize=64)
def _compiled_step(config, kind: str, batch_size: int, dtype: str, levels: tuple, sampler,
                   perturbation=None, jacobian: JacobianPenalty | None = None):
    """One jitted training step of one loss (XLA's convolutions; ``step_mode="dispatch"``),
    ``step(carry, k) -> (carry, (loss, lambda))`` (:func:`_step_function`), cached as
    :func:`_compiled_chunk`."""
    import jax

    return jax.jit(_step_function(config, kind, batch_size, dtype, levels, sampler, perturbation, jacobian,
                                  STEP_CONVOLUTIONS["dispatch"]))


def _dispatch_chunk(step, length: int):
    """``length`` calls of the jitted ``step``, with the signature of :func:`_compiled_chunk`'s ``run``."""
    import jax.numpy as jnp

    def run(params, opt_state, gamma, first_step, key, clean_set):
        carry, losses, lams = (params, opt_state, gamma, key, clean_set), [], []
        for k in range(first_step, first_step + length):
            carry, (loss, lam) = step(carry, jnp.asarray(k, dtype=jnp.int32))
            losses.append(loss)
            lams.append(lam)
        return carry[0], carry[1], jnp.stack(losses), jnp.stack(lams)
    return run


def _optimizer():
    """optax Adam with the learning rate in its state (set per phase)."""
    import optax

    return optax.inject_hyperparams(optax.adam)(learning_rate=1e-3)


def train(model: LPN, data, schedule: list[Phase], *, noise_sigma, batch_size: int = 64, seed: int = 0,
          dtype: str = "float32", chunk: int = 50, progress: bool = False, step_mode: str = "scan",
          perturbation=None, jacobian_penalty: float = 0.0, jacobian_bound: float = 1.0, jacobian_iters: int = 5,
          jacobian_points: str = "noisy", jacobian_phases=("prox_matching",), jacobian_samples: int | None = None,
          jacobian_projection=None) -> tuple[LPN, TrainLog]:
    """Train ``model`` on noisy copies of ``data`` through the phases of ``schedule``.

    Parameters
    ----------
    model : LPN
        The initial network (its parameters are not modified; a new LPN is returned).
    data : array or callable
        Clean samples, an array of shape ``(N, *input_shape)`` drawn with replacement, or a
        JAX-traceable ``sample(key, n) -> (n, *input_shape)`` (e.g. a distribution).
    schedule : list of Phase
        The phases, run in order (:func:`proximal_matching_schedule` builds the paper's).
    noise_sigma : float or (float, float)
        Standard deviation of the Gaussian noise, or a range drawn uniformly per sample.
    batch_size : int, default 64
    seed : int, default 0
        Seed of the batches and the noise.
    dtype : str, default "float32"
        Precision of the training ("float32" or "float64").
    chunk : int, default 50
        Steps compiled into one ``lax.scan`` (``step_mode="scan"``), or run between two updates of
        the progress bar and the log (``"dispatch"``).
    progress : bool, default False
        Show a tqdm progress bar.
    step_mode : str, default "scan"
        How the steps run: ``"scan"``, ``chunk`` steps in one jitted ``lax.scan`` with the im2col
        convolutions, or ``"dispatch"``, one jitted step per Python call with XLA's convolutions
        (``lax.conv_general_dilated``), which on a CPU is the faster of the two for convolutional
        networks (docs/prox.md, "Training speed"). Same loss, batches and noise: the same
        iterates up to float rounding (tested).
    perturbation : callable or None, default None
        A JAX-traceable ``perturbation(key, clean) -> array`` (shape of ``clean``) added to the
        noisy input on top of the Gaussian noise (the target stays ``clean``): data augmentation,
        e.g. structured patterns the denoiser should remove. Our addition; None (default) is the
        paper's training. Part of the compilation cache key: pass the same function object to reuse it.

    jacobian_penalty : float, default 0.0
        :math:`\\mu \\ge 0`, the weight of the Jacobian penalty (module docstring, "Jacobian
        penalty"); 0 (default) is the paper's training, without it. Our addition.
    jacobian_bound : float, default 1.0
        :math:`1 + \\delta`: the eigenvalue of :math:`J_f` above which the penalty acts.
    jacobian_iters : int, default 5
        Jacobian-vector products per estimate of :math:`\\lambda_{\\max}` (>= 1).
    jacobian_points : str, default "noisy"
        ``"noisy"`` (the training inputs) or ``"interpolated"`` (:math:`t x + (1-t) f(y)`).
    jacobian_phases : tuple of str, default ("prox_matching",)
        The losses of the phases that get the penalty.
    jacobian_samples : int or None, default None
        Penalise at the first ``jacobian_samples`` points of each batch only (None: all of them).
    jacobian_projection : callable or None, default None
        A symmetric linear map P on a batch: penalise :math:`\\lambda_{\\max}(P J_f P)` only (e.g. a
        high-pass filter: the directions the forward operator removes). Part of the compilation
        cache key, as ``perturbation``.

    Returns
    -------
    (LPN, TrainLog)
        ``TrainLog.eigenvalue`` holds the batch mean of the :math:`\\lambda_{\\max}` estimate of every
        step when the penalty is on (NaN in the phases without it).
    """
    import contextlib

    import jax
    import jax.numpy as jnp

    from ..core.jax_utils import enable_x64

    if dtype not in ("float32", "float64"):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if not isinstance(chunk, (int, np.integer)) or chunk < 1:
        raise ValueError(f"chunk must be a positive integer, got {chunk!r}")
    if step_mode not in STEP_MODES:
        raise ValueError(f"step_mode must be one of {STEP_MODES}, got {step_mode!r}")
    if perturbation is not None and not callable(perturbation):
        raise ValueError(f"perturbation must be a callable (key, clean) -> array or None, got {perturbation!r}")
    if not callable(data) and not np.all(np.isfinite(np.asarray(data))):
        raise ValueError("data must be finite")
    levels = _noise_levels(noise_sigma)
    for name, value in (("jacobian_penalty", jacobian_penalty), ("jacobian_bound", jacobian_bound)):
        if not isinstance(value, (numbers.Real, np.floating, np.integer)) or isinstance(value, bool):
            raise ValueError(f"{name} must be a number, got {value!r}")
    penalty = JacobianPenalty(float(jacobian_penalty), float(jacobian_bound), jacobian_iters, jacobian_points,
                              tuple(jacobian_phases), jacobian_samples, jacobian_projection)
    schedule = list(schedule)
    total = sum(phase.steps for phase in schedule)
    config = model.config
    sampler = data if callable(data) else None

    scope = enable_x64() if dtype == "float64" else contextlib.nullcontext()
    with scope:
        params = {name: jnp.asarray(value, dtype=dtype) for name, value in model.params.items()}
        clean_set = jnp.zeros((1,), dtype=dtype) if callable(data) else jnp.asarray(data, dtype=dtype)
        opt_state = _optimizer().init(params)
        key = jax.random.key(seed)

        bar = None
        if progress:
            from tqdm.auto import tqdm
            bar = tqdm(total=total, desc="LPN training", unit="step")
        losses, phases, phase_seconds, eigenvalues = [], [], [], []
        start, step = time.perf_counter(), 0
        try:
            for index, phase in enumerate(schedule):
                phase_start = time.perf_counter()
                opt_state.hyperparams["learning_rate"] = jnp.asarray(phase.learning_rate, dtype=dtype)
                gamma = jnp.asarray(phase.gamma if phase.gamma is not None else 1.0, dtype=dtype)
                done = 0
                while done < phase.steps:
                    length = min(chunk, phase.steps - done)
                    jacobian = penalty if penalty.active(phase.loss) else None
                    if step_mode == "scan":
                        run = _compiled_chunk(config, phase.loss, length, int(batch_size), dtype, levels, sampler,
                                              perturbation, jacobian)
                    else:
                        run = _dispatch_chunk(_compiled_step(config, phase.loss, int(batch_size), dtype, levels,
                                                             sampler, perturbation, jacobian), length)
                    params, opt_state, chunk_losses, chunk_eigs = run(params, opt_state, gamma, step, key, clean_set)
                    chunk_losses = np.asarray(chunk_losses, dtype=float)
                    losses.append(chunk_losses)
                    eigenvalues.append(np.asarray(chunk_eigs, dtype=float))
                    phases.append(np.full(length, index))
                    done += length
                    step += length
                    if bar is not None:
                        bar.update(length)
                        extra = {} if np.isnan(eigenvalues[-1][-1]) else {"lambda_max": f"{eigenvalues[-1][-1]:.3g}"}
                        bar.set_postfix(loss=f"{chunk_losses[-1]:.4g}", phase=f"{index}:{phase.loss}", **extra)
                phase_seconds.append(time.perf_counter() - phase_start)
        finally:
            if bar is not None:
                bar.close()
        trained = model.replace({name: np.asarray(value) for name, value in params.items()})
    log = TrainLog(np.concatenate(losses) if losses else np.zeros(0),
                   np.concatenate(phases) if phases else np.zeros(0, dtype=int),
                   phase_seconds, time.perf_counter() - start,
                   (np.concatenate(eigenvalues) if eigenvalues else np.zeros(0)) if penalty.weight > 0 else None)
    return trained, log
