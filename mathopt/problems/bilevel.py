"""Bilevel test problems with known solutions (:class:`~mathopt.BilevelProblem`).

Each builder returns a problem whose ``known_solution`` dict holds the
solution ``x``, ``y`` (and ``upper_value``). The objectives are module-level
functions with their parameters passed as ``data``, so every instance of a
family shares one compiled solver (and a batch of instances can be vmapped).

==========================  ==================================================================
builder                     problem
==========================  ==================================================================
:func:`quadratic_toy`       F = 1/2||y||^2 + 1/2||x-1||^2, f = 1/2||y||^2 - x^T y; x* = y* = 1/2
:func:`shifted_toy`         F = 1/2(x-1)^2 + 1/2(y-2)^2, f = 1/2(y-x)^2: y*(x) = x, x* = y* = 3/2
:func:`random_quadratic`    strongly convex quadratics, solution by linear solves
:func:`box_toy`             F = 1/2(x-2)^2 + 1/2(y-2)^2, f = 1/2(y-x)^2, Y = [0, 1]; x* = 2, y* = 1
:func:`pbgd_toy`            the nonconvex toy of Shen & Chen (2023), y*(x) = -x, X = [0, 3]
:func:`convex_lower`        merely convex lower level, many solutions, optimistic selection
:func:`merely_convex_toy`   the merely convex toy of Liu et al. (2023), x in R^n, x* = y* = 1
:func:`stochastic_quadratic` finite-sum quadratics sampled in mini-batches (stochastic oracles)
:func:`held_out_problems`   published box-constrained test problems with known optima (BASBLib, SMD)
==========================  ==================================================================
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from ..bilevel.problem import BilevelProblem
from ..sets import Box

__all__ = ["quadratic_toy", "shifted_toy", "random_quadratic", "box_toy", "pbgd_toy", "convex_lower",
           "merely_convex_toy", "stochastic_quadratic", "held_out_problems", "PBGD_TOY_X", "coupled_toy",
           "constrained_problems"]


def _toy_upper(x, y):
    return 0.5 * jnp.sum(y ** 2) + 0.5 * jnp.sum((x - 1.0) ** 2)


def _toy_lower(x, y):
    return 0.5 * jnp.sum(y ** 2) - jnp.dot(x, y)


def quadratic_toy(dim: int = 2, x0=None, y0=None) -> BilevelProblem:
    """F = 1/2||y||^2 + 1/2||x - 1||^2, f = 1/2||y||^2 - x^T y: y*(x) = x, x* = y* = 0.5 * 1."""
    x0 = np.zeros(dim) if x0 is None else x0
    y0 = np.zeros(dim) if y0 is None else y0
    half = np.full(dim, 0.5)
    return BilevelProblem(_toy_upper, _toy_lower, x0, y0, name=f"quadratic_toy({dim})",
                          known_solution={"x": half, "y": half, "upper_value": 0.25 * dim})


def _quad_upper(x, y, p):
    # data p holds one instance (leading axis of length 1, the "sample" axis)
    z = jnp.concatenate([x, y])
    return 0.5 * z @ p["upper_hessian"][0] @ z + p["upper_linear"][0] @ z


def _quad_lower(x, y, p):
    return 0.5 * y @ p["lower_hessian"][0] @ y + y @ p["coupling"][0] @ x + p["lower_linear"][0] @ y


def random_quadratic(dim_x: int = 3, dim_y: int = 4, seed: int = 0, condition: float = 10.0,
                     scale: float = 1.0) -> BilevelProblem:
    """Random strongly convex quadratics with an exact solution by linear solves.

    ``scale`` multiplies both objectives (same solution, badly scaled for scale far from 1;
    the instances of every scale share one compiled solver).

    F(x, y) = 1/2 [x; y]^T P [x; y] + p^T [x; y] with P positive definite,
    f(x, y) = 1/2 y^T Q y + y^T B x + q^T y with Q positive definite, so
    y*(x) = -Q^{-1}(B x + q) is affine, y*(x) = M x + m, and the hyper-objective
    F(x, M x + m) is a strongly convex quadratic in x, minimized by one linear solve.
    Eigenvalues of Q lie in [1, condition]; those of P in [1, condition].
    """
    rng = np.random.default_rng(seed)

    def spd(n):
        basis, _ = np.linalg.qr(rng.standard_normal((n, n)))
        return basis @ np.diag(np.linspace(1.0, condition, n)) @ basis.T

    upper_hessian, lower_hessian = spd(dim_x + dim_y), spd(dim_y)
    coupling = rng.standard_normal((dim_y, dim_x))
    upper_linear, lower_linear = rng.standard_normal(dim_x + dim_y), rng.standard_normal(dim_y)
    M = -np.linalg.solve(lower_hessian, coupling)
    m = -np.linalg.solve(lower_hessian, lower_linear)
    E = np.vstack([np.eye(dim_x), M])          # [x; y*(x)] = E x + e
    e = np.concatenate([np.zeros(dim_x), m])
    x_star = -np.linalg.solve(E.T @ upper_hessian @ E, E.T @ (upper_hessian @ e + upper_linear))
    y_star = M @ x_star + m
    z = np.concatenate([x_star, y_star])
    data = {"upper_hessian": scale * upper_hessian[None], "upper_linear": scale * upper_linear[None],
            "lower_hessian": scale * lower_hessian[None], "coupling": scale * coupling[None],
            "lower_linear": scale * lower_linear[None]}
    return BilevelProblem(_quad_upper, _quad_lower, np.zeros(dim_x), np.zeros(dim_y), data=data,
                          name=f"random_quadratic({dim_x},{dim_y},seed={seed}"
                               + (f",scale={scale:g})" if scale != 1 else ")"),
                          known_solution={"x": x_star, "y": y_star,
                                          "upper_value": scale * (0.5 * z @ upper_hessian @ z + upper_linear @ z)})


def _box_upper(x, y):
    return 0.5 * jnp.sum((x - 2.0) ** 2) + 0.5 * jnp.sum((y - 2.0) ** 2)


def _box_lower(x, y):
    return 0.5 * jnp.sum((y - x) ** 2)


def box_toy(x0=0.0, y0=0.0) -> BilevelProblem:
    """F = 1/2(x-2)^2 + 1/2(y-2)^2, f = 1/2(y-x)^2, Y = [0, 1]: y*(x) = clip(x, 0, 1), x* = 2, y* = 1."""
    return BilevelProblem(_box_upper, _box_lower, [x0], [y0], lower_set=Box(0.0, 1.0), name="box_toy",
                          known_solution={"x": np.array([2.0]), "y": np.array([1.0]), "upper_value": 0.5})


def _pbgd_upper(x, y):
    return jnp.sum(jnp.cos(4.0 * y + 2.0) / (1.0 + jnp.exp(2.0 - 4.0 * x)) + 0.5 * jnp.log((4.0 * x - 2.0) ** 2 + 1.0))


def _pbgd_lower(x, y):
    return jnp.sum((x + y) ** 2 + x * jnp.sin(x + y) ** 2)


#: Global minimizer of the PBGD toy on X = [0, 3] (grid search to 1e-6 on phi(x) = F(x, -x)).
PBGD_TOY_X = 1.215145


def pbgd_toy(x0=0.8, y0=0.0) -> BilevelProblem:
    """The nonconvex toy of Shen & Chen (2023), Section 6.

    F(x, y) = cos(4y + 2) / (1 + exp(2 - 4x)) + 1/2 ln((4x - 2)^2 + 1),
    f(x, y) = (x + y)^2 + x sin^2(x + y), X = [0, 3]. For x >= 0 the lower level
    (nonconvex in y) has the solution set {y = -x}; phi(x) = F(x, -x) has local
    minima near 0.382, 1.215 (global) and 2.830.
    """
    return BilevelProblem(_pbgd_upper, _pbgd_lower, [x0], [y0], upper_set=Box(0.0, 3.0), name="pbgd_toy",
                          known_solution={"x": np.array([PBGD_TOY_X]), "y": np.array([-PBGD_TOY_X]),
                                          "upper_value": 0.19991088770192023})


def _cvx_upper(x, y):
    return 0.5 * jnp.sum((x - 1.0) ** 2) + 0.5 * jnp.sum((y - 1.0) ** 2) + 0.5 * y[1] ** 2


def _cvx_lower(x, y):
    return 0.5 * (y[0] - x[0]) ** 2


def convex_lower(y0=(0.0, 0.0)) -> BilevelProblem:
    """Merely convex lower level with a continuum of solutions (optimistic selection).

    x in R, y in R^2: F = 1/2(x-1)^2 + 1/2||y - 1||^2 + 1/2 y_2^2, f = 1/2 (y_1 - x)^2.
    The lower solution set is {y : y_1 = x} (y_2 free); the optimistic choice takes
    y_2 = argmin 1/2(y_2 - 1)^2 + 1/2 y_2^2 = 1/2 and then x minimizes
    1/2(x-1)^2 + 1/2(x-1)^2: x* = 1, y* = (1, 1/2), F* = 1/8 + 1/8 = 1/4.
    """
    return BilevelProblem(_cvx_upper, _cvx_lower, [0.0], list(y0), name="convex_lower",
                          known_solution={"x": np.array([1.0]), "y": np.array([1.0, 0.5]), "upper_value": 0.25})


def _mc_upper(x, y):
    n = x.shape[0]
    return 0.5 * jnp.sum((x - y[n:]) ** 2) + 0.5 * jnp.sum((y[:n] - 1.0) ** 2)


def _mc_lower(x, y):
    n = x.shape[0]
    return 0.5 * jnp.sum(y[:n] ** 2) - jnp.dot(x, y[:n])


def merely_convex_toy(n: int = 100, x0=None, y0=None) -> BilevelProblem:
    """The merely convex toy of Liu et al. (ICML 2023, sl-BAMM; authors' ``merely_convex/strategy3.py``).

    x in R^n, y = (y_1, y_2) in R^n x R^n,
    F(x, y) = 1/2||x - y_2||^2 + 1/2||y_1 - 1||^2, f(x, y) = 1/2||y_1||^2 - x^T y_1.
    f is convex but not strongly convex in y (y_2 is free): the lower solution set is
    {y_1 = x, y_2 arbitrary}. The optimistic choice y_2 = x leaves F = 1/2||x - 1||^2,
    so x* = y_1* = y_2* = 1 (all entries), F* = 0. Default start 0.01 (all entries),
    the authors' ``x0 = y0 = 0.01``.
    """
    x0 = np.full(n, 0.01) if x0 is None else x0
    y0 = np.full(2 * n, 0.01) if y0 is None else y0
    return BilevelProblem(_mc_upper, _mc_lower, x0, y0, name=f"merely_convex_toy({n})",
                          known_solution={"x": np.ones(n), "y": np.ones(2 * n), "upper_value": 0.0})


def _sto_upper(x, y, batch):
    return 0.5 * jnp.mean(jnp.sum((y - batch["u"]) ** 2, axis=1)) + 0.5 * jnp.sum(x ** 2)


def _sto_lower(x, y, batch):
    return 0.5 * jnp.mean(jnp.sum((y - x - batch["v"]) ** 2, axis=1))


def stochastic_quadratic(dim: int = 2, samples: int = 64, batch_size: int | None = 8, seed: int = 0) -> BilevelProblem:
    """Finite-sum quadratics with stochastic oracles (mini-batches of ``batch_size``).

    F = mean_i 1/2||y - u_i||^2 + 1/2||x||^2, f = mean_i 1/2||y - x - v_i||^2 with
    u_i, v_i ~ N(1, 1): y*(x) = x + mean(v), x* = (mean(u) - mean(v)) / 2.
    """
    rng = np.random.default_rng(seed)
    u, v = 1.0 + rng.standard_normal((samples, dim)), 1.0 + rng.standard_normal((samples, dim))
    x_star = (u.mean(0) - v.mean(0)) / 2
    return BilevelProblem(_sto_upper, _sto_lower, np.zeros(dim), np.zeros(dim), data={"u": u, "v": v},
                          batch_size=batch_size, name=f"stochastic_quadratic({dim},{samples})",
                          known_solution={"x": x_star, "y": x_star + v.mean(0)})


# --- coupled lower-level constraints (lvhba) ---

def _coupled_lower(x, y):
    n = x.shape[0]
    return 0.5 * jnp.sum(y[:n] ** 2) - jnp.dot(x, y[:n]) + jnp.sum(y[n:])


def _coupled_constraint(x, y):
    return -(jnp.sum(x) + jnp.sum(y))


def coupled_toy(n: int = 100, start: float = 10.0) -> BilevelProblem:
    """The coupled toy of Yao et al. (ICLR 2024, Section 5.1; authors' ``Toy-example/LLC``).

    x in R^n, y = (y1, y2) in R^2n, F = 1/2||x - y2||^2 + 1/2||y1 - 1||^2,
    f = 1/2||y1||^2 - x^T y1 + 1^T y2 s.t. 1^T x + 1^T y >= 0, written
    g(x, y) = -(1^T x + 1^T y) <= 0. Start x0 = y0 = ``start`` (authors: 10).

    The sign: with ``1^T x + 1^T y <= 0`` as printed, f decreases without bound
    along y2 -> -infinity (the lower level has no solution); the authors' code
    keeps the constraint as the equality 1^T x + 1^T y = 0 (a multiplier of free
    sign and a projection onto the hyperplane). Written >= 0 it binds at the
    solution and gives the stated optimum with multiplier 1. Derivation, any n:
    f is linear in y2 with slope 1, so the constraint binds, 1^T y2 = -1^T x - 1^T y1;
    then y1 minimizes 1/2||y1||^2 - x^T y1 - 1^T y1: y1 = x + 1. The lower solution set
    is {y1 = x + 1, 1^T y2 = -2 * 1^T x - n} and the upper level minimizes
    1/2||x - y2||^2 + 1/2||x||^2 over it; by symmetry all entries are equal, x = a,
    y2 = -2a - 1, and 1/2(3a + 1)^2 + 1/2 a^2 is least at a = -0.3: x* = -0.3,
    y1* = 0.7, y2* = -0.4 (all entries), F* = 0.05 n, lambda* = 1 (the solution
    does not depend on n).
    """
    x0, y0 = np.full(n, float(start)), np.full(2 * n, float(start))
    y_star = np.concatenate([np.full(n, 0.7), np.full(n, -0.4)])
    # the same F as merely_convex_toy
    return BilevelProblem(_mc_upper, _coupled_lower, x0, y0, lower_constraints=_coupled_constraint,
                          name=f"coupled_toy({n})",
                          known_solution={"x": np.full(n, -0.3), "y": y_star, "upper_value": 0.05 * n,
                                          "multipliers": np.ones(1)})


# --- small bilevel problems with coupled lower-level constraints, from the literature ---
#
# Taken from the BOLIB collection (S. Zhou, A. B. Zemkoho, A. Tin, "BOLIB: Bilevel
# Optimization LIBrary of test problems", 2020, version 2), which cites each original
# paper and lists the best known optimal value F*. BOLIB writes constraints as
# G(x, y) >= 0 (upper) and g(x, y) >= 0 (lower); here the lower constraints are
# negated (g <= 0), simple bounds go into the sets X and Y, and only problems whose
# upper constraints are bounds on x (and whose lower level is convex in y) are kept.
# F* is BOLIB's; our checks: a grid search over x with an SLSQP lower-level solve
# (optimistic selection) reproduced it for Bard1988Ex1 and ClarkWesterberg1990a, the
# hand derivations in docs/bilevel.md for Bard1991Ex1/Ex2, ClarkWesterberg1988 and
# LiuHart1994, and lvhba's own runs reach the listed F* to 1e-6 on the others except
# the Outrata examples (BOLIB gives two decimals there).

def _bard1988ex1_upper(x, y):
    return (x[0] - 5.0) ** 2 + (2.0 * y[0] + 1.0) ** 2


def _bard1988ex1_lower(x, y):
    return (y[0] - 1.0) ** 2 - 1.5 * x[0] * y[0]


def _bard1988ex1_g(x, y):
    return -jnp.stack([3.0 * x[0] - y[0] - 3.0, 0.5 * y[0] - x[0] + 4.0, 7.0 - y[0] - x[0]])


def _cw1990a_upper(x, y):
    return (x[0] - 3.0) ** 2 + (y[0] - 2.0) ** 2


def _cw1990a_lower(x, y):
    return (y[0] - 5.0) ** 2


def _cw1990a_g(x, y):
    return -jnp.stack([2.0 * x[0] - y[0] + 1.0, 2.0 * y[0] - x[0] - 2.0, 14.0 - 2.0 * y[0] - x[0]])


def _outrata_lower(x, y):
    return 0.5 * y[0] * (y[0] - 2.0 * y[1]) - x[1] * y[1] - x[0] * y[0] - 0.5 * y[1] * (2.0 * y[0] - 5.0 * y[1])


def _outrata_g(x, y):
    return -jnp.stack([0.333 * y[0] - y[1] + 2.0, 0.333 * y[1] - y[0] + 2.0])


def _outrata_a_upper(x, y):
    return 0.5 * (y[0] - 3.0) ** 2 + 0.5 * (y[1] - 4.0) ** 2 + 0.1 * jnp.sum(x ** 2) - 12.5


def _outrata_b_upper(x, y):
    return 0.5 * (y[0] - 3.0) ** 2 + 0.5 * (y[1] - 4.0) ** 2 + jnp.sum(x ** 2) - 12.5


def _bard1991ex1_upper(x, y):
    return x[0] + y[1]


def _bard1991ex1_lower(x, y):
    return 2.0 * y[0] + x[0] * y[1]


def _bard1991ex1_g(x, y):
    return -(y[0] - x[0] + y[1] - 4.0)


def _bard1991ex2_upper(x, y):
    return 10.0 * y[0] - x[0] - y[1]


def _bard1991ex2_lower(x, y):
    return -y[0] - y[1]


def _bard1991ex2_g(x, y):
    return -jnp.stack([1.0 - y[0] - x[0], 1.0 - y[1] - x[0], 1.0 - y[1] - y[0]])


def _cw1988_upper(x, y):
    return x[0] - 4.0 * y[0]


def _linear_y_lower(x, y):
    return y[0]


def _cw1988_g(x, y):
    return -jnp.stack([2.0 * x[0] - y[0], 108.0 - 5.0 * y[0] - 2.0 * x[0], 3.0 * y[0] - 2.0 * x[0] - 4.0])


def _bard1984a_upper(x, y):
    return x[0] + y[0]


def _bard1984a_lower(x, y):
    return -5.0 * x[0] - y[0]


def _bard1984a_g(x, y):
    return -jnp.stack([x[0] + 0.5 * y[0] - 2.0, 0.25 * x[0] - y[0] + 2.0, 8.0 - 0.5 * y[0] - x[0],
                       2.0 * y[0] - x[0] + 4.0])


def _liuhart1994_upper(x, y):
    return -x[0] - 3.0 * y[0]


def _liuhart1994_g(x, y):
    return -jnp.stack([x[0] - y[0] + 3.0, 12.0 - 2.0 * y[0] - x[0], y[0] - 4.0 * x[0] + 12.0])


def _hhz2009_upper(x, y):
    return -4.0 * x[0] - y[0] - y[1]


def _hhz2009_lower(x, y):
    return -x[0] - 3.0 * y[0]


def _hhz2009_g(x, y):
    return -jnp.stack([25.0 / 9.0 - y[0] - y[1] - x[0], 2.0 - y[1] - x[0], 8.0 / 9.0 - y[1] - y[0]])


def _bab1990a_upper(x, y):
    return -1.5 * x[0] - 6.0 * y[0] - y[1]


def _bab1990a_lower(x, y):
    return -y[0] - 5.0 * y[1]


def _bab1990a_g(x, y):
    return -jnp.stack([5.0 - 3.0 * y[0] - y[1] - x[0], 5.0 - y[0] - 3.0 * y[1] - 2.0 * x[0]])


#: (name, original source, upper, lower, g, x0, y0, X bounds, Y bounds, F*): BOLIB v2 data.
_CONSTRAINED = [
    ("Bard1988Ex1", "J. F. Bard, Comput. Oper. Res. 15 (1988)", _bard1988ex1_upper, _bard1988ex1_lower,
     _bard1988ex1_g, [4.0], [0.0], (0.0, np.inf), (0.0, np.inf), 17.0),
    ("ClarkWesterberg1990a", "P. A. Clark, A. W. Westerberg, Comput. Chem. Eng. 14 (1990)", _cw1990a_upper,
     _cw1990a_lower, _cw1990a_g, [1.0], [1.0], (0.0, 8.0), (-np.inf, np.inf), 5.0),
    ("Outrata1990Ex1a", "J. V. Outrata, ZOR 34 (1990)", _outrata_a_upper, _outrata_lower, _outrata_g,
     [0.0, 0.0], [3.0, 3.0], (-np.inf, np.inf), (0.0, np.inf), -8.92),
    ("Outrata1990Ex1b", "J. V. Outrata, ZOR 34 (1990)", _outrata_b_upper, _outrata_lower, _outrata_g,
     [0.0, 0.0], [3.0, 3.0], (-np.inf, np.inf), (0.0, np.inf), -7.56),
    ("Bard1991Ex1", "J. F. Bard, JOTA 68 (1991)", _bard1991ex1_upper, _bard1991ex1_lower, _bard1991ex1_g,
     [1.0], [1.0, 1.0], (2.0, 4.0), (0.0, np.inf), 2.0),
    ("Bard1991Ex2", "J. F. Bard, JOTA 68 (1991)", _bard1991ex2_upper, _bard1991ex2_lower, _bard1991ex2_g,
     [0.0], [0.0, 0.0], (0.0, np.inf), (0.0, np.inf), -1.0),
    ("ClarkWesterberg1988", "P. A. Clark, A. W. Westerberg, tech. report CMU (1988)", _cw1988_upper,
     _linear_y_lower, _cw1988_g, [20.0], [0.0], (-np.inf, np.inf), (-np.inf, np.inf), -37.0),
    ("Bard1984a", "J. F. Bard, Decis. Sci. 15 (1984)", _bard1984a_upper, _bard1984a_lower, _bard1984a_g,
     [1.0], [1.0], (0.0, np.inf), (0.0, np.inf), 28.0 / 9.0),
    ("LiuHart1994", "Y.-H. Liu, S. M. Hart, Comput. Oper. Res. 21 (1994)", _liuhart1994_upper,
     _linear_y_lower, _liuhart1994_g, [1.0], [1.0], (0.0, np.inf), (0.0, np.inf), -16.0),
    ("HuHuangZhang2009", "T. Hu, B. Huang, X. Zhang, Appl. Math. Comput. 215 (2009)", _hhz2009_upper,
     _hhz2009_lower, _hhz2009_g, [1.0], [1.0, 1.0], (0.0, np.inf), (0.0, np.inf), -76.0 / 9.0),
    ("BenAyedBlair1990a", "O. Ben-Ayed, C. E. Blair, Oper. Res. 38 (1990)", _bab1990a_upper, _bab1990a_lower,
     _bab1990a_g, [1.0], [1.0, 1.0], (0.0, 1.0), (0.0, np.inf), -2.5),
]


def constrained_problems() -> list[BilevelProblem]:
    """Small bilevel problems with coupled lower-level constraints and known optimal values.

    Eleven problems of the BOLIB collection (v2; originals cited in each problem's
    ``known_solution["source"]``) with convex lower levels (five with linear
    lower levels: merely convex, optimistic selection) and bounds on x only;
    ``known_solution["upper_value"]`` is BOLIB's F* (two decimals for the Outrata
    examples). Bounds on y are the problem's ``lower_set``; the other lower
    constraints are ``lower_constraints`` (BOLIB's g >= 0 negated).
    """
    problems = []
    for name, source, upper, lower, g, x0, y0, xb, yb, F_star in _CONSTRAINED:
        X = Box(np.full(len(x0), xb[0]), np.full(len(x0), xb[1]))
        Y = Box(np.full(len(y0), yb[0]), np.full(len(y0), yb[1]))
        problems.append(BilevelProblem(upper, lower, x0, y0, upper_set=X, lower_set=Y, lower_constraints=g,
                                       name=name, known_solution={"upper_value": F_star, "source": source}))
    return problems


def _shifted_upper(x, y):
    return 0.5 * jnp.sum((x - 1.0) ** 2) + 0.5 * jnp.sum((y - 2.0) ** 2)


def _shifted_lower(x, y):
    return 0.5 * jnp.sum((y - x) ** 2)


def shifted_toy(x0=0.0, y0=0.0) -> BilevelProblem:
    """y*(x) = x and the answer x* = 3/2: F = 1/2(x-1)^2 + 1/2(y-2)^2, f = 1/2(y-x)^2.

    The hyper-objective is F(x, x) = 1/2(x-1)^2 + 1/2(x-2)^2, minimized exactly at
    x* = 3/2 (y* = 3/2, F* = 1/4). grad_y F = y - 2 = -1/2 at the solution, so a penalty
    method with a constant penalty gamma has an O(1/gamma) bias there (its penalized
    fixed point is x = 3/2 - 1/(2 (1 + 2 gamma)) + ..., not 3/2).
    """
    return BilevelProblem(_shifted_upper, _shifted_lower, [x0], [y0], name="shifted_toy",
                          known_solution={"x": np.array([1.5]), "y": np.array([1.5]), "upper_value": 0.25})


# -- held-out published test problems (box constraints only, convex or unimodal lower level) ------

def _lmp_upper(x, y):
    return jnp.sum(0.5 * (1.0 - x) + x * y)


def _lmp_lower(x, y):
    return jnp.sum((x - 1.0) * y)


def _bard_upper(x, y):
    return jnp.sum((x - 1.0) ** 2 + (y - 1.0) ** 2)


def _bard_lower(x, y):
    return jnp.sum(0.5 * y ** 2 + 500.0 * y - 50.0 * x * y)


def _smd1_upper(x, y):
    return x[0] ** 2 + y[0] ** 2 + x[1] ** 2 + (x[1] - jnp.tan(y[1])) ** 2


def _smd1_lower(x, y):
    return x[0] ** 2 + y[0] ** 2 + (x[1] - jnp.tan(y[1])) ** 2


def _smd2_upper(x, y):
    return x[0] ** 2 - y[0] ** 2 + x[1] ** 2 - (x[1] - jnp.log(y[1])) ** 2


def _smd2_lower(x, y):
    return x[0] ** 2 + y[0] ** 2 + (x[1] - jnp.log(y[1])) ** 2


def _smd6_upper(x, y):
    # y = (y1_1 [q = 1], y1_2, y1_3 [s = 2], y2 [r = 1])
    return x[0] ** 2 - y[0] ** 2 + y[1] ** 2 + y[2] ** 2 + x[1] ** 2 - (x[1] - y[3]) ** 2


def _smd6_lower(x, y):
    return x[0] ** 2 + y[0] ** 2 + (y[2] - y[1]) ** 2 + (x[1] - y[3]) ** 2


def held_out_problems() -> list:
    """Published box-constrained bilevel test problems with known optimal values F*.

    Held out from the development of the solvers' defaults (used to measure them only);
    ``known_solution["upper_value"]`` is the published F*, ``x`` and ``y`` a published solution.

    * ``lmp_1987_01``: Lucchetti, Mignanego & Pieri (1987), Example 4.1, as coded in BASBLib
      (Paulavicius et al., NLP-NLP/lmp_1987_01): X = Y = [0, 1], F = (1 - x)/2 + x y,
      f = (x - 1) y; F* = 0 at x* = 1, y* = 0 (at x = 1 every y solves the lower level:
      the optimistic selection y = 0 is needed).
    * ``b_1998_05``: Bard (1998), as coded in BASBLib (NLP-NLP/b_1998_05): X = [-100, 100],
      Y = [0, 100], F = (x-1)^2 + (y-1)^2, f = y^2/2 + 500 y - 50 x y; F* = 1 at x* = 1, y* = 0
      (a badly scaled lower level).
    * ``smd1``, ``smd2``, ``smd6``: Sinha, Malo & Deb (2014), "Test problem construction for
      single-objective bilevel optimization" (Evolutionary Computation 22(3)), SMD1, SMD2 and
      SMD6 with p = q = r = 1 (SMD6: s = 2), bounds as in the paper (x in [-5, 10], SMD2:
      x_2 in [-5, 1], y_2 in (0, e]; SMD1: y_2 in (-pi/2, pi/2), here [-1.5, 1.5]; SMD6: y in
      [-5, 10]); F* = 0 at x* = 0, y* = 0 (SMD2: y_2* = 1). SMD6's lower level has a
      continuum of solutions (y1_2 = y1_3) and needs the optimistic selection.
    """
    pi_box = Box(np.array([-5.0, -1.5]), np.array([10.0, 1.5]))
    return [
        BilevelProblem(_lmp_upper, _lmp_lower, [0.5], [0.5], upper_set=Box(0.0, 1.0), lower_set=Box(0.0, 1.0),
                       name="lmp_1987_01", known_solution={"x": np.array([1.0]), "y": np.array([0.0]),
                                                           "upper_value": 0.0}),
        BilevelProblem(_bard_upper, _bard_lower, [0.0], [50.0], upper_set=Box(-100.0, 100.0),
                       lower_set=Box(0.0, 100.0), name="b_1998_05",
                       known_solution={"x": np.array([1.0]), "y": np.array([0.0]), "upper_value": 1.0}),
        BilevelProblem(_smd1_upper, _smd1_lower, [1.0, 1.0], [1.0, 1.0], upper_set=Box(-5.0, 10.0),
                       lower_set=pi_box, name="smd1",
                       known_solution={"x": np.zeros(2), "y": np.zeros(2), "upper_value": 0.0}),
        BilevelProblem(_smd2_upper, _smd2_lower, [1.0, 0.5], [1.0, 2.0],
                       upper_set=Box(np.array([-5.0, -5.0]), np.array([10.0, 1.0])),
                       lower_set=Box(np.array([-5.0, 1e-3]), np.array([10.0, np.e])), name="smd2",
                       known_solution={"x": np.zeros(2), "y": np.array([0.0, 1.0]), "upper_value": 0.0}),
        BilevelProblem(_smd6_upper, _smd6_lower, [1.0, 1.0], [1.0, 1.0, 2.0, 1.0], upper_set=Box(-5.0, 10.0),
                       lower_set=Box(-5.0, 10.0), name="smd6",
                       known_solution={"x": np.zeros(2), "y": np.zeros(4), "upper_value": 0.0}),
    ]
