"""One LPN training step (the step of :func:`mathopt.prox.training.train`: proximal matching loss,
Adam, optionally the Jacobian penalty) with mathopt's im2col convolution against XLA's
convolution (``lax.conv_general_dilated``), run inside one jitted ``lax.scan`` and dispatched one
jitted step per call, side by side in one run from the same parameters and batches.

The two convolutions are the same function (tested in tests/prox/test_lpn.py); the step
differentiates the gradient map, so it runs the convolution and its transposes twice (three times
with the Jacobian penalty). ``train(step_mode="scan")`` is the im2col / scan cell,
``train(step_mode="dispatch")`` the XLA / dispatch cell.

Run: ``python benchmarks/bench_lpn_conv.py [--configs 12x2 32x3 16x2q4] [--batch 16] [--patch 20]
[--repeats 20] [--jacobian]`` prints milliseconds per step and the ratio XLA / im2col for each
configuration (channels x hidden layers, ``qC``: the quadratic term with C filters) and step
mode; ``--jacobian`` adds rows with the Jacobian penalty (K = 10 products on 4 interpolated
points, as the deblurring benchmark's recommended training).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def step_time(config, conv, batch, patch, repeats, scan, jacobian=None):
    """Seconds per training step of :func:`mathopt.prox.training._step_function` with ``conv``."""
    import jax
    import jax.numpy as jnp

    from mathopt.prox.lpn import init_params
    from mathopt.prox.training import _optimizer, _step_function

    params = {k: jnp.asarray(v) for k, v in init_params(config, 0).items()}
    clean = jnp.asarray(np.random.default_rng(0).random((256, patch, patch)), dtype=jnp.float32)
    kind = "prox_matching"
    one_step = _step_function(config, kind, batch, "float32", (0.05, 0.05), None, None, jacobian, conv)
    state = _optimizer().init(params)
    carry = (params, state, jnp.asarray(0.1, jnp.float32), jax.random.key(0), clean)
    if scan:   # as train(step_mode="scan"): `repeats` steps in one jitted lax.scan
        scanned = jax.jit(lambda c, first: jax.lax.scan(one_step, c, first + jnp.arange(repeats))[0])
        run = lambda c, first: scanned(c, first)  # noqa: E731
    else:      # as train(step_mode="dispatch"): one jitted step per Python call
        step = jax.jit(one_step)

        def run(c, first):
            for k in range(first, first + repeats):
                c = step(c, jnp.asarray(k, dtype=jnp.int32))[0]
            return c
    carry = run(carry, 0)                                   # compile (and warm up)
    jax.block_until_ready(carry[0])
    start = time.perf_counter()
    carry = run(carry, repeats)
    jax.block_until_ready(carry[0])
    return (time.perf_counter() - start) / repeats


def main(argv=None):
    from mathopt.prox.lpn import LPNConfig
    from mathopt.prox.training import JacobianPenalty

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=["12x2", "32x3"], help="CHANNELSxLAYERS[qFILTERS]")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--patch", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--jacobian", action="store_true", help="also time the Jacobian-penalised step")
    args = parser.parse_args(argv)
    print("load:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    print(f"batch {args.batch} of {args.patch}x{args.patch} patches, {args.repeats} timed steps per cell")
    print("| channels x layers | Jacobian penalty | steps run as | im2col (ms/step) | XLA conv (ms/step) "
          "| XLA / im2col |\n|---|---|---|---|---|---|")
    penalties = [None] + ([JacobianPenalty(10.0, 0.7, 10, "interpolated", samples=4)] if args.jacobian else [])
    for item in args.configs:
        size, _, quadratic = item.partition("q")
        hidden, layers = (int(v) for v in size.split("x"))
        config = LPNConfig(kind="conv", hidden=hidden, layers=layers, beta=10.0, alpha=0.01, kernel_size=3,
                           quadratic=int(quadratic or 0))
        for jacobian in penalties:
            for scan in (True, False):
                ours = step_time(config, "im2col", args.batch, args.patch, args.repeats, scan, jacobian)
                xla = step_time(config, "xla", args.batch, args.patch, args.repeats, scan, jacobian)
                how = "one lax.scan (`scan`)" if scan else "one jit call each (`dispatch`)"
                penalty = "K = 10, 4 points" if jacobian else "off"
                print(f"| {item} | {penalty} | {how} | {1e3 * ours:.1f} | {1e3 * xla:.1f} | {xla / ours:.2f} |",
                      flush=True)


if __name__ == "__main__":
    main()
