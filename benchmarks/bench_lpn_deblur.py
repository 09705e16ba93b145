"""Deblurring scikit-image's bundled images with PnP-ADMM and a learned proximal network
(Fang, Buchanan & Sulam 2024, Sec. 5.3, on small gray images and a CPU-sized network).

Forward model: b = k * x + N(0, 0.02^2), k a 9x9 Gaussian blur of width 1 px applied circularly
(:class:`mathopt.prox.Convolution`), x a 128x128 gray image in [0, 1] (a 256x256 center crop,
downscaled twice). Methods, all through ``mathopt.solve(InverseProblem, method="pnp-admm")``
but Tikhonov:

- **PnP-ADMM + LPN**: the z-step is the LPN (a convolutional LPN, 12 channels x 2 layers,
  trained on 20x20 patches of the training images at noise 0.05 with l1 pre-training and
  proximal matching), built with ``fixed_scale=True`` so the step reg / penalty is ignored: ADMM
  on  min_x 1/2 ||k * x - b||^2 + penalty * R(x)  (the penalty is the prior's weight, tuned);
- **PnP-ADMM + TV**: ``prox=TotalVariation()`` (scikit-image's Chambolle), reg and penalty tuned;
- **Tikhonov**: x = argmin ||k * x - b||^2 + mu ||grad x||^2 in closed form (FFT), mu tuned.

60 ADMM iterations from the solver's default start (x0 = A^T b). Parameters are tuned by PSNR
on a validation image (``clock``); the test images (``camera``, ``coins``, ``moon``, ``grass``)
are held out from training and tuning. Training images: ``astronaut``, ``chelsea``, ``coffee``,
``rocket`` (gray), ``brick``, ``gravel``.
Goal (issue 15): the LPN beats TV by >= 1 dB PSNR on the held-out images.

Training options beyond the network's size and schedule: ``--jacobian-penalty MU`` (with
``--jacobian-bound``, ``--jacobian-iters``, ``--jacobian-samples``, ``--jacobian-points``,
``--jacobian-highpass``) adds the Jacobian penalty of :func:`mathopt.prox.training.train` to the
proximal-matching phases; ``--init-checkpoint FILE`` fine-tunes a saved network (docs/prox.md,
"Constraining the Jacobian during training", for the measured settings); ``--step-mode dispatch``
runs ``train(step_mode="dispatch")`` (faster without the penalty, slower with it; docs/prox.md,
"Training speed").

Run: ``python benchmarks/bench_lpn_deblur.py [--steps-scale 1.0] [--out DIR]``; writes
``DIR/figures/prox_lpn_deblur.png``, ``DIR/figures/prox_lpn_deblur_convergence.png``,
``DIR/figures/prox_lpn_deblur.md`` and ``CHECKPOINTS/lpn_deblur.npz`` (DIR: ``./bench-out``).
"""
from __future__ import annotations

import dataclasses
import json
import pathlib
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _lpn_bench import parse  # noqa: E402
from mathopt.prox.lpn import LPN, LPNConfig  # noqa: E402
from mathopt.prox.training import proximal_matching_schedule, train  # noqa: E402

TRAIN = ("astronaut", "chelsea", "coffee", "rocket", "brick", "gravel")
VALIDATION = "clock"
TEST = ("camera", "coins", "moon", "grass")
NOISE, BLUR, TRAIN_SIGMA, SIZE = 0.02, 1.0, 0.05, 128
CONFIG = LPNConfig(kind="conv", hidden=12, layers=2, beta=10.0, alpha=0.01, kernel_size=3)
PRETRAIN, MATCHING = (800, 1e-3), (1600, 1e-4)   # (steps, learning rate) of the l1 and proximal matching phases


def image(name: str, size: int = SIZE) -> np.ndarray:
    """A bundled scikit-image image, gray in [0, 1]: center crop of 2 * size, downscaled by 2."""
    import skimage.data
    from skimage.color import rgb2gray
    from skimage.transform import rescale

    raw = getattr(skimage.data, name)()
    gray = rgb2gray(raw[..., :3]) if raw.ndim == 3 else raw / 255.0
    gray = np.asarray(gray, dtype=float)
    if min(gray.shape) < 2 * size:
        gray = rescale(gray, 2 * size / min(gray.shape), anti_aliasing=True)
    top, left = (gray.shape[0] - 2 * size) // 2, (gray.shape[1] - 2 * size) // 2
    return rescale(gray[top:top + 2 * size, left:left + 2 * size], 0.5, anti_aliasing=True)


def patches(names, count: int, size: int, seed: int) -> np.ndarray:
    """``count`` random size x size patches of the (downscaled) full training images."""
    import skimage.data
    from skimage.color import rgb2gray
    from skimage.transform import rescale

    rng = np.random.default_rng(seed)
    sources = []
    for name in names:
        raw = getattr(skimage.data, name)()
        gray = rgb2gray(raw[..., :3]) if raw.ndim == 3 else raw / 255.0
        sources.append(rescale(np.asarray(gray, dtype=float), 0.5, anti_aliasing=True))
    out = np.empty((count, size, size))
    for i in range(count):
        src = sources[rng.integers(len(sources))]
        r, c = rng.integers(src.shape[0] - size), rng.integers(src.shape[1] - size)
        out[i] = src[r:r + size, c:c + size]
    return out


def gaussian_kernel(width=BLUR, radius=4):
    grid = np.arange(-radius, radius + 1)
    g = np.exp(-grid ** 2 / (2 * width ** 2))
    return np.outer(g, g) / np.sum(np.outer(g, g))


def psnr(clean, estimate):
    return float(10 * np.log10(1.0 / np.mean((clean - estimate) ** 2)))


def ssim(clean, estimate):
    from skimage.metrics import structural_similarity

    return float(structural_similarity(clean, estimate, data_range=1.0))


def pnp_admm(problem, prox, iterations, clean=None, **options):
    """``mathopt.solve(problem, method="pnp-admm")``; the estimate and the PSNR of every iterate."""
    import mathopt

    curve = []
    callback = None if clean is None else (lambda info: curve.append(psnr(clean, info.x.reshape(clean.shape))))
    result = mathopt.solve(problem, method="pnp-admm", prox=prox, max_iter=iterations, history=True,
                           callback=callback, **options)
    return result.array, {"psnr": curve, "primal": result.history["primal"], "dual": result.history["dual"],
                          "status": result.status.name}


def tikhonov(b, blur, mu):
    """argmin ||k * x - b||^2 + mu ||grad x||^2 (periodic finite differences), by FFT."""
    K = blur.transfer
    rows, cols = b.shape
    dx = np.abs(1 - np.exp(-2j * np.pi * np.fft.fftfreq(cols)))[None, :] ** 2
    dy = np.abs(1 - np.exp(-2j * np.pi * np.fft.fftfreq(rows)))[:, None] ** 2
    return np.real(np.fft.ifft2(np.conj(K) * np.fft.fft2(b) / (np.abs(K) ** 2 + mu * (dx + dy))))


def highpass_perturbation(size, amplitude):
    """``perturbation(key, clean)`` for :func:`mathopt.prox.training.train`: per patch,
    a * (Z - k * Z), Z white Gaussian noise, k the forward blur (circular), a ~ U(0, amplitude):
    large perturbations in the band the blur removes, where the data term of the deblurring
    problem does not hold the PnP iterates, so that the learned prox learns to remove them."""
    import jax
    import jax.numpy as jnp

    from mathopt.prox import Convolution

    keep = jnp.asarray(1.0 - Convolution(gaussian_kernel(), (size, size)).transfer)

    def perturbation(key, clean):
        key_z, key_a = jax.random.split(key)
        z = jax.random.normal(key_z, clean.shape)
        high = jnp.real(jnp.fft.ifft2(keep * jnp.fft.fft2(z)))
        a = jax.random.uniform(key_a, (clean.shape[0], 1, 1), maxval=amplitude)
        return a * high
    return perturbation


def jacobian_top_eigenvalue(net, x, iterations=30):
    """Largest eigenvalue of the (symmetric PSD) Jacobian of the LPN at x, by power iteration (float64;
    :func:`mathopt.prox.training.jacobian_top_eigenvalue`, the estimate of the training's penalty)."""
    import jax
    import jax.numpy as jnp

    from mathopt.core.jax_utils import enable_x64
    from mathopt.prox.training import jacobian_top_eigenvalue as estimate

    with enable_x64():
        params = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in net.params.items()}
        return float(estimate(net.config, params, jnp.asarray(x, dtype=jnp.float64)[None], jax.random.key(0),
                              iterations)[0])


def highpass_projection(size, threshold):
    """``projection(batch)`` for ``train(jacobian_projection=...)``: the orthogonal projection onto
    the frequencies where the blur's transfer function is below ``threshold`` (|K| < t; circular,
    on size x size patches): the band the data term of the deblurring problem does not hold."""
    import jax.numpy as jnp

    from mathopt.prox import Convolution

    keep = jnp.asarray(np.abs(Convolution(gaussian_kernel(), (size, size)).transfer) < threshold, dtype=jnp.float32)

    def projection(v):
        return jnp.real(jnp.fft.ifft2(keep * jnp.fft.fft2(v))).astype(v.dtype)
    return projection


def denoising_table(net, sigma, rng):
    """PSNR of the LPN alone as a denoiser at noise ``sigma`` against TV denoising (scikit-image's
    Chambolle, weight tuned on the validation image), and the Jacobian's largest eigenvalue."""
    from skimage.restoration import denoise_tv_chambolle

    def noisy(name):
        clean = image(name)
        return clean, clean + sigma * rng.normal(size=clean.shape)

    clean, y = noisy(VALIDATION)
    weight = max(np.geomspace(0.005, 0.3, 15), key=lambda w: psnr(clean, denoise_tv_chambolle(y, weight=w)))
    lines = ["| image | noisy | TV (weight %.3g) | LPN | LPN - TV (dB) | top eigenvalue of the LPN's Jacobian |" % weight,
             "|---|---|---|---|---|---|"]
    for name in (VALIDATION,) + TEST:
        clean, y = noisy(name)
        tv, lpn = psnr(clean, denoise_tv_chambolle(y, weight=weight)), psnr(clean, np.asarray(net.prox_numpy(y)))
        lines.append(f"| {name} | {psnr(clean, y):.2f} | {tv:.2f} | {lpn:.2f} | {lpn - tv:+.2f} | "
                     f"{jacobian_top_eigenvalue(net, clean):.2f} |")
    return lines


def main(argv=None):
    def add_arguments(parser):
        parser.add_argument("--patches", type=int, default=4000, help="training patches")
        parser.add_argument("--patch-size", type=int, default=20)
        parser.add_argument("--iterations", type=int, default=60, help="PnP-ADMM iterations")
        parser.add_argument("--checkpoint", help="use this trained LPN instead of training one")
        parser.add_argument("--init-checkpoint", metavar="FILE",
                            help="train starting from this LPN (fine-tuning; its architecture replaces "
                                 "--hidden/--layers/--beta/--quadratic) instead of a random one")
        parser.add_argument("--hidden", type=int, default=CONFIG.hidden, help="channels of the LPN")
        parser.add_argument("--layers", type=int, default=CONFIG.layers, help="hidden layers of the LPN")
        parser.add_argument("--beta", type=float, default=CONFIG.beta, help="softplus sharpness of the LPN")
        parser.add_argument("--quadratic", type=int, default=CONFIG.quadratic, help="filters of the quadratic term")
        parser.add_argument("--pretrain-steps", type=int, default=PRETRAIN[0], help="l1 pre-training steps")
        parser.add_argument("--pretrain-lr", type=float, default=PRETRAIN[1], help="l1 pre-training learning rate")
        parser.add_argument("--pm-steps", type=int, default=MATCHING[0], help="proximal matching steps (4 stages)")
        parser.add_argument("--pm-lr", type=float, default=MATCHING[1], help="proximal matching learning rate")
        parser.add_argument("--train-sigma", type=float, default=TRAIN_SIGMA,
                            help="noise level of the training (sets gamma_min = 0.8 * it)")
        parser.add_argument("--highpass-amplitude", type=float, default=0.0,
                            help="augmentation: add a * (Gaussian noise minus its blur by the forward kernel), "
                                 "a ~ U(0, this) per patch (0: off)")
        parser.add_argument("--jacobian-penalty", type=float, default=0.0, metavar="MU",
                            help="weight of the penalty mu * mean(max(0, lambda_max(J_f) - bound)^2) in the "
                                 "proximal-matching phases (0: off)")
        parser.add_argument("--jacobian-bound", type=float, default=1.0, metavar="B",
                            help="eigenvalue of the LPN's Jacobian above which the penalty acts")
        parser.add_argument("--jacobian-iters", type=int, default=5, metavar="K",
                            help="Jacobian-vector products per lambda_max estimate")
        parser.add_argument("--jacobian-samples", type=int, default=None, metavar="N",
                            help="penalise at N patches of each batch only (default: all)")
        parser.add_argument("--jacobian-points", choices=("noisy", "interpolated"), default="noisy",
                            help="where the Jacobian is penalised")
        parser.add_argument("--jacobian-highpass", type=float, default=0.0, metavar="T",
                            help="penalise lambda_max(P J_f P) only, P the projection on the frequencies where "
                                 "the blur's transfer function is below T (0: the whole spectrum)")
        parser.add_argument("--step-mode", choices=("scan", "dispatch"), default="scan",
                            help="train(step_mode=...): steps in one lax.scan (im2col) or one jitted call each "
                                 "(XLA's convolution; faster on a CPU, docs/prox.md 'Training speed')")
        parser.add_argument("--train-sigma-range", type=float, nargs=2, default=None, metavar=("LOW", "HIGH"),
                            help="draw the training noise level uniformly in [LOW, HIGH] per patch")
        parser.add_argument("--null-space-ridge", type=float, default=0.0, metavar="C",
                            help="pnp-admm's null_space_ridge for the LPN (a ridge on the blur's weak band; 0: off)")
        parser.add_argument("--null-space-power", type=int, default=64, metavar="Q",
                            help="pnp-admm's null_space_power for the LPN (the band's narrowness)")
        parser.add_argument("--lpn-penalty", type=float, default=None, metavar="RHO",
                            help="use this PnP-ADMM penalty (the LPN prior's weight) instead of tuning it on the "
                                 "validation image")
        parser.add_argument("--oracle", action="store_true",
                            help="also report, per test image, the best PSNR of any of 100 PnP-ADMM + LPN iterates "
                                 "at any penalty of the tuning grid (chosen with the clean image: an upper bound "
                                 "on what any tuning or stopping rule gives with this network)")

    args, out, checkpoints = parse(__doc__, argv, batch_size=16, add_arguments=add_arguments)
    rng = np.random.default_rng(args.seed)

    if args.checkpoint:
        net = LPN.load(args.checkpoint, fixed_scale=True)
        train_seconds = LPN.load_metadata(args.checkpoint).get("train_seconds", float("nan"))
    else:
        data = patches(TRAIN, args.patches, args.patch_size, args.seed)
        n = lambda steps: max(1, int(round(steps * args.steps_scale))) if steps else 0  # noqa: E731
        schedule = proximal_matching_schedule(n(args.pm_steps), 0.8 * args.train_sigma, num_stages=4,
                                              pretrain_steps=n(args.pretrain_steps), learning_rate=args.pm_lr,
                                              pretrain_learning_rate=args.pretrain_lr)
        config = dataclasses.replace(CONFIG, hidden=args.hidden, layers=args.layers, beta=args.beta,
                                     quadratic=args.quadratic)
        perturbation = highpass_perturbation(args.patch_size, args.highpass_amplitude) if args.highpass_amplitude else None
        start_net = LPN.load(args.init_checkpoint, fixed_scale=True) if args.init_checkpoint \
            else LPN.create(config, seed=args.seed, fixed_scale=True)
        net, log = train(start_net, data, schedule, perturbation=perturbation,
                         noise_sigma=tuple(args.train_sigma_range) if args.train_sigma_range else args.train_sigma,
                         batch_size=args.batch_size, seed=args.seed, chunk=100, step_mode=args.step_mode,
                         progress=args.progress, jacobian_penalty=args.jacobian_penalty,
                         jacobian_bound=args.jacobian_bound, jacobian_iters=args.jacobian_iters,
                         jacobian_points=args.jacobian_points, jacobian_samples=args.jacobian_samples,
                         jacobian_projection=highpass_projection(args.patch_size, args.jacobian_highpass)
                         if args.jacobian_highpass else None)
        train_seconds = log.seconds
        net.save(checkpoints / "lpn_deblur.npz",
                 metadata={"schedule": [vars(p) for p in schedule],
                           "noise_sigma": args.train_sigma_range or args.train_sigma,
                           "highpass_amplitude": args.highpass_amplitude, "train": TRAIN,
                           "jacobian": {"penalty": args.jacobian_penalty, "bound": args.jacobian_bound,
                                        "iters": args.jacobian_iters, "points": args.jacobian_points,
                                        "samples": args.jacobian_samples,
                                        "highpass": args.jacobian_highpass},
                           "eigenvalue_last": None if log.eigenvalue is None
                           else float(np.nanmean(log.eigenvalue[-100:])),
                           "patch_size": args.patch_size, "seed": args.seed, "train_seconds": train_seconds,
                           "phase_seconds": log.phase_seconds, "step_mode": args.step_mode,
                           "init_checkpoint": args.init_checkpoint})
        print(f"training: {train_seconds:.0f} s", flush=True)
    import mathopt
    from mathopt.prox import Convolution, TotalVariation

    lpn = LPN(net.config, net.params, fixed_scale=True, value_by_inversion=False)
    tv = TotalVariation(tol=1e-5, max_num_iter=300)
    blur = Convolution(gaussian_kernel(), (SIZE, SIZE))

    def observe(x):
        b = blur.apply(x) + NOISE * rng.normal(size=x.shape)
        return b, mathopt.InverseProblem(blur, b)

    ridge = ({"null_space_ridge": args.null_space_ridge, "null_space_power": args.null_space_power}
             if args.null_space_ridge > 0 else {})
    lpn_penalties = np.geomspace(0.03, 3.0, 7)

    # tuning on the validation image (short runs)
    clean = image(VALIDATION)
    b, problem = observe(clean)
    short = max(20, args.iterations // 2)
    score = lambda estimate: psnr(clean, estimate)  # noqa: E731
    rho_lpn = args.lpn_penalty if args.lpn_penalty is not None else \
        max(lpn_penalties, key=lambda rho: score(pnp_admm(problem, lpn, short, penalty=rho, **ridge)[0]))
    tv_grid = [(reg, reg * ratio) for reg in (1e-3, 3e-3, 1e-2, 3e-2) for ratio in (10.0, 30.0, 100.0)]
    reg_tv, rho_tv = max(tv_grid, key=lambda p: score(pnp_admm(problem, tv, short, reg=p[0], penalty=p[1])[0]))
    mu = max(np.geomspace(1e-3, 10.0, 13), key=lambda m: score(tikhonov(b, blur, m)))
    tuned = {"lpn_penalty": float(rho_lpn), "lpn_penalty_given": args.lpn_penalty is not None, "tv_reg": float(reg_tv), "tv_penalty": float(rho_tv), "tikhonov_mu": float(mu),
             **({"lpn_" + k: v for k, v in ridge.items()})}
    print("tuned", json.dumps(tuned), flush=True)

    denoise_lines = denoising_table(net, args.train_sigma, rng)
    print("\n".join(denoise_lines), flush=True)

    rows, shown, curves, oracle = [], {}, {}, {}
    for name in TEST:
        clean = image(name)
        b, problem = observe(clean)
        start = time.perf_counter()
        z_lpn, h_lpn = pnp_admm(problem, lpn, args.iterations, clean, penalty=rho_lpn, **ridge)
        t_lpn = time.perf_counter() - start
        if args.oracle:
            oracle[name] = max((float(np.nanmax(pnp_admm(problem, lpn, 100, clean, penalty=rho, **ridge)[1]["psnr"])),
                                float(rho))
                               for rho in lpn_penalties)
        start = time.perf_counter()
        z_tv, h_tv = pnp_admm(problem, tv, args.iterations, clean, reg=reg_tv, penalty=rho_tv)
        t_tv = time.perf_counter() - start
        x_tik = tikhonov(b, blur, mu)
        row = {"image": name, "blurred": (psnr(clean, b), ssim(clean, b)),
               "tikhonov": (psnr(clean, x_tik), ssim(clean, x_tik)), "tv": (psnr(clean, z_tv), ssim(clean, z_tv)),
               "lpn": (psnr(clean, z_lpn), ssim(clean, z_lpn)), "seconds": (t_tv, t_lpn),
               "status": (h_tv["status"], h_lpn["status"])}
        rows.append(row)
        shown[name] = (clean, b, x_tik, z_tv, z_lpn)
        curves[name] = (h_tv, h_lpn)
        print(json.dumps(row), flush=True)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    titles = ("clean", "blurred + noise", "Tikhonov", "PnP-ADMM + TV", "PnP-ADMM + LPN")
    fig, axes = plt.subplots(len(TEST), 5, figsize=(11, 2.3 * len(TEST)))
    for r, (name, images) in enumerate(shown.items()):
        for c, im in enumerate(images):
            axes[r, c].imshow(np.clip(im, 0, 1), cmap="gray", vmin=0, vmax=1)
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
            label = titles[c] if c == 0 else f"{titles[c]}\n{psnr(images[0], im):.2f} dB"
            axes[r, c].set_title(label if r == 0 or c > 0 else "", fontsize=8)
        axes[r, 0].set_ylabel(name)
    fig.tight_layout()
    fig.savefig(out / "figures" / "prox_lpn_deblur.png", dpi=80)
    print(f"wrote {out / 'figures' / 'prox_lpn_deblur.png'}")

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    for name, (h_tv, h_lpn) in curves.items():
        line, = axes[0].plot(h_lpn["psnr"], label=f"{name} LPN")
        axes[0].plot(h_tv["psnr"], "--", color=line.get_color(), label=f"{name} TV")
        axes[1].semilogy(h_lpn["primal"], color=line.get_color(), label=f"{name} LPN")
        axes[1].semilogy(h_tv["primal"], "--", color=line.get_color(), label=f"{name} TV")
    axes[0].set(title="PSNR of z_k (dB)", xlabel="iteration")
    axes[1].set(title="primal residual ||x_k - z_k||_inf", xlabel="iteration")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(out / "figures" / "prox_lpn_deblur_convergence.png", dpi=110)
    print(f"wrote {out / 'figures' / 'prox_lpn_deblur_convergence.png'}")

    lines = ["| image | blurred | Tikhonov | PnP-ADMM + TV | PnP-ADMM + LPN | LPN - TV (dB) |", "|---|---|---|---|---|---|"]
    for r in rows:
        cells = [f"{r[k][0]:.2f} / {r[k][1]:.3f}" for k in ("blurred", "tikhonov", "tv", "lpn")]
        lines.append(f"| {r['image']} | " + " | ".join(cells) + f" | {r['lpn'][0] - r['tv'][0]:+.2f} |")
    mean = lambda k, i: np.mean([r[k][i] for r in rows])  # noqa: E731
    lines.append("| mean | " + " | ".join(f"{mean(k, 0):.2f} / {mean(k, 1):.3f}" for k in ("blurred", "tikhonov", "tv", "lpn"))
                 + f" | {mean('lpn', 0) - mean('tv', 0):+.2f} |")
    lines.append(f"\nPSNR (dB) / SSIM. Tuned on `{VALIDATION}`: {json.dumps(tuned)}. LPN training: "
                 f"{train_seconds:.0f} s; {args.iterations} ADMM iterations; final status TV / LPN: "
                 + ", ".join(f"{r['image']} {r['status'][0]} / {r['status'][1]}" for r in rows) + ".")
    lines += ["", f"Denoising at the training noise level sigma = {args.train_sigma} (the LPN alone; TV weight tuned "
              f"on `{VALIDATION}`), and the largest eigenvalue of the LPN's Jacobian at the clean image "
              "(power iteration; > 1: f expands some direction, which PnP can amplify):", ""] + denoise_lines
    if oracle:
        lines += ["", "Oracle (an upper bound for this network, not a method): per test image, the best PSNR of any "
                  "of 100 PnP-ADMM + LPN iterates at any penalty of the grid "
                  + ", ".join(f"{rho:.3g}" for rho in lpn_penalties) + ", chosen with the clean image:", "",
                  "| image | PnP-ADMM + TV | oracle PnP-ADMM + LPN (penalty) | oracle - TV (dB) |", "|---|---|---|---|"]
        for r in rows:
            best, rho = oracle[r["image"]]
            lines.append(f"| {r['image']} | {r['tv'][0]:.2f} | {best:.2f} ({rho:.3g}) | {best - r['tv'][0]:+.2f} |")
        best_mean = np.mean([oracle[r["image"]][0] for r in rows])
        lines.append(f"| mean | {mean('tv', 0):.2f} | {best_mean:.2f} | {best_mean - mean('tv', 0):+.2f} |")
    text = "\n".join(lines)
    print(text)
    (out / "figures" / "prox_lpn_deblur.md").write_text(text + "\n")
    print(f"wrote {out / 'figures' / 'prox_lpn_deblur.md'}")
    return rows


if __name__ == "__main__":
    main()
