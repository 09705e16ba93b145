"""One tiny solve per registered solver, grouped by family: does the installed stack work?

Used by ``benchmarks/check_min_versions.sh`` to check the dependency floors of
``pyproject.toml``, and usable on its own::

    python benchmarks/smoke_per_family.py [--family metric] [--max-time 60]

Each family's solver modules are imported separately, so a module that fails to
import (an API missing from an old dependency) is reported without hiding the
other families. A solver fails the smoke test when importing its module or
solving raises, or when the result is not finite or ends with ``NONFINITE`` /
``NUMERICAL_ERROR``; a run that stops at ``MAX_ITER`` / ``MAX_TIME`` is listed
but passes (this checks that the stack works, not the defaults; see
``shared/tools/defaults_smoke.py`` for that). Exit status 1 on any failure.
The versions of the dependencies are printed first.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import importlib.util
import sys
import time

import numpy as np

DEPENDENCIES = ("numpy", "scipy", "cvxpy", "numba", "llvmlite", "pot", "jax", "jaxlib", "jaxopt")


def tiny_problems(mathopt):
    """A builder of one small, well-scaled problem per problem class name."""
    rng = np.random.default_rng(0)
    cost = rng.random((6, 5))
    upper = np.triu(rng.random((8, 8)), 1)
    points = rng.normal(size=(12, 3))

    def nlp():  # HS28: min (x0 + x1)^2 + (x1 + x2)^2 s.t. x0 + 2 x1 + 3 x2 = 1, f* = 0
        import jax.numpy as jnp

        return mathopt.NLP(lambda x: (x[0] + x[1]) ** 2 + (x[1] + x[2]) ** 2, np.array([-4.0, 1.0, 1.0]),
                           eq=lambda x: jnp.array([x[0] + 2.0 * x[1] + 3.0 * x[2] - 1.0]))

    def bilevel():  # lower level y*(x) = x; upper level solution x = y = 1.5
        import jax.numpy as jnp

        return mathopt.BilevelProblem(lambda x, y: jnp.sum((x - 1.0) ** 2) + jnp.sum((y - 2.0) ** 2),
                                      lambda x, y: 0.5 * jnp.sum((y - x) ** 2), np.zeros(1), np.zeros(1))

    def metric_learning():
        return mathopt.MetricProblem.metric_learning(points, [[0, 1], [2, 3]], [[0, 2], [1, 3]], 1.0, 4.0)

    def lp():  # min -x0 - x1 s.t. x0 + 2 x1 <= 4, 3 x0 + x1 <= 6, x >= 0: x* = (1.6, 1.2), f* = -2.8
        A = np.array([[1.0, 2.0], [3.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
        return mathopt.QP(None, [-1.0, -1.0], A, [-np.inf, -np.inf, 0.0, 0.0], [4.0, 6.0, np.inf, np.inf])

    return {
        "NLP": [nlp],
        "BilevelProblem": [bilevel],
        "TransportProblem": [lambda: mathopt.TransportProblem(np.full(6, 1 / 6), np.full(5, 0.2), cost=cost)],
        "MetricProblem": [lambda: mathopt.MetricProblem(upper + upper.T), metric_learning],
        "QP": [lp],
    }


def versions() -> str:
    found = []
    for name in DEPENDENCIES:
        try:
            found.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} (absent)")
    return f"Python {sys.version.split()[0]}; " + " ".join(found)


def load_families(registry, only):
    """Import each family's solver modules one by one; return {family: [import failure lines]}."""
    failures = {}
    for family in registry.FAMILY_PACKAGES:
        if (only and family not in only) or importlib.util.find_spec(f"mathopt.{family}") is None:
            continue  # a family named in the registry but not (yet) in the package
        failures[family] = []
        try:
            package = importlib.import_module(f"mathopt.{family}")
        except Exception as exc:  # noqa: BLE001 - a smoke test reports
            failures[family].append(f"mathopt.{family}: {type(exc).__name__}: {exc}")
            continue
        for module in getattr(package, "SOLVER_MODULES", ()):
            try:
                importlib.import_module(f"mathopt.{family}.{module}")
            except Exception as exc:  # noqa: BLE001
                failures[family].append(f"mathopt.{family}.{module}: {type(exc).__name__}: {exc}")
    registry._loaded = True  # the modules that import are registered; do not re-import the failing ones
    return failures


def smoke(spec, builders, max_time: float) -> tuple[bool, str]:
    """(passed, line) for one solver on every tiny problem of its class."""
    import mathopt
    from mathopt import Status

    parts, passed = [], True
    for build in builders:
        start = time.perf_counter()
        try:
            result = mathopt.solve(build(), method=spec.name, max_time=max_time, seed=0)
        except Exception as exc:  # noqa: BLE001
            parts.append(f"RAISED {type(exc).__name__}: {str(exc)[:160]}")
            passed = False
            continue
        bad = result.status in (Status.NONFINITE, Status.NUMERICAL_ERROR) or not np.all(np.isfinite(result.x))
        passed &= not bad
        parts.append(f"{result.status.name} nit={result.nit} ({time.perf_counter() - start:.1f} s)")
    return passed, "; ".join(parts)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", action="append", help="only this family (repeatable)")
    parser.add_argument("--max-time", type=float, default=60.0,
                        help="time limit of each solve (s; first solves include JIT compilation)")
    args = parser.parse_args(argv)

    import mathopt
    from mathopt.core import registry

    print(versions(), flush=True)
    failures = load_families(registry, args.family)
    problems = tiny_problems(mathopt)
    bad = 0
    for family, errors in failures.items():
        print(f"\n## {family}")
        for line in errors:
            print(f"  IMPORT FAILED {line}")
            bad += 1
        specs = [s for s in mathopt.list_solvers() if s.func.__module__.startswith(f"mathopt.{family}.")]
        for spec in specs:
            if not spec.available():
                print(f"  {spec.name:24s} skipped (not installed: {', '.join(spec.requires)})")
                continue
            builders = problems.get(spec.problem.__name__)
            if not builders:
                print(f"  {spec.name:24s} FAILED: no tiny {spec.problem.__name__} in this script")
                bad += 1
                continue
            passed, line = smoke(spec, builders, args.max_time)
            bad += not passed
            print(f"  {spec.name:24s} {'ok    ' if passed else 'FAILED'} {line}", flush=True)
    print(f"\n{bad} failure(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
