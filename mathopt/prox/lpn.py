"""Learned proximal networks (LPN): a network that is exactly the proximal operator of a learned prior.

Fang, Buchanan & Sulam [1]_. A potential

.. math::

    \\psi_\\theta(y) = \\phi_\\theta(y) + \\frac{\\alpha}{2}\\|y\\|_2^2

where :math:`\\phi_\\theta` is an input-convex neural network (ICNN): layers

.. math::

    z_1 = \\sigma(W_0 y + b_0), \\qquad
    z_{k+1} = \\sigma(W_k^{+} z_k + A_k y + b_k), \\qquad
    \\phi_\\theta(y) = w^{+\\top} z_L + a^\\top y + c,

with the hidden-to-hidden weights :math:`W_k^{+}, w^{+}` nonnegative and
:math:`\\sigma(t) = \\log(1 + e^{\\beta t}) / \\beta` (softplus, convex and nondecreasing), so
:math:`\\phi_\\theta` is convex and :math:`\\psi_\\theta` is :math:`\\alpha`-strongly convex. Its
gradient :math:`f_\\theta = \\nabla\\psi_\\theta` (``jax.grad``) is then the proximal operator of a
function :math:`R_\\theta` (Gribonval & Nikolova; [1]_, Prop. 3.1):

.. math::

    f_\\theta(y) = \\operatorname{prox}_{R_\\theta}(y)
    = \\operatorname*{argmin}_x \\; R_\\theta(x) + \\tfrac12 \\|x - y\\|_2^2,
    \\qquad R_\\theta = \\psi_\\theta^{*} - \\tfrac12\\|\\cdot\\|_2^2 .

**Evaluating the prior** ([1]_, Sec. 3.2). For a point x, the convex problem

.. math::

    y^\\star = \\operatorname*{argmin}_y \\; \\psi_\\theta(y) - \\langle x, y \\rangle

(strongly convex thanks to :math:`\\alpha > 0`) has :math:`f_\\theta(y^\\star) = x`, and
:math:`\\psi_\\theta^*(x) = \\langle y^\\star, x\\rangle - \\psi_\\theta(y^\\star)`, so

.. math::

    R_\\theta(x) = \\langle y^\\star, x\\rangle - \\tfrac12 \\|x\\|_2^2 - \\psi_\\theta(y^\\star),

which is the paper's formula :math:`R(f(y)) = \\langle y, f(y)\\rangle - \\frac12\\|f(y)\\|^2 - \\psi(y)`
read at :math:`x = f(y^\\star)`. R is defined up to an additive constant (it is the prior
:math:`-\\sigma^2 \\log p` only up to one). Because :math:`\\nabla\\phi_\\theta` is bounded (softplus
has a bounded slope), :math:`f_\\theta = \\alpha\\,\\mathrm{id} + \\nabla\\phi_\\theta` is onto, so R is
finite everywhere. :meth:`LPN.regularizer` solves the inversion with ``jaxopt.LBFGS`` in float64
to ``tol`` on :math:`\\|f_\\theta(y) - x\\|_2` and returns that residual; by strong convexity
:math:`\\|y - y^\\star\\| \\le \\text{residual} / \\alpha`.

**Step.** :math:`f_\\theta` is the prox of :math:`R_\\theta` at the scale it was trained for
(the noise level of the training data is folded into :math:`R_\\theta`, which is
:math:`-\\sigma^2 \\log p` for the MAP denoiser). :math:`\\operatorname{prox}_{t R_\\theta}` for
:math:`t \\ne 1` cannot be computed from :math:`f_\\theta`; ``prox(v, step)`` therefore returns
:math:`f_\\theta(v)` for ``step == 1`` only, and raises for a concrete ``step != 1`` unless the
object was built with ``fixed_scale=True``, in which case the step is ignored: a solver that
calls :math:`\\operatorname{prox}_{t g}` with :math:`g = R_\\theta / t` then solves the problem
with the prior weight fixed at training, as plug-and-play methods do ([1]_, Sec. 4; the
penalty of PnP-ADMM is then the only weight to tune). A traced (JAX) step cannot be checked and
is ignored.

**Variants.** ``kind="dense"``: inputs of shape ``(d,)``. ``kind="conv"``: single-channel
images of shape ``(H, W)`` of any size; every layer is a ``kernel_size`` convolution with zero
padding ('SAME', stride 1) and :math:`\\phi_\\theta` sums a per-pixel readout over the image,
so :math:`f_\\theta` is fully convolutional (a deviation from the paper's strided networks with
a dense head, chosen so one network denoises patches at training and whole images in PnP).

**Learned quadratic term** (``LPNConfig(quadratic=c)``, default 0 = off; our addition, not in
the paper). :math:`\\psi_\\theta` gains :math:`\\frac12\\sum_{i=1}^c \\|q_i * y\\|^2` (conv: c filters of
size ``kernel_size``; dense: :math:`\\frac12\\|Q^\\top y\\|^2`, Q of rank c), convex, so
:math:`f_\\theta` is still exactly a prox; it gives :math:`f_\\theta` a learnable linear part
:math:`(\\alpha I + \\sum_i q_i^\\top q_i) y` (a smoothing filter) which a softplus ICNN approximates only
with many units. It starts as :math:`\\frac12 y` (a centred delta of weight :math:`1/\\sqrt2`) with the ICNN's
readout scaled by 0.01.

**Network code.** Plain JAX: parameters are a flat ``dict`` of arrays (names ending in
``weight_pos`` are the nonnegative ones), the forward pass is a few lines of ``jnp``/``lax``
and the training uses optax. No equinox/flax: the architecture is fixed and small, a flat dict
saves to ``.npz`` as it is, and the library does not gain a dependency.

**Precision.** The prox runs in the floating dtype of its input (parameters are cast to it):
float32 for a float32 array, float64 through :meth:`~mathopt.prox.base.Prox.prox_numpy` or in
a 64-bit scope. Training defaults to float32 (see :mod:`mathopt.prox.training`); the prior
evaluation always runs in float64.

References
----------
.. [1] Z. Fang, S. Buchanan, J. Sulam. What's in a Prior? Learned Proximal Networks for Inverse
   Problems. ICLR 2024.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import numbers
from typing import NamedTuple

import numpy as np

from .base import Prox, check_step

KINDS = ("dense", "conv")
_FORMAT = "mathopt-lpn-1"


@dataclasses.dataclass(frozen=True)
class LPNConfig:
    """Hyperparameters of a learned proximal network (saved beside the weights).

    Parameters
    ----------
    kind : str
        ``"dense"`` (vectors of length ``dim``) or ``"conv"`` (single-channel images).
    dim : int
        Input length for ``kind="dense"`` (ignored for ``"conv"``, stored as 0).
    hidden : int
        Width (dense) or number of channels (conv) of the hidden layers.
    layers : int
        Number of hidden-to-hidden layers :math:`L` (>= 1).
    beta : float
        Softplus sharpness :math:`\\beta` (the paper uses 10).
    alpha : float
        Strong convexity :math:`\\alpha` of :math:`\\psi_\\theta` (> 0 keeps the inversion well posed).
    kernel_size : int
        Convolution size (conv only, odd).
    quadratic : int
        Number of filters of the learned quadratic term :math:`\\frac12\\sum_c\\|q_c * y\\|^2`
        added to :math:`\\psi_\\theta` (conv: ``kernel_size`` filters; dense: the rank of
        :math:`\\frac12\\|Q^\\top y\\|^2`); 0 (default) leaves it out. Our addition, see the module docstring.
    """

    kind: str = "dense"
    dim: int = 1
    hidden: int = 50
    layers: int = 2
    beta: float = 10.0
    alpha: float = 0.01
    kernel_size: int = 3
    quadratic: int = 0

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        for name in ("hidden", "layers") + (("dim",) if self.kind == "dense" else ()):
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.kind == "conv" and (self.kernel_size < 1 or self.kernel_size % 2 == 0):
            raise ValueError(f"kernel_size must be a positive odd integer, got {self.kernel_size!r}")
        if not isinstance(self.quadratic, numbers.Integral) or isinstance(self.quadratic, bool) or self.quadratic < 0:
            raise ValueError(f"quadratic must be a nonnegative integer, got {self.quadratic!r}")
        if not self.beta > 0:
            raise ValueError(f"beta must be positive, got {self.beta!r}")
        if not self.alpha >= 0:
            raise ValueError(f"alpha must be nonnegative, got {self.alpha!r}")


def is_nonnegative(name: str) -> bool:
    """Whether the parameter ``name`` is a hidden-to-hidden weight kept >= 0 (input convexity)."""
    return name.endswith("weight_pos")


def init_params(config: LPNConfig, seed: int = 0) -> dict:
    """Random float32 parameters.

    Unconstrained weights: :math:`N(0, 1/\\text{fan-in})`. Nonnegative weights: a log-normal
    :math:`\\exp(N(\\log(1/\\text{fan-in}), 0.5^2))`, positive and of mean about ``1/fan-in`` so
    the activations keep their scale through the layers (the authors' ``init_weights`` also
    exponentiates a normal draw). Biases: zero.
    """
    rng = np.random.default_rng(seed)
    h, k = config.hidden, config.kernel_size

    def normal(shape, fan_in):
        return rng.normal(0.0, 1.0 / np.sqrt(fan_in), size=shape)

    def positive(shape, fan_in):
        return np.exp(rng.normal(np.log(1.0 / fan_in), 0.5, size=shape))

    if config.kind == "dense":
        d = config.dim
        params = {"in.weight": normal((d, h), d), "in.bias": np.zeros(h)}
        for layer in range(config.layers):
            params[f"h{layer}.weight_pos"] = positive((h, h), h)
            params[f"h{layer}.skip"] = normal((d, h), d)
            params[f"h{layer}.bias"] = np.zeros(h)
        params["out.weight_pos"] = positive((h,), h)
        params["out.skip"] = normal((d,), d)
    else:
        params = {"in.weight": normal((k, k, 1, h), k * k), "in.bias": np.zeros(h)}
        for layer in range(config.layers):
            params[f"h{layer}.weight_pos"] = positive((k, k, h, h), k * k * h)
            params[f"h{layer}.skip"] = normal((k, k, 1, h), k * k)
            params[f"h{layer}.bias"] = np.zeros(h)
        params["out.weight_pos"] = positive((h,), h)
        params["out.skip"] = np.zeros(())
    params["out.bias"] = np.zeros(())
    if config.quadratic:
        # the first filter a centred delta of weight 1/2 (so psi starts near (alpha + 1/2)/2 ||y||^2),
        # the others small, and the ICNN's readout scaled by 0.01: f starts as the linear map
        # (alpha + 1/2) y and the training shapes its linear part and the ICNN's correction
        params["out.weight_pos"] = 0.01 * params["out.weight_pos"]
        count = config.quadratic
        if config.kind == "dense":
            quad = 0.01 * normal((config.dim, count), config.dim)
            quad[:, 0] += np.sqrt(0.5 / config.dim)
        else:
            quad = 0.01 * normal((k, k, 1, count), k * k)
            quad[k // 2, k // 2, 0, 0] += np.sqrt(0.5)
        params["quad.weight"] = quad
    return {name: np.asarray(value, dtype=np.float32) for name, value in params.items()}


def _softplus(t, beta):
    import jax

    return jax.nn.softplus(beta * t) / beta


def _columns(x, k: int):
    """The k*k shifted copies of ``x`` (n, H, W, C) under 'SAME' zero padding, stacked on the
    last axis in (row offset, column offset, channel) order: shape (n, H, W, k*k*C) (im2col)."""
    import jax.numpy as jnp

    r = k // 2
    height, width = x.shape[1], x.shape[2]
    padded = jnp.pad(x, ((0, 0), (r, r), (r, r), (0, 0)))
    return jnp.concatenate([padded[:, i:i + height, j:j + width, :] for i in range(k) for j in range(k)], axis=-1)


def _conv(columns, kernel):
    """'SAME' (zero-padded, stride 1) cross-correlation with ``kernel`` (k, k, C, O), the
    operation of ``lax.conv_general_dilated``, from the :func:`_columns` of its input: one matrix
    product. Inside a ``lax.scan`` (how :func:`~mathopt.prox.training.train` runs its steps with
    ``step_mode="scan"``) this is 2-8x faster on a CPU than XLA's convolution for these few
    channels; dispatched one jitted step per call XLA's is the faster one
    (``benchmarks/bench_lpn_conv.py``); the training differentiates the network twice."""
    k, _, channels, out = kernel.shape
    return columns @ kernel.reshape(k * k * channels, out)


def _xla_conv(x, kernel):
    """The same convolution as :func:`_conv` by ``lax.conv_general_dilated`` on ``x`` (n, H, W, C)."""
    from jax import lax

    return lax.conv_general_dilated(x, kernel, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))


CONVOLUTIONS = ("im2col", "xla")


def potential(config: LPNConfig, params: dict, y, conv: str = "im2col"):
    """:math:`\\psi_\\theta(y)` for a batch: ``y`` of shape ``(n, dim)`` (dense) or ``(n, H, W)``
    (conv); returns shape ``(n,)``. JAX-traceable. ``conv`` (``kind="conv"`` only): how the
    convolutions are computed, ``"im2col"`` (:func:`_conv`) or ``"xla"``
    (``lax.conv_general_dilated``); the same function up to float rounding."""
    import jax.numpy as jnp

    if conv not in CONVOLUTIONS:
        raise ValueError(f"conv must be one of {CONVOLUTIONS}, got {conv!r}")
    beta = config.beta
    if config.kind == "dense":
        z = _softplus(y @ params["in.weight"] + params["in.bias"], beta)
        for layer in range(config.layers):
            z = _softplus(z @ params[f"h{layer}.weight_pos"] + y @ params[f"h{layer}.skip"]
                          + params[f"h{layer}.bias"], beta)
        phi = z @ params["out.weight_pos"] + y @ params["out.skip"]
        square = jnp.sum(y * y, axis=-1)
        if config.quadratic:
            phi = phi + 0.5 * jnp.sum((y @ params["quad.weight"]) ** 2, axis=-1)
    else:
        k = config.kernel_size
        # im2col: the shifted copies of each input are built once and shared by its convolutions
        prepare, apply = ((lambda x: _columns(x, k)), _conv) if conv == "im2col" else ((lambda x: x), _xla_conv)
        image = prepare(y[..., None])
        z = _softplus(apply(image, params["in.weight"]) + params["in.bias"], beta)
        for layer in range(config.layers):
            z = _softplus(apply(prepare(z), params[f"h{layer}.weight_pos"])
                          + apply(image, params[f"h{layer}.skip"]) + params[f"h{layer}.bias"], beta)
        phi = jnp.sum(z @ params["out.weight_pos"], axis=(1, 2)) + params["out.skip"] * jnp.sum(y, axis=(1, 2))
        square = jnp.sum(y * y, axis=(1, 2))
        if config.quadratic:
            phi = phi + 0.5 * jnp.sum(apply(image, params["quad.weight"]) ** 2, axis=(1, 2, 3))
    return phi + params["out.bias"] + 0.5 * config.alpha * square


def prox_map(config: LPNConfig, params: dict, y, conv: str = "im2col"):
    """:math:`f_\\theta(y) = \\nabla\\psi_\\theta(y)` for a batch (same shape as ``y``). JAX-traceable.
    ``conv``: as :func:`potential`."""
    import jax

    return jax.grad(lambda v: potential(config, params, v, conv).sum())(y)


@functools.lru_cache(maxsize=32)
def _compiled_prox(config: LPNConfig):
    """``jax.jit`` of :func:`prox_map` for one configuration (inlined when traced by a caller's jit)."""
    import jax

    return jax.jit(functools.partial(prox_map, config))


class RegularizerValue(NamedTuple):
    """Output of :meth:`LPN.regularizer` (float64 NumPy arrays, one entry per point)."""

    value: np.ndarray      # R(x), up to the network's additive constant
    inverse: np.ndarray    # y* with f(y*) = x, the shape of the input
    residual: np.ndarray   # ||f(y*) - x||_2 of the returned y*
    nit: np.ndarray        # L-BFGS iterations per point


@functools.lru_cache(maxsize=32)
def _inverter(config: LPNConfig, tol: float, max_iter: int):
    """The jitted inversion ``(params, targets) -> (R, y*, residual, nit)`` of a configuration
    (compiled once per configuration, tolerance and batch shape)."""
    import jax
    import jax.numpy as jnp
    import jaxopt

    def objective(y, params, target):
        return potential(config, params, y[None])[0] - jnp.vdot(target, y)

    # backtracking line search: compiles several times faster than the default zoom search
    solver = jaxopt.LBFGS(objective, tol=tol, maxiter=max_iter, history_size=10, linesearch="backtracking")

    @jax.jit
    def invert(params, targets):
        def one(target):
            y, state = solver.run(target, params, target)
            return y, state.iter_num
        ys, nits = jax.vmap(one)(targets)
        fy = prox_map(config, params, ys)
        axes = tuple(range(1, ys.ndim))
        residual = jnp.sqrt(jnp.sum((fy - targets) ** 2, axis=axes))
        value = (jnp.sum(ys * targets, axis=axes) - 0.5 * jnp.sum(targets ** 2, axis=axes)
                 - potential(config, params, ys))
        return value, ys, residual, nits
    return invert


class LPN(Prox):
    """A learned proximal network :math:`f_\\theta = \\nabla\\psi_\\theta = \\operatorname{prox}_{R_\\theta}`.

    Parameters
    ----------
    config : LPNConfig
        The architecture.
    params : dict
        Parameter name -> array (from :func:`init_params`, training or :meth:`load`).
    fixed_scale : bool
        When True, ``prox(v, step)`` ignores ``step`` (plug-and-play use); when False (default)
        a concrete ``step != 1`` raises ValueError. See the module docstring.
    value_by_inversion : bool
        When True (default) :meth:`value` evaluates :math:`R_\theta` by the convex inversion (an
        L-BFGS solve per call); when False it raises NotImplementedError, so that a solver that
        reports its objective every iteration (the plug-and-play solvers) does not pay for a
        solve per iteration and reports the data term alone. :meth:`regularizer` works either way.

    Examples
    --------
    >>> import numpy as np
    >>> from mathopt.prox.lpn import LPN, LPNConfig
    >>> net = LPN.create(LPNConfig(kind="dense", dim=3, hidden=8, layers=1), seed=0)
    >>> net.prox_numpy(np.zeros((2, 3))).shape
    (2, 3)
    """

    traceable = True

    def __init__(self, config: LPNConfig, params: dict, *, fixed_scale: bool = False,
                 value_by_inversion: bool = True):
        self.config = config
        expected = init_params(config, 0)
        if set(params) != set(expected):
            raise ValueError(f"params must have the keys {sorted(expected)}, got {sorted(params)}")
        for name, value in params.items():
            if np.shape(value) != expected[name].shape:
                raise ValueError(f"params[{name!r}] must have shape {expected[name].shape}, got {np.shape(value)}")
            if is_nonnegative(name) and np.any(np.asarray(value) < 0):
                raise ValueError(f"params[{name!r}] must be nonnegative (input convexity)")
        self.params = dict(params)
        self.fixed_scale = bool(fixed_scale)
        self.value_by_inversion = bool(value_by_inversion)

    @classmethod
    def create(cls, config: LPNConfig, seed: int = 0, **kwargs) -> "LPN":
        """A network with the random initial parameters of :func:`init_params`."""
        return cls(config, init_params(config, seed), **kwargs)

    def replace(self, params: dict) -> "LPN":
        """The same network with other parameters."""
        return type(self)(self.config, params, fixed_scale=self.fixed_scale,
                          value_by_inversion=self.value_by_inversion)

    # -- evaluation ----------------------------------------------------------------------------
    def _batched(self, v):
        """``v`` as a batch and whether it was a single point."""
        single_ndim = 1 if self.config.kind == "dense" else 2
        if v.ndim == single_ndim:
            return v[None], True
        if v.ndim == single_ndim + 1:
            return v, False
        raise ValueError(f"an LPN of kind {self.config.kind!r} takes arrays of {single_ndim} or "
                         f"{single_ndim + 1} dimensions, got shape {v.shape}")

    def _cast(self, dtype) -> dict:
        import jax.numpy as jnp

        return {name: jnp.asarray(value, dtype=dtype) for name, value in self.params.items()}

    def potential(self, y):
        """:math:`\\psi_\\theta(y)`: a scalar for one point, shape ``(n,)`` for a batch."""
        import jax.numpy as jnp

        y = jnp.asarray(y)
        y = y.astype(jnp.result_type(y.dtype, jnp.float32))
        batch, single = self._batched(y)
        out = potential(self.config, self._cast(batch.dtype), batch)
        return out[0] if single else out

    def __call__(self, y):
        """:math:`f_\\theta(y)`, for one point or a batch (leading axis)."""
        import jax.numpy as jnp

        y = jnp.asarray(y)
        y = y.astype(jnp.result_type(y.dtype, jnp.float32))
        batch, single = self._batched(y)
        out = _compiled_prox(self.config)(self._cast(batch.dtype), batch)
        return out[0] if single else out

    def prox(self, v, step=1.0):
        """:math:`f_\\theta(v) = \\operatorname{prox}_{R_\\theta}(v)`; ``step`` must be 1 unless
        ``fixed_scale`` (see the module docstring)."""
        check_step(step)
        if not self.fixed_scale and isinstance(step, (numbers.Number, np.ndarray)) and np.ndim(step) == 0 \
                and float(step) != 1.0:
            raise ValueError(f"step={float(step)!r}: an LPN is the prox of its prior at step 1 only; "
                             "build it with fixed_scale=True to ignore the step (plug-and-play use)")
        return self(v)

    # -- the prior -----------------------------------------------------------------------------
    def regularizer(self, x, *, tol: float = 1e-6, max_iter: int = 500) -> RegularizerValue:
        """:math:`R_\\theta(x)` by the convex inversion (module docstring), in float64.

        Solves :math:`\\min_y \\psi_\\theta(y) - \\langle x, y\\rangle` from :math:`y_0 = x` with
        ``jaxopt.LBFGS`` (one run per point, vmapped) until :math:`\\|f_\\theta(y) - x\\|_2 \\le`
        ``tol`` or ``max_iter`` iterations; the returned ``residual`` says how far each point got.
        """
        import jax.numpy as jnp

        from ..core.jax_utils import enable_x64

        if not tol > 0:
            raise ValueError(f"tol must be positive, got {tol!r}")
        x = np.asarray(x, dtype=float)
        if not np.all(np.isfinite(x)):
            raise ValueError("x must be finite")
        with enable_x64():
            batch, single = self._batched(jnp.asarray(x, dtype=jnp.float64))
            invert = _inverter(self.config, float(tol), int(max_iter))
            value, ys, residual, nits = (np.asarray(a) for a in invert(self._cast(jnp.float64), batch))
        if single:
            return RegularizerValue(value[0], ys[0], residual[0], nits[0])
        return RegularizerValue(value, ys, residual, nits)

    def value(self, x) -> float:
        """:math:`R_\\theta(x)` (up to the network's additive constant) for one point; see
        :meth:`regularizer` for the tolerance and the residual. NotImplementedError when the
        network was built with ``value_by_inversion=False``."""
        if not self.value_by_inversion:
            raise NotImplementedError("this LPN was built with value_by_inversion=False; "
                                      "use regularizer() to evaluate its prior")
        out = self.regularizer(x)
        if np.ndim(out.value) != 0:
            raise ValueError("value() takes one point; use regularizer() for a batch")
        return float(out.value)

    # -- checkpoints ---------------------------------------------------------------------------
    def save(self, path, metadata: dict | None = None) -> None:
        """Write the parameters (plain arrays) and the configuration (a JSON string) to ``path`` (.npz).

        ``metadata``: extra JSON-serialisable information (training schedule, data, seed).
        """
        header = {"format": _FORMAT, "config": dataclasses.asdict(self.config), "metadata": metadata or {}}
        arrays = {name: np.asarray(value) for name, value in self.params.items()}
        np.savez(path, __header__=np.array(json.dumps(header)), **arrays)

    @classmethod
    def load(cls, path, **kwargs) -> "LPN":
        """A network saved by :meth:`save` (no pickle is read)."""
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(str(data["__header__"]))
            if header.get("format") != _FORMAT:
                raise ValueError(f"{path} is not an LPN checkpoint (format {header.get('format')!r})")
            params = {name: data[name] for name in data.files if name != "__header__"}
        return cls(LPNConfig(**header["config"]), params, **kwargs)

    @staticmethod
    def load_metadata(path) -> dict:
        """The ``metadata`` stored by :meth:`save`."""
        with np.load(path, allow_pickle=False) as data:
            return json.loads(str(data["__header__"]))["metadata"]
