"""Small shared transport instances (fixed shapes so compiled kernels are reused)."""
import numpy as np
import pytest


def point_cloud_instance(n=12, m=15, seed=0):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(n, 2)), rng.normal(size=(m, 2)) + 1.0
    cost = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    a, b = rng.random(n) + 0.1, rng.random(m) + 0.1
    return a / a.sum(), b / b.sum(), cost / cost.max()


@pytest.fixture
def cloud():
    return point_cloud_instance()
