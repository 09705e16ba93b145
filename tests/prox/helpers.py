"""Small inverse problems shared by the PnP tests."""
import cvxpy as cp
import numpy as np

from mathopt.prox.convolution import Convolution


def tv_expression(u):
    """Isotropic TV of a cvxpy matrix, forward differences, Neumann boundary (TotalVariation's)."""
    dx = u[1:, :] - u[:-1, :]
    dy = u[:, 1:] - u[:, :-1]
    inner = cp.norm(cp.vstack([cp.vec(dx[:, :-1], order="C"), cp.vec(dy[:-1, :], order="C")]), 2, axis=0)
    return cp.sum(inner) + cp.sum(cp.abs(dy[-1, :])) + cp.sum(cp.abs(dx[:, -1]))


def dense_matrix(conv: Convolution) -> np.ndarray:
    """The matrix of a convolution (columns: images of the unit vectors)."""
    size = int(np.prod(conv.shape))
    return np.stack([conv.apply(e.reshape(conv.shape)).ravel() for e in np.eye(size)], axis=1)


def camera(size: int) -> np.ndarray:
    """scikit-image's camera, downsampled to size x size, in [0, 1]."""
    from skimage import data, transform

    return transform.resize(data.camera().astype(float) / 255.0, (size, size), anti_aliasing=True)


def blurred(size: int, kernel_size: int = 3, noise: float = 0.02, seed: int = 0):
    """(clean image, Convolution, blurred noisy data)."""
    image = camera(size)
    conv = Convolution(np.full((kernel_size, kernel_size), 1.0 / kernel_size ** 2), image.shape)
    data = conv.apply(image) + noise * np.random.default_rng(seed).standard_normal(image.shape)
    return image, conv, data


def psnr(estimate, reference) -> float:
    return float(10 * np.log10(1.0 / np.mean((estimate - reference) ** 2)))


def tv_least_squares_cvxpy(matrix, data, reg, shape):
    """cvxpy's solution of min 1/2 ||A vec(X) - y||^2 + reg TV(X)."""
    X = cp.Variable(shape)
    cp.Problem(cp.Minimize(0.5 * cp.sum_squares(matrix @ cp.vec(X, order="C") - data.ravel())
                           + reg * tv_expression(X))).solve(solver=cp.CLARABEL)
    return X.value
