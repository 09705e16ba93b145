"""Proximal operators, learned proximal networks and plug-and-play solvers (issue 15).

:class:`~mathopt.prox.base.Prox` is the one protocol: classical proxes, set indicators
(:mod:`mathopt.sets`) and learned proximal networks all implement ``prox(v, step)``.
"""
from .base import Prox

#: Modules registering solvers (imported on the first registry access).
SOLVER_MODULES: list[str] = []

__all__ = ["Prox"]
