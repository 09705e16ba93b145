"""The shared machinery of the bilevel solvers (imports JAX; loaded by the solvers only).

A method supplies ``init(oracles, opts, x0, y0, key) -> state`` and
``step(oracles, opts, state, k) -> state`` (``state`` a dict holding at
least ``x``, ``y`` and ``key``); this module turns it into an
:class:`~mathopt.core.driver.IterativeSolver` run by mathopt's one loop
(:func:`mathopt.core.driver.run`), with no code of the method's own:

* the stochastic or full-batch oracles (:class:`Oracles`), projections onto X and Y;
* ``advance(state, nit, k, record)``: up to ``k`` iterations in one jitted
  ``lax.while_loop`` (:func:`~mathopt.core.jax_utils.jax_while_loop`) with the
  status code in the carry: ``CODE_NONFINITE`` when an iterate, a value of
  either level or a residual is not finite (the step is not committed),
  ``CODE_CONVERGED`` when the method's own certified test
  ``method.converged(opts, residuals)`` holds (with the residuals named in
  ``method.relative_residuals``, by default ``stationarity`` and ``lower_gap``, divided
  by max(1, their values at iterate 0): the test is relative for badly scaled problems) (``CODE_CONVERGED_INACCURATE``
  when ``method.inaccurate(opts, residuals)`` holds as well). Without callback
  the driver asks for the whole budget in one call: one kernel call per solve;
* residuals after every iteration: the engine's ``lower_gap`` and ``step``
  merged with the method's own ``method.residuals(oracles, opts, state)``
  (full data; a method's key replaces the engine's of the same name); history
  of both levels (``fun`` = ``upper_value``, ``lower_value``) and of every
  residual; the seeded key, float64;
* compilation keyed on structure only: the method, the objective functions,
  the batch size, the options that shape the computation (integers, booleans,
  choices) and, with history, the record capacity (a power of two, 64 to 4096). Real-valued
  options (step sizes, penalties, tolerances) and the iteration budget are
  traced arguments, so a sweep over step sizes compiles once. The cache holds
  at most :data:`CACHE_SIZE` entries (least recently used dropped);
* :func:`make_pure_solver`: the compiled run as a pure function for ``jax.vmap``.
"""
from __future__ import annotations

import collections
import dataclasses
import threading
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..core.driver import Advance, IterationInfo, IterativeSolver, make_result
from ..core.jax_utils import enable_x64, jax_while_loop
from ..core.status import CODE_CONVERGED, CODE_NONFINITE, CONTINUE, Status
from ..sets import register_pytrees
from .problem import BilevelResult

CODE_CONVERGED_INACCURATE = int(Status.CONVERGED_INACCURATE)

#: The engine's per-iteration values (the method's residuals follow them in the history and report).
_VALUES = ("fun", "lower_value", "lower_gap", "step")
#: Options that never enter the compiled computation.
_DRIVER_OPTIONS = frozenset({"callback", "verbose", "seed", "max_time", "max_iter", "history"})
#: Most compiled (method, objectives, structure) entries kept.
CACHE_SIZE = 32
#: Traces of each compiled function, by (method name, "init" | "advance"): for tests of the cache.
TRACES: collections.Counter = collections.Counter()


class Oracles:
    """Function values and gradients of both levels, on full data or sampled batches.

    Methods taking ``key`` draw a batch of ``batch_size`` samples (with
    replacement) when the problem is stochastic and ``key`` is not None; with
    ``key=None`` they use the full data (residuals and reported values).
    """

    def __init__(self, upper, lower, upper_data, lower_data, batch_size, upper_set, lower_set,
                 constraints=None):
        self._upper, self._lower = upper, lower
        self._constraints = constraints
        self.upper_data, self.lower_data = upper_data, lower_data
        self.batch_size = batch_size
        self.upper_set, self.lower_set = upper_set, lower_set

    def _batch(self, data, key):
        if data is None or key is None or self.batch_size is None:
            return data
        n = jax.tree_util.tree_leaves(data)[0].shape[0]
        index = jax.random.randint(key, (self.batch_size,), 0, n)
        return jax.tree_util.tree_map(lambda a: a[index], data)

    @staticmethod
    def _call(fn, x, y, batch):
        value = fn(x, y) if batch is None else fn(x, y, batch)
        return jnp.reshape(value, ())

    def upper(self, x, y, key=None):
        return self._call(self._upper, x, y, self._batch(self.upper_data, key))

    def lower(self, x, y, key=None):
        return self._call(self._lower, x, y, self._batch(self.lower_data, key))

    def upper_grad(self, x, y, key=None):
        """(grad_x F, grad_y F)."""
        batch = self._batch(self.upper_data, key)
        return jax.grad(lambda a, b: self._call(self._upper, a, b, batch), argnums=(0, 1))(x, y)

    def lower_grad(self, x, y, key=None):
        """(grad_x f, grad_y f)."""
        batch = self._batch(self.lower_data, key)
        return jax.grad(lambda a, b: self._call(self._lower, a, b, batch), argnums=(0, 1))(x, y)

    def lower_grad_y(self, x, y, key=None):
        batch = self._batch(self.lower_data, key)
        return jax.grad(lambda b: self._call(self._lower, x, b, batch))(y)

    def lower_fn(self, key=None):
        """``(x, y) -> f(x, y; batch)`` with the batch drawn once (for autodiff through it)."""
        batch = self._batch(self.lower_data, key)
        return lambda a, b: self._call(self._lower, a, b, batch)

    def upper_fn(self, key=None):
        batch = self._batch(self.upper_data, key)
        return lambda a, b: self._call(self._upper, a, b, batch)

    def project_x(self, x):
        return self.upper_set.project(x)

    def project_y(self, y):
        return self.lower_set.project(y)

    def stationarity(self, pairs):
        """Euclidean norm of the projected-gradient mapping ``v - P(v - g)`` over the
        ``(v, g, project)`` triples (zero iff each v is stationary for its gradient g)."""
        return jnp.sqrt(sum(jnp.sum((v - project(v - g)) ** 2) for v, g, project in pairs))

    def lower_value_and_gap(self, x, y):
        """``(f(x, y), ||y - P_Y(y - grad_y f(x, y))||_2)`` on the full data, one forward/backward pass."""
        value, grad = jax.value_and_grad(lambda b: self._call(self._lower, x, b, self.lower_data))(y)
        return value, jnp.linalg.norm(y - self.project_y(y - grad))

    def lower_descent(self, x, y, step_size, steps, key):
        """``steps`` projected (stochastic) gradient steps on f(x, .) from y; returns (y, key)
        (``key=None``: full data)."""
        def body(_, carry):
            z, k = carry
            k, sub = (None, None) if k is None else jax.random.split(k)
            return self.project_y(z - step_size * self.lower_grad_y(x, z, sub)), k

        return jax.lax.fori_loop(0, steps, body, (y, key))

    # --- coupled lower-level constraints g(x, y) <= 0 (BilevelProblem.lower_constraints) ---

    @property
    def has_constraints(self) -> bool:
        return self._constraints is not None

    def constraints(self, x, y):
        """g(x, y) as a 1-D array (a scalar g gives shape (1,))."""
        return jnp.reshape(self._constraints(x, y), (-1,))

    def constraints_vjp(self, x, y, multipliers):
        """``(grad_x g(x, y)^T lambda, grad_y g(x, y)^T lambda)``: one reverse pass, no Jacobian."""
        _, pullback = jax.vjp(self.constraints, x, y)
        return pullback(multipliers)

    def constraint_row_norms(self, x, y):
        """Euclidean norms of the rows of the Jacobian of g in (x, y) at one point (m reverse passes)."""
        jac_x, jac_y = jax.jacrev(self.constraints, argnums=(0, 1))(x, y)
        return jnp.sqrt(jnp.sum(jac_x ** 2, axis=1) + jnp.sum(jac_y ** 2, axis=1))


class OptionsView:
    """The options as a method's ``step`` sees them inside the compiled loop.

    Real-valued options are traced scalars (``traced``); the others (integers,
    booleans, choices, None) and the method's :meth:`~mathopt.bilevel.options.Method.derived`
    values are static Python values (``static``), part of the compilation key.
    """

    def __init__(self, static: dict, traced: dict):
        self._static, self._traced = static, traced

    def __getattr__(self, name):
        for values in (self.__dict__.get("_traced", {}), self.__dict__.get("_static", {})):
            if name in values:
                return values[name]
        raise AttributeError(name)


def split_options(method, opts) -> tuple[dict, dict]:
    """(static, traced): structure-shaping options and real-valued hyperparameters."""
    static, traced = dict(method.derived(opts)), {}
    for f in dataclasses.fields(opts):
        if f.name in _DRIVER_OPTIONS:
            continue
        value = getattr(opts, f.name)
        if isinstance(value, float):
            traced[f.name] = value
        else:
            static[f.name] = value
    return static, traced


def _unwrapped(fn):
    """The user's own function behind mathopt's exception-marking wrapper (the cache key)."""
    return getattr(fn, "__wrapped__", fn) if getattr(fn, "_mathopt_wrapped", False) else fn


class _Compiled(NamedTuple):
    init: Any      # jitted (x0, y0, udata, ldata, uset, lset, params, rng) -> (state, report)
    advance: Any   # jitted (state, udata, ldata, uset, lset, params, max_steps, capacity) -> ...
    names: list    # the per-iteration values: _VALUES, then the method's residuals (set when init traces)


_CACHE: collections.OrderedDict = collections.OrderedDict()
_CACHE_LOCK = threading.Lock()


def compiled(method, problem, static: dict, traced_names) -> _Compiled:
    """The jitted init and advance for this method, objectives and static structure (LRU cache)."""
    key = (type(method), _unwrapped(problem.upper), _unwrapped(problem.lower), problem.batch_size,
           _unwrapped(problem.lower_constraints),
           tuple(sorted(static.items())), tuple(sorted(traced_names)))
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
        entry = _build(method, problem.upper, problem.lower, problem.batch_size, static,
                       problem.lower_constraints)
        _CACHE[key] = entry
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
        return entry


def _build(method, upper, lower, batch_size, static, constraints=None) -> _Compiled:
    names = list(_VALUES)

    def evaluate(oracles, opts, inner, x_prev, k, scale=None):
        x, y = inner["x"], inner["y"]
        # f and its y-gradient in one pass: the engine's values cost one upper and one lower
        # forward pass plus one lower backward pass per iteration
        lower_value, lower_gap = oracles.lower_value_and_gap(x, y)
        values = {"fun": oracles.upper(x, y), "lower_value": lower_value, "lower_gap": lower_gap,
                  "step": jnp.linalg.norm(x - x_prev)}
        own = {name: jnp.reshape(jnp.asarray(v, dtype=float), ()) for name, v in
               method.residuals(oracles, opts, inner).items()}
        values.update(own)
        names[:] = list(_VALUES) + [name for name in own if name not in _VALUES]
        if scale is None:  # iterate 0: the stop test is relative to max(1, the residuals' values here)
            scale = {name: jnp.maximum(1.0, values[name]) for name in method.relative_residuals if name in values}
        return {"inner": inner, "k": k, "values": values, "scale": scale}

    def status(state, opts):
        inner, values = state["inner"], state["values"]
        finite = (jnp.all(jnp.isfinite(jnp.stack(list(values.values()))))
                  & jnp.all(jnp.isfinite(inner["x"])) & jnp.all(jnp.isfinite(inner["y"])))
        residuals = {name: v for name, v in values.items() if name not in ("fun", "lower_value")}
        for name, value in state["scale"].items():
            residuals[name] = residuals[name] / value
        converged = (state["k"] > 0) & method.converged(opts, residuals)
        code = jnp.where(method.inaccurate(opts, residuals), CODE_CONVERGED_INACCURATE, CODE_CONVERGED)
        return jnp.where(finite, jnp.where(converged, code, CONTINUE), CODE_NONFINITE)

    def init(x0, y0, udata, ldata, uset, lset, params, rng):
        TRACES[method.name, "init"] += 1
        oracles = Oracles(upper, lower, udata, ldata, batch_size, uset, lset, constraints)
        opts = OptionsView(static, params)
        inner = method.init(oracles, opts, uset.project(x0), lset.project(y0), rng)
        state = evaluate(oracles, opts, inner, inner["x"], jnp.asarray(0))
        return state, _report(state, names, jnp.asarray(0), jnp.asarray(CONTINUE))

    def advance(state, udata, ldata, uset, lset, params, max_steps, capacity):
        TRACES[method.name, "advance"] += 1
        oracles = Oracles(upper, lower, udata, ldata, batch_size, uset, lset, constraints)
        opts = OptionsView(static, params)

        def step(s):
            inner = method.step(oracles, opts, s["inner"], s["k"])
            return evaluate(oracles, opts, inner, s["inner"]["x"], s["k"] + 1, s["scale"])

        record = (lambda s: dict(s["values"])) if capacity else None
        out = jax_while_loop(step, lambda s: status(s, opts), state, max_steps, record, capacity)
        return out.state, _report(out.state, names, out.nit, out.code), out.history

    return _Compiled(jax.jit(init), jax.jit(advance, static_argnums=7), names)


def _report(state, names, done, code):
    """x, y, the per-iteration values (in the order of ``names``), done and code in one flat
    vector (one device-to-host copy)."""
    inner, values = state["inner"], state["values"]
    tail = jnp.stack([values[name] for name in names] + [done.astype(float), code.astype(float)])
    return jnp.concatenate([inner["x"], inner["y"], tail])


#: Record rows of one compiled call: powers of two from 64 to 4096 (at most 7 compilations
#: however the driver sizes its calls; a longer recorded call runs in calls of 4096 iterations).
_MIN_CAPACITY, _MAX_CAPACITY = 64, 4096


def _capacity(k: int) -> int:
    """Record rows for a call of ``k`` iterations (it runs at most that many)."""
    return min(max(1 << max(int(k) - 1, 0).bit_length(), _MIN_CAPACITY), _MAX_CAPACITY)


def _params(traced: dict) -> dict:
    return {name: jnp.asarray(value, dtype=jnp.float64) for name, value in traced.items()}


def _data(problem):
    register_pytrees()
    to_jnp = lambda tree: None if tree is None else jax.tree_util.tree_map(jnp.asarray, tree)  # noqa: E731
    return to_jnp(problem.upper_data), to_jnp(problem.lower_data), problem.upper_set, problem.lower_set


class _Run(NamedTuple):
    """The solver state: the device state of the compiled loop and its host report."""

    compiled: _Compiled
    args: tuple            # (udata, ldata, uset, lset)
    params: dict           # traced hyperparameters
    device: Any            # the JAX state
    report: np.ndarray     # host copy of _report(device, ...)
    dim_x: int
    opts: Any


class BilevelSolver(IterativeSolver):
    """A bilevel :class:`~mathopt.bilevel.options.Method` on mathopt's one loop (compiled ``advance``)."""

    records = _VALUES

    def __init__(self, method):
        self.method = method

    def init(self, problem, opts) -> _Run:
        self.method.check(problem, opts)
        static, traced = split_options(self.method, opts)
        entry = compiled(self.method, problem, static, traced)
        with enable_x64():
            args = _data(problem)
            params = _params(traced)
            device, report = entry.init(jnp.asarray(problem.x0), jnp.asarray(problem.y0), *args, params,
                                        jax.random.PRNGKey(opts.seed))
            report = np.asarray(report, dtype=float)
        return _Run(entry, args, params, device, report, problem.x0.shape[0], opts)

    def advance(self, run: _Run, nit: int, k: int, record: bool) -> Advance:
        # a call of one iteration needs no records (the driver reports that iterate itself):
        # the callback path then shares the compiled loop of the path without history
        capacity = _capacity(k) if record and k > 1 else 0
        if capacity:
            k = min(k, capacity)
        with enable_x64():
            device, report, history = run.compiled.advance(run.device, *run.args, run.params,
                                                           np.int32(k), capacity)
            report = np.asarray(report, dtype=float)
            records = None if history is None else {name: np.asarray(v) for name, v in history.items()}
        done, code = int(report[-2]), int(report[-1])
        return Advance(run._replace(device=device, report=report), done, code, records)

    def terminate(self, run: _Run) -> Status | None:
        return None  # the compiled loop's status code carries the method's test

    def info(self, run: _Run, nit: int, elapsed: float) -> IterationInfo:
        names = run.compiled.names
        values = dict(zip(names, run.report[-len(names) - 2:-2].tolist()))
        fun = values.pop("fun")
        # lower_value rides with the residuals so that a NaN there ends the run and the
        # history has it at every iterate; finalize leaves it out of result.residuals
        return IterationInfo(nit=int(nit), x=run.report[:run.dim_x].copy(), fun=fun, residuals=values,
                             elapsed=elapsed, extra={"y": run.report[run.dim_x:-len(names) - 2].copy()})

    def finalize(self, run: _Run, status: Status, info: IterationInfo, history) -> BilevelResult:
        calls = self.method.oracle_calls(run.opts)
        counters = {"nfev": 0, "ngev": int(calls.get("ngev", 0)) * info.nit,
                    "nhev": int(calls.get("nhev", 0)) * info.nit}
        residuals = dict(info.residuals)
        lower_value = residuals.pop("lower_value")
        if history is not None:
            history = {**history, "upper_value": history["fun"]}
        message = self.method.message(run.opts, status, residuals)
        return make_result(dataclasses.replace(info, residuals=residuals), status, history,
                           result_cls=BilevelResult, counters=counters, message=message, y=info.extra["y"],
                           upper_value=info.fun, lower_value=lower_value,
                           **self.method.result_fields(run.device["inner"]))


def solve(method, problem, opts) -> BilevelResult:
    """Run ``method`` on ``problem`` through the driver; the registered solvers call this."""
    from ..core.driver import run

    return run(BilevelSolver(method), problem, opts, method.name)


def make_pure_solver(problem, method_name: str, options: dict):
    """The compiled whole run of a method as a pure function of the problem's arrays.

    Returns ``run(x0, y0, upper_data=None, lower_data=None, seed=0) -> dict`` with keys
    ``x, y, nit, status, upper_value, lower_value, lower_gap`` (JAX arrays; ``status``
    the integer value of a :class:`~mathopt.Status`). It is traceable, so
    ``jax.vmap(run)`` solves a batch of instances of the family of ``problem``
    (same objectives and sets, different starts or data). Run it inside
    :func:`mathopt.core.jax_utils.enable_x64` for float64.
    """
    from ..core.options import build_options
    from ..core.registry import get_solver

    spec = get_solver(method_name)
    opts = build_options(spec.options, method_name, options)
    if opts.callback is not None:
        raise ValueError("make_solver: a callback cannot run inside a pure compiled function")
    method = spec.extra["method"]
    method.check(problem, opts)
    register_pytrees()
    static, traced = split_options(method, opts)
    entry = compiled(method, problem, static, traced)
    uset, lset = problem.upper_set, problem.lower_set
    max_iter = opts.max_iter

    def pure(x0, y0, upper_data=None, lower_data=None, seed=0):
        params = _params(traced)
        state, _ = entry.init(x0, y0, upper_data, lower_data, uset, lset, params, jax.random.PRNGKey(seed))
        state, report, _ = entry.advance(state, upper_data, lower_data, uset, lset, params,
                                         jnp.asarray(max_iter, dtype=jnp.int32), 0)
        code = report[-1].astype(jnp.int32)
        # CONTINUE at the end of the loop means the budget ran out
        return {"x": state["inner"]["x"], "y": state["inner"]["y"], "nit": report[-2].astype(jnp.int32),
                "status": jnp.where(code == CONTINUE, int(Status.MAX_ITER), code),
                "upper_value": state["values"]["fun"], "lower_value": state["values"]["lower_value"],
                "lower_gap": state["values"]["lower_gap"]}

    return pure
