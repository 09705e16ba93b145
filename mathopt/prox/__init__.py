"""Proximal operators, learned proximal networks and plug-and-play solvers (issue 15).

:class:`~mathopt.prox.base.Prox` is the one protocol: classical proxes
(:mod:`mathopt.prox.operators`), set indicators (:mod:`mathopt.sets`) and learned proximal
networks all implement ``prox(v, step)``.

* :class:`~mathopt.prox.problem.CompositeProblem` ``min f(x) + g(x)``, solved by ``fista``
  (:mod:`~mathopt.prox.fista`, the default);
* :class:`~mathopt.prox.problem.InverseProblem` ``y = A x + noise``, solved by ``pnp-admm``
  (the default, :mod:`~mathopt.prox.pnp_admm`) and ``pnp-pgd`` (:mod:`~mathopt.prox.pnp_pgd`)
  with any prox;
* :class:`~mathopt.prox.convolution.Convolution`, a circular convolution with an FFT solve;
* :class:`~mathopt.prox.lpn.LPN`, a learned proximal network (JAX), trained by
  :mod:`mathopt.prox.training`.

See docs/prox.md. Names other than :class:`Prox` load on first access (``mathopt.sets``
imports this package).
"""
from .base import Prox, check_step

#: Modules registering solvers (imported on the first registry access).
SOLVER_MODULES: list[str] = ["fista", "pnp_admm", "pnp_pgd"]

_LAZY = {
    "CompositeProblem": "problem", "InverseProblem": "problem", "ProxResult": "problem",
    "Convolution": "convolution", "L1Norm": "operators", "L2Norm": "operators",
    "SquaredL2Norm": "operators", "NuclearNorm": "operators", "TotalVariation": "operators",
    "LPN": "lpn", "LPNConfig": "lpn",
}


def __getattr__(name):
    import importlib

    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Prox", "check_step", *_LAZY]
