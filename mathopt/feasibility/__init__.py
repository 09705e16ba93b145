"""Convex QPs and LPs (:class:`~mathopt.feasibility.problem.QP`) solved by fixed-point
iterations that detect infeasibility with certificates.

* :mod:`~mathopt.feasibility.fixed_point`: plain and Halpern iterations of any nonexpansive
  operator and the estimate of its infimal displacement vector (Park & Ryu, ICML 2023).
* ``admm-qp`` (:mod:`~mathopt.feasibility.admm`): OSQP-style ADMM (the default); option
  ``acceleration="anderson"`` (also registered as ``admm-qp-aa``): safeguarded Anderson acceleration.
* ``halpern-admm`` (:mod:`~mathopt.feasibility.halpern_admm`): the same operator, Halpern-anchored.
* ``pdhg-lp`` (:mod:`~mathopt.feasibility.pdhg`): matrix-free PDHG for LPs with PDLP's
  preconditioning, step, primal weight and restarts.
* ``halpern-pdhg-lp`` (:mod:`~mathopt.feasibility.halpern_pdhg`): the same map with r2HPDHG's
  reflected Halpern step and restarts.

See docs/feasibility.md.
"""
from .fixed_point import FixedPointResult, fixed_point
from .problem import QP, QPResult

#: Modules registering solvers (imported on the first registry access).
SOLVER_MODULES = ["admm", "halpern_admm", "pdhg", "halpern_pdhg"]

__all__ = ["QP", "QPResult", "fixed_point", "FixedPointResult"]
