r"""CUTEst problems as :class:`~mathopt.NLP` instances, through pycutest.

A CUTEst problem

.. math::

    \min_x f(x) \quad \text{s.t.} \quad c_l \le c(x) \le c_u,\; b_l \le x \le b_u

becomes an NLP with exact derivatives from CUTEst (objective, gradient,
constraint values and Jacobians, Hessian of the Lagrangian): the rows with
``c_l = c_u`` (pycutest's ``is_eq_cons``) are the equalities
``c_E(x) = c(x) - c_l = 0``; every finite side of the other rows is an
inequality in mathopt's ``c_I(x) <= 0`` form (``c_l - c(x) <= 0`` and
``c(x) - c_u <= 0``); CUTEst's infinite bounds (``|b| >= 1e20``) become
``inf``. The multipliers are mapped back so that the Lagrangian Hessian is
pycutest's ``hess(x, v)`` of ``f + v^T c``.

Requires pycutest and a CUTEst installation (SIFDecode, CUTEst and the
MASTSIF problem files, with the environment variables pycutest documents);
without them, :func:`load` and :func:`names` raise :class:`CUTEstUnavailable`
(an ``ImportError``) that says how to install them.

pycutest compiles each problem into ``$PYCUTEST_CACHE`` on first use;
:func:`build` (called by :func:`load`) does it under an exclusive file lock
per problem, so that processes sharing a cache never import a half-built
module, and raises :class:`CUTEstBuildError` with pycutest's message when it
fails. A name without ``$MASTSIF/<NAME>.SIF`` raises :class:`NotInMASTSIF`.

Examples
--------
>>> from mathopt.problems import cutest          # doctest: +SKIP
>>> problem = cutest.load("HS28")                # doctest: +SKIP
>>> cutest.names("QQR2-AN-*-*")[:3]              # doctest: +SKIP
"""
from __future__ import annotations

import contextlib
import difflib
import importlib
import os
import pathlib
import shutil
import subprocess
import sys
import time

import numpy as np

from ..core.nlp import NLP

INSTALL_HELP = (
    "the CUTEst problems need pycutest and a CUTEst installation. Install them with\n"
    "    python -m pip install 'mathopt[cutest]'   # pycutest\n"
    "and CUTEst itself (SIFDecode, CUTEst, MASTSIF), e.g. on Linux/macOS following\n"
    "    https://jfowkes.github.io/pycutest/_build/html/install.html\n"
    "then set the environment variables ARCHDEFS, SIFDECODE, CUTEST, MASTSIF, MYARCH (and optionally\n"
    "PYCUTEST_CACHE) before starting Python. The built-in problems (mathopt.problems.hs) need none of this.")

_INFINITY = 1e20
_FILTER_KEYS = ("objective", "constraints", "regular", "degree", "origin", "internal", "n", "m")


_ENV_VARS = ("CUTEST", "SIFDECODE", "MASTSIF", "PYCUTEST_CACHE")
_CACHE_SUBFOLDER = "pycutest_cache_holder"  # pycutest's package of built problems inside PYCUTEST_CACHE


class CUTEstUnavailable(ImportError):
    """pycutest or CUTEst is not installed (the message says how to install them)."""


class NotInMASTSIF(LookupError):
    """The problem has no SIF file in ``$MASTSIF`` (the message names close matches)."""


class CUTEstBuildError(RuntimeError):
    """pycutest could not decode, compile or import a problem (the message holds pycutest's output)."""


def unavailable_reason() -> str | None:
    """None when pycutest and a CUTEst installation look usable, else why not (one line).

    Checks without importing pycutest: the package is installed and
    ``CUTEST``, ``SIFDECODE``, ``MASTSIF`` and ``PYCUTEST_CACHE`` name existing folders.
    """
    import importlib.util

    if importlib.util.find_spec("pycutest") is None:
        return "pycutest is not installed (python -m pip install 'mathopt[cutest]')"
    for var in _ENV_VARS:
        value = os.environ.get(var)
        if not value:
            return f"the environment variable {var} is not set (see mathopt.problems.cutest)"
        if not os.path.isdir(value):
            return f"{var}={value} is not a folder"
    return None


def check_installation() -> None:
    """Raise :class:`CUTEstUnavailable` unless :func:`unavailable_reason` is None."""
    reason = unavailable_reason()
    if reason:
        raise CUTEstUnavailable(f"{reason}\n{INSTALL_HELP}")


def environment() -> dict:
    """The CUTEst environment variables of this process (passed on to benchmark workers)."""
    return {var: os.environ[var] for var in _ENV_VARS + ("MYARCH", "ARCHDEFS") if var in os.environ}


def sif_names() -> list[str]:
    """Sorted names of the problems in ``$MASTSIF`` (one ``<NAME>.SIF`` file each)."""
    check_installation()
    return sorted(p.stem for p in pathlib.Path(os.environ["MASTSIF"]).glob("*.SIF"))


def check_name(name: str) -> None:
    """Raise :class:`NotInMASTSIF` when ``$MASTSIF/<name>.SIF`` does not exist.

    Without this check pycutest builds an empty module and fails with a
    misleading ``undefined symbol: range_``.
    """
    check_installation()
    folder = pathlib.Path(os.environ["MASTSIF"])
    if not (folder / f"{name}.SIF").is_file():
        close = difflib.get_close_matches(name, sif_names(), n=5)
        hint = f"; close matches: {', '.join(close)}" if close else ""
        raise NotInMASTSIF(f"{name} is not in MASTSIF ({folder}, {len(sif_names())} problems){hint}")


def _problem_folder(name: str, sif_params: dict | None) -> pathlib.Path:
    holder = pathlib.Path(os.environ["PYCUTEST_CACHE"]) / _CACHE_SUBFOLDER
    if not sif_params:
        return holder / name
    from pycutest.build_interface import params_to_string

    return holder / f"{name}_{params_to_string(sif_params)}"


def _is_built(folder: pathlib.Path) -> bool:
    # pycutest writes the package's __init__.py last, after the extension module is built
    return (folder / "__init__.py").is_file() and any(folder.glob("_pycutestitf*.so"))


@contextlib.contextmanager
def _build_lock(folder: pathlib.Path):
    """An exclusive ``fcntl.flock`` on ``<folder>.lock`` beside pycutest's problem folder.

    The lock file lives outside the folder pycutest deletes and recreates, so
    processes sharing a cache (also on several machines of a cluster, where
    the file system supports flock) build a problem one at a time.
    """
    import fcntl

    folder.parent.mkdir(parents=True, exist_ok=True)
    init = folder.parent / "__init__.py"
    if not init.exists():  # pycutest creates it too, but without a lock
        with open(init, "a") as handle:
            handle.write("")
    with open(folder.parent / f"{folder.name}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


_BUILD_SCRIPT = (
    "import json, sys\n"
    "import pycutest\n"
    "pycutest.import_problem(sys.argv[1], sifParams=json.loads(sys.argv[2]) or None).n\n")


def build(name: str, sif_params: dict | None = None) -> float:
    """Decode and compile problem ``name`` into pycutest's cache once; the seconds it took.

    Returns 0.0 when the problem is already built. Safe to call from many
    processes at once (an exclusive file lock per problem in the cache; a
    half-built folder left by a killed build is removed and rebuilt). The
    build runs in a subprocess (pycutest changes the working directory while
    it builds), which also imports the result once.

    Raises
    ------
    CUTEstUnavailable, NotInMASTSIF
        Before any build.
    CUTEstBuildError
        With pycutest's message and the tail of SIFDecode's/the compiler's output.
    """
    import json

    check_name(name)
    folder = _problem_folder(name, sif_params)
    if _is_built(folder):
        return 0.0
    with _build_lock(folder):
        if _is_built(folder):  # another process built it while we waited
            return 0.0
        start = time.perf_counter()
        if folder.exists():
            shutil.rmtree(folder)
        done = subprocess.run([sys.executable, "-c", _BUILD_SCRIPT, name, json.dumps(sif_params or {})],
                              capture_output=True, text=True, env=dict(os.environ))
        if done.returncode != 0 or not _is_built(folder):
            shutil.rmtree(folder, ignore_errors=True)
            errors = [line.strip() for line in done.stderr.splitlines() if line.strip()]
            output = [line.rstrip() for line in done.stdout.splitlines() if line.strip()]
            message = errors[-1] if errors else f"exit code {done.returncode}, no module built"
            details = "\n".join(["output of SIFDecode and the compiler:"] + output[-15:]) if output else ""
            raise CUTEstBuildError(f"pycutest could not build {name}: {message}\n{details}".rstrip())
        return time.perf_counter() - start


def _pycutest():
    try:
        import pycutest
    except Exception as exc:  # noqa: BLE001 - pycutest raises various errors when CUTEst is misconfigured
        raise CUTEstUnavailable(f"{type(exc).__name__}: {exc}\n{INSTALL_HELP}") from exc
    return pycutest


def _follow_cache_folder() -> None:
    """Make the imports of built problems read the current ``$PYCUTEST_CACHE``.

    pycutest puts the cache folder on ``sys.path`` once, when it is imported, and Python then keeps
    its package of built problems in ``sys.modules``: a process whose ``PYCUTEST_CACHE`` changed
    since (a benchmark worker given the caller's variables, a test with a fresh cache) would look
    for problems in the old folder.
    """
    import sys

    folder = os.environ.get("PYCUTEST_CACHE")
    if not folder:
        return
    holder = sys.modules.get(_CACHE_SUBFOLDER)
    if holder is not None and all(not str(p).startswith(folder) for p in getattr(holder, "__path__", [])):
        for module in [m for m in sys.modules if m == _CACHE_SUBFOLDER or m.startswith(_CACHE_SUBFOLDER + ".")]:
            del sys.modules[module]
    if folder in sys.path:
        sys.path.remove(folder)
    sys.path.insert(0, folder)
    importlib.invalidate_caches()


def load(name: str, sif_params: dict | None = None, sparse: bool | None = None) -> NLP:
    """The CUTEst problem ``name`` as an NLP with CUTEst's exact derivatives.

    Parameters
    ----------
    name : str
        CUTEst problem name, e.g. ``"HS28"``, ``"BT9"``.
    sif_params : dict, optional
        SIF parameters (e.g. ``{"N": 1000}``) passed to ``pycutest.import_problem``.
    sparse : bool, optional
        Return ``scipy.sparse`` Jacobians and Hessians (pycutest's ``scons`` /
        ``sphess``). Default: sparse when ``n >= 1000``.

    ``known_optimum`` is set for problems that are also in
    :mod:`mathopt.problems.hs` (same formulas), else None.

    Raises :class:`CUTEstUnavailable`, :class:`NotInMASTSIF` or
    :class:`CUTEstBuildError` (see :func:`build`, which runs first).
    """
    pycutest = _pycutest()
    build(name, sif_params)
    _follow_cache_folder()
    prob = pycutest.import_problem(name, sifParams=sif_params)
    n, m = int(prob.n), int(prob.m)
    sparse = n >= 1000 if sparse is None else sparse
    lb = np.where(prob.bl <= -_INFINITY, -np.inf, prob.bl)
    ub = np.where(prob.bu >= _INFINITY, np.inf, prob.bu)
    is_eq = np.asarray(prob.is_eq_cons, dtype=bool) if m else np.zeros(0, dtype=bool)
    cl = np.asarray(prob.cl, dtype=float) if m else np.zeros(0)
    cu = np.asarray(prob.cu, dtype=float) if m else np.zeros(0)
    eq_rows = np.flatnonzero(is_eq)
    lower_rows = np.flatnonzero(~is_eq & (cl > -_INFINITY))
    upper_rows = np.flatnonzero(~is_eq & (cu < _INFINITY))

    def values_and_jacobian(x):
        if sparse:
            c, jac = prob.scons(x, gradient=True)
            return c, jac.tocsr()
        return prob.cons(x, gradient=True)

    def stack(parts):
        import scipy.sparse as sp

        return sp.vstack(parts, format="csr") if sparse else np.vstack(parts)

    def eq(x):
        return prob.cons(x)[eq_rows] - cl[eq_rows]

    def eq_jacobian(x):
        return values_and_jacobian(x)[1][eq_rows]

    def ineq(x):
        c = prob.cons(x)
        return np.concatenate([cl[lower_rows] - c[lower_rows], c[upper_rows] - cu[upper_rows]])

    def ineq_jacobian(x):
        jac = values_and_jacobian(x)[1]
        return stack([-jac[lower_rows], jac[upper_rows]])

    def lagrangian_hessian(x, y_eq, y_ineq):
        if not m:
            return prob.sphess(x) if sparse else prob.hess(x)
        v = np.zeros(m)
        v[eq_rows] += y_eq
        v[lower_rows] -= y_ineq[:lower_rows.size]
        v[upper_rows] += y_ineq[lower_rows.size:]
        return prob.sphess(x, v) if sparse else prob.hess(x, v)

    has_ineq = bool(lower_rows.size + upper_rows.size)
    return NLP(lambda x: float(prob.obj(x)), np.array(prob.x0, dtype=float),
               gradient=lambda x: np.asarray(prob.obj(x, gradient=True)[1], dtype=float),
               eq=eq if eq_rows.size else None, eq_jacobian=eq_jacobian if eq_rows.size else None,
               ineq=ineq if has_ineq else None, ineq_jacobian=ineq_jacobian if has_ineq else None,
               lagrangian_hessian=lagrangian_hessian,
               bounds=(lb, ub) if (np.isfinite(lb).any() or np.isfinite(ub).any()) else None,
               name=str(name), known_optimum=_known_optimum(name))


def sif_optimum(name: str) -> float | None:
    """The optimal value stated in the comments of ``$MASTSIF/<name>.SIF`` (its ``*LO SOLTN`` line).

    None when the file states none, or several different ones (values for
    several SIF parameter choices). The figures are as printed in the file,
    often rounded to a few digits, and not always right: GENHS28.SIF states
    0.0, but its (convex) minimum is 0.9271737 (SLSQP, trust-constr and
    al-newton agree).
    """
    check_name(name)
    values = set()
    with open(pathlib.Path(os.environ["MASTSIF"]) / f"{name}.SIF", errors="replace") as handle:
        for line in handle:
            parts = line.split()
            if len(parts) >= 3 and parts[0] == "*LO" and parts[1] == "SOLTN":
                try:
                    values.add(float(parts[2].replace("D", "E").replace("d", "e")))
                except ValueError:
                    continue
    return values.pop() if len(values) == 1 else None


def _known_optimum(name: str):
    from . import hs

    return hs.load(name).known_optimum if name.upper() in hs.names() else None


def classification_filter(spec: str) -> dict:
    """``pycutest.find_problems`` keywords from a classification pattern or ``key=value`` list.

    A pattern follows CUTEst's ``XXXr-XX-n-m`` classification string with
    ``*`` (or ``?``) for "any": ``"QQR2-AN-*-*"`` gives
    ``{"objective": "Q", "constraints": "Q", "regular": True, "degree": [2, 2],
    "origin": "A", "internal": False}``. Otherwise ``spec`` is a comma-separated
    list of ``key=value`` with keys among objective, constraints (letters),
    regular, internal (true/false), degree, n, m (``min:max`` or a number).

    >>> classification_filter("QQR2-AN-*-*")["constraints"]
    'Q'
    >>> classification_filter("constraints=QO,n=2:10")
    {'constraints': 'QO', 'n': [2, 10]}
    """
    spec = spec.strip()
    if "=" in spec:
        out = {}
        for item in spec.split(","):
            key, _, value = item.partition("=")
            key, value = key.strip(), value.strip()
            if key not in _FILTER_KEYS:
                raise ValueError(f"unknown classification key {key!r}; valid keys: {', '.join(_FILTER_KEYS)}")
            if key in ("regular", "internal"):
                out[key] = value.lower() in ("1", "true", "yes", "y")
            elif key in ("degree", "n", "m"):
                low, _, high = value.partition(":")
                out[key] = [int(low), int(high or low)]
            else:
                out[key] = value.upper()
        return out
    parts = spec.upper().split("-")
    if len(parts) not in (2, 3, 4) or len(parts[0]) != 4 or len(parts[1]) != 2:
        raise ValueError(f"classification {spec!r} is neither a pattern like 'QQR2-AN-*-*' nor key=value pairs")
    any_ = ("*", "?")
    head, kind = parts[0], parts[1]
    out = {}
    if head[0] not in any_:
        out["objective"] = head[0]
    if head[1] not in any_:
        out["constraints"] = head[1]
    if head[2] not in any_:
        out["regular"] = head[2] == "R"
    if head[3] not in any_:
        out["degree"] = [int(head[3]), int(head[3])]
    if kind[0] not in any_:
        out["origin"] = kind[0]
    if kind[1] not in any_:
        out["internal"] = kind[1] == "Y"
    for key, value in zip(("n", "m"), parts[2:]):
        if value not in any_ and value != "V":
            out[key] = [int(value), int(value)]
    return out


def names(classification: str | None = None) -> list[str]:
    """Sorted CUTEst problem names matching a classification filter (see :func:`classification_filter`)."""
    pycutest = _pycutest()
    return sorted(pycutest.find_problems(**(classification_filter(classification) if classification else {})))
