"""Safeguarded Anderson acceleration, compiled: the mixing step and the memory update shared by
:func:`mathopt.feasibility.fixed_point.fixed_point` and the loop of ``admm-qp`` with
``acceleration="anderson"`` (see :mod:`mathopt.feasibility.admm` and docs/feasibility.md).

For a fixed-point map :math:`f = T(s)` with residual :math:`g(s) = s - T(s)`, memory pairs
:math:`\\Delta s_i = s_{i+1} - s_i`, :math:`\\Delta g_i = g_{i+1} - g_i` of consecutive iterates
(columns of :math:`S, Y`, the last ``memory`` of them), the weights solve

.. math::

   \\text{type I:}\\ (S^T W Y + r I)\\,\\gamma = S^T W g_k, \\qquad
   \\text{type II:}\\ (Y^T W Y + r I)\\,\\gamma = Y^T W g_k, \\qquad
   s_{k+1} = T(s_k) - (S - Y)\\,\\gamma,

(type I: Zhang, O'Donoghue & Boyd 2020, Algorithm AA-I, SCS 3's default type; type II, the
least-squares form, is ``admm-qp``'s default), with :math:`W` the diagonal metric in which :math:`T`
is nonexpansive and the Tikhonov term :math:`r = \\eta \\|L\\|_F \\|Y\\|_F` (:math:`L` the left
factor, :math:`S` or :math:`Y`; SCS's regularization, :math:`\\eta` = ``regularization``); the system
is ``memory x memory`` and solved by Gaussian elimination with partial pivoting here. Its inner
products are summed in any order (vectorized, :func:`weighted_dot`) and, in the loop of ``admm-qp``,
kept between the mixings of a kernel call so that only those of new memory slots are computed
(:func:`anderson_point`): the same system up to rounding, a fraction of the cost (docs/feasibility.md,
"Iteration rate against OSQP").
"""
import math

import numpy as np
from numba import njit

from ._admm_kernel import operator_image


@njit(cache=True, fastmath={"reassoc", "contract"})
def weighted_dot(a, metric, b):
    """sum_i a_i metric_i b_i, summed in any order (reassociation lets the compiler vectorize the
    reduction: the serial sum waited on the latency of each addition)."""
    total = 0.0
    for i in range(a.shape[0]):
        total += a[i] * metric[i] * b[i]
    return total


@njit(cache=True)
def anderson_point(steps, changes, count, metric, residual, image, regularization, max_weight, type_one, out,
                   gram, norms, fresh):
    """The Anderson point ``out = image - (S - Y) gamma`` (type I or II) from the first ``count`` rows of
    ``steps`` (the Delta s_i) and ``changes`` (the Delta g_i), the residual g_k = s_k - image and the
    diagonal ``metric`` W. Returns False (``out`` undefined) when the regularized system is singular,
    gamma is not finite or ||gamma||_2 > ``max_weight``.

    ``gram`` (memory x memory: the products L_a' W Y_b), ``norms`` (memory x 2: ||L_a||_W^2,
    ||Y_a||_W^2) and ``fresh`` (memory; 1 where the slot's products in ``gram``/``norms`` are current)
    cache the inner products between calls: only those of slots written since the last call
    (``fresh`` = 0, set by :func:`anderson_record_cached`) are computed, and type II's symmetric
    Y'WY once per pair. The same system as recomputing every product (rounding apart)."""
    size = steps.shape[1]
    left = steps if type_one else changes  # type I: S'WY gamma = S'Wg; type II: Y'WY gamma = Y'Wg
    for a in range(count):
        if not fresh[a]:
            norms[a, 0] = weighted_dot(left[a], metric, left[a])
            norms[a, 1] = weighted_dot(changes[a], metric, changes[a]) if type_one else norms[a, 0]
    for a in range(count):
        for b in range(count):
            if (fresh[a] and fresh[b]) or (not type_one and b < a):
                continue
            gram[a, b] = weighted_dot(left[a], metric, changes[b])
            if not type_one:
                gram[b, a] = gram[a, b]
    for a in range(count):
        fresh[a] = 1
    matrix, rhs = np.empty((count, count)), np.empty(count)
    left_norm, changes_norm = 0.0, 0.0
    for a in range(count):
        rhs[a] = weighted_dot(left[a], metric, residual)
        left_norm += norms[a, 0]
        changes_norm += norms[a, 1]
        for b in range(count):
            matrix[a, b] = gram[a, b]
    shift = regularization * math.sqrt(left_norm * changes_norm)
    for a in range(count):
        matrix[a, a] += shift
    for col in range(count):  # Gaussian elimination with partial pivoting
        pivot = col
        for row in range(col + 1, count):
            if abs(matrix[row, col]) > abs(matrix[pivot, col]):
                pivot = row
        if matrix[pivot, col] == 0.0:
            return False
        if pivot != col:
            for b in range(count):
                matrix[col, b], matrix[pivot, b] = matrix[pivot, b], matrix[col, b]
            rhs[col], rhs[pivot] = rhs[pivot], rhs[col]
        for row in range(col + 1, count):
            factor = matrix[row, col] / matrix[col, col]
            for b in range(col, count):
                matrix[row, b] -= factor * matrix[col, b]
            rhs[row] -= factor * rhs[col]
    gamma = np.empty(count)
    weight_norm = 0.0
    for a in range(count - 1, -1, -1):
        total = rhs[a]
        for b in range(a + 1, count):
            total -= matrix[a, b] * gamma[b]
        gamma[a] = total / matrix[a, a]
        weight_norm += gamma[a] * gamma[a]
    if not math.isfinite(weight_norm) or math.sqrt(weight_norm) > max_weight:
        return False
    for i in range(size):
        total = image[i]
        for a in range(count):
            total -= gamma[a] * (steps[a, i] - changes[a, i])
        out[i] = total
        if not math.isfinite(total):
            return False
    return True


#: Slots of the integer state of :func:`anderson_iterations` (one int64 array, carried between calls).
COUNT, HEAD, HAS_PREVIOUS, PENDING, SINCE_MIX, ACCEPTED, REJECTED = range(7)


@njit(cache=True)
def anderson_record_cached(point, image, residual, metric, steps_memory, changes_memory, previous_point,
                           previous_residual, counters, interval, regularization, max_weight, type_one, mixed,
                           gram, norms, fresh):
    """Record the plain evaluation ``image`` = T(``point``) in the memory and, every ``interval``
    evaluations once the memory holds a pair, compute the Anderson point into ``mixed``
    (:func:`anderson_point`, with its cache ``gram``, ``norms``, ``fresh``; a failed mixing empties the
    memory). ``residual`` is scratch (it receives g = point - image). Returns True when ``mixed`` holds
    the next iterate to try. One pass over the vectors (residual, the new memory pair, the previous
    point and residual)."""
    memory, size = steps_memory.shape[0], point.shape[0]
    if counters[HAS_PREVIOUS]:
        head = counters[HEAD]
        row_s, row_y = steps_memory[head], changes_memory[head]
        for i in range(size):
            r = point[i] - image[i]
            residual[i] = r
            row_s[i] = point[i] - previous_point[i]
            row_y[i] = r - previous_residual[i]
            previous_point[i] = point[i]
            previous_residual[i] = r
        fresh[head] = 0
        counters[HEAD] = (head + 1) % memory
        counters[COUNT] = min(counters[COUNT] + 1, memory)
    else:
        for i in range(size):
            r = point[i] - image[i]
            residual[i] = r
            previous_point[i] = point[i]
            previous_residual[i] = r
    counters[HAS_PREVIOUS] = 1
    counters[SINCE_MIX] += 1
    if counters[COUNT] == 0 or counters[SINCE_MIX] < interval:
        return False
    counters[SINCE_MIX] = 0
    if anderson_point(steps_memory, changes_memory, counters[COUNT], metric, residual, image,
                      regularization, max_weight, type_one, mixed, gram, norms, fresh):
        return True
    counters[COUNT], counters[HEAD] = 0, 0
    fresh[:] = 0
    return False


@njit(cache=True)
def anderson_record(point, image, residual, metric, steps_memory, changes_memory, previous_point,
                    previous_residual, counters, interval, regularization, max_weight, type_one, mixed):
    """:func:`anderson_record_cached` without a cache carried between calls (every inner product of a
    mixing computed afresh): :class:`fixed_point.AndersonMixer`'s step."""
    memory = steps_memory.shape[0]
    return anderson_record_cached(point, image, residual, metric, steps_memory, changes_memory, previous_point,
                                  previous_residual, counters, interval, regularization, max_weight, type_one,
                                  mixed, np.empty((memory, memory)), np.empty((memory, 2)),
                                  np.zeros(memory, dtype=np.int64))


@njit(cache=True)
def anderson_iterations(l_ptr, l_idx, l_val, d_inv, n_ptr, n_idx, n_val, perm_r, perm_c,
                        q, lower, upper, rho, sigma, alpha,
                        x, v, image_x, image_v, image_z, image_y, diff_x, diff_v, diff_y, steps,
                        steps_memory, changes_memory, previous_point, previous_residual, saved_image, saved_norm,
                        counters, interval, regularization, safeguard, max_weight, type_one):
    """Up to ``steps`` applications of the OSQP operator T (:func:`_admm_kernel.operator_image`) with
    safeguarded Anderson acceleration (:func:`anderson_record`), in place on x, v and the Anderson
    state (``steps_memory``, ``changes_memory``: memory x (n + m); ``previous_point``,
    ``previous_residual``, ``saved_image``: n + m; ``saved_norm``: 1; ``counters``: the slots COUNT
    ... REJECTED).

    Every ``interval`` iterations (once the memory holds a pair) the next iterate is the Anderson point
    :func:`anderson_point` instead of T(s_k) (metric W = (sigma, rho), T's); the iteration that applies
    T to it accepts it when ||g(s_AA)||_W <= ``safeguard`` ||g(s_k)||_W, else (or when T(s_AA) is not
    finite) the next iterate is the saved T(s_k), with the memory kept (emptied only when a mixing
    fails). Each application of T is one iteration. Writes the last image and differences to image_*, diff_* (as ``admm_iterations``);
    stops before committing a non-finite image of a plain point. Returns the iterations done.
    """
    n, m = x.shape[0], v.shape[0]
    size = n + m
    work, z, new_x, new_v = np.empty(size), np.empty(m), np.empty(n), np.empty(m)
    alpha_over_rho = alpha / rho
    metric, point, residual, image, mixed = (np.empty(size), np.empty(size), np.empty(size), np.empty(size),
                                             np.empty(size))
    metric[:n] = sigma
    metric[n:] = rho
    memory = steps_memory.shape[0]
    gram, norms = np.empty((memory, memory)), np.empty((memory, 2))  # anderson_point's cache, for this call
    fresh = np.zeros(memory, dtype=np.int64)
    done = 0
    for _ in range(steps):
        squared = operator_image(l_ptr, l_idx, l_val, d_inv, n_ptr, n_idx, n_val, perm_r, perm_c,
                                 q, lower, upper, rho, alpha_over_rho, sigma, alpha, x, v, image_x, image_v,
                                 image_z, image_y, diff_x, diff_v, diff_y, work, z, new_x, new_v)
        pending = counters[PENDING] == 1
        counters[PENDING] = 0
        if pending and (squared < 0.0 or math.sqrt(squared) > safeguard * saved_norm[0]):
            x[:] = saved_image[:n]  # rejected: back to the plain step T(s_k), memory kept (see docstring)
            v[:] = saved_image[n:]
            counters[REJECTED] += 1
            done += 1
            continue
        if squared < 0.0:  # a plain point with a non-finite image: nothing of this iteration is written
            break
        counters[ACCEPTED] += pending
        point[:n] = x
        point[n:] = v
        image[:n] = image_x
        image[n:] = image_v
        mixed_ok = anderson_record_cached(point, image, residual, metric, steps_memory, changes_memory,
                                          previous_point, previous_residual, counters, interval, regularization,
                                          max_weight, type_one, mixed, gram, norms, fresh)
        if mixed_ok:
            saved_image[:] = image
            saved_norm[0] = math.sqrt(squared)
            counters[PENDING] = 1
            x[:] = mixed[:n]
            v[:] = mixed[n:]
        else:
            x[:] = image_x
            v[:] = image_v
        done += 1
    return done
