"""One LPN training step (proximal matching loss, Adam) with mathopt's im2col convolution against
XLA's convolution (``lax.conv_general_dilated``), side by side in one run on the same parameters.

The two potentials are the same function (tested in tests/prox/test_lpn.py); the step
differentiates the gradient map, so it runs the convolution and its transposes twice.

Run: ``python benchmarks/bench_lpn_conv.py [--configs 12x2 32x3] [--batch 16] [--patch 20]``
prints milliseconds per step and the ratio XLA / im2col for each configuration
(channels x hidden layers), with the steps run as the training runs them (``repeats`` steps in
one jitted ``lax.scan``) and one jitted step per call.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def xla_potential(config, params, y):
    """mathopt.prox.lpn.potential for kind='conv', with lax.conv_general_dilated convolutions."""
    import jax.numpy as jnp
    from jax import lax

    from mathopt.prox.lpn import _softplus

    def conv(x, kernel):
        return lax.conv_general_dilated(x, kernel, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))

    image = y[..., None]
    z = _softplus(conv(image, params["in.weight"]) + params["in.bias"], config.beta)
    for layer in range(config.layers):
        z = _softplus(conv(z, params[f"h{layer}.weight_pos"]) + conv(image, params[f"h{layer}.skip"])
                      + params[f"h{layer}.bias"], config.beta)
    phi = jnp.sum(z @ params["out.weight_pos"], axis=(1, 2)) + params["out.skip"] * jnp.sum(y, axis=(1, 2))
    return phi + params["out.bias"] + 0.5 * config.alpha * jnp.sum(y * y, axis=(1, 2))


def step_time(potential, config, batch, patch, repeats, scan):
    import jax
    import jax.numpy as jnp
    import optax

    from mathopt.prox.lpn import init_params
    from mathopt.prox.training import loss_value

    params = {k: jnp.asarray(v) for k, v in init_params(config, 0).items()}
    optimizer = optax.adam(1e-4)
    rng = np.random.default_rng(0)
    clean = jnp.asarray(rng.random((batch, patch, patch)), dtype=jnp.float32)
    noisy = clean + 0.05 * jnp.asarray(rng.normal(size=clean.shape), dtype=jnp.float32)

    def loss(p):
        prox = jax.grad(lambda v: potential(config, p, v).sum())(noisy)
        return loss_value("prox_matching", prox, clean, 0.1)

    def step(carry, _):
        p, state = carry
        grads = jax.grad(loss)(p)
        updates, state = optimizer.update(grads, state, p)
        return (optax.apply_updates(p, updates), state), None

    if scan:   # as mathopt.prox.training.train runs its steps: `repeats` steps in one jitted lax.scan
        run = jax.jit(lambda p, state: jax.lax.scan(step, (p, state), None, length=repeats)[0])
        calls = 1
    else:      # one jitted step per Python call
        run = jax.jit(lambda p, state: step((p, state), None)[0])
        calls = repeats
    state = optimizer.init(params)
    params, state = run(params, state)                      # compile
    jax.block_until_ready(params)
    start = time.perf_counter()
    for _ in range(calls):
        params, state = run(params, state)
    jax.block_until_ready(params)
    return (time.perf_counter() - start) / repeats


def main(argv=None):
    from mathopt.prox.lpn import LPNConfig, potential

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=["12x2", "32x3"], help="CHANNELSxLAYERS")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--patch", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    print("load:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    print("| channels x layers | steps run as | im2col (ms/step) | XLA conv (ms/step) | XLA / im2col |\n"
          "|---|---|---|---|---|")
    for item in args.configs:
        hidden, layers = (int(v) for v in item.split("x"))
        config = LPNConfig(kind="conv", hidden=hidden, layers=layers, beta=10.0, alpha=0.01, kernel_size=3)
        for scan in (True, False):
            ours = step_time(potential, config, args.batch, args.patch, args.repeats, scan)
            xla = step_time(xla_potential, config, args.batch, args.patch, args.repeats, scan)
            how = "one lax.scan (training)" if scan else "one jit call each"
            print(f"| {hidden} x {layers} | {how} | {1e3 * ours:.1f} | {1e3 * xla:.1f} | {xla / ours:.1f} |", flush=True)


if __name__ == "__main__":
    main()
