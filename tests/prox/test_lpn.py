"""Learned proximal networks: f is the gradient of a convex potential, R evaluation, checkpoints, training."""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mathopt.core.jax_utils import enable_x64
from mathopt.prox import Prox
from mathopt.prox.lpn import LPN, LPNConfig, init_params, is_nonnegative, potential, prox_map
from mathopt.prox.training import Phase, jacobian_top_eigenvalue, loss_value, proximal_matching_schedule, train

DENSE = LPNConfig(kind="dense", dim=3, hidden=8, layers=2, beta=5.0, alpha=0.1)
CONV = LPNConfig(kind="conv", hidden=3, layers=1, beta=5.0, alpha=0.1, kernel_size=3)


def _jacobian(net, point):
    with enable_x64():
        params = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in net.params.items()}
        flat = jnp.asarray(point, dtype=jnp.float64).ravel()
        shape = point.shape
        return np.asarray(jax.jacfwd(lambda v: prox_map(net.config, params, v.reshape((1,) + shape)).ravel())(flat))


@pytest.mark.parametrize("config, shape", [(DENSE, (3,)), (CONV, (4, 5)),
                                           (dataclasses.replace(DENSE, quadratic=2), (3,)),
                                           (dataclasses.replace(CONV, quadratic=2), (4, 5))],
                         ids=["dense", "conv", "dense-quadratic", "conv-quadratic"])
def test_prox_is_gradient_of_strongly_convex_potential(config, shape):
    net = LPN.create(config, seed=1)
    assert isinstance(net, Prox) and net.traceable
    rng = np.random.default_rng(0)
    for _ in range(3):
        jacobian = _jacobian(net, rng.normal(size=shape))
        np.testing.assert_allclose(jacobian, jacobian.T, atol=1e-12)           # a gradient field
        assert np.linalg.eigvalsh(jacobian).min() >= config.alpha - 1e-10      # psi alpha-strongly convex
    a, b = rng.normal(size=(2, 50) + shape)
    fa, fb = net.prox_numpy(a), net.prox_numpy(b)
    axes = tuple(range(1, a.ndim))
    inner = np.sum((fa - fb) * (a - b), axis=axes)
    assert np.all(inner >= config.alpha * np.sum((a - b) ** 2, axis=axes) - 1e-10)   # strongly monotone
    # one point and a batch agree, and the output keeps the input's shape
    np.testing.assert_allclose(net.prox_numpy(a[0]), fa[0], rtol=1e-12)
    assert fa.shape == a.shape and fa.dtype == np.float64


def test_float32_by_default_and_float64_in_prox_numpy():
    net = LPN.create(DENSE, seed=0)
    v = np.linspace(-1, 1, 6).reshape(2, 3)
    assert net(jnp.asarray(v, dtype=jnp.float32)).dtype == jnp.float32
    assert net.prox_numpy(v).dtype == np.float64
    np.testing.assert_allclose(np.asarray(net(jnp.asarray(v, dtype=jnp.float32))), net.prox_numpy(v), rtol=1e-5)


def test_prior_formula_and_prox_of_the_recovered_prior():
    """R(f(y)) = <y, f(y)> - ||f(y)||^2 / 2 - psi(y), and f(y) minimises R(u) + (u - y)^2 / 2 on a grid."""
    config = LPNConfig(kind="dense", dim=1, hidden=6, layers=1, beta=3.0, alpha=0.5)
    net = LPN.create(config, seed=3)
    ys = np.linspace(-3.0, 3.0, 7)[:, None]
    fy = net.prox_numpy(ys)
    grid = np.linspace(fy.min() - 1.0, fy.max() + 1.0, 1201)
    both = net.regularizer(np.concatenate([fy, grid[:, None]]), tol=1e-10, max_iter=200)   # one compilation
    assert both.residual.max() <= 1e-9
    prior = type(both)(*(a[:7] for a in both))
    on_grid = type(both)(*(a[7:] for a in both))
    np.testing.assert_allclose(prior.inverse, ys, atol=1e-8)                   # y* = f^{-1}(x), unique
    with enable_x64():
        psi = np.asarray(net.potential(jnp.asarray(ys)))
    direct = np.sum(ys * fy, axis=1) - 0.5 * np.sum(fy ** 2, axis=1) - psi
    np.testing.assert_allclose(prior.value, direct, atol=1e-9)

    spacing = grid[1] - grid[0]
    for y, x, value in zip(ys[:, 0], fy[:, 0], prior.value):
        objective = on_grid.value + 0.5 * (grid - y) ** 2
        assert abs(grid[np.argmin(objective)] - x) <= spacing                   # the minimiser is f(y)
        assert value + 0.5 * (x - y) ** 2 <= objective.min() + 1e-9            # and beats every grid point
    assert net.value(fy[0]) == pytest.approx(float(prior.value[0]), abs=1e-5)   # default tol 1e-6


def test_prox_step_handling():
    net = LPN.create(DENSE, seed=0)
    v = np.ones(3)
    np.testing.assert_array_equal(net.prox_numpy(v, 1.0), net.prox_numpy(v))
    with pytest.raises(ValueError, match="step"):
        net.prox(v, 0.5)
    scaled = LPN(DENSE, net.params, fixed_scale=True)
    np.testing.assert_array_equal(scaled.prox_numpy(v, 0.5), net.prox_numpy(v))
    with pytest.raises(NotImplementedError, match="regularizer"):
        LPN(DENSE, net.params, value_by_inversion=False).value(v)


@pytest.mark.parametrize("config", [CONV, dataclasses.replace(CONV, quadratic=2)], ids=["conv", "conv-quadratic"])
def test_save_load_round_trip_is_bit_exact(tmp_path, config):
    net = LPN.create(config, seed=2)
    path = tmp_path / "net.npz"
    net.save(path, metadata={"noise_sigma": 0.1})
    back = LPN.load(path)
    assert back.config == net.config and LPN.load_metadata(path) == {"noise_sigma": 0.1}
    for name, value in net.params.items():
        assert back.params[name].dtype == value.dtype
        np.testing.assert_array_equal(back.params[name], value)
    v = np.random.default_rng(0).normal(size=(2, 6, 6))
    np.testing.assert_array_equal(back.prox_numpy(v), net.prox_numpy(v))
    np.savez(tmp_path / "other.npz", __header__=np.array('{"format": "x"}'))
    with pytest.raises(ValueError, match="not an LPN checkpoint"):
        LPN.load(tmp_path / "other.npz")


def test_invalid_inputs_name_the_field():
    with pytest.raises(ValueError, match="kind"):
        LPNConfig(kind="mlp")
    with pytest.raises(ValueError, match="hidden"):
        LPNConfig(hidden=0)
    with pytest.raises(ValueError, match="kernel_size"):
        LPNConfig(kind="conv", kernel_size=2)
    with pytest.raises(ValueError, match="quadratic"):
        LPNConfig(kind="conv", quadratic=-1)
    params = init_params(DENSE)
    with pytest.raises(ValueError, match="nonnegative"):
        LPN(DENSE, dict(params, **{"h0.weight_pos": -params["h0.weight_pos"]}))
    with pytest.raises(ValueError, match="shape"):
        LPN(DENSE, dict(params, **{"in.weight": params["in.weight"][:2]}))
    with pytest.raises(ValueError, match="dimensions"):
        LPN.create(DENSE).prox_numpy(np.ones((1, 1, 3)))
    with pytest.raises(ValueError, match="gamma"):
        Phase("prox_matching", 10, 1e-3)
    with pytest.raises(ValueError, match="loss"):
        Phase("huber", 10, 1e-3)
    with pytest.raises(ValueError, match="noise_sigma"):
        train(LPN.create(DENSE), np.zeros((4, 3)), [], noise_sigma=(0.3, 0.1))
    with pytest.raises(ValueError, match="data must be finite"):
        train(LPN.create(DENSE), np.full((4, 3), np.nan), [], noise_sigma=0.1)


def test_schedule_and_losses():
    phases = proximal_matching_schedule(10, 0.1, num_stages=3, pretrain_steps=4)
    assert [p.loss for p in phases] == ["l1", "prox_matching", "prox_matching", "prox_matching"]
    assert [p.steps for p in phases] == [4, 3, 3, 4]
    np.testing.assert_allclose([p.gamma for p in phases[1:]], [0.4, 0.2, 0.1])
    out, target = jnp.zeros((2, 4)), jnp.array([[0.2] * 4, [0.0] * 4])
    # per-entry normalisation: distance^2 / d = 0.04 for the first sample
    assert float(loss_value("prox_matching", out, target, 0.2)) == pytest.approx((1 - np.exp(-1.0)) / 2)
    assert float(loss_value("l2", out, target)) == pytest.approx(0.02)
    assert float(loss_value("l1", out, target)) == pytest.approx(0.1)


def _clusters(key, n):
    """Clean data on two points of the plane, so the denoiser has something to learn."""
    centers = jnp.array([[1.0, 1.0], [-1.0, 0.5]])
    return centers[jax.random.randint(key, (n,), 0, 2)]


def test_training_reduces_the_loss_keeps_convexity_and_is_reproducible():
    config = LPNConfig(kind="dense", dim=2, hidden=8, layers=1, beta=5.0, alpha=0.01)
    net = LPN.create(config, seed=0)
    schedule = [Phase("l1", 40, 1e-2), Phase("prox_matching", 40, 1e-2, 0.5)]
    trained, log = train(net, _clusters, schedule, noise_sigma=0.3, batch_size=32, seed=5, chunk=20)
    assert log.loss.shape == (80,) and list(np.unique(log.phase)) == [0, 1]
    assert log.loss[30:40].mean() < 0.6 * log.loss[:10].mean()
    assert all(np.all(v >= 0) for k, v in trained.params.items() if is_nonnegative(k))
    assert all(v.dtype == np.float32 for v in trained.params.values())
    again, log_again = train(net, _clusters, schedule, noise_sigma=0.3, batch_size=32, seed=5, chunk=20)
    for name in net.params:
        np.testing.assert_array_equal(again.params[name], trained.params[name])
        assert not np.array_equal(trained.params[name], net.params[name]) or name == "out.bias"
    rechunked, _ = train(net, _clusters, schedule, noise_sigma=0.3, batch_size=32, seed=5, chunk=40)
    for name in net.params:
        np.testing.assert_allclose(rechunked.params[name], trained.params[name], rtol=1e-5, atol=1e-6)
    other, _ = train(net, _clusters, schedule, noise_sigma=0.3, batch_size=32, seed=6, chunk=20)
    assert not np.array_equal(other.params["in.weight"], trained.params["in.weight"])


def test_training_perturbation_is_added_to_the_input_and_validated():
    """The perturbation is added to the network's input and the target stays clean (checked on the
    first step's l2 loss, at the initial parameters); a non-callable is refused by name."""
    config = LPNConfig(kind="dense", dim=2, hidden=4, layers=1, beta=5.0, alpha=0.01)
    net = LPN.create(config, seed=0)
    schedule = [Phase("l2", 10, 1e-2)]

    def shift(key, clean):      # a constant shift of every input
        return jnp.full(clean.shape, 0.5, dtype=clean.dtype)

    plain, log_plain = train(net, _clusters, schedule, noise_sigma=0.0, batch_size=16, seed=1, chunk=10)
    shifted, log_shift = train(net, _clusters, schedule, noise_sigma=0.0, batch_size=16, seed=1, chunk=10,
                               perturbation=shift)
    # step 0 uses the initial parameters: its loss is ||f(x + 0.5) - x||^2 / d against ||f(x) - x||^2 / d
    data = np.asarray(_clusters(jax.random.split(jax.random.fold_in(jax.random.key(1), 0), 3)[0], 16))
    f = lambda v: np.asarray(net.prox_numpy(v))  # noqa: E731
    np.testing.assert_allclose(log_plain.loss[0], np.mean(np.sum((f(data) - data) ** 2, axis=1) / 2), rtol=1e-4)
    np.testing.assert_allclose(log_shift.loss[0], np.mean(np.sum((f(data + 0.5) - data) ** 2, axis=1) / 2),
                               rtol=1e-4)
    with pytest.raises(ValueError, match="perturbation"):
        train(net, _clusters, schedule, noise_sigma=0.0, batch_size=16, perturbation=0.5)


def test_lpn_as_the_denoiser_of_pnp_admm():
    """An LPN plugs into pnp-admm: at fixed scale the step reg/penalty is ignored, the objective
    reports the data term alone (value_by_inversion=False), and without fixed_scale the step is refused."""
    import mathopt
    from mathopt.prox import Convolution

    image = np.outer(np.hanning(8), np.hanning(8))
    problem = mathopt.InverseProblem(Convolution(np.full((3, 3), 1 / 9), (8, 8)), image)
    net = LPN.create(CONV, seed=0)
    denoiser = LPN(CONV, net.params, fixed_scale=True, value_by_inversion=False)
    result = mathopt.solve(problem, method="pnp-admm", prox=denoiser, reg=0.1, penalty=1.0, max_iter=30)
    assert result.array.shape == (8, 8) and np.all(np.isfinite(result.x))
    assert result.extra["g_value"] is False
    residual = problem.apply(result.array) - image
    assert result.fun == pytest.approx(0.5 * float(np.sum(residual ** 2)), rel=1e-12)
    with pytest.raises(ValueError, match="step"):
        mathopt.solve(problem, method="pnp-admm", prox=net, reg=0.1, penalty=1.0, max_iter=3)


@pytest.mark.parametrize("k", [3, 5])
def test_im2col_convolution_matches_lax_convolution(k):
    from jax import lax

    from mathopt.prox.lpn import _columns, _conv

    rng = np.random.default_rng(k)
    with enable_x64():
        x = jnp.asarray(rng.normal(size=(2, 9, 7, 4)))
        kernel = jnp.asarray(rng.normal(size=(k, k, 4, 5)))
        ours = _conv(_columns(x, k), kernel)
        reference = lax.conv_general_dilated(x, kernel, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
        np.testing.assert_allclose(np.asarray(ours), np.asarray(reference), rtol=1e-12, atol=1e-12)


def test_xla_convolution_potential_matches_im2col():
    """potential(conv="xla") (lax.conv_general_dilated) and the default im2col one are the same
    function, with the quadratic term too; an unknown conv is refused by name."""
    config = dataclasses.replace(CONV, hidden=4, layers=2, quadratic=2)
    net = LPN.create(config, seed=3)
    with enable_x64():
        params = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in net.params.items()}
        y = jnp.asarray(np.random.default_rng(0).normal(size=(2, 6, 7)))
        for function in (potential, prox_map):
            np.testing.assert_allclose(np.asarray(function(config, params, y, "xla")),
                                       np.asarray(function(config, params, y)), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="conv"):
        potential(config, net.params, np.zeros((1, 4, 4)), "fft")


@pytest.mark.parametrize("config", [dataclasses.replace(CONV, hidden=4, quadratic=1), DENSE], ids=["conv", "dense"])
def test_dispatch_step_mode_gives_the_iterates_of_the_scan(config):
    """step_mode="dispatch" (one jitted step per call, XLA's convolutions) against the default scan
    (im2col): after l1 and Jacobian-penalised proximal-matching steps the float32 parameters, the
    losses and the eigenvalue estimates agree to float rounding; a bad mode is refused by name."""
    shape = (6, 6) if config.kind == "conv" else (config.dim,)
    data = np.random.default_rng(1).random((20,) + shape)
    schedule = [Phase("l1", 2, 1e-2), Phase("prox_matching", 4, 1e-2, 0.3)]   # one scan per phase: 2 compilations
    options = dict(noise_sigma=0.1, batch_size=4, seed=2, chunk=4, jacobian_penalty=10.0, jacobian_bound=0.5,
                   jacobian_iters=3, jacobian_points="interpolated", jacobian_samples=2)
    net = LPN.create(config, seed=1)
    scanned, log_scan = train(net, data, schedule, **options)
    dispatched, log_dispatch = train(net, data, schedule, step_mode="dispatch", **options)
    for name in net.params:
        assert dispatched.params[name].dtype == np.float32
        np.testing.assert_allclose(dispatched.params[name], scanned.params[name], rtol=1e-5, atol=1e-5)
    assert np.max(np.abs(scanned.params["in.weight"] - net.params["in.weight"])) > 1e-3   # the steps moved it
    np.testing.assert_allclose(log_dispatch.loss, log_scan.loss, rtol=1e-5)
    np.testing.assert_allclose(log_dispatch.eigenvalue[2:], log_scan.eigenvalue[2:], rtol=1e-4)
    assert np.all(log_scan.eigenvalue[2:] > 0) and np.all(np.isnan(log_dispatch.eigenvalue[:2]))
    with pytest.raises(ValueError, match="step_mode"):
        train(net, data, schedule, noise_sigma=0.1, step_mode="loop")


_top_eigenvalue = jax.jit(jacobian_top_eigenvalue, static_argnums=(0, 4, 5))


def _first_two(v):
    """The orthogonal projection on the first two coordinates."""
    return v * jnp.asarray([1.0, 1.0, 0.0, 0.0], dtype=v.dtype)


def test_jacobian_penalty_estimate_matches_the_dense_hessian():
    """The power-iteration estimate of lambda_max(J_f) = lambda_max(Hessian of psi) against jax.hessian
    and eigvalsh, per point of a batch; with a coordinate projection P, lambda_max of the block P J P."""
    config = LPNConfig(kind="dense", dim=4, hidden=8, layers=2, beta=5.0, alpha=0.1, quadratic=1)
    net = LPN.create(config, seed=2)
    with enable_x64():
        params = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in net.params.items()}
        points = jnp.asarray(np.random.default_rng(0).normal(size=(3, 4)))
        hessians = np.asarray(jax.jit(jax.vmap(jax.hessian(lambda y: potential(config, params, y[None])[0])))(points))
        estimate = np.asarray(_top_eigenvalue(config, params, points, jax.random.key(0), 60, None))
        block = np.asarray(_top_eigenvalue(config, params, points, jax.random.key(1), 60, _first_two))
    np.testing.assert_allclose(estimate, [np.linalg.eigvalsh(h).max() for h in hessians], rtol=1e-6)
    np.testing.assert_allclose(block, [np.linalg.eigvalsh(h[:2, :2]).max() for h in hessians], rtol=1e-6)
    assert np.all(block <= estimate + 1e-9)


def _two_points(key, n):
    centers = jnp.array([[1.0, 1.0], [-1.0, -1.0]])
    return centers[jax.random.randint(key, (n,), 0, 2)]


def test_jacobian_penalty_lowers_the_top_eigenvalue():
    """Denoising two points at noise 0.5 makes f a near-step between them (lambda_max(J_f) about 5 on
    points around the origin after these steps); the same steps and seed with a large penalty keep it
    near the bound (about 1.5)."""
    config = LPNConfig(kind="dense", dim=2, hidden=8, layers=1, beta=5.0, alpha=0.01)
    net = LPN.create(config, seed=0)
    points = jnp.asarray(np.random.default_rng(0).normal(scale=0.5, size=(64, 2)))

    def top(trained):
        with enable_x64():
            params = {k: jnp.asarray(v, dtype=jnp.float64) for k, v in trained.params.items()}
            return np.asarray(_top_eigenvalue(config, params, points.astype(jnp.float64), jax.random.key(0),
                                              50, None)).max()

    options = dict(noise_sigma=0.5, batch_size=32, seed=1, chunk=60, jacobian_phases=("l2",), jacobian_iters=3)
    plain, log_plain = train(net, _two_points, [Phase("l2", 60, 3e-2)], **options)
    penalised, log = train(net, _two_points, [Phase("l2", 60, 3e-2)], jacobian_penalty=10.0, **options)
    assert log_plain.eigenvalue is None and log.eigenvalue.shape == (60,) and np.all(np.isfinite(log.eigenvalue))
    assert top(plain) > 3.0
    assert top(penalised) < 2.0 and top(penalised) < 0.5 * top(plain)


def test_jacobian_penalty_options_name_the_field():
    net, data, schedule = LPN.create(DENSE), np.zeros((4, 3)), [Phase("l2", 1, 1e-3)]
    for field, value in [("jacobian_penalty", -1.0), ("jacobian_penalty", np.nan), ("jacobian_penalty", "1"),
                         ("jacobian_bound", 0.0),
                         ("jacobian_iters", 0), ("jacobian_iters", 2.5), ("jacobian_points", "clean"),
                         ("jacobian_phases", ("huber",)), ("jacobian_samples", 0), ("jacobian_projection", 3)]:
        with pytest.raises(ValueError, match=field):
            train(net, data, schedule, noise_sigma=0.1, **{field: value})
